//! `unpack SRC DEST`: a modelcar's `/models` (KServe's fetch mode) written to DEST, or a
//! ModelKit's / ModelPack's files at their Kitfile paths plus the Kitfile (as `kit unpack`
//! does, with kit's filters). The node's platform is picked from an index, the signature
//! checked first when a key is given, the layers fetched in parallel, each streamed once and
//! checked against its digest, and DEST replaced only when everything succeeded
//! (see `stage.rs`).

mod extract;
mod stage;

use crate::error::{Error, Result};
use crate::fetch::{self, Source, Src};
use crate::formats::{self, LayerType};
use crate::kit::filter::Filter;
use crate::kit::Kitfile;
use crate::oci::Descriptor;
pub use extract::compression as compression_of;
pub use extract::Compression;
use extract::Extracted;
use stage::Stage;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Opts {
    pub src: String,
    pub dest: PathBuf,
    pub insecure: bool,
    pub arch: String,
    pub jobs: usize,
    /// Verify this cosign public key's signature before anything is fetched.
    pub key: Option<String>,
    /// Verify a keyless signature (identity, issuer, trusted root) before anything is fetched.
    pub keyless: Option<crate::keyless::Policy>,
    pub quiet: bool,
    /// kit's `--filter` syntax (ModelKits and ModelPacks); none: everything.
    pub filters: Vec<String>,
}

/// One layer to fetch: tar entries below `prefix`, or (ModelPack `.raw`) the file at `raw`.
struct Task {
    desc: Descriptor,
    comp: Compression,
    raw: Option<String>,
}

fn log(quiet: bool, s: &str) {
    if !quiet {
        eprintln!("modelcar-pack: {s}");
    }
}

const MT_IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

pub fn run(o: &Opts) -> Result<()> {
    let start = Instant::now();
    let src = Src::parse(&o.src)?;
    // A misspelt filter is refused before anything is fetched, whatever the image turns out to be.
    let filters = o
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>>>()?;
    log(o.quiet, &format!("unpack {src} to {}", o.dest.display()));
    let source = Source::open(&src, o.insecure)?;
    let root = source.root(&src)?;
    if let Some(key) = &o.key {
        let who = crate::sign::verify(&source, &src, &root.digest, key)?;
        log(
            o.quiet,
            &format!("signature of {} verified ({who})", root.digest),
        );
    }
    if let Some(policy) = &o.keyless {
        let who = crate::keyless::verify(&source, &src, &root.digest, policy)?;
        log(
            o.quiet,
            &format!("signature of {} verified ({who})", root.digest),
        );
    }
    let manifest = if root.is_index() {
        let d = fetch::pick_platform(&root.json()?, &o.arch)?;
        log(o.quiet, &format!("platform linux/{}: {}", o.arch, d.digest));
        source.by_descriptor(&d)?
    } else {
        root
    };
    let m = manifest.json()?;
    let config_mt = m["config"]["mediaType"].as_str().unwrap_or("");
    let layers: Vec<Descriptor> = serde_json::from_value(m["layers"].clone())
        .map_err(|e| Error::msg(format!("{src}: manifest layers: {e}")))?;
    let modelcar = MT_IMAGE_CONFIGS.contains(&config_mt);
    let (tasks, kitfile) = if modelcar {
        if !o.filters.is_empty() {
            log(
                o.quiet,
                "a modelcar is unpacked whole: the filter is ignored",
            );
        }
        (modelcar_tasks(&layers)?, None)
    } else if config_mt == formats::KIT_CONFIG || config_mt == formats::MP_CONFIG {
        kit_tasks(filters, &source, &src, &m, &layers)?
    } else {
        return Err(Error::msg(format!(
            "{src}: config media type {config_mt:?} is not a container image's, a ModelKit's or a ModelPack's; refusing to unpack"
        )));
    };
    let total: u64 = tasks.iter().map(|t| t.desc.size).sum();
    log(
        o.quiet,
        &format!("{} layers, {} bytes to fetch", tasks.len(), total),
    );
    let stage = Stage::new(&o.dest)?;
    let prefix = if modelcar { "models/" } else { "" };
    match fetch_all(o, &source, &stage, &tasks, prefix, total) {
        Ok(done) => {
            let result = (|| {
                if let Some(text) = &kitfile {
                    stage.write_file("Kitfile", text.as_bytes())?;
                }
                if modelcar && !done.iter().any(|x| x.any_model) {
                    return Err(Error::msg(format!(
                        "{src}: no /models directory in any layer; not a modelcar"
                    )));
                }
                for (i, x) in done.iter().enumerate() {
                    stage.merge(i, &x.whiteouts)?;
                }
                crate::cleanup::check()
            })();
            if let Err(e) = result {
                stage.abort();
                return Err(e);
            }
            stage.commit()?;
            let files: u64 =
                done.iter().map(|x| x.files).sum::<u64>() + u64::from(kitfile.is_some());
            // The Kitfile is one of the files written, so its bytes count too.
            let bytes: u64 = done.iter().map(|x| x.bytes).sum::<u64>()
                + kitfile.as_ref().map_or(0, |t| t.len() as u64);
            let secs = start.elapsed().as_secs_f64();
            log(
                o.quiet,
                &format!(
                    "unpacked {bytes} bytes, {files} files to {} in {secs:.2} s ({:.0} MB/s)",
                    o.dest.display(),
                    bytes as f64 / 1e6 / secs.max(1e-9)
                ),
            );
            Ok(())
        }
        Err(e) => {
            stage.abort();
            Err(e)
        }
    }
}

fn modelcar_tasks(layers: &[Descriptor]) -> Result<Vec<Task>> {
    layers
        .iter()
        .map(|l| {
            let comp = extract::compression(&l.media_type).ok_or_else(|| {
                Error::msg(format!(
                    "layer {}: unknown media type {:?}; refusing to unpack",
                    l.digest, l.media_type
                ))
            })?;
            Ok(Task {
                desc: l.clone(),
                comp,
                raw: None,
            })
        })
        .collect()
}

/// A ModelKit's or ModelPack's layers that the filters select (all without a filter), paired
/// with their Kitfile entries as `kit unpack` pairs them; and the Kitfile to write (YAML),
/// when there is one and the filters include it.
fn kit_tasks(
    filters: Vec<Filter>,
    source: &Source,
    src: &Src,
    m: &serde_json::Value,
    layers: &[Descriptor],
) -> Result<(Vec<Task>, Option<String>)> {
    for l in layers {
        if LayerType::parse(&l.media_type).is_none() {
            return Err(Error::msg(format!(
                "layer {}: unknown media type {:?}; refusing to unpack",
                l.digest, l.media_type
            )));
        }
    }
    let filters = if filters.is_empty() {
        vec![Filter::parse("kitfile,model,datasets,code,docs")?]
    } else {
        filters
    };
    let cdesc: Descriptor = serde_json::from_value(m["config"].clone())
        .map_err(|e| Error::msg(format!("{src}: manifest config: {e}")))?;
    let kitfile_json: Option<serde_json::Value> = if cdesc.media_type == formats::KIT_CONFIG {
        Some(
            serde_json::from_slice(&source.small_blob(&cdesc)?)
                .map_err(|e| Error::msg(format!("{src}: the ModelKit's Kitfile (config): {e}")))?,
        )
    } else {
        match m["annotations"][formats::KIT_ANN_KITFILE].as_str() {
            Some(t) => Some(serde_json::from_str(t).map_err(|e| {
                Error::msg(format!(
                    "{src}: annotation {}: {e}",
                    formats::KIT_ANN_KITFILE
                ))
            })?),
            None => None,
        }
    };
    let kitfile: Option<Kitfile> = kitfile_json
        .as_ref()
        .map(|v| {
            serde_json::from_value(v.clone())
                .map_err(|e| Error::msg(format!("{src}: Kitfile: {e}")))
        })
        .transpose()?;
    let jobs = crate::convert::select(&src.to_string(), kitfile.as_ref(), layers, &filters)?;
    let want_kitfile = kitfile_json.is_some() && filters.iter().any(|f| f.kitfile);
    // `--filter kitfile` alone is kit's way to get just the Kitfile.
    if jobs.is_empty() && !want_kitfile {
        let why = if kitfile_json.is_none() && filters.iter().any(|f| f.kitfile) {
            " (and it has no Kitfile: a ModelPack without kit's annotation)"
        } else {
            ""
        };
        return Err(Error::msg(format!(
            "{src}: the filter selects no layer{why}"
        )));
    }
    let tasks = jobs
        .into_iter()
        .map(|j| Task {
            comp: match j.ltype.compression {
                formats::Compression::None => Compression::None,
                formats::Compression::Gzip => Compression::Gzip,
                formats::Compression::Zstd => Compression::Zstd,
            },
            raw: j.ltype.raw.then(|| j.entry.path.clone()),
            desc: j.desc,
        })
        .collect();
    let text = match (&kitfile_json, want_kitfile) {
        (Some(v), true) => {
            Some(serde_yaml::to_string(v).map_err(|e| Error::msg(format!("{src}: Kitfile: {e}")))?)
        }
        _ => None,
    };
    Ok((tasks, text))
}

/// Fetches and extracts every layer, `o.jobs` at a time; the first error stops the others.
fn fetch_all(
    o: &Opts,
    source: &Source,
    stage: &Stage,
    tasks: &[Task],
    prefix: &str,
    total: u64,
) -> Result<Vec<Extracted>> {
    let next = AtomicUsize::new(0);
    let progress = AtomicU64::new(0);
    let abort = AtomicBool::new(false);
    let finished = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<Extracted>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let start = Instant::now();
    std::thread::scope(|s| {
        // Progress as log lines: init containers have no terminal.
        if !o.quiet {
            s.spawn(|| {
                let mut last = Instant::now();
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    if last.elapsed() >= Duration::from_secs(5) {
                        last = Instant::now();
                        let n = progress.load(Ordering::Relaxed);
                        let secs = start.elapsed().as_secs_f64();
                        eprintln!(
                            "modelcar-pack: {:.1} of {:.1} MB ({:.0}%, {:.0} MB/s)",
                            n as f64 / 1e6,
                            total as f64 / 1e6,
                            100.0 * n as f64 / total.max(1) as f64,
                            n as f64 / 1e6 / secs.max(1e-9)
                        );
                    }
                }
            });
        }
        let workers: Vec<_> = (0..o.jobs.clamp(1, tasks.len().max(1)))
            .map(|_| {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= tasks.len() || abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let l = &tasks[i].desc;
                    let t = Instant::now();
                    let dir = stage.layer_dir(i);
                    let r = source.blob(&l.digest).and_then(|body| {
                        let layer = extract::Layer {
                            digest: &l.digest,
                            size: l.size,
                            compression: tasks[i].comp,
                            root: &dir,
                            prefix,
                            progress: &progress,
                            abort: &abort,
                        };
                        match &tasks[i].raw {
                            Some(path) => extract::raw_file(body, &layer, path),
                            None => extract::layer(body, &layer),
                        }
                    });
                    match &r {
                        Ok(x) if !o.quiet => eprintln!(
                            "modelcar-pack: layer {}/{} {} ({} bytes, {} files) in {:.2} s",
                            i + 1,
                            tasks.len(),
                            l.digest,
                            l.size,
                            x.files,
                            t.elapsed().as_secs_f64()
                        ),
                        Ok(_) => {}
                        Err(_) => abort.store(true, Ordering::Relaxed),
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
        finished.store(true, Ordering::Relaxed);
    });
    crate::cleanup::check()?;
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    // The first real error, not the "stopped" of the layers it aborted.
    let mut out = Vec::new();
    let mut first_err = None;
    for r in results {
        match r {
            Some(Ok(x)) => out.push(x),
            Some(Err(e)) => {
                let stopped = e.to_string().contains(": stopped");
                if first_err.is_none() || matches!(&first_err, Some((true, _))) && !stopped {
                    first_err = Some((stopped, e));
                }
            }
            None => {}
        }
    }
    if let Some((_, e)) = first_err {
        return Err(e);
    }
    if out.len() != tasks.len() {
        return Err(Error::msg("unpack stopped before every layer was fetched"));
    }
    Ok(out)
}
