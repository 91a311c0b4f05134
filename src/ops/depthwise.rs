//! Depthwise convolutions (one filter per channel, NCHW, f32) as this crate runs them: each
//! channel's input plane is copied once into a zero-bordered scratch plane, then every output
//! row is one call of tract's depthwise row kernel over it.
//!
//! tract's own `DepthWise` walks the padding zones of a plane separately: on PNASNet's small
//! planes (11x11 to 42x42, 3x3 to 7x7 kernels) most outputs are in a border zone, computed in
//! runs of one to three points. With the border made of real zeros every row is whole, and the
//! row kernel (tract-wasm-kernels' in the browser) covers all of it. The copy costs one read
//! and one write per input value against 9 to 49 multiply-adds per output.
//!
//! tract's op also splits planes across threads one channel-zone at a time, paying its per-zone
//! setup per channel; here a chunk of planes shares one scratch plane and every row is whole, so
//! the threads build gains from the split.
//!
//! Worth upstreaming as tract's `DepthWise` eval for small NCHW planes.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::conv::{Conv, KernelFormat};

use super::plane::{eval_by_plane, Geometry};

#[derive(Debug, Clone)]
pub struct PaddedDepthwise {
    geometry: Geometry,
    /// Whether the input goes through a ReLU first (the ReLU node in front, absorbed: PNASNet's
    /// separable convolutions all start with one).
    relu: bool,
    /// `[channels, kernel height * kernel width]`, row-major taps.
    weights: Arc<Tensor>,
    /// `[channels]`.
    bias: Arc<Tensor>,
}

impl PartialEq for PaddedDepthwise {
    fn eq(&self, other: &Self) -> bool {
        self.geometry == other.geometry && self.relu == other.relu && self.weights == other.weights && self.bias == other.bias
    }
}

impl Eq for PaddedDepthwise {}

/// The operator's name in plans and profiles.
pub const OP_NAME: &str = "PaddedDepthwise";

impl Op for PaddedDepthwise {
    fn name(&self) -> StaticName {
        OP_NAME.into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{}{}", if self.relu { "ReLU, then " } else { "" }, self.geometry.info())])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for PaddedDepthwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let g = self.geometry;
        let weights_view = self.weights.try_as_plain_ram()?;
        let weights = weights_view.as_slice::<f32>()?;
        let bias_view = self.bias.try_as_plain_ram()?;
        let bias = bias_view.as_slice::<f32>()?;
        let taps = g.kernel[0] * g.kernel[1];
        let offsets: Vec<isize> = g.tap_offsets().into_iter().map(|o| o as isize).collect();
        let row_kernel = tract_linalg::routines::depthwise_w_f32().unwrap_or(scalar_row);
        eval_by_plane(&g, input, 0.0, self.relu, |padded, out, plane, _| {
            let channel = plane % g.channels;
            let taps = &weights[channel * taps..][..taps];
            for (y, out_row) in out.chunks_mut(g.output[1]).enumerate() {
                let first_input = padded.values()[g.row_start(y)..].as_ptr();
                // Safety: every read is inside the padded plane (Geometry::new checks that the
                // last window ends inside it).
                unsafe {
                    row_kernel(
                        first_input,
                        out_row.as_mut_ptr(),
                        taps,
                        &offsets,
                        bias[channel],
                        g.output[1],
                        g.strides[1] as isize,
                    )
                }
            }
        })
    }
}

impl TypedOp for PaddedDepthwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 && inputs[0].datum_type == f32::datum_type());
        Ok(tvec!(f32::fact(self.geometry.output_shape())))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let g = &self.geometry;
        let macs = g.batch * g.channels * g.output[0] * g.output[1] * g.kernel[0] * g.kernel[1];
        Ok(tvec!((Cost::FMA(f32::datum_type()), macs.into())))
    }

    as_op!();
}

impl PaddedDepthwise {
    /// The operator for a depthwise `Conv` node with constant weights, and the input it reads
    /// (the node's, or the input of the ReLU in front of it), or `None` where it does not apply
    /// (other layouts, types, groups, dilations; weights computed at run time).
    pub(super) fn for_conv(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<(PaddedDepthwise, OutletId)>> {
        let spec = &conv.pool_spec;
        let input = model.outlet_fact(node.inputs[0])?;
        let Some(shape) = input.shape.as_concrete() else { return Ok(None) };
        let Some(geometry) = Geometry::new(spec, shape, [[0; 2]; 2]) else { return Ok(None) };
        let channels = geometry.channels;
        if conv.q_params.is_some()
            || input.datum_type != f32::datum_type()
            || node.inputs.len() != 3
            || conv.group != channels
            || spec.output_channels != channels
        {
            return Ok(None);
        }
        let (Some(kernel), Some(bias)) = (
            model.outlet_fact(node.inputs[1])?.konst.clone(),
            model.outlet_fact(node.inputs[2])?.konst.clone(),
        ) else {
            return Ok(None);
        };
        let Some(weights) = weights_per_channel(&kernel, conv.kernel_fmt, channels, geometry.kernel)? else {
            return Ok(None);
        };
        let bias = match bias.len() {
            1 => {
                let value = bias.cast_to::<f32>()?.try_as_plain_ram()?.as_slice::<f32>()?[0];
                tensor1(&vec![value; channels])
            }
            n if n == channels => bias.cast_to::<f32>()?.into_owned().into_shape(&[channels])?,
            _ => return Ok(None),
        };
        let (relu, source) = match relu_input(model, node.inputs[0])? {
            Some(before_relu) => (true, before_relu),
            None => (false, node.inputs[0]),
        };
        let op = PaddedDepthwise { geometry, relu, weights: Arc::new(weights), bias: Arc::new(bias) };
        Ok(Some((op, source)))
    }
}

/// The input of the ReLU producing `outlet`, if a ReLU does: tract's `max(x, 0)` with a
/// constant zero that only broadcasts (x has the output's shape).
fn relu_input(model: &TypedModel, outlet: OutletId) -> TractResult<Option<OutletId>> {
    let producer = model.node(outlet.node);
    let Some(max) = producer.op_as::<TypedBinOp>() else { return Ok(None) };
    if max.0.name() != "Max" || producer.inputs.len() != 2 {
        return Ok(None);
    }
    let output = model.outlet_fact(outlet)?;
    for (x, zero) in [(0, 1), (1, 0)] {
        let zero = model.outlet_fact(producer.inputs[zero])?;
        let is_zero = zero.konst.as_ref().is_some_and(|k| {
            k.cast_to::<f32>().is_ok_and(|k| k.try_as_plain_ram().is_ok_and(|k| k.as_slice::<f32>().is_ok_and(|v| v.iter().all(|&v| v == 0.0))))
        });
        let x_fact = model.outlet_fact(producer.inputs[x])?;
        if is_zero && x_fact.shape == output.shape && x_fact.datum_type == output.datum_type {
            return Ok(Some(producer.inputs[x]));
        }
    }
    Ok(None)
}

/// The kernel as `[channels, kh * kw]` f32, from any of tract's kernel layouts.
fn weights_per_channel(kernel: &Tensor, format: KernelFormat, channels: usize, hw: [usize; 2]) -> TractResult<Option<Tensor>> {
    let kernel = kernel.cast_to::<f32>()?;
    let expected: [usize; 4] = match format {
        KernelFormat::OIHW => [channels, 1, hw[0], hw[1]],
        KernelFormat::HWIO => [hw[0], hw[1], 1, channels],
        KernelFormat::OHWI => [channels, hw[0], hw[1], 1],
    };
    if kernel.shape() != expected {
        return Ok(None);
    }
    let view = kernel.to_plain_array_view::<f32>()?;
    let per_channel: Vec<f32> = match format {
        KernelFormat::HWIO => {
            let moved = view.permuted_axes(vec![3, 2, 0, 1]);
            moved.iter().copied().collect()
        }
        KernelFormat::OIHW | KernelFormat::OHWI => view.iter().copied().collect(),
    };
    Ok(Some(Tensor::from_shape(&[channels, hw[0] * hw[1]], &per_channel)?))
}

/// tract's row kernel contract (`tract_linalg::routines::DepthwiseWF32`), for hosts that have no
/// kernel for it.
///
/// # Safety
/// As the contract: every `input[offsets[t] + i * in_stride]` readable, `len` outputs writable.
unsafe fn scalar_row(input: *const f32, output: *mut f32, taps: &[f32], offsets: &[isize], bias: f32, len: usize, in_stride: isize) {
    for i in 0..len {
        let mut sum = bias;
        for (tap, offset) in taps.iter().zip(offsets) {
            sum += tap * *input.offset(offset + i as isize * in_stride);
        }
        *output.add(i) = sum;
    }
}
