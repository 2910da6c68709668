use super::*;

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
fn dirname_cases() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"a", b"."),
        (b"a/", b"."),
        (b"a/b", b"a"),
        (b"a/b/", b"a"),
        (b"a//b", b"a"),
        (b"a//b//", b"a"),
        (b"/a", b"/"),
        (b"/a/", b"/"),
        (b"//a", b"/"),
        (b"/", b"/"),
        (b"//", b"/"),
        (b"///", b"/"),
        (b"/a/b", b"/a"),
        (b"/a/b//", b"/a"),
        (b"/a//b", b"/a"),
        (b"", b"."),
        (b".", b"."),
        (b"../x", b".."),
        (b"/mnt/models", b"/mnt"),
    ];
    for (path, want) in cases {
        assert_eq!(
            dirname(path),
            *want,
            "dirname({})",
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
fn join_of_dirname_and_basename_names_the_same_file() {
    for path in [&b"a/b"[..], b"/a/b", b"/a/b/", b"a//b", b"/b"] {
        let joined = join(dirname(path), basename(path));
        let trimmed = {
            let mut p = path.to_vec();
            while p.len() > 1 && p.ends_with(b"/") {
                p.pop();
            }
            p
        };
        // Up to repeated slashes, which name the same file.
        let squash = |p: &[u8]| {
            let mut out: Vec<u8> = Vec::new();
            for &c in p {
                if !(c == b'/' && out.last() == Some(&b'/')) {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(squash(&joined), squash(&trimmed));
    }
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
