//! Path helpers shared by the builtins.

use alloc::vec::Vec;

/// The last component, ignoring trailing slashes (`/a/b/` -> `b`), like basename(1).
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    match trimmed.iter().rposition(|&c| c == b'/') {
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

/// `dir/name`, without doubling a slash.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = dir.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}
