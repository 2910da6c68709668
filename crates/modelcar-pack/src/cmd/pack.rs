//! `modelcar-pack [pack] MODEL_PATH...`: the options resolved into a [`Plan`] (inputs
//! walked, references parsed, nothing written), then the plan carried out.

use crate::blobwriter::Compress;
use crate::cleanup;
use crate::cli::PackArgs;
use crate::error::{Context, Error, Result};
use crate::inputs::{self, Input, OutFormat};
use crate::kit::filter::Filter;
use crate::layout::{Layout, LayoutRef};
use crate::oci::{self, Descriptor};
use crate::pack;
use crate::registry::{self, Reference};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Instant;

/// Everything a pack run needs, checked.
pub struct Plan {
    input: Input,
    filters: Vec<Filter>,
    format: OutFormat,
    /// --title, else the Kitfile's package name (else the input's name).
    title: Option<String>,
    /// -o: the layout and the tag to set.
    output: Option<(LayoutRef, String)>,
    push: Option<Reference>,
    insecure: bool,
    base: Option<LayoutRef>,
    compress: Compress,
    small_file_max: u64,
    jobs: usize,
    /// Blobs uploaded at the same time by --push.
    uploads: usize,
    meta: pack::Meta,
    quiet: bool,
}

impl Plan {
    pub fn resolve(a: &PackArgs) -> Result<Plan> {
        if a.output.is_none() && a.push.is_none() {
            return Err(Error::msg(
                "nothing to do: give -o oci:DIR[:TAG] and/or --push REGISTRY/REPO:TAG",
            ));
        }
        let push = a.push.as_deref().map(Reference::parse).transpose()?;
        let output = a
            .output
            .as_deref()
            .map(|o| -> Result<_> {
                let r = LayoutRef::parse(o, "--output")?;
                let tag = r.tag.clone().unwrap_or_else(|| "latest".to_string());
                oci::check_tag(&tag).map_err(|e| Error::msg(format!("--output {o:?}: {e}")))?;
                Ok((r, tag))
            })
            .transpose()?;
        let base = a
            .base
            .as_deref()
            .map(|b| LayoutRef::parse(b, "--base"))
            .transpose()?;
        if base.is_none() {
            crate::base::sidecars()?;
        }
        let created = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => v
                .trim()
                .parse()
                .map_err(|_| Error::msg(format!("SOURCE_DATE_EPOCH={v:?} is not a number")))?,
            Err(_) => 0,
        };
        let title = a.title.clone().unwrap_or_else(|| {
            let first = &a.models[0];
            let p = std::fs::canonicalize(first).unwrap_or_else(|_| first.clone());
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".to_string())
        });
        if a.format != OutFormat::Modelcar && (a.push.is_some() || a.base.is_some()) {
            return Err(Error::msg(
                "--format modelkit|modelpack writes an OCI layout (-o); --push and --base are for modelcars",
            ));
        }
        if a.format != OutFormat::Modelcar && a.output.is_none() {
            return Err(Error::msg(
                "--format modelkit|modelpack needs -o oci:DIR[:TAG]",
            ));
        }
        let jobs = a.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4)
        });
        let filters = inputs::filters(&a.filter)?;
        let input = inputs::resolve(&a.models, a.kitfile.as_deref(), &filters, a.insecure)?;
        let title = match (&a.title, &input) {
            (Some(_), _) => title,
            (None, Input::Convert(src)) => src.name(),
            _ => title,
        };
        Ok(Plan {
            input,
            filters,
            format: a.format,
            title: a.title.clone(),
            output,
            push,
            insecure: a.insecure,
            base,
            compress: a.compress,
            small_file_max: a.small_file_max,
            jobs,
            uploads: a.jobs.unwrap_or(registry::UPLOADS),
            meta: pack::Meta {
                created,
                title,
                annotations: Default::default(),
            },
            quiet: a.quiet,
        })
    }

    pub fn run(mut self) -> Result<()> {
        let start = Instant::now();
        let client = self
            .push
            .as_ref()
            .map(|t| registry::connect(t, self.insecure))
            .transpose()?;
        // Only --push: a scratch layout under TMPDIR, removed when `scratch` drops.
        let (dir, scratch) = match &self.output {
            Some((r, _)) => (r.dir.clone(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("modelcar-pack-")
                    .tempdir()
                    .ctx(|| "cannot create a scratch folder under TMPDIR".to_string())?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let layout = Layout::create(&dir)?;
        let opts = inputs::Options {
            filters: &self.filters,
            compress: self.compress,
            created: self.meta.created,
            small_max: self.small_file_max,
            jobs: self.jobs,
        };
        let bar = progress_bar(0, self.quiet)?;
        if self.format != OutFormat::Modelcar {
            let m = inputs::write_kit(&self.input, self.format, &layout, &opts, &bar);
            bar.finish_and_clear();
            let m = m?;
            if let Some((r, tag)) = &self.output {
                layout.set_tag(tag, &m)?;
                if !self.quiet {
                    eprintln!(
                        "modelcar-pack: wrote oci:{}:{tag} ({:?})",
                        r.dir.display(),
                        self.format
                    );
                }
            }
            cleanup::commit();
            println!("{}", m.digest);
            return Ok(());
        }
        let bases = match &self.base {
            Some(b) => pack::from_layout(&Layout::open(&b.dir)?, b.tag.as_deref(), &layout)?,
            None => pack::embedded(&layout, self.meta.created)?,
        };

        let model = inputs::model_layers(&self.input, &layout, &opts, &bar);
        bar.finish_and_clear();
        let model = model?;
        let written = model.written;
        let total = model.total;
        if let (None, Some(t)) = (&self.title, model.title) {
            self.meta.title = t;
        }
        self.meta.annotations = model.annotations;
        let index = pack::assemble(&layout, bases, &written, &self.meta)?;
        let nplat = platforms(&layout, &index);
        // Push before index.json changes: a failed push leaves a layout as it was.
        let pushed = match &client {
            Some(c) => Some(registry::push(
                c,
                &layout,
                &index,
                self.quiet,
                self.uploads,
            )?),
            None => None,
        };
        if let Some((_, tag)) = &self.output {
            layout.set_tag(tag, &index)?;
        }
        if scratch.is_some() {
            // Push-only: the scratch layout goes, as everything this run made.
            cleanup::undo();
            drop(scratch);
        }
        cleanup::commit();
        if !self.quiet {
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
            if let Some((r, tag)) = &self.output {
                eprintln!("modelcar-pack: wrote oci:{}:{tag}", r.dir.display());
            }
            if let Some(p) = pushed {
                eprintln!("modelcar-pack: pushed {p}");
            }
        }
        // The digest alone on stdout, for scripts.
        println!("{}", index.digest);
        Ok(())
    }
}

fn progress_bar(total: u64, quiet: bool) -> Result<ProgressBar> {
    if quiet {
        return Ok(ProgressBar::hidden());
    }
    // indicatif draws nothing when stderr is not a terminal.
    let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}")
            .map_err(|e| Error::msg(e.to_string()))?,
    );
    Ok(b)
}

fn platforms(layout: &Layout, index: &Descriptor) -> usize {
    layout
        .read_blob(&index.digest)
        .ok()
        .and_then(|b| oci::from_json::<oci::Index>(&b, &index.digest).ok())
        .map_or(0, |i| i.manifests.len())
}
