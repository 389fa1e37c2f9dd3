//! A whole poisoning experiment, as the command line and the page run it: train a clean model
//! (the baseline, and the attacker's surrogate), craft the poisons against it, train the victim
//! on the poisoned set from the same seed, measure both, and optionally detect the poisons and
//! retrain without what was flagged.

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::clean_label::{CleanLabelConfig, clean_label};
use super::detect::{Detection, DetectionScore, DetectorConfig, DetectorKind, detect};
use super::feature_collision::{CollisionReport, FeatureCollisionConfig, feature_collision};
use super::gradient_matching::{GradientMatchingConfig, MatchingReport, gradient_matching};
use super::metrics::{BackdoorScore, accuracy, backdoor_score, predict};
use super::set::PoisonedSet;
use super::trigger::Trigger;
use super::{BadNetsConfig, badnets};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{ModelSpec, Sequential, TrainableNet};
use crate::train::{StepReport, TrainConfig, train};

/// The attack an experiment runs, with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "attack", rename_all = "kebab-case")]
pub enum PoisonAttack {
    /// Dirty-label backdoor.
    Badnets(BadNetsConfig),
    /// Label-consistent backdoor.
    CleanLabel(CleanLabelConfig),
    /// Targeted: test image `target_index` should become the base class.
    FeatureCollision {
        /// Settings.
        config: FeatureCollisionConfig,
        /// The target, an index into the test set.
        target_index: usize,
    },
    /// Targeted: test image `target_index` should become the adversarial class.
    GradientMatching {
        /// Settings.
        config: GradientMatchingConfig,
        /// The target, an index into the test set.
        target_index: usize,
    },
}

impl PoisonAttack {
    /// Its name, as the command line spells it.
    pub fn id(&self) -> &'static str {
        match self {
            Self::Badnets(_) => "badnets",
            Self::CleanLabel(_) => "clean-label",
            Self::FeatureCollision { .. } => "feature-collision",
            Self::GradientMatching { .. } => "gradient-matching",
        }
    }

    /// A backdoor's trigger and target class.
    pub fn backdoor(&self) -> Option<(Trigger, usize)> {
        match self {
            Self::Badnets(c) => Some((c.trigger, c.target)),
            Self::CleanLabel(c) => Some((c.trigger, c.target)),
            _ => None,
        }
    }

    /// Refuse settings that cannot poison `train` (before anything trains).
    pub fn validate(&self, train: &Dataset) -> Result<()> {
        match self {
            Self::Badnets(c) => c.validate(train),
            Self::CleanLabel(c) => c.validate(train),
            Self::FeatureCollision { config, .. } => config.validate(train),
            Self::GradientMatching { config, .. } => config.validate(train),
        }
    }

    /// A targeted poison's test image and the class it should take.
    pub fn targeted(&self) -> Option<(usize, usize)> {
        match self {
            Self::FeatureCollision {
                config,
                target_index,
            } => Some((*target_index, config.base_class)),
            Self::GradientMatching {
                config,
                target_index,
            } => Some((*target_index, config.adversarial_class)),
            _ => None,
        }
    }
}

/// Settings of [`run_experiment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// The attack.
    pub attack: PoisonAttack,
    /// The architecture of the baseline, the surrogate and the victim.
    pub spec: ModelSpec,
    /// How the baseline and the victim train (same seed for both).
    pub train: TrainConfig,
    /// How the victim (and a retrained model) learns from the poisoned set.
    pub victim: VictimTraining,
    /// Run this detector on the poisoned set with the victim's features, then retrain without
    /// what it flags.
    pub detector: Option<DetectorKind>,
    /// The detectors' settings.
    pub detector_config: DetectorConfig,
    /// Images per evaluation batch.
    pub batch_size: usize,
}

/// How the victim learns from the poisoned set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum VictimTraining {
    /// From fresh weights (the same seed as the clean model).
    Scratch,
    /// Every layer, starting from the clean model.
    FineTune,
    /// The final linear layer only, on the clean model's frozen features: the transfer-learning
    /// setting of Shafahi et al.'s one-shot kill.
    LastLayer,
}

/// A model measured after training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelOutcome {
    /// Accuracy on the test set.
    pub clean_accuracy: f64,
    /// Backdoors: the fraction of triggered test images of other classes sent to the target.
    pub attack_success_rate: Option<f64>,
    /// Targeted poisons: the class the target image is given.
    pub target_prediction: Option<usize>,
}

/// What the detector found, and the model retrained without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefenseOutcome {
    /// Which images were flagged, class by class.
    pub detection: Detection,
    /// Against the images really poisoned.
    pub score: DetectionScore,
    /// The model retrained on the images not flagged.
    pub retrained: ModelOutcome,
}

/// Everything an experiment measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoisonReport {
    /// The attack and its settings.
    pub attack: PoisonAttack,
    /// Training images the victim saw.
    pub train_images: usize,
    /// Poisoned images.
    pub poisons: usize,
    /// Their fraction of the training set.
    pub rate: f64,
    /// Largest pixel change of any poison outside its trigger (the ε budget a clean-label poison
    /// must keep).
    pub max_linf_outside_trigger: f32,
    /// Poisons whose label was changed.
    pub relabelled: usize,
    /// The model trained on the clean set.
    pub clean_model: ModelOutcome,
    /// The model trained on the poisoned set from the same seed.
    pub poisoned_model: ModelOutcome,
    /// Feature collision: how close the poisons came to the target.
    pub collision: Option<CollisionReport>,
    /// Gradient matching: how well the gradients aligned.
    pub matching: Option<MatchingReport>,
    /// The detector and the retrained model.
    pub defense: Option<DefenseOutcome>,
}

/// Where an experiment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Training the clean model.
    TrainClean,
    /// Crafting the poisons.
    Craft,
    /// Training the victim on the poisoned set.
    TrainPoisoned,
    /// Running the detector.
    Detect,
    /// Retraining without the flagged images.
    Retrain,
}

async fn train_model(
    spec: &ModelSpec,
    start: Option<(&TrainableNet, VictimTraining)>,
    data: &Dataset,
    config: &TrainConfig,
    device: &Device,
    on_step: &mut impl FnMut(Stage, &StepReport),
    stage: Stage,
) -> Result<TrainableNet> {
    let ad = device.clone().autodiff();
    ad.seed(config.seed);
    let model = match start {
        Some((net, VictimTraining::LastLayer)) => net.clone().fork(&ad).train_last_layer_only(),
        Some((net, _)) => net.clone().fork(&ad),
        None => TrainableNet::init(spec.clone(), config.seed, &ad)?,
    };
    train(model, data, config, &ad, |report, _| {
        on_step(stage, report);
        Ok(true)
    })
    .await
}

async fn outcome(
    model: &Sequential,
    test: &Dataset,
    attack: &PoisonAttack,
    batch_size: usize,
    device: &Device,
) -> Result<ModelOutcome> {
    if let Some((trigger, target)) = attack.backdoor() {
        let BackdoorScore {
            clean_accuracy,
            attack_success_rate,
            ..
        } = backdoor_score(model, test, &trigger, target, batch_size, device).await?;
        return Ok(ModelOutcome {
            clean_accuracy,
            attack_success_rate: Some(attack_success_rate),
            target_prediction: None,
        });
    }
    let clean_accuracy = accuracy(&predict(model, test, batch_size, device).await?, test);
    let target_prediction = match attack.targeted() {
        Some((index, _)) => Some(predict(model, &test.subset(&[index])?, 1, device).await?[0]),
        None => None,
    };
    Ok(ModelOutcome {
        clean_accuracy,
        attack_success_rate: None,
        target_prediction,
    })
}

/// Run the experiment `config` on `train`/`test` on `device` (its autodiff twin trains).
/// The poisons are crafted against `surrogate`, or against the clean model when `None` (Turner
/// et al. craft clean-label poisons against an adversarially trained model, whose perturbations
/// carry the other classes' features). `on_step` sees every training step of every stage;
/// `on_stage` each stage as it starts.
pub async fn run_experiment(
    train_set: &Dataset,
    test: &Dataset,
    config: &ExperimentConfig,
    surrogate: Option<&Sequential>,
    device: &Device,
    mut on_stage: impl FnMut(Stage),
    mut on_step: impl FnMut(Stage, &StepReport),
) -> Result<PoisonReport> {
    config.train.validate()?;
    config.detector_config.validate()?;
    config.attack.validate(train_set)?;
    if let Some((index, _)) = config.attack.targeted()
        && index >= test.len()
    {
        return Err(Error::InvalidArgument(format!(
            "the target image {index} is outside the test set's {} images",
            test.len()
        )));
    }
    let attack = &config.attack;
    on_stage(Stage::TrainClean);
    let clean_net = train_model(
        &config.spec,
        None,
        train_set,
        &config.train,
        device,
        &mut on_step,
        Stage::TrainClean,
    )
    .await?;
    let clean_model = clean_net.valid().sequential();
    let clean_outcome = outcome(&clean_model, test, attack, config.batch_size, device).await?;

    on_stage(Stage::Craft);
    device.seed(config.train.seed);
    let surrogate = surrogate.unwrap_or(&clean_model);
    let (set, collision, matching): (PoisonedSet, _, _) = match attack {
        PoisonAttack::Badnets(c) => (badnets(train_set, c)?, None, None),
        PoisonAttack::CleanLabel(c) => (
            clean_label(train_set, surrogate, c, device).await?,
            None,
            None,
        ),
        PoisonAttack::FeatureCollision {
            config: c,
            target_index,
        } => {
            let target = test.image_bytes(*target_index);
            let (set, report) = feature_collision(train_set, surrogate, target, c, device).await?;
            (set, Some(report), None)
        }
        PoisonAttack::GradientMatching {
            config: c,
            target_index,
        } => {
            let target = test.image_bytes(*target_index);
            let (set, report) = gradient_matching(train_set, surrogate, target, c, device).await?;
            (set, None, Some(report))
        }
    };

    on_stage(Stage::TrainPoisoned);
    let start = (config.victim != VictimTraining::Scratch).then_some((&clean_net, config.victim));
    let victim_net = train_model(
        &config.spec,
        start,
        &set.data,
        &config.train,
        device,
        &mut on_step,
        Stage::TrainPoisoned,
    )
    .await?;
    let victim = victim_net.valid().sequential();
    let poisoned_outcome = outcome(&victim, test, attack, config.batch_size, device).await?;

    let defense = match config.detector {
        None => None,
        Some(kind) => {
            on_stage(Stage::Detect);
            let detection =
                detect(&victim, &set.data, kind, &config.detector_config, device).await?;
            let score = detection.score(&set.mask())?;
            on_stage(Stage::Retrain);
            let kept = set.without(&detection.flagged)?;
            let retrained_net = train_model(
                &config.spec,
                start,
                &kept,
                &config.train,
                device,
                &mut on_step,
                Stage::Retrain,
            )
            .await?;
            let retrained = outcome(
                &retrained_net.valid().sequential(),
                test,
                attack,
                config.batch_size,
                device,
            )
            .await?;
            Some(DefenseOutcome {
                detection,
                score,
                retrained,
            })
        }
    };
    Ok(PoisonReport {
        attack: *attack,
        train_images: set.data.len(),
        poisons: set.poisons.len(),
        rate: set.rate(),
        max_linf_outside_trigger: set
            .poisons
            .iter()
            .map(|p| p.linf_outside_trigger)
            .fold(0.0, f32::max),
        relabelled: set
            .poisons
            .iter()
            .filter(|p| p.label != p.label_before)
            .count(),
        clean_model: clean_outcome,
        poisoned_model: poisoned_outcome,
        collision,
        matching,
        defense,
    })
}
