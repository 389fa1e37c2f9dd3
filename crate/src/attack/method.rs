//! One type for "which attack, with which settings", so the CLI, the page and the sweeps can
//! treat every attack alike.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::apgd::{ApgdConfig, apgd};
use super::cw::{CwConfig, carlini_wagner};
use super::fab::{FabConfig, fab};
use super::hop_skip_jump::{HopSkipJumpConfig, hop_skip_jump};
use super::pgd::{PgdConfig, pgd};
use super::result::{AttackOutcome, AttackProgress};
use super::square::{SquareConfig, square};
use super::threat::ThreatModel;
use crate::error::Result;
use crate::model::Classifier;

/// An attack and its settings. FGSM/FGM and BIM are PGD configurations
/// ([`PgdConfig::fgsm`], `random_start: false`); EOT is PGD or APGD with `eot_samples > 1`; BPDA
/// is a gradient attack on a defence's straight-through view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Attack {
    /// Projected gradient descent (FGSM when one step from the clean image).
    Pgd(PgdConfig),
    /// Carlini & Wagner L2.
    CarliniWagner(CwConfig),
    /// Auto-PGD (CE or DLR; APGD-T when aimed).
    Apgd(ApgdConfig),
    /// FAB, the minimum-norm attack (FAB-T when it has targets).
    Fab(FabConfig),
    /// Square Attack: score-based, query-only.
    Square(SquareConfig),
    /// HopSkipJump: decision-based, query-only.
    HopSkipJump(HopSkipJumpConfig),
}

impl Attack {
    /// Whether the attack sees only the model's outputs (it runs through a [`super::BlackBox`]).
    pub fn is_query_only(&self) -> bool {
        matches!(self, Attack::Square(_) | Attack::HopSkipJump(_))
    }

    /// Run on one batch.
    pub async fn run(
        &self,
        model: &impl Classifier,
        images: Tensor<4>,
        labels: &[usize],
        threat: &ThreatModel,
        on_progress: impl FnMut(AttackProgress) -> bool,
    ) -> Result<AttackOutcome> {
        match self {
            Attack::Pgd(config) => pgd(model, images, labels, threat, config, on_progress).await,
            Attack::CarliniWagner(config) => {
                carlini_wagner(model, images, labels, threat, config, on_progress).await
            }
            Attack::Apgd(config) => apgd(model, images, labels, threat, config, on_progress).await,
            Attack::Fab(config) => fab(model, images, labels, threat, config, on_progress).await,
            Attack::Square(config) => {
                square(model, images, labels, threat, config, on_progress).await
            }
            Attack::HopSkipJump(config) => {
                hop_skip_jump(model, images, labels, threat, config, on_progress).await
            }
        }
    }
}
