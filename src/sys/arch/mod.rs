//! The system call instruction and the process entry (`_start`), one file per architecture.
//! Each provides `syscall0` to `syscall5::<NR>(a1, .., a5)`, which return the kernel's raw
//! result (`-errno` on failure; no call here needs a sixth argument: only mmap's offset would,
//! and it is 0), and `exit_group`. No libc is linked: the kernel ABI is the same whatever libc a
//! target names, so these replace libc's wrappers, its `errno` and its thread setup.

// The syscall wrappers over the C-ABI entries that x86_64 and aarch64 define.
#[cfg(any(target_arch = "aarch64", target_arch = "x86_64"))]
mod c_abi_entries;
#[cfg(any(target_arch = "aarch64", target_arch = "x86_64"))]
pub use c_abi_entries::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "powerpc64")]
mod powerpc64;
#[cfg(target_arch = "powerpc64")]
pub use powerpc64::*;

#[cfg(target_arch = "s390x")]
mod s390x;
#[cfg(target_arch = "s390x")]
pub use s390x::*;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;
