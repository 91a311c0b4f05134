//! `wasm_depthwise_w_f32` row by row against a scalar reference, and tract's depthwise
//! convolutions on it against a naive convolution. Runs in Node: `make kernel-test`.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use tract_core::internal::*;
use tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_core::ops::nn::DataFormat;
use tract_linalg::routines::{best_for, Func};
use tract_wasm_kernels::{depthwise_w_f32, set_enabled, DEPTHWISE_ROUTINE_NAME};
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
}

/// A depthwise convolution (channels, square map, kernel, stride, padding) as a tract network,
/// optimised and run, against a naive one.
fn convolution(channels: usize, size: usize, kernel: usize, stride: usize, pad: usize) -> TractResult<()> {
    let input = values(channels * size * size, 1);
    let weights = values(channels * kernel * kernel, 2);
    let bias = values(channels, 3);
    let conv = Conv {
        pool_spec: PoolSpec {
            data_format: DataFormat::NCHW,
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
    let x = model.add_source("x", f32::fact([1, channels, size, size]))?;
    let w = model.add_const("w", tensor1(&weights).into_shape(&[channels, 1, kernel, kernel])?)?;
    let b = model.add_const("b", tensor1(&bias))?;
    let y = model.wire_node("conv", conv, &[x, w, b])?;
    model.select_output_outlets(&y)?;
    let plan = model.into_optimized()?.into_runnable()?;
    let output = plan.run(tvec!(tensor1(&input).into_shape(&[1, channels, size, size])?.into_tvalue()))?;
    let got = output[0].to_plain_array_view::<f32>()?;
    let out = (size + 2 * pad - kernel) / stride + 1;
    assert_eq!(got.shape(), &[1, channels, out, out]);
    for c in 0..channels {
        for (oy, ox) in (0..out).flat_map(|y| (0..out).map(move |x| (y, x))) {
            let mut want = bias[c];
            for (ky, kx) in (0..kernel).flat_map(|y| (0..kernel).map(move |x| (y, x))) {
                let (iy, ix) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                if (0..size as isize).contains(&iy) && (0..size as isize).contains(&ix) {
                    want += weights[(c * kernel + ky) * kernel + kx] * input[(c * size + iy as usize) * size + ix as usize];
                }
            }
            let g = got[[0, c, oy, ox]];
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
        convolution(channels, size, kernel, stride, pad).unwrap();
    }
}
