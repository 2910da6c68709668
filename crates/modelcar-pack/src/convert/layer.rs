//! One modelcar layer from one source layer: the tar stream rewritten under `models/`, file
//! data copied or reflinked, what could escape refused.

use super::source::{hashing_reader, Piped, Source};
use super::{layer_media, Job, Options};
use crate::blobwriter::BlobWriter;
use crate::cleanup;
use crate::error::{Context, Error, Result};
use crate::formats::Compression;
use crate::kit::{self, Kind};
use crate::layers::Written;
use crate::layout::Layout;
use crate::oci::{self, Descriptor};
use crate::tar::{self, Header};
use crate::tarread::{self, Type};
use indicatif::ProgressBar;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

const BUF: usize = 1 << 20;

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

pub(super) fn hdr<'a>(
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

pub(super) fn convert_layer(
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
