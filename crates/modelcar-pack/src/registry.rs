//! A small blocking client for the OCI distribution API, over `ureq` (see `http.rs`). Chosen over
//! `oci-client` because that one is async (tokio + reqwest) and takes blob uploads as
//! in-memory `Vec<u8>`; here every blob streams from its file on disk, so memory stays flat
//! for multi-GB layers. Blobs the registry has are skipped (HEAD); the others go up several
//! at a time, small ones in one PUT, large ones in PATCH chunks; then the platform manifests,
//! then the index under the tag.
//! Auth: Basic or Bearer (token service), with credentials from [`crate::auth`]; the
//! handshake is [`crate::challenge`], shared with the pull client.

use crate::challenge::{self, Login};
use crate::cleanup;
use crate::error::{Context, Error, Result};
use crate::http::{self, Checked, Failed};
use crate::layout::Layout;
use crate::oci::{from_json, Descriptor, Index, Manifest};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;
use ureq::SendBody;

/// Blobs above this go up in chunks of this size (env MODELCAR_PACK_CHUNK overrides it,
/// for tests and for registries with request size limits).
const CHUNK: u64 = 128 << 20;

/// Blobs uploaded at the same time unless `--jobs` says otherwise (skopeo uses 6, docker 5;
/// at 4 a loopback docker-registry on 2 cores is already CPU-bound).
pub const UPLOADS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// host[:port] as written ("docker.io" for Docker Hub).
    pub host: String,
    pub repo: String,
    pub tag: String,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference> {
        let bad = || Error::msg(format!("--push wants REGISTRY/REPO:TAG, got {s:?}"));
        if s.contains('@') || s.contains("://") {
            return Err(bad());
        }
        let (first, rest) = s.split_once('/').ok_or_else(bad)?;
        let (host, path) = if first.contains('.') || first.contains(':') || first == "localhost" {
            (first.to_string(), rest.to_string())
        } else {
            ("docker.io".to_string(), s.to_string())
        };
        let (repo, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (path.clone(), "latest".to_string()),
        };
        let repo = if host == "docker.io" && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        if !crate::oci::is_repo_name(&repo) {
            return Err(bad());
        }
        crate::oci::check_tag(&tag).map_err(|e| Error::msg(format!("--push {s:?}: {e}")))?;
        Ok(Reference { host, repo, tag })
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.repo, self.tag)
    }
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    r: Reference,
    authz: Option<String>,
    chunk: u64,
    /// Token scope "pull" only: a conversion's source (read-only credentials suffice).
    pull_only: bool,
}

/// As [`connect`], asking the token service for pull access only.
pub fn connect_pull(r: &Reference, insecure: bool) -> Result<Client> {
    connect_with(r, insecure, true)
}

/// Connects and logs in (before any packing, so a bad registry fails fast).
pub fn connect(r: &Reference, insecure: bool) -> Result<Client> {
    connect_with(r, insecure, false)
}

fn connect_with(r: &Reference, insecure: bool, pull_only: bool) -> Result<Client> {
    let api_host = if r.host == "docker.io" {
        "registry-1.docker.io"
    } else {
        &r.host
    };
    let scheme = if insecure { "http" } else { "https" };
    let chunk = std::env::var("MODELCAR_PACK_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&c: &u64| c > 0)
        .unwrap_or(CHUNK);
    let mut c = Client {
        agent: http::agent(Duration::from_secs(300))?,
        base: format!("{scheme}://{api_host}"),
        r: r.clone(),
        authz: None,
        chunk,
        pull_only,
    };
    c.login()?;
    Ok(c)
}

/// Pushes the image index `index` (and all it references) from `layout`.
/// Blobs go up `jobs` at a time; the manifests follow once all of them are there.
pub fn push(
    c: &Client,
    layout: &Layout,
    index: &Descriptor,
    quiet: bool,
    jobs: usize,
) -> Result<String> {
    let r = &c.r;
    let index_bytes = layout.read_blob(&index.digest)?;
    let idx: Index = from_json(&index_bytes, &index.digest)?;
    let mut manifests = Vec::new();
    let mut blobs: Vec<Descriptor> = Vec::new();
    let mut seen = BTreeSet::new();
    for d in idx.manifests {
        let mb = layout.read_blob(&d.digest)?;
        let m: Manifest = from_json(&mb, &d.digest)?;
        for bd in std::iter::once(m.config).chain(m.layers) {
            if seen.insert(bd.digest.clone()) {
                blobs.push(bd);
            }
        }
        manifests.push((d, mb));
    }
    let total: u64 = blobs.iter().map(|b| b.size).sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(s) = ProgressStyle::with_template(
            "push {bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec}",
        ) {
            b.set_style(s);
        }
        b
    };
    let uploaded = upload_all(c, layout, &blobs, &bar, jobs);
    bar.finish_and_clear();
    uploaded?;
    for (d, bytes) in &manifests {
        c.put_manifest(&d.digest, &d.media_type, bytes)?;
    }
    c.put_manifest(&r.tag, &index.media_type, &index_bytes)?;
    Ok(format!("{r}@{}", index.digest))
}

/// Uploads every blob the registry lacks, `jobs` at a time, largest first so the last one
/// to start is a small one. A registry spends its CPU hashing and its disk syncing each blob
/// (docker-registry: about 4 s of CPU per GiB, and an fsync at the end); one upload at a time
/// leaves the other cores idle and waits out every sync. The first error stops the others.
fn upload_all(
    c: &Client,
    layout: &Layout,
    blobs: &[Descriptor],
    bar: &ProgressBar,
    jobs: usize,
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let mut order: Vec<&Descriptor> = blobs.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then(a.digest.cmp(&b.digest)));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_err: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, order.len().max(1)) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let Some(b) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let r = cleanup::check().and_then(|_| match c.blob_exists(&b.digest)? {
                        true => {
                            bar.inc(b.size);
                            Ok(())
                        }
                        false => c.upload(layout, b, bar),
                    });
                    if let Err(e) = r {
                        failed.store(true, Ordering::Relaxed);
                        let mut slot = first_err.lock().unwrap_or_else(|e| e.into_inner());
                        // A signal is why the other uploads failed: report it, not them.
                        if slot.is_none() || matches!(e, Error::Interrupted(_)) {
                            *slot = Some(e);
                        }
                    }
                }
            });
        }
    });
    match first_err.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Client {
    /// GET `manifests/REF` or `blobs/DIGEST` of the repository (conversion reads its source
    /// through this); the body streams.
    pub fn get(&self, path: &str, accept: &str) -> Result<http::Response> {
        cleanup::check()?;
        self.auth(self.agent.get(&self.url(path)))
            .header("Accept", accept)
            .call()
            .checked()
            .map_err(|e| self.fail(&format!("GET {path}"), e))
    }

    pub fn reference(&self) -> &Reference {
        &self.r
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.r.repo)
    }

    /// `r` with the login's Authorization header.
    fn auth<B>(&self, r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authz {
            Some(a) => r.header("Authorization", a),
            None => r,
        }
    }

    fn fail(&self, what: &str, e: Failed) -> Error {
        challenge::fail(&self.r.host, what, e)
    }

    /// GET /v2/; on 401 follow the challenge (Basic, or Bearer via the token service).
    fn login(&mut self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        let login = Login {
            agent: &self.agent,
            base: &self.base,
            host: &self.r.host,
            repo: &self.r.repo,
            scope: if self.pull_only { "pull" } else { "pull,push" },
        };
        self.authz = login.authorize("cannot reach the registry API")?;
        if self.authz.is_none() {
            return Ok(());
        }
        // Check the credentials now, before any upload.
        match self.auth(self.agent.get(&url)).call().checked() {
            Ok(_) => Ok(()),
            Err(Failed::Status(401, _)) => Err(Error::msg(format!(
                "registry {}: credentials refused (401) for {}",
                self.r.host, self.r.repo
            ))),
            Err(e) => Err(self.fail("login", e)),
        }
    }

    fn blob_exists(&self, digest: &str) -> Result<bool> {
        match self
            .auth(self.agent.head(&self.url(&format!("blobs/{digest}"))))
            .call()
            .checked()
        {
            Ok(_) => Ok(true),
            Err(Failed::Status(404, _)) => Ok(false),
            Err(e) => Err(self.fail(&format!("HEAD blob {digest}"), e)),
        }
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        }
    }

    fn location(&self, resp: &http::Response, what: &str) -> Result<String> {
        http::header(resp, "location")
            .map(|l| self.absolute(l))
            .ok_or_else(|| {
                Error::msg(format!(
                    "registry {}: {what}: no Location header",
                    self.r.host
                ))
            })
    }

    fn upload(&self, layout: &Layout, b: &Descriptor, bar: &ProgressBar) -> Result<()> {
        let what = format!("upload {}", b.digest);
        let start = self
            .auth(self.agent.post(&self.url("blobs/uploads/")))
            .send_empty()
            .checked()
            .map_err(|e| self.fail(&what, e))?;
        let mut loc = self.location(&start, &what)?;
        let path = layout.blob_path(&b.digest);
        let mut f = std::fs::File::open(&path).ctx(|| path.display().to_string())?;
        let put_url = |loc: &str| {
            let sep = if loc.contains('?') { '&' } else { '?' };
            format!("{loc}{sep}digest={}", b.digest)
        };
        if b.size <= self.chunk {
            // Monolithic: one PUT with the whole blob, streamed from the file.
            let mut body = Progress { inner: f, bar };
            self.auth(self.agent.put(&put_url(&loc)))
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", &b.size.to_string())
                .send(SendBody::from_reader(&mut body))
                .checked()
                .map_err(|e| self.interrupted_or(e, &what))?;
            return Ok(());
        }
        let mut off = 0u64;
        while off < b.size {
            cleanup::check()?;
            let n = self.chunk.min(b.size - off);
            f.seek(SeekFrom::Start(off))
                .ctx(|| path.display().to_string())?;
            let mut body = Progress {
                inner: (&mut f).take(n),
                bar,
            };
            let resp = self
                .auth(self.agent.patch(&loc))
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", &n.to_string())
                .header("Content-Range", &format!("{off}-{}", off + n - 1))
                .send(SendBody::from_reader(&mut body))
                .checked()
                .map_err(|e| self.interrupted_or(e, &what))?;
            loc = self.location(&resp, &what)?;
            off += n;
        }
        self.auth(self.agent.put(&put_url(&loc)))
            .send_empty()
            .checked()
            .map_err(|e| self.fail(&what, e))?;
        Ok(())
    }

    fn interrupted_or(&self, e: Failed, what: &str) -> Error {
        match cleanup::check() {
            Err(i) => i,
            Ok(()) => self.fail(what, e),
        }
    }

    fn put_manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Result<()> {
        cleanup::check()?;
        self.auth(self.agent.put(&self.url(&format!("manifests/{reference}"))))
            .header("Content-Type", media_type)
            .send(bytes)
            .checked()
            .map_err(|e| self.fail(&format!("PUT manifest {reference}"), e))?;
        Ok(())
    }
}

/// Counts uploaded bytes and stops the upload on a signal.
struct Progress<'a, R: Read> {
    inner: R,
    bar: &'a ProgressBar,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if cleanup::check().is_err() {
            // Not ErrorKind::Interrupted: io::copy retries that forever.
            return Err(std::io::Error::other("stopped by a signal"));
        }
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/models/x:v1").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repo.as_str(), r.tag.as_str()),
            ("127.0.0.1:5000", "models/x", "v1")
        );
        let r = Reference::parse("ubuntu").err();
        assert!(r.is_some());
        let r = Reference::parse("me/model").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repo.as_str(), r.tag.as_str()),
            ("docker.io", "me/model", "latest")
        );
        assert!(Reference::parse("quay.io/Me/x:1").is_err());
        assert!(Reference::parse("quay.io/me/x@sha256:00").is_err());
    }
}
