//! A ModelKit or ModelPack (from an OCI layout or a registry) -> modelcar layers. Each
//! selected source layer is read once, as a stream: its digest and size are checked, every
//! tar entry goes under `models/` with its mode, mtime and data unchanged (parent
//! directories added where the source has none), and escaping paths, devices and links
//! leaving the tree are refused. A large file's data goes at its source offset modulo 4 KiB,
//! so from an uncompressed blob in a local layout its whole blocks are reflinked where the
//! filesystem can (then only read, to hash it).

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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

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
    fn open(&self, d: &Descriptor) -> Result<(Box<dyn Read + Send>, Option<File>)> {
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

/// The reading end of [`hashing_reader`]: chunks another thread read and hashed.
struct Piped {
    rx: Receiver<std::io::Result<Vec<u8>>>,
    free: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    at: usize,
}

impl Read for Piped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    let old = std::mem::replace(&mut self.cur, b);
                    let _ = self.free.send(old);
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.at);
        buf[..n].copy_from_slice(&self.cur[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

const PIPE_BUFS: usize = 8;
const PIPE_BUF: usize = 1 << 20;

/// Reads `src` in a thread of `scope` that hashes what it reads (the blob digest) while
/// this thread converts: the source is read once, and the two hashes (blob digest, new
/// layer's diff_id) run on two cores. Join the handle for (digest, bytes).
fn hashing_reader<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    mut src: Box<dyn Read + Send>,
) -> (Piped, std::thread::ScopedJoinHandle<'s, (String, u64)>) {
    let (tx, rx) = sync_channel::<std::io::Result<Vec<u8>>>(PIPE_BUFS);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(PIPE_BUFS + 1);
    for _ in 0..PIPE_BUFS {
        let _ = free_tx.send(Vec::new());
    }
    let h = scope.spawn(move || {
        let mut hash = Sha256::new();
        let mut n = 0u64;
        while let Ok(mut b) = free_rx.recv() {
            b.resize(PIPE_BUF, 0);
            let r = loop {
                match src.read(&mut b) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            };
            match r {
                Ok(0) => break,
                Ok(k) => {
                    hash.update(&b[..k]);
                    n += k as u64;
                    b.truncate(k);
                    if tx.send(Ok(b)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
        (hash.finish(), n)
    });
    (
        Piped {
            rx,
            free: free_tx,
            cur: Vec::new(),
            at: 0,
        },
        h,
    )
}

/// One source layer to convert, with the Kitfile entry it belongs to.
struct Job {
    desc: Descriptor,
    ltype: LayerType,
    entry: Entry,
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
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let try_reflink = AtomicBool::new(true);
    let results: Vec<Mutex<Option<Result<Written>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, jobs.len().max(1)) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(j) = jobs.get(i) else { break };
                    let r = convert_layer(src, layout, j, opts, bar, &try_reflink);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut out = Vec::new();
    let mut first_err = None;
    for r in results {
        match r.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(w)) => out.push(w),
            Some(Err(e)) if first_err.is_none() || matches!(e, Error::Interrupted(_)) => {
                first_err = Some(e)
            }
            _ => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
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
fn select(
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
    /// `align`: where the data should start modulo [`tar::ALIGN`] (None: anywhere).
    fn header(&mut self, h: Header, align: Option<u64>) -> Result<()> {
        let b = tar::header_bytes_at(&h, self.w.pos, align);
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
            self.header(hdr(&path, tar::Kind::Dir, 0, 0o755, self.mtime, ""), None)?;
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
    try_reflink: &AtomicBool,
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
    // Reflink only from the blob file itself, uncompressed.
    let file = file.filter(|_| job.ltype.compression == Compression::None);
    std::thread::scope(|scope| {
        let (piped, reader) = hashing_reader(scope, stream);
        let written = convert_stream(
            piped,
            file.as_ref(),
            &label,
            layout,
            job,
            opts,
            bar,
            try_reflink,
        );
        // The reader ends once the stream is dropped or read to its end.
        let (hash, n) = reader
            .join()
            .map_err(|_| Error::msg(format!("{label}: reader thread failed")))?;
        let (f, reflinked) = written?;
        if hash != job.desc.digest || n != job.desc.size {
            return Err(Error::msg(format!(
                "{label}: content has digest {hash} ({n} bytes), the manifest says {} ({} bytes)",
                job.desc.digest, job.desc.size
            )));
        }
        layout.commit_temp(&f.tmp, &f.digest)?;
        finish(job, opts, f, reflinked)
    })
}

/// The new layer from the (hashed) source stream; the blob stays a temp file until the
/// source digest is known to match.
#[allow(clippy::too_many_arguments)]
fn convert_stream(
    hashed: Piped,
    file: Option<&File>,
    label: &str,
    layout: &Layout,
    job: &Job,
    opts: &Options,
    bar: &ProgressBar,
    try_reflink: &AtomicBool,
) -> Result<(crate::blobwriter::Finished, u64)> {
    let label = label.to_string();
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
        None,
    )?;
    out.dirs.insert(String::new());
    let mut buf = vec![0u8; BUF];
    let mut reflinked = 0u64;
    if job.ltype.raw {
        // The blob is the file (ModelPack `.raw`): it goes to models/<filepath>.
        let rel = job.entry.path.clone();
        out.parents(&rel)?;
        // The blob is the file: its data starts block-aligned in the source.
        let align = (job.desc.size >= opts.small_max).then_some(0);
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
        let size = job.desc.size;
        let mut got = 0u64;
        let mut read = |b: &mut [u8]| -> Result<usize> {
            let want = (size - got).min(b.len() as u64) as usize;
            let n = dec.read(&mut b[..want]).ctx(|| label.clone())?;
            if n == 0 && want > 0 {
                return Err(Error::msg(format!("{label}: blob ends early")));
            }
            got += n as u64;
            Ok(n)
        };
        let src = Data {
            file,
            at: 0,
            size,
            aligned: align.is_some(),
        };
        reflinked += copy_entry(&mut out, &mut read, &src, try_reflink, &mut buf, bar)?;
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
                        out.header(hdr(&path, tar::Kind::Dir, 0, mode, e.mtime, ""), None)?;
                    }
                }
                Type::Symlink => {
                    check_symlink(&rel, &e.link, &label)?;
                    out.header(
                        hdr(&path, tar::Kind::Symlink, 0, mode, e.mtime, &e.link),
                        None,
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
                        None,
                    )?;
                }
                Type::File => {
                    // Large files' data at the same offset modulo 4 KiB as in the source
                    // blob (a rule on the source's bytes alone, so the layer's digest is the
                    // same wherever the source is read from): reflinkable from a local blob.
                    let align = (e.size >= out.small_max).then_some(e.data_at % tar::ALIGN);
                    out.header(
                        hdr(&path, tar::Kind::File, e.size, mode, e.mtime, ""),
                        align,
                    )?;
                    let src = Data {
                        file,
                        at: e.data_at,
                        size: e.size,
                        aligned: align.is_some(),
                    };
                    let layer = out.layer.to_string();
                    let mut read = |b: &mut [u8]| {
                        tr.read_data(b)
                            .map_err(|x| Error::msg(format!("{layer}: {x}")))
                    };
                    let n = copy_entry(&mut out, &mut read, &src, try_reflink, &mut buf, bar)?;
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
    Ok((out.w.finish()?, reflinked))
}

fn finish(
    job: &Job,
    opts: &Options,
    f: crate::blobwriter::Finished,
    reflinked: u64,
) -> Result<Written> {
    let mut desc = Descriptor::new(layer_media(opts.compress), &f.digest, f.size);
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

/// Where a file's data lies in the source blob.
struct Data<'a> {
    /// The blob file (local, uncompressed), for reflinks.
    file: Option<&'a File>,
    /// Offset of the data in the blob.
    at: u64,
    size: u64,
    /// The header put the data at `at` modulo [`tar::ALIGN`] in the new blob.
    aligned: bool,
}

/// Copies one file's data (read through `read`, which hashes the source). The whole 4 KiB
/// blocks of the source blob within it are reflinked where the filesystem can; they are
/// still read, for both digests, but not written.
fn copy_entry(
    out: &mut Out,
    read: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
    d: &Data,
    try_reflink: &AtomicBool,
    buf: &mut [u8],
    bar: &ProgressBar,
) -> Result<u64> {
    let block = tar::ALIGN;
    // [lo, hi): the bytes of the file that are whole blocks of the source blob.
    let lo = (block - d.at % block) % block;
    let mut hi = if d.size > lo {
        lo + (d.size - lo) / block * block
    } else {
        lo
    };
    let can = d.file.is_some()
        && d.aligned
        && hi > lo
        && out.w.is_plain()
        && try_reflink.load(Ordering::Relaxed);
    if !can {
        hi = lo;
    }
    let mut cloned = 0u64;
    let mut off = 0u64;
    loop {
        cleanup::check()?;
        let n = read(buf)?;
        if n == 0 {
            break;
        }
        let mut i = 0usize;
        while i < n {
            let abs = off + i as u64;
            if abs == lo && hi > lo && cloned == 0 {
                // The new blob's end is now at a block boundary, as the source's data is.
                let f = d.file.expect("checked above");
                cloned = out.w.clone_range(f, d.at + lo, hi - lo)?;
                if cloned == 0 {
                    try_reflink.store(false, Ordering::Relaxed);
                }
                hi = lo + cloned;
            }
            let end = if abs < lo {
                lo
            } else if abs < hi {
                hi
            } else {
                u64::MAX
            };
            let j = (end - off).min(n as u64) as usize;
            if abs >= lo && abs < hi {
                out.w.put_cloned(&buf[i..j]);
            } else {
                out.w.put_data(&buf[i..j])?;
            }
            i = j;
        }
        off += n as u64;
        bar.inc(n as u64);
    }
    if off != d.size {
        return Err(Error::msg(format!(
            "{}: a file's data ends early",
            out.layer
        )));
    }
    out.w.put(&vec![0; tar::padding(d.size)])?;
    Ok(cloned)
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
