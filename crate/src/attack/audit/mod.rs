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

use super::autoattack::{AutoAttackConfig, AutoAttackVersion, autoattack_batch};
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

/// Per-sample booleans read back.
async fn read_mask(mask: Tensor<1, Bool>) -> Result<Vec<bool>> {
    Ok(read_f32(mask.float())
        .await?
        .into_iter()
        .map(|v| v > 0.5)
        .collect())
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

    /// Which clean images are classified correctly.
    async fn clean(&self) -> Result<Vec<bool>> {
        read_mask(self.clean_correct()).await
    }

    /// Which images the audited model classifies correctly both clean and perturbed (`images`).
    async fn robust_mask(&self, images: Tensor<4>) -> Result<Vec<bool>> {
        let perturbed = predictions(&self.model, images, self.draws);
        read_mask(
            self.clean_correct()
                .bool_and(perturbed.equal(self.label_tensor.clone())),
        )
        .await
    }

    /// Which images stay robust for the audited model to adversarials `attacker`'s gradients
    /// craft.
    async fn robust(
        &self,
        attacker: &dyn Classifier,
        threat: ThreatModel,
        config: PgdConfig,
    ) -> Result<Vec<bool>> {
        let out = pgd(
            &attacker,
            self.images.clone(),
            self.labels,
            &threat,
            &config,
            |_| true,
        )
        .await?;
        self.robust_mask(out.adversarial).await
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

/// Step of the finite differences the gradient check compares against.
const FINITE_DIFFERENCE_STEP: f32 = 1e-3;

/// Per image: whether the input gradient is zero, and the relative gap between the directional
/// derivative along a random sign direction and the central finite difference with step `h`.
async fn gradient_figures(judge: &Judge<'_>, seed: u64, h: f32) -> Result<(Vec<bool>, Vec<f64>)> {
    let (model, images, labels) = (judge.model, &judge.images, &judge.label_tensor);
    let n = images.dims()[0];
    let ce = |logits| objective(logits, labels.clone(), false, AttackLoss::CrossEntropy);
    let (loss, gradient, _) = objective_gradient(&model, images.clone(), ce);
    let norms = read_f32(l2_norm(gradient.clone()).reshape([n])).await?;
    let zero = norms.iter().map(|&g| g < 1e-10).collect();

    let u = random_signs(images.dims(), 1.0, seed ^ 0x5eed, &images.device());
    let plus = ce(model.logits(images.clone() + u.clone() * h));
    let minus = ce(model.logits(images.clone() - u.clone() * h));
    let fd = (plus - minus) / (2.0 * h);
    let gd = (gradient * u)
        .reshape([n as i64, -1])
        .sum_dim(1)
        .reshape([n]);
    let columns = read_all_f32(vec![fd, gd, loss]).await?;
    let errors = (0..n)
        .map(|i| {
            let (f, g) = (f64::from(columns[0][i]), f64::from(columns[1][i]));
            (f - g).abs() / (f.abs() + g.abs() + 1e-6)
        })
        .collect();
    Ok((zero, errors))
}

/// The budget sweep's scales of ε besides 1 (whose figure is the main PGD's).
const SWEEP_SCALES: [f32; 3] = [0.25, 0.5, 2.0];

/// The sweep's budget at `scale`: ε × scale, capped at the whole pixel range.
fn swept(epsilon: f32, scale: f32) -> f32 {
    (epsilon * scale).min(1.0)
}

/// Which images stay robust under PGD at ε × ¼, ½ and 2 (ε capped at 1).
async fn budget_curve(judge: &Judge<'_>, config: &AuditConfig) -> Result<Vec<Vec<bool>>> {
    let mut curve = Vec::new();
    for scale in SWEEP_SCALES {
        let t = ThreatModel::new(Norm::Linf, swept(config.epsilon, scale))?;
        let pgd_config = PgdConfig {
            seed: config.seed,
            ..PgdConfig::pgd(&t, config.steps)
        };
        curve.push(judge.robust(judge.model, t, pgd_config).await?);
    }
    Ok(curve)
}

/// Robustness to a gradient attack whose budget is the whole pixel range (100 steps of 0.05
/// from the clean image).
async fn unbounded(judge: &Judge<'_>, seed: u64) -> Result<Vec<bool>> {
    let whole = ThreatModel::new(Norm::Linf, 1.0)?;
    let config = PgdConfig {
        random_start: false,
        step_size: 0.05,
        seed,
        ..PgdConfig::pgd(&whole, 100)
    };
    judge.robust(judge.model, whole, config).await
}

/// Robustness to each of 4 draws of random ±ε corners.
async fn noise(judge: &Judge<'_>, epsilon: f32, seed: u64) -> Result<Vec<Vec<bool>>> {
    let images = &judge.images;
    let mut draws = Vec::new();
    for draw in 0..4u64 {
        let signs = random_signs(
            images.dims(),
            epsilon,
            seed.wrapping_add(draw),
            &images.device(),
        );
        let noisy = (images.clone() + signs).clamp(0.0, 1.0);
        draws.push(judge.robust_mask(noisy).await?);
    }
    Ok(draws)
}

/// One batch's audit figures, per image where the summary needs them: the records a sharded
/// audit writes, which [`AuditReport::from_records`] turns into the checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Largest logit change between two forward passes.
    pub drift: f64,
    /// Forward passes averaged per judgement (more than one for a randomized model).
    pub draws: usize,
    /// Classified correctly clean.
    pub clean: Vec<bool>,
    /// Zero input gradient.
    pub zero_gradient: Vec<bool>,
    /// Relative gap between the gradient and finite differences.
    pub gradient_error: Vec<f64>,
    /// Robust to FGSM.
    pub fgsm: Vec<bool>,
    /// Robust to PGD at ε.
    pub pgd: Vec<bool>,
    /// Robust to PGD at ε × ¼, ½ and 2.
    pub sweep: Vec<Vec<bool>>,
    /// Robust to the unbounded attack.
    pub unbounded: Vec<bool>,
    /// Robust to each draw of random corners.
    pub noise: Vec<Vec<bool>>,
    /// Robust to PGD crafted on the surrogate.
    pub transfer: Option<Vec<bool>>,
    /// Robust to Square.
    pub black_box: Option<Vec<bool>>,
    /// AutoAttack's version and who stays robust to it.
    pub autoattack: Option<(String, Vec<bool>)>,
    /// The adaptive attack's name and who stays robust to it.
    pub adaptive: Option<(String, Vec<bool>)>,
}

/// Run every check on `images` (`[n, c, h, w]` in [0, 1]) with true `labels`; `on_progress` is
/// told the stage before each.
pub async fn audit(
    target: AuditTarget<'_>,
    images: Tensor<4>,
    labels: &[usize],
    config: &AuditConfig,
    on_progress: impl FnMut(&str),
) -> Result<AuditReport> {
    let record = audit_batch(target, images, labels, config, on_progress).await?;
    AuditReport::from_records(config, &[record])
}

/// Every attack of the audit on one batch: its [`AuditRecord`].
pub async fn audit_batch(
    target: AuditTarget<'_>,
    images: Tensor<4>,
    labels: &[usize],
    config: &AuditConfig,
    mut on_progress: impl FnMut(&str),
) -> Result<AuditRecord> {
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

    on_progress("randomness");
    let drift = logit_drift(model, &images, first).await?;
    // A randomized model's accuracy is an expectation: judge it by logits averaged over draws.
    let draws = if drift > rules::DETERMINISTIC_DRIFT {
        RANDOM_DRAWS
    } else {
        1
    };
    let judge = Judge::new(model, images.clone(), labels, draws);
    let clean = judge.clean().await?;

    on_progress("gradients");
    let (zero_gradient, gradient_error) =
        gradient_figures(&judge, config.seed, FINITE_DIFFERENCE_STEP).await?;

    on_progress("single step vs iterative");
    let fgsm = judge
        .robust(model, threat.clone(), PgdConfig::fgsm(&threat))
        .await?;
    let pgd_robust = judge
        .robust(model, threat.clone(), pgd_config.clone())
        .await?;

    on_progress("budget sweep");
    let sweep = budget_curve(&judge, config).await?;

    on_progress("unbounded attack");
    let unbounded = unbounded(&judge, config.seed).await?;

    on_progress("random noise");
    let noise = noise(&judge, eps, config.seed).await?;

    let transfer = match target.surrogate {
        Some(surrogate) => {
            on_progress("transfer");
            Some(
                judge
                    .robust(surrogate, threat.clone(), pgd_config.clone())
                    .await?,
            )
        }
        None => None,
    };

    let black_box = if config.black_box_queries >= 2 {
        on_progress("black-box attack");
        let square = SquareConfig {
            queries: config.black_box_queries,
            seed: config.seed,
            ..SquareConfig::default()
        };
        let out = super::square::square(&model, images.clone(), labels, &threat, &square, |_| true)
            .await?;
        Some(judge.robust_mask(out.adversarial).await?)
    } else {
        None
    };

    let autoattack = if config.autoattack {
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
        let (samples, _) = autoattack_batch(&model, images.clone(), labels, &threat, &aa, |_| true)
            .await?
            .expect("never cancelled");
        let name = match version {
            AutoAttackVersion::Standard => "standard",
            AutoAttackVersion::Rand => "rand, with EOT",
        };
        let robust = samples
            .iter()
            .map(|s| s.clean_correct && s.broken_by.is_none())
            .collect();
        Some((name.to_string(), robust))
    } else {
        None
    };

    let adaptive = match target.adaptive {
        Some(adaptive) => {
            let name = adaptive.attack.name();
            on_progress(name);
            let adaptive_config = PgdConfig {
                eot_samples: adaptive.eot_samples,
                ..pgd_config.clone()
            };
            let robust = judge
                .robust(adaptive.model.as_ref(), threat.clone(), adaptive_config)
                .await?;
            Some((name.to_string(), robust))
        }
        None => None,
    };

    Ok(AuditRecord {
        drift,
        draws,
        clean,
        zero_gradient,
        gradient_error,
        fgsm,
        pgd: pgd_robust,
        sweep,
        unbounded,
        noise,
        transfer,
        black_box,
        autoattack,
        adaptive,
    })
}

impl AuditReport {
    /// The checks over every batch's records, as one audit of all their images would give them.
    pub fn from_records(config: &AuditConfig, records: &[AuditRecord]) -> Result<AuditReport> {
        let n = records.iter().map(|r| r.clean.len()).sum::<usize>();
        if n == 0 {
            return Err(Error::InvalidArgument("the audit saw no image".into()));
        }
        let fraction = |pick: &dyn Fn(&AuditRecord) -> Option<&Vec<bool>>| -> Option<f64> {
            let mut hits = 0;
            for r in records {
                hits += pick(r)?.iter().filter(|&&b| b).count();
            }
            Some(hits as f64 / n as f64)
        };
        let all = |pick: &dyn Fn(&AuditRecord) -> &Vec<bool>| {
            fraction(&|r| Some(pick(r))).expect("present in every record")
        };
        let eps = config.epsilon;
        let drift = records.iter().map(|r| r.drift).fold(0.0, f64::max);
        let main = all(&|r| &r.pgd);
        let mut checks = vec![rules::deterministic(drift)];
        checks.push(rules::nonzero_gradients(all(&|r| &r.zero_gradient)));
        let mut errors: Vec<f64> = records
            .iter()
            .flat_map(|r| r.gradient_error.iter().copied())
            .collect();
        errors.sort_by(f64::total_cmp);
        checks.push(rules::gradient_matches_finite_differences(
            errors[n / 2],
            FINITE_DIFFERENCE_STEP,
        ));
        checks.push(rules::iterative_beats_single_step(
            eps,
            config.steps,
            all(&|r| &r.fgsm),
            main,
        ));
        let mut curve: Vec<(f32, f64)> = SWEEP_SCALES
            .iter()
            .enumerate()
            .map(|(k, &scale)| (swept(eps, scale), all(&|r| &r.sweep[k])))
            .collect();
        curve.insert(2, (swept(eps, 1.0), main));
        checks.push(rules::accuracy_falls_with_budget(&curve));
        checks.push(rules::unbounded_attack_succeeds(all(&|r| &r.unbounded)));
        let draws = records.first().map_or(0, |r| r.noise.len());
        let worst = (0..draws)
            .map(|d| all(&|r| &r.noise[d]))
            .fold(1.0f64, f64::min);
        checks.push(rules::white_box_beats_random_noise(worst, main));
        if let Some(transfer) = fraction(&|r| r.transfer.as_ref()) {
            checks.push(rules::white_box_beats_transfer(transfer, main));
        }
        if let Some(black_box) = fraction(&|r| r.black_box.as_ref()) {
            checks.push(rules::white_box_beats_black_box(
                config.black_box_queries,
                black_box,
                main,
            ));
        }
        if let Some(aa) = fraction(&|r| r.autoattack.as_ref().map(|(_, m)| m)) {
            let name = records[0]
                .autoattack
                .as_ref()
                .map_or("", |(n, _)| n.as_str());
            checks.push(rules::autoattack_adds_nothing(name, aa, main));
        }
        if let Some(adaptive) = fraction(&|r| r.adaptive.as_ref().map(|(_, m)| m)) {
            let name = records[0].adaptive.as_ref().map_or("", |(n, _)| n.as_str());
            checks.push(rules::adaptive_attack_adds_nothing(name, adaptive, main));
        }
        let flagged = checks.iter().filter(|c| c.verdict == Verdict::Flag).count();
        Ok(AuditReport {
            epsilon: eps,
            samples: n,
            clean_accuracy: all(&|r| &r.clean),
            checks,
            flagged,
        })
    }
}
