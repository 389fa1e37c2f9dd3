//! Training in the core, natively and in the browser (no `burn-train`): a step-at-a-time
//! [`Trainer`] the page can drive between animation frames, and [`train`], the loop the CLI runs.
//! Objectives: standard, Madry PGD adversarial, IBP (Gowal et al.) and Gaussian noise.
//! Deterministic from the seed: the shuffle and the initial weights come from it here, and the
//! random PGD starts and noise from the device's generator, which the caller seeds (`Device::seed`)
//! and nothing else may draw from during the run (threads sharing a device would interleave).

mod checkpoint;
mod objective;
mod preset;
mod schedule;

pub use checkpoint::Checkpoint;
pub use objective::{Objective, pgd_inner};
pub use preset::{ObjectiveKind, ObjectiveOptions, quick_config};
pub use schedule::{Optimizer, Schedule};

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::TrainableNet;
use crate::runtime::readback::read_f32;
use crate::runtime::rng::SplitMix64;

/// Hyper-parameters of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// Base learning rate.
    pub learning_rate: f64,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// How the rate moves over the run.
    pub schedule: Schedule,
    /// What each step minimises.
    pub objective: Objective,
    /// Seed of the shuffle.
    pub seed: u64,
    /// Read the loss back every this many steps (each read is a device sync).
    pub report_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 2,
            batch_size: 64,
            learning_rate: 1e-3,
            optimizer: Optimizer::Adam,
            schedule: Schedule::Constant,
            objective: Objective::Standard,
            seed: 1,
            report_every: 50,
        }
    }
}

impl TrainConfig {
    /// Refuse settings that cannot train.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0
            || self.epochs == 0
            || !(self.learning_rate.is_finite() && self.learning_rate > 0.0)
        {
            return Err(Error::InvalidArgument(
                "epochs, batch size and learning rate must be positive".into(),
            ));
        }
        self.objective.validate()
    }
}

/// What one optimisation step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Epoch of this step, from 0.
    pub epoch: usize,
    /// Steps done so far over the whole run.
    pub step: usize,
    /// Steps the whole run takes.
    pub total_steps: usize,
    /// This step finished an epoch.
    pub epoch_done: bool,
    /// The batch loss, when this step was a reporting step.
    pub loss: Option<f32>,
    /// The learning rate used.
    pub learning_rate: f64,
}

/// A training run advanced one batch at a time.
pub struct Trainer {
    model: Option<TrainableNet>,
    optim: burn::optim::ModuleOptimizer,
    config: TrainConfig,
    rng: SplitMix64,
    order: Vec<usize>,
    cursor: usize,
    step: usize,
    total_steps: usize,
}

impl Trainer {
    /// A run over a training set of `train_len` images; `model` must live on an autodiff device.
    pub fn new(model: TrainableNet, train_len: usize, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        if train_len == 0 {
            return Err(Error::InvalidArgument("the training set is empty".into()));
        }
        let order: Vec<usize> = (0..train_len).collect();
        let total_steps = train_len.div_ceil(config.batch_size) * config.epochs;
        Ok(Self {
            model: Some(model),
            optim: config.optimizer.init(),
            rng: SplitMix64::new(config.seed),
            order,
            cursor: 0,
            step: 0,
            total_steps,
            config,
        })
    }

    /// Go on from `checkpoint` with `model` (the weights saved with it, on an autodiff device):
    /// the optimiser state, the step, the schedule's position and the shuffle continue.
    pub fn resume(model: TrainableNet, train_len: usize, checkpoint: &Checkpoint) -> Result<Self> {
        if model.spec() != &checkpoint.spec {
            return Err(Error::Mismatch(
                "the checkpoint was made for another architecture".into(),
            ));
        }
        if train_len != checkpoint.train_len {
            return Err(Error::Mismatch(format!(
                "the checkpoint was made on {} training images, not {train_len}",
                checkpoint.train_len
            )));
        }
        let mut trainer = Self::new(
            checkpoint::with_param_ids(model, &checkpoint.param_ids)?,
            train_len,
            checkpoint.config.clone(),
        )?;
        let per_epoch = train_len.div_ceil(trainer.config.batch_size);
        if checkpoint.step > trainer.total_steps || !checkpoint.step.is_multiple_of(per_epoch) {
            return Err(Error::format(
                "checkpoint",
                format!(
                    "step {} is not an epoch boundary of this run",
                    checkpoint.step
                ),
            ));
        }
        trainer.optim = trainer.optim.load_record(checkpoint.optimizer_record()?);
        // The shuffles of the epochs done, so the next epoch's order is the one it would have had.
        for _ in 0..checkpoint.step / per_epoch {
            trainer.rng.shuffle(&mut trainer.order);
        }
        trainer.step = checkpoint.step;
        Ok(trainer)
    }

    /// The run's state at this epoch boundary (weights apart: save them with
    /// [`TrainableNet::weights`]).
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        if self.cursor != 0 {
            return Err(Error::InvalidArgument(
                "a checkpoint is taken between epochs".into(),
            ));
        }
        Ok(Checkpoint {
            config: self.config.clone(),
            spec: self.model().spec().clone(),
            step: self.step,
            train_len: self.order.len(),
            param_ids: checkpoint::param_ids(self.model()),
            notes: serde_json::Value::Null,
            optimizer: Checkpoint::encode_optimizer(self.optim.to_record())?,
        })
    }

    /// Every step has run.
    pub fn finished(&self) -> bool {
        self.step >= self.total_steps
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The model as trained so far.
    pub fn model(&self) -> &TrainableNet {
        self.model
            .as_ref()
            .expect("the model is only taken during a step")
    }

    /// The trained model.
    pub fn into_model(mut self) -> TrainableNet {
        self.model
            .take()
            .expect("the model is only taken during a step")
    }

    /// One optimisation step on the next batch of `data` (the set given to [`Self::new`]).
    pub async fn step(&mut self, data: &Dataset, device: &Device) -> Result<StepReport> {
        crate::runtime::pace::pause().await;
        if self.finished() {
            return Err(Error::InvalidArgument("the run is finished".into()));
        }
        if !device.is_autodiff() {
            return Err(Error::InvalidArgument(
                "training needs an autodiff device".into(),
            ));
        }
        if data.len() != self.order.len() {
            return Err(Error::Mismatch(format!(
                "the run was set up for {} images, got {}",
                self.order.len(),
                data.len()
            )));
        }
        if self.cursor == 0 {
            self.rng.shuffle(&mut self.order);
        }
        let end = (self.cursor + self.config.batch_size).min(self.order.len());
        let (images, labels) = data.batch(&self.order[self.cursor..end], device)?;
        let epoch = self.step * self.config.epochs / self.total_steps;
        let progress = self.step as f32 / self.total_steps as f32;
        let learning_rate =
            self.config
                .schedule
                .rate(self.config.learning_rate, self.step, self.total_steps);
        let model = self
            .model
            .take()
            .expect("the model is only taken during a step");
        let result = self.config.objective.loss(
            &model.sequential(),
            &model.valid().sequential(),
            images,
            labels,
            progress,
        );
        let loss = match result {
            Ok(loss) => loss,
            Err(e) => {
                self.model = Some(model);
                return Err(e);
            }
        };
        self.step += 1;
        self.cursor = if end == self.order.len() { 0 } else { end };
        let report = self.step.is_multiple_of(self.config.report_every.max(1)) || self.finished();
        let loss_value = if report {
            Some(read_f32(loss.clone()).await?[0])
        } else {
            None
        };
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(learning_rate, model, grads));
        if let Some(loss) = loss_value
            && !loss.is_finite()
        {
            return Err(Error::InvalidArgument(format!(
                "training diverged at step {} (loss {loss}); lower the learning rate",
                self.step
            )));
        }
        Ok(StepReport {
            epoch,
            step: self.step,
            total_steps: self.total_steps,
            epoch_done: self.cursor == 0,
            loss: loss_value,
            learning_rate,
        })
    }
}

/// Train `model` (on the autodiff `device`) on `data` to the end of the run. `on_step` sees
/// every step and the model; returning `false` stops the run early with the model so far.
pub async fn train(
    model: TrainableNet,
    data: &Dataset,
    config: &TrainConfig,
    device: &Device,
    mut on_step: impl FnMut(&StepReport, &TrainableNet) -> Result<bool>,
) -> Result<TrainableNet> {
    let mut trainer = Trainer::new(model, data.len(), config.clone())?;
    while !trainer.finished() {
        let report = trainer.step(data, device).await?;
        if !on_step(&report, trainer.model())? {
            break;
        }
    }
    Ok(trainer.into_model())
}
