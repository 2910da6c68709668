//! Error texts, worded as glibc's `strerror` words them so messages match busybox's (which Debian
//! links against glibc). A table of the errors these builtins can meet is smaller than libc's.

use crate::args::Args;
use crate::sys::Errno;

/// Each text is preceded by its errno value as one byte and followed by a NUL (the generic Linux
/// numbers, the same on the four architectures built here; a unit test checks them against the
/// libc crate).
const TEXTS: &[u8] = b"\x01Operation not permitted\0\x02No such file or directory\0\
\x05Input/output error\0\x09Bad file descriptor\0\x0cCannot allocate memory\0\
\x0dPermission denied\0\x0eBad address\0\x10Device or resource busy\0\x11File exists\0\
\x12Invalid cross-device link\0\x14Not a directory\0\x15Is a directory\0\x16Invalid argument\0\
\x1bFile too large\0\x1cNo space left on device\0\x1eRead-only file system\0\x1fToo many links\0\
\x20Broken pipe\0\x24File name too long\0\x26Function not implemented\0\x27Directory not empty\0\
\x28Too many levels of symbolic links\0\x4bValue too large for defined data type\0\
\x74Stale file handle\0\x7aDisk quota exceeded\0";

pub fn errno_text(e: Errno) -> &'static [u8] {
    // The texts are NUL-separated, as arguments are: `Args` walks them.
    Args::new(TEXTS)
        .filter_map(<[u8]>::split_first)
        .find(|&(&code, _)| code as i32 == e.0)
        .map_or(b"Unknown error", |(_, text)| text)
}

#[cfg(test)]
// The test compares with the host C library's strerror, through FFI.
#[allow(unsafe_code)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_the_errno_values() {
        let cases = [
            (libc::EPERM, "Operation not permitted"),
            (libc::ENOENT, "No such file or directory"),
            (libc::EIO, "Input/output error"),
            (libc::EBADF, "Bad file descriptor"),
            (libc::ENOMEM, "Cannot allocate memory"),
            (libc::EACCES, "Permission denied"),
            (libc::EFAULT, "Bad address"),
            (libc::EBUSY, "Device or resource busy"),
            (libc::EEXIST, "File exists"),
            (libc::EXDEV, "Invalid cross-device link"),
            (libc::ENOTDIR, "Not a directory"),
            (libc::EISDIR, "Is a directory"),
            (libc::EINVAL, "Invalid argument"),
            (libc::EFBIG, "File too large"),
            (libc::ENOSPC, "No space left on device"),
            (libc::EROFS, "Read-only file system"),
            (libc::EMLINK, "Too many links"),
            (libc::EPIPE, "Broken pipe"),
            (libc::ENAMETOOLONG, "File name too long"),
            (libc::ENOSYS, "Function not implemented"),
            (libc::ENOTEMPTY, "Directory not empty"),
            (libc::ELOOP, "Too many levels of symbolic links"),
            (libc::EOVERFLOW, "Value too large for defined data type"),
            (libc::ESTALE, "Stale file handle"),
            (libc::EDQUOT, "Disk quota exceeded"),
        ];
        for (errno, text) in cases {
            assert_eq!(errno_text(Errno(errno)), text.as_bytes(), "errno {errno}");
            // glibc words it the same way.
            // SAFETY: strerror returns a NUL-terminated string for any value.
            let c = unsafe { std::ffi::CStr::from_ptr(libc_strerror(errno)) };
            assert_eq!(c.to_bytes(), text.as_bytes(), "strerror({errno})");
        }
        assert_eq!(errno_text(Errno(0)), b"Unknown error");
        assert_eq!(errno_text(Errno(127)), b"Unknown error");
        assert_eq!(errno_text(Errno(4000)), b"Unknown error");
    }

    extern "C" {
        #[link_name = "strerror"]
        fn libc_strerror(errnum: i32) -> *const core::ffi::c_char;
    }
}
