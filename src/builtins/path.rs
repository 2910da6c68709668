//! Path helpers shared by the builtins.

use crate::sys::PathBuf;

/// The last component, ignoring trailing slashes (`/a/b/` -> `b`, `/` -> `/`), like basename(1).
pub fn basename(path: &[u8]) -> &[u8] {
    // One scan from the end, smaller than a trim then a search: `end` drops the
    // trailing slashes, then `rest` stops at the slash before the name. (Slice patterns: no
    // index, so no bounds check to panic.)
    let mut end = path;
    let mut rest = path;
    while let [head @ .., last] = rest {
        if *last == b'/' {
            if rest.len() != end.len() {
                break;
            }
            end = head;
        }
        rest = head;
    }
    match end.get(rest.len()..) {
        Some(name) if !name.is_empty() => name,
        // Only slashes: the root (or nothing, for an empty path). Cut, not `get`: no select of
        // a dangling pointer for the empty case (smaller).
        _ => &path[..path.len().min(1)],
    }
}

/// Appends `/name` to the directory in `path`, without doubling a slash. Leading slashes of
/// the name are dropped, as busybox's concat_path_file does.
pub fn join(path: &mut PathBuf, mut name: &[u8]) {
    // The name first, then the slash: smaller.
    while let [b'/', rest @ ..] = name {
        name = rest;
    }
    if !matches!(path.as_bytes(), [.., b'/']) {
        path.push(b"/");
    }
    path.push(name);
}

#[cfg(test)]
#[path = "../tests/path.rs"]
mod tests;
