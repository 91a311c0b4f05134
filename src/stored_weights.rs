//! Weights stored small (int8 or float16, see tools/weight_variants.py) expanded to f32 when the
//! network is loaded, before tract sees the graph. tract would fold the expanding nodes itself,
//! but only when the result stays under its 4 MiB constant-folding budget; a larger weight (a
//! classifier matrix) would then be expanded again on every run. Done here, every weight is a
//! plain f32 constant and the optimised network is the fp32 bundle's.
//!
//! Patterns (inputs are initializers): `Cast(int8 or float16 -> float)`, and
//! `Mul(<that cast>, scale)` with the scale broadcast per channel. The f32 weights are written
//! straight into tract tensors, which join the graph as the streamed weights do
//! (`onnx_stream::model_with_weights`).

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};
use tract_onnx::prelude::{f16, DatumType, Tensor};

const FLOAT: i32 = 1;
const INT8: i32 = 3;
const FLOAT16: i32 = 10;

/// Remove the expanding nodes, and the initializers and `weights` only they read; the f32
/// weights they made join `weights`, under the name the graph reads them by. `weights` are the
/// float initializers decoded as the file arrived (`onnx_stream`), where a scale may be.
pub fn expand_stored_weights(graph: &mut GraphProto, weights: &mut Vec<(String, Tensor)>) {
    let index: HashMap<String, usize> =
        graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let streamed: HashMap<&str, &Tensor> = weights.iter().map(|(name, t)| (name.as_str(), t)).collect();
    // How many nodes (or graph outputs) read each tensor: a tensor is consumed in place (its
    // bytes taken, or scaled and renamed) only when the expanding node is its sole reader.
    let mut readers: HashMap<String, usize> = HashMap::new();
    for name in graph.node.iter().flat_map(|n| n.input.iter()).chain(graph.output.iter().map(|o| &o.name)) {
        *readers.entry(name.clone()).or_default() += 1;
    }
    let sole_reader = |name: &String| readers.get(name) == Some(&1);
    let mut expanded: Vec<(String, Tensor)> = vec![];
    // Expanded weights by name: only those are scaled in place by a following Mul.
    let mut cast_outputs: HashMap<String, usize> = HashMap::new();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let folded = match node.op_type.as_str() {
            "Cast" => fold_cast(&node, &mut graph.initializer, &index, node.input.first().is_some_and(sole_reader)),
            "Mul" if node.input.first().is_some_and(sole_reader) && node.input.len() == 2 => {
                let scale = match index.get(&node.input[1]) {
                    Some(&at) => proto_scale(&graph.initializer[at]),
                    None => streamed.get(node.input[1].as_str()).and_then(|t| tensor_scale(t)),
                };
                scale.and_then(|scale| fold_scale(&node, scale, &cast_outputs, &mut expanded))
            }
            _ => None,
        };
        match folded {
            Some(Folded::New(name, tensor)) => {
                cast_outputs.insert(name.clone(), expanded.len());
                expanded.push((name, tensor));
            }
            Some(Folded::Renamed { at, from }) => {
                cast_outputs.remove(&from);
                cast_outputs.insert(expanded[at].0.clone(), at);
            }
            None => kept.push(node),
        }
    }
    graph.node = kept;
    drop(streamed);
    if !expanded.is_empty() {
        // The small originals and the scales are read by nobody now: free them.
        let read: HashSet<&str> = graph
            .node
            .iter()
            .flat_map(|n| n.input.iter())
            .chain(graph.input.iter().map(|i| &i.name))
            .chain(graph.output.iter().map(|o| &o.name))
            .map(String::as_str)
            .collect();
        let keep: Vec<bool> = graph.initializer.iter().map(|t| read.contains(t.name.as_str())).collect();
        let mut keep = keep.into_iter();
        graph.initializer.retain(|_| keep.next().unwrap());
        weights.retain(|(name, _)| read.contains(name.as_str()));
    }
    weights.extend(expanded);
}

enum Folded {
    /// A new f32 weight, the Cast's output.
    New(String, Tensor),
    /// The expanded weight at `at` was scaled in place and now carries the Mul's output name.
    Renamed { at: usize, from: String },
}

/// `Cast(int8 | float16 initializer -> float)`: the f32 tensor; the small one's bytes are freed
/// when nothing else reads them (`sole_reader`).
fn fold_cast(
    node: &NodeProto,
    initializers: &mut [TensorProto],
    index: &HashMap<String, usize>,
    sole_reader: bool,
) -> Option<Folded> {
    let to = node.attribute.iter().find(|a| a.name == "to")?.i;
    let (input, output) = (node.input.first()?, node.output.first()?);
    let src = &mut initializers[*index.get(input)?];
    if to != FLOAT as i64 || !matches!(src.data_type, INT8 | FLOAT16) {
        return None;
    }
    let shape: Vec<usize> = src.dims.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>()?;
    let count: usize = shape.iter().product();
    let bytes_per_value = if src.data_type == INT8 { 1 } else { 2 };
    let stored = if src.raw_data.is_empty() { src.int32_data.len() * bytes_per_value } else { src.raw_data.len() };
    if stored != count * bytes_per_value {
        return None; // left to tract's parser, which reports the mismatch
    }
    let raw: Vec<u8> = if src.raw_data.is_empty() {
        src.int32_data.iter().flat_map(|&v| (v as u16).to_le_bytes()[..bytes_per_value].to_vec()).collect()
    } else if sole_reader {
        std::mem::take(&mut src.raw_data)
    } else {
        src.raw_data.clone()
    };
    // Safety: every value is written below.
    let mut tensor = unsafe { Tensor::uninitialized_dt(DatumType::F32, &shape).ok()? };
    let mut view = tensor.try_as_plain_ram_mut().ok()?;
    let values = view.as_slice_mut::<f32>().ok()?;
    if src.data_type == INT8 {
        for (v, &b) in values.iter_mut().zip(&raw) {
            *v = b as i8 as f32;
        }
    } else {
        for (v, b) in values.iter_mut().zip(raw.chunks_exact(2)) {
            *v = f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
        }
    }
    drop(raw);
    if sole_reader {
        src.int32_data = vec![];
    }
    Some(Folded::New(output.clone(), tensor))
}

/// A scale's values and dims.
struct Scale {
    values: Vec<f32>,
    dims: Vec<i64>,
}

fn proto_scale(t: &TensorProto) -> Option<Scale> {
    Some(Scale { values: f32_values(t)?, dims: t.dims.clone() })
}

fn tensor_scale(t: &Tensor) -> Option<Scale> {
    let values = t.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.to_vec();
    Some(Scale { values, dims: t.shape().iter().map(|&d| d as i64).collect() })
}

/// `Mul(<expanded weight>, scale)` with the scale along one axis: scaled in place.
fn fold_scale(node: &NodeProto, scale: Scale, cast_outputs: &HashMap<String, usize>, expanded: &mut [(String, Tensor)]) -> Option<Folded> {
    let at = *cast_outputs.get(&node.input[0])?;
    let (name, weights) = &mut expanded[at];
    let dims: Vec<i64> = weights.shape().iter().map(|&d| d as i64).collect();
    let block = scale_block(&dims, &scale.dims)?;
    if scale.values.len() != block.channels {
        return None;
    }
    let mut view = weights.try_as_plain_ram_mut().ok()?;
    let values = view.as_slice_mut::<f32>().ok()?;
    for (i, chunk) in values.chunks_exact_mut(block.inner).enumerate() {
        let s = scale.values[i % block.channels];
        chunk.iter_mut().for_each(|v| *v *= s);
    }
    let from = std::mem::replace(name, node.output.first()?.clone());
    Some(Folded::Renamed { at, from })
}

/// A per-channel scale: `channels` values along one axis of the weights, each applying to runs
/// of `inner` consecutive values (the product of the dimensions after that axis).
struct ScaleBlock {
    channels: usize,
    inner: usize,
}

fn scale_block(dims: &[i64], scale_dims: &[i64]) -> Option<ScaleBlock> {
    if scale_dims.len() != dims.len() {
        return None;
    }
    let axes: Vec<usize> = (0..dims.len()).filter(|&a| scale_dims[a] != 1).collect();
    match axes.as_slice() {
        [] => Some(ScaleBlock { channels: 1, inner: dims.iter().product::<i64>().max(1) as usize }),
        [axis] if scale_dims[*axis] == dims[*axis] => Some(ScaleBlock {
            channels: dims[*axis] as usize,
            inner: dims[axis + 1..].iter().product::<i64>().max(1) as usize,
        }),
        _ => None,
    }
}

fn f32_values(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != FLOAT {
        return None;
    }
    if !t.raw_data.is_empty() {
        return Some(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect());
    }
    Some(t.float_data.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::AttributeProto;

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: if op == "Cast" { vec![AttributeProto { name: "to".into(), i: FLOAT as i64, ..Default::default() }] } else { vec![] },
            ..Default::default()
        }
    }

    fn tensor(name: &str, data_type: i32, dims: &[i64], raw: Vec<u8>) -> TensorProto {
        TensorProto { name: name.into(), data_type, dims: dims.to_vec(), raw_data: raw, ..Default::default() }
    }

    fn floats(t: &Tensor) -> Vec<f32> {
        t.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn int8_weights_with_per_channel_scales_become_f32() {
        // 2 output channels x 3 values; scale [2, 1], then a second weight scaled along its last axis.
        let q: Vec<u8> = [1i8, 2, 3, -4, -5, 127].iter().map(|&v| v as u8).collect();
        let s0: Vec<u8> = [10f32, 100.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let s1: Vec<u8> = [1f32, 10.0, 100.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut graph = GraphProto {
            initializer: vec![
                tensor("w__int8", INT8, &[2, 3], q.clone()),
                tensor("w__scale", FLOAT, &[2, 1], s0),
                tensor("m__int8", INT8, &[2, 3], q),
                tensor("m__scale", FLOAT, &[1, 3], s1),
            ],
            node: vec![
                node("Cast", &["w__int8"], "w__f32"),
                node("Mul", &["w__f32", "w__scale"], "w"),
                node("Cast", &["m__int8"], "m__f32"),
                node("Mul", &["m__f32", "m__scale"], "m"),
                node("Conv", &["x", "w"], "y"),
                node("MatMul", &["y", "m"], "z"),
            ],
            ..Default::default()
        };
        let mut expanded = vec![];
        expand_stored_weights(&mut graph, &mut expanded);
        assert_eq!(graph.node.len(), 2, "only the real operators remain");
        assert!(graph.initializer.is_empty(), "the small originals and the scales are gone");
        let names: Vec<&str> = expanded.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["w", "m"]);
        assert_eq!(expanded[0].1.shape(), [2, 3]);
        assert_eq!(floats(&expanded[0].1), vec![10.0, 20.0, 30.0, -400.0, -500.0, 12700.0]);
        assert_eq!(floats(&expanded[1].1), vec![1.0, 20.0, 300.0, -4.0, -50.0, 12700.0]);
    }

    #[test]
    fn a_scale_decoded_as_the_file_arrived_is_folded_too() {
        // The classifier's scale is large enough to be streamed (`onnx_stream`): it is a weight,
        // not an initializer; the other streamed weight, read by a real operator, stays.
        let q: Vec<u8> = [1i8, -2, 3, 4, 5, -6].iter().map(|&v| v as u8).collect();
        let mut graph = GraphProto {
            initializer: vec![tensor("m__int8", INT8, &[2, 3], q)],
            node: vec![
                node("Cast", &["m__int8"], "m__f32"),
                node("Mul", &["m__f32", "m__scale"], "m"),
                node("MatMul", &["x", "m"], "y"),
                node("Add", &["y", "bias"], "z"),
            ],
            ..Default::default()
        };
        let scale = Tensor::from_shape(&[1, 3], &[1f32, 10.0, 100.0]).unwrap();
        let bias = Tensor::from_shape(&[3], &[7f32, 8.0, 9.0]).unwrap();
        let mut weights = vec![("m__scale".to_string(), scale), ("bias".to_string(), bias.clone())];
        expand_stored_weights(&mut graph, &mut weights);
        assert_eq!(graph.node.len(), 2, "the Cast and the Mul are folded");
        assert!(graph.initializer.is_empty());
        let names: Vec<&str> = weights.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["bias", "m"], "the scale is read by nobody now");
        assert_eq!(weights[0].1, bias);
        assert_eq!(floats(&weights[1].1), vec![1.0, -20.0, 300.0, 4.0, 50.0, -600.0]);
    }

    #[test]
    fn half_float_weights_become_f32() {
        let mut graph = GraphProto {
            initializer: vec![tensor("w__f16", FLOAT16, &[2], vec![0x00, 0x3c, 0x00, 0xc0])],
            node: vec![node("Cast", &["w__f16"], "w"), node("Conv", &["x", "w"], "y")],
            ..Default::default()
        };
        let mut expanded = vec![];
        expand_stored_weights(&mut graph, &mut expanded);
        assert_eq!(expanded.len(), 1);
        assert_eq!(expanded[0].0, "w");
        assert_eq!(floats(&expanded[0].1), vec![1.0, -2.0]);
    }

    #[test]
    fn a_small_weight_read_by_another_node_too_stays_intact() {
        let mut graph = GraphProto {
            initializer: vec![tensor("w__int8", INT8, &[2], vec![3, 0xfd])],
            node: vec![node("Cast", &["w__int8"], "w"), node("Conv", &["x", "w"], "y"), node("Identity", &["w__int8"], "z")],
            ..Default::default()
        };
        let mut expanded = vec![];
        expand_stored_weights(&mut graph, &mut expanded);
        assert_eq!(graph.initializer[0].raw_data, vec![3, 0xfd], "the int8 tensor is still read by Identity");
        assert_eq!(floats(&expanded[0].1), vec![3.0, -3.0]);
    }

    #[test]
    fn a_weight_whose_data_does_not_fit_its_dims_is_left_to_tract_intact() {
        let mut graph = GraphProto {
            initializer: vec![tensor("w__int8", INT8, &[3], vec![1, 2])],
            node: vec![node("Cast", &["w__int8"], "w"), node("Conv", &["x", "w"], "y")],
            ..Default::default()
        };
        let mut expanded = vec![];
        expand_stored_weights(&mut graph, &mut expanded);
        assert!(expanded.is_empty());
        assert_eq!(graph.node.len(), 2, "the Cast stays for tract to report");
        assert_eq!(graph.initializer[0].raw_data, vec![1, 2], "its data is still there");
    }

    #[test]
    fn scales_that_do_not_broadcast_per_channel_are_left_to_tract() {
        assert!(scale_block(&[2, 3], &[2, 3]).is_none());
        assert!(scale_block(&[2, 3], &[3]).is_none());
        assert_eq!(scale_block(&[4, 2, 3, 3], &[4, 1, 1, 1]).map(|b| (b.channels, b.inner)), Some((4, 18)));
    }
}
