//! Where builtins write: standard output, or the buffer of a `$(...)` being captured; and the
//! one-line error messages on standard error.

use crate::errors::errno_text;
use crate::sys::{self, Errno};
use alloc::vec::Vec;

/// Standard output of the running command: fd 1, or the innermost `$(...)` capture.
#[derive(Default)]
pub struct Output {
    captures: Vec<Vec<u8>>,
    /// Running as a builtin of `sh` rather than as its own applet: busybox's shell builtins
    /// (test, [) then name the shell in their messages.
    pub in_shell: bool,
}

impl Output {
    pub fn in_shell() -> Self {
        Output {
            captures: Vec::new(),
            in_shell: true,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Errno> {
        match self.captures.last_mut() {
            Some(buf) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            None => sys::write_all(1, bytes),
        }
    }

    pub fn begin_capture(&mut self) {
        self.captures.push(Vec::new());
    }

    pub fn end_capture(&mut self) -> Vec<u8> {
        self.captures.pop().unwrap_or_default()
    }
}

/// Writes one line to standard error: the pieces joined, then a newline, in one write.
pub fn error_line(pieces: &[&[u8]]) {
    let mut line = Vec::with_capacity(pieces.iter().map(|p| p.len()).sum::<usize>() + 1);
    for p in pieces {
        line.extend_from_slice(p);
    }
    line.push(b'\n');
    // Nothing sensible is left to do if standard error itself fails.
    let _ = sys::write_all(2, &line);
}

/// `NAME: WHAT: strerror`, the busybox `bb_perror_msg` shape.
pub fn perror(name: &[u8], what: &[u8], e: Errno) {
    error_line(&[name, b": ", what, b": ", errno_text(e).as_bytes()]);
}
