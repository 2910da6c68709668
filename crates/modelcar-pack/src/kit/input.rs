//! A Kitfile's context directory as input: the files of each entry, keyed by their path
//! relative to the context (which is where `kit unpack` puts them). As `kit pack`: a file
//! under two entries' paths belongs to the deeper entry, the Kitfile and `.kitignore` at the
//! top are never packed, and only regular files and directories are (symlinks are skipped).

use super::{filter, Entry, Kind, Kitfile, IGNORED};
use crate::error::{Error, Result};
use crate::layers::LayerPlan;
use crate::walk::{self, Item, Tree};
use std::path::{Path, PathBuf};

pub struct KitInput {
    pub kitfile: Kitfile,
    /// The Kitfile's path, for messages.
    pub origin: String,
    /// Every entry with its files (paths relative to the context directory).
    pub entries: Vec<(Entry, Tree)>,
}

/// Reads `kitfile` (default: the one in `dir`) and collects every entry's files.
pub fn load(dir: &Path, kitfile: Option<&Path>) -> Result<KitInput> {
    let kpath: PathBuf = match kitfile {
        Some(p) => p.to_path_buf(),
        None => super::find_in(dir).ok_or_else(|| {
            Error::msg(format!(
                "{}: no Kitfile (looked for {})",
                dir.display(),
                super::DEFAULT_NAMES.join(", ")
            ))
        })?,
    };
    let origin = kpath.display().to_string();
    let text = std::fs::read_to_string(&kpath).map_err(|e| Error::msg(format!("{origin}: {e}")))?;
    let kf = Kitfile::parse(&text, &origin)?;
    let list = kf.entries(&origin)?;
    if list.is_empty() {
        return Err(Error::msg(format!(
            "{origin}: names no model, code, datasets or docs"
        )));
    }
    let root =
        std::fs::canonicalize(dir).map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
    let mut entries = Vec::new();
    for e in &list {
        let p = root.join(&e.path);
        let real = std::fs::canonicalize(&p).map_err(|_| {
            Error::msg(format!(
                "{origin}: {}: {:?} does not exist in {}",
                e.field,
                e.path,
                dir.display()
            ))
        })?;
        if !real.starts_with(&root) {
            return Err(Error::msg(format!(
                "{origin}: {}: {:?} leaves {} (through a symlink)",
                e.field,
                e.path,
                dir.display()
            )));
        }
        let found = walk::collect(std::slice::from_ref(&real))?;
        let mut tree = Tree::new();
        let single = !real.is_dir();
        for (rel, item) in found {
            if matches!(item, Item::Symlink { .. }) {
                continue;
            }
            let full = if single {
                e.path.clone()
            } else if e.path.is_empty() {
                rel
            } else {
                format!("{}/{rel}", e.path)
            };
            if IGNORED.contains(&full.as_str()) {
                continue;
            }
            if owner(&list, &full) == Some(e) {
                tree.insert(full, item);
            }
        }
        entries.push((e.clone(), tree));
    }
    Ok(KitInput {
        kitfile: kf,
        origin,
        entries,
    })
}

/// The entry a path belongs to: the one with the longest path containing it.
fn owner<'a>(list: &'a [Entry], rel: &str) -> Option<&'a Entry> {
    list.iter()
        .filter(|e| super::within(rel, &e.path))
        .max_by_key(|e| e.path.len())
}

impl KitInput {
    /// The files of the entries `filters` select, as one tree.
    pub fn selected(&self, filters: &[filter::Filter]) -> Result<Tree> {
        let raw = self.kitfile.raw_paths();
        let mut tree = Tree::new();
        for (i, (e, t)) in self.entries.iter().enumerate() {
            if filter::selected(filters, e, &raw[i]) {
                tree.extend(t.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        if !tree.values().any(|i| matches!(i, Item::File { .. })) {
            return Err(Error::msg(format!(
                "{}: the filter selects no files",
                self.origin
            )));
        }
        Ok(tree)
    }

    /// The model card among the selected files: a top-level README.md (the layer planner
    /// takes that one itself), else a docs entry that is a README, else the model's README.md.
    pub fn card(&self, tree: &Tree) -> Option<String> {
        if tree.contains_key("README.md") {
            return None;
        }
        let readme_in = |dir: &str| {
            let p = if dir.is_empty() {
                "README.md".to_string()
            } else {
                format!("{dir}/README.md")
            };
            matches!(tree.get(&p), Some(Item::File { .. })).then_some(p)
        };
        for (e, _) in &self.entries {
            if e.kind == Kind::Docs {
                let base = e.path.rsplit('/').next().unwrap_or("");
                if base.eq_ignore_ascii_case("readme.md")
                    && matches!(tree.get(&e.path), Some(Item::File { .. }))
                {
                    return Some(e.path.clone());
                }
                if let Some(p) = readme_in(&e.path) {
                    return Some(p);
                }
            }
        }
        let model = self.entries.iter().find(|(e, _)| e.kind == Kind::Model)?;
        readme_in(&model.0.path)
    }
}

/// Moves the model card at `card` out of whatever layer the planner put it in, into a
/// layer of its own, last and annotated (as the planner does for a top-level README.md).
pub fn plan_with_card(tree: &Tree, small_max: u64, card: Option<&str>) -> Vec<LayerPlan> {
    let Some(card) = card else {
        return crate::layers::plan(tree, small_max);
    };
    let mut rest = tree.clone();
    let Some(item) = rest.remove(card) else {
        return crate::layers::plan(tree, small_max);
    };
    let size = match &item {
        Item::File { size, .. } => *size,
        _ => 0,
    };
    let mut plans = crate::layers::plan(&rest, small_max);
    let mut entries = Tree::from([(String::new(), Item::Dir)]);
    let mut p = card;
    while let Some(i) = p.rfind('/') {
        p = &p[..i];
        entries.insert(p.to_string(), Item::Dir);
    }
    entries.insert(card.to_string(), item);
    plans.push(LayerPlan {
        title: card.to_string(),
        entries,
        modelcard: true,
        align: size >= small_max,
    });
    plans
}
