//! A ModelKit or ModelPack (from an OCI layout or a registry) -> modelcar layers. Each
//! selected source layer is read once, as a stream: its digest and size are checked, every
//! tar entry goes under `models/` with its mode, mtime and data unchanged (parent
//! directories added where the source has none), and escaping paths, devices and links
//! leaving the tree are refused. From an uncompressed blob in a local layout, file data that
//! starts 4 KiB-aligned is reflinked where the filesystem can (then only read, to hash it).

use crate::blobwriter::{BlobWriter, Compress};
use crate::cleanup;
use crate::error::{Context, Error, Result};
use crate::formats::{self, Compression, Format, LayerType};
use crate::hash::Sha256;
use crate::kit::{self, filter::Filter, Entry, Kind, Kitfile};
use crate::layers::Written;
use crate::layout::Layout;
use crate::oci::{self, Descriptor, MT_INDEX, MT_MANIFEST};
use crate::registry::Client;
use crate::tar::{self, Header};
use crate::tarread::{self, Type};
use indicatif::ProgressBar;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::sync::{Arc, Mutex};

const BUF: usize = 1 << 20;

pub enum Source {
    Layout { layout: Layout, tag: Option<String> },
    Registry(Client),
}

/// What a conversion produced: the model layers and the annotations naming the source.
pub struct Converted {
    pub layers: Vec<Written>,
    pub annotations: BTreeMap<String, String>,
    pub title: Option<String>,
    pub total: u64,
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Layout { layout, tag } => match tag {
                Some(t) => format!("oci:{}:{t}", layout.dir.display()),
                None => format!("oci:{}", layout.dir.display()),
            },
            Source::Registry(c) => format!("kit://{}", c.reference()),
        }
    }

    /// Small JSON blob, digest checked.
    fn json_blob(&self, d: &Descriptor) -> Result<Vec<u8>> {
        let b = match self {
            Source::Layout { layout, .. } => layout.read_blob(&d.digest)?,
            Source::Registry(c) => {
                let mut v = Vec::new();
                c.get(&format!("blobs/{}", d.digest), "*/*")?
                    .into_reader()
                    .take(64 << 20)
                    .read_to_end(&mut v)
                    .ctx(|| format!("{}: blob {}", self.name(), d.digest))?;
                let got = crate::hash::digest(&v);
                if got != d.digest {
                    return Err(Error::msg(format!(
                        "{}: blob {} has digest {got}",
                        self.name(),
                        d.digest
                    )));
                }
                v
            }
        };
        Ok(b)
    }

    /// The manifest (bytes, digest); an image index with one model manifest is followed.
    fn manifest(&self) -> Result<(Vec<u8>, String)> {
        let (bytes, digest) = match self {
            Source::Layout { layout, tag } => {
                let d = layout.resolve(tag.as_deref())?;
                (layout.read_blob(&d.digest)?, d.digest)
            }
            Source::Registry(c) => {
                let accept = format!("{MT_MANIFEST}, {MT_INDEX}");
                let resp = c.get(&format!("manifests/{}", c.reference().tag), &accept)?;
                let mut v = Vec::new();
                resp.into_reader()
                    .take(16 << 20)
                    .read_to_end(&mut v)
                    .ctx(|| format!("{}: manifest", self.name()))?;
                let d = crate::hash::digest(&v);
                (v, d)
            }
        };
        let v: Value =
            serde_json::from_slice(&bytes).ctx(|| format!("{}: manifest", self.name()))?;
        if v["manifests"].is_array() {
            let ms = v["manifests"].as_array().cloned().unwrap_or_default();
            let [m] = ms.as_slice() else {
                return Err(Error::msg(format!(
                    "{}: an image index of {} manifests, not a ModelKit or ModelPack",
                    self.name(),
                    ms.len()
                )));
            };
            let d: Descriptor = serde_json::from_value(m.clone()).ctx(|| self.name())?;
            let b = match self {
                Source::Layout { layout, .. } => layout.read_blob(&d.digest)?,
                Source::Registry(c) => {
                    let mut v = Vec::new();
                    c.get(&format!("manifests/{}", d.digest), MT_MANIFEST)?
                        .into_reader()
                        .take(16 << 20)
                        .read_to_end(&mut v)
                        .ctx(|| self.name())?;
                    v
                }
            };
            if crate::hash::digest(&b) != d.digest {
                return Err(Error::msg(format!(
                    "{}: manifest {} does not match its digest",
                    self.name(),
                    d.digest
                )));
            }
            return Ok((b, d.digest));
        }
        Ok((bytes, digest))
    }

    /// A stream of the blob, and the blob file where it is local (for reflinks).
    fn open(&self, d: &Descriptor) -> Result<(Box<dyn Read>, Option<File>)> {
        match self {
            Source::Layout { layout, .. } => {
                let p = layout.blob_path(&d.digest);
                let f = File::open(&p).ctx(|| format!("cannot read blob {}", p.display()))?;
                let g = f.try_clone().ctx(|| p.display().to_string())?;
                Ok((Box::new(f), Some(g)))
            }
            Source::Registry(c) => Ok((
                Box::new(c.get(&format!("blobs/{}", d.digest), "*/*")?.into_reader()),
                None,
            )),
        }
    }
}

/// Hashes and counts what is read through it; shared so the count survives a decoder.
struct HashRead<R: Read> {
    inner: R,
    state: Arc<Mutex<(Sha256, u64)>>,
}

impl<R: Read> Read for HashRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0.update(&buf[..n]);
        s.1 += n as u64;
        Ok(n)
    }
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
        Format::ModelKit => Some(
            serde_json::from_slice(&src.json_blob(&cdesc)?)
                .ctx(|| format!("{name}: the ModelKit's Kitfile (config)"))?,
        ),
        Format::ModelPack => match ann.get(formats::KIT_ANN_KITFILE) {
            Some(s) => Some(
                serde_json::from_str(s)
                    .ctx(|| format!("{name}: annotation {}", formats::KIT_ANN_KITFILE))?,
            ),
            None => None,
        },
    };
    let layers: Vec<Descriptor> =
        serde_json::from_value(m["layers"].clone()).ctx(|| format!("{name}: manifest layers"))?;
    let jobs = select(&name, kitfile.as_ref(), &layers, opts.filters)?;
    if jobs.is_empty() {
        return Err(Error::msg(format!("{name}: the filter selects no layer")));
    }
    bar.set_length(jobs.iter().map(|j| j.desc.size).sum());
    let mut out = Vec::new();
    let mut try_reflink = true;
    for j in &jobs {
        out.push(convert_layer(src, layout, j, opts, bar, &mut try_reflink)?);
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

/// Writes the modelcar layer: `models/` and the source's entries under it.
struct Out<'a> {
    w: BlobWriter,
    dirs: BTreeSet<String>,
    files: BTreeSet<String>,
    mtime: u64,
    small_max: u64,
    layer: &'a str,
}

impl Out<'_> {
    fn header(&mut self, h: Header, align: bool) -> Result<()> {
        let b = tar::header_bytes(&h, self.w.pos, align);
        self.w.put(&b)
    }

    /// Directory entries for every parent of `rel` not written yet.
    fn parents(&mut self, rel: &str) -> Result<()> {
        let mut missing = Vec::new();
        let mut p = rel;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if self.dirs.contains(p) {
                break;
            }
            missing.push(p.to_string());
        }
        for d in missing.into_iter().rev() {
            let path = format!("models/{d}");
            self.header(hdr(&path, tar::Kind::Dir, 0, 0o755, self.mtime, ""), false)?;
            self.dirs.insert(d);
        }
        Ok(())
    }
}

fn hdr<'a>(
    path: &'a str,
    kind: tar::Kind,
    size: u64,
    mode: u32,
    mtime: u64,
    link: &'a str,
) -> Header<'a> {
    Header {
        path,
        kind,
        size,
        mode,
        mtime,
        link,
    }
}

/// "./a/b" -> "a/b"; absolute paths and ".." refused.
fn clean_entry(p: &str, layer: &str) -> Result<String> {
    let p = p.trim_end_matches('/');
    kit::clean_path(p)
        .ok()
        .filter(|_| !p.split('/').any(|s| s == ".."))
        .filter(|_| !p.starts_with('/'))
        .ok_or_else(|| {
            Error::msg(format!(
                "{layer}: entry {p:?} leaves the layer's tree; refusing it"
            ))
        })
}

/// A symlink at `rel` to `target` must stay inside the tree (relative, never above it).
fn check_symlink(rel: &str, target: &str, layer: &str) -> Result<()> {
    let bad = || {
        Error::msg(format!(
            "{layer}: symlink {rel} -> {target} points outside the model; refusing it"
        ))
    };
    if target.starts_with('/') || target.is_empty() {
        return Err(bad());
    }
    let mut depth = rel.matches('/').count() as i64;
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(bad());
        }
    }
    Ok(())
}

fn convert_layer(
    src: &Source,
    layout: &Layout,
    job: &Job,
    opts: &Options,
    bar: &ProgressBar,
    try_reflink: &mut bool,
) -> Result<Written> {
    let label = format!(
        "{} layer {} ({})",
        src.name(),
        job.desc.digest,
        if job.entry.path.is_empty() {
            "."
        } else {
            &job.entry.path
        }
    );
    let (stream, file) = src.open(&job.desc)?;
    let state = Arc::new(Mutex::new((Sha256::new(), 0u64)));
    let hashed = HashRead {
        inner: stream,
        state: Arc::clone(&state),
    };
    // Reflink only from the blob file itself, uncompressed.
    let file = file.filter(|_| job.ltype.compression == Compression::None);
    let mut dec: Box<dyn Read> = match job.ltype.compression {
        Compression::None => Box::new(hashed),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(hashed)),
        Compression::Zstd => Box::new(zstd::Decoder::new(hashed).ctx(|| label.clone())?),
    };
    let mut out = Out {
        w: BlobWriter::new(layout, opts.compress)?,
        dirs: BTreeSet::new(),
        files: BTreeSet::new(),
        mtime: opts.mtime,
        small_max: opts.small_max,
        layer: &label,
    };
    out.header(
        hdr("models", tar::Kind::Dir, 0, 0o755, opts.mtime, ""),
        false,
    )?;
    out.dirs.insert(String::new());
    let mut buf = vec![0u8; BUF];
    let mut reflinked = 0u64;
    if job.ltype.raw {
        // The blob is the file (ModelPack `.raw`): it goes to models/<filepath>.
        let rel = job.entry.path.clone();
        out.parents(&rel)?;
        let align = job.desc.size >= opts.small_max;
        out.header(
            hdr(
                &format!("models/{rel}"),
                tar::Kind::File,
                job.desc.size,
                0o644,
                opts.mtime,
                "",
            ),
            align,
        )?;
        reflinked += copy_data(
            &mut out,
            &mut *dec,
            file.as_ref(),
            0,
            job.desc.size,
            align,
            try_reflink,
            &mut buf,
            bar,
        )?;
    } else {
        let mut tr = tarread::Reader::new(&mut dec);
        loop {
            cleanup::check()?;
            let Some(e) = tr.next().map_err(|e| Error::msg(format!("{label}: {e}")))? else {
                break;
            };
            let rel = clean_entry(&e.path, &label)?;
            if rel.is_empty() {
                continue;
            }
            out.parents(&rel)?;
            let path = format!("models/{rel}");
            let mode = e.mode & 0o777;
            match e.kind {
                Type::Dir => {
                    if out.dirs.insert(rel.clone()) {
                        out.header(hdr(&path, tar::Kind::Dir, 0, mode, e.mtime, ""), false)?;
                    }
                }
                Type::Symlink => {
                    check_symlink(&rel, &e.link, &label)?;
                    out.header(
                        hdr(&path, tar::Kind::Symlink, 0, mode, e.mtime, &e.link),
                        false,
                    )?;
                }
                Type::Hardlink => {
                    let target = clean_entry(&e.link, &label)?;
                    if !out.files.contains(&target) {
                        return Err(Error::msg(format!(
                            "{label}: hard link {rel} -> {target}: not a file earlier in the layer; refusing it"
                        )));
                    }
                    out.header(
                        hdr(
                            &path,
                            tar::Kind::Hardlink,
                            0,
                            mode,
                            e.mtime,
                            &format!("models/{target}"),
                        ),
                        false,
                    )?;
                }
                Type::File => {
                    let align = e.size >= out.small_max;
                    out.header(
                        hdr(&path, tar::Kind::File, e.size, mode, e.mtime, ""),
                        align,
                    )?;
                    let n = copy_tar_data(
                        &mut out,
                        &mut tr,
                        file.as_ref(),
                        &e,
                        align,
                        try_reflink,
                        &mut buf,
                        bar,
                    )?;
                    reflinked += n;
                    out.files.insert(rel);
                }
            }
        }
    }
    // The rest of the blob (tar padding, the gzip trailer) still counts in its digest.
    loop {
        let n = dec.read(&mut buf).ctx(|| label.clone())?;
        if n == 0 {
            break;
        }
    }
    drop(dec);
    let (hash, n) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        (std::mem::replace(&mut s.0, Sha256::new()).finish(), s.1)
    };
    if hash != job.desc.digest || n != job.desc.size {
        return Err(Error::msg(format!(
            "{label}: content has digest {hash} ({n} bytes), the manifest says {} ({} bytes)",
            job.desc.digest, job.desc.size
        )));
    }
    let f = out.w.finish()?;
    layout.commit_temp(&f.tmp, &f.digest)?;
    let media = match opts.compress {
        Compress::None => oci::MT_LAYER,
        Compress::Gzip => oci::MT_LAYER_GZIP,
        Compress::Zstd => oci::MT_LAYER_ZSTD,
    };
    let mut desc = Descriptor::new(media, &f.digest, f.size);
    let title = if job.entry.path.is_empty() {
        ".".to_string()
    } else {
        job.entry.path.clone()
    };
    desc.annotations
        .insert(oci::ANN_TITLE.to_string(), title.clone());
    let base = job.entry.path.rsplit('/').next().unwrap_or("");
    if job.entry.kind == Kind::Docs && base.eq_ignore_ascii_case("readme.md") {
        desc.annotations
            .insert(oci::ANN_MODELCARD.to_string(), "true".to_string());
    }
    Ok(Written {
        desc,
        diff_id: f.diff_id,
        created_by: format!(
            "modelcar-pack: {} layer {} under /models",
            job.entry.kind.kit_base(),
            job.desc.digest
        ),
        reflinked,
    })
}

#[allow(clippy::too_many_arguments)]
fn copy_tar_data<R: Read>(
    out: &mut Out,
    tr: &mut tarread::Reader<R>,
    file: Option<&File>,
    e: &tarread::Entry,
    align: bool,
    try_reflink: &mut bool,
    buf: &mut [u8],
    bar: &ProgressBar,
) -> Result<u64> {
    let cloned = clone(out, file, e.data_at, e.size, align, try_reflink)?;
    let mut off = 0u64;
    loop {
        let n = tr
            .read_data(buf)
            .map_err(|x| Error::msg(format!("{}: {x}", out.layer)))?;
        if n == 0 {
            break;
        }
        put(out, &buf[..n], off, cloned)?;
        off += n as u64;
        bar.inc(n as u64);
    }
    out.w.put(&vec![0; tar::padding(e.size)])?;
    Ok(cloned)
}

#[allow(clippy::too_many_arguments)]
fn copy_data(
    out: &mut Out,
    r: &mut dyn Read,
    file: Option<&File>,
    at: u64,
    size: u64,
    align: bool,
    try_reflink: &mut bool,
    buf: &mut [u8],
    bar: &ProgressBar,
) -> Result<u64> {
    let cloned = clone(out, file, at, size, align, try_reflink)?;
    let mut off = 0u64;
    while off < size {
        cleanup::check()?;
        let want = (size - off).min(buf.len() as u64) as usize;
        let n = r.read(&mut buf[..want]).ctx(|| out.layer.to_string())?;
        if n == 0 {
            return Err(Error::msg(format!("{}: blob ends early", out.layer)));
        }
        put(out, &buf[..n], off, cloned)?;
        off += n as u64;
        bar.inc(n as u64);
    }
    out.w.put(&vec![0; tar::padding(size)])?;
    Ok(cloned)
}

fn clone(
    out: &mut Out,
    file: Option<&File>,
    at: u64,
    size: u64,
    align: bool,
    try_reflink: &mut bool,
) -> Result<u64> {
    let block = tar::ALIGN;
    let Some(f) = file else { return Ok(0) };
    if !align || !*try_reflink || !out.w.is_plain() || !at.is_multiple_of(block) || size < block {
        return Ok(0);
    }
    let n = out.w.clone_range(f, at, size / block * block)?;
    if n == 0 {
        *try_reflink = false;
    }
    Ok(n)
}

/// Bytes `off..off+data.len()` of a file whose first `cloned` bytes are reflinked.
fn put(out: &mut Out, data: &[u8], off: u64, cloned: u64) -> Result<()> {
    let c = cloned.saturating_sub(off).min(data.len() as u64) as usize;
    if c > 0 {
        out.w.put_cloned(&data[..c]);
    }
    if c < data.len() {
        out.w.put_data(&data[c..])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths() {
        assert_eq!(clean_entry("./a/b/", "L").unwrap(), "a/b");
        assert_eq!(clean_entry(".", "L").unwrap(), "");
        assert!(clean_entry("../x", "L").is_err());
        assert!(clean_entry("a/../../x", "L").is_err());
        assert!(clean_entry("a/../b", "L").is_err());
        assert!(clean_entry("/etc/passwd", "L").is_err());
    }

    #[test]
    fn symlinks() {
        assert!(check_symlink("a/l", "../b", "L").is_ok());
        assert!(check_symlink("a/l", "x/../y", "L").is_ok());
        assert!(check_symlink("l", "../b", "L").is_err());
        assert!(check_symlink("a/l", "../../b", "L").is_err());
        assert!(check_symlink("l", "/etc", "L").is_err());
    }
}
