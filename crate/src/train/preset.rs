//! Training presets: an objective named by its kind and one radius (ε, or σ for noise), with the
//! rest of its settings filled in the same way wherever a run is set up — the command line's full
//! runs and the page's quick runs in the tab.

use serde::{Deserialize, Serialize};

use super::TrainConfig;
use super::objective::Objective;
use super::schedule::{Optimizer, Schedule};
use crate::error::{Error, Result};

/// What a training run minimises, before its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ObjectiveKind {
    /// Cross-entropy on clean images.
    Standard,
    /// Madry et al.'s adversarial training (the paper's Eq. 14).
    Pgd,
    /// Gowal et al.'s interval-bound training.
    Ibp,
    /// Gaussian noise augmentation (the base classifier of randomized smoothing).
    Noise,
}

impl ObjectiveKind {
    /// Every kind.
    pub const ALL: [ObjectiveKind; 4] = [Self::Standard, Self::Pgd, Self::Ibp, Self::Noise];

    /// Name as written on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Pgd => "pgd",
            Self::Ibp => "ibp",
            Self::Noise => "noise",
        }
    }

    /// What a form shows.
    pub fn title(self) -> &'static str {
        match self {
            Self::Standard => "standard (clean cross-entropy)",
            Self::Pgd => "PGD adversarial training (Madry, Eq. 14)",
            Self::Ibp => "IBP training (Gowal)",
            Self::Noise => "Gaussian noise (Cohen)",
        }
    }

    /// Whether the radius is a noise σ rather than an L∞ ε.
    pub fn radius_is_sigma(self) -> bool {
        self == Self::Noise
    }

    /// Whether the objective needs a radius at all.
    pub fn needs_radius(self) -> bool {
        self != Self::Standard
    }
}

crate::names::named_enum!(ObjectiveKind, "objective");

/// The settings of an objective beyond its kind and radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveOptions {
    /// PGD training: steps of the inner attack.
    pub pgd_steps: usize,
    /// PGD training: step size; `None` is 2.5·ε/steps.
    pub pgd_step_size: Option<f32>,
    /// PGD training: fraction of the run over which ε grows from 0.
    pub eps_ramp: f32,
    /// IBP: fraction of the run trained clean first.
    pub warmup: f32,
    /// IBP: fraction of the run over which ε and κ ramp.
    pub ramp: f32,
    /// IBP: final weight of the clean loss.
    pub kappa_end: f32,
}

impl Default for ObjectiveOptions {
    /// Full runs: PGD-10 from the start, IBP with a 5% warm-up and a ramp over half the run to
    /// κ = ½ (Gowal et al.'s shape).
    fn default() -> Self {
        Self {
            pgd_steps: 10,
            pgd_step_size: None,
            eps_ramp: 0.0,
            warmup: 0.05,
            ramp: 0.5,
            kappa_end: 0.5,
        }
    }
}

impl ObjectiveOptions {
    /// Quick runs in a browser tab (a few hundred steps): PGD-5 with ε ramped over the first 30%,
    /// IBP warmed up for 10%.
    pub fn quick() -> Self {
        Self {
            pgd_steps: 5,
            eps_ramp: 0.3,
            warmup: 0.1,
            ..Self::default()
        }
    }

    /// The objective of `kind` at `radius` (ε for PGD and IBP, σ for noise; unused for standard
    /// training), checked.
    pub fn objective(&self, kind: ObjectiveKind, radius: Option<f32>) -> Result<Objective> {
        let radius = || {
            radius.ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{kind} training needs {}",
                    if kind.radius_is_sigma() {
                        "a noise σ"
                    } else {
                        "an ε"
                    }
                ))
            })
        };
        let objective = match kind {
            ObjectiveKind::Standard => Objective::Standard,
            ObjectiveKind::Pgd => {
                let epsilon = radius()?;
                Objective::Adversarial {
                    epsilon,
                    steps: self.pgd_steps,
                    step_size: self
                        .pgd_step_size
                        .unwrap_or(2.5 * epsilon / self.pgd_steps.max(1) as f32),
                    ramp: self.eps_ramp,
                }
            }
            ObjectiveKind::Ibp => Objective::Ibp {
                epsilon: radius()?,
                warmup: self.warmup,
                ramp: self.ramp,
                kappa_end: self.kappa_end,
            },
            ObjectiveKind::Noise => Objective::Noise { sigma: radius()? },
        };
        objective.validate()?;
        Ok(objective)
    }
}

/// The page's training run: batches of 50 with Adam at 1e-3, constant rate, the quick objective
/// settings, the loss read every 5 steps.
pub fn quick_config(
    kind: ObjectiveKind,
    radius: f32,
    epochs: usize,
    seed: u64,
) -> Result<TrainConfig> {
    let config = TrainConfig {
        epochs,
        batch_size: 50,
        learning_rate: 1e-3,
        optimizer: Optimizer::Adam,
        schedule: Schedule::Constant,
        objective: ObjectiveOptions::quick().objective(kind, Some(radius))?,
        seed,
        report_every: 5,
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_radii_make_objectives() {
        let o = ObjectiveOptions::default();
        assert_eq!(
            o.objective(ObjectiveKind::Standard, None).unwrap(),
            Objective::Standard
        );
        match o.objective(ObjectiveKind::Pgd, Some(0.3)).unwrap() {
            Objective::Adversarial {
                steps, step_size, ..
            } => {
                assert_eq!(steps, 10);
                assert!((step_size - 0.075).abs() < 1e-7);
            }
            other => panic!("{other:?}"),
        }
        let err = o
            .objective(ObjectiveKind::Noise, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("σ"), "{err}");
        assert!(o.objective(ObjectiveKind::Ibp, Some(-1.0)).is_err());
        for k in ObjectiveKind::ALL {
            assert_eq!(k.to_string().parse::<ObjectiveKind>().unwrap(), k);
        }
    }
}
