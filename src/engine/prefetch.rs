//! Software prefetch: asking the CPU for a value's memory ahead of its use.

/// Asks the CPU to bring `value`'s memory into cache without waiting for it, so that a
/// read of it soon after does not stall on a cache or TLB miss. A hint only: no effect
/// on values, and none on targets other than x86-64.
#[inline]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let first = (value as *const T).cast::<i8>();
        let last = first.wrapping_add(std::mem::size_of::<T>().saturating_sub(1));
        // SAFETY: a prefetch reads nothing and faults on no address; both addresses lie
        // within the value. (Safe to call as of Rust 1.87; unsafe for the crate's
        // minimum, 1.85.)
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first);
            _mm_prefetch::<_MM_HINT_T0>(last);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
