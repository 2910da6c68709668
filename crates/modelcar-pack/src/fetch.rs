//! Reading images: a pull-only registry client (manifests and blobs, streamed) and an OCI
//! layout on disk, behind one [`Source`]. Push lives in `registry.rs`; this side asks for
//! `pull` scope only, so read-only credentials (a KServe pull secret) are enough.

use crate::challenge::{self, Login};
use crate::error::{Context, Error, Result};
use crate::hash;
use crate::http::{self, Checked, Failed};
use crate::oci::Descriptor;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Where an image is: `REGISTRY/REPO[:TAG][@DIGEST]` (optionally behind `oci://`,
/// `oci+fetch://`, `kit://` or `docker://`) or `oci:DIR[:TAG]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Src {
    Registry {
        host: String,
        repo: String,
        /// A tag or a digest.
        reference: String,
    },
    Layout {
        dir: PathBuf,
        tag: Option<String>,
    },
}

impl Src {
    pub fn parse(s: &str) -> Result<Src> {
        let s = s.trim();
        let mut rest = s;
        for p in ["oci+fetch://", "oci://", "kit://", "docker://"] {
            if let Some(r) = s.strip_prefix(p) {
                rest = r;
                break;
            }
        }
        if rest == s {
            if let Some(l) = s.strip_prefix("oci:") {
                let (dir, tag) = match l.rsplit_once(':') {
                    Some((d, t)) if !t.is_empty() && !t.contains('/') && !d.is_empty() => {
                        (d, Some(t.to_string()))
                    }
                    _ => (l, None),
                };
                if dir.is_empty() {
                    return Err(Error::msg(format!("{s:?}: no directory after oci:")));
                }
                return Ok(Src::Layout {
                    dir: PathBuf::from(dir),
                    tag,
                });
            }
        }
        let bad = |why: &str| {
            Error::msg(format!(
                "{s:?} is not an image reference ({why}); want REGISTRY/REPO[:TAG][@sha256:...] or oci:DIR[:TAG]"
            ))
        };
        let (name, digest) = match rest.split_once('@') {
            Some((n, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .ok_or_else(|| bad("only sha256 digests"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("malformed digest"));
                }
                (n, Some(d.to_ascii_lowercase()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad("empty"));
        }
        let (host, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let (repo, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
            _ => (path.clone(), None),
        };
        let repo = if host == "docker.io" && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        if rest.chars().any(char::is_whitespace) {
            return Err(bad("it contains a space"));
        }
        if rest.contains("//") {
            return Err(bad(
                "a scheme? known prefixes: oci://, oci+fetch://, kit://, docker://",
            ));
        }
        if tag.as_deref() == Some("") {
            return Err(bad("empty tag after ':'"));
        }
        if !crate::oci::is_repo_name(&repo) {
            return Err(bad(if repo.bytes().any(|b| b.is_ascii_uppercase()) {
                "repository names are lower-case"
            } else {
                "repository names are lower-case letters, digits and . _ - separated by /"
            }));
        }
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(bad("bad tag"));
            }
        }
        Ok(Src::Registry {
            host,
            repo,
            reference: digest.or(tag).unwrap_or_else(|| "latest".to_string()),
        })
    }
}

impl std::fmt::Display for Src {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Src::Registry {
                host,
                repo,
                reference,
            } => {
                let sep = if reference.starts_with("sha256:") {
                    '@'
                } else {
                    ':'
                };
                write!(f, "{host}/{repo}{sep}{reference}")
            }
            Src::Layout { dir, tag } => match tag {
                Some(t) => write!(f, "oci:{}:{t}", dir.display()),
                None => write!(f, "oci:{}", dir.display()),
            },
        }
    }
}

/// A manifest or index as fetched: its bytes, their digest and the media type.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Fetched {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.bytes).ctx(|| format!("manifest {}", self.digest))
    }
    pub fn is_index(&self) -> bool {
        self.media_type == MT_OCI_INDEX || self.media_type == MT_DOCKER_LIST
    }
}

/// A registry repository or a layout, read the same way.
pub enum Source {
    Registry(Registry),
    Layout { dir: PathBuf, tag: Option<String> },
}

impl Source {
    pub fn open(src: &Src, insecure: bool) -> Result<Source> {
        match src {
            Src::Registry { host, repo, .. } => {
                Ok(Source::Registry(Registry::connect(host, repo, insecure)?))
            }
            Src::Layout { dir, tag } => {
                if !dir.join("oci-layout").is_file() || !dir.join("index.json").is_file() {
                    return Err(Error::msg(format!(
                        "{}: not an OCI image layout (needs oci-layout and index.json)",
                        dir.display()
                    )));
                }
                Ok(Source::Layout {
                    dir: dir.clone(),
                    tag: tag.clone(),
                })
            }
        }
    }

    /// The manifest the source reference names (tag or digest), checked against its digest.
    pub fn root(&self, src: &Src) -> Result<Fetched> {
        match (self, src) {
            (Source::Registry(r), Src::Registry { reference, .. }) => {
                match r.manifest(reference)? {
                    Some(f) => Ok(f),
                    None => Err(Error::msg(format!("{src}: {}", r.why_missing(reference)))),
                }
            }
            (Source::Layout { dir, tag }, _) => {
                let d = crate::layout::Layout::open_any(dir).resolve(tag.as_deref())?;
                self.by_descriptor(&d)
            }
            _ => Err(Error::msg("source and reference do not match")),
        }
    }

    /// A manifest by tag (None when the tag does not exist).
    pub fn tagged(&self, tag: &str) -> Result<Option<Fetched>> {
        match self {
            Source::Registry(r) => r.manifest(tag),
            Source::Layout { dir, .. } => {
                match crate::layout::Layout::open_any(dir).resolve(Some(tag)) {
                    Ok(d) => Ok(Some(self.by_descriptor(&d)?)),
                    Err(_) => Ok(None),
                }
            }
        }
    }

    /// The descriptors of the manifests that refer to `digest`, from the registry's referrers
    /// API; None where there is none (a layout, or a registry without it).
    pub fn referrers(&self, digest: &str) -> Result<Option<Vec<Value>>> {
        match self {
            Source::Registry(r) => r.referrers(digest),
            Source::Layout { .. } => Ok(None),
        }
    }

    /// A manifest or index named by a descriptor (read whole: they are small).
    pub fn by_descriptor(&self, d: &Descriptor) -> Result<Fetched> {
        let f = match self {
            Source::Registry(r) => r
                .manifest(&d.digest)?
                .ok_or_else(|| Error::msg(format!("manifest {} not found", d.digest)))?,
            Source::Layout { .. } => Fetched {
                media_type: d.media_type.clone(),
                digest: d.digest.clone(),
                bytes: self.small_blob(d)?,
            },
        };
        if f.digest != d.digest {
            return Err(Error::msg(format!(
                "manifest {}: content has digest {}",
                d.digest, f.digest
            )));
        }
        Ok(f)
    }

    /// A small blob (config, signature payload), whole and checked.
    pub fn small_blob(&self, d: &Descriptor) -> Result<Vec<u8>> {
        if d.size > 64 << 20 {
            return Err(Error::msg(format!(
                "blob {} is {} bytes; too large for a config or manifest",
                d.digest, d.size
            )));
        }
        let mut b = Vec::new();
        self.blob(&d.digest)?
            .take(d.size + 1)
            .read_to_end(&mut b)
            .ctx(|| format!("blob {}", d.digest))?;
        let got = hash::digest(&b);
        if got != d.digest || b.len() as u64 != d.size {
            return Err(Error::msg(format!(
                "blob {}: content has digest {got} and {} bytes, expected {} bytes",
                d.digest,
                b.len(),
                d.size
            )));
        }
        Ok(b)
    }

    /// A blob's bytes as a stream (not checked here: the caller hashes while reading).
    pub fn blob(&self, digest: &str) -> Result<Box<dyn Read + Send>> {
        match self {
            Source::Registry(r) => r.blob(digest),
            Source::Layout { dir, .. } => {
                check_digest_syntax(digest)?;
                let p = dir
                    .join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:"));
                let f = std::fs::File::open(&p).ctx(|| format!("blob {}", p.display()))?;
                Ok(Box::new(f))
            }
        }
    }
}

/// The target of a `Link: <URL>; rel="next"` header (RFC 8288), as registries paginate.
fn next_link(h: &str) -> Option<String> {
    h.split(',').find_map(|l| {
        let (target, params) = l.trim().split_once(';')?;
        let next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let t = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        next.then(|| t.to_string())
    })
}

fn check_digest_syntax(d: &str) -> Result<()> {
    let ok = d
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::msg(format!("unsupported or malformed digest {d:?}")))
    }
}

/// Pull-only client for one repository.
pub struct Registry {
    agent: ureq::Agent,
    base: String,
    host: String,
    repo: String,
    authz: Option<String>,
    scope: String,
}

impl Registry {
    pub fn connect(host: &str, repo: &str, insecure: bool) -> Result<Registry> {
        Self::connect_scoped(host, repo, insecure, "pull")
    }

    /// `scope` is "pull" or "pull,push" (signing writes a tag).
    pub fn connect_scoped(host: &str, repo: &str, insecure: bool, scope: &str) -> Result<Registry> {
        let api_host = if host == "docker.io" {
            "registry-1.docker.io"
        } else {
            host
        };
        let scheme = if insecure { "http" } else { "https" };
        let mut r = Registry {
            agent: http::agent(Duration::from_secs(120))?,
            base: format!("{scheme}://{api_host}"),
            host: host.to_string(),
            repo: repo.to_string(),
            authz: None,
            scope: scope.to_string(),
        };
        r.login()?;
        Ok(r)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repo)
    }

    /// `r` with the login's Authorization header.
    fn auth<B>(&self, r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authz {
            Some(a) => r.header("Authorization", a),
            None => r,
        }
    }

    fn get(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        self.auth(self.agent.get(url))
    }

    fn fail(&self, what: &str, e: Failed) -> Error {
        challenge::fail(&self.host, what, e)
    }

    fn login(&mut self) -> Result<()> {
        let login = Login {
            agent: &self.agent,
            base: &self.base,
            host: &self.host,
            repo: &self.repo,
            scope: &self.scope,
        };
        self.authz = login.authorize("GET /v2/")?;
        Ok(())
    }

    /// GET a manifest by tag or digest; None on 404. A digest reference is checked.
    pub fn manifest(&self, reference: &str) -> Result<Option<Fetched>> {
        let what = format!("manifest {}:{reference}", self.repo);
        let resp = match self
            .get(&self.url(&format!("manifests/{reference}")))
            .header("Accept", ACCEPT)
            .call()
            .checked()
        {
            Ok(r) => r,
            Err(Failed::Status(404, _)) => return Ok(None),
            Err(Failed::Status(401 | 403, _)) => {
                return Err(Error::msg(format!(
                    "registry {}: access to {} denied (401/403); check the pull credentials",
                    self.host, self.repo
                )))
            }
            Err(e) => return Err(self.fail(&what, e)),
        };
        let header_mt = http::header(&resp, "content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let mut bytes = Vec::new();
        http::reader(resp)
            .take(16 << 20)
            .read_to_end(&mut bytes)
            .ctx(|| format!("registry {}: {what}", self.host))?;
        let digest = hash::digest(&bytes);
        if reference.starts_with("sha256:") && digest != reference {
            return Err(Error::msg(format!(
                "registry {}: {what}: content has digest {digest}",
                self.host
            )));
        }
        // The document's own mediaType wins over a registry's generic Content-Type.
        let v: Value =
            serde_json::from_slice(&bytes).ctx(|| format!("registry {}: {what}", self.host))?;
        let media_type = v["mediaType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or(header_mt);
        Ok(Some(Fetched {
            media_type,
            digest,
            bytes,
        }))
    }

    /// Why `reference` got a 404, from one GET of the tag list: the repository is unknown,
    /// or the tag is not among its tags (the first few named).
    fn why_missing(&self, reference: &str) -> String {
        let unknown = "not found in the registry";
        let resp = match self.get(&self.url("tags/list")).call().checked() {
            Ok(r) => r,
            Err(Failed::Status(404, _)) => {
                return format!("{unknown}: the registry has no repository {}", self.repo)
            }
            Err(_) => return unknown.to_string(),
        };
        let mut bytes = Vec::new();
        let _ = http::reader(resp).take(4 << 20).read_to_end(&mut bytes);
        let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let tags: Vec<&str> = v["tags"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if reference.starts_with("sha256:") {
            return format!(
                "{unknown}: repository {} has no manifest with this digest",
                self.repo
            );
        }
        if tags.is_empty() {
            return format!("{unknown}: repository {} has no tags", self.repo);
        }
        let more = if tags.len() > 5 { ", ..." } else { "" };
        format!(
            "{unknown}: repository {} has no tag {reference:?}; its {} tag(s): {}{more}",
            self.repo,
            tags.len(),
            tags[..tags.len().min(5)].join(", ")
        )
    }

    /// The OCI 1.1 referrers API: the descriptors of the manifests whose `subject` is
    /// `digest`, every page of them. None when the registry has no such API: the spec has
    /// it answer 404 (Distribution 2.x, Debian's docker-registry, says "404 page not found");
    /// 400/405/501 are read the same way, as some registries answer unknown routes so.
    pub fn referrers(&self, digest: &str) -> Result<Option<Vec<Value>>> {
        check_digest_syntax(digest)?;
        let what = format!("referrers of {}@{digest}", self.repo);
        let mut url = self.url(&format!("referrers/{digest}"));
        let mut out = Vec::new();
        for _ in 0..100 {
            let resp = match self
                .get(&url)
                .header("Accept", "application/vnd.oci.image.index.v1+json")
                .call()
                .checked()
            {
                Ok(r) => r,
                Err(Failed::Status(400 | 404 | 405 | 501, _)) if out.is_empty() => return Ok(None),
                Err(e) => return Err(self.fail(&what, e)),
            };
            let next = http::header(&resp, "link").and_then(next_link);
            let mut bytes = Vec::new();
            http::reader(resp)
                .take(16 << 20)
                .read_to_end(&mut bytes)
                .ctx(|| format!("registry {}: {what}", self.host))?;
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| Error::msg(format!("registry {}: {what}: {e}", self.host)))?;
            let Some(page) = v["manifests"].as_array() else {
                return Err(Error::msg(format!(
                    "registry {}: {what}: the answer is not an image index",
                    self.host
                )));
            };
            out.extend(page.iter().cloned());
            match next {
                // Our token goes with every page: only follow pages on the registry itself.
                Some(n) if n.starts_with('/') => url = format!("{}{n}", self.base),
                Some(n) if n.starts_with(&format!("{}/", self.base)) => url = n,
                Some(n) => {
                    return Err(Error::msg(format!(
                        "registry {}: {what}: the next page is on another host ({n}); not followed",
                        self.host
                    )))
                }
                None => return Ok(Some(out)),
            }
        }
        Err(Error::msg(format!(
            "registry {}: {what}: more than 100 pages",
            self.host
        )))
    }

    pub fn blob(&self, digest: &str) -> Result<Box<dyn Read + Send>> {
        check_digest_syntax(digest)?;
        let resp = self
            .get(&self.url(&format!("blobs/{digest}")))
            .call()
            .checked()
            .map_err(|e| self.fail(&format!("GET blob {digest}"), e))?;
        Ok(Box::new(http::reader(resp)))
    }
}

impl Registry {
    /// Uploads a small blob in one POST + PUT (skipped when the registry has it).
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        let digest = hash::digest(bytes);
        let what = format!("upload {digest}");
        let head = self.auth(self.agent.head(&self.url(&format!("blobs/{digest}"))));
        if head.call().checked().is_ok() {
            return Ok(digest);
        }
        let post = self.auth(self.agent.post(&self.url("blobs/uploads/")));
        let resp = post
            .send_empty()
            .checked()
            .map_err(|e| self.fail(&what, e))?;
        let loc = http::header(&resp, "location")
            .ok_or_else(|| Error::msg(format!("registry {}: {what}: no Location", self.host)))?;
        let loc = if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!("{}{loc}", self.base)
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let put = self.auth(self.agent.put(&format!("{loc}{sep}digest={digest}")));
        put.header("Content-Type", "application/octet-stream")
            .send(bytes)
            .checked()
            .map_err(|e| self.fail(&what, e))?;
        Ok(digest)
    }

    pub fn put_manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Result<()> {
        let put = self.auth(self.agent.put(&self.url(&format!("manifests/{reference}"))));
        put.header("Content-Type", media_type)
            .send(bytes)
            .checked()
            .map_err(|e| self.fail(&format!("PUT manifest {reference}"), e))?;
        Ok(())
    }
}

/// GOARCH of this machine, as image indexes name it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "arm" => "arm",
        other => other,
    }
}

/// The index entry for linux/`arch` (attestation entries, "unknown/unknown", never match).
pub fn pick_platform(index: &Value, arch: &str) -> Result<Descriptor> {
    let ms = index["manifests"].as_array().cloned().unwrap_or_default();
    let mut seen = Vec::new();
    for m in &ms {
        let p = &m["platform"];
        let (os, a) = (
            p["os"].as_str().unwrap_or(""),
            p["architecture"].as_str().unwrap_or(""),
        );
        seen.push(format!("{os}/{a}"));
        if os == "linux" && a == arch {
            return serde_json::from_value(m.clone()).ctx(|| "index entry".to_string());
        }
    }
    Err(Error::msg(format!(
        "the image index has no linux/{arch} manifest (it has: {})",
        if seen.is_empty() {
            "nothing".to_string()
        } else {
            seen.join(", ")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> (String, String, String) {
        match Src::parse(s).unwrap() {
            Src::Registry {
                host,
                repo,
                reference,
            } => (host, repo, reference),
            l => panic!("{l:?}"),
        }
    }

    #[test]
    fn sources() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            reg("oci://127.0.0.1:5000/m/x:v1"),
            ("127.0.0.1:5000".into(), "m/x".into(), "v1".into())
        );
        assert_eq!(reg("oci+fetch://quay.io/a/b").2, "latest");
        assert_eq!(reg(&format!("kit://quay.io/a/b:v1@{d}")).2, d);
        assert_eq!(reg("me/model:2").0, "docker.io");
        assert_eq!(reg("ubuntu").1, "library/ubuntu");
        assert_eq!(
            Src::parse("oci:./out:v1").unwrap(),
            Src::Layout {
                dir: "./out".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            Src::parse("oci:/abs/dir").unwrap(),
            Src::Layout {
                dir: "/abs/dir".into(),
                tag: None
            }
        );
        for bad in [
            "quay.io/A/b",
            "quay.io/a/b@sha256:12",
            "quay.io/a/b@md5:x",
            "oci:",
        ] {
            assert!(Src::parse(bad).is_err(), "{bad}");
        }
        for (bad, why) in [
            ("quay.io/a/b:", "(empty tag after ':')"),
            ("quay.io/a b:v1", "(it contains a space)"),
            ("quay.io/A/b", "(repository names are lower-case)"),
            ("oci//quay.io/a/b", "(a scheme? known prefixes: oci://"),
            ("http://quay.io/a/b", "(a scheme? known prefixes: oci://"),
            ("quay.io/a/b!c", "lower-case letters, digits and . _ -"),
        ] {
            let e = Src::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn platform() {
        let idx = serde_json::json!({"manifests": [
            {"mediaType": MT_OCI_MANIFEST, "digest": "sha256:1", "size": 1,
             "platform": {"os": "unknown", "architecture": "unknown"}},
            {"mediaType": MT_OCI_MANIFEST, "digest": "sha256:2", "size": 1,
             "platform": {"os": "linux", "architecture": "arm64"}}]});
        assert_eq!(pick_platform(&idx, "arm64").unwrap().digest, "sha256:2");
        let e = pick_platform(&idx, "s390x").unwrap_err().to_string();
        assert!(
            e.contains("no linux/s390x") && e.contains("linux/arm64"),
            "{e}"
        );
    }

    #[test]
    fn referrers_next_page_link() {
        assert_eq!(
            next_link(r#"</v2/a/referrers/sha256:ab?n=2&last=x>; rel="next""#).as_deref(),
            Some("/v2/a/referrers/sha256:ab?n=2&last=x")
        );
        assert_eq!(
            next_link(r#"<https://r/first>; rel="prev", <https://r/b>;rel=next"#).as_deref(),
            Some("https://r/b")
        );
        assert_eq!(next_link(r#"<https://r/first>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
