//! The system call instruction, per architecture. `syscall5::<NR>(a1, a2, a3, a4, a5)` returns
//! the kernel's raw result (`-errno` on failure); no call here needs a sixth argument (only
//! mmap's offset would, and it is 0). `syscall4` is the same with `a5 = 0`, and `syscall3` for
//! the many calls that read three arguments or fewer. No libc is linked: the kernel ABI is the
//! same whatever libc a target names, so this replaces libc's wrappers, its `errno` and its
//! thread setup.
//!
//! x86_64 and aarch64: one small C-ABI function, `modelcar_syscall(nr, a1, .., a5)`, with the
//! entries `modelcar_syscall3` (`a4 = a5 = 0`) and `modelcar_syscall4` (`a5 = 0`) just before
//! it: an entry point costs less than a wrapper function. powerpc64: an `asm!` block at each
//! call that branches to one shared body (see there). s390x: the instruction inline at each
//! call (see there).

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl modelcar_syscall",
    ".globl modelcar_syscall3",
    ".globl modelcar_syscall4",
    "modelcar_syscall3:",
    "xor r8d, r8d",
    "modelcar_syscall4:",
    "xor r9d, r9d",
    ".type modelcar_syscall, @function",
    "modelcar_syscall:",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "mov r10, r8",
    "mov r8, r9",
    "xor r9d, r9d",
    "syscall",
    "ret",
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl modelcar_syscall",
    ".globl modelcar_syscall3",
    ".globl modelcar_syscall4",
    "modelcar_syscall3:",
    "mov x4, xzr",
    "modelcar_syscall4:",
    "mov x5, xzr",
    ".type modelcar_syscall, %function",
    "modelcar_syscall:",
    "mov x8, x0",
    "mov x0, x1",
    "mov x1, x2",
    "mov x2, x3",
    "mov x3, x4",
    "mov x4, x5",
    "mov x5, xzr",
    "svc #0",
    "ret",
);

// powerpc64: the kernel flags an error in CR0.SO and returns a positive errno; `modelcar_sc`
// negates it so that every architecture reports errors the same way. Each call is an `asm!`
// block that sets the number in r0 and only the arguments that call reads, then branches to
// that one shared body. The body keeps r4 to r12 for its caller (the kernel may change them), so
// callers keep their values in those registers across system calls rather than in saved
// registers of their own, and unused arguments are not zeroed: measured smaller than Rust
// functions around the instruction, and than a body that keeps nothing. A call from inside
// `asm!` needs no `nop` after it (the slot for restoring the TOC pointer after a call the
// compiler cannot see into): the body does not touch r2. It keeps the registers below the
// stack pointer, in the 288 bytes that the ELFv2 ABI protects from signal handlers and that a
// function may use without a frame: the blocks do not claim `nostack`, and every caller has a
// frame of its own (it saves LR for the branch), so none of its data is there. Changed: r0, r3,
// CR0, CTR, XER and LR.
#[cfg(target_arch = "powerpc64")]
core::arch::global_asm!(
    ".globl modelcar_sc",
    ".type modelcar_sc, @function",
    "modelcar_sc:",
    "std 4, -8(1)",
    "std 5, -16(1)",
    "std 6, -24(1)",
    "std 7, -32(1)",
    "std 8, -40(1)",
    "std 9, -48(1)",
    "std 10, -56(1)",
    "std 11, -64(1)",
    "std 12, -72(1)",
    "sc",
    "ld 4, -8(1)",
    "ld 5, -16(1)",
    "ld 6, -24(1)",
    "ld 7, -32(1)",
    "ld 8, -40(1)",
    "ld 9, -48(1)",
    "ld 10, -56(1)",
    "ld 11, -64(1)",
    "ld 12, -72(1)",
    "bns+ 1f",
    "neg 3, 3",
    "1:",
    "blr",
    ".size modelcar_sc, . - modelcar_sc",
);

#[cfg(target_arch = "powerpc64")]
extern "C" {
    fn modelcar_sc();
}

/// `sc!(NR, operands)`: the system call `NR` through `modelcar_sc`; the operands give r3 and
/// the argument registers that the call reads.
#[cfg(target_arch = "powerpc64")]
macro_rules! sc {
    ($nr:ident, $($operands:tt)*) => {
        core::arch::asm!(
            "bl {sc}",
            sc = sym modelcar_sc,
            inlateout("r0") $nr as isize => _,
            $($operands)*
            out("cr0") _,
            out("ctr") _,
            out("xer") _,
            out("lr") _,
        )
    };
}

/// The system call `NR` with five arguments, and for mmap, the one call here that reads a sixth,
/// a sixth of 0 (other calls leave it unset: an instruction less at each).
///
/// # Safety
/// The arguments must be what the system call `NR` expects.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn syscall5<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let r: isize;
    // SAFETY: the system call with the caller's arguments (the caller's contract); `sc!` names
    // every register that the kernel and `modelcar_sc` change.
    unsafe {
        if NR == libc::SYS_mmap {
            sc!(NR,
                inlateout("r3") a1 => r,
                in("r4") a2,
                in("r5") a3,
                in("r6") a4,
                in("r7") a5,
                in("r8") 0usize,
            );
        } else {
            sc!(NR,
                inlateout("r3") a1 => r,
                in("r4") a2,
                in("r5") a3,
                in("r6") a4,
                in("r7") a5,
            );
        }
    }
    r
}

/// `syscall5::<NR>(a1, a2, a3, a4, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn syscall4<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        sc!(NR,
            inlateout("r3") a1 => r,
            in("r4") a2,
            in("r5") a3,
            in("r6") a4,
            in("r7") 0usize,
        );
    }
    r
}

/// The system call `NR` with three arguments: the kernel's others are not set.
///
/// # Safety
/// As for `syscall5`; the call must read no more than three arguments.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn syscall3<const NR: libc::c_long>(a1: usize, a2: usize, a3: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        sc!(NR,
            inlateout("r3") a1 => r,
            in("r4") a2,
            in("r5") a3,
        );
    }
    r
}

/// As `syscall3`, for calls that read two arguments or fewer.
///
/// # Safety
/// As for `syscall3`.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn syscall2<const NR: libc::c_long>(a1: usize, a2: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        sc!(NR,
            inlateout("r3") a1 => r,
            in("r4") a2,
        );
    }
    r
}

/// As `syscall3`, for calls that read one argument.
///
/// # Safety
/// As for `syscall3`.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn syscall1<const NR: libc::c_long>(a1: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        sc!(NR,
            inlateout("r3") a1 => r,
        );
    }
    r
}

/// As `syscall3`, for calls that read no argument.
///
/// # Safety
/// As for `syscall3`.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn syscall0<const NR: libc::c_long>() -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        sc!(NR,
            lateout("r3") r,
        );
    }
    r
}

// s390x: the kernel changes no register but r2 (the result), so the system call instruction
// goes inline at each call: no call, no registers saved around it, and a function making a
// system call can stay a leaf. `svc NR` carries a number below 256 in the instruction itself;
// higher ones go in r1 for `svc 0`. Arguments go in r2 to r6, and only those the call reads are
// set. r6 is callee-saved: only the callers of `syscall4` and `syscall5` pay for it.
#[cfg(target_arch = "s390x")]
macro_rules! svc {
    ($nr:ident, $($operands:tt)*) => {
        if $nr < 256 {
            core::arch::asm!("svc {nr}", nr = const $nr, $($operands)* options(nostack))
        } else {
            core::arch::asm!("svc 0", in("r1") $nr, $($operands)* options(nostack))
        }
    };
}

/// The system call `NR` with five arguments.
///
/// # Safety
/// The arguments must be what the system call `NR` expects.
#[cfg(target_arch = "s390x")]
#[inline(always)]
pub unsafe fn syscall5<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let r: isize;
    // SAFETY: the system call instruction with the caller's arguments (the caller's contract);
    // the kernel changes only r2.
    unsafe {
        svc!(NR, inlateout("r2") a1 => r, in("r3") a2, in("r4") a3, in("r5") a4, in("r6") a5,);
    }
    r
}

/// `syscall5::<NR>(a1, a2, a3, a4, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[cfg(target_arch = "s390x")]
#[inline(always)]
pub unsafe fn syscall4<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        svc!(NR, inlateout("r2") a1 => r, in("r3") a2, in("r4") a3, in("r5") a4, in("r6") 0usize,);
    }
    r
}

/// The system call `NR` with three arguments: the kernel's others are not set.
///
/// # Safety
/// As for `syscall5`; the call must read no more than three arguments.
#[cfg(target_arch = "s390x")]
#[inline(always)]
pub unsafe fn syscall3<const NR: libc::c_long>(a1: usize, a2: usize, a3: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, inlateout("r2") a1 => r, in("r3") a2, in("r4") a3,) }
    r
}

/// As `syscall3`, for calls that read two arguments or fewer.
///
/// # Safety
/// As for `syscall3`.
#[cfg(target_arch = "s390x")]
#[inline(always)]
pub unsafe fn syscall2<const NR: libc::c_long>(a1: usize, a2: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, inlateout("r2") a1 => r, in("r3") a2,) }
    r
}

/// As `syscall3`, for calls that read one argument.
///
/// # Safety
/// As for `syscall3`.
#[cfg(target_arch = "s390x")]
#[inline(always)]
pub unsafe fn syscall1<const NR: libc::c_long>(a1: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, inlateout("r2") a1 => r,) }
    r
}

/// As `syscall3`, for calls that read no argument.
///
/// # Safety
/// As for `syscall3`.
#[cfg(target_arch = "s390x")]
#[inline(always)]
pub unsafe fn syscall0<const NR: libc::c_long>() -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, lateout("r2") r,) }
    r
}

/// exit_group(status), inline: the instruction and two register moves, where a call to the
/// system call function would also pass its unused arguments and loop after it. Measured
/// smaller on all four.
#[inline(always)]
pub fn exit_group(status: usize) -> ! {
    const NR: libc::c_long = libc::SYS_exit_group;
    // SAFETY: exit_group reads no memory and does not return.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("syscall", in("rax") NR, in("rdi") status, options(noreturn, nostack));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("svc #0", in("x8") NR, in("x0") status, options(noreturn, nostack));
        #[cfg(target_arch = "powerpc64")]
        core::arch::asm!("sc", in("r0") NR, in("r3") status, options(noreturn, nostack));
        #[cfg(target_arch = "s390x")]
        core::arch::asm!("svc {nr}", nr = const NR, in("r2") status, options(noreturn, nostack));
    }
}

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
extern "C" {
    pub fn modelcar_syscall(
        nr: isize,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
    ) -> isize;
    pub fn modelcar_syscall3(nr: isize, a1: usize, a2: usize, a3: usize) -> isize;
    pub fn modelcar_syscall4(nr: isize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize;
}

// Elsewhere, the entries above, with the number as their first argument.

/// The system call `NR` with five arguments.
///
/// # Safety
/// The arguments must be what the system call `NR` expects.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
#[inline(always)]
pub unsafe fn syscall5<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    // SAFETY: the caller's contract.
    unsafe { modelcar_syscall(NR as isize, a1, a2, a3, a4, a5) }
}

/// `syscall5::<NR>(a1, a2, a3, a4, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
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
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
#[inline(always)]
pub unsafe fn syscall3<const NR: libc::c_long>(a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { modelcar_syscall3(NR as isize, a1, a2, a3) }
}

/// `syscall3::<NR>(a1, a2, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
#[inline(always)]
pub unsafe fn syscall2<const NR: libc::c_long>(a1: usize, a2: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { syscall3::<NR>(a1, a2, 0) }
}

/// `syscall3::<NR>(a1, 0, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
#[inline(always)]
pub unsafe fn syscall1<const NR: libc::c_long>(a1: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { syscall3::<NR>(a1, 0, 0) }
}

/// `syscall3::<NR>(0, 0, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
#[inline(always)]
pub unsafe fn syscall0<const NR: libc::c_long>() -> isize {
    // SAFETY: the caller's contract.
    unsafe { syscall3::<NR>(0, 0, 0) }
}
