use super::*;
use crate::testutil::{self, TempDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The status; mkdir writes nothing to standard output.
fn mkdir(args: &[&[u8]]) -> i32 {
    let (status, out) = testutil::run_builtin(run, args, false);
    assert_eq!(out, b"", "mkdir wrote to standard output");
    status
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn creates_a_directory() {
    let t = TempDir::new("create");
    assert_eq!(mkdir(&[&t.bytes("d")]), 0);
    assert!(t.path("d").is_dir());
    // Several at once.
    assert_eq!(mkdir(&[&t.bytes("a"), &t.bytes("b")]), 0);
    assert!(t.path("a").is_dir() && t.path("b").is_dir());
    // A trailing slash is fine.
    assert_eq!(mkdir(&[&t.bytes("slash/")]), 0);
    assert!(t.path("slash").is_dir());
}

#[test]
fn existing_is_an_error_without_p() {
    let t = TempDir::new("exists");
    assert_eq!(mkdir(&[&t.bytes("d")]), 0);
    assert_eq!(mkdir(&[&t.bytes("d")]), 1);
    fs::write(t.path("f"), b"").unwrap();
    assert_eq!(mkdir(&[&t.bytes("f")]), 1);
    assert!(t.path("f").is_file());
}

#[test]
fn missing_parent_is_an_error_without_p() {
    let t = TempDir::new("noparent");
    assert_eq!(mkdir(&[&t.bytes("x/y/z")]), 1);
    assert!(!t.path("x").exists());
}

#[test]
fn parents() {
    let t = TempDir::new("parents");
    assert_eq!(mkdir(&[b"-p", &t.bytes("a/b/c")]), 0);
    assert!(t.path("a/b/c").is_dir());
    // Existing directories are fine with -p, at every level.
    assert_eq!(mkdir(&[b"-p", &t.bytes("a/b/c")]), 0);
    assert_eq!(mkdir(&[b"-p", &t.bytes("a")]), 0);
    assert_eq!(mkdir(&[b"-p", &t.bytes("a/b/d")]), 0);
    assert!(t.path("a/b/d").is_dir());
    // Repeated and trailing slashes.
    assert_eq!(mkdir(&[b"-p", &t.bytes("s//t///u//")]), 0);
    assert!(t.path("s/t/u").is_dir());
    // Dot components.
    assert_eq!(mkdir(&[b"-p", &t.bytes("a/./e/../f")]), 0);
    assert!(t.path("a/e").is_dir() && t.path("a/f").is_dir());
    // An existing symlink to a directory counts as a directory.
    std::os::unix::fs::symlink(t.path("a"), t.path("link")).unwrap();
    assert_eq!(mkdir(&[b"-p", &t.bytes("link/g")]), 0);
    assert!(t.path("a/g").is_dir());
    // `-p /` and the temp dir itself.
    assert_eq!(mkdir(&[b"-p", b"/"]), 0);
    assert_eq!(mkdir(&[b"-p", testutil::bytes(t.root())]), 0);
}

#[test]
fn parents_through_a_file_fail() {
    let t = TempDir::new("through-file");
    fs::write(t.path("f"), b"").unwrap();
    assert_eq!(mkdir(&[b"-p", &t.bytes("f")]), 1);
    assert_eq!(mkdir(&[b"-p", &t.bytes("f/sub")]), 1);
    assert_eq!(mkdir(&[b"-p", &t.bytes("f/")]), 1);
    assert!(t.path("f").is_file());
    // A dangling symlink in the way.
    std::os::unix::fs::symlink(t.path("nowhere"), t.path("dangling")).unwrap();
    assert_eq!(mkdir(&[b"-p", &t.bytes("dangling/x")]), 1);
}

#[test]
fn one_failure_does_not_stop_the_others() {
    let t = TempDir::new("partial");
    assert_eq!(mkdir(&[&t.bytes("no/such"), &t.bytes("ok")]), 1);
    assert!(t.path("ok").is_dir());
}

#[test]
fn explicit_mode_ignores_the_umask() {
    let t = TempDir::new("mode");
    assert_eq!(mkdir(&[b"-m", b"700", &t.bytes("a")]), 0);
    assert_eq!(mode(&t.path("a")), 0o700);
    assert_eq!(mkdir(&[b"-m777", &t.bytes("b")]), 0);
    assert_eq!(mode(&t.path("b")), 0o777);
    assert_eq!(mkdir(&[b"-m", b"0750", &t.bytes("c")]), 0);
    assert_eq!(mode(&t.path("c")), 0o750);
    assert_eq!(mkdir(&[b"-m", b"1777", &t.bytes("sticky")]), 0);
    assert_eq!(mode(&t.path("sticky")), 0o1777);
    assert_eq!(mkdir(&[b"-m", b"0", &t.bytes("zero")]), 0);
    assert_eq!(mode(&t.path("zero")), 0);
    // Readable again, so that the temp dir can be removed when not running as root.
    fs::set_permissions(t.path("zero"), fs::Permissions::from_mode(0o700)).unwrap();
    // Every operand gets the mode.
    assert_eq!(mkdir(&[b"-m", b"711", &t.bytes("d1"), &t.bytes("d2")]), 0);
    assert_eq!(mode(&t.path("d1")), 0o711);
    assert_eq!(mode(&t.path("d2")), 0o711);
}

#[test]
fn mode_with_parents_applies_to_the_last_component() {
    let t = TempDir::new("pmode");
    assert_eq!(mkdir(&[b"-pm", b"750", &t.bytes("x/y/z")]), 0);
    assert_eq!(mode(&t.path("x/y/z")), 0o750);
    // The parents are made with the default mode: they must at least be usable.
    assert_eq!(mode(&t.path("x")) & 0o700, 0o700);
    assert_eq!(mkdir(&[b"-p", b"-m", b"705", &t.bytes("x/w/")]), 0);
    assert_eq!(mode(&t.path("x/w")), 0o705);
    // An existing directory keeps its mode under -p.
    assert_eq!(mkdir(&[b"-p", b"-m", b"700", &t.bytes("x/y/z")]), 0);
    assert_eq!(mode(&t.path("x/y/z")), 0o750);
}

#[test]
fn bad_modes_are_refused_and_create_nothing() {
    let t = TempDir::new("badmode");
    for m in [
        &b"8"[..],
        b"u",
        b"u+q",
        b"12345",
        b"-7",
        b"7a",
        b" 7",
        b"0x7",
        b"+x,o",
        b"u+xw+z",
    ] {
        assert_eq!(
            mkdir(&[b"-m", m, &t.bytes("d")]),
            1,
            "{}",
            String::from_utf8_lossy(m)
        );
        assert!(!t.path("d").exists());
    }
}

#[test]
fn usage_errors() {
    let t = TempDir::new("usage");
    assert_eq!(mkdir(&[]), 1);
    assert_eq!(mkdir(&[b"-p"]), 1);
    assert_eq!(mkdir(&[b"-m", b"755"]), 1);
    assert_eq!(mkdir(&[b"-m"]), 1);
    assert_eq!(mkdir(&[b"-x", &t.bytes("d")]), 1);
    assert_eq!(mkdir(&[b"-pv", &t.bytes("d")]), 1);
    assert!(!t.path("d").exists());
    // `--` ends the options: a directory may start with a dash.
    let dash = t.bytes("-dash");
    assert_eq!(mkdir(&[b"--", &dash]), 0);
    assert!(t.path("-dash").is_dir());
}

#[test]
fn parse_mode_cases() {
    let m = |text: &str| parse_mode(text.as_bytes(), 0o022);
    // Octal, with any number of leading zeros, at most 07777.
    assert_eq!(m("0"), Some(0));
    assert_eq!(m("755"), Some(0o755));
    assert_eq!(m("00000755"), Some(0o755));
    assert_eq!(m("7777"), Some(0o7777));
    assert_eq!(m("77777"), None);
    assert_eq!(m("9"), None);
    // Symbolic, from 0777 (busybox, measured: `mkdir -m MODE` then `ls -ld`).
    assert_eq!(m(""), Some(0o777));
    assert_eq!(m("u+x"), Some(0o777));
    assert_eq!(m("go="), Some(0o700));
    assert_eq!(m("a=rwx,g-w"), Some(0o757));
    assert_eq!(m("=x"), Some(0o111));
    assert_eq!(m("+t"), Some(0o1777));
    assert_eq!(m("u+s"), Some(0o4777));
    assert_eq!(m("g+X"), Some(0o777));
    assert_eq!(m("a-x,g+X"), Some(0o666));
    assert_eq!(m("u=g"), Some(0o777));
    assert_eq!(m("go=,u=g"), Some(0o000));
    assert_eq!(m("o-r,u-w"), Some(0o573));
    assert_eq!(m("u=rwx,o="), Some(0o770));
    assert_eq!(m("ug+w,,"), Some(0o777));
    assert_eq!(m("a=r+w-r"), Some(0o222));
    // Naming nobody leaves out the umask's bits; naming someone does not.
    assert_eq!(m("=w"), Some(0o200));
    assert_eq!(m("a=w"), Some(0o222));
    assert_eq!(m("u"), None);
    assert_eq!(m("x"), None);
    assert_eq!(m("u+r,"), Some(0o777));
}

#[test]
fn dot_and_root_exist_without_p() {
    // busybox: exactly "." and "/" are fine, and get no mode.
    assert_eq!(mkdir(&[b"."]), 0);
    assert_eq!(mkdir(&[b"/"]), 0);
    assert_eq!(mkdir(&[b"-m", b"700", b"."]), 0);
    assert_eq!(mkdir(&[b".."]), 1);
    assert_eq!(mkdir(&[b"//"]), 1);
}

#[test]
fn the_name_is_the_start_of_the_usage_message() {
    assert_eq!(NAME, b"mkdir");
}
