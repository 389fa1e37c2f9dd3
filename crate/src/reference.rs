//! Reference numbers committed under `tests/golden/` (made by independent references: PyTorch,
//! torchattacks, auto_LiRPA, scipy) and the comparison every backend's result must pass against
//! them. Behind the `reference` feature: tests use it, the library's users need not.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{ModelSpec, ParameterRole, WeightMap};
use crate::runtime::rng::SplitMix64;
use crate::zoo::DEFAULT_MNIST_WEIGHTS;

/// Loss, logits and input gradient of the default MNIST model on a few shipped test images,
/// computed by PyTorch (`tests/golden/gen_input_gradient.py`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputGradientReference {
    /// FNV-1a fingerprint of the weights the numbers were computed with.
    pub weights_fingerprint: String,
    /// Indices into the shipped MNIST test subset.
    pub image_indices: Vec<usize>,
    /// Mean cross-entropy over those images.
    pub loss: f32,
    /// Logits, `[n, 10]` row-major.
    pub logits: Vec<f32>,
    /// d loss / d images, `[n, 1, 28, 28]` row-major.
    pub gradient: Vec<f32>,
}

/// Largest absolute difference between two equally long slices (`inf` if lengths differ).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// 64-bit FNV-1a of `bytes`, as hex.
pub fn fingerprint(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a64(bytes))
}

/// `n` values in [0, 1) from SplitMix64 seeded with FNV-1a-64 of `name` (24 bits each, exact in
/// `f32`), as the golden generators draw them with numpy.
pub fn closed_form_uniform(name: &str, n: usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(fnv1a64(name.as_bytes()));
    (0..n).map(|_| rng.next_f32()).collect()
}

/// The weights the architecture goldens use (`tests/golden/gen_architectures.py`): every tensor
/// filled by a closed-form rule both Perturb and PyTorch compute, so that no large file is
/// committed. With u from [`closed_form_uniform`] of the tensor's name: weights (2u − 1)·√(6 /
/// fan_in) (He-uniform), biases 0.1·(2u − 1), batch norm's γ 1 + 0.25·(2u − 1), β and running
/// mean 0.1·(2u − 1), running variance 1 + 0.5·u.
pub fn closed_form_weights(spec: &ModelSpec) -> Result<WeightMap> {
    let mut map = WeightMap::new();
    for p in spec.parameters()? {
        let n = p.shape.iter().product();
        let u = closed_form_uniform(&p.name, n);
        let signed = u.iter().map(|u| 2.0 * u - 1.0);
        let values: Vec<f32> = match p.role {
            ParameterRole::Weight { fan_in } => {
                let bound = (6.0f32 / fan_in as f32).sqrt();
                signed.map(|t| t * bound).collect()
            }
            ParameterRole::NormWeight => signed.map(|t| 1.0 + 0.25 * t).collect(),
            ParameterRole::Bias { .. } | ParameterRole::NormBias | ParameterRole::NormMean => {
                signed.map(|t| 0.1 * t).collect()
            }
            ParameterRole::NormVariance => u.iter().map(|u| 1.0 + 0.5 * u).collect(),
        };
        map.insert(p.name, (p.shape, values));
    }
    Ok(map)
}

impl InputGradientReference {
    /// Fingerprint of the shipped default weights.
    pub fn default_weights_fingerprint() -> String {
        fingerprint(DEFAULT_MNIST_WEIGHTS)
    }

    /// Parse the committed JSON, refusing it if it was made with other weights.
    pub fn parse(json: &str) -> Result<Self> {
        let reference: Self = serde_json::from_str(json)
            .map_err(|e| Error::format("input-gradient reference", e.to_string()))?;
        if reference.weights_fingerprint != Self::default_weights_fingerprint() {
            return Err(Error::Mismatch(
                "golden file was computed with other weights: run tests/golden/gen_input_gradient.py".into(),
            ));
        }
        Ok(reference)
    }

    /// Check a result against the reference, element-wise to `tolerance`; the error names the
    /// largest deviation of each quantity.
    pub fn check(&self, loss: f32, logits: &[f32], gradient: &[f32], tolerance: f32) -> Result<()> {
        let deviations = [
            ("loss", max_abs_diff(&[self.loss], &[loss])),
            ("logits", max_abs_diff(&self.logits, logits)),
            ("gradient", max_abs_diff(&self.gradient, gradient)),
        ];
        match deviations
            .iter()
            .find(|(_, d)| d.is_nan() || *d > tolerance)
        {
            None => Ok(()),
            Some(_) => Err(Error::Mismatch(format!(
                "deviation from reference beyond {tolerance}: {deviations:?}"
            ))),
        }
    }
}

/// PyTorch's EfficientNet-Lite0 with the page's f16-rounded weights
/// (`tests/golden/gen_lite0_f16.py`): every sample's top-1, and two samples' prepared inputs
/// with their logits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Lite0Reference {
    /// Sample file names, in order.
    pub files: Vec<String>,
    /// Their true classes.
    pub labels: Vec<usize>,
    /// PyTorch's top-1 class of each.
    pub top1: Vec<usize>,
    /// Inputs fed as they are, with PyTorch's logits.
    pub pairs: Vec<Lite0Pair>,
}

/// One prepared sample and PyTorch's logits for it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Lite0Pair {
    /// Sample file name.
    pub file: String,
    /// `[3, 224, 224]` bytes, channel-major, base64.
    pub pixels_chw_base64: String,
    /// The 1,000 logits.
    pub logits: Vec<f32>,
}

impl Lite0Reference {
    /// The committed reference.
    pub fn load() -> Self {
        serde_json::from_str(include_str!("../../tests/golden/lite0_f16.json"))
            .expect("tests/golden/lite0_f16.json parses")
    }
}

impl Lite0Pair {
    /// The input as `[1, 3, 224, 224]` values in [0, 1].
    pub fn input(&self) -> Vec<f32> {
        base64_decode(&self.pixels_chw_base64)
            .into_iter()
            .map(|b| f32::from(b) / 255.0)
            .collect()
    }
}

/// Standard base64 (with `=` padding) decoded; other bytes are skipped.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let mut acc = 0u32;
        for (i, &s) in chunk.iter().enumerate() {
            acc |= u32::from(s) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_decode("TWFu"), b"Man");
        assert_eq!(base64_decode("TWE="), b"Ma");
        assert_eq!(base64_decode("TQ=="), b"M");
        assert_eq!(Lite0Reference::load().pairs[0].input().len(), 3 * 224 * 224);
    }
}
