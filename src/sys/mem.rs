//! `memcpy` and the other C runtime symbols the compiler lowers copies, fills and comparisons
//! to. Compiled only for the real binary (`--cfg modelcar_static`), which links no C library.
//! Being in the library (not the binary crate) lets link-time optimisation call them directly
//! instead of through a global offset table, so the binary has no writable data at all.
//!
//! Byte loops are enough for a shell's short strings; volatile accesses keep the optimiser from
//! turning each loop back into a call to itself.

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

/// memcmp, for both entries. Left to the inliner, which copies it into the callers where that
/// is smaller.
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
