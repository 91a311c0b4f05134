//! The network file's bytes, hashed as they arrive.
//!
//! The browser streams a download into this buffer chunk by chunk, so the bytes live once, in
//! wasm memory, and the sha256 is ready when the last chunk lands (no second pass over hundreds
//! of megabytes). Loading consumes it, so the bytes are freed as soon as they are decoded.

use sha2::{Digest, Sha256};

pub struct NetworkBytes {
    bytes: Vec<u8>,
    hasher: Sha256,
}

impl NetworkBytes {
    /// An empty buffer with room for `capacity` bytes (the manifest's or the server's size).
    pub fn with_capacity(capacity: usize) -> NetworkBytes {
        NetworkBytes { bytes: Vec::with_capacity(capacity), hasher: Sha256::new() }
    }

    /// Bytes read in one piece (native file reads).
    pub fn from_vec(bytes: Vec<u8>) -> NetworkBytes {
        let hasher = Sha256::new_with_prefix(&bytes);
        NetworkBytes { bytes, hasher }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.bytes.extend_from_slice(chunk);
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// sha256 (lowercase hex) of the bytes so far.
    pub fn sha256_hex(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }

    /// The bytes and their sha256 (lowercase hex).
    pub fn finish(self) -> (Vec<u8>, String) {
        (self.bytes, hex(&self.hasher.finalize()))
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
}
