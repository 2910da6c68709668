//! An OCI image layout on disk: blobs written to temp files and renamed into place under
//! their digest, `index.json` replaced last and atomically. Everything this run adds is on
//! the undo list until [`crate::cleanup::commit`].

use crate::cleanup;
use crate::error::{Context, Error, Result};
use crate::oci::{from_json, to_json, Descriptor, Extra, Index, LayoutFile, ANN_REF_NAME};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// `oci:DIR[:TAG]` as given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutRef {
    pub dir: PathBuf,
    pub tag: Option<String>,
}

impl LayoutRef {
    /// Parses `oci:DIR[:TAG]`; `what` names the option in errors. The text after the last
    /// ':' is the tag unless it holds a '/' (then it is part of DIR). `oci:DIR:` is refused.
    pub fn parse(s: &str, what: &str) -> Result<LayoutRef> {
        let rest = s
            .strip_prefix("oci:")
            .ok_or_else(|| Error::msg(format!("{what} must look like oci:DIR[:TAG], got {s:?}")))?;
        let (dir, tag) = match rest.rsplit_once(':') {
            Some((_, t)) if t.contains('/') => (rest, None),
            Some((_, "")) => {
                return Err(Error::msg(format!(
                    "{what} {s:?}: empty tag after ':' (leave the ':' out for \"latest\")"
                )))
            }
            Some((d, t)) => (d, Some(t.to_string())),
            None => (rest, None),
        };
        if dir.is_empty() {
            return Err(Error::msg(format!("{what}: no directory in {s:?}")));
        }
        Ok(LayoutRef {
            dir: PathBuf::from(dir),
            tag,
        })
    }
}

pub struct Layout {
    pub dir: PathBuf,
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl Layout {
    /// Opens an existing layout or makes a new one. Refuses a non-empty folder that is not
    /// an OCI layout.
    pub fn create(dir: &Path) -> Result<Layout> {
        let is_layout = dir.join("oci-layout").is_file();
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::msg(format!(
                    "{}: exists and is not a directory",
                    dir.display()
                )));
            }
            let empty = fs::read_dir(dir)
                .ctx(|| dir.display().to_string())?
                .next()
                .is_none();
            if !empty && !is_layout {
                return Err(Error::msg(format!(
                    "{}: exists, is not empty and is not an OCI layout (no oci-layout file); refusing to write into it",
                    dir.display()
                )));
            }
        }
        let l = Layout {
            dir: dir.to_path_buf(),
        };
        for d in [dir.to_path_buf(), dir.join("blobs"), l.blob_dir()] {
            if !d.exists() {
                fs::create_dir(&d).ctx(|| format!("cannot create {}", d.display()))?;
                cleanup::track_dir(d);
            }
        }
        if !is_layout {
            let p = dir.join("oci-layout");
            cleanup::track_file(p.clone());
            let file = LayoutFile {
                image_layout_version: "1.0.0".to_string(),
                extra: Extra::new(),
            };
            fs::write(&p, to_json(&file)?).ctx(|| p.display().to_string())?;
        }
        Ok(l)
    }

    /// Opens an existing layout for reading.
    pub fn open(dir: &Path) -> Result<Layout> {
        if !dir.join("oci-layout").is_file() || !dir.join("index.json").is_file() {
            return Err(Error::msg(format!(
                "{}: not an OCI image layout (needs oci-layout and index.json)",
                dir.display()
            )));
        }
        Ok(Layout {
            dir: dir.to_path_buf(),
        })
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.dir.join("blobs").join("sha256")
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.blob_dir().join(digest.trim_start_matches("sha256:"))
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_file()
    }

    /// A new temp file next to the blobs (same filesystem: rename and reflink work).
    pub fn temp(&self) -> Result<(File, PathBuf)> {
        let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let p = self
            .blob_dir()
            .join(format!(".modelcar-pack-{}-{n}.tmp", std::process::id()));
        cleanup::track_file(p.clone());
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)
            .ctx(|| format!("cannot create {}", p.display()))?;
        Ok((f, p))
    }

    /// Moves a finished temp file to its digest's name (or drops it if that blob exists).
    pub fn commit_temp(&self, tmp: &Path, digest: &str) -> Result<()> {
        let dst = self.blob_path(digest);
        if dst.exists() {
            fs::remove_file(tmp).ctx(|| tmp.display().to_string())?;
        } else {
            cleanup::track_file(dst.clone());
            fs::rename(tmp, &dst)
                .ctx(|| format!("cannot rename {} to {}", tmp.display(), dst.display()))?;
        }
        cleanup::untrack_file(tmp);
        Ok(())
    }

    /// Writes a small blob (JSON) and returns its descriptor.
    pub fn put_bytes(&self, media_type: &str, bytes: &[u8]) -> Result<Descriptor> {
        let digest = crate::hash::digest(bytes);
        if !self.has_blob(&digest) {
            let (mut f, tmp) = self.temp()?;
            f.write_all(bytes).ctx(|| tmp.display().to_string())?;
            drop(f);
            self.commit_temp(&tmp, &digest)?;
        }
        Ok(Descriptor::new(media_type, &digest, bytes.len() as u64))
    }

    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let p = self.blob_path(digest);
        let b = fs::read(&p).ctx(|| format!("cannot read blob {}", p.display()))?;
        let got = crate::hash::digest(&b);
        if got != digest {
            return Err(Error::msg(format!(
                "{}: content has digest {got}, expected {digest}",
                p.display()
            )));
        }
        Ok(b)
    }

    pub fn read_index(&self) -> Result<Index> {
        let p = self.dir.join("index.json");
        if !p.exists() {
            return Ok(Index::new(Vec::new()));
        }
        let b = fs::read(&p).ctx(|| p.display().to_string())?;
        from_json(&b, &p.display().to_string())
    }

    /// Points `tag` at `desc` in index.json (replacing an older entry with that tag), written
    /// to a temp file, synced, then renamed over the old one.
    pub fn set_tag(&self, tag: &str, desc: &Descriptor) -> Result<()> {
        let mut index = self.read_index()?;
        let mut entry = desc.clone();
        entry
            .annotations
            .insert(ANN_REF_NAME.to_string(), tag.to_string());
        index.manifests.retain(|m| m.ref_name() != Some(tag));
        index.manifests.push(entry);
        let bytes = to_json(&index)?;
        let p = self.dir.join("index.json");
        let tmp = self
            .dir
            .join(format!(".index.json.{}.tmp", std::process::id()));
        cleanup::track_file(tmp.clone());
        let mut f = File::create(&tmp).ctx(|| tmp.display().to_string())?;
        f.write_all(&bytes).ctx(|| tmp.display().to_string())?;
        f.sync_all().ctx(|| tmp.display().to_string())?;
        drop(f);
        // Blobs must be durable before index.json names them.
        if let Ok(d) = File::open(self.blob_dir()) {
            let _ = d.sync_all();
        }
        crate::cleanup::check()?;
        fs::rename(&tmp, &p).ctx(|| format!("cannot replace {}", p.display()))?;
        cleanup::untrack_file(&tmp);
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Finds the descriptor for `tag` (or the only one when `tag` is None) in index.json.
    pub fn resolve(&self, tag: Option<&str>) -> Result<Descriptor> {
        let index = self.read_index()?;
        let found: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|m| tag.is_none() || m.ref_name() == tag)
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::msg(format!(
                "{}: no image tagged {}",
                self.dir.display(),
                tag.unwrap_or("(any)")
            ))),
            _ => Err(Error::msg(format!(
                "{}: holds several images; name one with oci:DIR:TAG",
                self.dir.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LayoutRef;

    fn parse(s: &str) -> Option<(String, Option<String>)> {
        LayoutRef::parse(s, "-o")
            .ok()
            .map(|r| (r.dir.display().to_string(), r.tag))
    }

    #[test]
    fn layout_refs() {
        let some = |d: &str, t: Option<&str>| Some((d.to_string(), t.map(str::to_string)));
        assert_eq!(parse("oci:out"), some("out", None));
        assert_eq!(parse("oci:./out:v1"), some("./out", Some("v1")));
        assert_eq!(parse("oci:/a:b/c"), some("/a:b/c", None));
        assert_eq!(parse("oci:/a:b/c:t"), some("/a:b/c", Some("t")));
        assert_eq!(parse("oci:out:"), None);
        assert_eq!(parse("oci:"), None);
        assert_eq!(parse("oci::v1"), None);
        assert_eq!(parse("out"), None);
    }
}
