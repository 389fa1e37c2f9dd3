//! Randomized input transformations: Gaussian noise (as in randomized smoothing) and random
//! translation. Every forward pass draws afresh, so a single gradient is a noisy estimate; attack
//! such a model with EOT (`PgdConfig::eot_samples`), which averages the gradient over draws.

use std::cell::RefCell;

use burn::tensor::{Bool, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::rng::SplitMix64;

/// A classifier that sees `x + N(0, σ²)` shifted by up to `max_shift` pixels each way (zero fill),
/// with fresh draws per sample on every call. Draws come from a seeded host generator, so runs are
/// reproducible and every backend sees the same numbers.
#[derive(Debug)]
pub struct RandomizedInput<M> {
    model: M,
    sigma: f32,
    max_shift: usize,
    rng: RefCell<SplitMix64>,
}

impl<M: Classifier> RandomizedInput<M> {
    /// Wrap `model` with noise of standard deviation `sigma` ≥ 0 and shifts up to `max_shift`.
    pub fn new(model: M, sigma: f32, max_shift: usize, seed: u64) -> Result<Self> {
        if !sigma.is_finite() || sigma < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "noise σ must be finite and ≥ 0, got {sigma}"
            )));
        }
        Ok(Self {
            model,
            sigma,
            max_shift,
            rng: RefCell::new(SplitMix64::new(seed)),
        })
    }

    /// The noise level σ.
    pub fn sigma(&self) -> f32 {
        self.sigma
    }

    /// Restart the random draws from `seed`.
    pub fn reseed(&self, seed: u64) {
        *self.rng.borrow_mut() = SplitMix64::new(seed);
    }

    fn noise(&self, dims: [usize; 4], device: &burn::tensor::Device) -> Tensor<4> {
        let count: usize = dims.iter().product();
        let mut rng = self.rng.borrow_mut();
        let values: Vec<f32> = (0..count)
            .map(|_| rng.next_gaussian() * self.sigma)
            .collect();
        Tensor::from_data(TensorData::new(values, dims), device)
    }

    /// Shift each sample by its own offset along `axis` (2: rows, 3: columns), zero fill.
    fn shift(&self, x: Tensor<4>, axis: usize) -> Tensor<4> {
        let dims = x.dims();
        let n = dims[0];
        let s = self.max_shift;
        let offsets: Vec<usize> = {
            let mut rng = self.rng.borrow_mut();
            (0..n)
                .map(|_| ((rng.next_f32() * (2 * s + 1) as f32) as usize).min(2 * s))
                .collect()
        };
        let device = x.device();
        let size = dims[axis];
        let mut pad = [(0, 0); 4];
        pad[axis] = (s, s);
        let padded = x
            .clone()
            .pad(pad, burn::tensor::ops::PadMode::Constant(0.0));
        let mut out = x;
        for offset in 0..=2 * s {
            let chosen: Vec<bool> = offsets.iter().map(|&o| o == offset).collect();
            if !chosen.contains(&true) {
                continue;
            }
            let window = padded.clone().narrow(axis, offset, size);
            let mask = Tensor::<1, Bool>::from_data(TensorData::new(chosen, [n]), &device)
                .reshape([n, 1, 1, 1])
                .expand(dims);
            out = out.mask_where(mask, window);
        }
        out
    }

    /// One random draw of the transformation applied to `x`.
    pub fn transform(&self, x: Tensor<4>) -> Tensor<4> {
        let dims = x.dims();
        let x = if self.sigma > 0.0 {
            let noise = self.noise(dims, &x.device());
            x + noise
        } else {
            x
        };
        if self.max_shift > 0 {
            let x = self.shift(x, 2);
            self.shift(x, 3)
        } else {
            x
        }
    }
}

impl<M: Classifier> Classifier for RandomizedInput<M> {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.model.logits(self.transform(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Identity;
    use burn::tensor::Device;

    #[test]
    fn shifts_move_whole_images_with_zero_fill() {
        let d = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new((1..=9).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 3, 3]),
            &d,
        );
        let model = RandomizedInput::new(Identity, 0.0, 1, 5).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let y = model
                .logits(x.clone())
                .into_data()
                .try_into_vec::<f32>()
                .unwrap();
            // Every output is the 3×3 image moved by at most one pixel: the centre value 5 lands
            // somewhere unless both shifts are zero, and the sum drops only by whole edge rows.
            assert!(y.iter().all(|v| (0.0..=9.0).contains(v)));
            seen.insert(y.iter().map(|v| *v as i32).collect::<Vec<_>>());
        }
        assert_eq!(seen.len(), 9, "all 9 (dx, dy) offsets occur");
        assert!(seen.contains(&vec![1, 2, 3, 4, 5, 6, 7, 8, 9]));
        assert!(seen.contains(&vec![0, 0, 0, 0, 1, 2, 0, 4, 5]));
        assert!(RandomizedInput::new(Identity, f32::NAN, 0, 0).is_err());
    }

    #[test]
    fn noise_has_the_requested_spread_and_is_reproducible() {
        let d = Device::flex();
        let x = Tensor::<4>::zeros([4, 1, 50, 50], &d);
        let model = RandomizedInput::new(Identity, 0.5, 0, 9).unwrap();
        let a = model
            .logits(x.clone())
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let std = (a.iter().map(|v| v * v).sum::<f32>() / a.len() as f32).sqrt();
        assert!((std - 0.5).abs() < 0.02, "σ̂ = {std}");
        model.reseed(9);
        let b = model.logits(x).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(a, b);
    }
}
