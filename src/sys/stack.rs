//! `Stack`: a growable byte buffer that never moves, in its own mapping.
//!
//! The shell needs memory in strict last-in-first-out order (a command's fields, then the output
//! of its `$(...)`, all dropped when the command is done), so a mark-and-truncate stack replaces
//! an allocator. The mapping is reserved up front and the kernel commits its pages only when they
//! are touched, so a sleeping sidecar holds a page or two of it.

use super::map;

/// How much one stack may hold: far beyond anything a modelcar's scripts produce (and beyond the
/// 15 MiB KServe gives the container), small enough to reserve even with strict overcommit.
const CAPACITY: usize = 64 << 20;

pub(crate) struct Stack {
    /// The mapping, or `UNMAPPED` until the first push: never null, so that an empty stack is
    /// a valid empty slice without a test.
    base: *mut u8,
    len: usize,
}

const UNMAPPED: *mut u8 = core::ptr::dangling_mut();

impl Default for Stack {
    fn default() -> Self {
        Stack {
            base: UNMAPPED,
            len: 0,
        }
    }
}

impl Stack {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Drops everything from `len` on.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        #[cfg(test)]
        crate::testutil::tally(bytes.len());
        if self.base == UNMAPPED {
            self.base = map(CAPACITY);
        }
        if bytes.len() > CAPACITY - self.len {
            super::fatal(b"modelcar-base: out of memory");
        }
        // An index loop: one induction variable (smaller than `enumerate`).
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            // SAFETY: the mapping has room for len + bytes.len() bytes (checked above). A
            // volatile byte store keeps this loop from becoming a `memcpy` call, which the
            // compiler would make through a global offset table: a writable page in memory.
            unsafe { self.base.add(self.len + i).write_volatile(b) };
            i += 1;
        }
        self.len += bytes.len();
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the mapping were written by `push`; without a
        // mapping, `len` is 0 and `base` a non-null, aligned (dangling) pointer.
        unsafe { core::slice::from_raw_parts(self.base, self.len) }
    }

    /// The contents as 32-bit words, for a stack that only ever holds whole words (a table of
    /// offsets, say).
    pub(crate) fn as_mut_words(&mut self) -> &mut [u32] {
        if self.base == UNMAPPED {
            return &mut [];
        }
        // SAFETY: the mapping is page-aligned, so its words are aligned; its first `len` bytes
        // were written (`len / 4` whole words); every bit pattern is a valid u32; and
        // `&mut self` makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(self.base.cast::<u32>(), self.len / 4) }
    }
}

impl Drop for Stack {
    // Never inlined: s390x would otherwise copy the test and the munmap into each of the many
    // functions that drop a stack (the other architectures already call it).
    #[inline(never)]
    fn drop(&mut self) {
        if self.base != UNMAPPED {
            // SAFETY: `base` is the stack's own mapping, and `&mut self` in `drop` means no
            // slice of it is borrowed.
            unsafe { super::unmap(self.base, CAPACITY) };
        }
    }
}
