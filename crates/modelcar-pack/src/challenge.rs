//! The registry login both clients share (push in `registry.rs`, pull in `fetch.rs`):
//! GET /v2/, and on 401 follow the challenge, Basic or Bearer via the token service, with
//! credentials from [`crate::auth`].

use crate::auth::{self, Creds};
use crate::error::{Context, Error, Result};
use crate::http::{self, Checked, Failed};
use base64::Engine;
use serde::Deserialize;
use std::time::Duration;

/// How long GET /v2/ may wait for the response headers once sent.
const FIRST_ANSWER: Duration = Duration::from_secs(15);
use crate::http::CONNECT;

/// One repository on one registry, as the login sees it.
pub(crate) struct Login<'a> {
    pub agent: &'a ureq::Agent,
    /// scheme://api-host
    pub base: &'a str,
    /// host[:port] as the user wrote it (names the registry in messages and credentials).
    pub host: &'a str,
    pub repo: &'a str,
    /// Token scope actions: "pull" or "pull,push".
    pub scope: &'a str,
}

impl Login<'_> {
    /// The Authorization header value to send from now on; None when /v2/ asks for none.
    /// `unreachable` names the step in the error when /v2/ fails otherwise.
    pub fn authorize(&self, unreachable: &str) -> Result<Option<String>> {
        let url = format!("{}/v2/", self.base);
        // The first answer is short and quick; a registry that takes the connection and
        // never answers would otherwise hold an init container for the long per-read timeout.
        let first = self
            .agent
            .get(&url)
            .config()
            .timeout_recv_response(Some(FIRST_ANSWER))
            .build();
        let resp = match first.call().checked() {
            Ok(_) => return Ok(None),
            Err(Failed::Status(401, resp)) => resp,
            Err(Failed::Transport(ureq::Error::Timeout(t))) => {
                return Err(Error::msg(format!(
                    "registry {}: {unreachable}: the registry did not answer within {} s ({t})",
                    self.host,
                    match t {
                        ureq::Timeout::Connect => CONNECT.as_secs(),
                        _ => FIRST_ANSWER.as_secs(),
                    }
                )))
            }
            Err(e) => return Err(fail(self.host, unreachable, e)),
        };
        let challenge = http::header(&resp, "www-authenticate")
            .unwrap_or("")
            .to_string();
        let found = auth::lookup(self.host, self.repo)?;
        let creds = found.creds;
        let none = || no_creds(self.host, &found.helpers_asked);
        let scheme = challenge
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if scheme == "basic" {
            let c = creds.ok_or_else(none)?;
            Ok(Some(basic(&c)))
        } else if scheme == "bearer" {
            Ok(Some(format!(
                "Bearer {}",
                self.token(&challenge, creds.as_ref(), &none)?
            )))
        } else {
            Err(Error::msg(format!(
                "registry {}: unsupported authentication challenge {challenge:?}",
                self.host
            )))
        }
    }

    fn token(
        &self,
        challenge: &str,
        creds: Option<&Creds>,
        none: &dyn Fn() -> Error,
    ) -> Result<String> {
        let params = parse_challenge(challenge);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                Error::msg(format!(
                    "registry {}: bearer challenge without realm",
                    self.host
                ))
            })?;
        let mut req = self.agent.get(&realm);
        if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
            req = req.query("service", s);
        }
        req = req.query("scope", format!("repository:{}:{}", self.repo, self.scope));
        if let Some(c) = creds {
            req = req.header("Authorization", &basic(c));
        }
        let resp = req.call().checked().map_err(|e| match e {
            Failed::Status(401 | 403, _) if creds.is_none() => none(),
            e => fail(self.host, "token service", e),
        })?;
        let text = resp
            .into_body()
            .read_to_string()
            .ctx(|| format!("registry {}: token response", self.host))?;
        let v: TokenResponse = serde_json::from_str(&text)
            .ctx(|| format!("registry {}: token response", self.host))?;
        v.token.or(v.access_token).ok_or_else(|| {
            Error::msg(format!(
                "registry {}: token response without a token",
                self.host
            ))
        })
    }
}

/// The token service's answer (distribution's token spec: either name may be used).
#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

/// A failed request as one line: the registry, the step, and the status with the start of
/// the body, or the transport error.
pub(crate) fn fail(host: &str, what: &str, e: Failed) -> Error {
    let text = match e {
        Failed::Status(code, resp) => format!("HTTP {code} {}", http::body_start(*resp).trim()),
        Failed::Transport(t) => t.to_string(),
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Error::msg(format!("registry {host}: {what}: {text}{}", hint(&text)))
}

/// What to do about the usual misconfigurations, read from the error's own words.
fn hint(text: &str) -> &'static str {
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        // rustls got a plain-HTTP answer to its ClientHello.
        " (the registry speaks plain HTTP? use --insecure)"
    } else if text.contains("HTTP request to an HTTPS server") {
        " (the registry speaks HTTPS: drop --insecure)"
    } else if text.contains("UnknownIssuer") {
        " (the registry's certificate is signed by a CA this binary does not trust: add the CA \
         to the bundle in SSL_CERT_FILE, or to cabundle.crt in CA_BUNDLE_VOLUME_MOUNT_POINT)"
    } else if text.contains("CaUsedAsEndEntity") {
        " (the registry serves a CA certificate as its own: serve a leaf certificate signed by that CA)"
    } else {
        ""
    }
}

/// `helpers`: the credential helpers that were asked and had nothing for `host`.
pub(crate) fn no_creds(host: &str, helpers: &[String]) -> Error {
    let files: Vec<String> = auth::auth_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let asked = if helpers.is_empty() {
        String::new()
    } else {
        format!(" (nor in {})", helpers.join(", "))
    };
    // An explicitly named file that is not there is most likely the mistake.
    let missing = match std::env::var_os("REGISTRY_AUTH_FILE") {
        Some(f) if !std::path::Path::new(&f).exists() => format!(
            "; REGISTRY_AUTH_FILE names {}, which does not exist",
            std::path::Path::new(&f).display()
        ),
        _ => String::new(),
    };
    Error::msg(format!(
        "registry {host} wants credentials, and none were found for it in {}{asked}{missing}",
        files.join(", ")
    ))
}

fn basic(c: &Creds) -> String {
    let raw = format!("{}:{}", c.user, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// `Bearer realm="...",service="...",scope="..."` -> [(key, value)].
fn parse_challenge(h: &str) -> Vec<(String, String)> {
    let rest = h.split_once(' ').map(|(_, r)| r).unwrap_or("");
    let mut out = Vec::new();
    let mut s = rest.trim();
    while let Some((k, after)) = s.split_once('=') {
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].to_string(), &after[end..]),
                None => (after.to_string(), ""),
            }
        };
        out.push((k, v));
        s = next.trim_start_matches(',').trim();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge() {
        let p = parse_challenge(
            r#"Bearer realm="https://auth.io/token",service="reg.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(p[0], ("realm".into(), "https://auth.io/token".into()));
        assert_eq!(p[1], ("service".into(), "reg.io".into()));
        assert_eq!(p[2].1, "repository:a/b:pull,push");
    }
}
