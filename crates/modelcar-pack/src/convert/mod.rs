//! A ModelKit or ModelPack (from an OCI layout or a registry) -> modelcar layers. Each
//! selected source layer is read once, as a stream: its digest and size are checked, every
//! tar entry goes under `models/` with its mode, mtime and data unchanged (parent
//! directories added where the source has none), and escaping paths, devices and links
//! leaving the tree are refused. A large file's data goes at its source offset modulo 4 KiB,
//! so from an uncompressed blob in a local layout its whole blocks are reflinked where the
//! filesystem can (then only read, to hash it).

mod layer;
mod source;

use crate::blobwriter::{BlobWriter, Compress};
use crate::error::{Context, Error, Result};
use crate::formats::{self, Format, LayerType};
use crate::kit::{self, filter::Filter, Entry, Kind, Kitfile};
use crate::layers::Written;
use crate::layout::Layout;
use crate::oci::{self, Descriptor};
use crate::tar;
use indicatif::ProgressBar;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use layer::{convert_layer, hdr};
pub use source::Source;

/// What a conversion produced: the model layers and the annotations naming the source.
pub struct Converted {
    pub layers: Vec<Written>,
    pub annotations: BTreeMap<String, String>,
    pub title: Option<String>,
    pub total: u64,
}

/// One source layer to convert, with the Kitfile entry it belongs to.
pub(crate) struct Job {
    pub(crate) desc: Descriptor,
    pub(crate) ltype: LayerType,
    pub(crate) entry: Entry,
}

pub struct Options<'a> {
    pub filters: &'a [Filter],
    pub compress: Compress,
    pub mtime: u64,
    pub small_max: u64,
    pub jobs: usize,
}

pub fn convert(
    src: &Source,
    layout: &Layout,
    opts: &Options,
    bar: &ProgressBar,
) -> Result<Converted> {
    let name = src.name();
    let (mbytes, mdigest) = src.manifest()?;
    let m: Value = serde_json::from_slice(&mbytes).ctx(|| format!("{name}: manifest"))?;
    let cdesc: Descriptor = serde_json::from_value(m["config"].clone())
        .ctx(|| format!("{name}: manifest has no config"))?;
    let ann: BTreeMap<String, String> =
        serde_json::from_value(m["annotations"].clone()).unwrap_or_default();
    let format = match cdesc.media_type.as_str() {
        formats::KIT_CONFIG => Format::ModelKit,
        formats::MP_CONFIG => Format::ModelPack,
        other => {
            return Err(Error::msg(format!(
                "{name}: not a ModelKit or a ModelPack (config type {other})"
            )))
        }
    };
    let kitfile: Option<Kitfile> = match format {
        Format::ModelKit => Some(Kitfile::from_json(
            &src.json_blob(&cdesc)?,
            &format!("{name}: the ModelKit's config"),
        )?),
        Format::ModelPack => match ann.get(formats::KIT_ANN_KITFILE) {
            Some(s) => Some(Kitfile::from_json(
                s.as_bytes(),
                &format!("{name}: annotation {}", formats::KIT_ANN_KITFILE),
            )?),
            None => None,
        },
    };
    let layers: Vec<Descriptor> =
        serde_json::from_value(m["layers"].clone()).ctx(|| format!("{name}: manifest layers"))?;
    let jobs = select(&name, kitfile.as_ref(), &layers, opts.filters)?;
    let with_kitfile = opts.filters.iter().any(|f| f.kitfile) && kitfile.is_some();
    if jobs.is_empty() && !with_kitfile {
        return Err(Error::msg(format!("{name}: the filter selects no layer")));
    }
    bar.set_length(jobs.iter().map(|j| j.desc.size).sum());
    let mut out = convert_all(src, layout, &jobs, opts, bar)?;
    if let (true, Some(kf)) = (with_kitfile, &kitfile) {
        out.push(kitfile_layer(kf, layout, opts)?);
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(formats::ANN_SOURCE.to_string(), name.clone());
    annotations.insert(formats::ANN_SOURCE_DIGEST.to_string(), mdigest);
    let mut title = None;
    if let Some(kf) = &kitfile {
        for (k, v) in kf.annotations() {
            annotations.insert(k.to_string(), v);
        }
        title = (!kf.package.name.is_empty()).then(|| kf.package.name.clone());
    }
    Ok(Converted {
        total: jobs.iter().map(|j| j.desc.size).sum(),
        layers: out,
        annotations,
        title,
    })
}

/// Converts the layers, `opts.jobs` at a time (each is its own blob); results in order, the
/// first error (an interrupt before any other) wins.
fn convert_all(
    src: &Source,
    layout: &Layout,
    jobs: &[Job],
    opts: &Options,
    bar: &ProgressBar,
) -> Result<Vec<Written>> {
    let try_reflink = AtomicBool::new(true);
    crate::pool::map_ordered(
        jobs,
        opts.jobs,
        || (),
        |_, j| convert_layer(src, layout, j, opts, bar, &try_reflink),
    )
}

/// `--filter kitfile`: the Kitfile as YAML at /models/Kitfile, as `kit unpack` writes it
/// (without the layer digests, which kit keeps out of the YAML).
fn kitfile_layer(kf: &Kitfile, layout: &Layout, opts: &Options) -> Result<Written> {
    let mut kf = kf.clone();
    kf.set_layer_info(&[]);
    let yaml = serde_yaml::to_string(&kf).map_err(|e| Error::msg(format!("Kitfile: {e}")))?;
    let mut w = BlobWriter::new(layout, opts.compress)?;
    for (path, kind, size) in [
        ("models", tar::Kind::Dir, 0),
        ("models/Kitfile", tar::Kind::File, yaml.len() as u64),
    ] {
        w.put(&tar::header_bytes(
            &hdr(
                path,
                kind,
                size,
                if size > 0 { 0o644 } else { 0o755 },
                opts.mtime,
                "",
            ),
            w.pos,
            false,
        ))?;
    }
    w.put(yaml.as_bytes())?;
    w.put(&vec![0; tar::padding(yaml.len() as u64)])?;
    let f = w.finish()?;
    layout.commit_temp(&f.tmp, &f.digest)?;
    let mut desc = Descriptor::new(layer_media(opts.compress), &f.digest, f.size);
    desc.annotations
        .insert(oci::ANN_TITLE.to_string(), "Kitfile".to_string());
    Ok(Written {
        desc,
        diff_id: f.diff_id,
        created_by: "modelcar-pack: the Kitfile in /models".to_string(),
        reflinked: 0,
    })
}

fn layer_media(c: Compress) -> &'static str {
    match c {
        Compress::None => oci::MT_LAYER,
        Compress::Gzip => oci::MT_LAYER_GZIP,
        Compress::Zstd => oci::MT_LAYER_ZSTD,
    }
}

/// Pairs layers with Kitfile entries as `kit unpack` does (the n-th layer of a type is the
/// n-th entry of that type) and keeps those the filters select.
pub(crate) fn select(
    name: &str,
    kf: Option<&Kitfile>,
    layers: &[Descriptor],
    filters: &[Filter],
) -> Result<Vec<Job>> {
    let entries = match kf {
        Some(k) => k.entries(&format!("{name}: Kitfile"))?,
        None => Vec::new(),
    };
    let raw = kf.map(Kitfile::raw_paths).unwrap_or_default();
    let digests = kf.map(Kitfile::layer_digests).unwrap_or_default();
    let mut seen: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut jobs = Vec::new();
    for (i, d) in layers.iter().enumerate() {
        let Some(lt) = LayerType::parse(&d.media_type) else {
            eprintln!(
                "modelcar-pack: warning: {name}: layer {i} has media type {}, not a model, dataset, code or docs layer; skipped",
                d.media_type
            );
            continue;
        };
        let (entry, rawp) = if kf.is_some() {
            let n = seen.entry(lt.kind).or_default();
            let found = entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == lt.kind)
                .nth(*n);
            *n += 1;
            let Some((k, e)) = found else {
                return Err(Error::msg(format!(
                    "{name}: layer {i} ({}) has no entry in the Kitfile",
                    lt.kind.kit_base()
                )));
            };
            if !digests[k].is_empty() && digests[k] != d.digest {
                return Err(Error::msg(format!(
                    "{name}: {} records layer {}, the manifest has {}",
                    e.field, digests[k], d.digest
                )));
            }
            (e.clone(), raw[k].clone())
        } else {
            let p = d
                .annotations
                .get(formats::MP_ANN_FILEPATH)
                .cloned()
                .unwrap_or_default();
            let clean = kit::clean_path(&p).map_err(|why| {
                Error::msg(format!(
                    "{name}: layer {i}: {} {p:?} {why}",
                    formats::MP_ANN_FILEPATH
                ))
            })?;
            (
                Entry {
                    kind: lt.kind,
                    name: String::new(),
                    path: clean,
                    field: format!("layer {i}"),
                },
                p,
            )
        };
        if lt.raw && entry.path.is_empty() {
            return Err(Error::msg(format!(
                "{name}: layer {i} is a raw file without a {} annotation",
                formats::MP_ANN_FILEPATH
            )));
        }
        if kit::filter::selected(filters, &entry, &rawp) {
            jobs.push(Job {
                desc: d.clone(),
                ltype: lt,
                entry,
            });
        }
    }
    Ok(jobs)
}
