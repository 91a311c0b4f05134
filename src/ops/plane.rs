//! What this crate's operators share: the geometry of a windowed operator over the planes of a
//! CHW or NCHW tensor, and each thread's padded copy of the plane being worked on.
//!
//! The padded plane is the point of these operators: with the border made of real values
//! (zeros for a convolution, -inf for a max pool) every output row reads a whole window with no
//! edge cases, so the rows run at full vector width.

use std::cell::RefCell;

use tract_linalg::multithread::par_chunks_mut;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::PoolSpec;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// One plane of each (batch, channel) pair, a window sliding over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Whether the tensors have a batch axis (NCHW) or not (CHW, as tract's declutter leaves a
    /// batch of one).
    pub batch_axis: bool,
    pub batch: usize,
    pub channels: usize,
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub pad_before: [usize; 2],
    /// The input plane with its border: everything the window reads.
    pub padded: [usize; 2],
}

impl Geometry {
    /// The geometry of `spec` over an input of `shape` (CHW or NCHW, as `spec` says) to which
    /// `extra` padding (`[before, after]` per spatial axis, from a `Pad` the operator absorbs)
    /// is added first. `None` for other layouts, ranks, dilations or an empty output.
    pub fn new(spec: &PoolSpec, shape: &[usize], extra: [[usize; 2]; 2]) -> Option<Geometry> {
        let batch_axis = match spec.data_format {
            DataFormat::NCHW => true,
            DataFormat::CHW => false,
            _ => return None,
        };
        if shape.len() != 3 + batch_axis as usize
            || spec.kernel_shape.len() != 2
            || spec.dilations().iter().any(|&d| d != 1)
        {
            return None;
        }
        let (batch, chw) = if batch_axis { (shape[0], &shape[1..]) } else { (1, shape) };
        let with_extra = [0, 1].map(|a| extra[a][0] + chw[1 + a] + extra[a][1]);
        let padding = spec.computed_padding(&with_extra);
        let strides = spec.strides();
        let geometry = Geometry {
            batch_axis,
            batch,
            channels: chw[0],
            input: [chw[1], chw[2]],
            output: [0, 1].map(|a| padding[a].convoluted),
            kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
            strides: [strides[0], strides[1]],
            pad_before: [0, 1].map(|a| extra[a][0] + padding[a].pad_before),
            padded: [0, 1].map(|a| with_extra[a] + padding[a].pad_before + padding[a].pad_after),
        };
        // Every window must lie inside the padded plane (it does for every padding tract
        // computes; a geometry that did not would be left to tract).
        let reach = |a: usize| (geometry.output[a] - 1) * geometry.strides[a] + geometry.kernel[a];
        if geometry.output.contains(&0) || reach(0) > geometry.padded[0] || reach(1) > geometry.padded[1] {
            return None;
        }
        Some(geometry)
    }

    pub fn output_shape(&self) -> TVec<usize> {
        let chw = [self.channels, self.output[0], self.output[1]];
        if self.batch_axis {
            std::iter::once(self.batch).chain(chw).collect()
        } else {
            chw.into_iter().collect()
        }
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.channels * self.input[0] * self.input[1]
    }

    pub fn output_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Offsets of the window's taps in the padded plane, row-major.
    pub fn tap_offsets(&self) -> Vec<usize> {
        (0..self.kernel[0]).flat_map(|ky| (0..self.kernel[1]).map(move |kx| ky * self.padded[1] + kx)).collect()
    }

    /// Where output row `y`'s windows start in the padded plane.
    pub fn row_start(&self, y: usize) -> usize {
        y * self.strides[0] * self.padded[1]
    }

    pub fn info(&self) -> String {
        format!(
            "{} channels, {:?} -> {:?}, window {:?}, strides {:?}, padded {:?}",
            self.channels, self.input, self.output, self.kernel, self.strides, self.padded
        )
    }
}

/// Evaluates a windowed operator plane by plane: each input plane (through a ReLU when `relu`)
/// is copied into this thread's padded plane, its border `fill`, then
/// `plane_op(padded, output_plane, plane_index, scratch)` writes the output plane (`scratch`: a
/// buffer of its own, kept across a thread's planes). Chunks of planes go to the executor's
/// threads when the output is over tract's element threshold, as for tract's own operators.
pub fn eval_by_plane(
    g: &Geometry,
    input: TValue,
    fill: f32,
    relu: bool,
    plane_op: impl Fn(&PaddedPlane, &mut [f32], usize, &mut Vec<f32>) + Send + Sync,
) -> TractResult<TVec<TValue>> {
    let input_view = input.try_as_plain_ram()?;
    let input = input_view.as_slice::<f32>()?;
    ensure!(input.len() == g.input_len());
    let mut output = unsafe { Tensor::uninitialized::<f32>(&g.output_shape())? };
    let mut output_view = output.try_as_plain_ram_mut()?;
    let out = output_view.as_slice_mut::<f32>()?;
    let total = out.len();
    par_chunks_mut(out, g.output_plane(), total, |first, planes| {
        let mut scratch = Vec::new();
        with_padded_plane(g, fill, |padded| {
            for (i, out) in planes.chunks_mut(g.output_plane()).enumerate() {
                padded.fill_from(input, first + i, relu);
                plane_op(padded, out, first + i, &mut scratch);
            }
        });
        Ok(())
    })?;
    Ok(tvec!(output.into_tvalue()))
}

/// A thread's padded plane, reused across planes and operators: its border keeps its fill
/// value as long as the geometry and fill stay the same, so it is only refilled when they
/// change.
struct Scratch {
    made_for: Option<(Geometry, u32)>,
    plane: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { made_for: None, plane: Vec::new() }) };
}

/// Runs `work` with this thread's padded plane for `geometry`, its border `fill`.
fn with_padded_plane<R>(geometry: &Geometry, fill: f32, work: impl FnOnce(&mut PaddedPlane) -> R) -> R {
    SCRATCH.with_borrow_mut(|scratch| {
        let key = (*geometry, fill.to_bits());
        if scratch.made_for != Some(key) {
            scratch.plane.clear();
            scratch.plane.resize(geometry.padded[0] * geometry.padded[1], fill);
            scratch.made_for = Some(key);
        }
        work(&mut PaddedPlane { geometry, values: &mut scratch.plane })
    })
}

pub struct PaddedPlane<'a> {
    geometry: &'a Geometry,
    values: &'a mut [f32],
}

impl PaddedPlane<'_> {
    /// Copies input plane `plane` (an index over batch and channels) of `input` inside the border,
    /// through a ReLU (negative values as zeros) when `relu`.
    fn fill_from(&mut self, input: &[f32], plane: usize, relu: bool) {
        let g = self.geometry;
        let size = g.input[0] * g.input[1];
        let source = &input[plane * size..][..size];
        for (y, row) in source.chunks(g.input[1]).enumerate() {
            let start = (y + g.pad_before[0]) * g.padded[1] + g.pad_before[1];
            let inside = &mut self.values[start..start + g.input[1]];
            if relu {
                for (to, &from) in inside.iter_mut().zip(row) {
                    *to = if from > 0.0 { from } else { 0.0 };
                }
            } else {
                inside.copy_from_slice(row);
            }
        }
    }

    pub fn values(&self) -> &[f32] {
        self.values
    }
}
