//! Software prefetch: asks the CPU to bring a value's cache line in without waiting for it.
//!
//! Bulk loads touch records in an order unrelated to where they sit in memory (hash-table
//! slots, records sorted by key), each access a cache miss on data far bigger than the caches.
//! Prefetching the next ones while working on the current one overlaps those misses.

/// Prefetches the cache line holding the start of `value`. A no-op where it is not supported.
pub(crate) fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults or changes memory; `value` is a valid
    // reference anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
