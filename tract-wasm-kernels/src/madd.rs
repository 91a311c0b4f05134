//! The multiply-add every kernel here uses.

use std::arch::wasm32::*;

/// `acc + a * b`: one fused multiply-add when the build has relaxed SIMD.
#[inline(always)]
pub fn madd(acc: v128, a: v128, b: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(acc, f32x4_mul(a, b))
    }
}
