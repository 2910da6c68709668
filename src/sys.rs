//! The one thin layer of `unsafe`: every call into libc (musl, linked statically) lives here.
//!
//! ppc64le and s390x are built with rustup's `*-linux-gnu` targets (for `core`/`alloc`) but linked
//! against Debian's musl for that architecture, so the `libc` crate's *struct layouts* there are
//! glibc's, not musl's. This layer therefore only calls functions whose arguments are integers and
//! byte pointers, and uses raw system calls with kernel-defined structures (`statx`,
//! `getdents64`, `capget`/`capset`, `rt_sigprocmask`) for everything else: the kernel ABI is the
//! same whichever libc is linked.

use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_long, c_void};

/// An `errno` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const EEXIST: Errno = Errno(libc::EEXIST);
pub const EINTR: Errno = Errno(libc::EINTR);
pub const EINVAL: Errno = Errno(libc::EINVAL);
pub const EISDIR: Errno = Errno(libc::EISDIR);
pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);

fn errno() -> Errno {
    // SAFETY: __errno_location returns a valid pointer to this thread's errno.
    Errno(unsafe { *libc::__errno_location() })
}

/// Paths longer than this are refused before the kernel sees them (it would say the same).
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// A NUL-terminated copy of `path` for the kernel.
fn c_path(path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    if path.contains(&0) {
        return Err(EINVAL);
    }
    let mut c = Vec::with_capacity(path.len() + 1);
    c.extend_from_slice(path);
    c.push(0);
    Ok(c)
}

fn check(ret: c_int) -> Result<(), Errno> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

fn check_long(ret: c_long) -> Result<c_long, Errno> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------------------------------------
// Process

/// The program's arguments as byte slices.
///
/// # Safety
/// `argv` must point to `argc` valid NUL-terminated strings that live for the whole process
/// (what the C runtime passes to `main`).
pub unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<&'static [u8]> {
    let mut out = Vec::with_capacity(argc.max(0) as usize);
    for i in 0..argc.max(0) as usize {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings that live as long as
        // the process.
        let arg = unsafe { core::ffi::CStr::from_ptr(*argv.add(i)) };
        out.push(arg.to_bytes());
    }
    out
}

pub fn exit(status: i32) -> ! {
    // SAFETY: _exit never returns and needs no cleanup (no stdio buffers are used).
    unsafe { libc::_exit(status) }
}

pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

// ---------------------------------------------------------------------------------------------
// Output

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
pub fn write_all(fd: c_int, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast::<c_void>(), bytes.len()) };
        if n < 0 {
            let e = errno();
            if e == EINTR {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Files

pub fn symlink(target: &[u8], link: &[u8]) -> Result<(), Errno> {
    let (t, l) = (c_path(target)?, c_path(link)?);
    // SAFETY: both are NUL-terminated buffers that outlive the call.
    check(unsafe { libc::symlink(t.as_ptr().cast(), l.as_ptr().cast()) })
}

pub fn hard_link(target: &[u8], link: &[u8]) -> Result<(), Errno> {
    let (t, l) = (c_path(target)?, c_path(link)?);
    // SAFETY: both are NUL-terminated buffers that outlive the call.
    check(unsafe { libc::link(t.as_ptr().cast(), l.as_ptr().cast()) })
}

pub fn rename(from: &[u8], to: &[u8]) -> Result<(), Errno> {
    let (f, t) = (c_path(from)?, c_path(to)?);
    // SAFETY: both are NUL-terminated buffers that outlive the call.
    check(unsafe { libc::rename(f.as_ptr().cast(), t.as_ptr().cast()) })
}

pub fn unlink(path: &[u8]) -> Result<(), Errno> {
    let p = c_path(path)?;
    // SAFETY: p is NUL-terminated and outlives the call.
    check(unsafe { libc::unlink(p.as_ptr().cast()) })
}

pub fn mkdir(path: &[u8], mode: u32) -> Result<(), Errno> {
    let p = c_path(path)?;
    // SAFETY: p is NUL-terminated and outlives the call.
    check(unsafe { libc::mkdir(p.as_ptr().cast(), mode as libc::mode_t) })
}

pub fn chmod(path: &[u8], mode: u32) -> Result<(), Errno> {
    let p = c_path(path)?;
    // SAFETY: p is NUL-terminated and outlives the call.
    check(unsafe { libc::chmod(p.as_ptr().cast(), mode as libc::mode_t) })
}

/// The part of a file's status the builtins need.
#[derive(Clone, Copy, Debug)]
pub struct FileStat {
    pub mode: u32,
    pub size: u64,
}

impl FileStat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

/// `struct statx` as the kernel defines it (identical on every architecture).
#[repr(C)]
struct Statx {
    mask: u32,
    blksize: u32,
    attributes: u64,
    nlink: u32,
    uid: u32,
    gid: u32,
    mode: u16,
    _pad0: u16,
    ino: u64,
    size: u64,
    blocks: u64,
    attributes_mask: u64,
    times: [u64; 8],
    rdev_major: u32,
    rdev_minor: u32,
    dev_major: u32,
    dev_minor: u32,
    _spare: [u64; 14],
}

const STATX_TYPE: u32 = 0x1;
const STATX_MODE: u32 = 0x2;
const STATX_SIZE: u32 = 0x200;

/// stat (follow = true) or lstat (follow = false), through statx.
pub fn stat(path: &[u8], follow: bool) -> Result<FileStat, Errno> {
    let p = c_path(path)?;
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    let mut buf = core::mem::MaybeUninit::<Statx>::zeroed();
    // SAFETY: p is NUL-terminated and buf is a writable statx-sized buffer, both outliving the call.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_statx,
            libc::AT_FDCWD,
            p.as_ptr(),
            flags,
            STATX_TYPE | STATX_MODE | STATX_SIZE,
            buf.as_mut_ptr(),
        )
    })?;
    // SAFETY: statx succeeded, so the kernel filled the buffer (zeroed before, so any bytes it
    // skipped are still valid integers).
    let st = unsafe { buf.assume_init() };
    Ok(FileStat {
        mode: st.mode as u32,
        size: st.size,
    })
}

/// The names in a directory, in the order the kernel returns them, without "." and "..".
pub fn read_dir(path: &[u8]) -> Result<Vec<Vec<u8>>, Errno> {
    let p = c_path(path)?;
    // SAFETY: p is NUL-terminated and outlives the call.
    let fd = unsafe {
        libc::open(
            p.as_ptr().cast(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    let result = read_dir_fd(fd);
    // SAFETY: fd was opened above and is closed once.
    unsafe { libc::close(fd) };
    result
}

fn read_dir_fd(fd: c_int) -> Result<Vec<Vec<u8>>, Errno> {
    let mut names = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: buf is writable for its length; getdents64 writes at most that many bytes.
        let n = check_long(unsafe {
            libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len())
        })? as usize;
        if n == 0 {
            return Ok(names);
        }
        // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
        let mut off = 0;
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name_bytes = &buf[off + 19..off + reclen];
            let len = name_bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name_bytes.len());
            let name = &name_bytes[..len];
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
            off += reclen;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Time

/// Sleeps for `secs` seconds and `nanos` nanoseconds, resuming after interruptions.
pub fn sleep(secs: u64, nanos: u32) {
    let mut req = libc::timespec {
        tv_sec: secs.min(i64::MAX as u64) as _,
        tv_nsec: nanos as c_long,
    };
    loop {
        let mut rem = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: req and rem are valid timespecs that outlive the call.
        if unsafe { libc::nanosleep(&req, &mut rem) } == 0 || errno() != EINTR {
            return;
        }
        req = rem;
    }
}

/// Waits for a signal, forever (the SIGTERM/SIGINT handlers exit the process).
pub fn pause_forever() -> ! {
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

// ---------------------------------------------------------------------------------------------
// Signals

/// Runs `handler` on `sig`. `signal` takes no struct, so it is ABI-safe on every target here.
pub fn set_signal_handler(sig: c_int, handler: extern "C" fn(c_int)) {
    // SAFETY: handler is a valid extern "C" function for the whole life of the process.
    unsafe { libc::signal(sig, handler as libc::sighandler_t) };
}

/// Unblocks `sigs` in case the parent left them blocked (the mask survives exec).
pub fn unblock_signals(sigs: &[c_int]) {
    // The kernel's sigset is one 64-bit word on every 64-bit Linux.
    let mut mask: u64 = 0;
    for &s in sigs {
        mask |= 1 << (s - 1);
    }
    // SAFETY: mask is a valid 8-byte kernel sigset; the old set pointer may be null.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_UNBLOCK,
            &mask as *const u64,
            core::ptr::null_mut::<u64>(),
            8usize,
        )
    };
}

// ---------------------------------------------------------------------------------------------
// Capabilities

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// The process's (effective, permitted, inheritable) capability sets.
pub fn capabilities() -> Result<(u64, u64, u64), Errno> {
    let mut hdr = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: hdr and data are the v3 header and its two data words, both outliving the call.
    check_long(unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) })?;
    let join = |lo: u32, hi: u32| lo as u64 | (hi as u64) << 32;
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// Empties the effective, permitted and inheritable sets.
pub fn clear_capabilities() -> Result<(), Errno> {
    let mut hdr = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: hdr and data are the v3 header and its two data words, both outliving the call.
    check_long(unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) }).map(|_| ())
}

/// prctl with integer arguments only.
pub fn prctl(option: c_int, arg2: u64) -> Result<c_int, Errno> {
    // SAFETY: every option used here takes integer arguments; unused ones are passed as 0.
    let r = unsafe {
        libc::prctl(
            option,
            arg2 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

// ---------------------------------------------------------------------------------------------
// Memory: the global allocator.
//
// A power-of-two size-class allocator instead of libc's malloc (musl's mallocng is ~8 KB, half of
// this binary). Freed blocks go on a free list per class and are reused by the next request of
// that class, so a loop that allocates the same things on every round runs in constant memory.
// Small blocks are carved from 64 KiB chunks; large ones get their own mapping. The process is
// single-threaded and signal handlers never allocate; the atomics are only plain loads/stores.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::Relaxed};

const MIN_CLASS: u32 = 4; // 16 bytes: room for the free-list link, and malloc's alignment
const CHUNK: usize = 64 * 1024;
const CLASSES: usize = 17; // 2^0 .. 2^16 bytes; larger blocks are mapped on their own

pub struct Allocator;

static FREE_LISTS: [AtomicPtr<u8>; CLASSES] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; CLASSES];
static CHUNK_NEXT: AtomicUsize = AtomicUsize::new(0);
static CHUNK_END: AtomicUsize = AtomicUsize::new(0);

fn class_of(layout: &Layout) -> u32 {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    usize::BITS - (size - 1).leading_zeros()
}

fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping with no address hint has no preconditions.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        core::ptr::null_mut()
    } else {
        p.cast()
    }
}

fn page_round(len: usize) -> usize {
    (len + 4095) & !4095
}

// SAFETY: blocks never overlap (each comes from a fresh chunk range, a fresh mapping, or a free
// list it was put on by dealloc with the same class), and every block is aligned to its size,
// which is at least the layout's alignment (chunks and mappings are page-aligned, and blocks of
// one class are carved at multiples of their size from the chunk's aligned cursor).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let class = class_of(&layout);
        if class as usize >= CLASSES {
            return map(page_round(layout.size()));
        }
        let head = &FREE_LISTS[class as usize];
        let block = head.load(Relaxed);
        if !block.is_null() {
            // SAFETY: a block on a free list holds the next link in its first word.
            head.store(unsafe { block.cast::<*mut u8>().read() }, Relaxed);
            return block;
        }
        let size = 1usize << class;
        let mut next = (CHUNK_NEXT.load(Relaxed) + size - 1) & !(size - 1);
        if next == 0 || next + size > CHUNK_END.load(Relaxed) {
            let chunk = map(CHUNK);
            if chunk.is_null() {
                return chunk;
            }
            next = chunk as usize;
            CHUNK_END.store(next + CHUNK, Relaxed);
        }
        CHUNK_NEXT.store(next + size, Relaxed);
        next as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let class = class_of(&layout);
        if class as usize >= CLASSES {
            // SAFETY: ptr is the start of a mapping of this rounded length made by alloc.
            unsafe { libc::munmap(ptr.cast(), page_round(layout.size())) };
            return;
        }
        let head = &FREE_LISTS[class as usize];
        // SAFETY: the block is at least 16 bytes and no longer in use: its first word is ours.
        unsafe { ptr.cast::<*mut u8>().write(head.load(Relaxed)) };
        head.store(ptr, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees new_size is valid for layout's alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let class = class_of(&layout);
        if class == class_of(&new_layout) && (class as usize) < CLASSES {
            return ptr; // the block already has room
        }
        // SAFETY: as for alloc/dealloc; the two blocks are distinct, so the copy does not overlap.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
