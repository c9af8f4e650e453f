//! Giving memory back to the system. glibc keeps freed heap memory for
//! reuse; after a large transient copy (a counters save of a million keys)
//! that is hundreds of MB a daemon would hold for nothing.

/// Returns the free memory at the top of the heap (and of each arena) to
/// the system: `malloc_trim(3)`.
pub fn release_free_heap() {
    // SAFETY: malloc_trim only returns free heap memory to the system; it
    // takes no pointer and touches no allocation in use.
    unsafe { libc::malloc_trim(0) };
}
