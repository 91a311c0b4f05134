//! tract's NNEF tar, decoded while it downloads.
//!
//! Each tensor file of the archive is copied into its tensor as its chunks arrive, instead of the
//! whole tar landing in memory first and being copied into tensors after the last byte: the
//! weights live once (for PNASNet, 344 MB instead of twice that), and the copy that tract's tar
//! reader makes after the download is gone from the time between the last byte and a ready model.
//!
//! graph.nnef (the first entry) is parsed as soon as it has arrived. Everything else that is not a
//! plain tensor file (graph.quant, tensors of other item types) is kept whole until its entry ends
//! and read by tract's own loaders, so the result is the `ProtoModel` tract's `model_for_read`
//! would build from the same archive.

use std::collections::HashMap;
use std::path::Path;

use tract_nnef::ast::parse::parse_document;
use tract_nnef::ast::{Document, Identifier, QuantFormat};
use tract_nnef::internal::*;
use tract_nnef::resource::{Resource, GRAPH_NNEF_FILENAME};
use tract_nnef::ProtoModel;

use crate::network::describe;

const BLOCK: usize = 512;
/// An NNEF tensor file starts with a header of this size (the NNEF spec's tensor file format).
const TENSOR_HEADER: usize = 128;

pub struct NnefStream {
    state: State,
    /// The name a GNU long-name or pax entry gave the next entry.
    next_name: Option<String>,
    /// graph.nnef, parsed as soon as it has arrived (it comes first in tract's archives).
    doc: Option<Document>,
    tensors: HashMap<Identifier, Arc<Tensor>>,
    /// Entries other than plain tensors, by path, for tract's resource loaders.
    others: Vec<(String, Vec<u8>)>,
    /// The first thing wrong with the archive; later bytes are ignored.
    error: Option<String>,
    /// Whether the first header has been read.
    started: bool,
}

enum State {
    /// Reading a 512-byte header (the bytes so far).
    Header(Vec<u8>),
    /// Inside an entry: `left` data bytes, then `padding` bytes to the next block.
    Entry { path: String, sink: Sink, left: u64, padding: u64 },
    /// After the end-of-archive block (or an error): nothing more is read.
    Done,
}

enum Sink {
    Skip,
    /// An entry read whole (not a tensor, a GNU long name, pax records).
    Whole(Vec<u8>, Whole),
    /// A `.dat` tensor file (of `entry_size` bytes): its header, then its data straight into the
    /// tensor (or, for item types other than plain floats and integers, whole: `Whole::Tensor`).
    TensorHeader { header: Vec<u8>, entry_size: u64 },
    TensorData { tensor: Tensor, written: usize },
}

#[derive(Clone, Copy)]
enum Whole {
    File,
    Tensor,
    LongName,
    Pax,
}

impl Default for NnefStream {
    fn default() -> Self {
        NnefStream {
            state: State::Header(Vec::with_capacity(BLOCK)),
            next_name: None,
            doc: None,
            tensors: HashMap::new(),
            others: vec![],
            error: None,
            started: false,
        }
    }
}

/// Does this first block start a tar archive? (A ustar header says so at byte 257.)
pub fn looks_like_tar(first_block: &[u8]) -> bool {
    first_block.get(257..262) == Some(b"ustar".as_slice())
}

impl NnefStream {
    pub fn push(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            match self.step(chunk) {
                Ok(used) => chunk = &chunk[used..],
                Err(e) => {
                    self.error.get_or_insert(e);
                    self.state = State::Done;
                    return;
                }
            }
        }
    }

    /// Consumes a prefix of `chunk` (at least one byte).
    fn step(&mut self, chunk: &[u8]) -> Result<usize, String> {
        let used = match &mut self.state {
            State::Done => chunk.len(),
            State::Header(block) => {
                let used = (BLOCK - block.len()).min(chunk.len());
                block.extend_from_slice(&chunk[..used]);
                if block.len() == BLOCK {
                    let block = std::mem::take(block);
                    self.state = self.start_entry(&block)?;
                }
                used
            }
            State::Entry { sink, left, padding, .. } => {
                let wanted = if *left > 0 { *left } else { *padding };
                let used = wanted.min(chunk.len() as u64) as usize;
                if *left > 0 {
                    sink.take(&chunk[..used]);
                    *left -= used as u64;
                } else {
                    *padding -= used as u64;
                }
                used
            }
        };
        if matches!(self.state, State::Entry { left: 0, padding: 0, .. }) {
            self.end_entry()?;
        }
        Ok(used)
    }

    fn start_entry(&mut self, block: &[u8]) -> Result<State, String> {
        if block.iter().all(|&b| b == 0) {
            return Ok(State::Done); // end of archive
        }
        if !std::mem::replace(&mut self.started, true) && !looks_like_tar(block) {
            return Err("not a tar archive".into());
        }
        let header = tar::Header::from_byte_slice(block);
        let sum: u32 = block.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { b' ' as u32 } else { b as u32 }).sum();
        if header.cksum().ok() != Some(sum) {
            return Err("a tar header is damaged (bad checksum)".into());
        }
        let size = header.entry_size().map_err(|e| format!("a tar header is damaged ({e})"))?;
        let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        let kind = header.entry_type();
        let named = self.next_name.take();
        let path = match named {
            Some(name) => name,
            None => String::from_utf8_lossy(&header.path_bytes()).into_owned(),
        };
        let path = path.strip_prefix("./").unwrap_or(&path).to_string();
        let sink = if kind.is_gnu_longname() {
            Sink::Whole(vec![], Whole::LongName)
        } else if kind.is_pax_local_extensions() {
            Sink::Whole(vec![], Whole::Pax)
        } else if !kind.is_file() || path.split('/').any(|part| part.starts_with('.')) {
            // Directories, links; hidden files (tract's reader skips them too).
            Sink::Skip
        } else if path.ends_with(".dat") {
            Sink::TensorHeader { header: Vec::with_capacity(TENSOR_HEADER), entry_size: size }
        } else {
            Sink::Whole(vec![], Whole::File)
        };
        Ok(State::Entry { path, sink, left: size, padding })
    }

    /// The current entry is complete (data and padding): keep what it holds, read the next header.
    fn end_entry(&mut self) -> Result<(), String> {
        let State::Entry { path, sink, .. } = std::mem::replace(&mut self.state, State::Header(Vec::with_capacity(BLOCK)))
        else {
            return Ok(());
        };
        match sink {
            Sink::Skip => {}
            Sink::Whole(bytes, Whole::File) if path == GRAPH_NNEF_FILENAME => {
                let text = String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8 text"))?;
                self.doc = Some(parse_document(&text).map_err(|e| format!("{path}: {}", describe(e)))?);
            }
            Sink::Whole(bytes, Whole::File) => self.others.push((path, bytes)),
            Sink::Whole(bytes, Whole::LongName) => {
                let name = bytes.split(|&b| b == 0).next().unwrap_or_default();
                self.next_name = Some(String::from_utf8_lossy(name).into_owned());
            }
            Sink::Whole(bytes, Whole::Pax) => self.next_name = pax_path(&bytes),
            // (A whole header has become TensorData or Whole::Tensor.)
            Sink::TensorHeader { .. } => return Err(format!("tensor file {path} is cut short")),
            Sink::Whole(bytes, Whole::Tensor) => {
                // Not a plain tensor: tract's reader, on the whole file.
                let tensor = tract_nnef::tensors::read_tensor(bytes.as_slice())
                    .map_err(|e| format!("tensor file {path}: {}", describe(e)))?;
                self.add_tensor(&path, tensor)?;
            }
            Sink::TensorData { tensor, written } => {
                if written < tensor.as_bytes().len() {
                    return Err(format!("tensor file {path} is cut short"));
                }
                self.add_tensor(&path, tensor)?;
            }
        }
        Ok(())
    }

    fn add_tensor(&mut self, path: &str, tensor: Tensor) -> Result<(), String> {
        let id = path.strip_suffix(".dat").unwrap_or(path);
        if self.tensors.insert(Identifier::from(id), Arc::new(tensor)).is_some() {
            return Err(format!("the archive holds tensor {id} twice"));
        }
        Ok(())
    }

    /// The archive as tract's `ProtoModel`, or what is wrong with it (cut short, damaged, no graph).
    pub fn finish(mut self, framework: &tract_nnef::framework::Nnef) -> Result<ProtoModel, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match &self.state {
            State::Done => {}
            State::Header(block) if block.is_empty() => {} // ended on an entry boundary
            State::Header(_) => return Err("the archive is cut short".into()),
            State::Entry { path, .. } => return Err(format!("the archive is cut short in {path}")),
        }
        let mut quantization = None;
        let mut resources: HashMap<String, Arc<dyn Resource>> = HashMap::new();
        for (path, bytes) in std::mem::take(&mut self.others) {
            if path.contains('/') && path.ends_with(GRAPH_NNEF_FILENAME) {
                return Err(format!("{path}: archives holding sub-models are not supported"));
            }
            let Some((id, resource)) = load_resource(framework, &path, &bytes)? else { continue };
            // (Tensor files never get here: every `.dat` entry goes to a tensor sink.)
            if let Some(quant) = resource.downcast_ref::<HashMap<String, QuantFormat>>() {
                quantization = Some(quant.iter().map(|(k, v)| (Identifier(k.clone()), v.clone())).collect());
            } else {
                resources.insert(id, resource);
            }
        }
        let doc = self.doc.ok_or_else(|| format!("the archive has no {GRAPH_NNEF_FILENAME}"))?;
        let proto = ProtoModel { doc, tensors: self.tensors, quantization, resources };
        proto.validate().map_err(describe)?;
        Ok(proto)
    }
}

impl Sink {
    /// The entry's next `data` bytes.
    fn take(&mut self, mut data: &[u8]) {
        if let Sink::TensorHeader { header, entry_size } = self {
            let used = (TENSOR_HEADER - header.len()).min(data.len());
            header.extend_from_slice(&data[..used]);
            data = &data[used..];
            if header.len() == TENSOR_HEADER {
                *self = match plain_tensor_for(header, *entry_size) {
                    Some(tensor) => Sink::TensorData { tensor, written: 0 },
                    None => Sink::Whole(std::mem::take(header), Whole::Tensor),
                };
            }
        }
        match self {
            Sink::Skip | Sink::TensorHeader { .. } => {}
            Sink::Whole(bytes, _) => bytes.extend_from_slice(data),
            Sink::TensorData { tensor, written } => {
                let target = tensor.as_bytes_mut();
                // Bytes after the tensor's data are ignored, as tract's reader does.
                let used = data.len().min(target.len() - *written);
                target[*written..*written + used].copy_from_slice(&data[..used]);
                *written += used;
            }
        }
    }
}

fn u32_at(header: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(header[offset..offset + 4].try_into().unwrap())
}

fn tensor_data_bytes(header: &[u8]) -> usize {
    u32_at(header, 4) as usize
}

/// An uninitialised tensor for a header of a plain float or integer tensor (the NNEF spec's item
/// types 0-4, little-endian, whole bytes per item) whose data size matches its shape and fits in
/// its file of `entry_size` bytes (so a damaged header cannot ask for gigabytes); None for
/// anything else, which tract's reader then decodes (or reports).
fn plain_tensor_for(header: &[u8], entry_size: u64) -> Option<Tensor> {
    let (magic, rank, bits) = (&header[0..2], u32_at(header, 8) as usize, u32_at(header, 44));
    let item_type = u16::from_le_bytes([header[48], header[49]]);
    let vendor = u16::from_le_bytes([header[50], header[51]]);
    if magic != [0x4e, 0xef] || header[2] != 1 || rank > 8 || vendor != 0 {
        return None;
    }
    let dt = match (item_type, bits) {
        (0, 16) => DatumType::F16,
        (0, 32) => DatumType::F32,
        (0, 64) => DatumType::F64,
        (1 | 2, 8) => DatumType::U8,
        (1 | 2, 16) => DatumType::U16,
        (1 | 2, 32) => DatumType::U32,
        (1 | 2, 64) => DatumType::U64,
        (3 | 4, 8) => DatumType::I8,
        (3 | 4, 16) => DatumType::I16,
        (3 | 4, 32) => DatumType::I32,
        (3 | 4, 64) => DatumType::I64,
        _ => return None,
    };
    let shape: Vec<usize> = (0..rank).map(|i| u32_at(header, 12 + 4 * i) as usize).collect();
    let bytes = shape.iter().try_fold(dt.size_of(), |acc, &d| acc.checked_mul(d))?;
    if bytes != tensor_data_bytes(header) || (TENSOR_HEADER + bytes) as u64 > entry_size {
        return None;
    }
    // Safety: every byte is written from the archive before the tensor is used; `end_entry`
    // refuses a tensor whose data is cut short.
    unsafe { Tensor::uninitialized_dt(dt, &shape).ok() }
}

/// The `path` record of pax extended-header records ("<len> path=<value>\n").
fn pax_path(records: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(records);
    text.lines().find_map(|line| line.split_once(' ')?.1.strip_prefix("path=").map(str::to_string))
}

/// A resource of the archive and its id, as tract's loaders name them.
type Loaded = (String, Arc<dyn Resource>);

/// The first of tract's resource loaders that reads the entry at `path`, as tract's tar reader does.
fn load_resource(framework: &tract_nnef::framework::Nnef, path: &str, bytes: &[u8]) -> Result<Option<Loaded>, String> {
    for loader in &framework.resource_loaders {
        let loaded = loader
            .try_load(Path::new(path), &mut &bytes[..], framework)
            .map_err(|e| format!("{path}: {}", describe(e)))?;
        if loaded.is_some() {
            return Ok(loaded);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_nnef::tract_core::ops::logic::Iff;
    use tract_nnef::tract_core::ops::math::add;

    /// A small graph with a plain tensor under a name too long for a tar header (a GNU long-name
    /// entry) and a bool tensor (not plain: tract's reader decodes it), as tract writes it.
    const SHAPE: [usize; 2] = [8, 5]; // big enough for tract to write the tensors as files
    fn weight(i: usize) -> f32 {
        i as f32 * 0.5 - 7.0
    }
    fn cond(i: usize) -> bool {
        i % 3 != 1
    }

    fn archive() -> Vec<u8> {
        let mut model = TypedModel::default();
        let x = model.add_source("input", f32::fact(SHAPE)).unwrap();
        let long = format!("{}/weights", "a_long_scope_name".repeat(8));
        let w = tract_ndarray::Array::from_shape_fn(SHAPE, |(r, c)| weight(r * SHAPE[1] + c));
        let w = model.add_const(long, w.into_tensor()).unwrap();
        let sum = model.wire_node("add", add(), &[x, w]).unwrap();
        let c = tract_ndarray::Array::from_shape_fn(SHAPE, |(r, c)| cond(r * SHAPE[1] + c));
        let cond = model.add_const("cond", c.into_tensor()).unwrap();
        let out = model.wire_node("select", Iff, &[cond, sum[0], x]).unwrap();
        model.select_output_outlets(&out).unwrap();
        let mut tar = vec![];
        tract_nnef::nnef().write_to_tar_with_config(&model, &mut tar, false, true).unwrap();
        tar
    }

    fn decode(tar: &[u8], chunk: usize) -> Result<ProtoModel, String> {
        let mut stream = NnefStream::default();
        for piece in tar.chunks(chunk) {
            stream.push(piece);
        }
        stream.finish(&tract_nnef::nnef())
    }

    #[test]
    fn decodes_like_tracts_reader_whatever_the_chunks() {
        let tar = archive();
        let framework = tract_nnef::nnef();
        let expected = framework.proto_model_for_read(&mut tar.as_slice()).unwrap();
        assert_eq!(expected.tensors.len(), 2);
        for chunk in [1, 7, 128, 511, 512, 513, 4096, tar.len()] {
            let proto = decode(&tar, chunk).unwrap();
            assert_eq!(format!("{:?}", proto.doc), format!("{:?}", expected.doc), "chunks of {chunk}");
            assert_eq!(proto.tensors, expected.tensors, "chunks of {chunk}");
            let model = framework.model_for_proto_model(&proto).unwrap();
            let ones = tract_ndarray::Array::<f32, _>::ones(SHAPE).into_tensor();
            let out = model.into_runnable().unwrap().run(tvec!(ones.into())).unwrap();
            let values: Vec<f32> = (0..40).map(|i| if cond(i) { 1.0 + weight(i) } else { 1.0 }).collect();
            let got: Vec<f32> = out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect();
            assert_eq!(got, values, "chunks of {chunk}");
        }
    }

    #[test]
    fn a_cut_or_damaged_archive_is_an_error_not_a_panic() {
        let tar = archive();
        for cut in (0..tar.len() - 1024).step_by(97) {
            assert!(decode(&tar[..cut], 300).is_err(), "cut at {cut} was accepted");
        }
        let e = decode(b"not a tar at all, but long enough to fill a tar header block ....", 5);
        assert!(e.is_err());
        let e = decode(&[7u8; 2048], 100).unwrap_err();
        assert_eq!(e, "not a tar archive");
        let mut damaged = tar.clone();
        damaged[10] ^= 1; // in the first header's name
        assert!(decode(&damaged, 1000).unwrap_err().contains("checksum"));
        // A tensor header that asks for more data than its file holds (8x5 floats -> 800x5).
        let mut greedy = tar.clone();
        let headers = (0..greedy.len() - 52).filter(|&i| greedy[i..i + 4] == [0x4e, 0xef, 1, 0]);
        let at = headers.into_iter().find(|&i| u32_at(&greedy[i..], 44) == 32).unwrap(); // the f32 one
        assert_eq!(u32_at(&greedy[at..], 12), 8);
        greedy[at + 12..at + 16].copy_from_slice(&800u32.to_le_bytes());
        greedy[at + 4..at + 8].copy_from_slice(&(800u32 * 5 * 4).to_le_bytes());
        assert!(decode(&greedy, 4096).unwrap_err().starts_with("tensor file"));
    }
}
