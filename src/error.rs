//! One error type for the whole core; every message is meant to be shown to a person as is.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// model.json is missing, unreadable or inconsistent.
    Manifest(String),
    /// labels.json is unreadable or does not fit the manifest.
    Labels(String),
    /// The network file does not match the sha256 recorded in the manifest.
    Integrity { expected: String, actual: String },
    /// The network could not be loaded or does not fit the manifest.
    Network(String),
    /// The photo could not be decoded or has unusable dimensions.
    Image(String),
    /// Running the network failed.
    Inference(String),
    /// A file could not be read (native only).
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Manifest(m) => write!(f, "invalid model manifest: {m}"),
            Error::Labels(m) => write!(f, "invalid labels file: {m}"),
            Error::Integrity { expected, actual } => write!(
                f,
                "the network file is corrupt or was modified: its sha256 is {actual}, the manifest expects {expected}"
            ),
            Error::Network(m) => write!(f, "cannot load the network: {m}"),
            Error::Image(m) => write!(f, "cannot use this image: {m}"),
            Error::Inference(m) => write!(f, "classification failed: {m}"),
            Error::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
