//! `wasm_depthwise_c_f32`: tract's channel-inner depthwise kernel (`DepthwiseC`), several output
//! points at a time.
//!
//! tract runs a depthwise convolution whose channels are the innermost axis (EfficientNet-Lite0's,
//! all of them in wasm) as calls of `len` output points along a row, each point every channel's
//! bias plus `kernel[tap][c] * input[point + offset[tap]][c]` over the taps. tract's own wasm
//! kernel takes one point at a time: per tap and vector of channels one kernel load, one input
//! load and one multiply-add, and the tap's index and offset read again for every 16 channels.
//! Here four points share each tap's kernel vectors (per tap and 8 channels: two kernel loads,
//! eight input loads, eight multiply-adds, eight accumulators live) and its index and offset.
//! Every output gets the same sum in the same order as in tract's kernel, so the results agree
//! bit for bit.

use std::arch::wasm32::*;

use tract_linalg::isa::{Arch, IsaReq};
use tract_linalg::routines::{Func, Routine, RoutineFactory};

use crate::madd::madd;

pub const ROUTINE_NAME: &str = "wasm_depthwise_c_f32";

/// Where one call's operands lie (tract's `DepthwiseCF32` arguments, see there).
#[derive(Clone, Copy)]
struct Call<'a> {
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &'a [usize],
    offsets: &'a [isize],
    bias: *const f32,
    k_stride: usize,
    in_stride: isize,
    out_stride: isize,
}

/// Channels `c..c + 4 * V` of points `first..first + P`, taps outermost.
#[inline(always)]
unsafe fn block<const P: usize, const V: usize>(call: Call, first: usize, c: usize) {
    let bias: [v128; V] = std::array::from_fn(|v| v128_load(call.bias.add(c + 4 * v) as *const v128));
    let mut acc = [bias; P];
    let input = call.input.offset(first as isize * call.in_stride).add(c);
    for (&tap, &offset) in call.tap_indices.iter().zip(call.offsets) {
        let k = call.kernel.add(tap * call.k_stride + c);
        let k: [v128; V] = std::array::from_fn(|v| v128_load(k.add(4 * v) as *const v128));
        let x = input.offset(offset);
        for (p, acc) in acc.iter_mut().enumerate() {
            let x = x.offset(p as isize * call.in_stride);
            for (v, acc) in acc.iter_mut().enumerate() {
                *acc = madd(*acc, v128_load(x.add(4 * v) as *const v128), k[v]);
            }
        }
    }
    let output = call.output.offset(first as isize * call.out_stride).add(c);
    for (p, acc) in acc.into_iter().enumerate() {
        let o = output.offset(p as isize * call.out_stride);
        for (v, acc) in acc.into_iter().enumerate() {
            v128_store(o.add(4 * v) as *mut v128, acc);
        }
    }
}

/// tract's `DepthwiseCF32` contract (see `tract_linalg::routines::DepthwiseCF32`); while switched
/// off, tract's own kernel runs.
///
/// # Safety
/// As tract's contract: `input.offset(i * in_stride + offsets[t] + c)` and
/// `kernel.add(tap_indices[t] * k_stride + c)` readable for every tap, `i < len` and
/// `c < channels`; `channels` values readable from `bias` and writable from
/// `output.offset(i * out_stride)` for every `i < len`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn depthwise_c_f32(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    let tracts = tract_linalg::wasm::depthwise_c_f32;
    if !crate::enabled() {
        return tracts(input, output, kernel, tap_indices, offsets, bias, channels, k_stride, len, in_stride, out_stride);
    }
    let call = Call { input, output, kernel, tap_indices, offsets, bias, k_stride, in_stride, out_stride };
    // Groups of four points, whole vectors of channels, here; the rest (the last channels of
    // these points, every channel of the last points) on tract's kernel, which sums them in the
    // same order.
    let grouped = len / 4 * 4;
    let vectors = channels / 4 * 4;
    for first in (0..grouped).step_by(4) {
        let mut c = 0;
        while c + 8 <= vectors {
            block::<4, 2>(call, first, c);
            c += 8;
        }
        if c < vectors {
            block::<4, 1>(call, first, c);
        }
    }
    if vectors < channels && grouped > 0 {
        let (i, o, k, b) = (input.add(vectors), output.add(vectors), kernel.add(vectors), bias.add(vectors));
        tracts(i, o, k, tap_indices, offsets, b, channels - vectors, k_stride, grouped, in_stride, out_stride);
    }
    if grouped < len {
        let i = input.offset(grouped as isize * in_stride);
        let o = output.offset(grouped as isize * out_stride);
        tracts(i, o, kernel, tap_indices, offsets, bias, channels, k_stride, len - grouped, in_stride, out_stride);
    }
}

// Preferred over tract's `wasm_simd128_depthwise_c_f32` (same architecture and instruction set,
// boost 0) by its boost.
inventory::submit! {
    Routine {
        func: Func::DepthwiseC,
        arch: Some(Arch::Wasm32Simd128),
        isa: IsaReq::ANY,
        boost: 1,
        round_trip: false,
        factory: RoutineFactory::DepthwiseCF32 { name: ROUTINE_NAME, run: depthwise_c_f32 },
    }
}
