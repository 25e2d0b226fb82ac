//! A cache hint: ask the CPU to start loading a value that the loop will touch soon.
//!
//! The event loop knows which node the next event is for before it finishes the current
//! one; warming that node's state (its random stream above all) hides most of the
//! cache misses of runs with many nodes. A hint never changes what the program computes.

/// Start loading the cache line that holds `value` (a no-op off x86-64).
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of the x86-64 baseline, and a prefetch only hints the
        // cache: it reads nothing the program sees and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
