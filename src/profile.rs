//! Where a network's time goes: its optimised plan run with a clock around each operator.
//!
//! Shared by the native `profile-ops` tool and the wasm build's `Classifier.profile`, so the
//! browser's own split (tract compiled to wasm, in V8) can be read beside the native one.

use std::collections::HashMap;

use serde::Serialize;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{eval, SimpleState};

use crate::classifier::Clock;
use crate::error::{Error, Result};
use crate::network::{before_op, describe, run_on, Network};

/// Time spent in one operator type, per run.
#[derive(Debug, Clone, Serialize)]
pub struct OpTime {
    pub op: String,
    pub ms_per_run: f64,
    /// Nodes of this type in the plan.
    pub nodes: usize,
}

/// Time spent in one node, per run.
#[derive(Debug, Clone, Serialize)]
pub struct NodeTime {
    pub node: String,
    pub op: String,
    /// Its output's shape, e.g. "1,56,56,144" (empty for a scalar, such as a packed operand).
    pub shape: String,
    /// What the operator says of itself (for a matrix product: its kernels and packings).
    pub info: String,
    pub ms_per_run: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Median of the timed runs, whole network (clock overhead included).
    pub median_run_ms: f64,
    pub runs: usize,
    /// Slowest first.
    pub ops: Vec<OpTime>,
    /// Every node, slowest first: how a type's time splits over its nodes (e.g. which of them
    /// gain from a second thread).
    pub nodes: Vec<NodeTime>,
}

/// Runs the network once to warm up, then `runs` times with every operator timed.
pub fn profile(network: &Network, input: &[f32], runs: usize, clock: &(dyn Clock + Sync)) -> Result<Profile> {
    run_on(|| profile_here(network, input, runs, clock))
}

fn profile_here(network: &Network, input: &[f32], runs: usize, clock: &(dyn Clock + Sync)) -> Result<Profile> {
    let runs = runs.max(1);
    let fail = |e: TractError| Error::Inference(describe(e));
    let tensor = Tensor::from_shape(&network.input_shape(), input).map_err(fail)?;
    let mut state = SimpleState::new(network.plan()).map_err(fail)?;
    let mut per_node: HashMap<usize, f64> = HashMap::new();
    let mut totals = vec![];
    for run in 0..=runs {
        let start = clock.now_ms();
        state
            .run_plan_with_eval(tvec!(tensor.clone().into_tvalue()), |ctx, op_state, node, inputs| {
                before_op(node);
                let t = clock.now_ms();
                let outputs = eval(ctx, op_state, node, inputs);
                if run > 0 {
                    *per_node.entry(node.id).or_default() += clock.now_ms() - t;
                }
                outputs
            })
            .map_err(fail)?;
        if run > 0 {
            totals.push(clock.now_ms() - start);
        }
    }
    totals.sort_by(f64::total_cmp);
    let model = network.plan().model();
    let mut nodes: Vec<NodeTime> = per_node
        .into_iter()
        .map(|(id, ms)| {
            let node = &model.nodes()[id];
            let shape = node.outputs.first().map(|o| format!("{:?}", o.fact.shape)).unwrap_or_default();
            let info = node.op().info().map(|lines| lines.join("; ")).unwrap_or_default();
            NodeTime { node: node.name.clone(), op: node.op().name().to_string(), shape, info, ms_per_run: ms / runs as f64 }
        })
        .collect();
    nodes.sort_by(|a, b| b.ms_per_run.total_cmp(&a.ms_per_run));
    // Each operator type's time and node count, summed over its nodes.
    let mut per_op: HashMap<&str, (f64, usize)> = HashMap::new();
    for node in &nodes {
        let entry = per_op.entry(&node.op).or_default();
        entry.0 += node.ms_per_run;
        entry.1 += 1;
    }
    let mut ops: Vec<OpTime> = per_op
        .into_iter()
        .map(|(op, (ms_per_run, nodes))| OpTime { op: op.to_string(), ms_per_run, nodes })
        .collect();
    ops.sort_by(|a, b| b.ms_per_run.total_cmp(&a.ms_per_run));
    Ok(Profile { median_run_ms: totals[totals.len() / 2], runs, ops, nodes })
}
