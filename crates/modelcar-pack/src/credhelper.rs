//! Docker credential helpers (github.com/docker/docker-credential-helpers): `credHelpers`
//! and `credsStore` in a docker config.json name a program `docker-credential-NAME`; `get`
//! reads the registry's server URL on stdin and prints `{"ServerURL","Username","Secret"}`.
//! The only place modelcar-pack runs another program, and only when a config names one.

use crate::auth::Creds;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Long enough for a helper that asks a cloud metadata service or unlocks a keyring agent.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// What the helpers print (credentials.ErrCredentialsNotFound) when they hold nothing.
const NOT_FOUND: &str = "credentials not found in native keychain";

#[derive(Deserialize)]
struct Reply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `docker-credential-NAME get` for `server_url`: Some(creds), or None when the helper says it
/// has none. `origin` says where the helper was configured (for the error line).
pub fn get(name: &str, server_url: &str, origin: &str, timeout: Duration) -> Result<Option<Creds>> {
    let prog = format!("docker-credential-{name}");
    if name.is_empty() || name.contains('/') {
        return Err(Error::msg(format!(
            "credential helper {prog:?} ({origin}): not a helper name"
        )));
    }
    ask(&prog, server_url, origin, timeout)
}

/// Runs `prog get` (found in PATH unless it has a slash).
fn ask(prog: &str, server_url: &str, origin: &str, timeout: Duration) -> Result<Option<Creds>> {
    let err = |what: String| Error::msg(format!("credential helper {prog} ({origin}): {what}"));
    let mut child = Command::new(prog)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => err("not found in PATH".into()),
            _ => err(format!("cannot run it: {e}")),
        })?;
    // The URL is small and written before the helper reads anything back, so this cannot
    // block on a full pipe; a helper that exits without reading gives EPIPE, ignored here
    // since its exit status says what went wrong.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server_url.as_bytes());
    }
    let out = reader(child.stdout.take());
    let errs = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(err(format!(
                    "no answer within {} s; killed it",
                    timeout.as_secs_f32()
                )));
            }
            Err(e) => return Err(err(format!("waiting for it: {e}"))),
        }
    };
    // A daemon the helper started (gpg-agent, say) may hold the pipes open: wait a little.
    let grace = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
    let out = out.recv_timeout(grace).unwrap_or_default();
    let errs = errs
        .recv_timeout(Duration::from_secs(1))
        .unwrap_or_default();
    let out = String::from_utf8_lossy(&out);
    let errs = String::from_utf8_lossy(&errs);
    if !status.success() {
        if out.trim() == NOT_FOUND || errs.trim() == NOT_FOUND {
            return Ok(None);
        }
        let said = [out.trim(), errs.trim()]
            .into_iter()
            .find(|s| !s.is_empty())
            .and_then(|s| s.lines().next())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        return Err(err(format!("`get` failed ({status}): {said}")));
    }
    let reply: Reply = serde_json::from_str(out.trim())
        .map_err(|e| err(format!("`get` printed no valid JSON ({e})")))?;
    if reply.username == "<token>" {
        // An identity token is an OAuth2 refresh token for the token service's POST flow;
        // the login here sends Basic credentials to the token service only.
        return Err(err(format!(
            "it holds an identity token (OAuth2 refresh token) for {server_url}, which \
             modelcar-pack does not support; log in with a username and password or token"
        )));
    }
    if reply.username.is_empty() && reply.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Creds {
        user: reply.username,
        password: reply.secret,
    }))
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            // Bounded: a helper has no business printing more than a few KB.
            let _ = r.by_ref().take(1 << 20).read_to_end(&mut buf);
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        }
        let _ = tx.send(buf);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A helper script that records its stdin and runs `body`.
    fn helper(dir: &std::path::Path, body: &str) -> String {
        let p = dir.join("docker-credential-test");
        let script = format!("#!/bin/sh\ncat > \"{}/stdin\"\n{body}\n", dir.display());
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    }

    fn asked(body: &str, timeout: Duration) -> (Result<Option<Creds>>, String) {
        let t = tempfile::tempdir().unwrap();
        let prog = helper(t.path(), body);
        let r = ask(&prog, "https://index.docker.io/v1/", "in test", timeout);
        let stdin = std::fs::read_to_string(t.path().join("stdin")).unwrap_or_default();
        (r, stdin)
    }

    fn err_line(r: Result<Option<Creds>>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn answers_and_not_found() {
        let (r, stdin) = asked(
            r#"echo '{"ServerURL":"https://index.docker.io/v1/","Username":"u","Secret":"p:x"}'"#,
            TIMEOUT,
        );
        assert_eq!(stdin, "https://index.docker.io/v1/");
        let c = r.unwrap().unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("u", "p:x"));
        let (r, _) = asked(&format!("echo '{NOT_FOUND}'; exit 1"), TIMEOUT);
        assert!(r.unwrap().is_none());
    }

    #[test]
    fn failures_are_one_line_naming_the_helper() {
        let (r, _) = asked("echo 'gpg: decryption failed' >&2; exit 1", TIMEOUT);
        let e = err_line(r);
        assert!(
            e.contains("docker-credential-test (in test): `get` failed"),
            "{e}"
        );
        assert!(e.ends_with("gpg: decryption failed"), "{e}");
        let (r, _) = asked("echo 'not json'", TIMEOUT);
        assert!(err_line(r).contains("printed no valid JSON"));
        let (r, _) = asked(r#"echo '{"Username":"<token>","Secret":"rt"}'"#, TIMEOUT);
        assert!(err_line(r).contains("identity token"));
        let start = Instant::now();
        let (r, _) = asked("exec sleep 30", Duration::from_millis(300));
        assert!(err_line(r).contains("no answer within 0.3 s; killed it"));
        assert!(start.elapsed() < Duration::from_secs(5));
        let e = err_line(get("nosuch-mcb-helper", "x", "credsStore in f", TIMEOUT));
        assert_eq!(
            e,
            "credential helper docker-credential-nosuch-mcb-helper (credsStore in f): not found in PATH"
        );
        assert!(err_line(get("../x", "x", "o", TIMEOUT)).contains("not a helper name"));
    }
}
