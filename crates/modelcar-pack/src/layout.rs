//! An OCI image layout on disk: reading it, and (through [`crate::run::Run`], which keeps
//! runs that share a layout apart) writing blobs to temp files renamed into place under
//! their digest, `index.json` replaced last and atomically.

use crate::error::{Context, Error, Result};
use crate::oci::{
    from_json, to_json, Descriptor, Index, ANN_REF_NAME, DOCKER_LIST, MT_INDEX, MT_MANIFEST,
};
use crate::run::{Run, TEMP_BLOB_PREFIX, TEMP_INDEX_PREFIX};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Set for a layout this run writes.
    run: Option<Arc<Run>>,
}

impl Layout {
    /// Opens an existing layout or makes a new one, for writing. Refuses a non-empty folder
    /// that is not an OCI layout.
    pub fn create(dir: &Path) -> Result<Layout> {
        Ok(Layout {
            dir: dir.to_path_buf(),
            run: Some(Run::start(dir)?),
        })
    }

    /// Opens an existing layout for reading.
    pub fn open(dir: &Path) -> Result<Layout> {
        if !dir.join("oci-layout").is_file() || !dir.join("index.json").is_file() {
            return Err(Error::msg(format!(
                "{}: not an OCI image layout (needs oci-layout and index.json)",
                dir.display()
            )));
        }
        Ok(Layout::open_any(dir))
    }

    /// A layout, or what there is of one, for reading; nothing is checked.
    pub fn open_any(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
            run: None,
        }
    }

    fn run(&self) -> Result<&Run> {
        self.run.as_deref().ok_or_else(|| {
            Error::msg(format!(
                "{}: opened for reading, not writing",
                self.dir.display()
            ))
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
        self.run()?.temp(&self.blob_dir(), TEMP_BLOB_PREFIX)
    }

    /// Moves a finished temp file to its digest's name (or drops it if that blob exists).
    pub fn commit_temp(&self, tmp: &Path, digest: &str) -> Result<()> {
        let run = self.run()?;
        let dst = self.blob_path(digest);
        if dst.exists() {
            fs::remove_file(tmp).ctx(|| tmp.display().to_string())?;
        } else {
            run.journal(digest)?;
            fs::rename(tmp, &dst)
                .ctx(|| format!("cannot rename {} to {}", tmp.display(), dst.display()))?;
        }
        run.forget_temp(tmp);
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

    /// Points `tag` at `desc` in index.json (replacing an older entry with that tag), under
    /// the index lock: written to a temp file, synced, then renamed over the old one.
    pub fn set_tag(&self, tag: &str, desc: &Descriptor) -> Result<()> {
        let run = self.run()?;
        run.with_index_lock(|| {
            let mut index = self.read_index()?;
            let mut entry = desc.clone();
            entry
                .annotations
                .insert(ANN_REF_NAME.to_string(), tag.to_string());
            index.manifests.retain(|m| m.ref_name() != Some(tag));
            index.manifests.push(entry);
            let bytes = to_json(&index)?;
            let p = self.dir.join("index.json");
            let (mut f, tmp) = run.temp(&self.dir, TEMP_INDEX_PREFIX)?;
            f.write_all(&bytes).ctx(|| tmp.display().to_string())?;
            f.sync_all().ctx(|| tmp.display().to_string())?;
            drop(f);
            // Blobs must be durable before index.json names them.
            if let Ok(d) = File::open(self.blob_dir()) {
                let _ = d.sync_all();
            }
            crate::cleanup::check()?;
            fs::rename(&tmp, &p).ctx(|| format!("cannot replace {}", p.display()))?;
            run.forget_temp(&tmp);
            if let Ok(d) = File::open(&self.dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })
    }

    /// Every blob digest that a tag in index.json uses, through indexes and manifests.
    /// A missing blob is skipped (its tag is broken already); one that is there but cannot
    /// be parsed is an error, since what it uses is then unknown.
    pub fn reachable(&self) -> Result<BTreeSet<String>> {
        /// The descriptors any index or manifest (OCI or Docker) can point to.
        #[derive(Deserialize)]
        struct Refs {
            #[serde(default)]
            manifests: Vec<Descriptor>,
            config: Option<Descriptor>,
            #[serde(default)]
            layers: Vec<Descriptor>,
            #[serde(default)]
            blobs: Vec<Descriptor>,
            subject: Option<Descriptor>,
        }
        const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
        const ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";
        let mut todo = self.read_index()?.manifests;
        let mut seen = BTreeSet::new();
        while let Some(d) = todo.pop() {
            if !seen.insert(d.digest.clone()) {
                continue;
            }
            let t = d.media_type.as_str();
            if ![
                MT_INDEX,
                MT_MANIFEST,
                DOCKER_LIST,
                DOCKER_MANIFEST,
                ARTIFACT_MANIFEST,
            ]
            .contains(&t)
            {
                continue;
            }
            let p = self.blob_path(&d.digest);
            let bytes = match fs::read(&p) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).ctx(|| format!("cannot read {}", p.display())),
            };
            let r: Refs = from_json(&bytes, &d.digest)?;
            todo.extend(r.manifests);
            todo.extend(r.config);
            todo.extend(r.layers);
            todo.extend(r.blobs);
            todo.extend(r.subject);
        }
        Ok(seen)
    }

    /// Finds the descriptor for `tag` (or the only image when `tag` is None) in index.json.
    /// Without a tag, signatures and attestations (cosign's `sha256-<hex>.sig`, `.att`,
    /// `.sbom`, and the referrers tag `sha256-<hex>`) are not images to choose from, so
    /// `sign` does not make `oci:DIR` ambiguous.
    pub fn resolve(&self, tag: Option<&str>) -> Result<Descriptor> {
        let index = self.read_index()?;
        let found: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|m| match tag {
                Some(_) => m.ref_name() == tag,
                None => !m.ref_name().is_some_and(is_attachment_tag),
            })
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

/// cosign's tags for what it attaches to `sha256:<hex>`.
fn is_attachment_tag(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("sha256-") else {
        return false;
    };
    let hex = rest.split_once('.').map_or(rest, |(h, _)| h);
    let suffix_ok = matches!(&rest[hex.len()..], "" | ".sig" | ".att" | ".sbom");
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && suffix_ok
}

#[cfg(test)]
mod tests {
    use super::LayoutRef;

    #[test]
    fn attachment_tags() {
        let h = "a".repeat(64);
        for t in [
            format!("sha256-{h}.sig"),
            format!("sha256-{h}.att"),
            format!("sha256-{h}"),
        ] {
            assert!(super::is_attachment_tag(&t), "{t}");
        }
        for t in ["v1", "sha256-abc.sig", &format!("sha256-{h}.tar")] {
            assert!(!super::is_attachment_tag(t), "{t}");
        }
    }

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
