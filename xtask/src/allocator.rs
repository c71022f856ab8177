//! How the C allocator of glibc treats the large blocks a train step allocates and frees.
//!
//! A train step frees and allocates the same large tensors again and again (activations,
//! gradients and column matrices, up to 100 MiB each). By default glibc serves blocks above an adaptive
//! threshold with fresh `mmap`s and gives the top of its heap back to the system when more
//! than a threshold is free; both make the next step fault in and zero its pages again. Which
//! of this happens depends on the order of earlier frees, so the same code ran anywhere from
//! 110 to 195 images/s (ResNet-32, docs/performance.md, "Allocator"). Fixed thresholds keep
//! the step's memory in the heap between steps: the step is steady and the peak resident set
//! does not grow (it is the step's own working set).

/// Blocks up to this size come from the heap rather than their own `mmap`: above the largest
/// tensor of the paper's networks at their batch sizes (ResNet-18's stem output at 224 px,
/// batch 32, is 98 MiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 << 20;

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
            // glibc refuses a value out of its range and keeps adapting; nothing to report
            // then, the run is only slower.
            let _ = fix_thresholds();
        }
    }
}

/// Sets both thresholds; true when glibc accepted both values (`mallopt` returns 1).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_thresholds() -> bool {
    // SAFETY: `mallopt` only changes the allocator's parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn glibc_accepts_both_thresholds() {
        // A value glibc refuses leaves its adaptive thresholds on without a word at run time.
        assert!(super::fix_thresholds());
    }
}
