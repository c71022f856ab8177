//! Output buffers that a kernel writes in full, allocated without the zeroing pass of
//! `vec![0.0; len]` (which glibc's `calloc` runs on every reused heap block: about 5 % of a
//! ResNet-32 train step went to zeroing outputs that were overwritten next).

use std::mem::MaybeUninit;

/// A vector of `len` values, all written by `fill` before it returns. `fill` receives the
/// unwritten entries and must write every one of them (through [`MaybeUninit::write`],
/// [`write_copy`] or a raw pointer): the kernels' tests compare every output entry with its
/// definition.
pub(crate) fn filled(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut values = Vec::with_capacity(len);
    fill(&mut values.spare_capacity_mut()[..len]);
    // SAFETY: `fill` wrote all `len` entries (its contract above), and the capacity is `len`.
    unsafe { values.set_len(len) };
    values
}

/// Writes `src` into `dst` (same length), as `copy_from_slice` does for written slices.
pub(crate) fn write_copy(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "write_copy lengths");
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(s);
    }
}

/// The pointer to the first entry of `dst`, for a matrix product that writes every entry it
/// addresses without reading any.
pub(crate) fn write_ptr(dst: &mut [MaybeUninit<f32>]) -> *mut f32 {
    dst.as_mut_ptr().cast::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_keeps_what_fill_wrote() {
        let v = filled(5, |out| {
            write_copy(&mut out[..2], &[1.0, 2.0]);
            for (i, x) in out[2..].iter_mut().enumerate() {
                x.write(10.0 + i as f32);
            }
        });
        assert_eq!(v, vec![1.0, 2.0, 10.0, 11.0, 12.0]);
        assert!(filled(0, |out| assert!(out.is_empty())).is_empty());
    }

    #[test]
    #[should_panic(expected = "write_copy lengths")]
    fn write_copy_refuses_other_lengths() {
        filled(3, |out| write_copy(out, &[1.0, 2.0]));
    }
}
