//! powerpc64 (ELFv2, little-endian): the entry point and the system call instruction.

/// The process entry. The kernel sets r12 to the entry address (ELFv2): the TOC pointer is
/// computed from it. The stack is aligned to 16 bytes and given an empty frame whose back chain
/// is 0. No `nop` after the call: it never returns, so there is no TOC pointer to restore.
#[cfg(modelcar_static)]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "addis 2, 12, .TOC.-_start@ha",
        "addi 2, 2, .TOC.-_start@l",
        "mr 3, 1",
        "clrrdi 1, 1, 4",
        "li 0, 0",
        "stdu 0, -32(1)",
        "bl {start}",
        start = sym crate::sys::entry::modelcar_start,
    )
}

// The kernel flags an error in CR0.SO and returns a positive errno; `modelcar_sc`
// negates it so that every architecture reports errors the same way. Each call is an `asm!`
// block that sets the number in r0 and only the arguments that call reads, then branches to
// that one shared body. The body keeps r4 to r12 for its caller (the kernel may change them), so
// callers keep their values in those registers across system calls rather than in saved
// registers of their own, and unused arguments are not zeroed: smaller than Rust functions
// around the instruction, and than a body that keeps nothing. A call from inside
// `asm!` needs no `nop` after it (the slot for restoring the TOC pointer after a call the
// compiler cannot see into): the body does not touch r2. It keeps the registers below the
// stack pointer, in the 288 bytes that the ELFv2 ABI protects from signal handlers and that a
// function may use without a frame: the blocks do not claim `nostack`, and every caller has a
// frame of its own (it saves LR for the branch), so none of its data is there. Changed: r0, r3,
// CR0, CTR, XER and LR.
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

extern "C" {
    fn modelcar_sc();
}

/// `sc!(NR, operands)`: the system call `NR` through `modelcar_sc`; the operands give r3 and
/// the argument registers that the call reads.
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

/// exit_group(status), inline: the instruction and two register moves.
#[inline(always)]
pub fn exit_group(status: usize) -> ! {
    // SAFETY: exit_group reads no memory and does not return.
    unsafe {
        core::arch::asm!(
            "sc",
            in("r0") libc::SYS_exit_group,
            in("r3") status,
            options(noreturn, nostack)
        )
    }
}
