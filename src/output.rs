//! Where builtins write: a buffer that is either flushed to standard output when the builtin is
//! done, or kept as the text of the `$(...)` being captured; and the one-line error messages on
//! standard error.

use crate::strerror::errno_text;
use crate::sys::{self, Errno, Stack};

/// The program's own name, for the messages that are not a command's.
pub const PROGRAM: &[u8] = b"modelcar-base";

#[derive(Default)]
pub struct Output {
    /// Captured text of the open `$(...)`s, then the running builtin's output. Builtins may also
    /// use the space past their output as scratch, as long as they truncate it again.
    pub buf: Stack,
    /// Where the running builtin's output starts.
    start: usize,
    /// Inside `$(...)`: output stays in `buf`.
    pub capturing: bool,
    /// Running as a builtin of `sh` rather than as its own applet: busybox's shell builtins
    /// (test, [) then name the shell in their messages.
    pub in_shell: bool,
    /// `caps::drop_all_once` has run.
    pub capabilities_dropped: bool,
}

impl Output {
    pub fn in_shell() -> Self {
        Output {
            in_shell: true,
            ..Output::default()
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.buf.push(bytes);
    }

    /// Marks where the next builtin's output begins.
    pub fn begin(&mut self) {
        self.start = self.buf.len();
    }

    /// The output written since `begin`.
    pub fn written(&self) -> &[u8] {
        &self.buf.as_slice()[self.start..]
    }

    /// Ends a builtin: outside `$(...)` its output goes to standard output now. A failed write
    /// is reported as busybox does and turns the status into 1.
    pub fn finish(&mut self, name: &[u8], status: i32) -> i32 {
        if self.capturing {
            return status;
        }
        let result = sys::write_all(1, self.written());
        self.buf.truncate(self.start);
        match result {
            Ok(()) => status,
            Err(e) => {
                perror(name, b"write error", e);
                1
            }
        }
    }
}

/// Writes one line to standard error: the pieces joined, then a newline, in one write.
pub fn error_line(pieces: &[&[u8]]) {
    sys::write_line(2, pieces);
}

/// `NAME: WHAT: strerror`, the busybox `bb_perror_msg` shape.
pub fn perror(name: &[u8], what: &[u8], e: Errno) {
    // The other pieces stored before the call: none is kept in a saved register across it
    // (smaller).
    let mut pieces = [name, b": ", what, b": ", b""];
    pieces[4] = errno_text(e);
    error_line(&pieces);
}

/// `n` in decimal, written at the end of `buf`.
pub fn decimal(buf: &mut [u8; 10], mut n: u32) -> &[u8] {
    // A bounded loop: no index can leave the buffer, so no panic path (a u32 has at most ten
    // digits, so the end of the loop is never reached).
    for i in (0..buf.len()).rev() {
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return buf.get(i..).unwrap_or_default();
        }
    }
    buf
}
