//! The network file's bytes, hashed as they arrive.
//!
//! The browser streams a download into this buffer chunk by chunk, so the bytes live once, in
//! wasm memory, and the sha256 is ready when the last chunk lands (no second pass over hundreds
//! of megabytes). Loading consumes it, so the bytes are freed as soon as they are decoded.
//!
//! Or the digest is computed elsewhere (the browser's hashing worker, on another core, while this
//! buffer only copies) and checked by the caller (`UnverifiedClassifier`).

use sha2::{Digest, Sha256};

pub struct NetworkBytes {
    bytes: Vec<u8>,
    /// None for bytes hashed elsewhere (`unhashed_with_capacity`).
    digest: Option<StreamDigest>,
}

impl NetworkBytes {
    /// An empty buffer with room for `capacity` bytes (the manifest's or the server's size).
    pub fn with_capacity(capacity: usize) -> NetworkBytes {
        NetworkBytes { bytes: Vec::with_capacity(capacity), digest: Some(StreamDigest::default()) }
    }

    /// The same, for bytes hashed elsewhere: only `into_bytes` gives them (`finish` reports an
    /// empty digest, which matches no manifest).
    pub fn unhashed_with_capacity(capacity: usize) -> NetworkBytes {
        NetworkBytes { bytes: Vec::with_capacity(capacity), digest: None }
    }

    /// Bytes read in one piece (native file reads).
    pub fn from_vec(bytes: Vec<u8>) -> NetworkBytes {
        let digest = Some(StreamDigest::of(&bytes));
        NetworkBytes { bytes, digest }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if let Some(stream) = &mut self.digest {
            stream.push(chunk);
        }
        self.bytes.extend_from_slice(chunk);
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// sha256 (lowercase hex) of the bytes so far; empty for an unhashed buffer.
    pub fn sha256_hex(&self) -> String {
        self.digest.as_ref().map(StreamDigest::hex).unwrap_or_default()
    }

    /// The bytes alone, for a caller that checks their digest itself (`UnverifiedClassifier`).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes and their sha256 (lowercase hex; empty for an unhashed buffer).
    pub fn finish(self) -> (Vec<u8>, String) {
        let digest = self.digest.map(|mut stream| stream.finish()).unwrap_or_default();
        (self.bytes, digest)
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
    fn chunked_and_whole_digests_agree() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut chunked = NetworkBytes::with_capacity(10);
        for piece in data.chunks(4093) {
            chunked.push(piece);
        }
        let (bytes, digest) = chunked.finish();
        assert_eq!(bytes, data);
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
        assert_eq!(unhashed.into_bytes(), data);
    }
}
