//! Helpers shared by the unit tests (compiled only for `cargo test`).

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::string::String;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::vec::Vec;

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

/// An argument vector as the builtins take it.
pub fn args<T: AsRef<[u8]>>(list: &[T]) -> Vec<Vec<u8>> {
    list.iter().map(|a| a.as_ref().to_vec()).collect()
}
