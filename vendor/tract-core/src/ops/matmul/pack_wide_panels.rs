//! Vendored: packing an f32 operand into panels a multiple of 4 rows wide (the B panels of the
//! wasm builds' kernels, 12, 24 and 48 wide) with wasm SIMD, for the two layouts 1x1
//! convolutions give their activations.
//!
//! K-contiguous (channel-last, N = pixels, K = input channels): tract-linalg's `pack_k_major`
//! goes through its generic per-tile code; here each 4 rows by 4 k of a panel become 4 loads, 8
//! lane shuffles (a 4x4 transpose) and 4 stores.
//!
//! N-contiguous (channel-first): tract-linalg's `pack_t` copies whole panel rows only for rows of
//! 16 to 128 bytes and goes value by value past that (a 48-wide panel's rows are 192 bytes);
//! here each k of a panel is `r / 4` vector loads and stores.
//!
//! The packed values are the ones `PackedFormat::pack_tensor_view` writes.

use super::simd_panels::{pack_with, Operand, Panels};
use crate::internal::*;
use tract_linalg::mmm::MMMInputValue;
use tract_linalg::pack::PackedFormat;

/// The packed operand, or None when this path does not apply (a width that is not a multiple
/// of 4, or what `simd_panels::pack_with` does not take).
pub(crate) fn pack(
    format: &PackedFormat,
    input: &Tensor,
    k_axis: usize,
    mn_axis: usize,
) -> TractResult<Option<Box<dyn MMMInputValue>>> {
    let r = format.r;
    if r % 4 != 0 {
        return Ok(None);
    }
    pack_with(format, input, k_axis, mn_axis, |operand: &Operand, panels: Panels| {
        let (k, mn) = (operand.k, operand.mn);
        for (ix, panel) in panels.values.chunks_mut(panels.panel_len).enumerate() {
            let row0 = (panels.first + ix) * r;
            let rows = r.min(mn - row0);
            unsafe {
                if operand.k_contiguous() {
                    let src = operand.ptr().add(row0 * operand.mn_stride);
                    transpose_rows(src, operand.mn_stride, rows, k, r, panel.as_mut_ptr());
                } else {
                    let src = operand.ptr().add(row0);
                    copy_rows(src, operand.k_stride, rows, k, r, panel.as_mut_ptr());
                }
            }
        }
    })
}

/// `dst[r kk + i] = src[i * stride + kk]` for the `rows` rows of a panel `r` wide (rows past
/// them left as they are) and kk < `k`: a K-contiguous operand, row i of the panel at
/// `src + i * stride`.
#[cfg(target_feature = "simd128")]
unsafe fn transpose_rows(src: *const f32, stride: usize, rows: usize, k: usize, r: usize, dst: *mut f32) {
    use core::arch::wasm32::*;
    unsafe {
        let row = |i: usize| src.add(i * stride);
        let whole_groups = rows / 4; // groups of 4 rows transposed 4 k at a time
        let mut kk = 0;
        while kk + 4 <= k {
            for g in 0..whole_groups {
                let v0 = v128_load(row(4 * g).add(kk) as *const v128);
                let v1 = v128_load(row(4 * g + 1).add(kk) as *const v128);
                let v2 = v128_load(row(4 * g + 2).add(kk) as *const v128);
                let v3 = v128_load(row(4 * g + 3).add(kk) as *const v128);
                let t0 = i32x4_shuffle::<0, 4, 1, 5>(v0, v1); // a0 b0 a1 b1
                let t1 = i32x4_shuffle::<2, 6, 3, 7>(v0, v1); // a2 b2 a3 b3
                let t2 = i32x4_shuffle::<0, 4, 1, 5>(v2, v3); // c0 d0 c1 d1
                let t3 = i32x4_shuffle::<2, 6, 3, 7>(v2, v3); // c2 d2 c3 d3
                let out = dst.add(kk * r + 4 * g);
                v128_store(out as *mut v128, i32x4_shuffle::<0, 1, 4, 5>(t0, t2));
                v128_store(out.add(r) as *mut v128, i32x4_shuffle::<2, 3, 6, 7>(t0, t2));
                v128_store(out.add(2 * r) as *mut v128, i32x4_shuffle::<0, 1, 4, 5>(t1, t3));
                v128_store(out.add(3 * r) as *mut v128, i32x4_shuffle::<2, 3, 6, 7>(t1, t3));
            }
            for i in 4 * whole_groups..rows {
                for j in 0..4 {
                    *dst.add((kk + j) * r + i) = *row(i).add(kk + j);
                }
            }
            kk += 4;
        }
        for kk in kk..k {
            for i in 0..rows {
                *dst.add(kk * r + i) = *row(i).add(kk);
            }
        }
    }
}

/// `dst[r kk + i] = src[kk * stride + i]` for i < `rows` (rows past them left as they are) and
/// kk < `k`: an N-contiguous operand, k row kk at `src + kk * stride`.
#[cfg(target_feature = "simd128")]
unsafe fn copy_rows(src: *const f32, stride: usize, rows: usize, k: usize, r: usize, dst: *mut f32) {
    use core::arch::wasm32::*;
    unsafe {
        for kk in 0..k {
            let (from, to) = (src.add(kk * stride), dst.add(kk * r));
            let mut i = 0;
            while i + 4 <= rows {
                v128_store(to.add(i) as *mut v128, v128_load(from.add(i) as *const v128));
                i += 4;
            }
            for i in i..rows {
                *to.add(i) = *from.add(i);
            }
        }
    }
}

#[cfg(not(target_feature = "simd128"))]
unsafe fn transpose_rows(_: *const f32, _: usize, _: usize, _: usize, _: usize, _: *mut f32) {
    unreachable!("the SIMD128 path is only taken in SIMD128 builds")
}

#[cfg(not(target_feature = "simd128"))]
unsafe fn copy_rows(_: *const f32, _: usize, _: usize, _: usize, _: usize, _: *mut f32) {
    unreachable!("the SIMD128 path is only taken in SIMD128 builds")
}
