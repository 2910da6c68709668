//! SIGINT/SIGTERM and the undo list. Work loops poll [`check`]; on an error or a signal,
//! [`undo`] asks every registered run to remove what it made (see [`crate::run`]), so a
//! layout is left as it was.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
static UNDO: Mutex<Vec<Arc<dyn Undo>>> = Mutex::new(Vec::new());

/// Something a run made that must go if the run fails.
pub trait Undo: Send + Sync {
    /// The run failed: remove what it made (as far as that is safe).
    fn undo(&self);
    /// The run succeeded: keep everything, drop the bookkeeping.
    fn commit(&self);
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

/// Undo `u` if the run fails.
pub fn register(u: Arc<dyn Undo>) {
    lock().push(u);
}

/// Success: keep everything.
pub fn commit() {
    let all = std::mem::take(&mut *lock());
    for u in all {
        u.commit();
    }
}

/// Failure: undo everything registered, newest first.
pub fn undo() {
    let all = std::mem::take(&mut *lock());
    for u in all.into_iter().rev() {
        u.undo();
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Arc<dyn Undo>>> {
    UNDO.lock().unwrap_or_else(|e| e.into_inner())
}
