//! Path helpers shared by the builtins, and `PathBuf`, a path built on the stack.

/// The last component, ignoring trailing slashes (`/a/b/` -> `b`, `/` -> `/`), like basename(1).
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    match trimmed.iter().rposition(|&c| c == b'/') {
        // Only slashes: the root itself.
        Some(0) if trimmed.len() == 1 => trimmed,
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Everything before the last component (`a/b` -> `a`, `b` -> `.`, `/b` -> `/`).
pub fn dirname(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    match trimmed.iter().rposition(|&c| c == b'/') {
        Some(0) => b"/",
        Some(i) => trim_trailing_slashes(&trimmed[..i]),
        None => b".",
    }
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

const PATH_MAX: usize = libc::PATH_MAX as usize;

/// A path of at most PATH_MAX bytes. A longer one is cut at PATH_MAX, which the system calls
/// refuse with ENAMETOOLONG, as the kernel would the whole path.
pub struct PathBuf {
    bytes: [u8; PATH_MAX],
    len: usize,
}

impl PathBuf {
    /// `dir/name`, without doubling a slash. Leading slashes of the name are dropped, as
    /// busybox's concat_path_file does.
    pub fn join(dir: &[u8], name: &[u8]) -> PathBuf {
        let mut p = PathBuf {
            bytes: [0; PATH_MAX],
            len: 0,
        };
        p.push(dir);
        if !dir.ends_with(b"/") {
            p.push(b"/");
        }
        let start = name.iter().position(|&c| c != b'/').unwrap_or(name.len());
        p.push(&name[start..]);
        p
    }

    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len < PATH_MAX {
                self.bytes[self.len] = b;
                self.len += 1;
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
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
}
