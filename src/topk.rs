//! Network output to the answer people see: probabilities, background removed, best k first.

use serde::Serialize;

use crate::manifest::{Activation, OutputSpec};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// ImageNet-1k class index, 0..999 (never the background class).
    pub index: usize,
    pub label: String,
    /// Softmax probability over all network outputs.
    pub score: f32,
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Probabilities of the real classes (the `label_offset` leading outputs dropped).
pub fn class_probabilities(output: &[f32], spec: &OutputSpec) -> Vec<f32> {
    let probs = match spec.activation {
        Activation::Logits => softmax(output),
        Activation::Probabilities => output.to_vec(),
    };
    probs[spec.label_offset..].to_vec()
}

/// The `k` most probable classes, best first; ties keep the lower index first.
pub fn top_k(probabilities: &[f32], labels: &[String], k: usize) -> Vec<Prediction> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    // NaN scores (a broken network) sort last instead of poisoning the order.
    order.sort_by(|&a, &b| {
        let (pa, pb) = (probabilities[a], probabilities[b]);
        pb.partial_cmp(&pa).unwrap_or_else(|| pa.is_nan().cmp(&pb.is_nan())).then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(k)
        .map(|i| Prediction { index: i, label: labels[i].clone(), score: probabilities[i] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("class {i}")).collect()
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && p[2] < 1e-30);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn background_is_dropped_and_indices_are_imagenet_1k() {
        let spec = OutputSpec { classes: 4, label_offset: 1, activation: Activation::Probabilities };
        // Background (output 0) is the most probable output, yet never reported.
        let probs = class_probabilities(&[0.7, 0.1, 0.15, 0.05], &spec);
        let top = top_k(&probs, &labels(3), 5);
        assert_eq!(top.iter().map(|p| p.index).collect::<Vec<_>>(), vec![1, 0, 2]);
        assert_eq!(top[0].label, "class 1");
        assert_eq!(top[0].score, 0.15);
    }

    #[test]
    fn ties_and_nans_are_ordered() {
        let top = top_k(&[0.2, f32::NAN, 0.5, 0.2], &labels(4), 4);
        assert_eq!(top.iter().map(|p| p.index).collect::<Vec<_>>(), vec![2, 0, 3, 1]);
    }
}
