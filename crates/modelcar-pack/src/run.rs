//! One run's writes into an OCI layout, safe when several runs share the layout.
//!
//! - Every writer holds a shared flock on `.modelcar-pack/lock` from start to end; whoever
//!   removes leftovers (the sweep: a run that finds itself alone, a failed run's cleanup,
//!   `modelcar-pack gc`) holds it exclusively, so it never runs beside a live writer.
//! - Blobs are written under a temp name of this run and renamed to their digest. Before
//!   the rename the digest is appended to this run's journal, `.modelcar-pack/run-ID`, so
//!   the blobs of a run killed at any moment (SIGKILL, power loss) are known to the next
//!   sweep, which removes those that no tag in index.json uses, and the temp files.
//! - index.json is read, changed and replaced under an exclusive flock on
//!   `.modelcar-pack/index.lock`: no tag is lost.
//! - A failed run removes its temp files. Its blobs and the folders and files it created
//!   go only if it is alone (the exclusive lock); otherwise another run may be about to
//!   use them, and they are left, in the journal, to the next sweep.

use crate::cleanup::{self, Undo};
use crate::error::{Context, Error, Result};
use crate::layout::Layout;
use crate::lock::{self, Kind};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The folder in a layout that holds the locks and the journals.
pub const STATE_DIR: &str = ".modelcar-pack";
/// Names of temp blobs (in blobs/sha256) and temp index files (in the layout) start so.
pub const TEMP_BLOB_PREFIX: &str = ".modelcar-pack-";
pub const TEMP_INDEX_PREFIX: &str = ".index.json.";
const JOURNAL_PREFIX: &str = "run-";

pub struct Run {
    dir: PathBuf,
    id: String,
    seq: AtomicU64,
    /// The shared lock on `.modelcar-pack/lock`, held until commit or undo.
    lock: Mutex<Option<File>>,
    journal: Mutex<Option<File>>,
    made: Mutex<Made>,
}

/// What this run created, to remove on failure.
#[derive(Default)]
struct Made {
    temps: BTreeSet<PathBuf>,
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    journal: Option<PathBuf>,
}

impl Run {
    /// Starts writing into `dir` (created if missing): takes the shared lock, after
    /// sweeping leftovers of dead runs if no other run is writing.
    pub fn start(dir: &Path) -> Result<Arc<Run>> {
        let run = Arc::new(Run {
            dir: dir.to_path_buf(),
            id: run_id(),
            seq: AtomicU64::new(0),
            lock: Mutex::new(None),
            journal: Mutex::new(None),
            made: Mutex::new(Made::default()),
        });
        cleanup::register(run.clone());
        let state = dir.join(STATE_DIR);
        let lock_path = state.join("lock");
        loop {
            check_target(dir)?;
            run.mkdir(dir)?;
            run.mkdir(&state)?;
            let (f, created) = lock::open(&lock_path)?;
            if created {
                run.made().files.push(lock_path.clone());
            }
            // In the slot at once: if this fails or is interrupted, undo finds the lock.
            let mut slot = lock_slot(&run.lock);
            let f = slot.insert(f);
            if lock::try_lock(f, Kind::Exclusive).ctx(|| lock_path.display().to_string())? {
                if let Err(e) = sweep(dir, false) {
                    eprintln!(
                        "modelcar-pack: warning: leftovers of earlier runs stay in {}: {e}",
                        dir.display()
                    );
                }
            }
            // From exclusive (or nothing) to shared; waits only while a sweep runs.
            lock::wait(
                f,
                &lock_path,
                Kind::Shared,
                "another modelcar-pack is removing leftovers from this layout",
            )?;
            // A failed run that had made this layout may have removed it meanwhile.
            if lock::same_file(f, &lock_path) {
                break;
            }
            slot.take();
        }
        let blobs = dir.join("blobs");
        run.mkdir(&blobs)?;
        run.mkdir(&blobs.join("sha256"))?;
        let marker = dir.join("oci-layout");
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
        {
            Ok(mut f) => {
                run.made().files.push(marker.clone());
                let file = crate::oci::LayoutFile {
                    image_layout_version: "1.0.0".to_string(),
                    extra: crate::oci::Extra::new(),
                };
                f.write_all(&crate::oci::to_json(&file)?)
                    .ctx(|| marker.display().to_string())?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).ctx(|| format!("cannot create {}", marker.display())),
        }
        Ok(run)
    }

    fn made(&self) -> MutexGuard<'_, Made> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mkdir(&self, d: &Path) -> Result<()> {
        match fs::create_dir(d) {
            Ok(()) => {
                self.made().dirs.push(d.to_path_buf());
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => Ok(()),
            Err(e) => Err(e).ctx(|| format!("cannot create {}", d.display())),
        }
    }

    /// A new temp file in `in_dir`, named for this run, removed if the run fails.
    pub fn temp(&self, in_dir: &Path, prefix: &str) -> Result<(File, PathBuf)> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let p = in_dir.join(format!("{prefix}{}-{n}.tmp", self.id));
        self.made().temps.insert(p.clone());
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)
            .ctx(|| format!("cannot create {}", p.display()))?;
        Ok((f, p))
    }

    /// `tmp` was renamed or removed: no longer this run's to remove.
    pub fn forget_temp(&self, tmp: &Path) {
        self.made().temps.remove(tmp);
    }

    /// Records `digest` in the journal; call before the blob gets its name.
    pub fn journal(&self, digest: &str) -> Result<()> {
        let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if j.is_none() {
            let p = self
                .dir
                .join(STATE_DIR)
                .join(format!("{JOURNAL_PREFIX}{}", self.id));
            self.made().journal = Some(p.clone());
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&p)
                .ctx(|| format!("cannot create {}", p.display()))?;
            *j = Some(f);
        }
        let path = self.made().journal.clone().unwrap_or_default();
        if let Some(f) = j.as_mut() {
            f.write_all(format!("{digest}\n").as_bytes())
                .ctx(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    /// Runs `f` holding the exclusive lock on index.json.
    pub fn with_index_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let p = self.dir.join(STATE_DIR).join("index.lock");
        let (file, created) = lock::open(&p)?;
        if created {
            self.made().files.push(p.clone());
        }
        lock::wait(
            &file,
            &p,
            Kind::Exclusive,
            "another modelcar-pack is updating index.json",
        )?;
        let r = f();
        drop(file);
        r
    }

    fn remove_journal(&self) {
        *self.journal.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(p) = self.made().journal.take() {
            let _ = fs::remove_file(p);
        }
    }
}

impl Undo for Run {
    fn undo(&self) {
        let temps = std::mem::take(&mut self.made().temps);
        for t in temps {
            let _ = fs::remove_file(t);
        }
        let lock = lock_slot(&self.lock).take();
        let alone = lock
            .as_ref()
            .is_some_and(|f| lock::try_lock(f, Kind::Exclusive).unwrap_or(false));
        if !alone {
            if self.made().journal.is_some() {
                eprintln!(
                    "modelcar-pack: another run is writing {}; the blobs this run added are left to the next run or `modelcar-pack gc oci:{}`",
                    self.dir.display(),
                    self.dir.display()
                );
            }
            return;
        }
        // Alone: this run's journal is a dead run's now, swept with any others.
        *self.journal.lock().unwrap_or_else(|e| e.into_inner()) = None;
        match sweep(&self.dir, false) {
            Ok(_) => {
                self.made().journal = None;
            }
            Err(e) => eprintln!(
                "modelcar-pack: warning: blobs this run added stay in {}: {e}",
                self.dir.display()
            ),
        }
        let mut made = self.made();
        let tagged = self.dir.join("index.json").exists();
        for f in made.files.drain(..).rev() {
            // Another run's tag makes this a layout to keep.
            if tagged && f.file_name().is_some_and(|n| n == "oci-layout") {
                continue;
            }
            let _ = fs::remove_file(f);
        }
        for d in made.dirs.drain(..).rev() {
            let _ = fs::remove_dir(d);
        }
        drop(lock);
    }

    fn commit(&self) {
        self.remove_journal();
        let mut made = self.made();
        made.files.clear();
        made.dirs.clear();
        drop(made);
        lock_slot(&self.lock).take();
    }
}

fn lock_slot(m: &Mutex<Option<File>>) -> MutexGuard<'_, Option<File>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A name no other run uses at the same time: the pid, and the clock for pids reused.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// Refuses a path that is not a folder, or a non-empty folder that is not a layout.
fn check_target(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::msg(format!(
            "{}: exists and is not a directory",
            dir.display()
        )));
    }
    let empty = fs::read_dir(dir)
        .ctx(|| dir.display().to_string())?
        .next()
        .is_none();
    // A layout another run is making has its state folder before its oci-layout file.
    if !empty && !dir.join("oci-layout").is_file() && !dir.join(STATE_DIR).is_dir() {
        return Err(Error::msg(format!(
            "{}: exists, is not empty and is not an OCI layout (no oci-layout file); refusing to write into it",
            dir.display()
        )));
    }
    Ok(())
}

/// What a sweep removed.
#[derive(Default, Debug)]
pub struct Swept {
    pub files: u64,
    pub bytes: u64,
}

/// Removes the leftovers of dead runs: temp files, and the journaled blobs that no tag
/// uses (with `unreferenced`, every blob no tag uses). The caller holds the exclusive lock,
/// so no run is alive to need them.
pub fn sweep(dir: &Path, unreferenced: bool) -> Result<Swept> {
    let mut out = Swept::default();
    let layout = Layout::open_any(dir);
    let blob_dir = layout.blob_dir();
    let remove = |p: &Path, out: &mut Swept| {
        let len = fs::symlink_metadata(p).map_or(0, |m| m.len());
        if fs::remove_file(p).is_ok() {
            out.files += 1;
            out.bytes += len;
        }
    };
    for (d, prefix) in [
        (&blob_dir, TEMP_BLOB_PREFIX),
        (&dir.to_path_buf(), TEMP_INDEX_PREFIX),
    ] {
        for name in names(d)? {
            if name.starts_with(prefix) && name.ends_with(".tmp") {
                remove(&d.join(&name), &mut out);
            }
        }
    }
    let state = dir.join(STATE_DIR);
    let journals: Vec<PathBuf> = names(&state)?
        .into_iter()
        .filter(|n| n.starts_with(JOURNAL_PREFIX))
        .map(|n| state.join(n))
        .collect();
    if journals.is_empty() && !unreferenced {
        return Ok(out);
    }
    let used = layout.reachable()?;
    let mut candidates = BTreeSet::new();
    for j in &journals {
        let text = fs::read_to_string(j).ctx(|| format!("cannot read {}", j.display()))?;
        candidates.extend(text.lines().map(str::to_string));
    }
    if unreferenced {
        candidates.extend(
            names(&blob_dir)?
                .into_iter()
                .filter(|n| !n.starts_with('.'))
                .map(|n| format!("sha256:{n}")),
        );
    }
    for digest in candidates {
        let Some(hex) = digest.strip_prefix("sha256:") else {
            continue;
        };
        // Only a plain hex name: a damaged journal must not name a path elsewhere.
        if used.contains(&digest) || hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        remove(&blob_dir.join(hex), &mut out);
    }
    for j in journals {
        let _ = fs::remove_file(j);
    }
    Ok(out)
}

/// The file names in `d` (none if `d` is missing).
fn names(d: &Path) -> Result<Vec<String>> {
    match fs::read_dir(d) {
        Ok(it) => Ok(it
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).ctx(|| format!("cannot list {}", d.display())),
    }
}
