//! Feature collision (Shafahi et al., "Poison Frogs!"): a targeted clean-label poison. Images of a
//! base class are moved, close to themselves in pixel space, until the surrogate's penultimate
//! features collide with those of one chosen test image (the target); trained on with their
//! correct base-class label, they pull the target across the decision boundary into the base
//! class. A faint copy of the target blended into each base (watermarking, the paper's opacity)
//! makes the collision reachable.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::set::{PoisonedSet, check_class, check_enough, draw, target_image};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::runtime::readback::{read_all_f32, read_f32};

/// Settings of [`feature_collision`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureCollisionConfig {
    /// The class the target should be classified as; the poisons are its images.
    pub base_class: usize,
    /// How many poisons.
    pub poisons: usize,
    /// Opacity of the target blended into each base, in [0, 1) (the paper uses 0.3).
    pub opacity: f32,
    /// β₀ of the paper: the pixel-space penalty is β = β₀·2048²/d² for d input values.
    pub beta0: f32,
    /// Forward–backward iterations.
    pub steps: usize,
    /// Largest change of one pixel on the first step; the step halves whenever the objective
    /// rises, as in the paper.
    pub first_step: f32,
    /// Seed of the choice of bases.
    pub seed: u64,
}

impl Default for FeatureCollisionConfig {
    fn default() -> Self {
        Self {
            base_class: 0,
            poisons: 50,
            opacity: 0.3,
            beta0: 0.25,
            steps: 200,
            first_step: 0.1,
            seed: 1,
        }
    }
}

impl FeatureCollisionConfig {
    /// Refuse settings that cannot poison `train`.
    pub fn validate(&self, train: &Dataset) -> Result<()> {
        check_class(self.base_class, train, "base class")?;
        let usable = (0.0..1.0).contains(&self.opacity)
            && self.beta0.is_finite()
            && self.beta0 >= 0.0
            && self.first_step.is_finite()
            && self.first_step > 0.0
            && self.steps > 0
            && self.poisons > 0;
        if !usable {
            return Err(Error::InvalidArgument(
                "feature collision needs an opacity in [0, 1), β₀ ≥ 0, a positive first step, \
                 at least one step and one poison"
                    .into(),
            ));
        }
        check_enough(
            train,
            self.poisons,
            self.base_class,
            true,
            "base-class images",
        )
    }
}

/// How close the poisons came to the target in feature space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollisionReport {
    /// Mean ‖f(x) − f(t)‖ over the poisons before optimising (after watermarking).
    pub start_distance: f64,
    /// The same after the last iteration.
    pub end_distance: f64,
    /// The objective ‖f(x) − f(t)‖² + β‖x − b‖², summed over the poisons, at every iteration.
    pub objective: Vec<f64>,
}

/// `‖f(x) − f(t)‖²` per poison `[m]` (features `[m, d]` against the target's `[1, d]`).
fn feature_gap(features: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let m = features.dims()[0];
    (features - target).powi_scalar(2).sum_dim(1).reshape([m])
}

/// Craft `config.poisons` poisons from the base class of `train` against `surrogate`, aimed at
/// `target` (one image's bytes, the training set's shape).
pub async fn feature_collision(
    train: &Dataset,
    surrogate: &Sequential,
    target: &[u8],
    config: &FeatureCollisionConfig,
    device: &Device,
) -> Result<(PoisonedSet, CollisionReport)> {
    config.validate(train)?;
    let shape = train.image_shape();
    let size = shape.iter().product::<usize>();
    let target_image = target_image(train, target, device)?;
    let candidates = (0..train.len())
        .filter(|&i| usize::from(train.labels()[i]) == config.base_class)
        .collect();
    let chosen = draw(candidates, config.poisons, config.seed, "base-class images")?;
    let m = chosen.len();
    let dims = [m, shape[0], shape[1], shape[2]];
    let target_features = surrogate.features(target_image.clone())?.detach();
    let (bases, _) = train.batch(&chosen, device)?;
    let opacity = config.opacity;
    let bases = (bases * (1.0 - opacity) + target_image.expand(dims) * opacity).detach();
    let beta = config.beta0 * (2048.0 / size as f32).powi(2);

    // One forward pass per iteration gives the gradient at x and the objective there, which
    // decides whether the previous step overshot.
    let mut x = bases.clone();
    let mut objective = Vec::with_capacity(config.steps + 1);
    let (mut start_distance, mut end_distance) = (0.0, 0.0);
    let mut rate: Option<f32> = None;
    for step in 0..=config.steps {
        crate::runtime::pace::pause().await;
        let input = x.clone().detach().autodiff().require_grad();
        let gap = feature_gap(surrogate.features(input.clone())?, target_features.clone());
        let plain_gap = gap.clone().without_autodiff();
        let pixels = (x.clone() - bases.clone())
            .powi_scalar(2)
            .reshape([m, size])
            .sum_dim(1)
            .reshape([m]);
        let value = (plain_gap.clone() + pixels * beta).sum();
        let first_or_last = step == 0 || step == config.steps;
        let mut read = if first_or_last {
            read_all_f32(vec![value, plain_gap]).await?
        } else {
            read_all_f32(vec![value]).await?
        };
        let value = f64::from(read[0][0]);
        if objective.last().is_some_and(|&last| value > last)
            && let Some(r) = rate
        {
            rate = Some(r / 2.0);
        }
        objective.push(value);
        if step == 0 {
            start_distance = mean_sqrt(read.remove(1));
        }
        if step == config.steps {
            end_distance = mean_sqrt(read.remove(1));
            break;
        }
        // Forward step on the feature term.
        let grads = gap.sum().backward();
        let gradient = input
            .grad(&grads)
            .expect("the poisons require a gradient, so backward yields one");
        let lambda = match rate {
            Some(r) => r,
            None => {
                let largest = f64::from(read_f32(gradient.clone().abs().max()).await?[0]);
                let r = if largest > 0.0 {
                    (f64::from(config.first_step) / largest) as f32
                } else {
                    config.first_step
                };
                rate = Some(r);
                r
            }
        };
        let forward = x.clone() - gradient * lambda;
        // Backward (proximal) step on the pixel term, then back into the image range.
        x = ((forward + bases.clone() * (lambda * beta)) / (1.0 + lambda * beta)).clamp(0.0, 1.0);
    }
    let values = read_f32(x).await?;
    let label = config.base_class as u16;
    let changed = chosen
        .iter()
        .zip(values.chunks(size))
        .map(|(&i, v)| {
            let bytes = v.iter().map(|&p| (p * 255.0).round() as u8).collect();
            (i, bytes, label)
        })
        .collect();
    let set = PoisonedSet::from_changes(train, changed, None)?;
    Ok((
        set,
        CollisionReport {
            start_distance,
            end_distance,
            objective,
        },
    ))
}

/// The mean of the square roots.
fn mean_sqrt(values: Vec<f32>) -> f64 {
    values
        .iter()
        .map(|&v| f64::from(v.max(0.0)).sqrt())
        .sum::<f64>()
        / values.len().max(1) as f64
}
