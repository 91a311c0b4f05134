//! The network file's bytes with their sha256, checked against the manifest before loading.
//!
//! Natively the file is read whole and hashed in one pass. The browser does not use this type:
//! it hashes with WebCrypto on another thread while the network loads (www/lib/worker.js) and
//! checks the digest with `Bundle::check_sha256`.

use sha2::{Digest, Sha256};

pub struct NetworkBytes {
    bytes: Vec<u8>,
    sha256: String,
}

impl NetworkBytes {
    /// Bytes read in one piece (native file reads).
    pub fn from_vec(bytes: Vec<u8>) -> NetworkBytes {
        let sha256 = sha256_hex(&bytes);
        NetworkBytes { bytes, sha256 }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes and their sha256 (lowercase hex).
    pub fn finish(self) -> (Vec<u8>, String) {
        (self.bytes, self.sha256)
    }
}

/// sha256 (lowercase hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256() {
        assert_eq!(
            NetworkBytes::from_vec(b"abc".to_vec()).finish().1,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
