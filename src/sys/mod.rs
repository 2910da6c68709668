//! The safety boundary: every `unsafe` line of the crate is in this module (the crate denies
//! `unsafe_code` everywhere else). Outside, everything is safe Rust: system calls, raw memory
//! and the process's arguments are wrapped here in functions whose types carry what the kernel
//! needs (a `CPath` is followed by its NUL, a buffer is as long as the kernel is told), so a
//! mistake elsewhere cannot reach memory the kernel writes.
//!
//! No libc is linked. The `libc` crate gives the system call numbers, flags and errno values
//! for each target; `arch` holds the system call instruction and the entry point of each
//! architecture. Every structure passed to the kernel here is the kernel's own (statx,
//! linux_dirent64, capabilities, sigaction), so the gnu targets used for ppc64le and s390x
//! need no libc of their own either. Each system call below carries its own SAFETY note: the
//! `arch::syscallN` functions are `unsafe fn`, and clippy denies an `unsafe` block without one.

mod arch;
#[cfg(modelcar_static)]
mod entry;
#[cfg(modelcar_static)]
mod mem;
mod stack;

use arch::{syscall0, syscall1, syscall2, syscall3, syscall4, syscall5};

pub(crate) use stack::Stack;

use core::ffi::c_int;
use core::mem::MaybeUninit;

/// An `errno` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub i32);

pub(crate) const EEXIST: Errno = Errno(libc::EEXIST);
pub(crate) const EISDIR: Errno = Errno(libc::EISDIR);

const AT_FDCWD: usize = libc::AT_FDCWD as usize;

// Results stay in the kernel's one-register form (`-errno` on failure) inside this module:
// a `Result<usize, Errno>` would be returned through memory on ppc64 and s390x. Each call
// passes only the arguments its system call reads (on s390x each one, even a 0, costs an
// instruction), and its number as a constant (s390x encodes most in the instruction).

/// A raw result as a `Result`. Every result of the calls made here other than `-errno` is a
/// count, a descriptor or a user-space address: none is negative.
fn check(r: isize) -> Result<usize, Errno> {
    if r < 0 {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

/// `check` for the calls whose success carries nothing.
fn done(r: isize) -> Result<(), Errno> {
    check(r).map(drop)
}

/// A path that a NUL follows in memory, so that its address goes to the kernel as it is: no
/// copy, and no length limit but the kernel's (ENAMETOOLONG). The builtins' arguments are such
/// paths (see `Args`); `PathBuf::as_path` makes the others. The bytes themselves hold no NUL
/// (none can reach an argument).
#[repr(transparent)]
pub(crate) struct CPath([u8]);

impl CPath {
    /// The empty path (the kernel answers ENOENT).
    pub(crate) const EMPTY: &'static CPath = {
        // SAFETY: the empty slice at the start of b"\0" is followed by that NUL.
        unsafe { CPath::new_unchecked(b"\0".split_at(0).0) }
    };

    /// ".", the working directory.
    pub(crate) const DOT: &'static CPath = {
        // SAFETY: the "." at the start of b".\0" is followed by that NUL.
        unsafe { CPath::new_unchecked(b".\0".split_at(1).0) }
    };

    /// The bytes of `bytes` before its first NUL, as a path, and the bytes after that NUL; None
    /// without a NUL.
    pub(crate) fn split_at_nul(bytes: &[u8]) -> Option<(&CPath, &[u8])> {
        // An index loop (smaller than `position`); checked splits: no panicking paths
        // (`end` is always in bounds).
        let mut end = 0;
        while *bytes.get(end)? != 0 {
            end += 1;
        }
        let (path, rest) = bytes.split_at_checked(end)?;
        // SAFETY: `path` is followed by the NUL at `end`.
        Some((unsafe { CPath::new_unchecked(path) }, rest.split_first()?.1))
    }

    /// # Safety
    /// A NUL must follow `bytes` in memory, and stay there while the path is borrowed.
    const unsafe fn new_unchecked(bytes: &[u8]) -> &CPath {
        // SAFETY: CPath is a transparent [u8], so the pointer cast keeps length and lifetime.
        unsafe { &*(bytes as *const [u8] as *const CPath) }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `path.map(CPath::as_bytes)` as a plain cast, so that a function returning it is a jump
    /// to one returning `path` (a `map` makes a new `None`).
    pub(crate) fn option_bytes(path: Option<&CPath>) -> Option<&[u8]> {
        // SAFETY: CPath is a transparent [u8], so both options have the same layout.
        unsafe { core::mem::transmute::<Option<&CPath>, Option<&[u8]>>(path) }
    }

    /// The address the kernel reads the path (and its NUL) from.
    fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl core::ops::Deref for CPath {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// A path made in memory (a join, a temporary name, a prefix), in a `Stack` of its own: no
/// PATH_MAX buffer on the process's stack (a sleeping sidecar keeps every stack page it ever
/// touched), and no length limit but the kernel's.
#[derive(Default)]
pub(crate) struct PathBuf(Stack);

impl PathBuf {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.0.push(bytes);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The path so far, with a NUL written after it (that a later `push` writes over).
    pub(crate) fn as_path(&mut self) -> &CPath {
        // The length taken after the push: nothing but `self` is kept across the call.
        self.0.push(&[0]);
        self.0.truncate(self.0.len() - 1);
        // SAFETY: the NUL just pushed follows the bytes, and stays there while the path is
        // borrowed (pushes need `&mut self`).
        unsafe { CPath::new_unchecked(self.0.as_slice()) }
    }
}

/// A system call on one path relative to the working directory: `NR(AT_FDCWD, path, a)` (openat
/// reads a fourth argument, its mode, only to create a file: never here).
fn at<const NR: libc::c_long>(path: &CPath, a: usize) -> isize {
    // SAFETY: the path is followed by its NUL (a `CPath`); the callers' calls read an integer
    // as `a`.
    unsafe { syscall3::<NR>(AT_FDCWD, path.addr(), a) }
}

/// A system call on two paths relative to the working directory:
/// `NR(AT_FDCWD, one, AT_FDCWD, two, 0)` (no flags).
fn at2<const NR: libc::c_long>(one: &CPath, two: &CPath) -> Result<(), Errno> {
    // SAFETY: both paths are followed by their NULs (`CPath`s).
    done(unsafe { syscall4::<NR>(AT_FDCWD, one.addr(), AT_FDCWD, two.addr()) })
}

// ---------------------------------------------------------------------------------------------
// Process

// Inlined into its few callers, as `getpid`, `unlink` and `prctl` are: each call is barely
// more than a wrapper's entry and exit (ppc64 most of all).
#[inline(always)]
pub fn exit(status: i32) -> ! {
    arch::exit_group(status as usize)
}

/// Says `msg` on standard error and exits with status 70, for what cannot go on: a bug, or no
/// memory left.
fn fatal(msg: &[u8]) -> ! {
    write_line(2, &[msg]);
    exit(70)
}

#[inline(always)]
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid reads no memory. It cannot fail.
    unsafe { syscall0::<{ libc::SYS_getpid }>() as i32 }
}

/// The process's arguments, as the kernel left them at the entry point: each followed by its
/// NUL, one after another from argv[0] on (the block /proc/PID/cmdline shows). That is the form
/// `Args` takes, so they are used where they are: no copy.
///
/// # Safety
/// `sp` must be the stack pointer the kernel handed to the entry point.
#[cfg(modelcar_static)]
#[inline(always)]
pub(crate) unsafe fn args_at_entry(sp: *const usize) -> &'static [u8] {
    // SAFETY: at entry the stack holds argc, then argc pointers to the argument strings, which
    // the kernel copied in order and back to back, each with its NUL; they live (unchanged:
    // nothing here writes to them) as long as the process.
    unsafe {
        let argc = *sp;
        if argc == 0 {
            return &[];
        }
        let argv = sp.add(1).cast::<*const u8>();
        let (first, last) = (*argv, *argv.add(argc - 1));
        // Volatile: a plain loop becomes a call to `strlen`, then its only caller.
        let mut n = last as usize - first as usize;
        while first.add(n).read_volatile() != 0 {
            n += 1;
        }
        core::slice::from_raw_parts(first, n + 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// Writes all of `bytes` to `fd`, retrying short writes. No EINTR can come back: the only
/// signal handlers (`on_signals`) never return, and the kernel restarts a write that a stop
/// signal interrupted.
pub(crate) fn write_all(fd: c_int, bytes: &[u8]) -> Result<(), Errno> {
    let (mut at, mut left) = (bytes.as_ptr() as usize, bytes.len());
    while left > 0 {
        // SAFETY: the kernel reads `left` bytes from `at`, the rest of `bytes`.
        let r = check(unsafe { syscall3::<{ libc::SYS_write }>(fd as usize, at, left) })?;
        // The kernel writes at most `left` bytes.
        at += r;
        left -= r;
    }
    Ok(())
}

/// Writes `pieces` then a newline to `fd` in one `writev` (a line never interleaves with
/// another process's). Errors are ignored: there is nowhere left to report them.
pub fn write_line(fd: c_int, pieces: &[&[u8]]) {
    const MAX: usize = 8;
    // Not zeroed first: the kernel reads only the `n + 1` slots written.
    let mut iov = [MaybeUninit::<[usize; 2]>::uninit(); MAX + 1];
    let n = pieces.len().min(MAX);
    for i in 0..n {
        iov[i].write([pieces[i].as_ptr() as usize, pieces[i].len()]);
    }
    iov[n].write([b"\n".as_ptr() as usize, 1]);
    // `struct iovec` is { void *base; size_t len; }: two words, as each slot here.
    // SAFETY: the kernel reads the `n + 1` slots written, each the address and length of a
    // live slice.
    unsafe { syscall3::<{ libc::SYS_writev }>(fd as usize, iov.as_ptr() as usize, n + 1) };
}

// ---------------------------------------------------------------------------------------------
// Files

pub(crate) fn symlink(target: &CPath, link: &CPath) -> Result<(), Errno> {
    // The target is stored as it is, not resolved: no directory descriptor for it.
    // SAFETY: both paths are followed by their NULs (`CPath`s).
    done(unsafe { syscall3::<{ libc::SYS_symlinkat }>(target.addr(), AT_FDCWD, link.addr()) })
}

pub(crate) fn hard_link(target: &CPath, link: &CPath) -> Result<(), Errno> {
    at2::<{ libc::SYS_linkat }>(target, link)
}

pub(crate) fn rename(from: &CPath, to: &CPath) -> Result<(), Errno> {
    at2::<{ libc::SYS_renameat2 }>(from, to)
}

#[inline(always)]
pub(crate) fn unlink(path: &CPath) -> Result<(), Errno> {
    done(at::<{ libc::SYS_unlinkat }>(path, 0))
}

pub(crate) fn mkdir(path: &CPath, mode: u32) -> Result<(), Errno> {
    done(at::<{ libc::SYS_mkdirat }>(path, mode as usize))
}

/// Sets the umask, returning the old one (umask cannot fail).
pub(crate) fn umask(mask: u32) -> u32 {
    // SAFETY: umask reads no memory; it only swaps the process's file mode creation mask.
    unsafe { syscall1::<{ libc::SYS_umask }>(mask as usize) as u32 }
}

pub(crate) fn chmod(path: &CPath, mode: u32) -> Result<(), Errno> {
    done(at::<{ libc::SYS_fchmodat }>(path, mode as usize))
}

/// The part of a file's status the builtins need: its mode (16 bits), and bit 16 set if its
/// size is not 0. One word: a `Result` of it comes back in registers, not through memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileStat(u32);

impl FileStat {
    /// The type and permission bits, as `st_mode`.
    pub(crate) fn mode(&self) -> u32 {
        self.0 & 0xffff
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0 >> 16 == 0
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.0 & libc::S_IFMT == libc::S_IFDIR
    }
}

/// stat (follow = true) or lstat (follow = false), through statx. The kernel's `struct statx`
/// is 256 bytes, the same on every architecture: `stx_mode` is the u16 at byte 28 and
/// `stx_size` the u64 at byte 40.
pub(crate) fn stat(path: &CPath, follow: bool) -> Result<FileStat, Errno> {
    const STATX_TYPE_MODE_SIZE: usize = 0x1 | 0x2 | 0x200;
    let flags = if follow {
        0
    } else {
        libc::AT_SYMLINK_NOFOLLOW as usize
    };
    // Not zeroed first: on success the kernel copies out a whole `struct statx`.
    let mut buf = [MaybeUninit::<u64>::uninit(); 32];
    // SAFETY: the path is followed by its NUL; `buf` has room for the 256 bytes of a statx.
    done(unsafe {
        syscall5::<{ libc::SYS_statx }>(
            AT_FDCWD,
            path.addr(),
            flags,
            STATX_TYPE_MODE_SIZE,
            buf.as_mut_ptr() as usize,
        )
    })?;
    // SAFETY: statx succeeded, so the kernel wrote all 32 words.
    let (word, size) = unsafe { (buf[3].assume_init(), buf[5].assume_init()) };
    // Word 3 is bytes 24 to 31: stx_gid, stx_mode, padding.
    const MODE_SHIFT: u32 = if cfg!(target_endian = "little") {
        32
    } else {
        16
    };
    let mode = (word >> MODE_SHIFT) as u16 as u32;
    Ok(FileStat(mode | ((size != 0) as u32) << 16))
}

/// Appends the names in a directory to `out`, each followed by a NUL, in the order the kernel
/// returns them, "." and ".." included.
pub(crate) fn read_dir(path: &CPath, out: &mut Stack) -> Result<(), Errno> {
    let flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as usize;
    let fd = check(at::<{ libc::SYS_openat }>(path, flags))?;
    let mut buf = MaybeUninit::<[u64; 512]>::uninit();
    let result = loop {
        // SAFETY: `buf` has room for the 4096 bytes the kernel is told it may write.
        let r =
            unsafe { syscall3::<{ libc::SYS_getdents64 }>(fd, buf.as_mut_ptr() as usize, 4096) };
        if r <= 0 {
            break done(r);
        }
        let n = (r as usize).min(4096);
        // SAFETY: the kernel wrote n bytes of records at the start of buf (8-byte aligned, as
        // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; } wants).
        let bytes = unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
        let mut off = 0;
        while off + 19 < n {
            let reclen = u16::from_ne_bytes([bytes[off + 16], bytes[off + 17]]) as usize;
            // Checked: the kernel's records are whole, but a slice index would bring a
            // panicking path.
            let Some(name) = bytes.get(off + 19..off + reclen) else {
                break;
            };
            // The name with the NUL the kernel always ends it with (padding may follow).
            let end = name
                .iter()
                .position(|&b| b == 0)
                .map_or(name.len(), |i| i + 1);
            out.push(&name[..end]);
            off += reclen;
        }
    };
    // SAFETY: close reads no memory; `fd` is the descriptor opened above.
    unsafe { syscall1::<{ libc::SYS_close }>(fd) };
    result
}

// ---------------------------------------------------------------------------------------------
// Time

/// Sleeps for `secs` seconds and `nanos` nanoseconds, resuming after interruptions.
pub(crate) fn sleep(secs: u64, nanos: u32) {
    let mut req = [secs.min(i64::MAX as u64) as usize, nanos as usize];
    // Not zeroed first: the kernel writes the time left when it returns EINTR.
    let mut rem = MaybeUninit::<[usize; 2]>::uninit();
    // SAFETY: the kernel reads a timespec (two words) from `req` and may write one to `rem`.
    while unsafe {
        syscall2::<{ libc::SYS_nanosleep }>(req.as_ptr() as usize, rem.as_mut_ptr() as usize)
    } == -(libc::EINTR as isize)
    {
        // SAFETY: nanosleep returned EINTR, so the kernel wrote the time left.
        req = unsafe { rem.assume_init() };
    }
}

// ---------------------------------------------------------------------------------------------
// Signals

/// Runs `handler` on signals `a` and `b`, and unblocks them in case the parent left them
/// blocked (the mask survives exec). The handler must not return: x86_64 needs a restorer to
/// return through, and there is none (the handler's own address is given to satisfy the kernel).
pub(crate) fn on_signals(a: c_int, b: c_int, handler: extern "C" fn(c_int) -> !) {
    const SA_RESTORER: usize = 0x0400_0000;
    // The kernel's struct sigaction: handler, flags, restorer, mask (one 64-bit word).
    let action = [handler as usize, SA_RESTORER, handler as usize, 0];
    let at = action.as_ptr() as usize;
    // Two calls rather than a loop over [a, b]: smaller everywhere (s390x keeps the other
    // arguments in their registers across both).
    // SAFETY: the kernel reads a struct sigaction from `at`, with an 8-byte mask; no old
    // action is asked for. The handler never returns, so no restorer is ever jumped to.
    unsafe {
        syscall4::<{ libc::SYS_rt_sigaction }>(a as usize, at, 0, 8);
        syscall4::<{ libc::SYS_rt_sigaction }>(b as usize, at, 0, 8);
    }
    let set: u64 = 1 << (a - 1) | 1 << (b - 1);
    // SAFETY: the kernel reads an 8-byte mask from `set`; no old mask is asked for.
    unsafe {
        syscall4::<{ libc::SYS_rt_sigprocmask }>(
            libc::SIG_UNBLOCK as usize,
            &set as *const u64 as usize,
            0,
            8,
        )
    };
}

// ---------------------------------------------------------------------------------------------
// Capabilities

const CAP_VERSION_3: u32 = 0x2008_0522;

/// The process's permitted capability set.
pub(crate) fn permitted_capabilities() -> Result<u64, Errno> {
    let header = [CAP_VERSION_3, 0];
    // Two `struct __user_cap_data_struct { effective, permitted, inheritable }`; not zeroed
    // first: on success the kernel writes both (version 3 has two).
    let mut data = MaybeUninit::<[u32; 6]>::uninit();
    // SAFETY: the kernel reads the two-word header and writes at most the six words of `data`.
    done(unsafe {
        syscall2::<{ libc::SYS_capget }>(header.as_ptr() as usize, data.as_mut_ptr() as usize)
    })?;
    // SAFETY: capget succeeded, so the kernel wrote the whole array.
    let data = unsafe { data.assume_init() };
    Ok(data[1] as u64 | (data[4] as u64) << 32)
}

/// Empties the effective, permitted and inheritable sets.
pub(crate) fn clear_capabilities() -> Result<(), Errno> {
    let header = [CAP_VERSION_3, 0];
    let data = [0u32; 6];
    // SAFETY: the kernel reads the two-word header and the six words of `data`.
    done(unsafe {
        syscall2::<{ libc::SYS_capset }>(header.as_ptr() as usize, data.as_ptr() as usize)
    })
}

/// prctl for the options that read one integer argument and nothing after it
/// (PR_CAPBSET_DROP, PR_SET_DUMPABLE).
#[inline(always)]
pub(crate) fn prctl(option: c_int, arg2: u64) -> Result<(), Errno> {
    // SAFETY: the options taken here read no memory.
    done(unsafe { syscall2::<{ libc::SYS_prctl }>(option as usize, arg2 as usize) })
}

/// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0): the kernel refuses it unless all three last
/// arguments are 0.
pub(crate) fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS reads no memory.
    done(unsafe { syscall4::<{ libc::SYS_prctl }>(libc::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0) })
}

// ---------------------------------------------------------------------------------------------
// Memory

/// A fresh private anonymous mapping of `len` bytes, pages committed only when touched. Without
/// one there is no going on.
fn map(len: usize) -> *mut u8 {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as usize;
    // s390x's mmap is the old one: it takes its six arguments in memory.
    #[cfg(target_arch = "s390x")]
    let r = {
        let args = [0, len, prot, flags, usize::MAX, 0];
        // SAFETY: the kernel reads the six words of `args`; a new mapping touches no memory
        // of ours.
        unsafe { syscall1::<{ libc::SYS_mmap }>(args.as_ptr() as usize) }
    };
    // The sixth argument, the offset, is 0 (`arch` passes it).
    #[cfg(not(target_arch = "s390x"))]
    // SAFETY: a new anonymous mapping touches no memory of ours.
    let r = unsafe { syscall5::<{ libc::SYS_mmap }>(0, len, prot, flags, usize::MAX) };
    if r < 0 {
        fatal(b"modelcar-base: out of memory");
    }
    r as *mut u8
}

/// # Safety
/// `p` and `len` must be a mapping made by `map` that nothing uses any more.
unsafe fn unmap(p: *mut u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { syscall2::<{ libc::SYS_munmap }>(p as usize, len) };
}
