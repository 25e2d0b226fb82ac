//! A cache hint: ask the CPU to start loading a value that the loop will touch soon.
//!
//! The event loop knows which node the next event is for before it finishes the current
//! one; warming that node's state (its random stream above all) hides most of the
//! cache misses of runs with many nodes. A hint never changes what the program computes.

/// At most this many cache lines of a value are warmed (the front of a large node).
const MAX_LINES: usize = 4;

/// Start loading the cache lines that hold `value`, up to [`MAX_LINES`] of them (a
/// no-op off x86-64). Every line counts: warming only the first line of a random
/// stream (its position and most of its words) and leaving the key's line to the
/// refill that reads it was 3% slower on PHOLD at 10,000 LPs.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        const LINE: usize = 64;
        let base = (value as *const T).cast::<i8>();
        // From the start of the value's first line to its last byte.
        let offset = base as usize % LINE;
        let lines = (offset + std::mem::size_of::<T>().max(1))
            .div_ceil(LINE)
            .min(MAX_LINES);
        for i in 0..lines {
            let line = base.wrapping_add(i * LINE);
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch only hints
            // the cache: it reads nothing the program sees and cannot fault, whatever
            // the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
