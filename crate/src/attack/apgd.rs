//! Auto-PGD (Croce & Hein, 2020): PGD with momentum whose step size starts at 2ε and halves at
//! checkpoints when the loss stops rising, on cross-entropy or the DLR loss. APGD-T aims a
//! targeted loss at the k-th most likely class of the clean image while counting any
//! misclassification as a success. The schedule follows AutoAttack's reference implementation
//! (checkpoints after 22% of the steps, then shrinking by 3% down to 6%; ρ = 0.75; momentum 0.75),
//! including its first oscillation check, which compares the first step's loss with zero.

use burn::tensor::{Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::finish::Final;
use super::objective::{AttackLoss, Setup, class_logit, int_tensor, objective, ranked, succeeded};
use super::project::{Feasible, TINY, l2_norm, linf_norm};
use super::result::{AttackOutcome, AttackProgress, TraceStep};
use super::threat::{Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::gradient::expected_objective_gradient;
use crate::model::Classifier;
use crate::runtime::one_hot::one_hot_float;
use crate::runtime::readback::{read_all_f32, read_f32};
use crate::runtime::rng::SplitMix64;

/// Settings of an APGD run. The loss is cross-entropy or DLR (AutoAttack's two); the margin
/// works too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApgdConfig {
    /// Iterations per restart (AutoAttack: 100).
    pub steps: usize,
    /// Independent runs; each sample keeps its first success, or its highest loss.
    pub restarts: usize,
    /// The loss climbed.
    pub loss: AttackLoss,
    /// APGD-T: aim the loss at the `k`-th most likely class of the clean image (`k ≥ 2`) and count
    /// any misclassification. `None`: the threat model's goal decides.
    pub aim: Option<usize>,
    /// A checkpoint halves the step size unless the loss rose in more than this fraction of the
    /// steps since the last one.
    pub rho: f32,
    /// Start from a random point of the ball (off: from the clean image).
    pub random_start: bool,
    /// Seed of the random starts.
    pub seed: u64,
    /// Draws of a randomized model averaged per gradient (EOT; AutoAttack's `rand` version: 20).
    pub eot_samples: usize,
    /// Record batch means after every step (one readback per step).
    pub trace: bool,
}

impl Default for ApgdConfig {
    /// APGD-CE as AutoAttack runs it: 100 steps, one restart, ρ = 0.75, random start.
    fn default() -> Self {
        Self {
            steps: 100,
            restarts: 1,
            loss: AttackLoss::CrossEntropy,
            aim: None,
            rho: 0.75,
            random_start: true,
            seed: 0,
            eot_samples: 1,
            trace: false,
        }
    }
}

impl ApgdConfig {
    fn validate(&self, threat: &ThreatModel, classes: usize) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidArgument(why));
        if self.steps == 0 || self.restarts == 0 || self.eot_samples == 0 {
            return bad("steps, restarts and EOT samples must be at least 1".into());
        }
        if !(self.rho.is_finite() && self.rho > 0.0 && self.rho <= 1.0) {
            return bad(format!("rho must lie in (0, 1], got {}", self.rho));
        }
        if let Some(k) = self.aim {
            if !matches!(threat.goal(), super::threat::Goal::Untargeted) {
                return bad("APGD-T picks its own targets: use an untargeted threat model".into());
            }
            if k < 2 || k > classes {
                return bad(format!(
                    "APGD-T aims at the k-th most likely class, 2 ≤ k ≤ {classes}; got {k}"
                ));
            }
        }
        let targeted_dlr = self.loss == AttackLoss::Dlr
            && (self.aim.is_some() || !matches!(threat.goal(), super::threat::Goal::Untargeted));
        if targeted_dlr && classes < 4 {
            return bad(format!(
                "the targeted DLR loss needs at least 4 classes, the model has {classes}"
            ));
        }
        if self.loss == AttackLoss::Dlr && classes < 3 {
            return bad(format!(
                "the DLR loss needs at least 3 classes, the model has {classes}"
            ));
        }
        Ok(())
    }

    /// The checkpoint schedule: the first window, its decrease, and its floor.
    fn windows(&self) -> (usize, usize, usize) {
        let n = self.steps as f32;
        let at_least_one = |f: f32| ((f * n) as usize).max(1);
        (at_least_one(0.22), at_least_one(0.03), at_least_one(0.06))
    }
}

/// What APGD climbs, per sample.
#[derive(Clone)]
struct Loss {
    kind: AttackLoss,
    /// The true labels.
    labels: Tensor<1, Int>,
    /// The class aimed at, for a targeted loss.
    target: Option<Tensor<1, Int>>,
}

impl Loss {
    fn repeated(&self, samples: usize) -> Self {
        Self {
            kind: self.kind,
            labels: self.labels.clone().repeat_dim(0, samples),
            target: self.target.clone().map(|t| t.repeat_dim(0, samples)),
        }
    }

    fn value(&self, logits: Tensor<2>) -> Tensor<1> {
        let classes = logits.dims()[1];
        match (self.kind, &self.target) {
            (kind, None) => objective(logits, self.labels.clone(), false, kind),
            // AutoAttack's targeted DLR pulls the target's logit up against the true label's.
            (AttackLoss::Dlr, Some(t)) => {
                let z_y = class_logit(
                    logits.clone(),
                    one_hot_float::<1, 2>(self.labels.clone(), classes),
                );
                let z_t = class_logit(logits.clone(), one_hot_float::<1, 2>(t.clone(), classes));
                let (top, _) = ranked(logits, 4);
                let spread = top[0].clone() - (top[2].clone() + top[3].clone()) * 0.5 + 1e-12;
                (z_t - z_y) / spread
            }
            (kind, Some(t)) => objective(logits, t.clone(), true, kind),
        }
    }
}

/// Run APGD on `images` with true `labels`; `on_progress` after every step, `false` cancels.
pub async fn apgd(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &ApgdConfig,
    on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    run(model, images, labels, threat, config, None, on_progress).await
}

/// APGD whose first restart starts from `start` (AutoAttack's `x_init`; it must lie in the
/// threat model's feasible set), e.g. to continue another attack or to replay a reference run.
pub async fn apgd_from(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &ApgdConfig,
    start: Tensor<4>,
    on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    if start.dims() != images.dims() {
        return Err(Error::Mismatch(format!(
            "the start is {:?} but the images are {:?}",
            start.dims(),
            images.dims()
        )));
    }
    run(
        model,
        images,
        labels,
        threat,
        config,
        Some(start),
        on_progress,
    )
    .await
}

async fn run(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &ApgdConfig,
    mut given: Option<Tensor<4>>,
    mut on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    crate::runtime::readback::check_finite(&images).await?;
    let Setup {
        clean,
        clean_logits,
        clean_correct,
        targeted,
        class,
    } = Setup::new(model, images, labels, threat)?;
    let classes = clean_logits.dims()[1];
    config.validate(threat, classes)?;
    let device = clean.device();
    let label_tensor = int_tensor(labels, &device);
    let loss = Loss {
        kind: config.loss,
        labels: label_tensor,
        target: match config.aim {
            Some(k) => Some(ranked(clean_logits, k).1.pop().expect("k ≥ 2")),
            None if targeted => Some(class.clone()),
            None => None,
        },
    };

    // Each image draws its starts from its own generator, so a run on a subset of the batch
    // starts each image where the full run does.
    let mut streams = if config.random_start {
        let size: usize = clean.dims()[1..].iter().product();
        SplitMix64::per_image(&read_f32(clean.clone()).await?, size, config.seed)
    } else {
        Vec::new()
    };
    let total = config.steps * config.restarts;
    let mut trace = Vec::new();
    let mut cancelled = false;
    let mut best: Option<Run> = None;
    for restart in 0..config.restarts {
        let start = if let Some(start) = given.take() {
            Feasible::new(&clean, threat).project(start.without_autodiff())
        } else if config.random_start {
            random_start(&clean, threat, &mut streams)
        } else {
            clean.clone()
        };
        let run = single_run(
            model,
            &clean,
            start,
            threat,
            config,
            &loss,
            (&class, targeted),
            restart,
            &mut trace,
            &mut |p| on_progress(AttackProgress { total, ..p }),
        )
        .await?;
        cancelled = run.cancelled;
        best = Some(match best {
            None => run,
            Some(best) => best.merge(run),
        });
        if cancelled {
            break;
        }
    }
    let best = best.expect("at least one restart ran");
    let adversarial = best.output();
    let logits = model.logits(adversarial.clone()).without_autodiff();
    let success = succeeded(logits.clone(), class, targeted);
    let value = loss.value(logits);
    Final {
        clean,
        adversarial,
        clean_correct,
        success,
        value,
        steps: best.steps,
    }
    .outcome(model, trace, cancelled)
    .await
}

/// AutoAttack's random start: a uniform draw scaled so its largest pixel is ε (L∞), or a Gaussian
/// draw of length ε (L2), clamped to the pixel range.
fn random_start(clean: &Tensor<4>, threat: &ThreatModel, streams: &mut [SplitMix64]) -> Tensor<4> {
    let dims = clean.dims();
    let size: usize = dims[1..].iter().product();
    let values: Vec<f32> = streams
        .iter_mut()
        .flat_map(|rng| {
            (0..size)
                .map(|_| match threat.norm() {
                    Norm::Linf => 2.0 * rng.next_f32() - 1.0,
                    Norm::L2 => rng.next_gaussian(),
                })
                .collect::<Vec<f32>>()
        })
        .collect();
    let t = Tensor::<4>::from_data(TensorData::new(values, dims), &clean.device());
    let size = match threat.norm() {
        Norm::Linf => linf_norm(t.clone()).reshape([dims[0], 1, 1, 1]),
        Norm::L2 => l2_norm(t.clone()),
    };
    let (low, high) = threat.pixel_range();
    (clean.clone() + t / (size + TINY) * threat.epsilon()).clamp(low, high)
}

/// One restart's results, still on the device.
struct Run {
    /// The highest-loss point per sample.
    best: Tensor<4>,
    /// The latest point that met the goal, per sample.
    best_adv: Tensor<4>,
    /// Whether the goal was met at some step.
    found: Tensor<1, Bool>,
    /// The highest loss reached.
    loss_best: Tensor<1>,
    /// The step of the first success, or the steps run.
    steps: Tensor<1>,
    cancelled: bool,
}

impl Run {
    /// The adversarial per sample: a point that met the goal, else the highest-loss point.
    fn output(&self) -> Tensor<4> {
        let dims = self.best.dims();
        let mask = self.found.clone().reshape([dims[0], 1, 1, 1]).expand(dims);
        self.best.clone().mask_where(mask, self.best_adv.clone())
    }

    /// Keep, per sample, the earlier restart's success, else the later success, else the
    /// higher loss.
    fn merge(self, later: Run) -> Run {
        let dims = self.best.dims();
        let take = self.found.clone().bool_not().bool_and(
            later
                .found
                .clone()
                .bool_or(later.loss_best.clone().greater(self.loss_best.clone())),
        );
        let images = take.clone().reshape([dims[0], 1, 1, 1]).expand(dims);
        Run {
            best: self.best.mask_where(images.clone(), later.best),
            best_adv: self.best_adv.mask_where(images, later.best_adv),
            found: self.found.bool_or(later.found),
            loss_best: self.loss_best.mask_where(take.clone(), later.loss_best),
            steps: self.steps.mask_where(take, later.steps),
            cancelled: later.cancelled,
        }
    }
}

/// One APGD run from `start` (AutoAttack's `attack_single_run`).
#[allow(clippy::too_many_arguments)]
async fn single_run(
    model: &impl Classifier,
    clean: &Tensor<4>,
    start: Tensor<4>,
    threat: &ThreatModel,
    config: &ApgdConfig,
    loss: &Loss,
    (goal, goal_targeted): (&Tensor<1, Int>, bool),
    restart: usize,
    trace: &mut Vec<TraceStep>,
    on_progress: &mut impl FnMut(AttackProgress) -> bool,
) -> Result<Run> {
    let dims = clean.dims();
    let n = dims[0];
    let device = clean.device();
    let feasible = Feasible::new(clean, threat);
    let eot = config.eot_samples;
    let repeated = loss.repeated(eot);
    let gradient_at =
        |x: Tensor<4>| expected_objective_gradient(model, x, eot, |logits| repeated.value(logits));
    let direction = |g: Tensor<4>| match threat.norm() {
        Norm::Linf => g.sign(),
        Norm::L2 => g.clone() / (l2_norm(g) + TINY),
    };
    let expand = |mask: Tensor<1, Bool>| mask.reshape([n, 1, 1, 1]).expand(dims);

    let mut x = start;
    let (mut value, mut grad, logits) = gradient_at(x.clone());
    let mut found = succeeded(logits, goal.clone(), goal_targeted);
    let mut best_adv = x.clone();
    let mut best = x.clone();
    let mut grad_best = grad.clone();
    let mut loss_best = value.clone();
    let mut steps = Tensor::<1>::full([n], config.steps as f32, &device);
    let mut step_size = Tensor::<4>::full([n, 1, 1, 1], 2.0 * threat.epsilon(), &device);
    let mut x_old = x.clone();
    let (mut window, decrease, floor) = config.windows();
    let mut since_check = 0;
    let mut loss_best_last = loss_best.clone();
    let mut reduced_last =
        Tensor::<1, Bool>::from_data(TensorData::new(vec![true; n], [n]), &device);
    let mut rises = Tensor::<1>::zeros([n], &device);
    let mut previous = Tensor::<1>::zeros([n], &device);
    let mut cancelled = false;

    for i in 0..config.steps {
        crate::runtime::pace::pause().await;
        let momentum = x.clone() - x_old;
        x_old = x.clone();
        let a = if i > 0 { 0.75 } else { 1.0 };
        let z = feasible.project(x.clone() + direction(grad) * step_size.clone());
        x = feasible.project(x.clone() + (z - x) * a + momentum * (1.0 - a));

        let (v, g, logits) = gradient_at(x.clone());
        value = v;
        grad = g;
        let hit = succeeded(logits, goal.clone(), goal_targeted);
        let first = hit.clone().bool_and(found.clone().bool_not());
        steps = steps.mask_fill(first, (i + 1) as f32);
        best_adv = best_adv.mask_where(expand(hit.clone()), x.clone());
        found = found.bool_or(hit);

        rises = rises + value.clone().greater(previous).float();
        previous = value.clone();
        let improved = value.clone().greater(loss_best.clone());
        best = best.mask_where(expand(improved.clone()), x.clone());
        grad_best = grad_best.mask_where(expand(improved.clone()), grad.clone());
        loss_best = loss_best.mask_where(improved, value.clone());

        since_check += 1;
        if since_check == window {
            let oscillating = rises.clone().lower_equal_elem(window as f32 * config.rho);
            let stalled = reduced_last
                .clone()
                .bool_not()
                .bool_and(loss_best_last.clone().greater_equal(loss_best.clone()));
            let halve = oscillating.bool_or(stalled);
            reduced_last = halve.clone();
            loss_best_last = loss_best.clone();
            let images = expand(halve.clone());
            step_size = step_size
                .clone()
                .mask_where(halve.reshape([n, 1, 1, 1]), step_size * 0.5);
            x = x.mask_where(images.clone(), best.clone());
            grad = grad.mask_where(images, grad_best.clone());
            rises = Tensor::<1>::zeros([n], &device);
            since_check = 0;
            window = window.saturating_sub(decrease).max(floor);
        }

        let point = if config.trace {
            let means =
                read_all_f32(vec![value.clone().mean(), found.clone().float().mean()]).await?;
            let point = TraceStep {
                restart,
                step: i + 1,
                mean_loss: means[0][0],
                success_rate: means[1][0],
            };
            trace.push(point);
            Some(point)
        } else {
            None
        };
        if !on_progress(AttackProgress {
            done: restart * config.steps + i + 1,
            total: 0,
            trace: point.into_iter().collect(),
            queries: None,
        }) {
            cancelled = true;
            break;
        }
    }
    Ok(Run {
        best,
        best_adv,
        found,
        loss_best,
        steps,
        cancelled,
    })
}
