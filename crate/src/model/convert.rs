//! Weights converted for shipping: checked against an architecture, stripped of what it does not
//! use, and written as SafeTensors in f32 or f16 (how the page's ImageNet model is made from
//! PyTorch's pickle).

use burn::tensor::Device;

use super::sequential::{StoredDtype, WeightMap, write_safetensors_as};
use super::{ModelSpec, Sequential};
use crate::error::Result;

/// `weights` (PyTorch names and layouts, e.g. from [`super::read_weights_file`]) as SafeTensors
/// stored as `dtype`, after checking that they build `spec` exactly (every tensor present with
/// its shape, nothing foreign; BatchNorm's `num_batches_tracked` dropped).
pub fn convert_weights(
    spec: &ModelSpec,
    weights: WeightMap,
    dtype: StoredDtype,
) -> Result<Vec<u8>> {
    let kept: WeightMap = weights
        .into_iter()
        .filter(|(name, _)| !name.ends_with("num_batches_tracked"))
        .collect();
    Sequential::from_weights(spec.clone(), kept.clone(), &Device::flex())?;
    write_safetensors_as(&kept, dtype)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::read_safetensors;

    #[test]
    fn f16_conversion_rounds_to_half_and_checks_the_architecture() {
        let spec = ModelSpec::named("mlp").unwrap();
        let mut weights = Sequential::random_weights(&spec, 3).unwrap();
        weights.insert("bn.num_batches_tracked".into(), (vec![], vec![7.0]));
        let f32_bytes = convert_weights(&spec, weights.clone(), StoredDtype::F32).unwrap();
        let f16_bytes = convert_weights(&spec, weights.clone(), StoredDtype::F16).unwrap();
        assert!(
            f16_bytes.len() * 10 < f32_bytes.len() * 6,
            "f16 about halves the file"
        );
        let back = read_safetensors(&f16_bytes).unwrap();
        assert!(!back.contains_key("bn.num_batches_tracked"));
        for (name, (shape, values)) in &back {
            let (want_shape, want) = &weights[name];
            assert_eq!(shape, want_shape);
            for (v, w) in values.iter().zip(want) {
                // Round to nearest: within half a unit in the last place of f16 (2^-11 relative).
                assert!(
                    (v - w).abs() <= w.abs() * 2f32.powi(-11) + 1e-7,
                    "{name}: {v} vs {w}"
                );
            }
        }
        assert_eq!(read_safetensors(&f32_bytes).unwrap().len(), back.len());
        // Wrong architecture, and a value f16 cannot hold: errors naming the tensor.
        let lenet = ModelSpec::named("lenet5").unwrap();
        assert!(convert_weights(&lenet, weights.clone(), StoredDtype::F16).is_err());
        let name = back.keys().next().unwrap().clone();
        weights.get_mut(&name).unwrap().1[0] = 1e6;
        let err = convert_weights(&spec, weights, StoredDtype::F16).unwrap_err();
        assert!(err.to_string().contains(&name), "{err}");
    }
}
