//! A gradient-masking audit: the sanity checks of Carlini et al., "On Evaluating Adversarial
//! Robustness" (2019), and AutoAttack's flags, run against a model (and its defence), each
//! returned as pass/flag with the figures behind it.
//!
//! A flag does not prove the defence broken; it says the reported robustness cannot be trusted
//! until an adaptive attack (BPDA for non-differentiable parts, EOT for randomness) has been tried.

use std::collections::BTreeMap;

use burn::tensor::{Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::objective::{AttackLoss, int_tensor, objective};
use super::pgd::{PgdConfig, pgd};
use super::project::l2_norm;
use super::threat::{Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::eval::predictions;
use crate::gradient::objective_gradient;
use crate::model::Classifier;
use crate::readback::{read_all_f32, read_f32};
use crate::rng::SplitMix64;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Behaves as an honestly evaluated model should.
    Pass,
    /// A sign of gradient masking or of an attack too weak to trust.
    Flag,
}

/// One sanity check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Short identifier, e.g. `unbounded-attack`.
    pub name: String,
    /// Pass or flag.
    pub verdict: Verdict,
    /// What was measured and what it means.
    pub detail: String,
    /// The numbers behind the verdict.
    pub figures: BTreeMap<String, f64>,
}

/// The audit's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// L∞ budget the audit attacked at.
    pub epsilon: f32,
    /// Images audited.
    pub samples: usize,
    /// Clean accuracy of the audited model on them.
    pub clean_accuracy: f64,
    /// Every check, in the order run.
    pub checks: Vec<Check>,
    /// How many checks flagged.
    pub flagged: usize,
}

/// Settings of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditConfig {
    /// L∞ budget of the main attacks.
    pub epsilon: f32,
    /// PGD steps.
    pub steps: usize,
    /// PGD restarts.
    pub restarts: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.3,
            steps: 40,
            restarts: 1,
            seed: 0,
        }
    }
}

/// A stronger, adaptive view of the audited model: the same outputs with usable gradients (BPDA's
/// straight-through view of a non-differentiable defence), or EOT over its randomness.
pub struct Adaptive<'a> {
    /// Name shown in the report (e.g. "BPDA", "EOT").
    pub name: &'a str,
    /// The model whose gradients the attack follows; adversarials are scored on the audited model.
    pub gradients: &'a dyn Classifier,
    /// EOT draws per gradient (1 for BPDA).
    pub eot_samples: usize,
}

/// What to audit: the model, optionally a surrogate for the transfer check and an adaptive view.
pub struct AuditTarget<'a> {
    /// The defended model as deployed (its true gradients are what a naive attacker sees).
    pub model: &'a dyn Classifier,
    /// An independently trained or undefended model to craft transfer attacks on.
    pub surrogate: Option<&'a dyn Classifier>,
    /// An adaptive attack's view of the model.
    pub adaptive: Option<Adaptive<'a>>,
}

/// Largest fraction of images with a zero input gradient that passes.
const ZERO_GRADIENT_FRACTION: f64 = 0.1;
/// Largest median relative error between the gradient and finite differences before flagging.
const FINITE_DIFFERENCE_ERROR: f64 = 0.5;
/// Slack on robust-accuracy comparisons (fraction of the batch), for run-to-run noise.
const SLACK: f64 = 0.02;
/// Forward passes averaged to judge a randomized model.
const RANDOM_DRAWS: usize = 16;

fn check(name: &str, pass: bool, detail: String, figures: &[(&str, f64)]) -> Check {
    Check {
        name: name.into(),
        verdict: if pass { Verdict::Pass } else { Verdict::Flag },
        detail,
        figures: figures.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// The audited model and batch, scoring adversarials however they were made.
struct Judge<'a> {
    model: &'a dyn Classifier,
    images: Tensor<4>,
    labels: &'a [usize],
    label_tensor: Tensor<1, Int>,
    draws: usize,
}

impl<'a> Judge<'a> {
    fn new(
        model: &'a dyn Classifier,
        images: Tensor<4>,
        labels: &'a [usize],
        draws: usize,
    ) -> Self {
        let label_tensor = int_tensor(labels, &images.device());
        Self {
            model,
            images,
            labels,
            label_tensor,
            draws,
        }
    }

    /// Correct predictions on the clean images. A randomized model draws afresh on every call,
    /// so each robust accuracy is scored against its own clean pass.
    fn clean_correct(&self) -> Tensor<1, Bool> {
        predictions(&self.model, self.images.clone(), self.draws).equal(self.label_tensor.clone())
    }

    /// Fraction of the clean images classified correctly.
    async fn clean_accuracy(&self) -> Result<f64> {
        Ok(f64::from(
            read_f32(self.clean_correct().float().mean()).await?[0],
        ))
    }

    /// Robust accuracy of the audited model on perturbed `images`: the fraction classified
    /// correctly both clean and perturbed.
    async fn accuracy(&self, images: Tensor<4>) -> Result<f64> {
        let perturbed = predictions(&self.model, images, self.draws);
        let both = self
            .clean_correct()
            .bool_and(perturbed.equal(self.label_tensor.clone()));
        Ok(f64::from(read_f32(both.float().mean()).await?[0]))
    }

    /// Robust accuracy of the audited model on adversarials that `attacker`'s gradients craft.
    async fn robust(
        &self,
        attacker: &dyn Classifier,
        threat: ThreatModel,
        config: PgdConfig,
    ) -> Result<f64> {
        let out = pgd(
            &attacker,
            self.images.clone(),
            self.labels,
            &threat,
            &config,
            |_| true,
        )
        .await?;
        self.accuracy(out.adversarial).await
    }
}

/// Run every check on `images` (`[n, c, h, w]` in [0, 1]) with true `labels`.
pub async fn audit(
    target: AuditTarget<'_>,
    images: Tensor<4>,
    labels: &[usize],
    config: &AuditConfig,
    mut on_progress: impl FnMut(&str),
) -> Result<AuditReport> {
    let model = target.model;
    let eps = config.epsilon;
    if !(eps.is_finite() && eps > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "the audit needs a budget > 0, got {eps}"
        )));
    }
    let images = images.detach().without_autodiff();
    let device = images.device();
    let n = images.dims()[0];
    let threat = ThreatModel::new(Norm::Linf, eps)?;
    let first = model.logits(images.clone());
    threat.check_batch(images.dims(), labels, first.dims()[1])?;
    let pgd_config = PgdConfig {
        restarts: config.restarts,
        seed: config.seed,
        ..PgdConfig::pgd(&threat, config.steps)
    };
    let mut checks = Vec::new();

    on_progress("randomness");
    let second = model.logits(images.clone());
    let drift = f64::from(read_f32((first - second).abs().max()).await?[0]);
    // A randomized model's accuracy is an expectation: judge it by logits averaged over draws.
    let draws = if drift > 1e-6 { RANDOM_DRAWS } else { 1 };
    let judge = Judge::new(model, images.clone(), labels, draws);
    let label_tensor = judge.label_tensor.clone();
    let clean_accuracy = judge.clean_accuracy().await?;
    checks.push(check(
        "deterministic",
        drift <= 1e-6,
        if drift <= 1e-6 {
            "two forward passes agree: the model is deterministic".into()
        } else {
            format!("two forward passes differ by up to {drift:.3e}: the model is randomized, so one gradient is a noisy estimate; attack it with EOT")
        },
        &[("max_logit_difference", drift)],
    ));

    on_progress("gradients");
    let (loss, gradient, _) = objective_gradient(&model, images.clone(), |logits| {
        objective(
            logits,
            label_tensor.clone(),
            false,
            AttackLoss::CrossEntropy,
        )
    });
    let norms = read_f32(l2_norm(gradient.clone()).reshape([n])).await?;
    let zero = norms.iter().filter(|&&g| g < 1e-10).count() as f64 / n as f64;
    checks.push(check(
        "nonzero-gradients",
        zero <= ZERO_GRADIENT_FRACTION,
        format!(
            "{:.1}% of the images have a zero input gradient{}",
            zero * 100.0,
            if zero > ZERO_GRADIENT_FRACTION {
                ": gradients are masked (e.g. rounding or thresholding); try BPDA"
            } else {
                ""
            }
        ),
        &[("zero_gradient_fraction", zero)],
    ));

    // Shattered gradients: the directional derivative along a random sign direction must match
    // the central finite difference of the loss.
    let h = 1e-3f32;
    let dims = images.dims();
    let mut rng = SplitMix64::new(config.seed ^ 0x5eed);
    let signs: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|_| if rng.next_f32() < 0.5 { -1.0 } else { 1.0 })
        .collect();
    let u = Tensor::<4>::from_data(TensorData::new(signs, dims), &device);
    let at = |x: Tensor<4>| {
        objective(
            model.logits(x),
            label_tensor.clone(),
            false,
            AttackLoss::CrossEntropy,
        )
    };
    let plus = at(images.clone() + u.clone() * h);
    let minus = at(images.clone() - u.clone() * h);
    let fd = (plus - minus) / (2.0 * h);
    let gd = (gradient * u)
        .reshape([n as i64, -1])
        .sum_dim(1)
        .reshape([n]);
    let columns = read_all_f32(vec![fd, gd, loss]).await?;
    let mut errors: Vec<f64> = (0..n)
        .map(|i| {
            let (f, g) = (f64::from(columns[0][i]), f64::from(columns[1][i]));
            (f - g).abs() / (f.abs() + g.abs() + 1e-6)
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    let median_error = errors[n / 2];
    checks.push(check(
        "gradient-matches-finite-differences",
        median_error <= FINITE_DIFFERENCE_ERROR,
        format!(
            "median relative gap between the gradient and a finite difference (h = {h}) along a random direction: {median_error:.3}{}",
            if median_error > FINITE_DIFFERENCE_ERROR {
                ": the gradient does not describe the loss (shattered or masked gradients)"
            } else {
                ""
            }
        ),
        &[("median_relative_error", median_error)],
    ));

    on_progress("single step vs iterative");
    let fgsm = judge
        .robust(model, threat.clone(), PgdConfig::fgsm(&threat))
        .await?;
    let main = judge
        .robust(model, threat.clone(), pgd_config.clone())
        .await?;
    checks.push(check(
        "iterative-beats-single-step",
        main <= fgsm + SLACK,
        format!(
            "robust accuracy at ε = {eps}: FGSM {:.1}%, PGD-{} {:.1}%",
            fgsm * 100.0,
            config.steps,
            main * 100.0
        ),
        &[
            ("fgsm_robust_accuracy", fgsm),
            ("pgd_robust_accuracy", main),
        ],
    ));

    on_progress("budget sweep");
    let mut curve = Vec::new();
    for scale in [0.25f32, 0.5, 1.0, 2.0] {
        let e = (eps * scale).min(1.0);
        let t = ThreatModel::new(Norm::Linf, e)?;
        let acc = if scale == 1.0 {
            main
        } else {
            let config = PgdConfig {
                seed: config.seed,
                ..PgdConfig::pgd(&t, config.steps)
            };
            judge.robust(model, t, config).await?
        };
        curve.push((e, acc));
    }
    let monotone = curve.windows(2).all(|w| w[1].1 <= w[0].1 + SLACK);
    let figures: Vec<(String, f64)> = curve
        .iter()
        .map(|(e, a)| (format!("robust_accuracy_at_{e}"), *a))
        .collect();
    checks.push(Check {
        name: "accuracy-falls-with-budget".into(),
        verdict: if monotone {
            Verdict::Pass
        } else {
            Verdict::Flag
        },
        detail: format!(
            "robust accuracy at ε × (¼, ½, 1, 2): {}",
            curve
                .iter()
                .map(|(_, a)| format!("{:.1}%", a * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        figures: figures.into_iter().collect(),
    });

    on_progress("unbounded attack");
    let whole = ThreatModel::new(Norm::Linf, 1.0)?;
    let unbounded_config = PgdConfig {
        random_start: false,
        step_size: 0.05,
        seed: config.seed,
        ..PgdConfig::pgd(&whole, 100)
    };
    let unbounded = judge.robust(model, whole, unbounded_config).await?;
    checks.push(check(
        "unbounded-attack-succeeds",
        unbounded <= 0.01,
        format!(
            "a gradient attack with the whole pixel range as budget (100 steps from the clean image) leaves {:.1}% accuracy; it must reach ~0%",
            unbounded * 100.0
        ),
        &[("unbounded_robust_accuracy", unbounded)],
    ));

    on_progress("random noise");
    let mut noise_accuracy = 1.0f64;
    for draw in 0..4u64 {
        let mut rng = SplitMix64::new(config.seed.wrapping_add(draw));
        let signs: Vec<f32> = (0..dims.iter().product::<usize>())
            .map(|_| if rng.next_f32() < 0.5 { -eps } else { eps })
            .collect();
        let noisy = (images.clone()
            + Tensor::<4>::from_data(TensorData::new(signs, dims), &device))
        .clamp(0.0, 1.0);
        noise_accuracy = noise_accuracy.min(judge.accuracy(noisy).await?);
    }
    checks.push(check(
        "white-box-beats-random-noise",
        main <= noise_accuracy + SLACK,
        format!(
            "random ±ε corners (worst of 4 draws) leave {:.1}% accuracy, PGD {:.1}%",
            noise_accuracy * 100.0,
            main * 100.0
        ),
        &[
            ("noise_accuracy", noise_accuracy),
            ("pgd_robust_accuracy", main),
        ],
    ));

    if let Some(surrogate) = target.surrogate {
        on_progress("transfer");
        let transfer = judge
            .robust(surrogate, threat.clone(), pgd_config.clone())
            .await?;
        checks.push(check(
            "white-box-beats-transfer",
            main <= transfer + SLACK,
            format!(
                "adversarials crafted on the surrogate leave {:.1}% accuracy, white-box PGD {:.1}%{}",
                transfer * 100.0,
                main * 100.0,
                if main > transfer + SLACK {
                    ": a black-box attack beats the white-box one, so the white-box gradients mislead"
                } else {
                    ""
                }
            ),
            &[("transfer_accuracy", transfer), ("pgd_robust_accuracy", main)],
        ));
    }

    if let Some(adaptive) = target.adaptive {
        on_progress(adaptive.name);
        let adaptive_config = PgdConfig {
            eot_samples: adaptive.eot_samples,
            ..pgd_config.clone()
        };
        let broken = judge
            .robust(adaptive.gradients, threat.clone(), adaptive_config)
            .await?;
        let stronger = broken + SLACK < main;
        checks.push(check(
            "adaptive-attack-adds-nothing",
            !stronger,
            format!(
                "{} PGD leaves {:.1}% accuracy against the plain PGD's {:.1}%{}",
                adaptive.name,
                broken * 100.0,
                main * 100.0,
                if stronger {
                    ": the adaptive attack breaks what plain PGD reported as robust"
                } else {
                    ""
                }
            ),
            &[("adaptive_accuracy", broken), ("pgd_robust_accuracy", main)],
        ));
    }

    let flagged = checks.iter().filter(|c| c.verdict == Verdict::Flag).count();
    Ok(AuditReport {
        epsilon: eps,
        samples: n,
        clean_accuracy,
        checks,
        flagged,
    })
}
