//! The Rust side of the out-of-line C-ABI system call entries that x86_64 and aarch64 define
//! in their `global_asm!`: `modelcar_syscall(nr, a1, .., a5)`, and `modelcar_syscall3` and
//! `modelcar_syscall4`, which zero the arguments a call does not pass. Calling them is a plain
//! C call on both, so the wrappers are the same.

extern "C" {
    fn modelcar_syscall(nr: isize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> isize;
    fn modelcar_syscall3(nr: isize, a1: usize, a2: usize, a3: usize) -> isize;
    fn modelcar_syscall4(nr: isize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize;
}

/// The system call `NR` with five arguments (and a sixth of 0).
///
/// # Safety
/// The arguments must be what the system call `NR` expects: pointers among them point to
/// memory the kernel may read or write as that call does.
#[inline(always)]
pub unsafe fn syscall5<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    // SAFETY: the caller's contract; `modelcar_syscall` is a C-ABI function.
    unsafe { modelcar_syscall(NR as isize, a1, a2, a3, a4, a5) }
}

/// `syscall5::<NR>(a1, a2, a3, a4, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[inline(always)]
pub unsafe fn syscall4<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
) -> isize {
    // SAFETY: the caller's contract.
    unsafe { modelcar_syscall4(NR as isize, a1, a2, a3, a4) }
}

/// `syscall5::<NR>(a1, a2, a3, 0, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[inline(always)]
pub unsafe fn syscall3<const NR: libc::c_long>(a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { modelcar_syscall3(NR as isize, a1, a2, a3) }
}

/// `syscall3::<NR>(a1, a2, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[inline(always)]
pub unsafe fn syscall2<const NR: libc::c_long>(a1: usize, a2: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { syscall3::<NR>(a1, a2, 0) }
}

/// `syscall3::<NR>(a1, 0, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[inline(always)]
pub unsafe fn syscall1<const NR: libc::c_long>(a1: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { syscall3::<NR>(a1, 0, 0) }
}

/// `syscall3::<NR>(0, 0, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[inline(always)]
pub unsafe fn syscall0<const NR: libc::c_long>() -> isize {
    // SAFETY: the caller's contract.
    unsafe { syscall3::<NR>(0, 0, 0) }
}
