//! The poisoned training set every attack returns: the images as the victim receives them, and
//! which of them were changed, how and how much, so training, evaluation, the detectors and the
//! page all read one description.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::runtime::rng::SplitMix64;

/// One changed training image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poison {
    /// Its index in the training set.
    pub index: usize,
    /// Its label before poisoning.
    pub label_before: u16,
    /// Its label as the victim sees it.
    pub label: u16,
    /// Largest change of one pixel, in `[0, 1]` units.
    pub linf: f32,
    /// Largest change of one pixel outside the trigger (for a bounded perturbation plus a
    /// stamped trigger, the part that must stay in the ε-ball); equal to `linf` without one.
    pub linf_outside_trigger: f32,
}

/// A training set with some images poisoned.
#[derive(Debug, Clone, PartialEq)]
pub struct PoisonedSet {
    /// The training set as the victim trains on it.
    pub data: Dataset,
    /// The changed images, by increasing index.
    pub poisons: Vec<Poison>,
}

impl PoisonedSet {
    /// `clean` with the images `changed` (index, new bytes, new label) swapped in; `covered`
    /// marks the values a trigger overwrote (none when the attack stamps no trigger).
    pub(crate) fn from_changes(
        clean: &Dataset,
        mut changed: Vec<(usize, Vec<u8>, u16)>,
        covered: Option<&[bool]>,
    ) -> Result<Self> {
        changed.sort_by_key(|c| c.0);
        let mut pixels = clean.pixels().to_vec();
        let mut labels = clean.labels().to_vec();
        let size = clean.image_shape().iter().product::<usize>();
        let mut poisons = Vec::with_capacity(changed.len());
        for (index, bytes, label) in changed {
            if bytes.len() != size {
                return Err(Error::Mismatch(format!(
                    "a poison of {} values for images of {size}",
                    bytes.len()
                )));
            }
            let before = clean.image_bytes(index);
            let mut linf = 0u8;
            let mut outside = 0u8;
            for (k, (&a, &b)) in before.iter().zip(&bytes).enumerate() {
                let d = a.abs_diff(b);
                linf = linf.max(d);
                if !covered.is_some_and(|c| c[k]) {
                    outside = outside.max(d);
                }
            }
            pixels[index * size..(index + 1) * size].copy_from_slice(&bytes);
            poisons.push(Poison {
                index,
                label_before: labels[index],
                label,
                linf: f32::from(linf) / 255.0,
                linf_outside_trigger: f32::from(outside) / 255.0,
            });
            labels[index] = label;
        }
        let data = Dataset::with_shape(clean.kind, clean.image_shape(), pixels, labels)?;
        Ok(Self { data, poisons })
    }

    /// Indices of the poisoned images.
    pub fn indices(&self) -> Vec<usize> {
        self.poisons.iter().map(|p| p.index).collect()
    }

    /// For every training image, whether it is poisoned.
    pub fn mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.data.len()];
        for p in &self.poisons {
            mask[p.index] = true;
        }
        mask
    }

    /// The fraction of the training set poisoned.
    pub fn rate(&self) -> f64 {
        self.poisons.len() as f64 / self.data.len().max(1) as f64
    }

    /// The set without the images `removed` (a detector's flags): what a defender retrains on.
    pub fn without(&self, removed: &[bool]) -> Result<Dataset> {
        if removed.len() != self.data.len() {
            return Err(Error::Mismatch(format!(
                "{} flags for {} training images",
                removed.len(),
                self.data.len()
            )));
        }
        let kept: Vec<usize> = (0..self.data.len()).filter(|&i| !removed[i]).collect();
        self.data.subset(&kept)
    }
}

/// How many images a poison `rate` of `len` is: at least one; refuses a rate outside (0, 1].
pub(crate) fn poison_count(rate: f32, len: usize) -> Result<usize> {
    if !(rate.is_finite() && rate > 0.0 && rate <= 1.0) {
        return Err(Error::InvalidArgument(format!(
            "the poison rate must be in (0, 1], got {rate}"
        )));
    }
    Ok(((f64::from(rate) * len as f64).round() as usize).max(1))
}

/// Refuse a class outside the dataset's.
pub(crate) fn check_class(class: usize, data: &Dataset, what: &str) -> Result<()> {
    let classes = data.kind.classes();
    if class >= classes {
        return Err(Error::InvalidArgument(format!(
            "the {what} {class} is outside the dataset's classes 0..{classes}"
        )));
    }
    Ok(())
}

/// Refuse `count` poisons from the `available` images of `class` (`same`: of that class, else of
/// the others), naming `what` they are.
pub(crate) fn check_enough(
    data: &Dataset,
    count: usize,
    class: usize,
    same: bool,
    what: &str,
) -> Result<()> {
    let available = data
        .labels()
        .iter()
        .filter(|&&l| (usize::from(l) == class) == same)
        .count();
    if count > available {
        return Err(Error::InvalidArgument(format!(
            "{count} poisons asked for but only {available} {what} in the training set"
        )));
    }
    Ok(())
}

/// `count` of `candidates` drawn without replacement by `seed`, or an error naming `what` when
/// there are too few.
pub(crate) fn draw(
    mut candidates: Vec<usize>,
    count: usize,
    seed: u64,
    what: &str,
) -> Result<Vec<usize>> {
    if count > candidates.len() {
        return Err(Error::InvalidArgument(format!(
            "{count} poisons asked for but only {} {what} in the training set",
            candidates.len()
        )));
    }
    SplitMix64::new(seed).shuffle(&mut candidates);
    candidates.truncate(count);
    candidates.sort_unstable();
    Ok(candidates)
}

/// Perturbed values in `[0, 1]` as bytes that stay within `epsilon` of `clean` (L∞, in `[0, 1]`
/// units): rounded, then clamped to the largest whole number of levels inside the ball, so the
/// stored poison keeps the bound rounding would otherwise break by half a level.
pub(crate) fn quantize_within(clean: &[u8], perturbed: &[f32], epsilon: f32) -> Vec<u8> {
    let levels = (f64::from(epsilon) * 255.0 + 1e-6)
        .floor()
        .clamp(0.0, 255.0) as i32;
    clean
        .iter()
        .zip(perturbed)
        .map(|(&c, &v)| {
            let c = i32::from(c);
            let v = (f64::from(v) * 255.0).round() as i32;
            v.clamp(c - levels, c + levels).clamp(0, 255) as u8
        })
        .collect()
}

/// The target image of a targeted poison (one image's bytes, the training set's shape) as a
/// `[1, c, h, w]` tensor in [0, 1], or an error when its size is not the training images'.
pub(crate) fn target_image(
    train: &Dataset,
    target: &[u8],
    device: &burn::tensor::Device,
) -> Result<burn::tensor::Tensor<4>> {
    let [c, h, w] = train.image_shape();
    if target.len() != c * h * w {
        return Err(Error::Mismatch(format!(
            "a target of {} values for training images of {}",
            target.len(),
            c * h * w
        )));
    }
    let values: Vec<f32> = target.iter().map(|&p| f32::from(p) / 255.0).collect();
    Ok(burn::tensor::Tensor::from_data(
        burn::tensor::TensorData::new(values, [1, c, h, w]),
        device,
    ))
}

/// Refuse a radius that is not a positive finite number at most 1.
pub(crate) fn check_epsilon(epsilon: f32) -> Result<()> {
    if !(epsilon.is_finite() && epsilon > 0.0 && epsilon <= 1.0) {
        return Err(Error::InvalidArgument(format!(
            "the poison's ε must be in (0, 1], got {epsilon}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_poisons_stay_in_their_ball() {
        let clean = [0u8, 100, 200, 255];
        let perturbed = [0.5f32, 0.0, 1.0, 0.0];
        // ε = 0.1 is 25.5 levels: 25 whole ones.
        assert_eq!(
            quantize_within(&clean, &perturbed, 0.1),
            vec![25, 75, 225, 230]
        );
    }

    #[test]
    fn rates_and_radii_outside_their_ranges_are_refused() {
        assert_eq!(poison_count(0.01, 60_000).unwrap(), 600);
        assert_eq!(poison_count(1e-9, 10).unwrap(), 1);
        for bad in [0.0, 1.01, f32::INFINITY] {
            assert!(poison_count(bad, 10).is_err());
            assert!(check_epsilon(bad).is_err());
        }
        assert!(check_epsilon(f32::NAN).is_err());
        assert!(check_epsilon(1.5).is_err());
    }
}
