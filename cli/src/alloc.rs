//! An allocator that reports running out of memory as an error, not an abort.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// The exit status of a run that ran out of memory.
pub const OUT_OF_MEMORY: i32 = 3;

/// The system allocator, except that a failed allocation ends the process with a
/// one-line error on stderr and exit status [`OUT_OF_MEMORY`], instead of Rust's abort
/// with a backtrace. A binary installs it with
/// `#[global_allocator] static ALLOCATOR: dsim::cli::ReportingAllocator = dsim::cli::ReportingAllocator;`.
/// (The kernel's OOM killer cannot be caught: the loader refuses scenarios that cannot
/// fit well before it.)
pub struct ReportingAllocator;

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged;
// only a null result is intercepted, and then the process ends without returning.
unsafe impl GlobalAlloc for ReportingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        checked(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        checked(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as received.
        checked(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// `ptr`, unless it is null: then report the failed request of `size` bytes and exit.
fn checked(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        out_of_memory(size);
    }
    ptr
}

/// Print the error without allocating (the number is formatted on the stack) and exit.
#[cold]
fn out_of_memory(size: usize) -> ! {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut err = std::io::stderr().lock();
    // Nothing is left to do if stderr is gone.
    let _ = err.write_all(b"error: out of memory: a request for ");
    let _ = err.write_all(&digits[at..]);
    let _ = err.write_all(
        b" bytes failed; the run needs more memory than this machine (or its limits) allows\n",
    );
    std::process::exit(OUT_OF_MEMORY)
}
