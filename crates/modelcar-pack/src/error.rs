//! One error type: a message for the user, or the signal that interrupted the work.
//! `main` prints it as one line, `modelcar-pack: MESSAGE`; messages name the file, blob or
//! option at fault. Nothing panics on bad input or a failed system call.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    Msg(String),
    Interrupted(i32),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn msg(s: impl Into<String>) -> Self {
        Error::Msg(s.into())
    }

    /// 1 for an error, 128 + N for signal N (as a shell reports it).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Msg(_) => 1,
            Error::Interrupted(sig) => 128 + sig,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Msg(s) => f.write_str(s),
            Error::Interrupted(sig) => {
                let name = if *sig == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                write!(
                    f,
                    "interrupted by {name}; removed what this run had written"
                )
            }
        }
    }
}

/// Adds what was being done to an I/O error.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Msg(format!("{}: {e}", what())))
    }
}
