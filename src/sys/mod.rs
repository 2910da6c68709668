//! The one thin layer of `unsafe`: system calls, raw memory and the process's arguments.
//!
//! No libc is linked. The `libc` crate gives the system call numbers, flags and errno values
//! for each target; `arch` holds the system call instruction. Every structure passed to the
//! kernel here is the kernel's own (statx, linux_dirent64, capabilities, sigaction), so the
//! gnu targets used for ppc64le and s390x need no libc of their own either.

mod arch;
#[cfg(modelcar_static)]
mod entry;
mod stack;

pub use stack::Stack;

use core::ffi::c_int;
use core::mem::MaybeUninit;

/// An `errno` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const EEXIST: Errno = Errno(libc::EEXIST);
pub const EINTR: Errno = Errno(libc::EINTR);
pub const EINVAL: Errno = Errno(libc::EINVAL);
pub const EISDIR: Errno = Errno(libc::EISDIR);

/// Paths this long or longer are refused before the kernel sees them (it would say the same).
pub const PATH_MAX: usize = libc::PATH_MAX as usize;
const AT_FDCWD: usize = libc::AT_FDCWD as usize;

/// One system call; the kernel's `-errno` becomes `Err`. (No call here needs a sixth argument;
/// arguments go in registers, not through memory.)
fn syscall(
    nr: libc::c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
) -> Result<usize, Errno> {
    // SAFETY: every caller passes arguments of the types the system call `nr` expects; pointers
    // among them point to live buffers of the sizes the kernel will read or write.
    let r = unsafe { arch::modelcar_syscall(nr as isize, a, b, c, d, e, 0) };
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

fn call(nr: libc::c_long, a: usize, b: usize, c: usize) -> Result<usize, Errno> {
    syscall(nr, a, b, c, 0, 0)
}

/// A path of less than PATH_MAX bytes, on the stack. It is not zeroed first (4 KiB of stores
/// per use, and big frames are costly on some architectures).
pub struct PathBuf {
    bytes: MaybeUninit<[u8; PATH_MAX]>,
    len: usize,
}

impl Default for PathBuf {
    fn default() -> Self {
        PathBuf {
            bytes: MaybeUninit::uninit(),
            len: 0,
        }
    }
}

impl PathBuf {
    /// Appends `bytes`. What does not fit is dropped and the path marked too long: every system
    /// call then fails with ENAMETOOLONG, as the kernel would for the whole path.
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len < PATH_MAX {
                // SAFETY: len < PATH_MAX, so the write is inside the array.
                unsafe { self.bytes.as_mut_ptr().cast::<u8>().add(self.len).write(b) };
                self.len += 1;
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `push`.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr().cast::<u8>(), self.len) }
    }
}

/// Paths shorter than this are copied into small buffers: a sleeping sidecar keeps every stack
/// page it ever touched, and two PATH_MAX buffers are two pages.
const SHORT: usize = 256;

/// A system call on one path relative to the working directory: `nr(AT_FDCWD, path, a, b, c)`.
fn at(nr: libc::c_long, path: &[u8], a: usize, b: usize, c: usize) -> Result<usize, Errno> {
    with_paths(nr, path, None, [a, b, c])
}

/// A system call on two paths: `nr(AT_FDCWD, one, AT_FDCWD, two, 0)`, or for symlinkat
/// `nr(one, AT_FDCWD, two)`.
fn at2(nr: libc::c_long, one: &[u8], two: &[u8]) -> Result<(), Errno> {
    with_paths(nr, one, Some(two), [0; 3]).map(drop)
}

/// The system call of `at` or `at2`, with the paths copied NUL-terminated into a small buffer,
/// or into a PATH_MAX one (in a frame of its own) when they do not fit.
fn with_paths(
    nr: libc::c_long,
    one: &[u8],
    two: Option<&[u8]>,
    args: [usize; 3],
) -> Result<usize, Errno> {
    if one.len() < SHORT && two.map_or(0, <[u8]>::len) < SHORT {
        let mut buf = [MaybeUninit::uninit(); 2 * SHORT];
        return call_with_paths(nr, one, two, args, &mut buf);
    }
    with_long_paths(nr, one, two, args)
}

#[inline(never)]
fn with_long_paths(
    nr: libc::c_long,
    one: &[u8],
    two: Option<&[u8]>,
    args: [usize; 3],
) -> Result<usize, Errno> {
    let mut buf = [MaybeUninit::uninit(); 2 * PATH_MAX];
    call_with_paths(nr, one, two, args, &mut buf)
}

fn call_with_paths(
    nr: libc::c_long,
    one: &[u8],
    two: Option<&[u8]>,
    [a, b, c]: [usize; 3],
    buf: &mut [MaybeUninit<u8>],
) -> Result<usize, Errno> {
    // Each path of less than PATH_MAX bytes gets its NUL; the buffer has room for both.
    let mut c_paths = [0usize; 2];
    let mut at = 0;
    for (slot, path) in c_paths.iter_mut().zip([Some(one), two]) {
        let Some(path) = path else { break };
        if path.len() >= PATH_MAX {
            return Err(Errno(libc::ENAMETOOLONG));
        }
        let dest = &mut buf[at..at + path.len() + 1];
        for (d, &s) in dest.iter_mut().zip(path.iter().chain(&[0])) {
            d.write(s);
        }
        *slot = dest.as_ptr() as usize;
        at += path.len() + 1;
    }
    let [one, two] = c_paths;
    match (two, nr) {
        (0, _) => syscall(nr, AT_FDCWD, one, a, b, c),
        (_, libc::SYS_symlinkat) => syscall(nr, one, AT_FDCWD, two, 0, 0),
        _ => syscall(nr, AT_FDCWD, one, AT_FDCWD, two, 0),
    }
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
    at2(libc::SYS_symlinkat, target, link)
}

pub fn hard_link(target: &[u8], link: &[u8]) -> Result<(), Errno> {
    at2(libc::SYS_linkat, target, link)
}

pub fn rename(from: &[u8], to: &[u8]) -> Result<(), Errno> {
    at2(libc::SYS_renameat2, from, to)
}

pub fn unlink(path: &[u8]) -> Result<(), Errno> {
    at(libc::SYS_unlinkat, path, 0, 0, 0).map(drop)
}

pub fn mkdir(path: &[u8], mode: u32) -> Result<(), Errno> {
    at(libc::SYS_mkdirat, path, mode as usize, 0, 0).map(drop)
}

pub fn chmod(path: &[u8], mode: u32) -> Result<(), Errno> {
    at(libc::SYS_fchmodat, path, mode as usize, 0, 0).map(drop)
}

/// The part of a file's status the builtins need.
#[derive(Clone, Copy, Debug)]
pub struct FileStat {
    pub mode: u32,
    pub size: u64,
}

impl FileStat {
    fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.kind() == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.kind() == libc::S_IFLNK
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
    at(
        libc::SYS_statx,
        path,
        flags,
        STATX_TYPE_MODE_SIZE,
        buf.as_mut_ptr() as usize,
    )?;
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
    let fd = at(libc::SYS_openat, path, flags, 0, 0)?;
    let mut buf = MaybeUninit::<[u64; 512]>::uninit();
    let result = loop {
        let n = match call(libc::SYS_getdents64, fd, buf.as_mut_ptr() as usize, 4096) {
            Ok(0) => break Ok(()),
            Ok(n) => n.min(4096),
            Err(e) => break Err(e),
        };
        // SAFETY: the kernel wrote n bytes of records at the start of buf (8-byte aligned, as
        // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; } wants).
        let bytes = unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
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
            s as usize,
            action.as_ptr() as usize,
            0,
            8,
            0,
        );
    }
    let _ = syscall(
        libc::SYS_rt_sigprocmask,
        libc::SIG_UNBLOCK as usize,
        &mask as *const u64 as usize,
        0,
        8,
        0,
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
    syscall(libc::SYS_prctl, option as usize, arg2 as usize, 0, 0, 0)
}

// ---------------------------------------------------------------------------------------------
// Memory

/// A fresh private anonymous mapping of `len` bytes, pages committed only when touched.
fn map(len: usize) -> Option<*mut u8> {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as usize;
    // s390x's mmap is the old one: it takes its six arguments in memory.
    #[cfg(target_arch = "s390x")]
    let r = {
        let args = [0, len, prot, flags, usize::MAX, 0];
        call(libc::SYS_mmap, args.as_ptr() as usize, 0, 0)
    };
    // The sixth argument, the offset, is 0.
    #[cfg(not(target_arch = "s390x"))]
    let r = syscall(libc::SYS_mmap, 0, len, prot, flags, usize::MAX);
    r.ok().map(|p| p as *mut u8)
}

fn unmap(p: *mut u8, len: usize) {
    let _ = call(libc::SYS_munmap, p as usize, len, 0);
}
