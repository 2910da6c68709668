//! `Args`: a command's arguments as one byte string, each argument followed by a NUL.
//!
//! The shell builds fields in place on a stack, so this is the form they already have: no table
//! of pointers is needed. An argument can never hold a NUL (it comes from argv, the script, or
//! the builtins' own output), so the separator is unambiguous, and each argument is a path the
//! kernel can read where it is (`next_path`, `paths`).

use crate::sys::CPath;

#[derive(Clone, Copy, Debug, Default)]
pub struct Args<'a>(&'a [u8]);

impl<'a> Args<'a> {
    /// `bytes` must be empty or end with a NUL.
    pub fn new(bytes: &'a [u8]) -> Self {
        Args(bytes)
    }

    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The last argument, and the ones before it.
    pub fn split_last(self) -> Option<(&'a [u8], Args<'a>)> {
        let body = self.0.split_last()?.1;
        let start = body.iter().rposition(|&b| b == 0).map_or(0, |i| i + 1);
        let (rest, last) = body.split_at_checked(start)?;
        Some((last, Args(rest)))
    }

    /// The next argument, as a path: its NUL follows it.
    pub fn next_path(&mut self) -> Option<&'a CPath> {
        let (arg, rest) = CPath::split_at_nul(self.0)?;
        self.0 = rest;
        Some(arg)
    }

    /// The arguments, as paths.
    pub fn paths(mut self) -> impl Iterator<Item = &'a CPath> {
        core::iter::from_fn(move || self.next_path())
    }
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        CPath::option_bytes(self.next_path())
    }
}

/// The position of `word` in `list`, a string of words separated by single spaces. Tables of
/// names are kept in this form: a slice of slices would cost 16 bytes a name.
pub fn word_index(list: &[u8], word: &[u8]) -> Option<usize> {
    // One pass over `list`, matching `word` byte by byte: no slice comparison call.
    let mut index = 0;
    // How much of `word` the current word of `list` matches; past its end after a mismatch
    // (`word.len() + 1`, which is smaller than `usize::MAX`).
    let mut n = 0;
    for &b in list {
        if b == b' ' {
            if n == word.len() {
                return Some(index);
            }
            index += 1;
            n = 0;
        } else {
            n = if word.get(n) == Some(&b) {
                n + 1
            } else {
                word.len() + 1
            };
        }
    }
    (n == word.len()).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn iterates_splits_and_counts() {
        let a = Args::new(b"ln\0-s\0\0/x\0");
        assert_eq!(a.count(), 4);
        assert_eq!(a.collect::<Vec<_>>(), [&b"ln"[..], b"-s", b"", b"/x"]);
        let (last, rest) = a.split_last().unwrap();
        assert_eq!(last, b"/x");
        assert_eq!(rest.collect::<Vec<_>>(), [&b"ln"[..], b"-s", b""]);
        let (last, rest) = Args::new(b"only\0").split_last().unwrap();
        assert_eq!((last, rest.is_empty()), (&b"only"[..], true));
        assert!(Args::new(b"").split_last().is_none());
        assert_eq!(Args::new(b"").count(), 0);
        assert_eq!(Args::new(b"\0").collect::<Vec<_>>(), [&b""[..]]);
    }

    #[test]
    fn arguments_are_paths_followed_by_their_nul() {
        let bytes = b"ln\0-s\0\0/x\0";
        let a = Args::new(bytes);
        let paths: Vec<&[u8]> = a.paths().map(CPath::as_bytes).collect();
        assert_eq!(paths, a.collect::<Vec<_>>());
        for (arg, path) in a.zip(a.paths()) {
            // The kernel reads the path where it is: its NUL right after it.
            assert_eq!(arg.as_ptr(), path.as_ptr());
            let end = path.as_ptr() as usize + path.len() - bytes.as_ptr() as usize;
            assert_eq!(bytes[end], 0);
        }
    }

    #[test]
    fn word_index_finds_whole_words() {
        assert_eq!(word_index(b"ln mkdir [ [[", b"ln"), Some(0));
        assert_eq!(word_index(b"ln mkdir [ [[", b"["), Some(2));
        assert_eq!(word_index(b"ln mkdir [ [[", b"[["), Some(3));
        assert_eq!(word_index(b"ln mkdir [ [[", b"mk"), None);
        assert_eq!(word_index(b"ln mkdir [ [[", b""), None);
        assert_eq!(word_index(b"ln mkdir", b"ln mkdir"), None);
    }
}
