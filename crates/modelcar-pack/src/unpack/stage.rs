//! Atomic placement. Layers are extracted into a staging folder beside DEST
//! (`.NAME.unpack-staging`), merged there in layer order (whiteouts applied), and the result
//! renamed to DEST. When DEST is a mount point (KServe's `/mnt/models` emptyDir) or its
//! parent is read-only, a rename onto it is impossible: the staging folder then goes inside
//! DEST (`.unpack-staging`) and the finished entries are renamed into DEST one by one.
//! Fixed names, so a rerun removes what an interrupted run left. A lock file
//! (`.NAME.unpack-lock` beside, or `.unpack-lock` inside) keeps a second unpack into the same
//! DEST from taking those names over while the first one runs: it is refused instead.

use super::extract::Whiteouts;
use crate::error::{Context, Error, Result};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const INSIDE: &str = ".unpack-staging";
const LOCK_INSIDE: &str = ".unpack-lock";

pub struct Stage {
    pub dir: PathBuf,
    dest: PathBuf,
    inside: bool,
    _lock: DestLock,
}

/// An exclusive flock on a lock file of DEST, removed when dropped (still holding the lock,
/// so nobody can take over a file that is about to go).
struct DestLock {
    file: fs::File,
    path: PathBuf,
}

enum Locked {
    Yes(DestLock),
    Busy,
    CannotCreate(std::io::Error),
}

impl DestLock {
    fn take(path: PathBuf) -> Result<Locked> {
        loop {
            // Read-only is enough for flock: another user's lock file still counts.
            let file = match fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .or_else(|e| fs::File::open(&path).map_err(|_| e))
            {
                Ok(f) => f,
                Err(e) => return Ok(Locked::CannotCreate(e)),
            };
            if !crate::lock::try_lock(&file, crate::lock::Kind::Exclusive)
                .ctx(|| format!("cannot lock {}", path.display()))?
            {
                return Ok(Locked::Busy);
            }
            // Removed by the run that held it just before: take the new one.
            if crate::lock::same_file(&file, &path) {
                return Ok(Locked::Yes(DestLock { file, path }));
            }
        }
    }
}

impl Drop for DestLock {
    fn drop(&mut self) {
        if crate::lock::same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn busy(dest: &Path, lock: &Path) -> Error {
    Error::msg(format!(
        "{}: another unpack into it is running (it holds {}); wait for it to end, or choose another DEST",
        dest.display(),
        lock.display()
    ))
}

fn remove_any(p: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Stage {
    pub fn new(dest: &Path) -> Result<Stage> {
        // `m/.` names m, but rename(2) refuses a path that ends in `.`.
        let dest: &Path = &dest.components().collect::<PathBuf>();
        let name = dest
            .file_name()
            .ok_or_else(|| {
                Error::msg(format!(
                    "{}: not a usable destination: give a folder by its name (it is replaced whole)",
                    dest.display()
                ))
            })?
            .to_string_lossy()
            .into_owned();
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match fs::symlink_metadata(dest) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::msg(format!(
                    "{}: is a symbolic link; give the folder it points to (DEST is replaced whole, the link would be)",
                    dest.display()
                )))
            }
            Ok(m) if !m.is_dir() => {
                return Err(Error::msg(format!(
                    "{}: exists and is not a directory",
                    dest.display()
                )))
            }
            _ => {}
        }
        let beside = parent.join(format!(".{name}.unpack-staging"));
        let inside = dest.join(INSIDE);
        let mount_point = match (fs::metadata(dest), fs::metadata(&parent)) {
            (Ok(d), Ok(p)) => d.dev() != p.dev() || d.ino() == p.ino(),
            _ => false,
        };
        // Beside DEST when the parent takes a lock file (and DEST can be renamed), else inside.
        let mut lock = None;
        if !mount_point {
            if let Err(e) = fs::create_dir_all(&parent) {
                return Err(Error::msg(format!(
                    "cannot create {}: {e}",
                    parent.display()
                )));
            }
            let path = parent.join(format!(".{name}.unpack-lock"));
            match DestLock::take(path.clone())? {
                Locked::Yes(l) => lock = Some(l),
                Locked::Busy => return Err(busy(dest, &path)),
                Locked::CannotCreate(_) => {}
            }
        }
        let (lock, dir) = match lock {
            Some(l) => (l, beside.clone()),
            None => {
                fs::create_dir_all(dest).ctx(|| format!("cannot create {}", dest.display()))?;
                let path = dest.join(LOCK_INSIDE);
                match DestLock::take(path.clone())? {
                    Locked::Yes(l) => (l, inside.clone()),
                    Locked::Busy => return Err(busy(dest, &path)),
                    Locked::CannotCreate(e) => {
                        return Err(Error::msg(format!(
                            "{}: cannot write into it ({}: {e})",
                            dest.display(),
                            path.display()
                        )))
                    }
                }
            }
        };
        // Leftovers of an interrupted run (no other run is writing: the lock says so).
        let _ = remove_any(&beside);
        let _ = remove_any(&inside);
        let _ = remove_any(&parent.join(format!(".{name}.unpack-old")));
        fs::create_dir(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        Ok(Stage {
            inside: dir == inside,
            dir,
            dest: dest.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn layer_dir(&self, i: usize) -> PathBuf {
        self.dir.join("layers").join(i.to_string())
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Layer `i` over what is below it.
    pub fn merge(&self, i: usize, w: &Whiteouts) -> Result<()> {
        let root = self.root();
        fs::create_dir_all(&root).ctx(|| format!("cannot create {}", root.display()))?;
        for d in &w.opaque {
            let p = root.join(d);
            if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) && !via_symlink(&root, d) {
                for e in fs::read_dir(&p).ctx(|| p.display().to_string())?.flatten() {
                    remove_any(&e.path()).ctx(|| e.path().display().to_string())?;
                }
            }
        }
        for d in &w.delete {
            if !via_symlink(&root, d) {
                remove_any(&root.join(d)).ctx(|| d.display().to_string())?;
            }
        }
        let src = self.layer_dir(i);
        if src.exists() {
            merge_into(&src, &root)?;
        }
        Ok(())
    }

    /// A file of our own in the result (the Kitfile), over whatever a layer put there.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let root = self.root();
        fs::create_dir_all(&root).ctx(|| format!("cannot create {}", root.display()))?;
        let p = root.join(name);
        remove_any(&p).ctx(|| p.display().to_string())?;
        fs::write(&p, bytes).ctx(|| format!("cannot write {}", p.display()))
    }

    /// Puts the merged tree at DEST, replacing what was there.
    pub fn commit(self) -> Result<()> {
        let root = self.root();
        fs::create_dir_all(&root).ctx(|| format!("cannot create {}", root.display()))?;
        if self.inside {
            let old = self.dir.join("old");
            fs::create_dir(&old).ctx(|| old.display().to_string())?;
            for e in fs::read_dir(&self.dest)
                .ctx(|| self.dest.display().to_string())?
                .flatten()
            {
                if e.file_name() != INSIDE && e.file_name() != LOCK_INSIDE {
                    fs::rename(e.path(), old.join(e.file_name()))
                        .ctx(|| format!("cannot move {} aside", e.path().display()))?;
                }
            }
            for e in fs::read_dir(&root)
                .ctx(|| root.display().to_string())?
                .flatten()
            {
                fs::rename(e.path(), self.dest.join(e.file_name()))
                    .ctx(|| format!("cannot move {} into place", e.path().display()))?;
            }
            sync_dir(&self.dest);
            fs::remove_dir_all(&self.dir).ctx(|| self.dir.display().to_string())?;
            return Ok(());
        }
        let old = self.dir.with_file_name(format!(
            ".{}.unpack-old",
            self.dest.file_name().unwrap_or_default().to_string_lossy()
        ));
        if fs::symlink_metadata(&self.dest).is_ok() {
            // An empty DEST just goes; a full one is moved aside until the new one is in place.
            if fs::remove_dir(&self.dest).is_err() {
                fs::rename(&self.dest, &old)
                    .ctx(|| format!("cannot move {} aside", self.dest.display()))?;
            }
        }
        fs::rename(&root, &self.dest).ctx(|| {
            format!(
                "cannot rename {} to {}",
                root.display(),
                self.dest.display()
            )
        })?;
        if let Some(p) = self.dest.parent() {
            sync_dir(if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            });
        }
        let _ = remove_any(&old);
        fs::remove_dir_all(&self.dir).ctx(|| self.dir.display().to_string())?;
        Ok(())
    }

    /// Failure: the staging folder goes, DEST stays as it was.
    pub fn abort(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn sync_dir(p: &Path) {
    if let Ok(d) = fs::File::open(p) {
        let _ = d.sync_all();
    }
}

fn via_symlink(root: &Path, rel: &Path) -> bool {
    let mut p = root.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        p.push(c);
        if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// Moves `src`'s entries into `dst`: folders merge, anything else replaces.
fn merge_into(src: &Path, dst: &Path) -> Result<()> {
    if fs::symlink_metadata(dst).is_err() {
        return fs::rename(src, dst).ctx(|| format!("cannot move {}", src.display()));
    }
    for e in fs::read_dir(src)
        .ctx(|| src.display().to_string())?
        .flatten()
    {
        let s = e.path();
        let d = dst.join(e.file_name());
        let s_dir = fs::symlink_metadata(&s).is_ok_and(|m| m.is_dir());
        let d_dir = fs::symlink_metadata(&d).is_ok_and(|m| m.is_dir());
        if s_dir && d_dir {
            merge_into(&s, &d)?;
        } else {
            remove_any(&d).ctx(|| d.display().to_string())?;
            fs::rename(&s, &d).ctx(|| format!("cannot move {}", s.display()))?;
        }
    }
    Ok(())
}
