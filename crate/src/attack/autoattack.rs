//! AutoAttack (Croce & Hein, 2020), the evaluation RobustBench runs for every entry: an ensemble of
//! complementary parameter-free attacks, each run only on the images the previous ones left
//! robust. The standard version runs APGD-CE, APGD-T (DLR aimed at each of the 9 most likely
//! wrong classes in turn), FAB-T (the minimum-norm FAB aimed at the same 9 classes) and the
//! query-only Square Attack (5,000 queries), as AutoAttack's `standard` list; the `rand` version,
//! for randomized defences, runs APGD-CE and APGD-DLR with 20 EOT draws per gradient.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::apgd::ApgdConfig;
use super::fab::FabConfig;
use super::method::Attack;
use super::objective::{AttackLoss, int_tensor};
use super::square::SquareConfig;
use super::threat::{Goal, ThreatModel};
use crate::data::ImageSource;
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::readback::read_f32;

/// Which ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum AutoAttackVersion {
    /// APGD-CE, APGD-T, FAB-T, Square: for deterministic models.
    Standard,
    /// APGD-CE and APGD-DLR with EOT: for randomized defences.
    Rand,
}

/// Settings of an AutoAttack run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoAttackConfig {
    /// The ensemble.
    pub version: AutoAttackVersion,
    /// APGD and FAB iterations per run (AutoAttack: 100).
    pub steps: usize,
    /// APGD-T's and FAB-T's target classes (AutoAttack: 9; fewer when the model has fewer wrong
    /// classes).
    pub targets: usize,
    /// Square's queries per image (AutoAttack: 5,000).
    pub square_queries: usize,
    /// EOT draws per gradient in the `rand` version (AutoAttack: 20).
    pub eot_samples: usize,
    /// Seed of every member's random draws.
    pub seed: u64,
}

impl Default for AutoAttackConfig {
    /// AutoAttack's standard version with its published settings.
    fn default() -> Self {
        Self {
            version: AutoAttackVersion::Standard,
            steps: 100,
            targets: 9,
            square_queries: 5000,
            eot_samples: 20,
            seed: 0,
        }
    }
}

impl AutoAttackConfig {
    /// The members in the order they run, each with its name (as AutoAttack's log prints it).
    pub fn members(&self, classes: usize) -> Vec<(String, Attack)> {
        let apgd = ApgdConfig {
            steps: self.steps,
            seed: self.seed,
            ..ApgdConfig::default()
        };
        match self.version {
            AutoAttackVersion::Standard => {
                let mut members = vec![("apgd-ce".to_string(), Attack::Apgd(apgd.clone()))];
                for k in 2..=(self.targets + 1).min(classes) {
                    members.push((
                        format!("apgd-t (target {})", k - 1),
                        Attack::Apgd(ApgdConfig {
                            loss: AttackLoss::Dlr,
                            aim: Some(k),
                            ..apgd.clone()
                        }),
                    ));
                }
                if self.targets > 0 {
                    members.push((
                        "fab-t".to_string(),
                        Attack::Fab(FabConfig {
                            steps: self.steps,
                            targets: self.targets,
                            seed: self.seed,
                            ..FabConfig::default()
                        }),
                    ));
                }
                members.push((
                    "square".to_string(),
                    Attack::Square(SquareConfig {
                        queries: self.square_queries,
                        seed: self.seed,
                        ..SquareConfig::default()
                    }),
                ));
                members
            }
            AutoAttackVersion::Rand => {
                let eot = ApgdConfig {
                    eot_samples: self.eot_samples,
                    ..apgd
                };
                vec![
                    ("apgd-ce".to_string(), Attack::Apgd(eot.clone())),
                    (
                        "apgd-dlr".to_string(),
                        Attack::Apgd(ApgdConfig {
                            loss: AttackLoss::Dlr,
                            ..eot
                        }),
                    ),
                ]
            }
        }
    }

    fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.eot_samples == 0 || self.square_queries < 2 {
            return Err(Error::InvalidArgument(
                "AutoAttack needs ≥ 1 APGD step, ≥ 1 EOT draw and ≥ 2 Square queries".into(),
            ));
        }
        Ok(())
    }
}

/// One member's line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberResult {
    /// The member's name.
    pub attack: String,
    /// Images it was run on (those still robust).
    pub attacked: usize,
    /// Images it broke.
    pub broken: usize,
    /// Robust accuracy after it, over all images.
    pub robust_accuracy: f64,
    /// Model queries it spent, for query-only members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<usize>,
}

/// Per image: whether it was classified correctly and which member broke it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSample {
    /// Classified correctly when clean.
    pub clean_correct: bool,
    /// The member that broke it; `None` while it stays robust (or was wrong from the start).
    pub broken_by: Option<String>,
    /// The class predicted on its adversarial (or on the clean image when never broken).
    pub predicted: usize,
}

/// AutoAttack's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoAttackReport {
    /// The ensemble's settings.
    pub config: AutoAttackConfig,
    /// Images evaluated.
    pub images: usize,
    /// Fraction classified correctly when clean.
    pub clean_accuracy: f64,
    /// Fraction robust to every member.
    pub robust_accuracy: f64,
    /// One line per member, in order.
    pub members: Vec<MemberResult>,
    /// One entry per image evaluated.
    pub samples: Vec<EnsembleSample>,
    /// The progress hook stopped the run: the figures cover the images before it.
    pub cancelled: bool,
}

/// Where an AutoAttack run is.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleProgress {
    /// Batches done.
    pub batch: usize,
    /// Batches in all.
    pub batches: usize,
    /// The member now running.
    pub member: String,
}

/// One batch's ensemble: per image, who broke it; per member, its counts (robust accuracy
/// left for the caller to fill). `on_member` is told each member before it runs and cancels the
/// batch by returning `false` (then `None`).
pub async fn autoattack_batch(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &AutoAttackConfig,
    mut on_member: impl FnMut(&str) -> bool,
) -> Result<Option<(Vec<EnsembleSample>, Vec<MemberResult>)>> {
    crate::runtime::readback::check_finite(&images).await?;
    config.validate()?;
    if !matches!(threat.goal(), Goal::Untargeted) {
        return Err(Error::InvalidArgument(
            "AutoAttack evaluates untargeted robustness: drop the target".into(),
        ));
    }
    let images = images.detach().without_autodiff();
    let n = images.dims()[0];
    let clean = model.logits(images.clone()).without_autodiff();
    let classes = clean.dims()[1];
    threat.check_batch(images.dims(), labels, classes)?;
    let predicted = read_f32(clean.argmax(1).reshape([n]).float()).await?;
    let mut samples: Vec<EnsembleSample> = (0..n)
        .map(|k| EnsembleSample {
            clean_correct: predicted[k] as usize == labels[k],
            broken_by: None,
            predicted: predicted[k] as usize,
        })
        .collect();
    let list = config.members(classes);
    let mut members: Vec<MemberResult> = list
        .iter()
        .map(|(name, attack)| MemberResult {
            attack: name.clone(),
            attacked: 0,
            broken: 0,
            robust_accuracy: 0.0,
            queries: attack.is_query_only().then_some(0),
        })
        .collect();
    for (m, (name, attack)) in list.iter().enumerate() {
        let robust: Vec<usize> = (0..n)
            .filter(|&k| samples[k].clean_correct && samples[k].broken_by.is_none())
            .collect();
        if robust.is_empty() {
            break;
        }
        if !on_member(name) {
            return Ok(None);
        }
        let subset = images
            .clone()
            .select(0, int_tensor(&robust, &images.device()));
        let subset_labels: Vec<usize> = robust.iter().map(|&k| labels[k]).collect();
        let outcome = attack
            .run(model, subset, &subset_labels, threat, |_| true)
            .await?;
        members[m].attacked += robust.len();
        for (s, &k) in outcome.samples.iter().zip(&robust) {
            if let (Some(q), Some(spent)) = (members[m].queries.as_mut(), s.queries) {
                *q += spent;
            }
            if s.success {
                samples[k].broken_by = Some(name.clone());
                samples[k].predicted = s.predicted;
                members[m].broken += 1;
            }
        }
    }
    Ok(Some((samples, members)))
}

/// Run AutoAttack over `data` in batches under an untargeted `threat`. A cancelled run reports
/// the whole batches before it.
pub async fn autoattack(
    model: &impl Classifier,
    data: &dyn ImageSource,
    device: &Device,
    batch_size: usize,
    threat: &ThreatModel,
    config: &AutoAttackConfig,
    mut on_progress: impl FnMut(EnsembleProgress) -> bool,
) -> Result<AutoAttackReport> {
    if batch_size == 0 || data.is_empty() {
        return Err(Error::InvalidArgument(
            "need a batch size ≥ 1 and at least one image".into(),
        ));
    }
    let labels = data.class_labels();
    let indices: Vec<usize> = (0..labels.len()).collect();
    let batches = indices.len().div_ceil(batch_size);
    let mut samples: Vec<EnsembleSample> = Vec::with_capacity(labels.len());
    let mut members: Vec<MemberResult> = Vec::new();
    let mut cancelled = false;
    for (batch, chunk) in indices.chunks(batch_size).enumerate() {
        let (images, _) = data.batch(chunk, device)?;
        let batch_labels: Vec<usize> = chunk.iter().map(|&i| labels[i]).collect();
        let result = autoattack_batch(model, images, &batch_labels, threat, config, |member| {
            on_progress(EnsembleProgress {
                batch,
                batches,
                member: member.to_string(),
            })
        })
        .await?;
        let Some((batch_samples, batch_members)) = result else {
            cancelled = true;
            break;
        };
        samples.extend(batch_samples);
        if members.is_empty() {
            members = batch_members;
        } else {
            for (total, m) in members.iter_mut().zip(batch_members) {
                total.attacked += m.attacked;
                total.broken += m.broken;
                if let (Some(t), Some(q)) = (total.queries.as_mut(), m.queries) {
                    *t += q;
                }
            }
        }
    }
    Ok(summarize(config, samples, members, cancelled))
}

/// The report of `samples` and `members` (robust accuracy after each member filled in).
pub fn summarize(
    config: &AutoAttackConfig,
    samples: Vec<EnsembleSample>,
    mut members: Vec<MemberResult>,
    cancelled: bool,
) -> AutoAttackReport {
    let n = samples.len().max(1) as f64;
    let clean = samples.iter().filter(|s| s.clean_correct).count();
    let mut robust = clean;
    for member in &mut members {
        robust -= member.broken;
        member.robust_accuracy = robust as f64 / n;
    }
    AutoAttackReport {
        config: config.clone(),
        images: samples.len(),
        clean_accuracy: clean as f64 / n,
        robust_accuracy: robust as f64 / n,
        members,
        samples,
        cancelled,
    }
}
