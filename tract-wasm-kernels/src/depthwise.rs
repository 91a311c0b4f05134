//! `wasm_depthwise_w_f32`: tract's depthwise-convolution row kernel (`DepthwiseW`), vectorised
//! at stride 2 and without scalar tails.
//!
//! tract calls the kernel once per output row of each zone of a depthwise convolution: `len`
//! outputs, each the bias plus every `taps[t] * input[offsets[t] + i * in_stride]`. Its own wasm
//! kernel vectorises stride 1 only (PNASNet's stride-2 separable convolutions run scalar), and
//! finishes each row's last `len % 4` outputs one by one, which on 11- and 21-wide rows is a
//! large share. Here stride 2 loads two vectors and keeps their even lanes, and a row's tail is
//! one more vector ending exactly at `len` (recomputing up to three outputs, to the same
//! values). No lane reads past `offsets[t] + (len - 1) * in_stride`, as tract's contract asks.

use std::arch::wasm32::*;

use tract_linalg::isa::{Arch, IsaReq};
use tract_linalg::routines::{Func, Routine, RoutineFactory};

use crate::madd::madd;

pub const ROUTINE_NAME: &str = "wasm_depthwise_w_f32";

/// Outputs `i..i + 4` of one tap: four input values `S` apart from `p`, reading `p[0..=3 * S]`.
#[inline(always)]
unsafe fn load4<const S: usize>(p: *const f32) -> v128 {
    if S == 1 {
        v128_load(p as *const v128)
    } else {
        // p[0..4] and p[3..7]: lanes 0 and 2 of the first, 1 and 3 of the second.
        let low = v128_load(p as *const v128);
        let high = v128_load(p.add(3) as *const v128);
        i32x4_shuffle::<0, 2, 5, 7>(low, high)
    }
}

/// Outputs `first..first + 4 * V`, taps outermost: each tap's broadcast serves `V` vectors.
#[inline(always)]
unsafe fn block<const S: usize, const V: usize>(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: v128,
    first: usize,
) {
    let mut acc = [bias; V];
    for (tap, offset) in taps.iter().zip(offsets) {
        let tap = f32x4_splat(*tap);
        let p = input.offset(*offset).add(first * S);
        for (v, acc) in acc.iter_mut().enumerate() {
            *acc = madd(*acc, load4::<S>(p.add(4 * S * v)), tap);
        }
    }
    for (v, acc) in acc.into_iter().enumerate() {
        v128_store(output.add(first + 4 * v) as *mut v128, acc);
    }
}

/// One row at input stride `S`; `len` at least 4.
#[inline(always)]
unsafe fn row<const S: usize>(input: *const f32, output: *mut f32, taps: &[f32], offsets: &[isize], bias: f32, len: usize) {
    let bias = f32x4_splat(bias);
    let mut i = 0;
    while i + 32 <= len {
        block::<S, 8>(input, output, taps, offsets, bias, i);
        i += 32;
    }
    while i + 8 <= len {
        block::<S, 2>(input, output, taps, offsets, bias, i);
        i += 8;
    }
    while i + 4 <= len {
        block::<S, 1>(input, output, taps, offsets, bias, i);
        i += 4;
    }
    if i < len {
        block::<S, 1>(input, output, taps, offsets, bias, len - 4);
    }
}

/// tract's `DepthwiseWF32` contract (see `tract_linalg::routines::DepthwiseWF32`). Rows shorter
/// than a vector, other strides, and everything while switched off go to tract's own kernel.
///
/// # Safety
/// `input.offset(offsets[t] + i * in_stride)` readable for every tap and `i < len`; `len`
/// outputs writable from `output`.
pub unsafe fn depthwise_w_f32(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
    in_stride: isize,
) {
    match in_stride {
        1 if len >= 4 && crate::enabled() => row::<1>(input, output, taps, offsets, bias, len),
        2 if len >= 4 && crate::enabled() => row::<2>(input, output, taps, offsets, bias, len),
        _ => tract_linalg::wasm::depthwise_w_f32(input, output, taps, offsets, bias, len, in_stride),
    }
}

// Preferred over tract's `wasm_simd128_depthwise_w_f32` (same architecture and instruction set,
// boost 0) by its boost; tract caches the choice when the first depthwise convolution runs.
inventory::submit! {
    Routine {
        func: Func::DepthwiseW,
        arch: Some(Arch::Wasm32Simd128),
        isa: IsaReq::ANY,
        boost: 1,
        round_trip: false,
        factory: RoutineFactory::DepthwiseWF32 { name: ROUTINE_NAME, run: depthwise_w_f32 },
    }
}
