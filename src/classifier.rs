//! The classifier: a bundle plus its loaded network, from RGBA pixels to the top-k classes.

use crate::bundle::Bundle;
use crate::error::Result;
use crate::network::Network;
use crate::network_bytes::{NetworkBytes, NetworkContents};
use crate::preprocess::{prepared, preprocess};
use crate::profile::{profile, Profile};
use crate::topk::{class_probabilities, top_k, Prediction};

/// Milliseconds from some fixed origin; injected because wasm32 has no `Instant`.
pub trait Clock {
    fn now_ms(&self) -> f64;
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Classification {
    pub top: Vec<Prediction>,
    /// Crop, resize and normalise.
    pub preprocess_ms: f64,
    /// Network run and top-k.
    pub inference_ms: f64,
}

pub struct Classifier {
    pub bundle: Bundle,
    network: Network,
}

/// A classifier whose network bytes' digest has not been checked yet (`Classifier::new_unverified`).
pub struct UnverifiedClassifier(Classifier);

impl UnverifiedClassifier {
    /// The classifier, if `sha256_hex` (the digest of the bytes it was loaded from) is the
    /// manifest's; the integrity error otherwise.
    pub fn verify(self, sha256_hex: String) -> Result<Classifier> {
        self.0.bundle.check_sha256(sha256_hex)?;
        Ok(self.0)
    }
}

impl Classifier {
    /// Verify the network bytes against the manifest's sha256, then load them (consuming the
    /// bytes, which are freed as soon as they are decoded).
    pub fn new(bundle: Bundle, network: NetworkBytes) -> Result<Classifier> {
        let contents = bundle.verify_network(network)?;
        let network = Network::load(contents, &bundle.manifest)?;
        Ok(Classifier { bundle, network })
    }

    /// Load network bytes whose sha256 is still being computed elsewhere (in the browser, the
    /// hashing worker on another core while this thread decodes and optimises): the result is
    /// usable only once `UnverifiedClassifier::verify` has accepted the digest. Bytes that fail
    /// to load are reported as they are; the caller checks their digest before trusting that.
    pub fn new_unverified(bundle: Bundle, contents: NetworkContents) -> Result<UnverifiedClassifier> {
        let network = Network::load(contents, &bundle.manifest)?;
        Ok(UnverifiedClassifier(Classifier { bundle, network }))
    }

    /// The loaded network (for profiling tools).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Raw network outputs for a photo (all `classes` of them, background included).
    pub fn outputs(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>> {
        self.network.run(&preprocess(rgba, width, height, &self.bundle.manifest.input)?)
    }

    /// Time per operator type over `runs` runs on a photo (see `profile`).
    pub fn profile(&self, rgba: &[u8], width: u32, height: u32, runs: usize, clock: &(dyn Clock + Sync)) -> Result<Profile> {
        let input = preprocess(rgba, width, height, &self.bundle.manifest.input)?;
        profile(&self.network, &input, runs, clock)
    }

    /// Raw network outputs for pixels already cropped and sized for the network.
    pub fn outputs_for_prepared(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>> {
        self.network.run(&prepared(rgba, width, height, &self.bundle.manifest.input)?)
    }

    pub fn classify(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        k: usize,
        clock: &dyn Clock,
    ) -> Result<Classification> {
        let t0 = clock.now_ms();
        let input = preprocess(rgba, width, height, &self.bundle.manifest.input)?;
        let t1 = clock.now_ms();
        let outputs = self.network.run(&input)?;
        let probabilities = class_probabilities(&outputs, &self.bundle.manifest.output);
        let top = top_k(&probabilities, &self.bundle.labels, k);
        let t2 = clock.now_ms();
        Ok(Classification { top, preprocess_ms: t1 - t0, inference_ms: t2 - t1 })
    }
}
