//! tract operators this crate runs in place of tract's own for NCHW planes (src/ops/plane.rs):
//! depthwise convolutions and max / average pools, each over a padded copy of the plane, each
//! split across threads by planes through tract's own gate. They are swapped in for tract's
//! nodes of a decluttered model, before tract optimises it (`use_own_ops`); what they do not
//! cover stays tract's.

mod depthwise;
mod plane;
mod pool;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tract_onnx::prelude::*;

use depthwise::PaddedDepthwise;
use pool::PaddedPool;

pub use depthwise::OP_NAME as DEPTHWISE;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether networks optimised from now on use these operators (the default) or tract's own
/// (for benchmarks comparing the two).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Relaxed);
}

/// Replaces the nodes of a decluttered model that this crate's operators cover; returns how
/// many it replaced.
pub fn use_own_ops(model: &mut TypedModel) -> TractResult<usize> {
    if !ENABLED.load(Relaxed) {
        return Ok(0);
    }
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let (op, input): (Box<dyn TypedOp>, OutletId) =
            if let Some(conv) = node.op_as::<tract_onnx::tract_core::ops::cnn::Conv>() {
                match PaddedDepthwise::for_conv(model, node, conv)? {
                    Some((op, input)) => (Box::new(op), input),
                    None => continue,
                }
            } else {
                match PaddedPool::for_pool(model, node)? {
                    Some((op, input)) => (Box::new(op), input),
                    None => continue,
                }
            };
        let mut patch = TypedModelPatch::new(format!("{} for {}", op.name(), node.name));
        let input = patch.tap_model(model, input)?;
        let output = patch.wire_node(&node.name, op, &[input])?;
        patch.shunt_outside(model, id.into(), output[0])?;
        patch.apply(model)?;
        replaced += 1;
    }
    if replaced > 0 {
        model.compact()?;
    }
    Ok(replaced)
}
