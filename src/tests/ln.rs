use super::*;
use crate::testutil::{run_builtin, TempDir};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The status; ln writes nothing to standard output.
fn ln(args: &[Vec<u8>]) -> i32 {
    let (status, out) = run_builtin(run, args, false);
    assert_eq!(out, b"", "ln wrote to standard output");
    status
}

fn opt(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn readlink(p: &Path) -> PathBuf {
    fs::read_link(p).unwrap()
}

#[test]
fn symlink_creation() {
    let t = TempDir::new("create");
    assert_eq!(ln(&[opt("-s"), opt("/mnt/models"), t.bytes("link")]), 0);
    assert_eq!(readlink(&t.path("link")), Path::new("/mnt/models"));
    // A relative target is stored as given.
    assert_eq!(ln(&[opt("-s"), opt("../x y"), t.bytes("rel")]), 0);
    assert_eq!(readlink(&t.path("rel")), Path::new("../x y"));
    assert_eq!(t.entries(""), ["link", "rel"]);
}

#[test]
fn existing_link_without_force_fails() {
    let t = TempDir::new("exists");
    assert_eq!(ln(&[opt("-s"), opt("/a"), t.bytes("link")]), 0);
    assert_eq!(ln(&[opt("-s"), opt("/b"), t.bytes("link")]), 1);
    assert_eq!(readlink(&t.path("link")), Path::new("/a"));
    fs::write(t.path("file"), b"x").unwrap();
    assert_eq!(ln(&[opt("-s"), opt("/b"), t.bytes("file")]), 1);
    assert_eq!(fs::read(t.path("file")).unwrap(), b"x");
}

#[test]
fn force_replaces_atomically_leaving_no_temp_file() {
    let t = TempDir::new("force");
    assert_eq!(ln(&[opt("-s"), opt("/a"), t.bytes("link")]), 0);
    assert_eq!(ln(&[opt("-sf"), opt("/b"), t.bytes("link")]), 0);
    assert_eq!(readlink(&t.path("link")), Path::new("/b"));
    assert_eq!(ln(&[opt("-s"), opt("-f"), opt("/c"), t.bytes("link")]), 0);
    assert_eq!(readlink(&t.path("link")), Path::new("/c"));
    // Over a regular file.
    fs::write(t.path("file"), b"x").unwrap();
    assert_eq!(ln(&[opt("-fs"), opt("/d"), t.bytes("file")]), 0);
    assert_eq!(readlink(&t.path("file")), Path::new("/d"));
    // Nothing but the links themselves remains: no `.link.ln-PID`.
    assert_eq!(t.entries(""), ["file", "link"]);
    // -f with nothing to replace simply creates.
    assert_eq!(ln(&[opt("-sf"), opt("/e"), t.bytes("new")]), 0);
    assert_eq!(readlink(&t.path("new")), Path::new("/e"));
    assert_eq!(t.entries(""), ["file", "link", "new"]);
}

#[test]
fn force_never_removes_or_replaces_a_name_it_did_not_make() {
    let t = TempDir::new("force-races");
    // The first temporary name is a fixed function of the link and the pid: one left behind by
    // a run killed between symlink() and rename() is met again by the next run with that pid
    // (a container's PID 1), and the name may be anyone's. It is never removed or replaced: the
    // next name is taken (an earlier version unlinked it first: found by the differential's
    // issue).
    assert_eq!(ln(&[opt("-s"), opt("/a"), t.bytes("link")]), 0);
    let stale = t.path(&format!(".link.ln-{}", std::process::id()));
    std::os::unix::fs::symlink("/stale", &stale).unwrap();
    assert_eq!(ln(&[opt("-sf"), opt("/b"), t.bytes("link")]), 0);
    assert_eq!(readlink(&t.path("link")), Path::new("/b"));
    assert_eq!(readlink(&stale), Path::new("/stale"));
    // A directory there (the old code then failed), and the next name taken as well.
    fs::remove_file(&stale).unwrap();
    fs::create_dir(&stale).unwrap();
    let next = t.path(&format!(".link.ln-{}-1", std::process::id()));
    fs::write(&next, b"mine").unwrap();
    assert_eq!(ln(&[opt("-sf"), opt("/c"), t.bytes("link")]), 0);
    assert_eq!(readlink(&t.path("link")), Path::new("/c"));
    assert!(stale.is_dir());
    assert_eq!(fs::read(&next).unwrap(), b"mine");
    let mut names = t.entries("");
    names.sort();
    let pid = std::process::id();
    assert_eq!(
        names,
        [
            format!(".link.ln-{pid}"),
            format!(".link.ln-{pid}-1"),
            "link".into()
        ]
    );
}

#[test]
fn into_an_existing_directory() {
    let t = TempDir::new("into-dir");
    fs::create_dir(t.path("dir")).unwrap();
    assert_eq!(ln(&[opt("-s"), opt("/x/model.bin"), t.bytes("dir")]), 0);
    assert_eq!(
        readlink(&t.path("dir/model.bin")),
        Path::new("/x/model.bin")
    );
    // A trailing slash on the target is ignored for the name.
    assert_eq!(ln(&[opt("-s"), opt("/x/sub/"), t.bytes("dir")]), 0);
    assert_eq!(readlink(&t.path("dir/sub")), Path::new("/x/sub/"));
    // Several targets.
    assert_eq!(ln(&[opt("-s"), opt("/a"), opt("b/c"), t.bytes("dir")]), 0);
    assert_eq!(t.entries("dir"), ["a", "c", "model.bin", "sub"]);
    // With -f, a link inside the directory is replaced.
    assert_eq!(ln(&[opt("-sf"), opt("/y/model.bin"), t.bytes("dir")]), 0);
    assert_eq!(
        readlink(&t.path("dir/model.bin")),
        Path::new("/y/model.bin")
    );
    assert_eq!(t.entries("dir"), ["a", "c", "model.bin", "sub"]);
    // Through a trailing slash on the directory.
    let mut dir_slash = t.bytes("dir");
    dir_slash.push(b'/');
    assert_eq!(ln(&[opt("-s"), opt("/z"), dir_slash]), 0);
    assert_eq!(readlink(&t.path("dir/z")), Path::new("/z"));
}

#[test]
fn force_never_replaces_a_directory() {
    let t = TempDir::new("force-dir");
    fs::create_dir_all(t.path("dir/model")).unwrap();
    // dir/model is a directory: -f refuses to replace it.
    assert_eq!(ln(&[opt("-sf"), opt("/x/model"), t.bytes("dir")]), 1);
    assert!(t.path("dir/model").is_dir());
    assert_eq!(t.entries("dir"), ["model"]);
    // A file named with a trailing slash cannot be replaced either (the rename is refused,
    // reported as busybox does, "File exists"), and no temporary is left behind.
    fs::write(t.path("file"), b"x").unwrap();
    let mut file_slash = t.bytes("file");
    file_slash.push(b'/');
    assert_eq!(ln(&[opt("-sf"), opt("/x"), file_slash]), 1);
    assert_eq!(fs::read(t.path("file")).unwrap(), b"x");
    assert_eq!(t.entries(""), ["dir", "file"]);
}

#[test]
fn no_dereference() {
    let t = TempDir::new("n");
    fs::create_dir(t.path("real")).unwrap();
    assert_eq!(ln(&[opt("-s"), t.bytes("real"), t.bytes("cur")]), 0);
    // Without -n, a link to a directory is a directory: the new link goes inside it.
    assert_eq!(ln(&[opt("-sf"), opt("/v2"), t.bytes("cur")]), 0);
    assert_eq!(readlink(&t.path("real/v2")), Path::new("/v2"));
    assert_eq!(readlink(&t.path("cur")), t.path("real"));
    // With -n, the link itself is replaced.
    assert_eq!(ln(&[opt("-sfn"), opt("/v3"), t.bytes("cur")]), 0);
    assert_eq!(readlink(&t.path("cur")), Path::new("/v3"));
    assert_eq!(t.entries(""), ["cur", "real"]);
    assert_eq!(t.entries("real"), ["v2"]);
    // -n without -f on an existing link fails and changes nothing.
    assert_eq!(ln(&[opt("-sn"), opt("/v4"), t.bytes("cur")]), 1);
    assert_eq!(readlink(&t.path("cur")), Path::new("/v3"));
    // -n does not stop a real directory from receiving the link.
    assert_eq!(ln(&[opt("-sn"), opt("/v5"), t.bytes("real")]), 0);
    assert_eq!(readlink(&t.path("real/v5")), Path::new("/v5"));
}

#[test]
fn hard_links() {
    let t = TempDir::new("hard");
    fs::write(t.path("file"), b"data").unwrap();
    assert_eq!(ln(&[t.bytes("file"), t.bytes("hl")]), 0);
    let ino = |p: &Path| fs::symlink_metadata(p).unwrap().ino();
    assert_eq!(ino(&t.path("file")), ino(&t.path("hl")));
    assert!(!fs::symlink_metadata(t.path("hl"))
        .unwrap()
        .file_type()
        .is_symlink());
    // Existing without -f.
    fs::write(t.path("other"), b"other").unwrap();
    assert_eq!(ln(&[t.bytes("file"), t.bytes("other")]), 1);
    assert_eq!(fs::read(t.path("other")).unwrap(), b"other");
    // With -f.
    assert_eq!(ln(&[opt("-f"), t.bytes("file"), t.bytes("other")]), 0);
    assert_eq!(ino(&t.path("file")), ino(&t.path("other")));
    // A missing target is an error and creates nothing.
    assert_eq!(ln(&[t.bytes("missing"), t.bytes("hl2")]), 1);
    assert_eq!(ln(&[opt("-f"), t.bytes("missing"), t.bytes("hl")]), 1);
    assert_eq!(ino(&t.path("file")), ino(&t.path("hl")));
    // -f onto itself leaves the file and no temporary.
    assert_eq!(ln(&[opt("-f"), t.bytes("file"), t.bytes("file")]), 0);
    assert_eq!(fs::read(t.path("file")).unwrap(), b"data");
    assert_eq!(t.entries(""), ["file", "hl", "other"]);
}

#[test]
fn symlinks_may_dangle() {
    let t = TempDir::new("dangle");
    assert_eq!(ln(&[opt("-s"), t.bytes("missing"), t.bytes("l")]), 0);
    assert!(fs::metadata(t.path("l")).is_err());
    assert_eq!(readlink(&t.path("l")), t.path("missing"));
}

#[test]
fn errors() {
    let t = TempDir::new("errors");
    assert_eq!(ln(&[]), 1);
    assert_eq!(ln(&[opt("-s")]), 1);
    assert_eq!(ln(&[opt("-x"), opt("/a"), t.bytes("l")]), 1);
    assert_eq!(ln(&[opt("-s"), opt("/a"), t.bytes("no/such/dir/l")]), 1);
    // Several targets into something that is not a directory: as in busybox (which has
    // no "not a directory" check), the first makes the link and the others fail.
    assert_eq!(ln(&[opt("-s"), opt("/a"), opt("/b"), t.bytes("notdir")]), 1);
    assert_eq!(t.entries(""), ["notdir"]);
    assert_eq!(readlink(&t.path("notdir")), Path::new("/a"));
    // One failure among several still makes the others.
    fs::create_dir(t.path("d")).unwrap();
    fs::create_dir(t.path("d/b")).unwrap();
    assert_eq!(
        ln(&[opt("-sf"), opt("/a"), opt("/b"), opt("/c"), t.bytes("d")]),
        1
    );
    assert_eq!(t.entries("d"), ["a", "b", "c"]);
    assert!(t.path("d/b").is_dir());
}

#[test]
fn force_replaces_a_link_with_a_long_name() {
    let t = TempDir::new("long-bug");
    let name = "a".repeat(250);
    assert_eq!(ln(&[opt("-s"), opt("/a"), t.bytes(&name)]), 0);
    assert_eq!(ln(&[opt("-sf"), opt("/b"), t.bytes(&name)]), 0);
    assert_eq!(readlink(&t.path(&name)), Path::new("/b"));
}

#[test]
fn a_link_path_past_path_max_is_refused_not_cut() {
    let t = TempDir::new("path-max");
    fs::create_dir(t.path("dir")).unwrap();
    let path_max = libc::PATH_MAX as usize;
    // `DIR////...`: still the directory, padded so that `DIR////...model.bin` is as long as
    // `extra` bytes short of PATH_MAX, NUL excluded.
    let padded = |extra: usize| {
        let mut d = t.bytes("dir");
        d.resize(path_max - extra - b"model.bin".len(), b'/');
        d
    };
    // The longest path the kernel takes: the link is made inside the directory.
    assert_eq!(ln(&[opt("-s"), opt("/x/model.bin"), padded(1)]), 0);
    assert_eq!(
        readlink(&t.path("dir/model.bin")),
        Path::new("/x/model.bin")
    );
    // One byte more: the kernel refuses the whole path (ENAMETOOLONG), so no link with a cut
    // name (`mode`, `model.bi`) appears.
    assert_eq!(ln(&[opt("-s"), opt("/y/model.bin"), padded(0)]), 1);
    assert_eq!(ln(&[opt("-sf"), opt("/y/model.bin"), padded(0)]), 1);
    assert_eq!(t.entries("dir"), ["model.bin"]);
    assert_eq!(
        readlink(&t.path("dir/model.bin")),
        Path::new("/x/model.bin")
    );
}

#[test]
fn the_name_is_the_start_of_the_usage_message() {
    assert_eq!(NAME, b"ln");
}
