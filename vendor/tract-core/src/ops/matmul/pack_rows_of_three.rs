//! Vendored: packing an f32 operand into panels of 3 rows (the wasm builds' `wasm_f32_3x12`
//! kernel) with wasm SIMD, for the two layouts 1x1 convolutions give their activations.
//!
//! K-contiguous (channel-last, M = pixels, K = input channels): tract-linalg's `pack_k_major`
//! moves such a block as 4x4 tiles, so a panel of 3 rows has no tile and goes value by value
//! through its tail loop. Here each group of 4 k of the panel's 3 rows becomes 3 loads, 6 lane
//! shuffles and 3 stores.
//!
//! M-contiguous (channel-first): tract-linalg's `pack_t` goes value by value through its writer
//! for rows of 12 bytes, k outer, so each k writes 12 bytes to every panel (panels K * 12 bytes
//! apart). Here each group of 4 k of a panel becomes 4 loads, 3 shuffles and 3 stores, panel by
//! panel within blocks of `K_BLOCK` k, so the block's source rows stay in L1 while its panels are
//! written front to back.
//!
//! The packed bytes are the ones `PackedFormat::pack_tensor_view` writes.

use super::simd_panels::{pack_with, Operand, Panels};
use crate::internal::*;
use tract_linalg::mmm::MMMInputValue;
use tract_linalg::pack::PackedFormat;

/// The packed operand, or None when this path does not apply (another panel width, or what
/// `simd_panels::pack_with` does not take).
pub(crate) fn pack(
    format: &PackedFormat,
    input: &Tensor,
    k_axis: usize,
    mn_axis: usize,
) -> TractResult<Option<Box<dyn MMMInputValue>>> {
    if format.r != 3 {
        return Ok(None);
    }
    pack_with(format, input, k_axis, mn_axis, |operand: &Operand, panels: Panels| {
        if !operand.k_contiguous() {
            unsafe { gather_3(operand, panels) };
            return;
        }
        let k = operand.k;
        for (ix, panel) in panels.values.chunks_mut(panels.panel_len).enumerate() {
            let row0 = (panels.first + ix) * 3;
            let rows = 3.min(operand.mn - row0);
            unsafe {
                let row = |r: usize| operand.ptr().add((row0 + r) * operand.mn_stride);
                if rows == 3 {
                    interleave_3(row(0), row(1), row(2), k, panel.as_mut_ptr());
                } else {
                    for r in 0..rows {
                        let row = row(r);
                        for kk in 0..k {
                            panel[kk * 3 + r] = *row.add(kk);
                        }
                    }
                }
            }
        }
    })
}

/// `dst[3 k + r] = row r [k]` for k < `k`.
#[cfg(target_feature = "simd128")]
unsafe fn interleave_3(a: *const f32, b: *const f32, c: *const f32, k: usize, dst: *mut f32) {
    use core::arch::wasm32::*;
    unsafe {
        let mut i = 0;
        while i + 4 <= k {
            let va = v128_load(a.add(i) as *const v128);
            let vb = v128_load(b.add(i) as *const v128);
            let vc = v128_load(c.add(i) as *const v128);
            let ab_lo = i32x4_shuffle::<0, 4, 1, 5>(va, vb); // a0 b0 a1 b1
            let ab_hi = i32x4_shuffle::<2, 6, 3, 7>(va, vb); // a2 b2 a3 b3
            let o0 = i32x4_shuffle::<0, 1, 4, 2>(ab_lo, vc); // a0 b0 c0 a1
            let bc = i32x4_shuffle::<3, 5, 3, 5>(ab_lo, vc); // b1 c1 . .
            let o1 = i32x4_shuffle::<0, 1, 4, 5>(bc, ab_hi); // b1 c1 a2 b2
            let o2 = i32x4_shuffle::<6, 2, 3, 7>(ab_hi, vc); // c2 a3 b3 c3
            let out = dst.add(3 * i) as *mut v128;
            v128_store(out, o0);
            v128_store(out.add(1), o1);
            v128_store(out.add(2), o2);
            i += 4;
        }
        for kk in i..k {
            *dst.add(3 * kk) = *a.add(kk);
            *dst.add(3 * kk + 1) = *b.add(kk);
            *dst.add(3 * kk + 2) = *c.add(kk);
        }
    }
}

/// How many k of an M-contiguous operand are packed into every panel before the next ones: the
/// block's source rows (one cache line each per panel) stay in L1 while the panels are written.
const K_BLOCK: usize = 128;

/// The panels of an M-contiguous operand (row k at `k * k_stride`):
/// `panel[3 k + r] = operand[k * k_stride + 3 (first + ix) + r]`.
#[cfg(target_feature = "simd128")]
unsafe fn gather_3(operand: &Operand, panels: Panels) {
    let (src, k_stride, mn, k) = (operand.ptr(), operand.k_stride, operand.mn, operand.k);
    let (first, panel_len) = (panels.first, panels.panel_len);
    use core::arch::wasm32::*;
    for k0 in (0..k).step_by(K_BLOCK) {
        let k1 = (k0 + K_BLOCK).min(k);
        for (ix, panel) in panels.values.chunks_mut(panel_len).enumerate() {
            let m0 = (first + ix) * 3;
            let dst = panel.as_mut_ptr();
            unsafe {
                let row = |kk: usize| src.add(kk * k_stride + m0);
                let mut kk = k0;
                // A load reads 4 values, the panel's 3 and the next: only where that one exists.
                if m0 + 4 <= mn {
                    while kk + 4 <= k1 {
                        let va = v128_load(row(kk) as *const v128);
                        let vb = v128_load(row(kk + 1) as *const v128);
                        let vc = v128_load(row(kk + 2) as *const v128);
                        let vd = v128_load(row(kk + 3) as *const v128);
                        let out = dst.add(3 * kk) as *mut v128;
                        v128_store(out, i32x4_shuffle::<0, 1, 2, 4>(va, vb)); // a0 a1 a2 b0
                        v128_store(out.add(1), i32x4_shuffle::<1, 2, 4, 5>(vb, vc)); // b1 b2 c0 c1
                        v128_store(out.add(2), i32x4_shuffle::<2, 4, 5, 6>(vc, vd)); // c2 d0 d1 d2
                        kk += 4;
                    }
                }
                let rows = 3.min(mn - m0);
                for kk in kk..k1 {
                    for r in 0..rows {
                        *dst.add(3 * kk + r) = *row(kk).add(r);
                    }
                }
            }
        }
    }
}

#[cfg(not(target_feature = "simd128"))]
unsafe fn gather_3(_: &Operand, _: Panels) {
    unreachable!("the SIMD128 path is only taken in SIMD128 builds")
}

#[cfg(not(target_feature = "simd128"))]
unsafe fn interleave_3(_: *const f32, _: *const f32, _: *const f32, _: usize, _: *mut f32) {
    unreachable!("the SIMD128 path is only taken in SIMD128 builds")
}
