//! Where a conversion reads its source: an OCI layout or a registry (manifests, small JSON
//! blobs, layer streams), and the thread that hashes a layer stream while it is converted.

use crate::error::{Context, Error, Result};
use crate::hash::Sha256;
use crate::layout::Layout;
use crate::oci::{Descriptor, MT_INDEX, MT_MANIFEST};
use crate::registry::Client;
use serde_json::Value;
use std::fs::File;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

pub enum Source {
    Layout { layout: Layout, tag: Option<String> },
    Registry(Client),
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
    pub(super) fn json_blob(&self, d: &Descriptor) -> Result<Vec<u8>> {
        let b = match self {
            Source::Layout { layout, .. } => layout.read_blob(&d.digest)?,
            Source::Registry(c) => {
                let mut v = Vec::new();
                crate::http::reader(c.get(&format!("blobs/{}", d.digest), "*/*")?)
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
    pub(super) fn manifest(&self) -> Result<(Vec<u8>, String)> {
        let (bytes, digest) = match self {
            Source::Layout { layout, tag } => {
                let d = layout.resolve(tag.as_deref())?;
                (layout.read_blob(&d.digest)?, d.digest)
            }
            Source::Registry(c) => {
                let accept = format!("{MT_MANIFEST}, {MT_INDEX}");
                let resp = c.get(&format!("manifests/{}", c.reference().tag), &accept)?;
                let mut v = Vec::new();
                crate::http::reader(resp)
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
                    crate::http::reader(c.get(&format!("manifests/{}", d.digest), MT_MANIFEST)?)
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
    pub(super) fn open(&self, d: &Descriptor) -> Result<(Box<dyn Read + Send>, Option<File>)> {
        match self {
            Source::Layout { layout, .. } => {
                let p = layout.blob_path(&d.digest);
                let f = File::open(&p).ctx(|| format!("cannot read blob {}", p.display()))?;
                let g = f.try_clone().ctx(|| p.display().to_string())?;
                Ok((Box::new(f), Some(g)))
            }
            Source::Registry(c) => Ok((
                Box::new(crate::http::reader(
                    c.get(&format!("blobs/{}", d.digest), "*/*")?,
                )),
                None,
            )),
        }
    }
}

/// The reading end of [`hashing_reader`]: chunks another thread read and hashed.
pub(super) struct Piped {
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
pub(super) fn hashing_reader<'s>(
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
