//! A model bundle: the manifest, the labels and (checked against the manifest) the network bytes.

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::network_bytes::{NetworkBytes, NetworkContents};

#[derive(Debug, Clone)]
pub struct Bundle {
    pub manifest: Manifest,
    /// ImageNet-1k labels, index 0..999 (background excluded).
    pub labels: Vec<String>,
}

impl Bundle {
    /// Build from the text of `model.json` and of the labels file it names.
    pub fn from_json(manifest_json: &str, labels_json: &str) -> Result<Bundle> {
        Bundle::new(Manifest::from_json(manifest_json)?, labels_json)
    }

    /// Build from a parsed manifest and the text of its labels file.
    pub fn new(manifest: Manifest, labels_json: &str) -> Result<Bundle> {
        let labels: Vec<String> = serde_json::from_str(labels_json)
            .map_err(|e| Error::Labels(format!("expected a JSON array of strings: {e}")))?;
        if labels.len() != manifest.label_count() {
            return Err(Error::Labels(format!(
                "{} labels, but the manifest has {} outputs with label offset {} ({} classes)",
                labels.len(),
                manifest.output.classes,
                manifest.output.label_offset,
                manifest.label_count()
            )));
        }
        Ok(Bundle { manifest, labels })
    }

    /// The network's contents, if the sha256 of its bytes is the manifest's; refused otherwise.
    pub fn verify_network(&self, network: NetworkBytes) -> Result<NetworkContents> {
        let (contents, actual) = network.finish();
        self.check_sha256(actual)?;
        Ok(contents)
    }

    /// Refuse a network whose sha256 (lowercase hex) is not the manifest's.
    pub fn check_sha256(&self, actual: String) -> Result<()> {
        if actual != self.manifest.network.sha256 {
            return Err(Error::Integrity { expected: self.manifest.network.sha256.clone(), actual });
        }
        Ok(())
    }

    /// Read a bundle folder (native only): the bundle and its network bytes (not yet verified).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_dir(dir: &std::path::Path) -> Result<(Bundle, NetworkBytes)> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))
        };
        let text = |name: &str| {
            String::from_utf8(read(name)?).map_err(|_| Error::Io(format!("{name} is not UTF-8 text")))
        };
        let manifest = Manifest::from_json(&text("model.json")?)?;
        let labels_json = text(&manifest.labels)?;
        let bundle = Bundle::new(manifest, &labels_json)?;
        let network = read(&bundle.manifest.network.file)?;
        Ok((bundle, NetworkBytes::from_vec(network)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(bytes: &[u8]) -> String {
        NetworkBytes::from_vec(bytes.to_vec()).finish().1
    }

    fn manifest(classes: usize, offset: usize, sha: &str) -> String {
        format!(
            r#"{{"format_version": 1, "id": "m", "name": "M",
            "network": {{"file": "model.onnx", "format": "onnx", "sha256": "{sha}", "bytes": 3}},
            "input": {{"width": 4, "height": 4, "layout": "NCHW", "channel_order": "RGB",
                      "normalize": {{"range": [0, 1]}}, "resize": {{"filter": "bilinear", "crop_fraction": 1}}}},
            "output": {{"classes": {classes}, "label_offset": {offset}, "activation": "logits"}},
            "labels": "labels.json", "source": "s", "license": "l"}}"#
        )
    }

    #[test]
    fn labels_must_match_class_count_minus_offset() {
        let sha = sha256_hex(b"abc");
        assert!(Bundle::from_json(&manifest(3, 1, &sha), r#"["a", "b"]"#).is_ok());
        let e = Bundle::from_json(&manifest(3, 0, &sha), r#"["a", "b"]"#).unwrap_err();
        assert!(e.to_string().contains("2 labels, but the manifest has 3 outputs"), "{e}");
        let e = Bundle::from_json(&manifest(3, 1, &sha), r#"{"a": 1}"#).unwrap_err();
        assert!(e.to_string().contains("JSON array of strings"), "{e}");
    }

    #[test]
    fn tampered_network_is_refused() {
        let sha = sha256_hex(b"abc");
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let bundle = Bundle::from_json(&manifest(3, 1, &sha), r#"["a", "b"]"#).unwrap();
        let verified = bundle.verify_network(NetworkBytes::from_vec(b"abc".to_vec())).unwrap();
        assert_eq!(verified.into_bytes().unwrap(), b"abc");
        let Err(e) = bundle.verify_network(NetworkBytes::from_vec(b"abd".to_vec())) else { panic!("accepted") };
        assert!(matches!(e, Error::Integrity { .. }));
        assert!(e.to_string().contains("corrupt or was modified"));
    }
}
