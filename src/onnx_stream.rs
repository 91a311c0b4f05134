//! An ONNX file, decoded while it downloads.
//!
//! An ONNX file is one protobuf `ModelProto` whose graph holds the weights as `TensorProto`
//! initializers. Decoding it whole after the download copies every weight twice more (into the
//! protobuf structs, then into tract's tensors), between the last byte and a ready model: for
//! PNASNet-5 large 344 MB twice. Here the protobuf fields are read as the chunks arrive, at the
//! three levels that hold the weights (model -> graph -> initializer), and the contents of each
//! large float initializer are copied straight into its tract tensor. Everything else (nodes,
//! inputs, small initializers, other fields) is kept as the bytes it came as, and decoded by prost
//! at the end: concatenated encodings of a message merge as protobuf says, so what is decoded is
//! the file's `ModelProto` minus the weights taken out.
//!
//! The weights then join tract's graph as constants (`model_with_weights`), where tract's parser
//! would have put them.

use std::collections::HashMap;

use tract_onnx::pb::tensor_proto::DataLocation;
use tract_onnx::pb::{tensor_proto, type_proto, GraphProto, ModelProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::InferenceFact;
use tract_onnx::tract_hir::ops::konst::Const;

use prost::Message;

/// Field numbers (onnx.proto).
const MODEL_GRAPH: u64 = 7;
const GRAPH_INITIALIZER: u64 = 5;
const TENSOR_RAW_DATA: u64 = 9;
const FLOAT: i32 = tensor_proto::DataType::Float as i32;

/// Initializers whose encoding is at least this long are decoded into tensors as they arrive;
/// smaller ones (shapes, scalars, per-channel biases) go through tract's own parser.
const STREAMED_INITIALIZER: u64 = 4096;

/// A key and a length are two varints of at most ten bytes each.
const LONGEST_HEAD: usize = 20;

#[derive(Default)]
pub struct OnnxStream {
    /// The model's fields other than its graph, as they came.
    model: Vec<u8>,
    /// The graph's fields other than the streamed initializers, as they came.
    graph: Vec<u8>,
    saw_graph: bool,
    /// The streamed initializers: float tensors, and the others kept as decoded protobuf.
    weights: Vec<(String, Tensor)>,
    other_initializers: Vec<TensorProto>,
    /// Messages entered (graph, initializer), innermost last.
    open: Vec<Open>,
    state: State,
    /// The first thing wrong with the file; later bytes are ignored.
    error: Option<String>,
}

/// A message being read, with the bytes of it still to come.
struct Open {
    kind: Kind,
    left: u64,
}

enum Kind {
    Graph,
    /// An initializer: its fields other than raw_data (as they came), and its raw data.
    Initializer { fields: Vec<u8>, raw: Option<Raw> },
}

enum Raw {
    /// Straight into the tensor its fields so far describe (a float tensor of that many bytes).
    Tensor { tensor: Tensor, written: usize },
    /// Anything else, kept as bytes for tract's parser.
    Bytes(Vec<u8>),
}

enum State {
    /// Reading a field's key (and length): the bytes so far.
    Head(Vec<u8>),
    /// Inside a field's value: `left` bytes, copied to the enclosing message's bytes or to its raw data.
    Value { left: u64, to: To },
    Done,
}

impl Default for State {
    fn default() -> State {
        State::Head(Vec::with_capacity(LONGEST_HEAD))
    }
}

#[derive(Clone, Copy)]
enum To {
    Fields,
    RawData,
}

/// What the file held: the `ModelProto` without the weights, and the weights.
pub struct DecodedOnnx {
    pub proto: ModelProto,
    pub weights: Vec<(String, Tensor)>,
}

impl OnnxStream {
    pub fn push(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() && self.error.is_none() {
            match self.step(chunk) {
                Ok(used) => chunk = &chunk[used..],
                Err(e) => {
                    self.error = Some(e);
                    self.state = State::Done;
                }
            }
        }
    }

    /// Consumes a prefix of `chunk` (at least one byte).
    fn step(&mut self, chunk: &[u8]) -> Result<usize, String> {
        let used = match &mut self.state {
            State::Done => return Ok(chunk.len()),
            State::Head(head) => {
                head.push(chunk[0]);
                let field = read_head(head)?;
                let head = field.is_some().then(|| std::mem::take(head));
                self.consumed(1)?;
                if let (Some(field), Some(head)) = (field, head) {
                    self.start_field(field, head)?;
                    if matches!(self.state, State::Value { left: 0, .. }) {
                        self.state = State::default(); // an empty value
                    }
                }
                1
            }
            State::Value { left, to } => {
                let used = (*left).min(chunk.len() as u64) as usize;
                *left -= used as u64;
                let to = *to;
                self.take_value(&chunk[..used], to);
                self.consumed(used)?;
                if matches!(self.state, State::Value { left: 0, .. }) {
                    self.state = State::default();
                }
                used
            }
        };
        self.close_finished()?;
        Ok(used)
    }

    /// `bytes` more of every open message have been read.
    fn consumed(&mut self, bytes: usize) -> Result<(), String> {
        for open in &mut self.open {
            open.left = open.left.checked_sub(bytes as u64).ok_or("a field runs past the end of its message")?;
        }
        Ok(())
    }

    /// Closes the messages that have been read to their end (at a field boundary).
    fn close_finished(&mut self) -> Result<(), String> {
        while self.open.last().is_some_and(|open| open.left == 0) {
            if !matches!(&self.state, State::Head(head) if head.is_empty()) {
                return Err("a field runs past the end of its message".into());
            }
            let open = self.open.pop().expect("checked above");
            if let Kind::Initializer { fields, raw } = open.kind {
                self.end_initializer(fields, raw)?;
            }
        }
        Ok(())
    }

    fn start_field(&mut self, field: Field, head: Vec<u8>) -> Result<(), String> {
        let Some(len) = field.len else {
            // A varint (its value is in the head) or a fixed-size value.
            self.fields().extend_from_slice(&head);
            if field.fixed > 0 {
                self.state = State::Value { left: field.fixed, to: To::Fields };
            }
            return Ok(());
        };
        if let Some(open) = self.open.last() {
            if len > open.left {
                return Err("a field runs past the end of its message".into());
            }
        }
        let kind = match (self.open.last().map(|open| &open.kind), field.number) {
            (None, MODEL_GRAPH) => Some(Kind::Graph),
            (Some(Kind::Graph), GRAPH_INITIALIZER) if len >= STREAMED_INITIALIZER => {
                Some(Kind::Initializer { fields: vec![], raw: None })
            }
            _ => None,
        };
        if let Some(kind) = kind {
            self.saw_graph |= matches!(kind, Kind::Graph);
            self.open.push(Open { kind, left: len });
            return Ok(());
        }
        if let Some(Open { kind: Kind::Initializer { fields, raw }, .. }) = self.open.last_mut() {
            if field.number == TENSOR_RAW_DATA {
                // A later raw_data replaces an earlier one (protobuf: the last value wins).
                *raw = Some(raw_for(fields, len)?);
                self.state = State::Value { left: len, to: To::RawData };
                return Ok(());
            }
        }
        self.fields().extend_from_slice(&head);
        self.state = State::Value { left: len, to: To::Fields };
        Ok(())
    }

    /// Where the innermost open message's fields are kept.
    fn fields(&mut self) -> &mut Vec<u8> {
        match self.open.last_mut() {
            None => &mut self.model,
            Some(Open { kind: Kind::Graph, .. }) => &mut self.graph,
            Some(Open { kind: Kind::Initializer { fields, .. }, .. }) => fields,
        }
    }

    fn take_value(&mut self, data: &[u8], to: To) {
        match to {
            To::Fields => self.fields().extend_from_slice(data),
            To::RawData => match self.open.last_mut() {
                Some(Open { kind: Kind::Initializer { raw: Some(Raw::Tensor { tensor, written }), .. }, .. }) => {
                    tensor.as_bytes_mut()[*written..*written + data.len()].copy_from_slice(data);
                    *written += data.len();
                }
                Some(Open { kind: Kind::Initializer { raw: Some(Raw::Bytes(bytes)), .. }, .. }) => {
                    bytes.extend_from_slice(data)
                }
                _ => unreachable!("raw data is read only inside an initializer"),
            },
        }
    }

    fn end_initializer(&mut self, fields: Vec<u8>, raw: Option<Raw>) -> Result<(), String> {
        let mut proto = TensorProto::decode(fields.as_slice()).map_err(|e| format!("an initializer is damaged ({e})"))?;
        match raw {
            Some(Raw::Tensor { tensor, .. }) if describes(&proto, &tensor) => {
                self.weights.push((proto.name, tensor));
            }
            Some(Raw::Tensor { tensor, .. }) => {
                // Fields after the data changed what it is: tract's parser reads it.
                proto.raw_data = tensor.as_bytes().to_vec();
                self.other_initializers.push(proto);
            }
            Some(Raw::Bytes(bytes)) => {
                proto.raw_data = bytes;
                self.other_initializers.push(proto);
            }
            None => self.other_initializers.push(proto),
        }
        Ok(())
    }

    /// The model without its large float weights, and those weights; or what is wrong with the
    /// file (cut short, damaged).
    pub fn finish(self) -> Result<DecodedOnnx, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let at_boundary = matches!(&self.state, State::Head(head) if head.is_empty());
        if !at_boundary || !self.open.is_empty() {
            return Err("the file is cut short".into());
        }
        let mut proto = ModelProto::decode(self.model.as_slice()).map_err(|e| e.to_string())?;
        if self.saw_graph {
            let mut graph = GraphProto::decode(self.graph.as_slice()).map_err(|e| e.to_string())?;
            graph.initializer.extend(self.other_initializers);
            proto.graph = Some(graph);
        }
        Ok(DecodedOnnx { proto, weights: self.weights })
    }
}

/// A field's number and how long its value is: `len` for a length-delimited value (whose length
/// the head ends with), `fixed` bytes for a fixed-size one; neither for a varint (in the head).
struct Field {
    number: u64,
    len: Option<u64>,
    fixed: u64,
}

/// The field a head describes, once it is complete.
fn read_head(head: &[u8]) -> Result<Option<Field>, String> {
    if head.len() > LONGEST_HEAD {
        return Err("a field's key is damaged".into());
    }
    let Some((key, at)) = varint(head)? else { return Ok(None) };
    let number = key >> 3;
    let field = |len, fixed| Ok(Some(Field { number, len, fixed }));
    match key & 7 {
        0 => match varint(&head[at..])? {
            Some(_) => field(None, 0),
            None => Ok(None),
        },
        1 => field(None, 8),
        5 => field(None, 4),
        2 => match varint(&head[at..])? {
            Some((len, _)) => field(Some(len), 0),
            None => Ok(None),
        },
        wire => Err(format!("not protobuf (wire type {wire})")),
    }
}

/// A varint at the start of `bytes` and its length, None if it is not complete yet.
fn varint(bytes: &[u8]) -> Result<Option<(u64, usize)>, String> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        if i == 10 {
            return Err("a varint is damaged".into());
        }
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Ok(None)
}

/// Where an initializer's `len` bytes of raw data go: into a tensor when its fields so far make it
/// a float tensor of exactly that size (ONNX writers put dims and type before the data).
fn raw_for(fields: &[u8], len: u64) -> Result<Raw, String> {
    let so_far = TensorProto::decode(fields).map_err(|e| format!("an initializer is damaged ({e})"))?;
    let shape = shape_of(&so_far);
    let bytes = shape.as_ref().and_then(|s| s.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d)));
    if so_far.data_type == FLOAT && bytes.map(|b| b as u64) == Some(len) {
        // Safety: every byte is written from the file before the tensor is used; a tensor cut
        // short is an unfinished message, which `finish` refuses.
        if let Ok(tensor) = unsafe { Tensor::uninitialized_dt(DatumType::F32, &shape.unwrap()) } {
            return Ok(Raw::Tensor { tensor, written: 0 });
        }
    }
    let mut bytes = Vec::new();
    // Room for them all at once (a length that cannot be had is no error: the file is then
    // refused as cut short, or the bytes get room as they come).
    let _ = bytes.try_reserve_exact(len as usize);
    Ok(Raw::Bytes(bytes))
}

fn shape_of(proto: &TensorProto) -> Option<Vec<usize>> {
    proto.dims.iter().map(|&d| usize::try_from(d).ok()).collect()
}

/// Whether an initializer's final fields still describe the tensor its data went into.
fn describes(proto: &TensorProto, tensor: &Tensor) -> bool {
    proto.data_type == FLOAT
        && shape_of(proto).as_deref() == Some(tensor.shape())
        && proto.data_location.unwrap_or(DataLocation::Default as i32) == DataLocation::Default as i32
        && proto.float_data.is_empty()
        && proto.external_data.is_empty()
}

/// tract's graph of a decoded file, the weights as constants where tract's parser puts them.
///
/// The parser wants every name a node reads to be an input or an initializer: each weight is
/// declared as a graph input of its type and shape (unless the file lists it there, as files of
/// IR version 3 do), parsed as a source, and that source then becomes the constant.
pub fn model_with_weights(mut decoded: DecodedOnnx) -> TractResult<InferenceModel> {
    if let Some(graph) = decoded.proto.graph.as_mut() {
        for (name, tensor) in &decoded.weights {
            if !graph.input.iter().any(|input| &input.name == name) {
                graph.input.push(declared_input(name, tensor));
            }
        }
    }
    let mut model = tract_onnx::onnx().model_for_proto_model(&decoded.proto)?;
    drop(decoded.proto);
    let mut weights: HashMap<String, Tensor> = decoded.weights.into_iter().collect();
    let mut sources = vec![];
    for input in std::mem::take(&mut model.inputs) {
        let node = &mut model.nodes[input.node];
        match weights.remove(&node.name) {
            Some(tensor) => {
                let tensor = tensor.into_arc_tensor();
                node.outputs[0].fact = InferenceFact::from(TypedFact::try_from(tensor.clone())?);
                node.op = Const::new(tensor)?.into();
            }
            None => sources.push(input),
        }
    }
    model.inputs = sources;
    Ok(model)
}

fn declared_input(name: &str, tensor: &Tensor) -> ValueInfoProto {
    use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
    let dim = tensor
        .shape()
        .iter()
        .map(|&d| Dimension { value: Some(dimension::Value::DimValue(d as i64)), ..Default::default() })
        .collect();
    let tensor_type = type_proto::Tensor { elem_type: FLOAT, shape: Some(TensorShapeProto { dim }) };
    let r#type = TypeProto { value: Some(type_proto::Value::TensorType(tensor_type)), ..Default::default() };
    ValueInfoProto { name: name.to_string(), r#type: Some(r#type), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{NodeProto, OperatorSetIdProto};

    const IN: usize = 64;
    const OUT: usize = 32;

    fn weight(i: usize) -> f32 {
        ((i * 37 % 101) as f32 - 50.0) / 25.0
    }

    fn float_tensor(name: &str, dims: &[usize], values: impl Iterator<Item = f32>) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            raw_data: values.flat_map(f32::to_le_bytes).collect(),
            ..Default::default()
        }
    }

    fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
        declared_input(name, &Tensor::zero::<f32>(dims).unwrap())
    }

    /// out = x . w + b, with w (8 KiB, streamed) and b (small, parsed by tract).
    fn model(edit: impl FnOnce(&mut GraphProto)) -> Vec<u8> {
        let node = |op: &str, inputs: &[&str], output: &str| NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        };
        let mut graph = GraphProto {
            node: vec![node("MatMul", &["x", "w"], "y"), node("Add", &["y", "b"], "out")],
            initializer: vec![
                float_tensor("w", &[IN, OUT], (0..IN * OUT).map(weight)),
                float_tensor("b", &[OUT], (0..OUT).map(|i| i as f32)),
            ],
            input: vec![value_info("x", &[1, IN])],
            output: vec![value_info("out", &[1, OUT])],
            ..Default::default()
        };
        edit(&mut graph);
        let opset = OperatorSetIdProto { version: 13, ..Default::default() };
        let model = ModelProto { ir_version: 8, graph: Some(graph), opset_import: vec![opset], ..Default::default() };
        model.encode_to_vec()
    }

    /// A length-delimited field's encoding.
    fn field(number: u64, value: &[u8]) -> Vec<u8> {
        use prost::encoding::{encode_key, encode_varint, WireType};
        let mut out = vec![];
        encode_key(number as u32, WireType::LengthDelimited, &mut out);
        encode_varint(value.len() as u64, &mut out);
        out.extend_from_slice(value);
        out
    }

    fn decode(bytes: &[u8], chunk: usize) -> Result<DecodedOnnx, String> {
        let mut stream = OnnxStream::default();
        for piece in bytes.chunks(chunk) {
            stream.push(piece);
        }
        stream.finish()
    }

    fn run(model: InferenceModel) -> Vec<f32> {
        let x = Tensor::from_shape(&[1, IN], &(0..IN).map(|i| i as f32 / 10.0 - 3.0).collect::<Vec<_>>()).unwrap();
        let plan = model.into_optimized().unwrap().into_runnable().unwrap();
        let out = plan.run(tvec!(x.into())).unwrap();
        out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
    }

    /// tract's own parser on the whole file: the reference.
    fn reference(bytes: &[u8]) -> Vec<f32> {
        run(tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap())
    }

    #[test]
    fn decodes_like_tracts_parser_whatever_the_chunks() {
        let bytes = model(|_| {});
        let expected = reference(&bytes);
        assert!(expected.iter().any(|v| v.abs() > 1.0), "outputs of order one: {expected:?}");
        for chunk in [1, 2, 3, 17, 1000, 4096, bytes.len()] {
            let decoded = decode(&bytes, chunk).unwrap();
            let streamed: Vec<&str> = decoded.weights.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(streamed, ["w"], "chunks of {chunk}");
            let initializers = &decoded.proto.graph.as_ref().unwrap().initializer;
            assert_eq!(initializers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["b"]);
            let model = model_with_weights(decoded).unwrap();
            assert_eq!(model.inputs.len(), 1, "the weight is no input");
            assert_eq!(run(model), expected, "chunks of {chunk}");
        }
    }

    #[test]
    fn weights_listed_as_inputs_and_weights_tract_parses_give_the_same_result() {
        let expected = reference(&model(|_| {}));
        // IR version 3 lists every initializer among the inputs.
        let listed = model(|g| g.input.push(value_info("w", &[IN, OUT])));
        // Shape after the data (a second encoding merged in): the data cannot go into a tensor
        // when it arrives, and goes to tract's parser.
        let shape_last = {
            let mut proto = ModelProto::decode(model(|_| {}).as_slice()).unwrap();
            let mut graph = proto.graph.take().unwrap();
            let mut w = graph.initializer.remove(0);
            let dims = std::mem::take(&mut w.dims);
            let mut w_bytes = w.encode_to_vec();
            w_bytes.extend(TensorProto { dims, ..Default::default() }.encode_to_vec());
            let mut graph_bytes = graph.encode_to_vec();
            graph_bytes.extend(field(GRAPH_INITIALIZER, &w_bytes));
            let mut bytes = proto.encode_to_vec();
            bytes.extend(field(MODEL_GRAPH, &graph_bytes));
            bytes
        };
        // Values as float_data instead of raw bytes.
        let float_data = model(|g| {
            let w = &mut g.initializer[0];
            w.float_data = w.raw_data.chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
            w.raw_data.clear();
        });
        for (what, bytes, streamed) in [("listed", listed, 1), ("shape last", shape_last, 0), ("float_data", float_data, 0)] {
            assert_eq!(reference(&bytes), expected, "{what}: tract's own parser");
            let decoded = decode(&bytes, 333).unwrap();
            assert_eq!(decoded.weights.len(), streamed, "{what}");
            let model = model_with_weights(decoded).unwrap();
            assert_eq!(model.inputs.len(), 1, "{what}");
            assert_eq!(run(model), expected, "{what}");
        }
    }

    #[test]
    fn a_cut_or_damaged_file_is_an_error_not_a_panic() {
        let bytes = model(|_| {});
        for cut in (0..bytes.len()).step_by(97) {
            let decoded = decode(&bytes[..cut], 50);
            assert!(decoded.is_err() || model_with_weights(decoded.unwrap()).is_err(), "cut at {cut} was accepted");
        }
        assert_eq!(decode(&bytes[..bytes.len() - 1], 50).err().unwrap(), "the file is cut short");
        assert!(decode(&[0xff; 64], 7).err().unwrap().contains("damaged"));
        assert!(decode(b"not protobuf at all", 5).is_err());
        // A length past its message's end (the graph's length shrunk by one byte).
        let mut short = bytes.clone();
        let at = short.iter().position(|&b| b == (MODEL_GRAPH << 3 | 2) as u8).unwrap();
        short[at + 1] -= 1;
        assert_eq!(decode(&short, 1000).err().unwrap(), "a field runs past the end of its message");
    }

    #[test]
    fn any_byte_changed_is_decoded_or_refused_never_a_panic() {
        let bytes = model(|_| {});
        let mut decoded = 0;
        for at in (0..bytes.len()).step_by(3) {
            for flip in [0x01, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                decoded += decode(&changed, 61).is_ok() as usize;
            }
        }
        assert!(decoded > 0, "a change inside the weights' values still decodes");
    }
}
