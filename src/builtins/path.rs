//! Path helpers shared by the builtins.

use crate::sys::PathBuf;

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

/// `dir/name`, without doubling a slash. Leading slashes of the name are dropped, as busybox's
/// concat_path_file does.
pub fn join(dir: &[u8], name: &[u8]) -> PathBuf {
    let mut p = PathBuf::default();
    p.push(dir);
    if !dir.ends_with(b"/") {
        p.push(b"/");
    }
    let start = name.iter().position(|&c| c != b'/').unwrap_or(name.len());
    p.push(&name[start..]);
    p
}

#[cfg(test)]
#[path = "../tests/path.rs"]
mod tests;
