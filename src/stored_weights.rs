//! Weights stored small (int8 or float16, see tools/weight_variants.py) expanded to f32 when the
//! network is loaded, before tract sees the graph. tract would fold the expanding nodes itself,
//! but only when the result stays under its 4 MiB constant-folding budget; a larger weight (a
//! classifier matrix) would then be expanded again on every run. Done here, every weight is a
//! plain f32 constant and the optimised network is the fp32 bundle's.
//!
//! Patterns (inputs are initializers): `Cast(int8 or float16 -> float)`, and
//! `Mul(<that cast>, scale)` with the scale broadcast per channel.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};
use tract_onnx::prelude::f16;

const FLOAT: i32 = 1;
const INT8: i32 = 3;
const FLOAT16: i32 = 10;

/// Replace the expanding nodes by f32 initializers; returns how many nodes were folded.
pub fn expand_stored_weights(graph: &mut GraphProto) -> usize {
    let mut index: HashMap<String, usize> =
        graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let mut expanded: HashSet<String> = HashSet::new();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        match fold(&node, &graph.initializer, &index, &expanded) {
            Some(tensor) => {
                expanded.insert(tensor.name.clone());
                index.insert(tensor.name.clone(), graph.initializer.len());
                graph.initializer.push(tensor);
            }
            None => kept.push(node),
        }
    }
    graph.node = kept;
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
    }
    expanded.len()
}

fn fold(
    node: &NodeProto,
    initializers: &[TensorProto],
    index: &HashMap<String, usize>,
    expanded: &HashSet<String>,
) -> Option<TensorProto> {
    let constant = |name: &String| index.get(name).map(|&i| &initializers[i]);
    let output = node.output.first()?.clone();
    match node.op_type.as_str() {
        "Cast" if node.input.len() == 1 => {
            let to = node.attribute.iter().find(|a| a.name == "to")?.i;
            let src = constant(&node.input[0])?;
            if to != FLOAT as i64 {
                return None;
            }
            let values = match src.data_type {
                INT8 => int8_values(src)?,
                FLOAT16 => f16_values(src)?,
                _ => return None,
            };
            Some(float_tensor(output, src.dims.clone(), &values))
        }
        "Mul" if node.input.len() == 2 && expanded.contains(&node.input[0]) => {
            let (weights, scale) = (constant(&node.input[0])?, constant(&node.input[1])?);
            let values = scaled(&f32_values(weights)?, &weights.dims, &f32_values(scale)?, &scale.dims)?;
            Some(float_tensor(output, weights.dims.clone(), &values))
        }
        _ => None,
    }
}

fn int8_values(t: &TensorProto) -> Option<Vec<f32>> {
    if !t.raw_data.is_empty() {
        return Some(t.raw_data.iter().map(|&b| b as i8 as f32).collect());
    }
    Some(t.int32_data.iter().map(|&v| v as i8 as f32).collect())
}

fn f16_values(t: &TensorProto) -> Option<Vec<f32>> {
    if !t.raw_data.is_empty() {
        let bits = t.raw_data.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        return Some(bits.map(|b| f16::from_bits(b).to_f32()).collect());
    }
    Some(t.int32_data.iter().map(|&v| f16::from_bits(v as u16).to_f32()).collect())
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

/// `weights * scale`, the scale having the weights' rank with each dimension 1 or equal.
fn scaled(weights: &[f32], dims: &[i64], scale: &[f32], scale_dims: &[i64]) -> Option<Vec<f32>> {
    let volume: i64 = dims.iter().product();
    if scale_dims.len() != dims.len()
        || weights.len() as i64 != volume
        || scale.len() as i64 != scale_dims.iter().product::<i64>()
        || dims.iter().zip(scale_dims).any(|(&d, &s)| s != 1 && s != d)
    {
        return None;
    }
    // Row-major strides of the scale, 0 where it is broadcast.
    let mut strides = vec![0i64; dims.len()];
    let mut stride = 1;
    for axis in (0..dims.len()).rev() {
        strides[axis] = if scale_dims[axis] == 1 { 0 } else { stride };
        stride *= scale_dims[axis];
    }
    let mut coords = vec![0i64; dims.len()];
    let mut out = Vec::with_capacity(weights.len());
    for &w in weights {
        let at: i64 = coords.iter().zip(&strides).map(|(c, s)| c * s).sum();
        out.push(w * scale[at as usize]);
        for axis in (0..dims.len()).rev() {
            coords[axis] += 1;
            if coords[axis] < dims[axis] {
                break;
            }
            coords[axis] = 0;
        }
    }
    Some(out)
}

fn float_tensor(name: String, dims: Vec<i64>, values: &[f32]) -> TensorProto {
    TensorProto {
        name,
        dims,
        data_type: FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_scale_broadcasts_over_the_other_axes() {
        // 2 output channels x 3 values, scale [2, 1].
        let out = scaled(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &[10.0, 100.0], &[2, 1]).unwrap();
        assert_eq!(out, vec![10.0, 20.0, 30.0, 400.0, 500.0, 600.0]);
        // Scale along the last axis, [1, 3].
        let out = scaled(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &[1.0, 10.0, 100.0], &[1, 3]).unwrap();
        assert_eq!(out, vec![1.0, 20.0, 300.0, 4.0, 50.0, 600.0]);
        // A scale that does not broadcast is not folded.
        assert!(scaled(&[1.0, 2.0], &[2], &[1.0, 2.0, 3.0], &[3]).is_none());
    }

    #[test]
    fn half_floats_and_int8_decode() {
        let t = TensorProto { data_type: FLOAT16, raw_data: vec![0x00, 0x3c, 0x00, 0xc0], ..Default::default() };
        assert_eq!(f16_values(&t).unwrap(), vec![1.0, -2.0]);
        let t = TensorProto { data_type: INT8, raw_data: vec![0x7f, 0x81], ..Default::default() };
        assert_eq!(int8_values(&t).unwrap(), vec![127.0, -127.0]);
    }
}
