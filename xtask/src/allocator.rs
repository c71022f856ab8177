//! How the C allocator of glibc treats the large blocks a train step allocates and frees.
//!
//! A train step frees and allocates the same large tensors again and again (activations,
//! gradients, column matrices of 0.1-30 MiB). By default glibc serves blocks above an adaptive
//! threshold with fresh `mmap`s and gives the top of its heap back to the system when more
//! than a threshold is free; both make the next step fault in and zero its pages again. Which
//! of this happens depends on the order of earlier frees, so the same code ran anywhere from
//! 110 to 195 images/s (ResNet-32, docs/performance.md, "Allocator"). Fixed thresholds keep
//! the step's memory in the heap between steps: the step is steady and the peak resident set
//! does not grow (it is the step's own working set).

/// Blocks up to this size come from the heap rather than their own `mmap`: glibc's ceiling for
/// the setting on 64-bit systems (`HEAP_MAX_SIZE / 2`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Free memory at the top of the heap that glibc keeps rather than returning to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Fixes glibc's mmap and trim thresholds (which also turns off their adaptation); a variable
/// `GLIBC_TUNABLES` that sets `glibc.malloc` options is left to decide. Elsewhere (musl, macOS,
/// Windows) nothing changes. Call it first thing in `main`, before any allocation of note.
pub fn keep_freed_memory_for_the_next_step() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tuned = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc"));
        if !tuned {
            // SAFETY: `mallopt` only changes the allocator's parameters; it is called before
            // any other thread exists.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        }
    }
}
