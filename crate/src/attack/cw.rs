//! Carlini & Wagner's L2 attack: minimise ‖δ‖₂² + c·f(x+δ) in the tanh change of variables with
//! Adam, binary-searching the constant c per sample, with confidence κ.
//!
//! f is the logit margin clipped at −κ: max(Z_y − max_{i≠y} Z_i, −κ) (untargeted) or
//! max(max_{i≠t} Z_i − Z_t, −κ) (targeted). The margin excludes the class by an offset, so it is
//! right when every logit is negative (masking the class to zero, as some implementations do, is
//! not). C&W minimises the norm instead of staying inside a budget: a sample counts as a success
//! only if its smallest adversarial lies within the threat model's ε (pass the pixel box's
//! diameter for an unbounded attack); otherwise the clean image is returned for it.

use burn::tensor::{Bool, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::finish::Final;
use super::objective::{AttackLoss, Setup, objective, succeeded};
use super::result::{AttackOutcome, AttackProgress, TraceStep};
use super::threat::{Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::readback::{read_all_f32, read_f32};

/// Settings of a C&W L2 run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CwConfig {
    /// Confidence κ: the margin the adversarial must reach.
    pub confidence: f32,
    /// Starting constant c.
    pub initial_const: f32,
    /// Rounds of the binary search on c (1: fixed c, as torchattacks).
    pub binary_search_steps: usize,
    /// Adam steps per round.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f32,
    /// Stop a round when the total loss has not fallen over a tenth of its steps.
    pub abort_early: bool,
    /// Record batch means after every step (costs one readback per step).
    pub trace: bool,
}

impl Default for CwConfig {
    /// Carlini & Wagner's settings: κ = 0, c = 1e-3, 9 search rounds of 1,000 steps at 0.01.
    fn default() -> Self {
        Self {
            confidence: 0.0,
            initial_const: 1e-3,
            binary_search_steps: 9,
            steps: 1000,
            learning_rate: 0.01,
            abort_early: true,
            trace: false,
        }
    }
}

impl CwConfig {
    fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.binary_search_steps == 0 {
            return Err(Error::InvalidArgument(
                "C&W needs at least one step and one search round".into(),
            ));
        }
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if !positive(self.initial_const) || !positive(self.learning_rate) {
            return Err(Error::InvalidArgument(format!(
                "C&W constant and learning rate must be finite and > 0, got {} and {}",
                self.initial_const, self.learning_rate
            )));
        }
        if !self.confidence.is_finite() || self.confidence < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "confidence κ must be finite and ≥ 0, got {}",
                self.confidence
            )));
        }
        Ok(())
    }
}

/// Keeps pixels strictly inside (−1, 1) before atanh, as Carlini & Wagner do, so saturated pixels
/// (0 or 1) can still move.
const TANH_SCALE: f32 = 0.999_999;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;
/// Upper bound of c meaning "no success seen yet".
const NO_UPPER: f32 = 1e10;

/// Per-sample bookkeeping of the binary search on c, on the host.
struct Search {
    c: Vec<f32>,
    lower: Vec<f32>,
    upper: Vec<f32>,
}

impl Search {
    fn new(n: usize, c: f32) -> Self {
        Self {
            c: vec![c; n],
            lower: vec![0.0; n],
            upper: vec![NO_UPPER; n],
        }
    }

    /// Carlini & Wagner's update: halve towards the bracket after a success, otherwise raise c
    /// (tenfold until a success brackets it).
    fn update(&mut self, succeeded: &[f32]) {
        for (i, &hit) in succeeded.iter().enumerate() {
            if hit > 0.5 {
                self.upper[i] = self.upper[i].min(self.c[i]);
                self.c[i] = (self.lower[i] + self.upper[i]) / 2.0;
            } else {
                self.lower[i] = self.lower[i].max(self.c[i]);
                self.c[i] = if self.upper[i] < NO_UPPER {
                    (self.lower[i] + self.upper[i]) / 2.0
                } else {
                    self.c[i] * 10.0
                };
            }
        }
    }
}

/// Run C&W L2 on `images` with true `labels`. The threat model must use the L2 norm; its ε is the
/// largest perturbation counted as a success.
pub async fn carlini_wagner(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &CwConfig,
    mut on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    crate::runtime::readback::check_finite(&images).await?;
    config.validate()?;
    if threat.norm() != Norm::L2 {
        return Err(Error::InvalidArgument(
            "C&W is an L2 attack; use the l2 norm".into(),
        ));
    }
    let Setup {
        clean,
        clean_logits,
        clean_correct,
        targeted,
        class,
    } = Setup::new(model, images, labels, threat)?;
    let dims = clean.dims();
    let n = dims[0];
    let device = clean.device();
    let (low, high) = threat.pixel_range();
    let span = high - low;
    let budget_sq = threat.epsilon() * threat.epsilon();
    let to_pixels = move |w: Tensor<4>| (w.tanh() + 1.0) * (span / 2.0) + low;
    let w0 = ((clean.clone() - low) * (2.0 / span) - 1.0) * TANH_SCALE;
    // atanh(u) = ½·ln((1 + u) / (1 − u)).
    let w0 = ((w0.clone() + 1.0) / (w0.neg() + 1.0)).log() * 0.5;

    let mut best_l2 = Tensor::<1>::full([n], f32::INFINITY, &device);
    let mut best_adv = clean.clone();
    let mut best_margin = objective(clean_logits, class.clone(), targeted, AttackLoss::Margin);
    let mut steps_used = Tensor::<1>::zeros([n], &device);
    let mut found = Tensor::<1, Bool>::from_data(TensorData::new(vec![false; n], [n]), &device);
    let mut search = Search::new(n, config.initial_const);
    let mut trace = Vec::new();
    let mut cancelled = false;
    let total = config.steps * config.binary_search_steps;

    'rounds: for round in 0..config.binary_search_steps {
        let c = Tensor::<1>::from_data(TensorData::new(search.c.clone(), [n]), &device);
        let mut w = w0.clone();
        let mut m = Tensor::<4>::zeros(dims, &device);
        let mut v = Tensor::<4>::zeros(dims, &device);
        let mut round_success =
            Tensor::<1, Bool>::from_data(TensorData::new(vec![false; n], [n]), &device);
        let mut previous_cost = f32::INFINITY;
        for step in 1..=config.steps {
            crate::runtime::pace::pause().await;
            let w_grad = w.clone().detach().autodiff().require_grad();
            let x = to_pixels(w_grad.clone());
            let logits = model.logits(x.clone());
            let distance = (x.clone() - clean.clone())
                .square()
                .reshape([n as i64, -1])
                .sum_dim(1)
                .reshape([n]);
            // f is the negated margin, clipped: positive while the goal is not met.
            let margin = objective(logits.clone(), class.clone(), targeted, AttackLoss::Margin);
            let f = margin.clone().neg().clamp_min(-config.confidence);
            let cost = distance.clone() + f.clone() * c.clone();
            let total_cost = cost.sum();
            let grads = total_cost.backward();
            let g = w_grad.grad(&grads).expect("w requires a gradient");

            // Best so far, judged at the point the gradient was taken (as torchattacks does).
            let logits = logits.without_autodiff();
            let distance = distance.without_autodiff();
            let margin = margin.without_autodiff();
            let hit = succeeded(logits, class.clone(), targeted)
                .bool_and(margin.clone().greater_equal_elem(config.confidence))
                .bool_and(distance.clone().lower_equal_elem(budget_sq));
            let better = hit
                .clone()
                .bool_and(distance.clone().lower(best_l2.clone()));
            round_success = round_success.bool_or(hit.clone());
            found = found.bool_or(better.clone());
            best_l2 = best_l2.mask_where(better.clone(), distance);
            best_margin = best_margin.mask_where(better.clone(), margin.clone());
            steps_used = steps_used.mask_where(
                better.clone(),
                Tensor::<1>::full([n], (round * config.steps + step) as f32, &device),
            );
            let mask = better.reshape([n, 1, 1, 1]).expand(dims);
            best_adv = best_adv.mask_where(mask, x.without_autodiff());

            // Adam with PyTorch's bias correction.
            // Adam as PyTorch computes it (lerp for the first moment, bias corrections in f64).
            let t = step as i32;
            m = m.clone() + (g.clone() - m) * (1.0 - BETA1);
            v = v * BETA2 + g.square() * (1.0 - BETA2);
            let correction1 = 1.0 - f64::from(BETA1).powi(t);
            let correction2 = (1.0 - f64::from(BETA2).powi(t)).sqrt();
            let step_size = (f64::from(config.learning_rate) / correction1) as f32;
            let denominator = v.clone().sqrt() / correction2 as f32 + ADAM_EPS;
            w = w - m.clone() / denominator * step_size;

            let mut stalled = false;
            let check = config.abort_early && (step - 1) % (config.steps / 10).max(1) == 0;
            let point = if config.trace || check {
                let means = read_all_f32(vec![
                    total_cost.without_autodiff(),
                    margin.mean(),
                    hit.float().mean(),
                ])
                .await?;
                let point = TraceStep {
                    restart: round,
                    step,
                    mean_loss: means[1][0],
                    success_rate: means[2][0],
                };
                if config.trace {
                    trace.push(point);
                }
                if check {
                    stalled = means[0][0] > previous_cost;
                    previous_cost = means[0][0];
                }
                config.trace.then_some(point)
            } else {
                None
            };
            if !on_progress(progress(round, step, config, total, point)) {
                cancelled = true;
                break 'rounds;
            }
            if stalled {
                break;
            }
        }
        let succeeded_now = read_f32(round_success.float()).await?;
        search.update(&succeeded_now);
    }

    Final {
        clean,
        adversarial: best_adv,
        clean_correct,
        success: found,
        value: best_margin,
        steps: steps_used,
    }
    .outcome(model, trace, cancelled)
    .await
}

fn progress(
    round: usize,
    step: usize,
    config: &CwConfig,
    total: usize,
    trace: Option<TraceStep>,
) -> AttackProgress {
    AttackProgress {
        done: round * config.steps + step,
        total,
        trace: trace.into_iter().collect(),
        queries: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_search_brackets_the_constant() {
        let mut s = Search::new(2, 1.0);
        s.update(&[1.0, 0.0]);
        assert_eq!(s.c, vec![0.5, 10.0]);
        s.update(&[0.0, 1.0]);
        assert_eq!(s.c, vec![0.75, 5.5]);
        assert_eq!(s.lower, vec![0.5, 1.0]);
        assert_eq!(s.upper, vec![1.0, 10.0]);
    }

    #[test]
    fn bad_settings_are_refused() {
        for config in [
            CwConfig {
                steps: 0,
                ..CwConfig::default()
            },
            CwConfig {
                initial_const: f32::NAN,
                ..CwConfig::default()
            },
            CwConfig {
                learning_rate: 0.0,
                ..CwConfig::default()
            },
            CwConfig {
                confidence: -1.0,
                ..CwConfig::default()
            },
        ] {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}
