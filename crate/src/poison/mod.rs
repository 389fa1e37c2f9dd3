//! Poisoning: attacks on the training set (the paper's §IV), the detectors that look for them,
//! and what they achieve.
//!
//! Every attack returns a [`PoisonedSet`]: the training set as the victim receives it and which
//! images changed, so training ([`crate::train`]), the metrics here and the detectors share one
//! description.
//! - Backdoors: [`badnets`] (dirty label: trigger + target label) and [`clean_label`] (Turner et
//!   al.: bounded PGD against a surrogate, then the trigger; labels kept).
//! - Targeted clean-label poisons aimed at one test image: [`feature_collision`] (Shafahi et al.)
//!   and [`gradient_matching`] (Geiping et al.).
//! - [`optimal_poisoning`] of a convex learner (Biggio et al.) through its optimum by implicit
//!   differentiation.
//! - Detectors on the penultimate layer: spectral signatures and activation clustering
//!   ([`detect`]).
//! - Metrics: [`backdoor_score`] (clean accuracy, attack success rate).
//! - [`run_experiment`]: clean baseline (and surrogate) → poisons → victim → detector → retrain,
//!   as the command line and the page run it.

mod badnets;
mod clean_label;
mod convex;
mod detect;
mod experiment;
mod feature_collision;
mod gradient_matching;
mod linalg;
mod metrics;
mod set;
mod trigger;

pub use badnets::{BadNetsConfig, badnets};
pub use clean_label::{CleanLabelConfig, clean_label};
pub use convex::{
    BinaryTask, LogisticRegression, OptimalPoisoning, OptimalPoisoningConfig, optimal_poisoning,
    poison_gradient, random_flips,
};
pub use detect::{
    ClassVerdict, Detection, DetectionScore, DetectorConfig, DetectorKind, detect, detect_features,
};
pub use experiment::{
    DefenseOutcome, ExperimentConfig, ModelOutcome, PoisonAttack, PoisonReport, Stage,
    VictimTraining, run_experiment,
};
pub use feature_collision::{CollisionReport, FeatureCollisionConfig, feature_collision};
pub use gradient_matching::{GradientMatchingConfig, MatchingReport, gradient_matching};
pub use metrics::{
    BackdoorScore, TriggerFlip, accuracy, attack_success_rate, backdoor_score, features, predict,
    trigger_flip, triggered,
};
pub use set::{Poison, PoisonedSet};
pub use trigger::{Corner, Trigger, TriggerPattern};
