//! Max and average pooling (NCHW, f32) over a padded copy of each plane, absorbing the `Pad`
//! in front of the pool when there is one.
//!
//! PNASNet-5's cells pool 3x3 windows of small planes (tract's `MaxPool` walks them one output
//! at a time), pad with -inf in front of its strided max pools and with zeros in front of the
//! 1x1 average pools of its factorised reductions (tract runs each `Pad` as an operator of its
//! own, then the pool). Here the pad is the border of the plane the pool reads anyway, and each
//! window tap is a pass over a whole output row, which compilers vectorise at stride 1.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode};
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec, SumPool};

use super::plane::{eval_by_plane, Geometry};

/// The operator's name in plans and profiles.
pub const OP_NAME: &str = "PaddedPool";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reduce {
    Max,
    /// A sum, then a division by the window's area when `average`.
    Sum { average: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaddedPool {
    geometry: Geometry,
    reduce: Reduce,
}

impl Op for PaddedPool {
    fn name(&self) -> StaticName {
        OP_NAME.into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{:?} over {}", self.reduce, self.geometry.info())])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for PaddedPool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let g = self.geometry;
        let (fill, scale) = match self.reduce {
            Reduce::Max => (f32::NEG_INFINITY, None),
            Reduce::Sum { average } => (0.0, average.then(|| 1.0 / (g.kernel[0] * g.kernel[1]) as f32)),
        };
        let ([kh, kw], [sy, sx], ow) = (g.kernel, g.strides, g.output[1]);
        eval_by_plane(&g, input, fill, false, |padded, out, _, scratch| {
            // The window is separable: each padded row reduced across the window's width, then
            // the output rows down its height. Both passes are contiguous (a strided row keeps
            // every sx-th result of a stride-1 pass), so they run as vector code without
            // branches: a strided scalar max mispredicts on every other comparison.
            let (across_len, full_len) = (g.padded[0] * ow, g.padded[1] + 1 - kw);
            scratch.resize(across_len + full_len, 0.0);
            let (across, full) = scratch.split_at_mut(across_len);
            for (row, across) in padded.values().chunks(g.padded[1]).zip(across.chunks_mut(ow)) {
                let taps = (0..kw).map(|kx| &row[kx..]);
                if sx == 1 {
                    self.reduce_row(across, taps);
                } else {
                    self.reduce_row(full, taps);
                    for (a, &f) in across.iter_mut().zip(full.iter().step_by(sx)) {
                        *a = f;
                    }
                }
            }
            for (y, out_row) in out.chunks_mut(ow).enumerate() {
                let taps = (0..kh).map(|ky| &across[(y * sy + ky) * ow..]);
                self.reduce_row(out_row, taps);
                if let Some(scale) = scale {
                    out_row.iter_mut().for_each(|v| *v *= scale);
                }
            }
        })
    }
}

/// One row of `out`: the first tap's values, then each other tap's folded in with `combine`, a
/// whole row at a time (a loop compilers turn into vector code).
#[inline(always)]
fn row<'a>(out: &mut [f32], mut taps: impl Iterator<Item = &'a [f32]>, combine: impl Fn(f32, f32) -> f32) {
    let Some(first) = taps.next() else { return };
    let len = out.len();
    out.copy_from_slice(&first[..len]);
    for tap in taps {
        for (o, &v) in out.iter_mut().zip(&tap[..len]) {
            *o = combine(*o, v);
        }
    }
}

impl TypedOp for PaddedPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 && inputs[0].datum_type == f32::datum_type());
        Ok(tvec!(f32::fact(self.geometry.output_shape())))
    }

    as_op!();
}

impl PaddedPool {
    /// The operator for a `MaxPool` (without index output) or `SumPool` node on f32 CHW/NCHW
    /// data, and the input it reads: the node's own, or the input of the constant `Pad` in front
    /// of it when the pool can absorb that (-inf for a max pool; zeros for a sum pool that pads
    /// nothing itself, so that the zeros count as values). `None` where it does not apply.
    pub(super) fn for_pool(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(PaddedPool, OutletId)>> {
        let (spec, reduce) = if let Some(pool) = node.op_as::<MaxPool>() {
            if pool.with_index_outputs.is_some() {
                return Ok(None);
            }
            (&pool.pool_spec, Reduce::Max)
        } else if let Some(pool) = node.op_as::<SumPool>() {
            // A pool that pads and averages over the values only would need a count per window.
            if pool.normalize && !pads_nothing(&pool.pool_spec.padding) && !pool.count_include_pad {
                return Ok(None);
            }
            (&pool.pool_spec, Reduce::Sum { average: pool.normalize })
        } else {
            return Ok(None);
        };
        let mut input = node.inputs[0];
        let mut extra = [[0; 2]; 2];
        if let Some((pad_input, pads)) = absorbable_pad(model, input, reduce, spec)? {
            input = pad_input;
            extra = pads;
        }
        let fact = model.outlet_fact(input)?;
        let Some(shape) = fact.shape.as_concrete() else { return Ok(None) };
        if fact.datum_type != f32::datum_type() {
            return Ok(None);
        }
        let Some(geometry) = Geometry::new(spec, shape, extra) else { return Ok(None) };
        Ok(Some((PaddedPool { geometry, reduce }, input)))
    }

    /// `out[x]`: every tap's `[x]` reduced.
    fn reduce_row<'a>(&self, out: &mut [f32], taps: impl Iterator<Item = &'a [f32]>) {
        match self.reduce {
            Reduce::Max => row(out, taps, |a, b| if b > a { b } else { a }),
            Reduce::Sum { .. } => row(out, taps, |a, b| a + b),
        }
    }
}

/// The input and spatial pads of a constant `Pad` producing `outlet` whose value the pool's
/// border would have anyway, padding the two spatial axes only.
fn absorbable_pad(model: &TypedModel, outlet: OutletId, reduce: Reduce, spec: &PoolSpec) -> TractResult<Option<(OutletId, [[usize; 2]; 2])>> {
    let producer = model.node(outlet.node);
    let Some(pad) = producer.op_as::<Pad>() else { return Ok(None) };
    let PadMode::Constant(value) = &pad.mode else { return Ok(None) };
    let Ok(value) = value.cast_to_scalar::<f32>() else { return Ok(None) };
    let wanted = match reduce {
        Reduce::Max => value == f32::NEG_INFINITY,
        Reduce::Sum { .. } => value == 0.0 && pads_nothing(&spec.padding),
    };
    let rank = pad.pads.len();
    if !wanted || rank < 2 || pad.pads[..rank - 2].iter().any(|&p| p != (0, 0)) {
        return Ok(None);
    }
    let [h, w] = [pad.pads[rank - 2], pad.pads[rank - 1]];
    Ok(Some((producer.inputs[0], [[h.0, h.1], [w.0, w.1]])))
}

fn pads_nothing(padding: &PaddingSpec) -> bool {
    match padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(before, after) => before.iter().chain(after).all(|&p| p == 0),
        _ => false,
    }
}
