//! Collects the model's files: relative paths kept, sorted, and everything that cannot go
//! into a modelcar (devices, sockets, fifos, unreadable files, symlinks leaving the model
//! directory) refused with a message naming the path.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Dir,
    File { src: PathBuf, size: u64, exec: bool },
    Symlink { target: String },
}

/// Model entries keyed by their path relative to `/models` ("a/b.bin"), sorted.
pub type Tree = BTreeMap<String, Item>;

/// Walks every `MODEL_PATH`: a directory contributes its contents, a file itself.
pub fn collect(paths: &[PathBuf]) -> Result<Tree> {
    let mut tree = Tree::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|e| Error::msg(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            let root =
                fs::canonicalize(p).map_err(|e| Error::msg(format!("{}: {e}", p.display())))?;
            walk_dir(&root, &root, "", &mut tree)?;
        } else {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::msg(format!("{}: not a usable file name", p.display())))?;
            let item = file_item(p, &meta)?;
            insert(&mut tree, name.to_string(), item, p)?;
        }
    }
    if !tree.values().any(|i| !matches!(i, Item::Dir)) {
        let list: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::msg(format!(
            "no model files found in {}",
            list.join(", ")
        )));
    }
    Ok(tree)
}

fn insert(tree: &mut Tree, rel: String, item: Item, src: &Path) -> Result<()> {
    match tree.get(&rel) {
        Some(Item::Dir) if item == Item::Dir => Ok(()),
        Some(_) => Err(Error::msg(format!(
            "{}: two inputs give the same path /models/{rel}",
            src.display()
        ))),
        None => {
            tree.insert(rel, item);
            Ok(())
        }
    }
}

fn file_item(p: &Path, meta: &fs::Metadata) -> Result<Item> {
    let ft = meta.file_type();
    if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket() {
        return Err(Error::msg(format!(
            "{}: not a regular file (device, fifo or socket); refusing it",
            p.display()
        )));
    }
    // Open now so an unreadable file fails before anything is written.
    fs::File::open(p).map_err(|e| Error::msg(format!("{}: cannot read: {e}", p.display())))?;
    Ok(Item::File {
        src: p.to_path_buf(),
        size: meta.len(),
        exec: meta.permissions().mode() & 0o111 != 0,
    })
}

fn walk_dir(root: &Path, dir: &Path, prefix: &str, tree: &mut Tree) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
        names.push(e.file_name());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let name = name
            .to_str()
            .ok_or_else(|| Error::msg(format!("{}: file name is not UTF-8", path.display())))?;
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
        if meta.file_type().is_symlink() {
            let target = symlink_target(root, &path)?;
            insert(tree, rel, Item::Symlink { target }, &path)?;
        } else if meta.is_dir() {
            insert(tree, rel.clone(), Item::Dir, &path)?;
            walk_dir(root, &path, &rel, tree)?;
        } else {
            let item = file_item(&path, &meta)?;
            insert(tree, rel, item, &path)?;
        }
    }
    Ok(())
}

/// A symlink is kept as a symlink if its target, relative, stays inside the model directory.
fn symlink_target(root: &Path, link: &Path) -> Result<String> {
    let target = fs::read_link(link).map_err(|e| Error::msg(format!("{}: {e}", link.display())))?;
    let escapes = || {
        Error::msg(format!(
            "{}: symlink to {} points outside the model directory; refusing it",
            link.display(),
            target.display()
        ))
    };
    if target.is_absolute() {
        return Err(escapes());
    }
    // Lexically: the target must not climb above the root.
    let mut depth = link
        .parent()
        .unwrap_or(root)
        .strip_prefix(root)
        .map_err(|_| escapes())?
        .components()
        .count() as i64;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(escapes());
        }
    }
    // And for real (chains of links): the resolved target must exist inside the root.
    let resolved = fs::canonicalize(link).map_err(|e| {
        Error::msg(format!(
            "{}: dangling symlink to {}: {e}",
            link.display(),
            target.display()
        ))
    })?;
    if !resolved.starts_with(root) {
        return Err(escapes());
    }
    target
        .to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::msg(format!("{}: link target is not UTF-8", link.display())))
}
