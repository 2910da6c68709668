//! Registry credentials from the files podman, skopeo and docker use (first file with an
//! entry wins, as in containers-auth.json(5)): REGISTRY_AUTH_FILE,
//! $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
//! $DOCKER_CONFIG/config.json (else ~/.docker/config.json). KServe's storage initializer gets
//! the pod's first imagePullSecret as a docker config.json at KSERVE_OCI_DOCKER_CONFIG
//! (default /mnt/oci-fetch-auth/config.json): read first and last respectively.
//! Within one file, as docker does: a `credHelpers` entry for the registry, else `credsStore`,
//! names the credential helper that answers for it (see [`crate::credhelper`]), else `auths`.
//! A helper that has nothing for the registry passes on to the next file, as podman does.

use crate::credhelper;
use crate::error::Result;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Creds {
    pub user: String,
    pub password: String,
}

pub fn auth_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(f) = std::env::var_os("KSERVE_OCI_DOCKER_CONFIG") {
        v.push(PathBuf::from(f));
    }
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
        v.push(PathBuf::from(f));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        v.push(PathBuf::from(d).join("containers/auth.json"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        let h = PathBuf::from(h);
        v.push(h.join(".config/containers/auth.json"));
    }
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => v.push(PathBuf::from(d).join("config.json")),
        None => {
            if let Some(h) = std::env::var_os("HOME") {
                v.push(PathBuf::from(h).join(".docker/config.json"));
            }
        }
    }
    v.push(PathBuf::from("/mnt/oci-fetch-auth/config.json"));
    v
}

/// What [`lookup`] found, and the helpers it asked (named when none had credentials).
#[derive(Default)]
pub struct Found {
    pub creds: Option<Creds>,
    pub helpers_asked: Vec<String>,
}

/// Credentials for `host` and `repo` from the first file that has some: its credential helper
/// for `host`, or its most specific `auths` key ("host/ns/repo", then "host/ns", then "host").
/// A helper that is missing, fails, hangs or answers nonsense is an error.
pub fn lookup(host: &str, repo: &str) -> Result<Found> {
    let mut found = Found::default();
    for f in auth_files() {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let doc = match serde_json::from_slice::<AuthFile>(&bytes) {
            Ok(d) => d,
            Err(e) => {
                eprintln!(
                    "modelcar-pack: warning: {}: not a valid auth file ({e}); ignoring it",
                    f.display()
                );
                continue;
            }
        };
        if let Some((name, key, field)) = helper_for(&doc, host) {
            let origin = format!("{field} in {}", f.display());
            found
                .helpers_asked
                .push(format!("docker-credential-{name}"));
            found.creds = credhelper::get(name, &key, &origin, credhelper::TIMEOUT)?;
        } else {
            found.creds = find(&doc, host, repo);
        }
        if found.creds.is_some() {
            return Ok(found);
        }
    }
    Ok(found)
}

/// The helper answering for `host` in this file and the server URL to ask it for: the
/// `credHelpers` key as written (what `docker login` and `podman login` stored under), else
/// `credsStore` with the key `docker login` uses (`https://index.docker.io/v1/` for Docker Hub).
fn helper_for<'a>(doc: &'a AuthFile, host: &str) -> Option<(&'a str, String, &'static str)> {
    for (k, v) in &doc.cred_helpers {
        if normalise(k) == host {
            return Some((v.as_str(), k.clone(), "credHelpers"));
        }
    }
    let store = doc.creds_store.as_deref().filter(|s| !s.is_empty())?;
    let key = if host == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    };
    Some((store, key, "credsStore"))
}

fn normalise(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let k = k.trim_end_matches('/');
    let k = k
        .strip_suffix("/v1")
        .or_else(|| k.strip_suffix("/v2"))
        .unwrap_or(k);
    if k == "index.docker.io" || k == "registry-1.docker.io" {
        "docker.io".to_string()
    } else {
        k.to_string()
    }
}

/// containers-auth.json(5) and docker's config.json; other keys are not used here.
#[derive(Deserialize)]
pub struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

pub fn find(doc: &AuthFile, host: &str, repo: &str) -> Option<Creds> {
    let auths = &doc.auths;
    let mut wanted = Vec::new();
    let parts: Vec<&str> = repo.split('/').collect();
    for n in (1..=parts.len()).rev() {
        wanted.push(format!("{host}/{}", parts[..n].join("/")));
    }
    wanted.push(host.to_string());
    for w in wanted {
        for (k, v) in auths {
            if normalise(k) == w {
                if let Some(c) = entry(k, v) {
                    return Some(c);
                }
            }
        }
    }
    None
}

/// The credentials of the `auths` entry `key`; an `auth` value that is not base64 of
/// "user:password" is skipped with a warning, as an auth file that is not JSON is.
fn entry(key: &str, v: &AuthEntry) -> Option<Creds> {
    if let Some(a) = v.auth.as_deref().filter(|a| !a.is_empty()) {
        let pair = base64::engine::general_purpose::STANDARD
            .decode(a.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            });
        let Some((user, password)) = pair else {
            eprintln!(
                "modelcar-pack: warning: auths entry {key:?}: \"auth\" is not base64 of user:password; ignoring it"
            );
            return None;
        };
        return Some(Creds { user, password });
    }
    Some(Creds {
        user: v.username.clone()?,
        password: v.password.clone()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn most_specific_key_wins() {
        let doc: AuthFile = serde_json::from_value(json!({"auths": {
            "quay.io": {"auth": "dTE6cDE="},
            "quay.io/team": {"auth": "dTI6cDI="},
            "https://index.docker.io/v1/": {"username": "d", "password": "p:x"},
        }}))
        .unwrap();
        assert_eq!(find(&doc, "quay.io", "team/model").unwrap().user, "u2");
        assert_eq!(find(&doc, "quay.io", "other/model").unwrap().user, "u1");
        let d = find(&doc, "docker.io", "library/x").unwrap();
        assert_eq!((d.user.as_str(), d.password.as_str()), ("d", "p:x"));
        assert!(find(&doc, "ghcr.io", "x").is_none());
    }

    #[test]
    fn an_auth_that_is_not_base64_is_skipped() {
        let doc: AuthFile = serde_json::from_value(json!({"auths": {
            "quay.io": {"auth": "dTE6cDE="},
            "quay.io/team": {"auth": "user:password"},
            "quay.io/nocolon": {"auth": "dXNlcg=="},
        }}))
        .unwrap();
        assert_eq!(find(&doc, "quay.io", "team/model").unwrap().user, "u1");
        assert_eq!(find(&doc, "quay.io", "nocolon/model").unwrap().user, "u1");
        assert!(entry("k", &doc.auths["quay.io/team"]).is_none());
    }

    #[test]
    fn cred_helpers_then_creds_store_then_auths() {
        let doc: AuthFile = serde_json::from_value(json!({
            "auths": {"quay.io": {"auth": "dTE6cDE="}},
            "credHelpers": {"https://index.docker.io/v1/": "desktop", "127.0.0.1:5000": "pass"},
            "credsStore": "secretservice",
        }))
        .unwrap();
        assert_eq!(
            helper_for(&doc, "docker.io"),
            Some((
                "desktop",
                "https://index.docker.io/v1/".into(),
                "credHelpers"
            ))
        );
        assert_eq!(
            helper_for(&doc, "127.0.0.1:5000"),
            Some(("pass", "127.0.0.1:5000".into(), "credHelpers"))
        );
        assert_eq!(
            helper_for(&doc, "quay.io"),
            Some(("secretservice", "quay.io".into(), "credsStore"))
        );
        let store_only: AuthFile = serde_json::from_value(
            json!({"credsStore": "pass", "credHelpers": {"docker.io": "gcr"}}),
        )
        .unwrap();
        assert_eq!(
            helper_for(&store_only, "docker.io"),
            Some(("gcr", "docker.io".into(), "credHelpers"))
        );
        assert_eq!(
            helper_for(&store_only, "ghcr.io"),
            Some(("pass", "ghcr.io".into(), "credsStore"))
        );
        let plain: AuthFile =
            serde_json::from_value(json!({"auths": {}, "credsStore": ""})).unwrap();
        assert_eq!(helper_for(&plain, "docker.io"), None);
    }
}
