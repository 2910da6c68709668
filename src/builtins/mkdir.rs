//! `mkdir [-p] [-m MODE] DIR...`, like busybox mkdir (octal modes only).

use super::options;
use crate::args::Args;
use crate::output::{error_line, Output};
use crate::sys;

pub fn run(args: Args, _out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"mkdir", args, b"p", Some(b'm')) else {
        return 1;
    };
    let mode = match opts.value {
        None => None,
        Some(text) => match parse_octal_mode(text) {
            Some(m) => Some(m),
            None => {
                // Octal only: symbolic modes (u+x) are refused, not guessed.
                error_line(&[b"mkdir: invalid mode '", text, b"'"]);
                return 1;
            }
        },
    };
    if opts.operands.is_empty() {
        error_line(&[b"mkdir: missing operand"]);
        return 1;
    }
    let parents = opts.has(b'p');
    let mut status = 0;
    for dir in opts.operands {
        if make(dir, mode, parents).is_err() {
            status = 1;
        }
    }
    status
}

fn parse_octal_mode(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 4 || !text.iter().all(|c| (b'0'..=b'7').contains(c)) {
        return None;
    }
    Some(text.iter().fold(0, |m, &d| m * 8 + (d - b'0') as u32))
}

/// busybox's algorithm: with -p, make each prefix ending after a run of slashes, accepting
/// existing directories; the message names the prefix that failed.
fn make(path: &[u8], mode: Option<u32>, parents: bool) -> Result<(), ()> {
    let mut end = 0;
    loop {
        let mut last = true;
        if parents {
            // Past leading non-slashes, then the run of slashes after them.
            while end < path.len() && path[end] != b'/' {
                end += 1;
            }
            while end < path.len() && path[end] == b'/' {
                end += 1;
            }
            last = end >= path.len();
        } else {
            end = path.len();
        }
        let prefix = &path[..end];
        let create_mode = if last { mode.unwrap_or(0o777) } else { 0o777 };
        match sys::mkdir(prefix, create_mode) {
            Ok(()) => {
                if last {
                    if let Some(m) = mode {
                        // The umask must not change an explicit -m.
                        if let Err(e) = sys::chmod(prefix, m) {
                            fail(b"set permissions of", prefix, e);
                            return Err(());
                        }
                    }
                    return Ok(());
                }
            }
            Err(e) => {
                let exists = e == sys::EEXIST || e == sys::EISDIR;
                if !exists || !parents {
                    fail(b"create", prefix, e);
                    return Err(());
                }
                // Exists: fine if it is a directory. Like busybox, a failing stat names its
                // own error (`file/` -> Not a directory).
                match sys::stat(prefix, true) {
                    Ok(st) if st.is_dir() => {}
                    Ok(_) => {
                        fail(b"create", prefix, e);
                        return Err(());
                    }
                    Err(stat_error) => {
                        fail(b"create", prefix, stat_error);
                        return Err(());
                    }
                }
                if last {
                    return Ok(());
                }
            }
        }
    }
}

fn fail(what: &[u8], path: &[u8], e: sys::Errno) {
    error_line(&[
        b"mkdir: can't ",
        what,
        b" directory '",
        path,
        b"': ",
        crate::errors::errno_text(e).as_bytes(),
    ]);
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self, TempDir};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn mkdir(args: &[&[u8]]) -> i32 {
        run(&testutil::args(args), &mut Output::default())
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
            b"u+x",
            b"a=rwx",
            b"12345",
            b"",
            b"-7",
            b"7a",
            b" 7",
            b"0x7",
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
    fn parse_octal_mode_cases() {
        assert_eq!(parse_octal_mode(b"0"), Some(0));
        assert_eq!(parse_octal_mode(b"755"), Some(0o755));
        assert_eq!(parse_octal_mode(b"0755"), Some(0o755));
        assert_eq!(parse_octal_mode(b"7777"), Some(0o7777));
        assert_eq!(parse_octal_mode(b"77777"), None);
        assert_eq!(parse_octal_mode(b"00000"), None);
        assert_eq!(parse_octal_mode(b"9"), None);
        assert_eq!(parse_octal_mode(b""), None);
    }
}
