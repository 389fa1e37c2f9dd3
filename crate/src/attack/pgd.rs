//! Projected gradient descent (Madry et al.; BIM without random start) and FGSM/FGM as its
//! one-step special case: L∞ and L2, random start, restarts keeping the strongest result per
//! sample, per-sample early stop, targeted mode, cross-entropy or margin loss. Every point a run
//! evaluates counts: a sample is broken if any iterate met the goal, not only the last.

use burn::tensor::{Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::finish::Final;
use super::objective::{AttackLoss, Setup, objective, succeeded};
use super::project::{Feasible, TINY, l2_norm, project};
use super::result::{AttackOutcome, AttackProgress, TraceStep};
use super::threat::{Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::gradient::expected_objective_gradient;
use crate::model::Classifier;
use crate::runtime::readback::read_all_f32;
use crate::runtime::rng::SplitMix64;

/// Settings of a PGD run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgdConfig {
    /// Gradient steps per restart.
    pub steps: usize,
    /// Step size α (L∞: per pixel; L2: Euclidean length of each step).
    pub step_size: f32,
    /// Start from a uniform point of the ball instead of the clean image.
    pub random_start: bool,
    /// Independent runs; each sample keeps its strongest adversarial.
    pub restarts: usize,
    /// Freeze a sample as soon as it meets the goal.
    pub early_stop: bool,
    /// The objective climbed.
    pub loss: AttackLoss,
    /// Seed of the random starts.
    pub seed: u64,
    /// Record batch means after every step.
    pub trace: bool,
    /// Read the recorded means back every this many steps (and after the last): each read is a
    /// round trip to the device, which dominates a small GPU step; 1 reports every step live.
    #[serde(default = "one")]
    pub trace_every: usize,
    /// Draws of a randomized model averaged per gradient (EOT, Eq. 16); 1 for a deterministic one.
    #[serde(default = "one")]
    pub eot_samples: usize,
}

fn one() -> usize {
    1
}

impl PgdConfig {
    /// FGSM (L∞) or FGM (L2): one step of length ε from the clean image.
    pub fn fgsm(threat: &ThreatModel) -> Self {
        Self {
            steps: 1,
            step_size: threat.epsilon(),
            random_start: false,
            restarts: 1,
            early_stop: false,
            loss: AttackLoss::CrossEntropy,
            seed: 0,
            trace: false,
            trace_every: 1,
            eot_samples: 1,
        }
    }

    /// PGD with `steps` steps of 2.5·ε/steps from a random start (Madry et al.).
    pub fn pgd(threat: &ThreatModel, steps: usize) -> Self {
        Self {
            steps,
            step_size: 2.5 * threat.epsilon() / steps.max(1) as f32,
            random_start: true,
            ..Self::fgsm(threat)
        }
    }

    fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.restarts == 0 || self.eot_samples == 0 {
            return Err(Error::InvalidArgument(
                "steps, restarts and EOT samples must be at least 1".into(),
            ));
        }
        if !self.step_size.is_finite() || self.step_size < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "step size must be a finite number ≥ 0, got {}",
                self.step_size
            )));
        }
        Ok(())
    }
}

/// A starting point drawn uniformly from the ε-ball (L∞), or at a uniform radius in a uniform
/// direction (L2), from the host generator so every backend draws the same numbers.
fn random_start(clean: &Tensor<4>, threat: &ThreatModel, rng: &mut SplitMix64) -> Tensor<4> {
    let dims = clean.dims();
    let count: usize = dims.iter().product();
    let eps = threat.epsilon();
    let device = clean.device();
    let delta = match threat.norm() {
        Norm::Linf => {
            let values: Vec<f32> = (0..count)
                .map(|_| (2.0 * rng.next_f32() - 1.0) * eps)
                .collect();
            Tensor::<4>::from_data(TensorData::new(values, dims), &device)
        }
        Norm::L2 => {
            let gaussian: Vec<f32> = (0..count).map(|_| rng.next_gaussian()).collect();
            let radii: Vec<f32> = (0..dims[0]).map(|_| rng.next_f32() * eps).collect();
            let direction = Tensor::<4>::from_data(TensorData::new(gaussian, dims), &device);
            let radii = Tensor::<4>::from_data(TensorData::new(radii, [dims[0], 1, 1, 1]), &device);
            direction.clone() / (l2_norm(direction) + TINY) * radii
        }
    };
    project(clean.clone() + delta, clean, threat)
}

/// Run PGD on `images` (`[n, c, h, w]` in the pixel range) with true `labels`.
///
/// `on_progress` is called after every step and cancels the attack when it returns `false`; the
/// strongest adversarials found so far are then returned with `cancelled` set.
pub async fn pgd(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &PgdConfig,
    mut on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    crate::runtime::readback::check_finite(&images).await?;
    config.validate()?;
    let Setup {
        clean,
        clean_correct,
        targeted,
        class,
        ..
    } = Setup::new(model, images, labels, threat)?;
    let dims = clean.dims();
    let n = dims[0];
    let device = clean.device();

    let repeated = class.clone().repeat_dim(0, config.eot_samples);
    let feasible = Feasible::new(&clean, threat);
    let mut rng = SplitMix64::new(config.seed);
    let total = config.steps * config.restarts;
    let mut trace = Vec::new();
    let mut pending = Vec::new();
    let mut cancelled = false;
    let mut best: Option<Candidate> = None;
    for restart in 0..config.restarts {
        let mut x = if config.random_start {
            random_start(&clean, threat, &mut rng)
        } else {
            clean.clone()
        };
        let mut active = Tensor::<1, Bool>::from_data(TensorData::new(vec![true; n], [n]), &device);
        let mut steps_used = Tensor::<1>::zeros([n], &device);
        // Best-iterate accounting: the first point of the run that met the goal, per sample.
        let mut hit = Tensor::<1, Bool>::from_data(TensorData::new(vec![false; n], [n]), &device);
        let mut first_hit = x.clone();
        let mut steps_taken = 0;
        for step in 1..=config.steps {
            crate::runtime::pace::pause().await;
            let (value, gradient, logits) =
                expected_objective_gradient(model, x.clone(), config.eot_samples, |logits| {
                    objective(logits, repeated.clone(), targeted, config.loss)
                });
            let success = succeeded(logits, class.clone(), targeted);
            let newly = success.clone().bool_and(hit.clone().bool_not());
            first_hit = first_hit.mask_where(newly.reshape([n, 1, 1, 1]).expand(dims), x.clone());
            hit = hit.bool_or(success.clone());
            if config.early_stop {
                active = active.bool_and(success.clone().bool_not());
            }
            let direction = match threat.norm() {
                Norm::Linf => gradient.sign(),
                Norm::L2 => gradient.clone() / (l2_norm(gradient) + TINY),
            };
            let stepped = feasible.project(x.clone() + direction * config.step_size);
            steps_taken = step;
            x = if config.early_stop {
                let mask = active.clone().reshape([n, 1, 1, 1]).expand(dims);
                steps_used = steps_used + active.clone().float();
                x.mask_where(mask, stepped)
            } else {
                stepped
            };
            let mut points = Vec::new();
            if config.trace {
                // The means stay on the device until a batch of them is read in one round trip.
                pending.push((restart, step, value.mean(), success.float().mean()));
                if pending.len() >= config.trace_every.max(1) || step == config.steps {
                    points = read_trace(&mut pending).await?;
                    trace.extend_from_slice(&points);
                }
            }
            let done = restart * config.steps + step;
            if !on_progress(AttackProgress {
                done,
                total,
                trace: points,
                queries: None,
            }) {
                // The points recorded but not read yet still belong to the trace.
                trace.extend(read_trace(&mut pending).await?);
                cancelled = true;
                break;
            }
        }
        if !config.early_stop {
            steps_used = Tensor::<1>::full([n], steps_taken as f32, &device);
        }
        let x = keep_hits(x, first_hit, hit, model, &class, targeted);
        let candidate = merge(best, x, model, &class, targeted, config.loss, steps_used);
        best = Some(candidate);
        if cancelled {
            break;
        }
    }
    let Candidate {
        x: adversarial,
        value,
        success,
        steps: steps_used,
    } = best.expect("at least one restart ran");

    Final {
        clean,
        adversarial,
        clean_correct,
        success,
        value,
        steps: steps_used,
    }
    .outcome(model, trace, cancelled)
    .await
}

/// Read the pending trace means (restart, step, mean objective, success rate) in one round trip.
async fn read_trace(
    pending: &mut Vec<(usize, usize, Tensor<1>, Tensor<1>)>,
) -> Result<Vec<TraceStep>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let (keys, tensors): (Vec<_>, Vec<_>) = pending
        .drain(..)
        .map(|(restart, step, loss, success)| ((restart, step), [loss, success]))
        .unzip();
    let means = read_all_f32(tensors.into_iter().flatten().collect()).await?;
    Ok(keys
        .into_iter()
        .enumerate()
        .map(|(i, (restart, step))| TraceStep {
            restart,
            step,
            mean_loss: means[2 * i][0],
            success_rate: means[2 * i + 1][0],
        })
        .collect())
}

/// A sample counts as broken if any point the run evaluated met the goal: where the end point
/// `x` does not but an earlier one did, that earlier point (`first_hit`) is the adversarial.
fn keep_hits(
    x: Tensor<4>,
    first_hit: Tensor<4>,
    hit: Tensor<1, Bool>,
    model: &impl Classifier,
    class: &Tensor<1, Int>,
    targeted: bool,
) -> Tensor<4> {
    let dims = x.dims();
    let logits = model.logits(x.clone()).without_autodiff();
    let end_fails = succeeded(logits, class.clone(), targeted).bool_not();
    let take = hit
        .bool_and(end_fails)
        .reshape([dims[0], 1, 1, 1])
        .expand(dims);
    x.mask_where(take, first_hit)
}

/// One restart's end point per sample, with its objective, success and steps taken.
struct Candidate {
    x: Tensor<4>,
    value: Tensor<1>,
    success: Tensor<1, Bool>,
    steps: Tensor<1>,
}

/// Keep, per sample, the stronger of the best-so-far and the restart that just ended: a success
/// beats a failure, and otherwise the higher objective wins.
fn merge(
    best: Option<Candidate>,
    x: Tensor<4>,
    model: &impl Classifier,
    class: &Tensor<1, Int>,
    targeted: bool,
    loss: AttackLoss,
    steps: Tensor<1>,
) -> Candidate {
    let logits = model.logits(x.clone()).without_autodiff();
    let value = objective(logits.clone(), class.clone(), targeted, loss);
    let success = succeeded(logits, class.clone(), targeted);
    let Some(best) = best else {
        return Candidate {
            x,
            value,
            success,
            steps,
        };
    };
    let newly = success.clone().bool_and(best.success.clone().bool_not());
    let higher = success
        .clone()
        .equal(best.success.clone())
        .bool_and(value.clone().greater(best.value.clone()));
    let better = newly.bool_or(higher);
    let dims = x.dims();
    let mask = better.clone().reshape([dims[0], 1, 1, 1]).expand(dims);
    Candidate {
        x: best.x.mask_where(mask, x),
        value: best.value.mask_where(better.clone(), value),
        success: best.success.mask_where(better.clone(), success),
        steps: best.steps.mask_where(better, steps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    /// One pixel x: class 0 (the label) wins except on 0.55 < x < 0.65, where class 2 does; the
    /// loss always rises with x (class 1's logit x − 3 never wins), so PGD walks straight through
    /// the window and out of it.
    struct Window;

    impl Classifier for Window {
        fn logits(&self, images: Tensor<4>) -> Tensor<2> {
            let [n, ..] = images.dims();
            let x = images.reshape([n, 1]);
            let inside = x.clone().greater_elem(0.55).float() * x.clone().lower_elem(0.65).float();
            let zero = x.zeros_like();
            Tensor::cat(vec![zero, x - 3.0, inside * 10.0 - 5.0], 1)
        }
    }

    #[test]
    fn an_earlier_iterate_that_fooled_the_model_counts() {
        let device = Device::flex();
        let image = Tensor::<4>::from_data(TensorData::new(vec![0.5f32], [1, 1, 1, 1]), &device);
        let threat = ThreatModel::new(Norm::Linf, 0.3).unwrap();
        // 0.5 (right) → 0.6 (fooled) → 0.7 → 0.8 (right again at the end).
        let config = PgdConfig {
            steps: 3,
            step_size: 0.1,
            random_start: false,
            ..PgdConfig::pgd(&threat, 3)
        };
        let out = crate::blocking::block_on(pgd(&Window, image, &[0], &threat, &config, |_| true))
            .unwrap();
        assert!(out.samples[0].success, "{:?}", out.samples[0]);
        assert_eq!(out.samples[0].predicted, 2);
        let x = out
            .adversarial
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap()[0];
        assert!(
            (x - 0.6).abs() < 1e-5,
            "the fooling iterate is reported, got {x}"
        );
    }
}
