//! modelcar-pack: model files -> a multi-arch KServe modelcar (OCI layout and/or registry),
//! with the modelcar-base sidecar embedded, and no container engine.

mod auth;
mod base;
mod blobwriter;
mod cleanup;
mod error;
mod hash;
mod layers;
mod layout;
mod oci;
mod pack;
mod reflink;
mod registry;
mod tar;
mod walk;

use blobwriter::Compress;
use clap::Parser;
use error::{Error, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use layout::Layout;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Turn model files into a multi-arch KServe modelcar (OCI image layout or registry push), no container engine needed",
    long_about = "Turn model files into a multi-arch KServe modelcar: the modelcar-base sidecar (embedded, for \
linux/amd64, arm64, ppc64le and s390x) plus the model under /models, as an OCI image layout and/or pushed \
to a registry. A directory's contents go under /models with their relative paths; a file goes to \
/models/NAME. One uncompressed tar layer per large file, small files together, the model card \
(README.md) alone and annotated. Same files, same digests.",
    after_help = "Examples:\n  modelcar-pack ./my-model -o oci:./out:v1\n  modelcar-pack ./my-model --push registry.example.com/models/my-model:v1\n  modelcar-pack ./my-model --base oci:./ubi-layout:latest -o oci:./out:v1\n\nExit status: 0 ok, 1 error, 2 usage, 130 SIGINT, 143 SIGTERM (the layout is then left as it was)."
)]
struct Cli {
    /// Model files or directories.
    #[arg(required = true, value_name = "MODEL_PATH")]
    models: Vec<PathBuf>,

    /// Write an OCI image layout (created, or an existing layout to which TAG is added).
    #[arg(short, long, value_name = "oci:DIR[:TAG]")]
    output: Option<String>,

    /// Upload to a registry (OCI distribution API), e.g. quay.io/me/model:v1. Credentials come
    /// from REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
    /// ~/.config/containers/auth.json or ~/.docker/config.json.
    #[arg(long, value_name = "REGISTRY/REPO:TAG")]
    push: Option<String>,

    /// Allow plain HTTP to the registry.
    #[arg(long)]
    insecure: bool,

    /// Put the model on this image (every platform of its index) instead of the embedded base.
    #[arg(long, value_name = "oci:DIR[:TAG]")]
    base: Option<String>,

    /// Compress the model layers. KServe's fetch mode (oci+fetch://, storage initializer)
    /// refuses zstd layers; modelcar mode reads whatever the container runtime pulls.
    /// Compression disables the reflink fast path.
    #[arg(long, value_enum, default_value = "none")]
    compress: Compress,

    /// Files of at least this many bytes get a layer of their own.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    small_file_max: u64,

    /// Layers written at the same time (default: the number of CPUs, at most 4), and blobs
    /// uploaded at the same time by --push (default: 4).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(usize))]
    jobs: Option<usize>,

    /// Title annotation (default: name of the first MODEL_PATH).
    #[arg(long)]
    title: Option<String>,

    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

/// "oci:DIR[:TAG]" -> (DIR, TAG).
fn parse_oci(s: &str, what: &str) -> Result<(PathBuf, Option<String>)> {
    let rest = s
        .strip_prefix("oci:")
        .ok_or_else(|| Error::msg(format!("{what} must look like oci:DIR[:TAG], got {s:?}")))?;
    match rest.rsplit_once(':') {
        Some((dir, tag)) if !tag.contains('/') && !tag.is_empty() && !dir.is_empty() => {
            Ok((PathBuf::from(dir), Some(tag.to_string())))
        }
        _ if !rest.is_empty() => Ok((PathBuf::from(rest), None)),
        _ => Err(Error::msg(format!("{what}: no directory in {s:?}"))),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = cleanup::install() {
        eprintln!("modelcar-pack: {e}");
        std::process::exit(1);
    }
    let result = run(&cli);
    if let Err(e) = result {
        cleanup::undo();
        eprintln!("modelcar-pack: {e}");
        std::process::exit(match e {
            Error::Interrupted(sig) => 128 + sig,
            Error::Msg(_) => 1,
        });
    }
}

fn run(cli: &Cli) -> Result<()> {
    let start = Instant::now();
    if cli.output.is_none() && cli.push.is_none() {
        return Err(Error::msg(
            "nothing to do: give -o oci:DIR[:TAG] and/or --push REGISTRY/REPO:TAG",
        ));
    }
    let target = cli
        .push
        .as_deref()
        .map(registry::Reference::parse)
        .transpose()?;
    let out = cli
        .output
        .as_deref()
        .map(|o| parse_oci(o, "--output"))
        .transpose()?;
    let base_ref = cli
        .base
        .as_deref()
        .map(|b| parse_oci(b, "--base"))
        .transpose()?;
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| Error::msg(format!("SOURCE_DATE_EPOCH={v:?} is not a number")))?,
        Err(_) => 0,
    };
    let title = cli.title.clone().unwrap_or_else(|| {
        let p = std::fs::canonicalize(&cli.models[0]).unwrap_or_else(|_| cli.models[0].clone());
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string())
    });

    let tree = walk::collect(&cli.models)?;
    let client = target
        .as_ref()
        .map(|t| registry::connect(t, cli.insecure))
        .transpose()?;
    // Only --push: a temp layout, removed at the end.
    let scratch;
    let (dir, tag) = match &out {
        Some((d, t)) => (d.clone(), t.clone().unwrap_or_else(|| "latest".to_string())),
        None => {
            scratch = std::env::temp_dir().join(format!("modelcar-pack-{}", std::process::id()));
            (scratch.clone(), "latest".to_string())
        }
    };
    let layout = Layout::create(&dir)?;
    let bases = match &base_ref {
        Some((bdir, btag)) => pack::from_layout(&Layout::open(bdir)?, btag.as_deref(), &layout)?,
        None => pack::embedded(&layout, created)?,
    };

    let plans = layers::plan(&tree, cli.small_file_max);
    let total: u64 = tree
        .values()
        .map(|i| {
            if let walk::Item::File { size, .. } = i {
                *size
            } else {
                0
            }
        })
        .sum();
    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        // indicatif draws nothing when stderr is not a terminal.
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .map_err(|e| Error::msg(e.to_string()))?,
        );
        b
    };
    let jobs = cli.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4)
    });
    let written = layers::write_all(&layout, &plans, cli.compress, created, &bar, jobs);
    bar.finish_and_clear();
    let written = written?;
    let index = pack::assemble(&layout, bases, &written, &pack::Meta { created, title })?;
    let nplat = platforms(&layout, &index);
    // Push before index.json changes: a failed push leaves a layout as it was.
    let mut pushed = None;
    if let Some(c) = &client {
        let uploads = cli.jobs.unwrap_or(registry::UPLOADS);
        pushed = Some(registry::push(c, &layout, &index, cli.quiet, uploads)?);
    }
    if out.is_some() {
        layout.set_tag(&tag, &index)?;
    }
    if out.is_none() {
        // Push-only: the scratch layout goes, as everything this run made.
        cleanup::undo();
        let _ = std::fs::remove_dir_all(&dir);
    }
    cleanup::commit();
    if !cli.quiet {
        let reflinked: u64 = written.iter().map(|w| w.reflinked).sum();
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "modelcar-pack: index {} ({} platforms, {} model layers, {} model bytes, {} reflinked) in {:.2} s ({:.0} MB/s)",
            index.digest,
            nplat,
            written.len(),
            total,
            reflinked,
            secs,
            total as f64 / 1e6 / secs.max(1e-9)
        );
        if let Some((d, _)) = &out {
            eprintln!("modelcar-pack: wrote oci:{}:{tag}", d.display());
        }
        if let Some(p) = pushed {
            eprintln!("modelcar-pack: pushed {p}");
        }
    }
    // The digest alone on stdout, for scripts.
    println!("{}", index.digest);
    Ok(())
}

fn platforms(layout: &Layout, index: &oci::Descriptor) -> usize {
    layout
        .read_blob(&index.digest)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["manifests"].as_array().map(Vec::len))
        .unwrap_or(0)
}
