//! This crate's operators (src/ops/) against tract's own on the same models: depthwise
//! convolutions and max / average pools (with and without a `Pad` in front) of the geometries
//! PNASNet and EfficientNet use and awkward ones (odd sizes, asymmetric and one-sided padding,
//! strides 1 to 3, rectangular windows, a batch of two, tract's layouts with and without a batch
//! axis, every kernel layout).

use image_classifier::ops::use_own_ops;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::conv::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::array::{Pad, PadMode};
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec, SumPool};
use tract_onnx::tract_core::ops::nn::DataFormat;

#[derive(Clone)]
struct Case {
    format: DataFormat,
    batch: usize,
    channels: usize,
    input: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: PaddingSpec,
    kernel_format: KernelFormat,
    /// Channels per group (1: depthwise).
    group_channels: usize,
}

fn case(channels: usize, input: [usize; 2], kernel: [usize; 2], strides: [usize; 2], padding: PaddingSpec) -> Case {
    Case { format: DataFormat::CHW, batch: 1, channels, input, kernel, strides, padding, kernel_format: KernelFormat::OIHW, group_channels: 1 }
}

/// Values of order one, different for every index (so a misplaced tap or plane shows).
fn values(len: usize, seed: f32) -> Vec<f32> {
    (0..len).map(|i| ((i as f32 * 0.7548 + seed) * 1.618).sin() * 1.5).collect()
}

/// A model of one depthwise convolution with constant weights and bias.
fn model(c: &Case) -> TypedModel {
    let mut model = TypedModel::default();
    let chw = [c.channels, c.input[0], c.input[1]];
    let shape: Vec<usize> = match c.format {
        DataFormat::NCHW => std::iter::once(c.batch).chain(chw).collect(),
        DataFormat::HWC => vec![c.input[0], c.input[1], c.channels],
        _ => chw.to_vec(),
    };
    let x = model.add_source("x", f32::fact(&shape)).unwrap();
    let [kh, kw] = c.kernel;
    // The same weights (OIHW values) in the case's layout.
    let i = c.group_channels;
    let oihw = Tensor::from_shape(&[c.channels, i, kh, kw], &values(c.channels * i * kh * kw, 0.3)).unwrap();
    let axes = match c.kernel_format {
        KernelFormat::OIHW => [0, 1, 2, 3],
        KernelFormat::HWIO => [2, 3, 1, 0],
        KernelFormat::OHWI => [0, 2, 3, 1],
    };
    let weights = oihw.permute_axes(&axes).unwrap();
    let kernel = model.add_const("kernel", weights).unwrap();
    let bias = model.add_const("bias", Tensor::from_shape(&[c.channels], &values(c.channels, 2.1)).unwrap()).unwrap();
    let conv = Conv {
        pool_spec: PoolSpec {
            data_format: c.format,
            kernel_shape: c.kernel.into_iter().collect(),
            padding: c.padding.clone(),
            dilations: None,
            strides: Some(c.strides.into_iter().collect()),
            input_channels: c.channels,
            output_channels: c.channels,
        },
        kernel_fmt: c.kernel_format,
        group: c.channels / c.group_channels,
        q_params: None,
    };
    let y = model.wire_node("dw", conv, &[x, kernel, bias]).unwrap();
    model.select_output_outlets(&y).unwrap();
    model
}

fn run(model: TypedModel, input: &Tensor) -> Tensor {
    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    plan.run(tvec!(input.clone().into_tvalue())).unwrap().remove(0).into_tensor()
}

fn check(c: Case) {
    // tract's reference with OIHW weights (its depthwise planning rejects some other layouts).
    let reference = model(&Case { kernel_format: KernelFormat::OIHW, ..c.clone() });
    let mut ours = model(&c);
    assert_eq!(use_own_ops(&mut ours).unwrap(), 1, "not replaced: {:?}", ours.node(3).op);
    assert!(ours.nodes().iter().any(|n| n.op().name() == "PaddedDepthwise"));
    compare(reference, ours);
}

/// Runs both models on the same input (values of order one) and compares their outputs
/// relative to the largest.
fn compare(reference: TypedModel, ours: TypedModel) {
    let input_shape = reference.input_fact(0).unwrap().shape.as_concrete().unwrap().to_vec();
    let input = Tensor::from_shape(&input_shape, &values(input_shape.iter().product(), 0.0)).unwrap();
    let expected = run(reference, &input);
    let got = run(ours, &input);
    assert_eq!(got.shape(), expected.shape());
    let (got, expected) = (got.to_plain_array_view::<f32>().unwrap(), expected.to_plain_array_view::<f32>().unwrap());
    let scale = expected.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(scale > 0.1, "outputs of order one expected, largest {scale}");
    for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
        assert!((g - e).abs() <= 1e-5 * scale, "output {i}: {g} against tract's {e} (largest {scale})");
    }
}

fn explicit(before: [usize; 2], after: [usize; 2]) -> PaddingSpec {
    PaddingSpec::Explicit(before.into_iter().collect(), after.into_iter().collect())
}

#[test]
fn pnasnet_and_efficientnet_geometries_match_tract() {
    // Separable convolutions of PNASNet-5's cells (same padding, strides 1 and 2).
    for (size, kernel) in [(11, 3), (11, 5), (11, 7), (21, 5), (42, 7), (83, 3)] {
        check(case(8, [size, size], [kernel, kernel], [1, 1], PaddingSpec::SameUpper));
        check(case(8, [size, size], [kernel, kernel], [2, 2], PaddingSpec::SameUpper));
    }
    // EfficientNet-Lite0's, explicit padding as its ONNX export writes it.
    check(case(16, [56, 56], [3, 3], [1, 1], explicit([1, 1], [1, 1])));
    check(case(16, [56, 56], [5, 5], [2, 2], explicit([1, 1], [2, 2])));
    check(case(16, [112, 112], [3, 3], [2, 2], explicit([0, 0], [1, 1])));
}

#[test]
fn awkward_geometries_match_tract() {
    check(case(3, [1, 1], [1, 1], [1, 1], PaddingSpec::Valid));
    check(case(5, [3, 9], [3, 3], [1, 1], PaddingSpec::Valid));
    check(case(5, [7, 13], [3, 5], [1, 2], explicit([2, 0], [0, 3])));
    check(case(4, [10, 17], [4, 2], [3, 3], PaddingSpec::SameLower));
    check(case(2, [2, 2], [5, 5], [1, 1], PaddingSpec::SameUpper));
    check(case(6, [9, 6], [1, 7], [2, 1], explicit([0, 3], [0, 3])));
}

#[test]
fn batches_and_kernel_layouts_match_tract() {
    for format in [DataFormat::NCHW, DataFormat::CHW] {
        for kernel_format in [KernelFormat::OIHW, KernelFormat::HWIO, KernelFormat::OHWI] {
            let batch = if format == DataFormat::NCHW { 2 } else { 1 };
            check(Case { format, batch, kernel_format, ..case(6, [9, 11], [3, 3], [2, 2], PaddingSpec::SameUpper) });
        }
    }
}

#[test]
fn other_convolutions_are_left_to_tract() {
    // Channel-last data, and a grouped (not depthwise) convolution.
    for (format, group_channels) in [(DataFormat::HWC, 1), (DataFormat::CHW, 2)] {
        let c = case(4, [8, 8], [3, 3], [1, 1], PaddingSpec::Valid);
        let mut m = model(&Case { format, group_channels, ..c });
        assert_eq!(use_own_ops(&mut m).unwrap(), 0);
        assert!(m.nodes().iter().any(|n| n.op_is::<Conv>()));
    }
}

#[derive(Clone, Copy, Debug)]
enum Pool {
    Max,
    Average,
    Sum,
}

/// A model of one pool on `[channels, h, w]` (CHW) data, after a constant `Pad` of the spatial
/// axes when `pad` is given (its value: -inf in front of max pools, zeros in front of the others).
fn pool_model(pool: Pool, channels: usize, input: [usize; 2], window: [usize; 2], strides: [usize; 2], padding: PaddingSpec, pad: Option<[(usize, usize); 2]>) -> TypedModel {
    let value = if matches!(pool, Pool::Max) { f32::NEG_INFINITY } else { 0.0 };
    pool_model_padding_with(value, pool, channels, input, window, strides, padding, pad)
}

#[allow(clippy::too_many_arguments)]
fn pool_model_padding_with(value: f32, pool: Pool, channels: usize, input: [usize; 2], window: [usize; 2], strides: [usize; 2], padding: PaddingSpec, pad: Option<[(usize, usize); 2]>) -> TypedModel {
    let mut model = TypedModel::default();
    let mut x = model.add_source("x", f32::fact([channels, input[0], input[1]])).unwrap();
    if let Some([h, w]) = pad {
        let op = Pad { pads: vec![(0, 0), h, w], mode: PadMode::Constant(Arc::new(tensor0(value))) };
        x = model.wire_node("pad", op, &[x]).unwrap()[0];
    }
    let pool_spec = PoolSpec {
        data_format: DataFormat::CHW,
        kernel_shape: window.into_iter().collect(),
        padding,
        dilations: None,
        strides: Some(strides.into_iter().collect()),
        input_channels: channels,
        output_channels: channels,
    };
    let y = match pool {
        Pool::Max => model.wire_node("pool", MaxPool { pool_spec, with_index_outputs: None }, &[x]),
        Pool::Average | Pool::Sum => {
            let normalize = matches!(pool, Pool::Average);
            model.wire_node("pool", SumPool { pool_spec, count_include_pad: true, normalize }, &[x])
        }
    }
    .unwrap();
    model.select_output_outlets(&y).unwrap();
    model
}

fn check_pool(pool: Pool, channels: usize, input: [usize; 2], window: [usize; 2], strides: [usize; 2], padding: PaddingSpec, pad: Option<[(usize, usize); 2]>) {
    let reference = pool_model(pool, channels, input, window, strides, padding.clone(), pad);
    let mut ours = reference.clone();
    assert_eq!(use_own_ops(&mut ours).unwrap(), 1, "{pool:?} not replaced");
    ours.compact().unwrap();
    let names: Vec<_> = ours.nodes().iter().map(|n| n.op().name().to_string()).collect();
    assert!(names.contains(&"PaddedPool".to_string()), "{names:?}");
    // The pad is part of the pool now.
    assert!(!names.contains(&"Pad".to_string()), "{names:?}");
    compare(reference, ours);
}

#[test]
fn pnasnet_pools_match_tract() {
    for size in [11, 21, 42] {
        check_pool(Pool::Max, 8, [size, size], [3, 3], [1, 1], PaddingSpec::SameUpper, None);
    }
    // Strided max pools after a -inf pad, and the factorised reductions' 1x1 average pools
    // after a zero pad at the end.
    check_pool(Pool::Max, 8, [165, 165], [3, 3], [2, 2], PaddingSpec::Valid, Some([(1, 1), (1, 1)]));
    check_pool(Pool::Max, 8, [42, 42], [3, 3], [2, 2], PaddingSpec::Valid, Some([(0, 1), (0, 1)]));
    check_pool(Pool::Average, 8, [164, 164], [1, 1], [2, 2], PaddingSpec::Valid, Some([(0, 1), (0, 1)]));
    check_pool(Pool::Average, 8, [41, 41], [1, 1], [2, 2], PaddingSpec::Valid, Some([(0, 1), (0, 1)]));
}

#[test]
fn awkward_pools_match_tract() {
    check_pool(Pool::Max, 3, [7, 10], [2, 4], [3, 1], explicit([1, 0], [0, 3]), None);
    check_pool(Pool::Max, 3, [5, 5], [5, 5], [1, 1], PaddingSpec::SameLower, Some([(2, 0), (0, 1)]));
    check_pool(Pool::Average, 3, [9, 8], [3, 3], [2, 2], explicit([1, 1], [1, 1]), None);
    check_pool(Pool::Sum, 4, [6, 13], [2, 3], [1, 2], PaddingSpec::Valid, Some([(1, 2), (3, 0)]));
    check_pool(Pool::Max, 2, [1, 1], [1, 1], [1, 1], PaddingSpec::Valid, None);
}

#[test]
fn pads_of_other_values_stay_in_front_of_the_pool() {
    // A zero pad in front of a max pool, and a -inf one in front of an average pool, are values
    // the pool must see.
    for (value, pool) in [(0.0, Pool::Max), (-1.5, Pool::Max), (f32::NEG_INFINITY, Pool::Sum)] {
        let pad = Some([(1, 1), (0, 2)]);
        let reference = pool_model_padding_with(value, pool, 3, [6, 6], [3, 3], [2, 2], PaddingSpec::Valid, pad);
        let mut ours = reference.clone();
        assert_eq!(use_own_ops(&mut ours).unwrap(), 1);
        let names: Vec<_> = ours.nodes().iter().map(|n| n.op().name().to_string()).collect();
        assert!(names.contains(&"Pad".to_string()) && names.contains(&"PaddedPool".to_string()), "{names:?}");
        if value.is_finite() {
            compare(reference, ours);
        }
    }
}

/// A ReLU (tract's `max(x, 0)`) in front of a depthwise convolution, also read by a second
/// output when `shared`.
fn relu_model(shared: bool) -> TypedModel {
    let c = case(6, [13, 13], [5, 5], [2, 2], PaddingSpec::SameUpper);
    let mut m = TypedModel::default();
    let x = m.add_source("x", f32::fact([6, 13, 13])).unwrap();
    let zero = m.add_const("zero", Tensor::zero::<f32>(&[1, 1, 1]).unwrap()).unwrap();
    let relu = m.wire_node("relu", tract_onnx::tract_core::ops::math::max(), &[x, zero]).unwrap();
    let conv_model = model(&c);
    // The convolution of `model(&c)`, fed by the ReLU.
    let conv = conv_model.node(3);
    let kernel = m.add_const("kernel", conv_model.outlet_fact(conv.inputs[1]).unwrap().konst.clone().unwrap()).unwrap();
    let bias = m.add_const("bias", conv_model.outlet_fact(conv.inputs[2]).unwrap().konst.clone().unwrap()).unwrap();
    let y = m.wire_node("dw", conv.op.clone(), &[relu[0], kernel, bias]).unwrap();
    let outputs = if shared { vec![y[0], relu[0]] } else { vec![y[0]] };
    m.select_output_outlets(&outputs).unwrap();
    m
}

#[test]
fn a_relu_in_front_of_a_depthwise_convolution_is_absorbed() {
    for shared in [false, true] {
        let reference = relu_model(shared);
        let mut ours = reference.clone();
        assert_eq!(use_own_ops(&mut ours).unwrap(), 1);
        let dw = ours.nodes().iter().find(|n| n.op().name() == "PaddedDepthwise").unwrap();
        assert!(dw.op().info().unwrap()[0].starts_with("ReLU"), "{:?}", dw.op().info());
        // The ReLU stays only for the other reader.
        assert_eq!(ours.nodes().iter().any(|n| n.op().name() == "Max"), shared);
        compare(reference, ours);
    }
}
