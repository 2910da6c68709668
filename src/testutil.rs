//! Helpers shared by the unit tests (compiled only for `cargo test`).

use crate::args::Args;
use crate::builtins::Builtin;
use crate::interpreter::Shell;
use crate::lexer::join_lines;
use crate::output::Output;
use crate::sys::Stack;
use std::cell::Cell;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::string::String;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::vec::Vec;

std::thread_local! {
    /// The work done on this thread, and how much `work` allows.
    static WORK: Cell<(usize, usize)> = const { Cell::new((0, usize::MAX)) };
}

/// Adds `n` to the work done on this thread: called (in test builds only) wherever the shell
/// reads a byte of the script or copies one onto a stack, so a test can check how the work
/// grows with a script's size without timing anything. Panics past the limit `work` set, so
/// a runaway walk fails at once instead of running for hours.
pub fn tally(n: usize) {
    let (done, limit) = WORK.get();
    let done = done.saturating_add(n);
    assert!(done <= limit, "more than {limit} units of work");
    WORK.set((done, limit));
}

/// `f`'s result and the work (`tally`) it did, which may not exceed `limit`. Per thread:
/// tests running in parallel do not add to each other's.
pub fn work<R>(limit: usize, f: impl FnOnce() -> R) -> (R, usize) {
    WORK.set((0, limit));
    let r = f();
    let (done, _) = WORK.replace((0, usize::MAX));
    (r, done)
}

/// A fresh directory under the system temp dir, removed when dropped.
///
/// Its name holds the process id, the caller's name and a counter, so tests running in
/// parallel (even ones giving the same name) never share one.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("modelcar-base-{}-{name}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.0
    }

    /// The path of `name` inside (joined as given: slashes are kept).
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The absolute path of `name` inside, as bytes.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        let mut p = bytes(&self.0).to_vec();
        p.push(b'/');
        p.extend_from_slice(name.as_bytes());
        p
    }

    /// The entries of the directory `sub` inside (`""` for the directory itself), sorted.
    pub fn entries(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.0.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A path's bytes.
pub fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

/// An argument list in the form `Args` reads: each argument followed by a NUL.
pub fn args<T: AsRef<[u8]>>(list: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in list {
        out.extend_from_slice(a.as_ref());
        out.push(0);
    }
    out
}

/// Runs a builtin on `list` with its output captured: (status, output). `in_shell` as when
/// `sh` runs it (test/[ then name the shell in messages).
pub fn run_builtin<T: AsRef<[u8]>>(builtin: Builtin, list: &[T], in_shell: bool) -> (i32, Vec<u8>) {
    let mut out = if in_shell {
        Output::in_shell()
    } else {
        Output::default()
    };
    out.capturing = true;
    let a = args(list);
    let status = builtin(Args::new(&a), &mut out);
    (status, out.buf.as_slice().to_vec())
}

/// Runs `src` as `sh -c` does, with pid 42 and standard output captured: (status, output), or
/// the syntax error's message (`"empty"` for a script without commands).
pub fn sh(src: &str) -> Result<(i32, String), String> {
    let mut text = Stack::default();
    let mut shell = Shell::new(b"sh", join_lines(src.as_bytes(), &mut text), 42);
    shell.out.capturing = true;
    match shell.check_and_run() {
        Ok(Some(status)) => Ok((
            status,
            String::from_utf8(shell.out.buf.as_slice().to_vec()).unwrap(),
        )),
        Ok(None) => Err("empty".into()),
        Err(_) => Err(shell.error.expect("an error is recorded").message()),
    }
}

/// Checks `src` without running anything: Ok(true) if it has a command, Ok(false) if empty,
/// or the syntax error's message.
pub fn check(src: &[u8]) -> Result<bool, String> {
    let mut text = Stack::default();
    let mut shell = Shell::new(b"sh", join_lines(src, &mut text), 42);
    shell.run = false;
    match shell.check_and_run() {
        Ok(found) => Ok(found.is_some()),
        Err(_) => Err(shell.error.expect("an error is recorded").message()),
    }
}

/// `sh` for a script that need not be UTF-8: (status, output bytes), or the syntax error's
/// message (`"empty"` for a script without commands).
pub fn sh_bytes(src: &[u8]) -> Result<(i32, Vec<u8>), String> {
    let mut text = Stack::default();
    let mut shell = Shell::new(b"sh", join_lines(src, &mut text), 42);
    shell.out.capturing = true;
    match shell.check_and_run() {
        Ok(Some(status)) => Ok((status, shell.out.buf.as_slice().to_vec())),
        Ok(None) => Err("empty".into()),
        Err(_) => Err(shell.error.expect("an error is recorded").message()),
    }
}
