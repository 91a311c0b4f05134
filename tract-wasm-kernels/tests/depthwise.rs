//! `wasm_depthwise_w_f32` row by row and `wasm_depthwise_c_f32` point by point against a scalar
//! reference, and tract's depthwise convolutions on them (channel-first and channel-last) against
//! a naive convolution. Runs in Node: `make kernel-test`.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use tract_core::internal::*;
use tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_core::ops::nn::DataFormat;
use tract_linalg::routines::{best_for, Func};
use tract_wasm_kernels::{
    depthwise_c_f32, depthwise_w_f32, set_enabled, DEPTHWISE_C_ROUTINE_NAME, DEPTHWISE_ROUTINE_NAME,
};
use wasm_bindgen_test::wasm_bindgen_test;

mod common;
use common::values;

#[wasm_bindgen_test]
fn rows_match_a_scalar_reference_and_write_nothing_past_their_end() {
    set_enabled(true);
    const WIDTH: isize = 90; // input row length: offsets step rows by it
    for stride in [1usize, 2, 3] {
        for window in [1usize, 3, 5, 7] {
            // A window x window patch of taps, rows WIDTH apart.
            let offsets: Vec<isize> =
                (0..window * window).map(|t| (t / window) as isize * WIDTH + (t % window) as isize).collect();
            let taps = values(offsets.len(), window as u32);
            for len in 1..=45usize {
                // Exactly the input the contract makes readable, and guard values after the row.
                let needed = *offsets.last().unwrap() as usize + (len - 1) * stride + 1;
                let input = values(needed, 7 + len as u32);
                let mut output = vec![f32::NAN; len + 8];
                unsafe {
                    depthwise_w_f32(input.as_ptr(), output.as_mut_ptr(), &taps, &offsets, 0.5, len, stride as isize)
                };
                for i in 0..len {
                    let want = taps
                        .iter()
                        .zip(&offsets)
                        .fold(0.5f32, |sum, (t, o)| sum + t * input[*o as usize + i * stride]);
                    let got = output[i];
                    assert!(
                        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "stride {stride}, {window}x{window} taps, len {len}, output {i}: {got} against {want}"
                    );
                }
                assert!(output[len..].iter().all(|x| x.is_nan()), "stride {stride} len {len} wrote past the row");
            }
        }
    }
}

#[wasm_bindgen_test]
fn tract_runs_depthwise_convolutions_on_it() {
    let routine = best_for(Func::DepthwiseW, f32::datum_type(), &tract_linalg::isa::native()).unwrap();
    assert_eq!(routine.name(), DEPTHWISE_ROUTINE_NAME);
    let routine = best_for(Func::DepthwiseC, f32::datum_type(), &tract_linalg::isa::native()).unwrap();
    assert_eq!(routine.name(), DEPTHWISE_C_ROUTINE_NAME);
}

/// Channel-inner calls as tract makes them (points along a row of a channel-last map, a zone's
/// taps, possibly a subset of the kernel's at a border), against a scalar reference and against
/// tract's own kernel, which sums in the same order: the two agree exactly. Outputs lie
/// `out_stride` apart with a gap after each point's channels, which must stay untouched.
#[wasm_bindgen_test]
fn channel_inner_points_match_a_scalar_reference_and_write_nothing_else() {
    set_enabled(true);
    const WIDTH: usize = 23; // input row length in points: offsets step rows by it
    for channels in [1usize, 3, 4, 5, 8, 12, 13, 16, 20, 36] {
        let k_stride = channels + 2; // the kernel of a wider call, offset to this block
        for stride in [1usize, 2] {
            for window in [1usize, 3, 5] {
                // A window x window patch, every second tap dropped for the odd windows' border
                // case: tap indices need not be 0..taps.
                let all: Vec<(usize, isize)> = (0..window * window)
                    .map(|t| (t, (((t / window) * WIDTH + t % window) * channels) as isize))
                    .collect();
                for taps in [all.clone(), all.iter().copied().step_by(2).collect::<Vec<_>>()] {
                    let (tap_indices, offsets): (Vec<usize>, Vec<isize>) = taps.into_iter().unzip();
                    let kernel = values(window * window * k_stride, channels as u32);
                    let bias = values(channels, 5);
                    for len in 1..=9usize {
                        let in_stride = (stride * channels) as isize;
                        let needed = *offsets.last().unwrap() as usize + (len - 1) * stride * channels + channels;
                        let input = values(needed, 11 + len as u32);
                        let out_stride = channels + 3;
                        let run = |kernel_fn: tract_linalg::routines::DepthwiseCF32| {
                            let mut output = vec![f32::NAN; len * out_stride];
                            unsafe {
                                kernel_fn(
                                    input.as_ptr(),
                                    output.as_mut_ptr(),
                                    kernel.as_ptr(),
                                    &tap_indices,
                                    &offsets,
                                    bias.as_ptr(),
                                    channels,
                                    k_stride,
                                    len,
                                    in_stride,
                                    out_stride as isize,
                                )
                            };
                            output
                        };
                        let ours = run(depthwise_c_f32);
                        let tracts = run(tract_linalg::wasm::depthwise_c_f32);
                        let case = format!("{channels} channels, stride {stride}, {} taps, len {len}", tap_indices.len());
                        for i in 0..len {
                            for c in 0..channels {
                                let want = tap_indices.iter().zip(&offsets).fold(bias[c], |sum, (&t, &o)| {
                                    sum + kernel[t * k_stride + c] * input[i * in_stride as usize + o as usize + c]
                                });
                                let got = ours[i * out_stride + c];
                                assert!(
                                    (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                                    "{case}, point {i} channel {c}: {got} against {want}"
                                );
                                assert_eq!(got.to_bits(), tracts[i * out_stride + c].to_bits(), "{case}, point {i} channel {c}: not tract's sum");
                            }
                            let gap = &ours[i * out_stride + channels..(i + 1) * out_stride];
                            assert!(gap.iter().all(|x| x.is_nan()), "{case}: wrote outside point {i}'s channels");
                        }
                    }
                }
            }
        }
    }
}

/// A depthwise convolution (channels, square map, kernel, stride, padding) as a tract network,
/// optimised and run, against a naive one; `channel_last` lays input and output out NHWC.
fn convolution(channels: usize, size: usize, kernel: usize, stride: usize, pad: usize, channel_last: bool) -> TractResult<()> {
    let input = values(channels * size * size, 1);
    let weights = values(channels * kernel * kernel, 2);
    let bias = values(channels, 3);
    let conv = Conv {
        pool_spec: PoolSpec {
            data_format: if channel_last { DataFormat::NHWC } else { DataFormat::NCHW },
            kernel_shape: tvec![kernel, kernel],
            padding: PaddingSpec::Explicit(tvec![pad, pad], tvec![pad, pad]),
            dilations: None,
            strides: Some(tvec![stride, stride]),
            input_channels: channels,
            output_channels: channels,
        },
        kernel_fmt: KernelFormat::OIHW,
        group: channels,
        q_params: None,
    };
    let mut model = TypedModel::default();
    let shape = if channel_last { [1, size, size, channels] } else { [1, channels, size, size] };
    let x = model.add_source("x", f32::fact(shape))?;
    let w = model.add_const("w", tensor1(&weights).into_shape(&[channels, 1, kernel, kernel])?)?;
    let b = model.add_const("b", tensor1(&bias))?;
    let y = model.wire_node("conv", conv, &[x, w, b])?;
    model.select_output_outlets(&y)?;
    let plan = model.into_optimized()?.into_runnable()?;
    // `input` is indexed channel-first below; fed channel-last, it is transposed first.
    let fed: Vec<f32> = if channel_last {
        (0..size * size).flat_map(|p| (0..channels).map(move |c| (c, p))).map(|(c, p)| input[c * size * size + p]).collect()
    } else {
        input.clone()
    };
    let output = plan.run(tvec!(tensor1(&fed).into_shape(&shape)?.into_tvalue()))?;
    let got = output[0].to_plain_array_view::<f32>()?;
    let out = (size + 2 * pad - kernel) / stride + 1;
    let out_shape = if channel_last { [1, out, out, channels] } else { [1, channels, out, out] };
    assert_eq!(got.shape(), &out_shape);
    for c in 0..channels {
        for (oy, ox) in (0..out).flat_map(|y| (0..out).map(move |x| (y, x))) {
            let mut want = bias[c];
            for (ky, kx) in (0..kernel).flat_map(|y| (0..kernel).map(move |x| (y, x))) {
                let (iy, ix) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                if (0..size as isize).contains(&iy) && (0..size as isize).contains(&ix) {
                    want += weights[(c * kernel + ky) * kernel + kx] * input[(c * size + iy as usize) * size + ix as usize];
                }
            }
            let g = if channel_last { got[[0, oy, ox, c]] } else { got[[0, c, oy, ox]] };
            ensure!(
                (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{channels}x{size}x{size}, {kernel}x{kernel} stride {stride}: [{c}, {oy}, {ox}] tract {g}, naive {want}"
            );
        }
    }
    Ok(())
}

#[wasm_bindgen_test]
fn depthwise_convolutions_through_tract_agree_with_a_naive_one() {
    set_enabled(true);
    // PNASNet's kinds: small maps, large kernels, stride 2 with odd sizes.
    for (channels, size, kernel, stride, pad) in
        [(3, 11, 7, 1, 3), (4, 21, 5, 2, 2), (2, 13, 3, 2, 1), (5, 42, 5, 1, 2), (3, 9, 3, 1, 1), (2, 6, 7, 2, 3)]
    {
        convolution(channels, size, kernel, stride, pad, false).unwrap();
    }
    // EfficientNet-Lite0's kinds, channel-last (wasm tract's layout for them): 3x3 and 5x5,
    // strides 1 and 2, channel counts with 8-, 4- and 1-channel tails, maps with rows of 4k+1..3
    // points.
    for (channels, size, kernel, stride, pad) in
        [(24, 14, 3, 1, 1), (20, 9, 5, 2, 2), (13, 7, 3, 2, 1), (36, 11, 5, 1, 2), (5, 6, 3, 1, 1)]
    {
        convolution(channels, size, kernel, stride, pad, true).unwrap();
    }
}
