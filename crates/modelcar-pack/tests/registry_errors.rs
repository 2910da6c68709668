//! A registry reached the wrong way gets one line that names the problem: a registry that
//! never answers, https against plain HTTP and the reverse, a CA that is not trusted, a
//! missing repository or tag. Real docker-registry servers on 127.0.0.1 (plain and TLS, with
//! a CA and a leaf certificate made by openssl), the real binary.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

/// Quiet: without the progress line, a failure is the one line on stderr.
fn quiet<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.push("-q");
    v
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    support::run_with(&quiet(args), envs)
}

/// The one stderr line of a run that must fail with exit status 1.
fn fails(args: &[&str], envs: &[(&str, &str)]) -> String {
    support::fails_with(&quiet(args), envs)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A docker-registry on 127.0.0.1, killed on drop; TLS when given a certificate and key.
struct Registry {
    child: Child,
    host: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(tls: Option<(&Path, &Path)>) -> Registry {
        Self::start_with(tls, "")
    }

    /// `extra`: more top-level configuration (auth).
    fn start_with(tls: Option<(&Path, &Path)>, extra: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let host = format!("127.0.0.1:{}", free_port());
        let mut cfg = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if let Some((cert, key)) = tls {
            cfg += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            );
        }
        cfg += extra;
        let conf = dir.path().join("config.yml");
        fs::write(&conf, cfg).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (scripts/install-deps.sh installs it)");
        let mut r = Registry {
            child,
            host,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&r.host).is_err() {
            assert!(
                r.child.try_wait().unwrap().is_none(),
                "docker-registry exited"
            );
            assert!(Instant::now() < deadline, "docker-registry did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        r
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// ca.pem, and leaf.pem/leaf.key for 127.0.0.1 signed by it (rustls refuses a CA
/// certificate served as the registry's own: CaUsedAsEndEntity).
fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec![
        "req",
        "-x509",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=mcb-test-ca",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-nodes", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
    openssl(dir, &csr);
    fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
}

/// A registry that takes the connection and never answers fails the first request within
/// the short first-answer timeout (15 s), not the 120 s read timeout, over http and https.
#[test]
fn a_registry_that_never_answers_fails_fast() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = l.local_addr().unwrap().to_string();
    // Holds every connection open, silent, until the test ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            held.push(s);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<_> = [true, false]
        .into_iter()
        .map(|insecure| {
            let host = host.clone();
            let dest = tmp.path().join(format!("d{insecure}"));
            std::thread::spawn(move || {
                let start = Instant::now();
                let src = format!("{host}/m:v1");
                let mut args = vec!["unpack", &src, dest.to_str().unwrap()];
                if insecure {
                    args.push("--insecure");
                }
                let e = fails(&args, &[]);
                (start.elapsed(), e, dest.exists())
            })
        })
        .collect();
    for r in runs {
        let (took, e, dest_made) = r.join().unwrap();
        assert!(
            e.contains(&format!(
                "registry {host}: GET /v2/: the registry did not answer within 15 s"
            )),
            "{e}"
        );
        assert!(took < Duration::from_secs(40), "took {took:?}: {e}");
        assert!(!dest_made, "{e}");
    }
}

/// https against plain HTTP, plain HTTP against TLS, and a CA that is not trusted: each
/// message says what to change; trusting the CA with SSL_CERT_FILE or KServe's
/// CA_BUNDLE_VOLUME_MOUNT_POINT gets through to the registry.
#[test]
fn scheme_and_ca_mistakes_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let d = dest.to_str().unwrap();

    let plain = Registry::start(None);
    let src = format!("{}/m:v1", plain.host);
    let e = fails(&["unpack", &src, d], &[]);
    assert!(e.contains("InvalidContentType"), "{e}");
    assert!(
        e.contains("(the registry speaks plain HTTP? use --insecure)"),
        "{e}"
    );

    let certs = tmp.path().join("certs");
    fs::create_dir(&certs).unwrap();
    certificates(&certs);
    let tls = Registry::start(Some((&certs.join("leaf.pem"), &certs.join("leaf.key"))));
    let src = format!("{}/m:v1", tls.host);
    let e = fails(&["unpack", "--insecure", &src, d], &[]);
    assert!(e.contains("HTTP 400"), "{e}");
    assert!(
        e.contains("(the registry speaks HTTPS: drop --insecure)"),
        "{e}"
    );

    let e = fails(&["unpack", &src, d], &[]);
    assert!(e.contains("UnknownIssuer"), "{e}");
    assert!(
        e.contains("SSL_CERT_FILE") && e.contains("CA_BUNDLE_VOLUME_MOUNT_POINT"),
        "{e}"
    );

    // Trusted, the request reaches the registry, which has no such repository.
    let ca = certs.join("ca.pem");
    let kserve = tmp.path().join("kserve-ca");
    fs::create_dir(&kserve).unwrap();
    fs::copy(&ca, kserve.join("cabundle.crt")).unwrap();
    for env in [
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
        ("CA_BUNDLE_VOLUME_MOUNT_POINT", kserve.to_str().unwrap()),
    ] {
        let e = fails(&["unpack", &src, d], &[env]);
        assert!(
            e.contains("the registry has no repository m"),
            "{env:?}: {e}"
        );
    }
    assert!(!dest.exists());

    // The CA certificate served as the registry's own.
    let ca_served = Registry::start(Some((&ca, &certs.join("ca.key"))));
    let src = format!("{}/m:v1", ca_served.host);
    let e = fails(
        &["unpack", &src, d],
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    assert!(
        e.contains("serve a leaf certificate signed by that CA"),
        "{e}"
    );
}

/// A 404 says whether the repository is unknown or the tag is not among its tags.
#[test]
fn missing_repository_and_missing_tag_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    fs::create_dir(&model).unwrap();
    fs::write(model.join("w.bin"), b"weights").unwrap();
    let reg = Registry::start(None);
    for t in ["v1", "v2"] {
        let o = run(
            &[
                model.to_str().unwrap(),
                "--insecure",
                "--push",
                &format!("{}/team/m:{t}", reg.host),
            ],
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let dest = tmp.path().join("dest");
    let d = dest.to_str().unwrap();
    let e = fails(
        &[
            "unpack",
            "--insecure",
            &format!("{}/team/m:v3", reg.host),
            d,
        ],
        &[],
    );
    assert!(
        e.contains(
            r#"not found in the registry: repository team/m has no tag "v3"; its 2 tag(s): v1, v2"#
        ),
        "{e}"
    );
    let e = fails(
        &[
            "unpack",
            "--insecure",
            &format!("{}/team/x:v1", reg.host),
            d,
        ],
        &[],
    );
    assert!(
        e.contains("not found in the registry: the registry has no repository team/x"),
        "{e}"
    );
    assert!(!dest.exists());
}

/// An explicitly set REGISTRY_AUTH_FILE that does not exist is named when credentials are
/// wanted and none are found.
#[test]
fn a_missing_registry_auth_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new("htpasswd")
        .args(["-Bbn", "u", "p"])
        .output()
        .expect("htpasswd (apache2-utils)");
    let htpasswd = tmp.path().join("htpasswd");
    fs::write(&htpasswd, o.stdout).unwrap();
    let reg = Registry::start_with(
        None,
        &format!(
            "auth:\n  htpasswd:\n    realm: mcb-test\n    path: {}\n",
            htpasswd.display()
        ),
    );
    let gone = tmp.path().join("nope/auth.json");
    let home = tmp.path().join("home");
    let e = fails(
        &[
            "unpack",
            "--insecure",
            &format!("{}/m:v1", reg.host),
            tmp.path().join("d").to_str().unwrap(),
        ],
        &[
            ("REGISTRY_AUTH_FILE", gone.to_str().unwrap()),
            ("HOME", home.to_str().unwrap()),
            ("DOCKER_CONFIG", home.to_str().unwrap()),
            ("XDG_RUNTIME_DIR", home.to_str().unwrap()),
        ],
    );
    assert!(
        e.contains(&format!(
            "; REGISTRY_AUTH_FILE names {}, which does not exist",
            gone.display()
        )),
        "{e}"
    );
}
