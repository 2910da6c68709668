//! flock(2) on a layout's lock files. Waits poll, so SIGINT/SIGTERM still end a run that
//! waits, and say once what they wait for.

use crate::cleanup;
use crate::error::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Shared,
    Exclusive,
}

/// Opens `path`, creating it if missing; true when this call created it.
pub fn open(path: &Path) -> Result<(File, bool)> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let f = File::open(path).ctx(|| format!("cannot open {}", path.display()))?;
            Ok((f, false))
        }
        Err(e) => Err(e).ctx(|| format!("cannot create {}", path.display())),
    }
}

/// Takes the lock if nobody holds a conflicting one; false otherwise. On Linux a failed
/// conversion (shared to exclusive) drops the lock held before.
pub fn try_lock(f: &File, kind: Kind) -> io::Result<bool> {
    let op = match kind {
        Kind::Shared => libc::LOCK_SH,
        Kind::Exclusive => libc::LOCK_EX,
    };
    loop {
        // SAFETY: flock on an open descriptor; no memory is passed.
        if unsafe { libc::flock(f.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// Takes the lock, waiting as long as it takes; `why` is printed once if it must wait.
pub fn wait(f: &File, path: &Path, kind: Kind, why: &str) -> Result<()> {
    let what = || format!("cannot lock {}", path.display());
    if try_lock(f, kind).ctx(what)? {
        return Ok(());
    }
    eprintln!("modelcar-pack: waiting for {}: {why}", path.display());
    loop {
        cleanup::check()?;
        std::thread::sleep(Duration::from_millis(50));
        if try_lock(f, kind).ctx(what)? {
            return Ok(());
        }
    }
}

/// `f` is still the file at `path` (not removed or replaced since it was opened).
pub fn same_file(f: &File, path: &Path) -> bool {
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
