//! A gradient-masking audit: the sanity checks of Carlini et al., "On Evaluating Adversarial
//! Robustness" (2019), a query-only attack and AutoAttack set against PGD, run against a model (and its defence), each
//! returned as pass/flag with the figures behind it.
//!
//! A flag does not prove the defence broken; it says the reported robustness cannot be trusted
//! until an adaptive attack (BPDA for non-differentiable parts, EOT for randomness) has been tried.

pub mod rules;

pub use rules::{Check, Verdict};

use burn::tensor::{Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::autoattack::{AutoAttackConfig, AutoAttackVersion, autoattack_batch, summarize};
use super::objective::{AttackLoss, int_tensor, objective};
use super::pgd::{PgdConfig, pgd};
use super::project::l2_norm;
use super::square::SquareConfig;
use super::threat::{Norm, ThreatModel};
use crate::defense::AdaptiveView;
use crate::error::{Error, Result};
use crate::eval::predictions;
use crate::gradient::objective_gradient;
use crate::model::Classifier;
use crate::runtime::readback::{read_all_f32, read_f32};
use crate::runtime::rng::SplitMix64;

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
    /// Square's queries per image in the black-box check (0 skips it).
    #[serde(default = "default_queries")]
    pub black_box_queries: usize,
    /// Run AutoAttack (APGD steps as PGD's; Square with the black-box budget) against PGD.
    #[serde(default = "yes")]
    pub autoattack: bool,
}

fn default_queries() -> usize {
    1000
}

fn yes() -> bool {
    true
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.3,
            steps: 40,
            restarts: 1,
            seed: 0,
            black_box_queries: default_queries(),
            autoattack: true,
        }
    }
}

/// What to audit: the model, optionally a surrogate for the transfer check and an adaptive view.
pub struct AuditTarget<'a> {
    /// The defended model as deployed (its true gradients are what a naive attacker sees).
    pub model: &'a dyn Classifier,
    /// An independently trained or undefended model to craft transfer attacks on.
    pub surrogate: Option<&'a dyn Classifier>,
    /// An adaptive attack's view of the model (BPDA, EOT), from
    /// [`DefenseSpec::adaptive`](crate::defense::DefenseSpec::adaptive).
    pub adaptive: Option<AdaptiveView<'a>>,
}

/// Forward passes averaged to judge a randomized model.
const RANDOM_DRAWS: usize = 16;

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

/// Largest logit change between `first` and a second forward pass of `model` on `images`.
async fn logit_drift(model: &dyn Classifier, images: &Tensor<4>, first: Tensor<2>) -> Result<f64> {
    let second = model.logits(images.clone());
    Ok(f64::from(read_f32((first - second).abs().max()).await?[0]))
}

/// Signs ±`scale` drawn from `seed`, shaped like `dims`.
fn random_signs(
    dims: [usize; 4],
    scale: f32,
    seed: u64,
    device: &burn::tensor::Device,
) -> Tensor<4> {
    let mut rng = SplitMix64::new(seed);
    let signs: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|_| if rng.next_f32() < 0.5 { -scale } else { scale })
        .collect();
    Tensor::<4>::from_data(TensorData::new(signs, dims), device)
}

/// The fraction of images with a zero input gradient, and the median relative gap between the
/// directional derivative along a random sign direction and the central finite difference with
/// step `h`.
async fn gradient_figures(judge: &Judge<'_>, seed: u64, h: f32) -> Result<(f64, f64)> {
    let (model, images, labels) = (judge.model, &judge.images, &judge.label_tensor);
    let n = images.dims()[0];
    let ce = |logits| objective(logits, labels.clone(), false, AttackLoss::CrossEntropy);
    let (loss, gradient, _) = objective_gradient(&model, images.clone(), ce);
    let norms = read_f32(l2_norm(gradient.clone()).reshape([n])).await?;
    let zero = norms.iter().filter(|&&g| g < 1e-10).count() as f64 / n as f64;

    let u = random_signs(images.dims(), 1.0, seed ^ 0x5eed, &images.device());
    let plus = ce(model.logits(images.clone() + u.clone() * h));
    let minus = ce(model.logits(images.clone() - u.clone() * h));
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
    Ok((zero, errors[n / 2]))
}

/// Robust accuracy of the audited model under PGD at ε × (¼, ½, 1, 2) (ε capped at 1), reusing
/// `main`, the accuracy at ε itself.
async fn budget_curve(
    judge: &Judge<'_>,
    config: &AuditConfig,
    main: f64,
) -> Result<Vec<(f32, f64)>> {
    let mut curve = Vec::new();
    for scale in [0.25f32, 0.5, 1.0, 2.0] {
        let e = (config.epsilon * scale).min(1.0);
        let acc = if scale == 1.0 {
            main
        } else {
            let t = ThreatModel::new(Norm::Linf, e)?;
            let pgd_config = PgdConfig {
                seed: config.seed,
                ..PgdConfig::pgd(&t, config.steps)
            };
            judge.robust(judge.model, t, pgd_config).await?
        };
        curve.push((e, acc));
    }
    Ok(curve)
}

/// Accuracy under a gradient attack whose budget is the whole pixel range (100 steps of 0.05 from
/// the clean image).
async fn unbounded_accuracy(judge: &Judge<'_>, seed: u64) -> Result<f64> {
    let whole = ThreatModel::new(Norm::Linf, 1.0)?;
    let config = PgdConfig {
        random_start: false,
        step_size: 0.05,
        seed,
        ..PgdConfig::pgd(&whole, 100)
    };
    judge.robust(judge.model, whole, config).await
}

/// The worst accuracy over 4 draws of random ±ε corners.
async fn noise_accuracy(judge: &Judge<'_>, epsilon: f32, seed: u64) -> Result<f64> {
    let images = &judge.images;
    let mut worst = 1.0f64;
    for draw in 0..4u64 {
        let signs = random_signs(
            images.dims(),
            epsilon,
            seed.wrapping_add(draw),
            &images.device(),
        );
        let noisy = (images.clone() + signs).clamp(0.0, 1.0);
        worst = worst.min(judge.accuracy(noisy).await?);
    }
    Ok(worst)
}

/// Run every check on `images` (`[n, c, h, w]` in [0, 1]) with true `labels`; `on_progress` is
/// told the stage before each.
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
    let drift = logit_drift(model, &images, first).await?;
    checks.push(rules::deterministic(drift));
    // A randomized model's accuracy is an expectation: judge it by logits averaged over draws.
    let draws = if drift > rules::DETERMINISTIC_DRIFT {
        RANDOM_DRAWS
    } else {
        1
    };
    let judge = Judge::new(model, images.clone(), labels, draws);
    let clean_accuracy = judge.clean_accuracy().await?;

    on_progress("gradients");
    let h = 1e-3;
    let (zero, median_error) = gradient_figures(&judge, config.seed, h).await?;
    checks.push(rules::nonzero_gradients(zero));
    checks.push(rules::gradient_matches_finite_differences(median_error, h));

    on_progress("single step vs iterative");
    let fgsm = judge
        .robust(model, threat.clone(), PgdConfig::fgsm(&threat))
        .await?;
    let main = judge
        .robust(model, threat.clone(), pgd_config.clone())
        .await?;
    checks.push(rules::iterative_beats_single_step(
        eps,
        config.steps,
        fgsm,
        main,
    ));

    on_progress("budget sweep");
    let curve = budget_curve(&judge, config, main).await?;
    checks.push(rules::accuracy_falls_with_budget(&curve));

    on_progress("unbounded attack");
    checks.push(rules::unbounded_attack_succeeds(
        unbounded_accuracy(&judge, config.seed).await?,
    ));

    on_progress("random noise");
    checks.push(rules::white_box_beats_random_noise(
        noise_accuracy(&judge, eps, config.seed).await?,
        main,
    ));

    if let Some(surrogate) = target.surrogate {
        on_progress("transfer");
        let transfer = judge
            .robust(surrogate, threat.clone(), pgd_config.clone())
            .await?;
        checks.push(rules::white_box_beats_transfer(transfer, main));
    }

    if config.black_box_queries >= 2 {
        on_progress("black-box attack");
        let square = SquareConfig {
            queries: config.black_box_queries,
            seed: config.seed,
            ..SquareConfig::default()
        };
        let out = super::square::square(&model, images.clone(), labels, &threat, &square, |_| true)
            .await?;
        let black_box = judge.accuracy(out.adversarial).await?;
        checks.push(rules::white_box_beats_black_box(
            config.black_box_queries,
            black_box,
            main,
        ));
    }

    if config.autoattack {
        on_progress("AutoAttack");
        let version = if draws > 1 {
            AutoAttackVersion::Rand
        } else {
            AutoAttackVersion::Standard
        };
        let aa = AutoAttackConfig {
            version,
            steps: config.steps,
            square_queries: config.black_box_queries.max(2),
            seed: config.seed,
            ..AutoAttackConfig::default()
        };
        let (samples, members) =
            autoattack_batch(&model, images.clone(), labels, &threat, &aa, |_| true)
                .await?
                .expect("never cancelled");
        let report = summarize(&aa, samples, members, false);
        let name = match version {
            AutoAttackVersion::Standard => "standard",
            AutoAttackVersion::Rand => "rand, with EOT",
        };
        checks.push(rules::autoattack_adds_nothing(
            name,
            report.robust_accuracy,
            main,
        ));
    }

    if let Some(adaptive) = target.adaptive {
        let name = adaptive.attack.name();
        on_progress(name);
        let adaptive_config = PgdConfig {
            eot_samples: adaptive.eot_samples,
            ..pgd_config.clone()
        };
        let broken = judge
            .robust(adaptive.model.as_ref(), threat.clone(), adaptive_config)
            .await?;
        checks.push(rules::adaptive_attack_adds_nothing(name, broken, main));
    }

    let flagged = checks.iter().filter(|c| c.verdict == Verdict::Flag).count();
    Ok(AuditReport {
        epsilon: eps,
        samples: images.dims()[0],
        clean_accuracy,
        checks,
        flagged,
    })
}
