//! SIGINT/SIGTERM and the undo list. Work loops poll [`check`]; on an error or a signal,
//! [`undo`] removes every temp file, every blob this run added and every directory it
//! created, so a layout is left exactly as it was.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
static UNDO: Mutex<Undo> = Mutex::new(Undo {
    files: Vec::new(),
    dirs: Vec::new(),
});

struct Undo {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

/// Installs the handlers. A second signal while cleaning up ends the process at once.
pub fn install() -> Result<()> {
    let flag = Arc::new(AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let already = Arc::new(std::sync::atomic::AtomicBool::new(false));
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&already))
            .and_then(|_| signal_hook::flag::register(sig, already))
            .and_then(|_| signal_hook::flag::register_usize(sig, Arc::clone(&flag), sig as usize))
            .map_err(|e| Error::msg(format!("cannot install signal handlers: {e}")))?;
    }
    let _ = SIGNAL.set(flag);
    Ok(())
}

/// Err(Interrupted) once a signal arrived.
pub fn check() -> Result<()> {
    match SIGNAL.get().map(|f| f.load(Ordering::Relaxed)) {
        Some(0) | None => Ok(()),
        Some(sig) => Err(Error::Interrupted(sig as i32)),
    }
}

/// Remove `p` on failure (a temp file or a blob this run added).
pub fn track_file(p: PathBuf) {
    UNDO.lock().unwrap_or_else(|e| e.into_inner()).files.push(p);
}

/// `p` no longer needs removing (renamed away, or deleted already).
pub fn untrack_file(p: &std::path::Path) {
    let mut u = UNDO.lock().unwrap_or_else(|e| e.into_inner());
    u.files.retain(|f| f != p);
}

/// Remove directory `p` on failure (created by this run; removed after the files).
pub fn track_dir(p: PathBuf) {
    UNDO.lock().unwrap_or_else(|e| e.into_inner()).dirs.push(p);
}

/// Success: keep everything.
pub fn commit() {
    let mut u = UNDO.lock().unwrap_or_else(|e| e.into_inner());
    u.files.clear();
    u.dirs.clear();
}

/// Failure: remove what this run added, newest first.
pub fn undo() {
    let mut u = UNDO.lock().unwrap_or_else(|e| e.into_inner());
    for f in u.files.drain(..).rev() {
        let _ = std::fs::remove_file(&f);
    }
    for d in u.dirs.drain(..).rev() {
        let _ = std::fs::remove_dir(&d);
    }
}
