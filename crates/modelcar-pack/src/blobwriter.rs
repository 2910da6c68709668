//! Writes one layer blob in a single pass: the tar stream is hashed (diff_id) as it goes,
//! then written plain (with holes for all-zero runs and reflinked ranges) or compressed
//! (hashed again for the blob digest). Memory is one fixed buffer, whatever the file size.

use crate::cleanup;
use crate::error::{Context, Result};
use crate::hash::Sha256;
use crate::layout::Layout;
use crate::reflink;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Compress {
    None,
    Gzip,
    Zstd,
}

/// Writes pending small pieces once this much is buffered.
const BUF_CAP: usize = 1 << 20;
/// Reflink in steps so a signal is noticed between them.
const CLONE_STEP: u64 = 1 << 30;
/// Buffers in flight between the read/write thread and the hash thread. Small buffers stay
/// in the CPU cache between the read and the write copy: 4 MiB ones cost 3x the system time.
const PIPE_BUFS: usize = 16;
const PIPE_BUF: usize = 256 << 10;

/// Hashes and counts what goes through it (the compressed blob).
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    n: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hash.update(&b[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Sink = Hashing<BufWriter<File>>;

enum Enc {
    Plain { file: File, buf: Vec<u8>, at: u64 },
    Gzip(flate2::write::GzEncoder<Sink>),
    Zstd(zstd::Encoder<'static, Sink>),
}

pub struct BlobWriter {
    tmp: PathBuf,
    diff: Sha256,
    /// Bytes of the (uncompressed) tar stream so far.
    pub pos: u64,
    enc: Enc,
}

pub struct Finished {
    pub tmp: PathBuf,
    pub digest: String,
    pub diff_id: String,
    pub size: u64,
}

impl BlobWriter {
    pub fn new(layout: &Layout, compress: Compress) -> Result<BlobWriter> {
        let (file, tmp) = layout.temp()?;
        let sink = |file: File| Hashing {
            inner: BufWriter::with_capacity(BUF_CAP, file),
            hash: Sha256::new(),
            n: 0,
        };
        let enc = match compress {
            Compress::None => Enc::Plain {
                file,
                buf: Vec::with_capacity(BUF_CAP),
                at: 0,
            },
            // Level 1: model weights barely compress; speed matters more.
            Compress::Gzip => Enc::Gzip(flate2::write::GzEncoder::new(
                sink(file),
                flate2::Compression::fast(),
            )),
            Compress::Zstd => {
                Enc::Zstd(zstd::Encoder::new(sink(file), 3).ctx(|| "zstd".to_string())?)
            }
        };
        Ok(BlobWriter {
            tmp,
            diff: Sha256::new(),
            pos: 0,
            enc,
        })
    }

    pub fn is_plain(&self) -> bool {
        matches!(self.enc, Enc::Plain { .. })
    }

    fn io(&self) -> impl FnOnce() -> String + '_ {
        || format!("cannot write {}", self.tmp.display())
    }

    /// Appends tar bytes.
    pub fn put(&mut self, data: &[u8]) -> Result<()> {
        self.diff.update(data);
        self.pos += data.len() as u64;
        let r = match &mut self.enc {
            Enc::Plain { file, buf, at } => put_plain(file, buf, at, data),
            Enc::Gzip(e) => e.write_all(data),
            Enc::Zstd(e) => e.write_all(data),
        };
        let what = self.io();
        r.ctx(what)
    }

    /// Appends file data; an all-zero chunk becomes a hole in a plain blob (sparse files
    /// stay sparse, and zeros cost no disk writes).
    pub fn put_data(&mut self, data: &[u8]) -> Result<()> {
        if let Enc::Plain { file, buf, at } = &mut self.enc {
            if data.len() >= 4096 && is_zero(data) {
                let r = flush_plain(file, buf, at);
                let what = || format!("cannot write {}", self.tmp.display());
                r.ctx(what)?;
                self.diff.update(data);
                self.pos += data.len() as u64;
                *at += data.len() as u64;
                return Ok(());
            }
        }
        self.put(data)
    }

    /// Reflinks `len` bytes of `src` (from offset 0) to the current end of a plain blob.
    /// Returns how many bytes were cloned (0 if the filesystem cannot); pass that to
    /// [`Self::copy_plain`], which then only hashes them.
    pub fn clone_from(&mut self, src: &File, len: u64) -> Result<u64> {
        self.clone_range(src, 0, len)
    }

    /// As [`Self::clone_from`], from `src_off` of `src` (a multiple of the block size).
    /// The caller then passes the cloned bytes to [`Self::put_cloned`].
    pub fn clone_range(&mut self, src: &File, src_off: u64, len: u64) -> Result<u64> {
        let Enc::Plain { file, buf, at } = &mut self.enc else {
            return Ok(0);
        };
        let r = flush_plain(file, buf, at);
        let what = || format!("cannot write {}", self.tmp.display());
        r.ctx(what)?;
        let mut done = 0;
        while done < len {
            cleanup::check()?;
            let step = CLONE_STEP.min(len - done);
            if reflink::clone_range(src, src_off + done, step, file, *at + done).is_err() {
                break;
            }
            done += step;
        }
        Ok(done)
    }

    /// Data that [`Self::clone_range`] already put in place: hashed and counted, not written.
    pub fn put_cloned(&mut self, data: &[u8]) {
        self.diff.update(data);
        self.pos += data.len() as u64;
        if let Enc::Plain { at, .. } = &mut self.enc {
            *at += data.len() as u64;
        }
    }

    /// File data of a plain blob, in two threads: this one reads each chunk once and writes
    /// it (or leaves a hole for zeros, or nothing where `cloned` bytes were reflinked), the
    /// other hashes the same buffer meanwhile. A few fixed buffers go round, so memory stays
    /// flat. Returns Ok(false) for a compressed blob (the caller streams through `put`).
    pub fn copy_plain(
        &mut self,
        src: &File,
        size: u64,
        cloned: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<bool> {
        let Enc::Plain { file, buf, at } = &mut self.enc else {
            return Ok(false);
        };
        let tmp = &self.tmp;
        flush_plain(file, buf, at).ctx(|| format!("cannot write {}", tmp.display()))?;
        let start = *at;
        let file: &File = file;
        let diff = std::mem::replace(&mut self.diff, Sha256::new());
        let (diff, result) = std::thread::scope(|s| {
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(PIPE_BUFS);
            let (free_tx, free_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIPE_BUFS);
            for _ in 0..PIPE_BUFS {
                // Cannot fail: the channel holds PIPE_BUFS and its receiver is alive.
                let _ = free_tx.send(vec![0u8; PIPE_BUF]);
            }
            let hasher = s.spawn(move || {
                let mut diff = diff;
                for (b, n) in full_rx {
                    diff.update(&b[..n]);
                    let _ = free_tx.send(b);
                }
                diff
            });
            let run = || -> Result<()> {
                let mut off = 0u64;
                while off < size {
                    cleanup::check()?;
                    let mut b = free_rx
                        .recv()
                        .map_err(|_| crate::error::Error::msg("hash thread ended"))?;
                    let want = (size - off).min(PIPE_BUF as u64) as usize;
                    let n = src
                        .read_at(&mut b[..want], off)
                        .ctx(|| "cannot read the model file".to_string())?;
                    if n == 0 {
                        return Err(crate::error::Error::msg(
                            "a model file shrank while packing",
                        ));
                    }
                    let skip = cloned.saturating_sub(off).min(n as u64) as usize;
                    let rest = &b[skip..n];
                    if !rest.is_empty() && !is_zero(rest) {
                        file.write_all_at(rest, start + off + skip as u64)
                            .ctx(|| format!("cannot write {}", tmp.display()))?;
                    }
                    progress(n as u64);
                    off += n as u64;
                    full_tx
                        .send((b, n))
                        .map_err(|_| crate::error::Error::msg("hash thread ended"))?;
                }
                Ok(())
            };
            let result = run();
            drop(full_tx);
            (hasher.join(), result)
        });
        result?;
        self.diff = diff.map_err(|_| crate::error::Error::msg("the hash thread failed"))?;
        if let Enc::Plain { at, .. } = &mut self.enc {
            *at = start + size;
        }
        self.pos += size;
        Ok(true)
    }

    pub fn finish(mut self) -> Result<Finished> {
        self.put(&crate::tar::TRAILER)?;
        let diff_id = self.diff.finish();
        let tmp = self.tmp.clone();
        let what = || format!("cannot write {}", tmp.display());
        let (digest, size) = match self.enc {
            Enc::Plain {
                file,
                mut buf,
                mut at,
            } => {
                flush_plain(&file, &mut buf, &mut at).ctx(what)?;
                // A trailing hole must still count in the size.
                file.set_len(at).ctx(what)?;
                (diff_id.clone(), at)
            }
            Enc::Gzip(e) => finish_sink(e.finish().ctx(what)?).ctx(what)?,
            Enc::Zstd(e) => finish_sink(e.finish().ctx(what)?).ctx(what)?,
        };
        Ok(Finished {
            tmp,
            digest,
            diff_id,
            size,
        })
    }
}

fn finish_sink(mut s: Sink) -> io::Result<(String, u64)> {
    s.flush()?;
    Ok((s.hash.finish(), s.n))
}

fn put_plain(file: &File, buf: &mut Vec<u8>, at: &mut u64, data: &[u8]) -> io::Result<()> {
    if buf.len() + data.len() > BUF_CAP {
        flush_plain(file, buf, at)?;
    }
    if data.len() >= BUF_CAP {
        file.write_all_at(data, *at)?;
        *at += data.len() as u64;
    } else {
        buf.extend_from_slice(data);
    }
    Ok(())
}

fn flush_plain(file: &File, buf: &mut Vec<u8>, at: &mut u64) -> io::Result<()> {
    if !buf.is_empty() {
        file.write_all_at(buf, *at)?;
        *at += buf.len() as u64;
        buf.clear();
    }
    Ok(())
}

fn is_zero(data: &[u8]) -> bool {
    // SAFETY: u128 has no invalid bit patterns; align_to only reinterprets the middle part.
    let (head, mid, tail) = unsafe { data.align_to::<u128>() };
    head.iter().all(|&b| b == 0) && tail.iter().all(|&b| b == 0) && mid.iter().all(|&w| w == 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn zero_detection() {
        let mut v = vec![0u8; 10_000];
        assert!(super::is_zero(&v[3..]));
        v[9_999] = 1;
        assert!(!super::is_zero(&v[3..]));
    }
}
