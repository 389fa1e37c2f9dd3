//! Standard (ERM) training with Adam: deterministic from a seed, with a progress/cancel hook.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Device;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::loss::cross_entropy;
use crate::model::Classifier;
use crate::rng::SplitMix64;

/// Hyper-parameters of a training run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed of the shuffle (the weight initialisation is seeded on the device by the caller).
    pub seed: u64,
    /// Report the loss every this many steps (reading it back costs a device sync).
    pub report_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 2,
            batch_size: 64,
            learning_rate: 1e-3,
            seed: 1,
            report_every: 50,
        }
    }
}

/// Where a training run is, passed to the progress hook.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainProgress {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Steps done so far over the whole run.
    pub step: usize,
    /// Steps the whole run will take.
    pub total_steps: usize,
    /// Mean loss of the last reported step.
    pub loss: f32,
}

/// Train `model` (whose parameters live on an autodiff `device`) on `data` with cross-entropy.
/// `on_progress` is called every `report_every` steps and stops the run when it returns `false`.
pub fn train_erm<M>(
    mut model: M,
    data: &Dataset,
    config: &TrainConfig,
    device: &Device,
    mut on_progress: impl FnMut(TrainProgress) -> bool,
) -> Result<M>
where
    M: Module + Classifier,
{
    if config.batch_size == 0
        || config.epochs == 0
        || config.learning_rate.is_nan()
        || config.learning_rate <= 0.0
    {
        return Err(Error::InvalidArgument(
            "epochs, batch size and learning rate must be positive".into(),
        ));
    }
    if !device.is_autodiff() {
        return Err(Error::InvalidArgument(
            "training needs an autodiff device".into(),
        ));
    }
    let mut optim = AdamConfig::new().init();
    let mut rng = SplitMix64::new(config.seed);
    let batches_per_epoch = data.len().div_ceil(config.batch_size);
    let total_steps = batches_per_epoch * config.epochs;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut step = 0;
    for epoch in 0..config.epochs {
        rng.shuffle(&mut order);
        for batch in order.chunks(config.batch_size) {
            let (images, labels) = data.batch(batch, device)?;
            let loss = cross_entropy(model.logits(images), labels);
            step += 1;
            let report = step % config.report_every.max(1) == 0 || step == total_steps;
            let loss_value = if report {
                Some(
                    loss.clone()
                        .try_into_data()
                        .map_err(|e| Error::Device(e.to_string()))?
                        .try_into_vec_as::<f32>()
                        .map_err(|e| Error::Device(format!("{e:?}")))?[0],
                )
            } else {
                None
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);
            if let Some(loss) = loss_value {
                if !loss.is_finite() {
                    return Err(Error::InvalidArgument(format!(
                        "training diverged at step {step} (loss {loss}); lower the learning rate"
                    )));
                }
                let progress = TrainProgress {
                    epoch,
                    step,
                    total_steps,
                    loss,
                };
                if !on_progress(progress) {
                    return Ok(model);
                }
            }
        }
    }
    Ok(model)
}
