//! The network file's bytes, hashed as they arrive.
//!
//! The browser streams a download into this buffer chunk by chunk, so the bytes live once, in
//! wasm memory, and the sha256 is ready when the last chunk lands (no second pass over hundreds
//! of megabytes). With the engine the file is not even kept as bytes: an NNEF tar's tensors
//! (`nnef_stream`) and an ONNX file's weights (`onnx_stream`) are decoded as they arrive.
//!
//! Or the digest is computed elsewhere (the browser's hashing worker, on another core, while this
//! buffer only copies) and checked by the caller (`UnverifiedClassifier`).

use sha2::{Digest, Sha256};

#[cfg(feature = "engine")]
use crate::nnef_stream::{looks_like_tar, NnefStream};
#[cfg(feature = "engine")]
use crate::onnx_stream::OnnxStream;

/// Bytes of a download looked at before it is known whether it is a tar (one tar header).
const SNIFF_BYTES: usize = 512;

pub struct NetworkBytes {
    contents: Contents,
    len: usize,
    /// None for bytes hashed elsewhere (`unhashed_with_capacity`).
    digest: Option<StreamDigest>,
    /// Memory the preparation will need, touched while the download arrives (`WarmMemory`).
    warm: WarmMemory,
}

enum Contents {
    /// The first bytes of a streamed download, until there are enough to tell a tar (`capacity`:
    /// the size announced for the whole).
    Sniffing { first: Vec<u8>, capacity: usize },
    Decided(NetworkContents),
}

/// What a network file became: its bytes (read whole, or without the engine), or, streamed in,
/// the file decoded as it arrived: an NNEF tar (`nnef_stream`), anything else as ONNX
/// (`onnx_stream`).
pub enum NetworkContents {
    Bytes(Vec<u8>),
    #[cfg(feature = "engine")]
    Nnef(Box<NnefStream>),
    #[cfg(feature = "engine")]
    Onnx(Box<OnnxStream>),
}

impl NetworkContents {
    /// The bytes, unless they were decoded on the way in.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            NetworkContents::Bytes(bytes) => Some(bytes),
            #[cfg(feature = "engine")]
            NetworkContents::Nnef(_) | NetworkContents::Onnx(_) => None,
        }
    }
}

impl NetworkBytes {
    /// An empty buffer for a streamed download of `capacity` bytes (the manifest's or the
    /// server's size): room for them all is made once the first bytes show it is not an NNEF
    /// tar, which is decoded as it streams instead.
    pub fn with_capacity(capacity: usize) -> NetworkBytes {
        NetworkBytes::streamed(capacity, Some(StreamDigest::default()))
    }

    /// The same, for bytes hashed elsewhere: only `into_contents` gives them (`finish` reports an
    /// empty digest, which matches no manifest).
    pub fn unhashed_with_capacity(capacity: usize) -> NetworkBytes {
        NetworkBytes::streamed(capacity, None)
    }

    fn streamed(capacity: usize, digest: Option<StreamDigest>) -> NetworkBytes {
        let first = Vec::with_capacity(SNIFF_BYTES);
        NetworkBytes { contents: Contents::Sniffing { first, capacity }, len: 0, digest, warm: WarmMemory::none() }
    }

    /// Bytes read in one piece (native file reads): kept as they are.
    pub fn from_vec(bytes: Vec<u8>) -> NetworkBytes {
        let digest = Some(StreamDigest::of(&bytes));
        NetworkBytes { len: bytes.len(), contents: Contents::Decided(NetworkContents::Bytes(bytes)), digest, warm: WarmMemory::none() }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if let Some(stream) = &mut self.digest {
            stream.push(chunk);
        }
        self.len += chunk.len();
        match &mut self.contents {
            Contents::Sniffing { first, capacity } => {
                first.extend_from_slice(chunk);
                if first.len() >= SNIFF_BYTES {
                    let (first, capacity) = (std::mem::take(first), *capacity);
                    // Before the contents' own memory, which then comes after it in the heap.
                    if cfg!(target_arch = "wasm32") {
                        self.warm = WarmMemory::reserve(WarmMemory::size_for(capacity));
                    }
                    self.contents = Contents::decided(first, capacity);
                }
            }
            Contents::Decided(NetworkContents::Bytes(bytes)) => bytes.extend_from_slice(chunk),
            #[cfg(feature = "engine")]
            Contents::Decided(NetworkContents::Nnef(stream)) => stream.push(chunk),
            #[cfg(feature = "engine")]
            Contents::Decided(NetworkContents::Onnx(stream)) => stream.push(chunk),
        }
        self.warm.touch(chunk.len());
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// sha256 (lowercase hex) of the bytes so far; empty for an unhashed buffer.
    pub fn sha256_hex(&self) -> String {
        self.digest.as_ref().map(StreamDigest::hex).unwrap_or_default()
    }

    /// The contents alone, for a caller that checks their digest itself (`UnverifiedClassifier`).
    /// The warm memory is freed here, for the preparation to use.
    pub fn into_contents(self) -> NetworkContents {
        drop(self.warm);
        match self.contents {
            Contents::Sniffing { first, .. } => NetworkContents::Bytes(first),
            Contents::Decided(contents) => contents,
        }
    }

    /// The contents and the sha256 of the bytes (lowercase hex; empty for an unhashed buffer).
    pub fn finish(mut self) -> (NetworkContents, String) {
        let digest = self.digest.take().map(|mut stream| stream.finish()).unwrap_or_default();
        (self.into_contents(), digest)
    }
}

impl Contents {
    /// The start of an NNEF stream (the first bytes start a tar) or an ONNX one.
    #[cfg(feature = "engine")]
    fn decided(first: Vec<u8>, capacity: usize) -> Contents {
        reserve_heap(capacity);
        let contents = if looks_like_tar(&first) {
            let mut stream = Box::<NnefStream>::default();
            stream.push(&first);
            NetworkContents::Nnef(stream)
        } else {
            let mut stream = Box::<OnnxStream>::default();
            stream.push(&first);
            NetworkContents::Onnx(stream)
        };
        Contents::Decided(contents)
    }

    /// Without the engine nothing decodes: bytes from now on.
    #[cfg(not(feature = "engine"))]
    fn decided(first: Vec<u8>, capacity: usize) -> Contents {
        let mut bytes = Vec::new();
        // Room for the whole download at once; if a wrong size was announced and that much
        // cannot be had, the bytes get room as they arrive instead.
        let _ = bytes.try_reserve_exact(capacity.max(first.len()));
        bytes.extend_from_slice(&first);
        Contents::Decided(NetworkContents::Bytes(bytes))
    }
}

/// Grows the heap once to hold `bytes` more, for a download decoded into many allocations (one
/// per tensor). In wasm each allocation past the end of memory grows it by just what
/// that one needs, and a thousand small grows of linear memory cost more than one large one.
/// (Natively the allocator maps and unmaps the block, which costs next to nothing.)
#[cfg(feature = "engine")]
fn reserve_heap(bytes: usize) {
    let mut block = Vec::<u8>::new();
    // A size that cannot be had (a wrong size announced) is no error: the tensors come one by one.
    let _ = block.try_reserve_exact(bytes);
    // black_box: an allocation nothing uses is otherwise removed by the optimiser.
    drop(std::hint::black_box(block));
}

/// Working memory for the preparation, made ready while the download arrives.
///
/// Preparing a network needs new memory beside the weights decoded as they arrived (`size_for`:
/// the weights repacked for the matrix kernels, or expanded). Fresh wasm memory is slow the first time it is
/// written (the system maps each page then): for PNASNet-5 large, decoding the ONNX file whole
/// took 216 ms in fresh memory and 60 ms in memory written before (Chromium, 3 loads each, when
/// ONNX files were decoded after the download). A block of that size is reserved when the
/// download starts, written one byte per page as the chunks arrive (as many bytes as each chunk:
/// the work is spread over the download, which waits on the network), and freed when the
/// preparation starts, which then allocates into it. Only in wasm, where freed memory stays with
/// the module; natively the allocator hands a freed block back to the system.
struct WarmMemory {
    block: Vec<u8>,
    touched: usize,
}

/// The page size of the systems the browsers run on: one write per page maps it.
const PAGE: usize = 4096;

impl WarmMemory {
    fn none() -> WarmMemory {
        WarmMemory { block: Vec::new(), touched: 0 }
    }

    /// How much to warm for a network file of `bytes`: half, as its weights are decoded as it
    /// arrives, leaving the repacking. PNASNet-5 large's 345 MB NNEF tar (Chromium, 4 loads
    /// each): without a block prepared in 787 ms, peak 460 MB; with a third 758 ms, 474 MB; half
    /// 701 ms, 505 MB; the whole size 705 ms, 665 MB. Its ONNX file (fresh pages, two threads,
    /// medians of 8): half 2.91 s, the whole size 3.10 s; its int8 file (whose weights are
    /// expanded to float32 when prepared, `stored_weights`) 2.21 / 2.20 s.
    fn size_for(bytes: usize) -> usize {
        bytes / 2
    }

    /// A block of `bytes` (none if that much cannot be had: the preparation allocates as it goes).
    fn reserve(bytes: usize) -> WarmMemory {
        let mut block = Vec::new();
        let _ = block.try_reserve_exact(bytes);
        WarmMemory { block, touched: 0 }
    }

    /// Writes the next `bytes` of the block, one byte per page.
    fn touch(&mut self, bytes: usize) {
        let end = (self.touched + bytes).min(self.block.capacity());
        let base = self.block.as_mut_ptr();
        let mut at = self.touched.next_multiple_of(PAGE);
        while at < end {
            // SAFETY: `at` is within the block's capacity; the bytes are never read as values.
            unsafe { base.add(at).write_volatile(0) };
            at += PAGE;
        }
        self.touched = end;
    }
}

/// sha256 of a stream of chunks: `NetworkBytes`'s, and the browser's hashing worker's
/// (`src/wasm_hasher.rs`).
#[derive(Default)]
pub struct StreamDigest(Sha256);

impl StreamDigest {
    pub fn of(bytes: &[u8]) -> StreamDigest {
        StreamDigest(Sha256::new_with_prefix(bytes))
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    /// Lowercase hex of the bytes so far.
    pub fn hex(&self) -> String {
        hex(&self.0.clone().finalize())
    }

    /// Lowercase hex; starts over.
    pub fn finish(&mut self) -> String {
        hex(&std::mem::take(&mut self.0).finalize())
    }
}

pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_memory_is_written_as_far_as_the_bytes_that_came_and_no_further() {
        let size = 5 * PAGE + 100;
        let mut warm = WarmMemory::reserve(size);
        assert!(warm.block.capacity() >= size);
        let capacity = warm.block.capacity();
        warm.touch(PAGE + 1);
        assert_eq!(warm.touched, PAGE + 1);
        warm.touch(3 * PAGE);
        assert_eq!(warm.touched, 4 * PAGE + 1);
        warm.touch(10 * PAGE); // more than is left: stops at the end of the block
        assert_eq!(warm.touched, capacity);
        warm.touch(PAGE);
        assert_eq!(warm.touched, capacity);
        assert!(WarmMemory::reserve(usize::MAX).block.capacity() == 0, "too much to have: no block, no error");
    }

    #[test]
    fn chunked_and_whole_digests_agree() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut chunked = NetworkBytes::with_capacity(10);
        for piece in data.chunks(4093) {
            chunked.push(piece);
        }
        let (contents, digest) = chunked.finish();
        assert_kept_or_decoded(contents, &data);
        let mut partial = NetworkBytes::with_capacity(0);
        partial.push(&data[..10]);
        assert_eq!(partial.sha256_hex(), NetworkBytes::from_vec(data[..10].to_vec()).finish().1);
        assert_eq!(digest, NetworkBytes::from_vec(data).finish().1);
        assert_eq!(
            NetworkBytes::from_vec(b"abc".to_vec()).finish().1,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn digest_computed_elsewhere() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let expected = NetworkBytes::from_vec(data.clone()).finish().1;
        let mut stream = StreamDigest::default();
        let mut unhashed = NetworkBytes::unhashed_with_capacity(0);
        for piece in data.chunks(999) {
            stream.push(piece);
            unhashed.push(piece);
        }
        assert_eq!(unhashed.sha256_hex(), "", "no digest here");
        let digest = stream.finish();
        assert_eq!(digest, expected);
        assert_ne!(stream.finish(), expected, "finish starts over");
        assert_kept_or_decoded(unhashed.into_contents(), &data);
    }

    #[test]
    fn a_size_announced_wrongly_is_not_a_crash() {
        let data: Vec<u8> = (0..3_000u32).map(|i| (i * 17 % 251) as u8).collect();
        let mut buffer = NetworkBytes::with_capacity(usize::MAX / 4); // more than any machine has
        for piece in data.chunks(700) {
            buffer.push(piece);
        }
        assert_eq!(buffer.len(), data.len());
        assert_kept_or_decoded(buffer.finish().0, &data);
    }

    /// A streamed download that is no tar: its bytes, or with the engine, handed to the ONNX
    /// decoder as they came (whose own tests check what it makes of them).
    fn assert_kept_or_decoded(contents: NetworkContents, data: &[u8]) {
        match contents {
            NetworkContents::Bytes(bytes) => {
                assert!(!cfg!(feature = "engine"), "with the engine, streamed bytes are decoded");
                assert_eq!(bytes, data);
            }
            #[cfg(feature = "engine")]
            NetworkContents::Onnx(_) => {}
            #[cfg(feature = "engine")]
            NetworkContents::Nnef(_) => panic!("not a tar, yet decoded as one"),
        }
    }
}
