//! The clean-label backdoor (Turner et al., "label-consistent backdoor attacks"): images of the
//! target class, made hard to classify by a bounded PGD perturbation against a surrogate model,
//! then stamped with the trigger. Labels stay correct, so a human reviewer sees nothing wrong;
//! a model that cannot learn these images from their content learns the trigger instead.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::set::{
    PoisonedSet, check_class, check_enough, check_epsilon, draw, poison_count, quantize_within,
};
use super::trigger::Trigger;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::runtime::readback::read_f32;
use crate::train::pgd_inner;

/// Settings of [`clean_label`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CleanLabelConfig {
    /// Fraction of the whole training set poisoned (all from the target class), in (0, 1].
    pub rate: f32,
    /// The target class: its images are poisoned, and triggered inputs should go to it.
    pub target: usize,
    /// The patch.
    pub trigger: Trigger,
    /// L∞ radius of the adversarial perturbation, in `[0, 1]` pixel units.
    pub epsilon: f32,
    /// PGD steps against the surrogate.
    pub steps: usize,
    /// PGD step size; `None` is 2.5·ε/steps.
    pub step_size: Option<f32>,
    /// Images per PGD batch.
    pub batch_size: usize,
    /// Seed of the choice of images.
    pub seed: u64,
}

impl Default for CleanLabelConfig {
    fn default() -> Self {
        Self {
            rate: 0.03,
            target: 0,
            trigger: Trigger::default(),
            epsilon: 0.3,
            steps: 40,
            step_size: None,
            batch_size: 256,
            seed: 1,
        }
    }
}

impl CleanLabelConfig {
    /// Refuse settings that cannot poison `train`.
    pub fn validate(&self, train: &Dataset) -> Result<()> {
        check_class(self.target, train, "target class")?;
        check_epsilon(self.epsilon)?;
        if self.steps == 0 || self.batch_size == 0 {
            return Err(Error::InvalidArgument(
                "PGD needs at least one step and a batch of at least one image".into(),
            ));
        }
        self.trigger.validate(train.image_shape())?;
        let count = poison_count(self.rate, train.len())?;
        check_enough(
            train,
            count,
            self.target,
            true,
            "images of the target class",
        )
    }
}

/// Poison `train` against `surrogate`: a `rate` fraction of the training set, drawn from the
/// target class, perturbed by L∞ PGD (random start from the device's generator) to raise the
/// surrogate's loss on their true label, then stamped. Labels are unchanged; outside the patch
/// every pixel stays within ε of the clean image (checked, in whole 1/255 levels).
pub async fn clean_label(
    train: &Dataset,
    surrogate: &Sequential,
    config: &CleanLabelConfig,
    device: &Device,
) -> Result<PoisonedSet> {
    config.validate(train)?;
    let shape = train.image_shape();
    let count = poison_count(config.rate, train.len())?;
    let candidates = (0..train.len())
        .filter(|&i| usize::from(train.labels()[i]) == config.target)
        .collect();
    let chosen = draw(candidates, count, config.seed, "images of the target class")?;
    let step = config
        .step_size
        .unwrap_or(2.5 * config.epsilon / config.steps as f32);
    let size = shape.iter().product::<usize>();
    let label = config.target as u16;
    let mut changed = Vec::with_capacity(chosen.len());
    for batch in chosen.chunks(config.batch_size) {
        crate::runtime::pace::pause().await;
        let (images, labels) = train.batch(batch, device)?;
        let adversarial = pgd_inner(
            surrogate,
            images,
            labels,
            config.epsilon,
            config.steps,
            step,
        );
        let values = read_f32(adversarial).await?;
        for (&i, perturbed) in batch.iter().zip(values.chunks(size)) {
            let mut bytes = quantize_within(train.image_bytes(i), perturbed, config.epsilon);
            config.trigger.stamp(&mut bytes, shape)?;
            changed.push((i, bytes, label));
        }
    }
    PoisonedSet::from_changes(train, changed, Some(&config.trigger.covers(shape)?))
}
