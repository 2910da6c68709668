use super::*;
use crate::sys;

const PATH_MAX: usize = libc::PATH_MAX as usize;

/// `dir` joined with `name` in a new PathBuf.
fn join_buf(dir: &[u8], name: &[u8]) -> sys::PathBuf {
    let mut p = sys::PathBuf::default();
    p.push(dir);
    super::join(&mut p, name);
    p
}

/// `join`'s bytes (the old `join` returned a Vec).
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    join_buf(dir, name).as_bytes().to_vec()
}

#[test]
fn basename_cases() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"a", b"a"),
        (b"a/b", b"b"),
        (b"/a/b", b"b"),
        (b"/a/b/", b"b"),
        (b"/a/b///", b"b"),
        (b"a//", b"a"),
        (b"//a//b//", b"b"),
        (b"/a", b"a"),
        (b"./a", b"a"),
        (b"a/.", b"."),
        (b"a/..", b".."),
        (b"", b""),
        (b"/mnt/models", b"models"),
    ];
    for (path, want) in cases {
        assert_eq!(
            basename(path),
            *want,
            "basename({})",
            String::from_utf8_lossy(path)
        );
    }
}

#[test]
fn join_cases() {
    assert_eq!(join(b"a", b"b"), b"a/b");
    assert_eq!(join(b"a/", b"b"), b"a/b");
    assert_eq!(join(b"/", b"b"), b"/b");
    assert_eq!(join(b"/mnt/models", b"m.bin"), b"/mnt/models/m.bin");
    // The dir is kept as it is; the name's leading slashes go (busybox's concat_path_file).
    assert_eq!(join(b"a//", b"b"), b"a//b");
    assert_eq!(join(b"a", b"/b"), b"a/b");
    assert_eq!(join(b"a", b""), b"a/");
}

#[test]
fn basename_of_the_root_is_the_root() {
    assert_eq!(basename(b"/"), b"/");
    assert_eq!(basename(b"//"), b"/");
    assert_eq!(basename(b"/a"), b"a");
    // `ln -s /` in a directory: the link is named "/" there, like busybox.
    assert_eq!(join(b"/", basename(b"/")), b"/");
    assert_eq!(join(b"/mnt", b"//x"), b"/mnt/x");
}

#[test]
fn push_appends() {
    let mut p = join_buf(b"/mnt", b"models");
    p.push(b".");
    p.push(b"");
    p.push(b"m.ln-42");
    assert_eq!(p.as_bytes(), b"/mnt/models.m.ln-42");
    // join of an empty dir starts at the root, as busybox's concat_path_file does.
    assert_eq!(join(b"", b"a"), b"/a");
    assert_eq!(join(b"", b""), b"/");
}

#[test]
fn a_long_path_is_kept_whole() {
    // No cut at PATH_MAX: the kernel judges the length.
    let dir = vec![b'd'; PATH_MAX - 3];
    let mut p = join_buf(&dir, b"abcdef");
    p.push(b"more");
    assert_eq!(p.as_path().as_bytes(), [&dir[..], b"/abcdefmore"].concat());
}

#[test]
fn paths_of_path_max_bytes_or_more_are_refused_with_enametoolong() {
    // Below PATH_MAX the kernel looks the path up (and finds the first component missing); from
    // PATH_MAX bytes on (no room left for the NUL) it refuses the path.
    let dir = b"/modelcar-base-no-such-dir/";
    let fill = |n: usize| [&dir[..], &vec![b'/'; n - dir.len()]].concat();
    let mut fits = join_buf(&fill(PATH_MAX - 2), b"a");
    assert_eq!(fits.as_bytes().len(), PATH_MAX - 1);
    assert_eq!(
        sys::stat(fits.as_path(), false).unwrap_err(),
        sys::Errno(libc::ENOENT)
    );
    for name in [&b"ab"[..], b"abcdef"] {
        let mut long = join_buf(&fill(PATH_MAX - 2), name);
        assert!(long.as_bytes().len() >= PATH_MAX);
        for follow in [false, true] {
            assert_eq!(
                sys::stat(long.as_path(), follow).unwrap_err(),
                sys::Errno(libc::ENAMETOOLONG)
            );
        }
    }
}
