//! FICLONERANGE: share a range of one file's blocks with another (XFS reflink=1, btrfs),
//! so model data lands in a layer blob without being copied.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;

/// Offsets and length must be multiples of the filesystem block size. Fails with
/// EOPNOTSUPP/EXDEV/EINVAL where the filesystem cannot clone; callers then copy.
pub fn clone_range(src: &File, src_off: u64, len: u64, dst: &File, dst_off: u64) -> io::Result<()> {
    let arg = libc::file_clone_range {
        src_fd: i64::from(src.as_raw_fd()),
        src_offset: src_off,
        src_length: len,
        dest_offset: dst_off,
    };
    // SAFETY: valid fds and a pointer to a correctly laid-out struct that outlives the call.
    let r = unsafe {
        libc::ioctl(
            dst.as_raw_fd(),
            libc::FICLONERANGE,
            &arg as *const libc::file_clone_range,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
