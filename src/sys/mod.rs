//! The one thin layer of `unsafe`: system calls, raw memory and the process's arguments.
//!
//! No libc is linked. The `libc` crate gives the system call numbers, flags and errno values
//! for each target; `arch` holds the system call instruction. Every structure passed to the
//! kernel here is the kernel's own (statx, linux_dirent64, capabilities, sigaction), so the
//! gnu targets used for ppc64le and s390x need no libc of their own either.

mod arch;
mod stack;

pub use stack::Stack;

use core::ffi::c_int;

/// An `errno` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const EEXIST: Errno = Errno(libc::EEXIST);
pub const EINTR: Errno = Errno(libc::EINTR);
pub const EINVAL: Errno = Errno(libc::EINVAL);
pub const EISDIR: Errno = Errno(libc::EISDIR);

/// Paths this long or longer are refused before the kernel sees them (it would say the same).
const PATH_MAX: usize = libc::PATH_MAX as usize;
const AT_FDCWD: usize = libc::AT_FDCWD as usize;

/// One system call; the kernel's `-errno` becomes `Err`.
fn syscall(nr: libc::c_long, args: [usize; 6]) -> Result<usize, Errno> {
    let [a, b, c, d, e, f] = args;
    // SAFETY: every caller passes arguments of the types the system call `nr` expects; pointers
    // among them point to live buffers of the sizes the kernel will read or write.
    let r = unsafe { arch::modelcar_syscall(nr as isize, a, b, c, d, e, f) };
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

fn call(nr: libc::c_long, a: usize, b: usize, c: usize) -> Result<usize, Errno> {
    syscall(nr, [a, b, c, 0, 0, 0])
}

/// Runs `f` with `path` as a NUL-terminated string. (A path never holds a NUL: see `Args`.)
fn with_path<R>(path: &[u8], f: impl FnOnce(usize) -> Result<R, Errno>) -> Result<R, Errno> {
    if path.len() >= PATH_MAX {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    let mut c = [0u8; PATH_MAX];
    c[..path.len()].copy_from_slice(path);
    f(c.as_ptr() as usize)
}

fn with_paths<R>(
    a: &[u8],
    b: &[u8],
    f: impl FnOnce(usize, usize) -> Result<R, Errno>,
) -> Result<R, Errno> {
    with_path(a, |a| with_path(b, |b| f(a, b)))
}

// ---------------------------------------------------------------------------------------------
// Process

pub fn exit(status: i32) -> ! {
    let _ = call(libc::SYS_exit_group, status as usize, 0, 0);
    // exit_group does not return; should it ever, fall back to the thread's exit.
    loop {
        let _ = call(libc::SYS_exit, status as usize, 0, 0);
    }
}

pub fn getpid() -> i32 {
    call(libc::SYS_getpid, 0, 0, 0).unwrap_or(0) as i32
}

/// The arguments the kernel put on the initial stack: `argc`, then `argv[0..argc]`.
#[derive(Clone, Copy)]
pub struct Argv {
    argc: usize,
    argv: *const *const u8,
}

impl Argv {
    /// # Safety
    /// `sp` must be the stack pointer the kernel handed to the entry point.
    pub unsafe fn from_entry_stack(sp: *const usize) -> Argv {
        // SAFETY: at entry the stack holds argc, then argc pointers (the caller's contract).
        unsafe {
            Argv {
                argc: *sp,
                argv: sp.add(1).cast(),
            }
        }
    }

    pub fn len(&self) -> usize {
        self.argc
    }

    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` without its NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: i < argc, so argv[i] is a NUL-terminated string the kernel placed on the
        // stack, which lives (unchanged: nothing here writes to it) as long as the process.
        unsafe {
            let s = *self.argv.add(i);
            let mut n = 0;
            while *s.add(n) != 0 {
                n += 1;
            }
            Some(core::slice::from_raw_parts(s, n))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
pub fn write_all(fd: c_int, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match call(
            libc::SYS_write,
            fd as usize,
            bytes.as_ptr() as usize,
            bytes.len(),
        ) {
            Ok(n) => bytes = &bytes[n..],
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes `pieces` then a newline to `fd` in one `writev` (a line never interleaves with
/// another process's). Errors are ignored: there is nowhere left to report them.
pub fn write_line(fd: c_int, pieces: &[&[u8]]) {
    const MAX: usize = 8;
    let mut iov = [[0usize; 2]; MAX + 1];
    let n = pieces.len().min(MAX);
    for (slot, p) in iov.iter_mut().zip(&pieces[..n]) {
        *slot = [p.as_ptr() as usize, p.len()];
    }
    iov[n] = [b"\n".as_ptr() as usize, 1];
    // `struct iovec` is { void *base; size_t len; }: two words, as each slot here.
    let _ = call(libc::SYS_writev, fd as usize, iov.as_ptr() as usize, n + 1);
}

// ---------------------------------------------------------------------------------------------
// Files

pub fn symlink(target: &[u8], link: &[u8]) -> Result<(), Errno> {
    with_paths(target, link, |t, l| {
        call(libc::SYS_symlinkat, t, AT_FDCWD, l).map(drop)
    })
}

pub fn hard_link(target: &[u8], link: &[u8]) -> Result<(), Errno> {
    with_paths(target, link, |t, l| {
        syscall(libc::SYS_linkat, [AT_FDCWD, t, AT_FDCWD, l, 0, 0]).map(drop)
    })
}

pub fn rename(from: &[u8], to: &[u8]) -> Result<(), Errno> {
    with_paths(from, to, |f, t| {
        syscall(libc::SYS_renameat2, [AT_FDCWD, f, AT_FDCWD, t, 0, 0]).map(drop)
    })
}

pub fn unlink(path: &[u8]) -> Result<(), Errno> {
    with_path(path, |p| call(libc::SYS_unlinkat, AT_FDCWD, p, 0).map(drop))
}

pub fn mkdir(path: &[u8], mode: u32) -> Result<(), Errno> {
    with_path(path, |p| {
        call(libc::SYS_mkdirat, AT_FDCWD, p, mode as usize).map(drop)
    })
}

pub fn chmod(path: &[u8], mode: u32) -> Result<(), Errno> {
    with_path(path, |p| {
        call(libc::SYS_fchmodat, AT_FDCWD, p, mode as usize).map(drop)
    })
}

/// The part of a file's status the builtins need.
#[derive(Clone, Copy, Debug)]
pub struct FileStat {
    pub mode: u32,
    pub size: u64,
}

impl FileStat {
    fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT as u32
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == libc::S_IFDIR as u32
    }
    pub fn is_file(&self) -> bool {
        self.kind() == libc::S_IFREG as u32
    }
    pub fn is_symlink(&self) -> bool {
        self.kind() == libc::S_IFLNK as u32
    }
}

/// stat (follow = true) or lstat (follow = false), through statx. The kernel's `struct statx`
/// is 256 bytes, the same on every architecture: `stx_mode` is the u16 at byte 28 and
/// `stx_size` the u64 at byte 40.
pub fn stat(path: &[u8], follow: bool) -> Result<FileStat, Errno> {
    const STATX_TYPE_MODE_SIZE: usize = 0x1 | 0x2 | 0x200;
    let flags = if follow {
        0
    } else {
        libc::AT_SYMLINK_NOFOLLOW as usize
    };
    let mut buf = [0u64; 32];
    with_path(path, |p| {
        let b = buf.as_mut_ptr() as usize;
        syscall(
            libc::SYS_statx,
            [AT_FDCWD, p, flags, STATX_TYPE_MODE_SIZE, b, 0],
        )
    })?;
    Ok(FileStat {
        mode: (buf[3]
            >> if cfg!(target_endian = "little") {
                32
            } else {
                16
            }) as u16 as u32,
        size: buf[5],
    })
}

/// Appends the names in a directory to `out`, each followed by a NUL, in the order the kernel
/// returns them, "." and ".." included.
pub fn read_dir(path: &[u8], out: &mut Stack) -> Result<(), Errno> {
    let flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as usize;
    let fd = with_path(path, |p| call(libc::SYS_openat, AT_FDCWD, p, flags))?;
    let mut buf = [0u64; 512];
    let result = loop {
        let n = match call(libc::SYS_getdents64, fd, buf.as_mut_ptr() as usize, 4096) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        // SAFETY-free view of the records: struct linux_dirent64 { u64 ino; i64 off;
        // u16 reclen; u8 type; char name[]; }, NUL-terminated names.
        let bytes = as_bytes(&buf);
        let mut off = 0;
        while off + 19 < n {
            let reclen = u16::from_ne_bytes([bytes[off + 16], bytes[off + 17]]) as usize;
            let name = &bytes[off + 19..off + reclen];
            let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            out.push(&name[..len]);
            out.push(&[0]);
            off += reclen;
        }
    };
    let _ = call(libc::SYS_close, fd, 0, 0);
    result
}

fn as_bytes(words: &[u64; 512]) -> &[u8; 4096] {
    // SAFETY: [u64; 512] and [u8; 4096] have the same size, u8 has no alignment needs and every
    // byte of an initialised integer array is initialised.
    unsafe { &*(words as *const [u64; 512]).cast::<[u8; 4096]>() }
}

// ---------------------------------------------------------------------------------------------
// Time

/// Sleeps for `secs` seconds and `nanos` nanoseconds, resuming after interruptions.
pub fn sleep(secs: u64, nanos: u32) {
    let mut req = [secs.min(i64::MAX as u64) as usize, nanos as usize];
    let mut rem = [0usize; 2];
    while let Err(EINTR) = call(
        libc::SYS_nanosleep,
        req.as_ptr() as usize,
        rem.as_mut_ptr() as usize,
        0,
    ) {
        req = rem;
    }
}

/// Waits for a signal, forever (the SIGTERM/SIGINT handlers exit the process).
pub fn pause_forever() -> ! {
    let no_signals_blocked = 0u64;
    loop {
        let _ = call(
            libc::SYS_rt_sigsuspend,
            &no_signals_blocked as *const u64 as usize,
            8,
            0,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Signals

/// Runs `handler` on each of `sigs`, and unblocks them in case the parent left them blocked
/// (the mask survives exec). The handler must not return: x86_64 needs a restorer to return
/// through, and there is none (the handler's own address is given to satisfy the kernel).
pub fn on_signals(sigs: &[c_int], handler: extern "C" fn(c_int) -> !) {
    const SA_RESTORER: usize = 0x0400_0000;
    let mut mask: u64 = 0;
    for &s in sigs {
        mask |= 1 << (s - 1);
        // The kernel's struct sigaction: handler, flags, restorer, mask (one 64-bit word).
        let action = [handler as usize, SA_RESTORER, handler as usize, 0];
        let _ = syscall(
            libc::SYS_rt_sigaction,
            [s as usize, action.as_ptr() as usize, 0, 8, 0, 0],
        );
    }
    let _ = syscall(
        libc::SYS_rt_sigprocmask,
        [
            libc::SIG_UNBLOCK as usize,
            &mask as *const u64 as usize,
            0,
            8,
            0,
            0,
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Capabilities

const CAP_VERSION_3: u32 = 0x2008_0522;

/// The process's permitted capability set.
pub fn permitted_capabilities() -> Result<u64, Errno> {
    let header = [CAP_VERSION_3, 0];
    // Two `struct __user_cap_data_struct { effective, permitted, inheritable }`.
    let mut data = [0u32; 6];
    call(
        libc::SYS_capget,
        header.as_ptr() as usize,
        data.as_mut_ptr() as usize,
        0,
    )?;
    Ok(data[1] as u64 | (data[4] as u64) << 32)
}

/// Empties the effective, permitted and inheritable sets.
pub fn clear_capabilities() -> Result<(), Errno> {
    let header = [CAP_VERSION_3, 0];
    let data = [0u32; 6];
    call(
        libc::SYS_capset,
        header.as_ptr() as usize,
        data.as_ptr() as usize,
        0,
    )
    .map(drop)
}

/// prctl with integer arguments only.
pub fn prctl(option: c_int, arg2: u64) -> Result<usize, Errno> {
    syscall(
        libc::SYS_prctl,
        [option as usize, arg2 as usize, 0, 0, 0, 0],
    )
}

// ---------------------------------------------------------------------------------------------
// Memory

/// A fresh private anonymous mapping of `len` bytes, pages committed only when touched.
fn map(len: usize) -> Option<*mut u8> {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as usize;
    let args = [0, len, prot, flags, usize::MAX, 0];
    // s390x's mmap is the old one: it takes its six arguments in memory.
    #[cfg(target_arch = "s390x")]
    let r = syscall(libc::SYS_mmap, [args.as_ptr() as usize, 0, 0, 0, 0, 0]);
    #[cfg(not(target_arch = "s390x"))]
    let r = syscall(libc::SYS_mmap, args);
    r.ok().map(|p| p as *mut u8)
}

fn unmap(p: *mut u8, len: usize) {
    let _ = call(libc::SYS_munmap, p as usize, len, 0);
}
