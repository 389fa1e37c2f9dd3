//! Gradient matching (Geiping et al., "Witches' Brew"): a targeted clean-label poison. Images of
//! the adversarial class get bounded perturbations chosen so that the training gradient they
//! produce points the way the gradient of "classify the target as the adversarial class" does;
//! a model trained on them takes steps that move the target there.
//!
//! The alignment is measured on the parameters of the final linear layer, where the gradient has
//! a closed form (`(softmax − onehot) ⊗ [features, 1]`), so its derivative with respect to the
//! poisons needs first-order autodiff only; Geiping et al. align the gradient over all
//! parameters, which needs second-order derivatives Burn's autodiff does not provide.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::set::{
    PoisonedSet, check_class, check_enough, check_epsilon, draw, quantize_within, target_image,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{Classifier, Layer, Sequential};
use crate::runtime::one_hot::one_hot_float;
use crate::runtime::readback::read_f32;
use crate::runtime::rng::SplitMix64;

/// Settings of [`gradient_matching`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradientMatchingConfig {
    /// The class the target should be classified as; the poisons are its images.
    pub adversarial_class: usize,
    /// How many poisons.
    pub poisons: usize,
    /// L∞ radius of each poison's perturbation, in `[0, 1]` pixel units.
    pub epsilon: f32,
    /// Signed-gradient steps per restart.
    pub steps: usize,
    /// Random restarts; the best alignment is kept.
    pub restarts: usize,
    /// Step size as a fraction of ε (it decays linearly to a tenth over the steps).
    pub step_fraction: f32,
    /// Seed of the choice of poisons and of the restarts' starting points.
    pub seed: u64,
}

impl Default for GradientMatchingConfig {
    fn default() -> Self {
        Self {
            adversarial_class: 0,
            poisons: 50,
            epsilon: 0.1,
            steps: 100,
            restarts: 2,
            step_fraction: 0.1,
            seed: 1,
        }
    }
}

impl GradientMatchingConfig {
    /// Refuse settings that cannot poison `train`.
    pub fn validate(&self, train: &Dataset) -> Result<()> {
        check_class(self.adversarial_class, train, "adversarial class")?;
        check_epsilon(self.epsilon)?;
        if self.steps == 0
            || self.restarts == 0
            || self.poisons == 0
            || !(self.step_fraction.is_finite() && self.step_fraction > 0.0)
        {
            return Err(Error::InvalidArgument(
                "gradient matching needs at least one step, restart and poison, and a positive \
                 step"
                    .into(),
            ));
        }
        check_enough(
            train,
            self.poisons,
            self.adversarial_class,
            true,
            "adversarial-class images",
        )
    }
}

/// How well the poisons' gradient matches the target's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchingReport {
    /// Cosine similarity of the clean poisons' gradient with the target's.
    pub start_alignment: f64,
    /// The same for the poisons kept (before their rounding to 8-bit pixels).
    pub end_alignment: f64,
    /// Each restart's final alignment.
    pub restarts: Vec<f64>,
}

/// The final layer's parameter gradient of the summed cross-entropy, flattened: `[c·(d+1)]`.
fn last_layer_gradient(
    model: &Sequential,
    x: Tensor<4>,
    labels: Tensor<1, Int>,
) -> Result<Tensor<1>> {
    let features = model.features(x.clone())?;
    let [m, d] = features.dims();
    let logits = model.logits(x);
    let classes = logits.dims()[1];
    let residual = softmax(logits, 1) - one_hot_float::<1, 2>(labels, classes);
    let ones = Tensor::<2>::ones([m, 1], &features.device());
    let augmented = Tensor::cat(vec![features, ones], 1);
    Ok(residual
        .transpose()
        .matmul(augmented)
        .reshape([classes * (d + 1)]))
}

fn cosine(a: Tensor<1>, b: Tensor<1>) -> Tensor<1> {
    let norm = |t: Tensor<1>| t.powi_scalar(2).sum().sqrt();
    (a.clone() * b.clone()).sum() / (norm(a) * norm(b) + 1e-12)
}

/// Craft `config.poisons` poisons from the adversarial class of `train` against `surrogate`,
/// aimed at making `target` (one image's bytes) classified as the adversarial class. Labels are
/// unchanged and every pixel stays within ε of its clean value.
pub async fn gradient_matching(
    train: &Dataset,
    surrogate: &Sequential,
    target: &[u8],
    config: &GradientMatchingConfig,
    device: &Device,
) -> Result<(PoisonedSet, MatchingReport)> {
    config.validate(train)?;
    let shape = train.image_shape();
    let size = shape.iter().product::<usize>();
    let target_image = target_image(train, target, device)?;
    if !matches!(surrogate.layers().last(), Some(Layer::Linear { .. })) {
        return Err(Error::InvalidArgument(
            "gradient matching needs a surrogate whose last layer is linear".into(),
        ));
    }
    let candidates = (0..train.len())
        .filter(|&i| usize::from(train.labels()[i]) == config.adversarial_class)
        .collect();
    let chosen = draw(
        candidates,
        config.poisons,
        config.seed,
        "adversarial-class images",
    )?;
    let m = chosen.len();
    let dims = [m, shape[0], shape[1], shape[2]];
    let (clean, labels) = train.batch(&chosen, device)?;
    let adversarial = Tensor::<1, Int>::from_data(
        TensorData::new(vec![config.adversarial_class as i64], [1]),
        device,
    );
    let wanted = last_layer_gradient(surrogate, target_image, adversarial)?.detach();
    let alignment_of = |x: Tensor<4>| -> Result<Tensor<1>> {
        Ok(cosine(
            last_layer_gradient(surrogate, x, labels.clone())?,
            wanted.clone(),
        ))
    };
    let start_alignment = f64::from(read_f32(alignment_of(clean.clone())?).await?[0]);
    let eps = config.epsilon;
    let low = (clean.clone() - eps).clamp_min(0.0);
    let high = (clean.clone() + eps).clamp_max(1.0);
    let mut rng = SplitMix64::new(config.seed ^ 0x5eed);
    let mut best: Option<(f64, Tensor<4>)> = None;
    let mut restarts = Vec::new();
    for _ in 0..config.restarts {
        let start: Vec<f32> = (0..m * size)
            .map(|_| (2.0 * rng.next_f32() - 1.0) * eps)
            .collect();
        let start = Tensor::<4>::from_data(TensorData::new(start, dims), device);
        let mut x = (clean.clone() + start)
            .max_pair(low.clone())
            .min_pair(high.clone());
        for step in 0..config.steps {
            crate::runtime::pace::pause().await;
            let input = x.clone().detach().autodiff().require_grad();
            let loss = -alignment_of(input.clone())?;
            let grads = loss.backward();
            let gradient = input
                .grad(&grads)
                .expect("the poisons require a gradient, so backward yields one");
            let decay = 1.0 - 0.9 * step as f32 / config.steps as f32;
            x = (x - gradient.sign() * (config.step_fraction * eps * decay))
                .max_pair(low.clone())
                .min_pair(high.clone());
        }
        let alignment = f64::from(read_f32(alignment_of(x.clone())?).await?[0]);
        restarts.push(alignment);
        if best.as_ref().is_none_or(|(b, _)| alignment > *b) {
            best = Some((alignment, x));
        }
    }
    let (end_alignment, x) = best.expect("at least one restart ran");
    let values = read_f32(x).await?;
    let label = config.adversarial_class as u16;
    let changed = chosen
        .iter()
        .zip(values.chunks(size))
        .map(|(&i, v)| (i, quantize_within(train.image_bytes(i), v, eps), label))
        .collect();
    let set = PoisonedSet::from_changes(train, changed, None)?;
    Ok((
        set,
        MatchingReport {
            start_alignment,
            end_alignment,
            restarts,
        },
    ))
}
