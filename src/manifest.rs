//! The model manifest (`model.json`): everything needed to feed a network correctly and to read
//! its answer. Parsing checks types (serde); `validate` checks meaning.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub network: NetworkFile,
    pub input: InputSpec,
    pub output: OutputSpec,
    /// File name (inside the bundle) of a JSON array of ImageNet-1k labels, index 0..999.
    pub labels: String,
    pub source: String,
    pub license: String,
    /// How the weights are stored, for smaller variants of a bundle (absent: fp32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weights>,
}

/// A smaller variant of another bundle (tools/weight_variants.py): the same network with its
/// weights stored in fewer bytes and expanded to f32 when the network is loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub storage: WeightStorage,
    /// Id of the fp32 bundle this one was made from.
    pub of: String,
    /// Size of that bundle's network file.
    pub fp32_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightStorage {
    Fp32,
    F16,
    Int8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkFile {
    pub file: String,
    pub format: NetworkFormat,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkFormat {
    Onnx,
    /// tract's NNEF (an uncompressed tar of `graph.nnef` and `.dat` tensors) of the network
    /// already decluttered for the manifest's input shape (`nnef-bundle`): loads without parsing
    /// protobuf or translating ONNX operators, and decluttering it again costs about half.
    Nnef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Name of the network's input tensor (informational; the single input is used).
    #[serde(default)]
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub channel_order: ChannelOrder,
    pub normalize: Normalize,
    pub resize: ResizeSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    NCHW,
    NHWC,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelOrder {
    RGB,
    BGR,
}

/// How 0..255 pixel values become network inputs. Exactly one form is given:
/// `{"mean": [r,g,b], "std": [r,g,b]}` in 0..255 units: value = (pixel - mean) / std;
/// `{"range": [lo, hi]}`: value = lo + pixel / 255 * (hi - lo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<[f32; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<[f32; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f32; 2]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResizeSpec {
    pub filter: Filter,
    /// Side of the centred square crop as a fraction of the photo's shorter side
    /// (0.875 = "resize shorter side to 256, crop 224").
    pub crop_fraction: f64,
    /// true: area-averaging when shrinking (like Pillow); false: plain interpolation with a
    /// fixed-size kernel (like TensorFlow's and OpenCV's resize).
    #[serde(default)]
    pub antialias: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    Nearest,
    Bilinear,
    /// Catmull-Rom (Keys cubic, a = -0.5).
    Bicubic,
    Lanczos3,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// Number of network outputs (1000, or 1001 with a leading background class).
    pub classes: usize,
    /// How many leading outputs are not ImageNet-1k classes (1 for background).
    pub label_offset: usize,
    pub activation: Activation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Raw scores: a softmax turns them into probabilities.
    Logits,
    /// The network already ends in a softmax.
    Probabilities,
}

/// Affine map applied to one channel: value = pixel * scale + offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelAffine {
    pub scale: f32,
    pub offset: f32,
}

impl Normalize {
    /// Per-channel (R, G, B) affine maps from 0..255 pixel values to network inputs.
    pub fn affine(&self) -> Result<[ChannelAffine; 3]> {
        match (self.mean, self.std, self.range) {
            (Some(mean), Some(std), None) => {
                if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                    return Err(Error::Manifest(format!("input.normalize.std must be positive, got {s}")));
                }
                if mean.iter().any(|m| !m.is_finite()) {
                    return Err(Error::Manifest("input.normalize.mean must be finite numbers".into()));
                }
                Ok([0, 1, 2].map(|c| ChannelAffine { scale: 1.0 / std[c], offset: -mean[c] / std[c] }))
            }
            (None, None, Some([lo, hi])) => {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(Error::Manifest(format!("input.normalize.range must be [low, high] with low < high, got [{lo}, {hi}]")));
                }
                Ok([ChannelAffine { scale: (hi - lo) / 255.0, offset: lo }; 3])
            }
            _ => Err(Error::Manifest(
                "input.normalize needs either \"mean\" and \"std\" (0..255 units) or \"range\" ([low, high])".into(),
            )),
        }
    }
}

impl Manifest {
    /// Parse and validate `model.json`.
    pub fn from_json(text: &str) -> Result<Manifest> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let manifest: Manifest = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let (path, inner) = (e.path().to_string(), e.into_inner());
            Error::Manifest(if inner.is_syntax() || inner.is_eof() {
                format!("model.json is not valid JSON ({inner})")
            } else if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            })
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn validate(&self) -> Result<()> {
        const MIN_CROP_FRACTION: f64 = 0.01;
        let bad = |m: String| Err(Error::Manifest(m));
        if self.format_version != FORMAT_VERSION {
            return bad(format!(
                "format_version {} is not supported (this build reads version {FORMAT_VERSION})",
                self.format_version
            ));
        }
        if self.id.is_empty() || self.name.is_empty() {
            return bad("id and name must not be empty".into());
        }
        let sha = &self.network.sha256;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return bad(format!("network.sha256 must be 64 lowercase hex digits, got {sha:?}"));
        }
        for (what, file) in [("network.file", &self.network.file), ("labels", &self.labels)] {
            if file.is_empty() || file.contains('/') || file.contains('\\') || file.starts_with('.') {
                return bad(format!("{what} must be a plain file name inside the bundle, got {file:?}"));
            }
        }
        let input = &self.input;
        const MAX_SIDE: u32 = 4096;
        if input.width == 0 || input.height == 0 || input.width > MAX_SIDE || input.height > MAX_SIDE {
            return bad(format!(
                "input size {}x{} is out of range (1..{MAX_SIDE})",
                input.width, input.height
            ));
        }
        // Below 1% no model makes sense, and a crop box of a tiny fraction of a pixel made the
        // resampler panic (found by fuzzing: crop_fraction 5e-191).
        let crop = input.resize.crop_fraction;
        if !(MIN_CROP_FRACTION..=1.0).contains(&crop) {
            return bad(format!("input.resize.crop_fraction must be in [{MIN_CROP_FRACTION}, 1], got {crop}"));
        }
        input.normalize.affine()?;
        let out = &self.output;
        if out.classes < 2 || out.label_offset >= out.classes {
            return bad(format!(
                "output.classes ({}) must exceed output.label_offset ({})",
                out.classes, out.label_offset
            ));
        }
        Ok(())
    }

    /// Number of real classes reported to users (outputs minus the offset ones).
    pub fn label_count(&self) -> usize {
        self.output.classes - self.output.label_offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const VALID: &str = r#"{
      "format_version": 1, "id": "m", "name": "M",
      "network": {"file": "model.onnx", "format": "onnx",
                  "sha256": "46e7a46250b4a8ca9f67a0d517d1a793953751d99ea6d11435b1dd7a721ce5ae", "bytes": 10},
      "input": {"width": 224, "height": 224, "layout": "NCHW", "channel_order": "RGB",
                "normalize": {"mean": [127, 127, 127], "std": [128, 128, 128]},
                "resize": {"filter": "bicubic", "crop_fraction": 0.875}},
      "output": {"classes": 1001, "label_offset": 1, "activation": "logits"},
      "labels": "labels.json", "source": "test", "license": "MIT"
    }"#;

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Manifest> {
        let mut v: serde_json::Value = serde_json::from_str(VALID).unwrap();
        edit(&mut v);
        Manifest::from_json(&v.to_string())
    }

    fn error_of(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        with(edit).unwrap_err().to_string()
    }

    #[test]
    fn valid_manifest_parses() {
        let m = Manifest::from_json(VALID).unwrap();
        assert_eq!(m.input.layout, Layout::NCHW);
        assert_eq!(m.input.resize.filter, Filter::Bicubic);
        assert!(!m.input.resize.antialias);
        assert_eq!(m.label_count(), 1000);
    }

    #[test]
    fn missing_field_is_named() {
        let e = error_of(|v| {
            v["input"].as_object_mut().unwrap().remove("width");
        });
        assert!(e.contains("missing field `width`"), "{e}");
    }

    #[test]
    fn wrong_types_are_reported() {
        assert!(error_of(|v| v["input"]["width"] = "224".into()).contains("invalid type"));
        assert!(error_of(|v| v["input"]["layout"] = "CHW".into()).contains("unknown variant"));
        assert!(error_of(|v| v["input"]["resize"]["filter"] = "cubic".into()).contains("unknown variant"));
        assert!(error_of(|v| v["network"]["format"] = "tflite".into()).contains("expected `onnx` or `nnef`"));
    }

    #[test]
    fn network_formats() {
        assert_eq!(with(|_| {}).unwrap().network.format, NetworkFormat::Onnx);
        assert_eq!(with(|v| v["network"]["format"] = "nnef".into()).unwrap().network.format, NetworkFormat::Nnef);
    }

    #[test]
    fn semantic_checks() {
        assert!(error_of(|v| v["format_version"] = 2.into()).contains("format_version 2"));
        assert!(error_of(|v| v["network"]["sha256"] = "abc".into()).contains("64 lowercase hex"));
        assert!(error_of(|v| v["network"]["file"] = "../x.onnx".into()).contains("plain file name"));
        assert!(error_of(|v| v["input"]["width"] = 0.into()).contains("out of range"));
        assert!(error_of(|v| v["input"]["resize"]["crop_fraction"] = 1.5.into()).contains("crop_fraction"));
        // Fuzzing found a panic in the resampler for crop boxes of ~1e-190 pixels.
        assert!(error_of(|v| v["input"]["resize"]["crop_fraction"] = 5e-191.into()).contains("[0.01, 1]"));
        assert!(error_of(|v| v["output"]["label_offset"] = 1001.into()).contains("must exceed"));
        assert!(error_of(|v| v["input"]["normalize"]["std"] = serde_json::json!([1, 0, 1])).contains("positive"));
        assert!(error_of(|v| v["input"]["normalize"] = serde_json::json!({"mean": [0, 0, 0]})).contains("either"));
        assert!(error_of(|v| v["input"]["normalize"] = serde_json::json!({"range": [1, -1]})).contains("low < high"));
    }

    #[test]
    fn normalize_affine_maps() {
        let ms = Normalize { mean: Some([127.0; 3]), std: Some([128.0; 3]), range: None };
        let a = ms.affine().unwrap()[0];
        assert_eq!(255.0 * a.scale + a.offset, 1.0);
        assert_eq!(127.0 * a.scale + a.offset, 0.0);
        let r = Normalize { mean: None, std: None, range: Some([-1.0, 1.0]) };
        let a = r.affine().unwrap()[2];
        assert_eq!(0.0 * a.scale + a.offset, -1.0);
        assert!((255.0 * a.scale + a.offset - 1.0).abs() < 1e-6);
    }
}
