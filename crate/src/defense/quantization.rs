//! Defensive input quantization (the paper's Eq. 12): pixels are rounded to `levels` values before
//! the classifier sees them. Rounding has a zero gradient almost everywhere, so gradient attacks
//! see nothing (gradient masking); BPDA (Athalye et al.) attacks it by treating the rounding as
//! the identity on the backward pass.

use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::model::Classifier;

/// How gradients flow through the rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientPath {
    /// The true derivative of rounding: zero almost everywhere (what a naive attacker sees).
    True,
    /// BPDA straight-through estimator: the forward pass rounds, the backward pass is the identity.
    StraightThrough,
}

/// A classifier behind input quantization to `levels` values in [0, 1].
#[derive(Debug, Clone)]
pub struct Quantized<M> {
    model: M,
    levels: u32,
    path: GradientPath,
}

impl<M: Classifier> Quantized<M> {
    /// Quantize inputs of `model` to `levels` ≥ 2 evenly spaced values in [0, 1].
    pub fn new(model: M, levels: u32) -> Result<Self> {
        if levels < 2 {
            return Err(Error::InvalidArgument(format!(
                "quantization needs at least 2 levels, got {levels}"
            )));
        }
        Ok(Self {
            model,
            levels,
            path: GradientPath::True,
        })
    }

    /// The same defended model as BPDA sees it: identical outputs, straight-through gradients.
    pub fn bpda(self) -> Self {
        Self {
            path: GradientPath::StraightThrough,
            ..self
        }
    }

    /// The number of levels.
    pub fn levels(&self) -> u32 {
        self.levels
    }

    /// Round `x` (in [0, 1]) to the nearest level, with this wrapper's gradient path.
    pub fn quantize(&self, x: Tensor<4>) -> Tensor<4> {
        let steps = (self.levels - 1) as f32;
        let rounded = x.clone().mul_scalar(steps).round().div_scalar(steps);
        match self.path {
            GradientPath::True => rounded,
            GradientPath::StraightThrough => x.clone() + (rounded - x).detach(),
        }
    }
}

impl<M: Classifier> Classifier for Quantized<M> {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.model.logits(self.quantize(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Identity;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn rounds_to_levels_and_refuses_fewer_than_two() {
        let d = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![0.0f32, 0.2, 0.26, 0.7, 1.0], [1, 1, 1, 5]),
            &d,
        );
        let q = Quantized::new(Identity, 5).unwrap();
        let out = q.logits(x).into_data().try_into_vec_as::<f32>().unwrap();
        assert_eq!(out, vec![0.0, 0.25, 0.25, 0.75, 1.0]);
        assert!(Quantized::new(Identity, 1).is_err());
    }
}
