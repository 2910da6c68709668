//! The system call instruction, once per architecture, as a C-ABI function:
//! `modelcar_syscall(nr, a1, a2, a3, a4, a5)` returns the kernel's raw result (`-errno` on
//! failure); the kernel's sixth argument is always 0 (only mmap's offset needs one).
//! `modelcar_syscall3(nr, a1, a2, a3)` is the same with `a4 = a5 = 0`, for the many calls with
//! three arguments or fewer, and `modelcar_syscall4(nr, a1, a2, a3, a4)` with `a5 = 0`, for
//! those with four (s390x passes `a5` in memory): an entry point costs less than a wrapper
//! function. No libc is linked: the kernel ABI is the same whatever libc a target names, so one
//! small function per architecture replaces libc's wrappers, its `errno` and its thread setup.

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

// powerpc64: the kernel flags an error in CR0.SO and returns a positive errno; negate it so that
// every architecture reports errors the same way. Rust functions rather than `global_asm!`: a
// call to a function the compiler sees defined, and not changing the TOC pointer, needs no
// `nop` after it (the slot for restoring that pointer), 4 bytes at each of some 30 calls. The
// inner functions take the number last: the arguments then arrive in r3 to r7, where the kernel
// takes them; `modelcar_syscall3` & co, inlined, only reorder.

/// # Safety
/// As for `modelcar_syscall`.
#[cfg(target_arch = "powerpc64")]
#[inline(never)]
unsafe extern "C" fn sc(a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, nr: isize) -> isize {
    let r: isize;
    // SAFETY: the system call instruction with the caller's arguments (the caller's contract);
    // the kernel changes r0 and r3 to r12, CR0, CTR and XER.
    unsafe {
        core::arch::asm!(
            "sc",
            "bns+ 1f",
            "neg 3, 3",
            "1:",
            inlateout("r0") nr => _,
            inlateout("r3") a1 => r,
            inlateout("r4") a2 => _,
            inlateout("r5") a3 => _,
            inlateout("r6") a4 => _,
            inlateout("r7") a5 => _,
            inlateout("r8") 0usize => _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("cr0") _,
            out("ctr") _,
            out("xer") _,
            options(nostack),
        );
    }
    r
}

/// # Safety
/// As for `modelcar_syscall`.
#[cfg(target_arch = "powerpc64")]
#[inline(never)]
unsafe extern "C" fn sc4(a1: usize, a2: usize, a3: usize, a4: usize, nr: isize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { sc(a1, a2, a3, a4, 0, nr) }
}

/// # Safety
/// As for `modelcar_syscall`.
#[cfg(target_arch = "powerpc64")]
#[inline(never)]
unsafe extern "C" fn sc3(a1: usize, a2: usize, a3: usize, nr: isize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { sc(a1, a2, a3, 0, 0, nr) }
}

/// # Safety
/// The arguments must be what the system call `nr` expects.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn modelcar_syscall(
    nr: isize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    // SAFETY: the caller's contract.
    unsafe { sc(a1, a2, a3, a4, a5, nr) }
}

/// # Safety
/// As for `modelcar_syscall`.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn modelcar_syscall4(nr: isize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { sc4(a1, a2, a3, a4, nr) }
}

/// # Safety
/// As for `modelcar_syscall`.
#[cfg(target_arch = "powerpc64")]
#[inline(always)]
pub unsafe fn modelcar_syscall3(nr: isize, a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: the caller's contract.
    unsafe { sc3(a1, a2, a3, nr) }
}

// s390x: r6 and r7 carry arguments 5 and 6 but are callee-saved; argument 6 of the C call is
// on the stack above the 160-byte register save area. The entries meet with the kernel's
// fourth and fifth arguments in r6 and r7.
#[cfg(target_arch = "s390x")]
core::arch::global_asm!(
    ".globl modelcar_syscall3",
    "modelcar_syscall3:",
    "stmg %r6, %r7, 48(%r15)",
    "lghi %r6, 0",
    "j 2f",
    ".globl modelcar_syscall4",
    "modelcar_syscall4:",
    "stmg %r6, %r7, 48(%r15)",
    "2:",
    "lghi %r7, 0",
    "j 1f",
    ".globl modelcar_syscall",
    ".type modelcar_syscall, @function",
    "modelcar_syscall:",
    "stmg %r6, %r7, 48(%r15)",
    "lg %r7, 160(%r15)",
    "1:",
    "lgr %r1, %r2",
    "lgr %r2, %r3",
    "lgr %r3, %r4",
    "lgr %r4, %r5",
    "lgr %r5, %r6",
    "lgr %r6, %r7",
    "lghi %r7, 0",
    "svc 0",
    "lmg %r6, %r7, 48(%r15)",
    "br %r14",
);

#[cfg(not(target_arch = "powerpc64"))]
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
