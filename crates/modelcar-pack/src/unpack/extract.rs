//! One layer: the blob streamed once through SHA-256 and the decompressor into a tar reader,
//! entries under `models/` written below a per-layer folder. Anything that could write
//! outside it is refused: absolute names, `..`, links leaving the tree, paths through a
//! symlink, devices, FIFOs. The digest and size are checked when the stream ends, so a
//! layer that does not match fails the unpack.

use crate::cleanup;
use crate::error::{Context, Error, Result};
use crate::hash::Sha256;
use std::fs::{self, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Layer media types we can read; anything else is refused.
pub fn compression(media_type: &str) -> Option<Compression> {
    match media_type {
        // The Docker one is what `skopeo copy --format v2s2` writes for an uncompressed layer.
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// What a layer asks to remove from the layers below it (OCI whiteouts).
#[derive(Default, Debug)]
pub struct Whiteouts {
    /// Paths (relative to DEST) to delete.
    pub delete: Vec<PathBuf>,
    /// Directories whose lower contents are hidden.
    pub opaque: Vec<PathBuf>,
}

#[derive(Default, Debug)]
pub struct Extracted {
    pub files: u64,
    pub bytes: u64,
    pub whiteouts: Whiteouts,
    /// Some entry sat under models/ (a layer without any is legal: the base's own).
    pub any_model: bool,
}

/// Counts and hashes what passes; stops on a signal or when another layer failed.
pub struct HashReader<'a, R> {
    inner: R,
    hash: Sha256,
    n: u64,
    progress: &'a AtomicU64,
    abort: &'a AtomicBool,
}

impl<'a, R> HashReader<'a, R> {
    /// Reads `body`, counting into `layer`'s progress and stopping on its abort flag.
    fn new(body: R, layer: &Layer<'a>) -> Self {
        HashReader {
            inner: body,
            hash: Sha256::new(),
            n: 0,
            progress: layer.progress,
            abort: layer.abort,
        }
    }
}

impl<R: Read> Read for HashReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if cleanup::check().is_err() || self.abort.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        let k = self.inner.read(buf)?;
        self.hash.update(&buf[..k]);
        self.n += k as u64;
        self.progress.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

pub struct Layer<'a> {
    pub digest: &'a str,
    pub size: u64,
    pub compression: Compression,
    /// The layer's own folder (created here).
    pub root: &'a Path,
    /// Only entries below this prefix are written (`models/` for a modelcar, "" for all).
    pub prefix: &'a str,
    pub progress: &'a AtomicU64,
    pub abort: &'a AtomicBool,
}

/// Streams `body` into `layer.root`.
pub fn layer(body: Box<dyn Read + Send>, layer: &Layer) -> Result<Extracted> {
    let mut hr = HashReader::new(body, layer);
    fs::create_dir_all(layer.root).ctx(|| format!("cannot create {}", layer.root.display()))?;
    let res = {
        let buf = BufReader::with_capacity(1 << 20, &mut hr);
        let dec: Box<dyn Read + '_> = match layer.compression {
            Compression::None => Box::new(buf),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(buf)
                    .ctx(|| format!("layer {}: zstd", layer.digest))?,
            ),
        };
        let mut ar = ::tar::Archive::new(dec);
        entries(&mut ar, layer).and_then(|x| {
            // The rest (tar's end blocks, the gzip trailer) is part of the digest.
            std::io::copy(&mut ar.into_inner(), &mut std::io::sink())
                .ctx(|| format!("layer {}", layer.digest))?;
            Ok(x)
        })
    };
    cleanup::check()?;
    let drained = std::io::copy(&mut hr, &mut std::io::sink());
    let (n, got) = (hr.n, hr.hash.finish());
    // A digest or size mismatch explains a broken tar better than the tar error does.
    if drained.is_ok() && (got != layer.digest || n != layer.size) {
        return Err(Error::msg(format!(
            "layer {}: digest mismatch: got {got} ({n} bytes, expected {}); nothing was unpacked",
            layer.digest, layer.size
        )));
    }
    let x = res?;
    drained.ctx(|| format!("layer {}", layer.digest))?;
    Ok(x)
}

/// A ModelPack `.raw` layer: the blob is the file itself, written at `rel` below `root`.
pub fn raw_file(body: Box<dyn Read + Send>, layer: &Layer, rel: &str) -> Result<Extracted> {
    let relp = relative(rel.as_bytes(), "", layer.digest)?.unwrap_or_default();
    if relp.as_os_str().is_empty() {
        return Err(Error::msg(format!(
            "layer {}: raw file without a path",
            layer.digest
        )));
    }
    let mut hr = HashReader::new(body, layer);
    let dst = layer.root.join(&relp);
    if let Some(p) = dst.parent() {
        fs::create_dir_all(p).ctx(|| format!("cannot create {}", p.display()))?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&dst)
        .ctx(|| format!("cannot create {}", dst.display()))?;
    let n = copy(&mut hr, &mut f).map_err(|e| match cleanup::check() {
        Err(i) => i,
        Ok(()) => Error::msg(format!("layer {}: {e}", layer.digest)),
    })?;
    let got = hr.hash.finish();
    if got != layer.digest || n != layer.size {
        return Err(Error::msg(format!(
            "layer {}: digest mismatch: got {got} ({n} bytes, expected {}); nothing was unpacked",
            layer.digest, layer.size
        )));
    }
    Ok(Extracted {
        files: 1,
        bytes: n,
        any_model: true,
        ..Default::default()
    })
}

/// What a file's bytes are written in (the registry client's receive buffer's size: README).
/// Larger writes save few system calls and their bytes leave the CPU cache: with 1 MiB
/// (and 1 MiB recvs) unpack took twice the system time.
const WRITE_BUFFER: usize = 128 << 10;

/// Reads until `buf` is full or `r` ends: one write per buffer rather than one per read,
/// which can be as small as what one recv brought in.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Copies `r` to `w` a full buffer at a time (see [`fill`]).
fn copy(r: &mut impl Read, w: &mut impl Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; WRITE_BUFFER];
    let mut n = 0;
    loop {
        let k = fill(r, &mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
}

/// The entry's path relative to the prefix, or None when it lies outside. Refuses absolute
/// paths and `..` anywhere.
fn relative(name: &[u8], prefix: &str, digest: &str) -> Result<Option<PathBuf>> {
    let s = String::from_utf8_lossy(name);
    let refuse = |why: &str| {
        Error::msg(format!(
            "layer {digest}: refused entry {s:?}: {why}; nothing was unpacked"
        ))
    };
    if s.starts_with('/') {
        return Err(refuse("absolute path"));
    }
    let mut parts = Vec::new();
    for c in Path::new(&*s).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("path contains '..'")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("absolute path")),
        }
    }
    let p: PathBuf = parts.iter().collect();
    if prefix.is_empty() {
        return Ok(Some(p));
    }
    match p.strip_prefix(prefix.trim_end_matches('/')) {
        Ok(r) => Ok(Some(r.to_path_buf())),
        Err(_) => Ok(None),
    }
}

/// Refuses a path whose parent folders include a symlink (it would write through it).
fn no_symlink_parents(root: &Path, rel: &Path, what: &dyn Fn(&str) -> Error) -> Result<()> {
    let mut p = root.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        p.push(c);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(what("its path goes through a symlink"))
            }
            Ok(m) if !m.is_dir() => return Err(what("a parent is not a directory")),
            _ => {}
        }
    }
    Ok(())
}

/// Lexically resolves a symlink target from the link's folder; None if it leaves the tree.
fn inside(link_rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
    if let Some(parent) = link_rel.parent() {
        for c in parent.components() {
            if let Component::Normal(p) = c {
                depth.push(p);
            }
        }
    }
    for c in target.components() {
        match c {
            Component::Normal(p) => depth.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

fn remove_existing(p: &Path) {
    if let Ok(m) = fs::symlink_metadata(p) {
        if m.is_dir() {
            let _ = fs::remove_dir_all(p);
        } else {
            let _ = fs::remove_file(p);
        }
    }
}

fn entries<R: Read>(ar: &mut ::tar::Archive<R>, layer: &Layer) -> Result<Extracted> {
    let digest = layer.digest;
    let tar_err = |e: std::io::Error| {
        if let Err(i) = cleanup::check() {
            return i;
        }
        Error::msg(format!("layer {digest}: not a readable tar: {e}"))
    };
    let mut out = Extracted::default();
    let mut buf = vec![0u8; WRITE_BUFFER];
    for entry in ar.entries().map_err(tar_err)? {
        let mut e = entry.map_err(tar_err)?;
        let name = e.path_bytes().into_owned();
        let Some(rel) = relative(&name, layer.prefix, digest)? else {
            continue;
        };
        let shown = String::from_utf8_lossy(&name).into_owned();
        let refuse = |why: &str| {
            Error::msg(format!(
                "layer {digest}: refused entry {shown:?}: {why}; nothing was unpacked"
            ))
        };
        out.any_model = true;
        if rel.as_os_str().is_empty() {
            continue; // models/ itself
        }
        let fname = rel
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(hidden) = fname.strip_prefix(".wh.") {
            let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
            if hidden == ".wh..opq" {
                out.whiteouts.opaque.push(dir);
            } else if !hidden.is_empty() {
                out.whiteouts.delete.push(dir.join(hidden));
            }
            continue;
        }
        no_symlink_parents(layer.root, &rel, &refuse)?;
        let dst = layer.root.join(&rel);
        if let Some(p) = dst.parent() {
            fs::create_dir_all(p).ctx(|| format!("cannot create {}", p.display()))?;
        }
        let mode = e.header().mode().unwrap_or(0o644);
        match e.header().entry_type() {
            ::tar::EntryType::Regular
            | ::tar::EntryType::Continuous
            | ::tar::EntryType::GNUSparse => {
                if e.header().entry_type() == ::tar::EntryType::GNUSparse {
                    return Err(refuse("GNU sparse files are not supported"));
                }
                remove_existing(&dst);
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    // Group/other write and special bits dropped, the owner can always read
                    // and write (as Python's tarfile "data" filter does).
                    .mode((mode & 0o755) | 0o600)
                    .open(&dst)
                    .ctx(|| format!("cannot create {}", dst.display()))?;
                loop {
                    let k = fill(&mut e, &mut buf).map_err(tar_err)?;
                    if k == 0 {
                        break;
                    }
                    f.write_all(&buf[..k])
                        .ctx(|| format!("cannot write {}", dst.display()))?;
                    out.bytes += k as u64;
                }
                out.files += 1;
            }
            ::tar::EntryType::Directory => {
                match fs::symlink_metadata(&dst) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        remove_existing(&dst);
                        fs::create_dir(&dst).ctx(|| format!("cannot create {}", dst.display()))?;
                    }
                    Err(_) => {
                        fs::create_dir(&dst).ctx(|| format!("cannot create {}", dst.display()))?
                    }
                }
                fs::set_permissions(&dst, fs::Permissions::from_mode((mode & 0o755) | 0o700))
                    .ctx(|| dst.display().to_string())?;
            }
            ::tar::EntryType::Symlink => {
                let target = e
                    .link_name()
                    .map_err(tar_err)?
                    .ok_or_else(|| refuse("symlink without a target"))?
                    .into_owned();
                if !inside(&rel, &target) {
                    return Err(refuse(&format!(
                        "symlink to {} leaves the destination",
                        target.display()
                    )));
                }
                remove_existing(&dst);
                std::os::unix::fs::symlink(&target, &dst)
                    .ctx(|| format!("cannot create symlink {}", dst.display()))?;
                out.files += 1;
            }
            ::tar::EntryType::Link => {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| refuse("hardlink without a target"))?
                    .into_owned();
                let trel = relative(&target, layer.prefix, digest)?.ok_or_else(|| {
                    refuse(&format!(
                        "hardlink to {} leaves the destination",
                        String::from_utf8_lossy(&target)
                    ))
                })?;
                no_symlink_parents(layer.root, &trel, &refuse)?;
                let src = layer.root.join(&trel);
                match fs::symlink_metadata(&src) {
                    Ok(m) if m.is_file() => {}
                    _ => {
                        return Err(refuse(
                            "hardlink to a file that is not earlier in the same layer",
                        ))
                    }
                }
                remove_existing(&dst);
                fs::hard_link(&src, &dst)
                    .ctx(|| format!("cannot create hardlink {}", dst.display()))?;
                out.files += 1;
            }
            ::tar::EntryType::Char => return Err(refuse("character device")),
            ::tar::EntryType::Block => return Err(refuse("block device")),
            ::tar::EntryType::Fifo => return Err(refuse("FIFO")),
            // PAX/GNU long-name records are consumed by the tar crate; anything else is unknown.
            other => return Err(refuse(&format!("unsupported tar entry type {other:?}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network body: a few bytes per read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let k = self.0.len().min(buf.len()).min(7);
            buf[..k].copy_from_slice(&self.0[..k]);
            self.0 = &self.0[k..];
            Ok(k)
        }
    }

    /// Counts the writes it gets.
    #[derive(Default)]
    struct Writes(Vec<usize>, Vec<u8>);

    impl Write for Writes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.push(b.len());
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_are_whole_buffers() {
        let size = 2 * WRITE_BUFFER + WRITE_BUFFER / 2;
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut w = Writes::default();
        let n = copy(&mut Trickle(&data), &mut w).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(w.1, data);
        assert_eq!(w.0, [WRITE_BUFFER, WRITE_BUFFER, WRITE_BUFFER / 2]);
    }

    #[test]
    fn docker_uncompressed_layers() {
        assert_eq!(
            compression("application/vnd.docker.image.rootfs.diff.tar"),
            Some(Compression::None)
        );
        assert_eq!(
            compression("application/vnd.docker.image.rootfs.diff.tar+x"),
            None
        );
    }

    #[test]
    fn paths() {
        let d = "sha256:x";
        assert_eq!(
            relative(b"./models/a/b", "models/", d).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(
            relative(b"models", "models/", d).unwrap(),
            Some(PathBuf::new())
        );
        assert_eq!(relative(b"etc/passwd", "models/", d).unwrap(), None);
        assert_eq!(relative(b"modelsx/a", "models/", d).unwrap(), None);
        assert!(relative(b"/models/a", "models/", d).is_err());
        assert!(relative(b"models/../etc", "models/", d).is_err());
        assert!(relative(b"x/../../etc", "models/", d).is_err());
    }

    #[test]
    fn symlink_targets() {
        assert!(inside(Path::new("a/b"), Path::new("../c")));
        assert!(inside(Path::new("a/b"), Path::new("c/./d")));
        assert!(!inside(Path::new("a/b"), Path::new("../../c")));
        assert!(!inside(Path::new("b"), Path::new("../models/x")));
        assert!(!inside(Path::new("a"), Path::new("/etc/passwd")));
    }

    #[test]
    fn media_types() {
        assert_eq!(
            compression("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            compression("application/vnd.oci.image.config.v1+json"),
            None
        );
    }
}
