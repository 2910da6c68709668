//! The process entry, the panic handler and the few C runtime symbols the compiler expects
//! (`memcpy` & co). Compiled only for the real binary (`--cfg modelcar_static`, see
//! scripts/build-sidecar.sh): unit tests and the fuzzer run on the host's C runtime. Being in
//! the library (not the binary crate) lets link-time optimisation call `memcpy` & co directly
//! instead of through a global offset table, so the binary has no writable data at all.
//!
//! `_start` gets the kernel's initial stack pointer, aligns the stack as the ABI wants, and
//! calls `modelcar_start(sp)`, which never returns (nothing follows the call); there is no C
//! runtime to set up: no libc, no TLS, no constructors.

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call modelcar_start",
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "and sp, x0, #-16",
    "bl modelcar_start",
);

// The kernel sets r12 to the entry address (ELFv2): the TOC pointer is computed from it. No
// `nop` after the call: it never returns, so there is no TOC pointer to restore.
#[cfg(target_arch = "powerpc64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "addis 2, 12, .TOC.-_start@ha",
    "addi 2, 2, .TOC.-_start@l",
    "mr 3, 1",
    "clrrdi 1, 1, 4",
    "li 0, 0",
    "stdu 0, -32(1)",
    "bl modelcar_start",
);

// s390x: the 160 bytes below the kernel's stack pointer are the register save area that
// `modelcar_start` may write. No back chain is stored: nothing walks the stack (no unwinding,
// and code is not built with -mbackchain).
#[cfg(target_arch = "s390x")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "lgr %r2, %r15",
    "aghi %r15, -160",
    "brasl %r14, modelcar_start",
);

/// Called by `_start` with the initial stack pointer.
#[no_mangle]
extern "C" fn modelcar_start(sp: *const usize) -> ! {
    // SAFETY: `_start` passes the stack pointer the kernel gave it, untouched.
    let args = unsafe { super::args_at_entry(sp) };
    crate::signals::install();
    super::exit(crate::applet::dispatch(crate::args::Args::new(args)))
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reached only on a bug: say so and stop, never unwind.
    super::fatal(b"modelcar-base: internal error")
}

// The compiler lowers copies, fills and comparisons to these calls. Byte loops are enough for
// a shell's short strings; volatile accesses keep the optimiser from turning each loop back
// into a call to itself.

/// # Safety
/// As C's memcpy.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: the caller's contract: both ranges valid for n bytes, not overlapping.
        unsafe { dest.add(i).write_volatile(src.add(i).read_volatile()) };
    }
    dest
}

/// # Safety
/// As C's memmove.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract: both ranges valid for n bytes; copying in the right
    // direction makes an overlap harmless.
    unsafe {
        if (dest as usize) < (src as usize) {
            for i in 0..n {
                dest.add(i).write_volatile(src.add(i).read_volatile());
            }
        } else {
            for i in (0..n).rev() {
                dest.add(i).write_volatile(src.add(i).read_volatile());
            }
        }
    }
    dest
}

/// # Safety
/// As C's memset.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: the caller's contract: dest valid for n bytes.
        unsafe { dest.add(i).write_volatile(c as u8) };
    }
    dest
}

/// # Safety
/// As C's memcmp.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract.
    unsafe { compare(a, b, n) }
}

/// # Safety
/// As C's bcmp.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // bcmp only tells equal from different: memcmp's answer does.
    // SAFETY: the same contract.
    unsafe { compare(a, b, n) }
}

/// memcmp, for both entries. Left to the inliner: it copies this into the callers on ppc64
/// and s390x, where that is smaller (measured), and keeps one function elsewhere.
///
/// # Safety
/// As C's memcmp.
unsafe extern "C" fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: the caller's contract: both valid for n bytes.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

/// # Safety
/// As C's strlen.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller's contract: s is NUL-terminated.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}
