//! Splits the model into layers and writes them: one layer per large file (its data
//! 4 KiB-aligned so it can be reflinked), the small files, symlinks and empty dirs together,
//! the model card (top-level README.md) alone and last. Same files, same digests.

use crate::blobwriter::{BlobWriter, Compress};
use crate::cleanup;
use crate::error::{Context, Error, Result};
use crate::layout::Layout;
use crate::oci::{self, Descriptor};
use crate::tar::{self, Header, Kind};
use crate::walk::{Item, Tree};
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;

/// Above this many single-file layers, the smallest "large" files go to the shared layer
/// (container runtimes cap the layer count of an image at about 127).
pub const MAX_FILE_LAYERS: usize = 100;
const READ_BUF: usize = 4 << 20;

/// Writes every layer, `jobs` at a time (each layer is its own blob, so they are
/// independent; with reflinks packing is bound by SHA-256, which then uses every core).
/// Results come back in plan order (`pool::map_ordered`).
pub fn write_all(
    layout: &Layout,
    plans: &[LayerPlan],
    compress: Compress,
    mtime: u64,
    progress: &ProgressBar,
    jobs: usize,
) -> Result<Vec<Written>> {
    crate::pool::map_ordered(
        plans,
        jobs,
        || Writer::new(layout, compress, mtime, progress),
        |w, p| w.write(p),
    )
}

pub struct LayerPlan {
    pub title: String,
    pub entries: Tree,
    pub modelcard: bool,
    pub align: bool,
}

pub struct Written {
    pub desc: Descriptor,
    pub diff_id: String,
    pub created_by: String,
    pub reflinked: u64,
}

pub fn plan(tree: &Tree, small_max: u64) -> Vec<LayerPlan> {
    let card = match tree.get("README.md") {
        Some(f @ Item::File { .. }) => Some(f.clone()),
        _ => None,
    };
    let mut large: Vec<(&String, &Item)> = tree
        .iter()
        .filter(|(rel, i)| matches!(i, Item::File { size, .. } if *size >= small_max && rel.as_str() != "README.md"))
        .collect();
    if large.len() > MAX_FILE_LAYERS {
        // Largest first; ties by path so the choice is deterministic.
        large.sort_by(|a, b| size_of(b.1).cmp(&size_of(a.1)).then(a.0.cmp(b.0)));
        large.truncate(MAX_FILE_LAYERS);
        large.sort_by(|a, b| a.0.cmp(b.0));
    }
    let own: Vec<&String> = large.iter().map(|(r, _)| *r).collect();
    let mut small = Tree::new();
    for (rel, item) in tree {
        if own.contains(&rel) || (card.is_some() && rel == "README.md") {
            continue;
        }
        small.insert(rel.clone(), item.clone());
    }
    // The shared layer is needed for small files, links and dirs no other layer creates.
    let needed = small.iter().any(|(rel, i)| match i {
        Item::Dir => !tree
            .iter()
            .any(|(r, it)| !matches!(it, Item::Dir) && r.starts_with(&format!("{rel}/"))),
        _ => true,
    });
    let mut plans = Vec::new();
    if needed {
        plans.push(LayerPlan {
            title: "small files".to_string(),
            entries: with_parents(small),
            modelcard: false,
            align: false,
        });
    }
    for (rel, item) in large {
        plans.push(LayerPlan {
            title: rel.clone(),
            entries: with_parents(Tree::from([(rel.clone(), item.clone())])),
            modelcard: false,
            align: true,
        });
    }
    if let Some(c) = card {
        let align = size_of(&c) >= small_max;
        plans.push(LayerPlan {
            title: "README.md".to_string(),
            entries: with_parents(Tree::from([("README.md".to_string(), c)])),
            modelcard: true,
            align,
        });
    }
    plans
}

fn size_of(i: &Item) -> u64 {
    match i {
        Item::File { size, .. } => *size,
        _ => 0,
    }
}

/// Adds every ancestor directory ("" is /models itself).
fn with_parents(mut t: Tree) -> Tree {
    let keys: Vec<String> = t.keys().cloned().collect();
    t.insert(String::new(), Item::Dir);
    for k in keys {
        let mut p = k.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            t.entry(p.to_string()).or_insert(Item::Dir);
        }
    }
    t
}

fn tar_path(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel.is_empty()) {
        (_, true) => prefix.to_string(),
        (true, false) => rel.to_string(),
        (false, false) => format!("{prefix}/{rel}"),
    }
}

pub struct Writer<'a> {
    pub layout: &'a Layout,
    pub compress: Compress,
    pub mtime: u64,
    pub progress: &'a ProgressBar,
    /// Cleared after the first refused clone: the filesystem cannot reflink.
    pub try_reflink: bool,
    /// Where the tree goes in the tar: "models" for a modelcar, "" for ModelKits/ModelPacks.
    pub prefix: &'static str,
    buf: Vec<u8>,
}

impl<'a> Writer<'a> {
    pub fn new(
        layout: &'a Layout,
        compress: Compress,
        mtime: u64,
        progress: &'a ProgressBar,
    ) -> Self {
        Writer {
            layout,
            compress,
            mtime,
            progress,
            try_reflink: true,
            prefix: "models",
            // Only the compressed path reads through this buffer; the plain path has its own.
            buf: Vec::new(),
        }
    }

    pub fn write(&mut self, plan: &LayerPlan) -> Result<Written> {
        let mut w = BlobWriter::new(self.layout, self.compress)?;
        let mut reflinked = 0;
        for (rel, item) in &plan.entries {
            cleanup::check()?;
            if rel.is_empty() && self.prefix.is_empty() {
                continue;
            }
            let path = tar_path(self.prefix, rel);
            let (kind, size, mode, link) = match item {
                Item::Dir => (Kind::Dir, 0, 0o755, ""),
                Item::Symlink { target } => (Kind::Symlink, 0, 0o777, target.as_str()),
                Item::File { size, exec, .. } => {
                    (Kind::File, *size, if *exec { 0o755 } else { 0o644 }, "")
                }
            };
            let h = Header {
                path: &path,
                kind,
                size,
                mode,
                mtime: self.mtime,
                link,
            };
            let align = plan.align && kind == Kind::File;
            w.put(&tar::header_bytes(&h, w.pos, align))?;
            if let Item::File { src, size, .. } = item {
                reflinked += self.copy_file(&mut w, src, *size, align)?;
                w.put(&vec![0; tar::padding(*size)])?;
            }
        }
        let f = w.finish()?;
        self.layout.commit_temp(&f.tmp, &f.digest)?;
        let media = match self.compress {
            Compress::None => oci::MT_LAYER,
            Compress::Gzip => oci::MT_LAYER_GZIP,
            Compress::Zstd => oci::MT_LAYER_ZSTD,
        };
        let mut desc = Descriptor::new(media, &f.digest, f.size);
        desc.annotations = BTreeMap::from([(oci::ANN_TITLE.to_string(), plan.title.clone())]);
        if plan.modelcard {
            desc.annotations
                .insert(oci::ANN_MODELCARD.to_string(), "true".to_string());
        }
        Ok(Written {
            desc,
            diff_id: f.diff_id,
            created_by: format!("modelcar-pack: {} in /models", plan.title),
            reflinked,
        })
    }

    /// Streams one file into the layer: hashed and written in one read, or reflinked and
    /// only read for the hash. Returns the bytes reflinked.
    fn copy_file(
        &mut self,
        w: &mut BlobWriter,
        src: &std::path::Path,
        size: u64,
        aligned: bool,
    ) -> Result<u64> {
        let name = || src.display().to_string();
        let mut f = File::open(src).ctx(name)?;
        let meta = f.metadata().ctx(name)?;
        if !meta.is_file() || meta.len() != size {
            return Err(Error::msg(format!(
                "{}: changed while packing",
                src.display()
            )));
        }
        // SAFETY: advisory only, on an open fd.
        unsafe {
            libc::posix_fadvise(
                std::os::unix::io::AsRawFd::as_raw_fd(&f),
                0,
                0,
                libc::POSIX_FADV_SEQUENTIAL,
            );
        }
        let mut cloned = 0;
        let block = tar::ALIGN;
        if aligned && self.try_reflink && w.is_plain() && size >= block && meta.blksize() <= block {
            cloned = w.clone_from(&f, size / block * block)?;
            if cloned == 0 {
                self.try_reflink = false;
            }
        }
        let bar = self.progress;
        let before = (meta.mtime(), meta.mtime_nsec(), meta.ctime_nsec());
        if !w.copy_plain(&f, size, cloned, &|n| bar.inc(n))? {
            // Compressed: one reader, through the encoder.
            self.buf.resize(READ_BUF, 0);
            let mut off = 0u64;
            while off < size {
                cleanup::check()?;
                let want = (size - off).min(self.buf.len() as u64) as usize;
                let n = f.read(&mut self.buf[..want]).ctx(name)?;
                if n == 0 {
                    return Err(Error::msg(format!(
                        "{}: shrank while packing",
                        src.display()
                    )));
                }
                w.put_data(&self.buf[..n])?;
                off += n as u64;
                self.progress.inc(n as u64);
            }
        }
        // Reflinked blocks were cloned before they were read for the hash: a file written
        // meanwhile would make the digest lie, so refuse it.
        let after = f.metadata().ctx(name)?;
        if after.len() != size || (after.mtime(), after.mtime_nsec(), after.ctime_nsec()) != before
        {
            return Err(Error::msg(format!(
                "{}: changed while packing",
                src.display()
            )));
        }
        Ok(cloned)
    }
}
