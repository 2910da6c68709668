//! Path helpers shared by the builtins.

use crate::sys::PathBuf;

/// The last component, ignoring trailing slashes (`/a/b/` -> `b`, `/` -> `/`), like basename(1).
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    // After the last slash; only slashes (the root itself) leave nothing after it.
    let mut dir = trimmed;
    while let [head @ .., last] = dir {
        if *last == b'/' {
            break;
        }
        dir = head;
    }
    match trimmed.get(dir.len()..) {
        Some(name) if !name.is_empty() => name,
        _ => trimmed,
    }
}

fn trim_trailing_slashes(mut path: &[u8]) -> &[u8] {
    // Slice patterns: no index, so no bounds check to panic.
    while let [head @ .., b'/'] = path {
        if head.is_empty() {
            break;
        }
        path = head;
    }
    path
}

/// Appends `/name` to the directory in `path`, without doubling a slash. Leading slashes of
/// the name are dropped, as busybox's concat_path_file does.
pub fn join(path: &mut PathBuf, mut name: &[u8]) {
    if !matches!(path.as_bytes(), [.., b'/']) {
        path.push(b"/");
    }
    while let [b'/', rest @ ..] = name {
        name = rest;
    }
    path.push(name);
}

#[cfg(test)]
#[path = "../tests/path.rs"]
mod tests;
