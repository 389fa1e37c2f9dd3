//! "Which attack, with which settings": the one description the command line, the page and the
//! audit parse into, checked once, and turned into the threat model and the [`Attack`] to run.

use serde::{Deserialize, Serialize};

use super::apgd::ApgdConfig;
use super::cw::CwConfig;
use super::fab::FabConfig;
use super::hop_skip_jump::HopSkipJumpConfig;
use super::method::Attack;
use super::objective::AttackLoss;
use super::pgd::PgdConfig;
use super::square::SquareConfig;
use super::threat::{Norm, ThreatModel};
use crate::error::{Error, Result};

/// The attack families a user picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum AttackMethod {
    /// One signed-gradient step of length ε from the clean image (FGM for L2; Goodfellow et al.).
    Fgsm,
    /// Projected gradient descent from a random start (Madry et al.).
    Pgd,
    /// Carlini & Wagner's L2 attack (minimum norm; a success counts only within ε).
    Cw,
    /// Auto-PGD: momentum and a step size that adapts itself (Croce & Hein).
    Apgd,
    /// FAB: the smallest perturbation to the nearest decision boundary (minimum norm; a success
    /// counts only within ε; Croce & Hein).
    Fab,
    /// FAB-T: FAB aimed at each of the 9 most likely wrong classes in turn (AutoAttack's member).
    FabT,
    /// Square Attack: random search that sees only the scores (Andriushchenko et al.).
    Square,
    /// HopSkipJump: walks the decision boundary seeing only labels (Chen et al.).
    Hsj,
}

impl AttackMethod {
    /// Every method.
    pub const ALL: [AttackMethod; 8] = [
        Self::Fgsm,
        Self::Pgd,
        Self::Cw,
        Self::Apgd,
        Self::Fab,
        Self::FabT,
        Self::Square,
        Self::Hsj,
    ];

    /// Name as written in URLs and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Self::Fgsm => "fgsm",
            Self::Pgd => "pgd",
            Self::Cw => "cw",
            Self::Apgd => "apgd",
            Self::Fab => "fab",
            Self::FabT => "fab-t",
            Self::Square => "square",
            Self::Hsj => "hsj",
        }
    }

    /// Whether the method sees only the model's outputs (no gradients).
    pub fn is_query_only(self) -> bool {
        matches!(self, Self::Square | Self::Hsj)
    }

    /// Whether the method searches for the smallest perturbation (ε only bounds what counts).
    pub fn is_minimum_norm(self) -> bool {
        matches!(self, Self::Cw | Self::Fab | Self::FabT)
    }
}

crate::names::named_enum!(AttackMethod, "attack");

/// C&W's own settings (those of [`CwConfig`] a user chooses).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CwSettings {
    /// Confidence κ.
    pub confidence: f32,
    /// Starting constant c.
    pub initial_const: f32,
    /// Rounds of the binary search on c.
    pub search_rounds: usize,
    /// Adam's learning rate.
    pub learning_rate: f32,
}

impl Default for CwSettings {
    /// κ = 0, c = 0.01, 6 rounds, rate 0.05: a quicker search than Carlini & Wagner's 9 rounds
    /// from 1e-3 at 0.01, which finds the same minimum norms on MNIST.
    fn default() -> Self {
        Self {
            confidence: 0.0,
            initial_const: 1e-2,
            search_rounds: 6,
            learning_rate: 0.05,
        }
    }
}

/// An attack as a user describes it. `epsilon` is the budget of a single run; sweeps pass each
/// of their budgets to [`AttackSettings::attack`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttackSettings {
    /// The attack family.
    pub method: AttackMethod,
    /// The norm of the budget (C&W is L2 only).
    pub norm: Norm,
    /// The budget ε (for C&W, the largest L2 norm counted as a success).
    pub epsilon: f32,
    /// PGD, APGD or FAB steps per restart, C&W Adam steps per search round, or HopSkipJump's
    /// boundary iterations.
    pub steps: usize,
    /// PGD's step size; `None` is 2.5·ε/steps (Madry et al.).
    pub step_size: Option<f32>,
    /// PGD, APGD or FAB restarts; each sample keeps its strongest result (FAB: its first
    /// success within ε).
    pub restarts: usize,
    /// PGD starts from a random point of the ball (off: BIM from the clean image).
    pub random_start: bool,
    /// The loss PGD and FGSM climb.
    pub loss: AttackLoss,
    /// Seed of the random starts.
    pub seed: u64,
    /// Draws of a randomized model averaged per gradient (EOT, the paper's Eq. 16).
    pub eot_samples: usize,
    /// Aim at this class instead of any wrong one.
    pub target: Option<usize>,
    /// C&W's settings; `None` keeps their defaults (and must stay `None` for FGSM and PGD).
    pub cw: Option<CwSettings>,
    /// Record the batch's mean loss after every step.
    pub trace: bool,
    /// PGD reads the recorded means every this many steps (one round trip to the device each).
    #[serde(default = "default_trace_every")]
    pub trace_every: usize,
    /// Square and HopSkipJump: the queries each image may cost at most.
    #[serde(default = "default_queries")]
    pub queries: usize,
}

fn default_trace_every() -> usize {
    1
}

fn default_queries() -> usize {
    SquareConfig::default().queries
}

impl Default for AttackSettings {
    /// PGD-40 at L∞ ε = 0.1 from a random start, cross-entropy, seed 0.
    fn default() -> Self {
        Self {
            method: AttackMethod::Pgd,
            norm: Norm::Linf,
            epsilon: 0.1,
            steps: 40,
            step_size: None,
            restarts: 1,
            random_start: true,
            loss: AttackLoss::CrossEntropy,
            seed: 0,
            eot_samples: 1,
            target: None,
            cw: None,
            trace: false,
            trace_every: 1,
            queries: default_queries(),
        }
    }
}

impl AttackSettings {
    /// Refuse impossible values and settings that do not apply to the method, naming the setting
    /// (a silently ignored setting would report one attack as another).
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidArgument(why));
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return bad(format!(
                "epsilon must be a finite number > 0, got {}",
                self.epsilon
            ));
        }
        if self.steps == 0 || self.restarts == 0 || self.eot_samples == 0 {
            return bad("steps, restarts and EOT samples must be at least 1".into());
        }
        if let Some(alpha) = self.step_size
            && !(alpha.is_finite() && alpha > 0.0)
        {
            return bad(format!(
                "the step size must be a finite number > 0, got {alpha}"
            ));
        }
        let method = self.method;
        let d = Self::default();
        if self.queries < 2 {
            return bad(format!(
                "the query budget must be at least 2, got {}",
                self.queries
            ));
        }
        if method.is_query_only() {
            if self.step_size.is_some() || self.restarts > 1 || self.eot_samples > 1 {
                return bad(format!(
                    "{method} sees only the model's outputs: step size, restarts and EOT apply to gradient attacks"
                ));
            }
            if self.loss != d.loss {
                return bad(format!(
                    "{method} has its own objective: the loss setting applies to fgsm, pgd and apgd"
                ));
            }
            if !self.random_start {
                return bad(format!(
                    "{method} has no random start to turn off: it applies to pgd and apgd"
                ));
            }
            if self.cw.is_some() {
                return bad(format!("{method} has no C&W settings: they apply to cw"));
            }
            if method == AttackMethod::Hsj && self.target.is_some() {
                return bad("hsj is untargeted here: a target applies to the other attacks".into());
            }
            return Ok(());
        }
        if self.queries != d.queries {
            return bad(format!(
                "{method} is a gradient attack: a query budget applies to square and hsj"
            ));
        }
        match method {
            AttackMethod::Fgsm | AttackMethod::Cw if self.step_size.is_some() => {
                return bad(format!(
                    "{method} takes no step size (FGSM steps exactly ε; C&W's Adam has a learning rate): it applies to pgd"
                ));
            }
            AttackMethod::Fgsm | AttackMethod::Cw if self.restarts > 1 => {
                return bad(format!("{method} takes no restarts: they apply to pgd"));
            }
            AttackMethod::Fgsm | AttackMethod::Cw if !self.random_start => {
                return bad(format!(
                    "{method} has no random start to turn off: it applies to pgd"
                ));
            }
            AttackMethod::Cw if self.norm != Norm::L2 => {
                return bad("cw is an L2 attack: use the l2 norm".into());
            }
            AttackMethod::Cw if self.eot_samples > 1 => {
                return bad("cw does not average over draws: EOT applies to fgsm and pgd".into());
            }
            AttackMethod::Cw if self.loss != AttackLoss::CrossEntropy => {
                return bad(
                    "cw has its own margin loss: the loss setting applies to fgsm and pgd".into(),
                );
            }
            AttackMethod::Fgsm | AttackMethod::Pgd | AttackMethod::Apgd if self.cw.is_some() => {
                return bad(format!("{method} has no C&W settings: they apply to cw"));
            }
            AttackMethod::Fab | AttackMethod::FabT
                if self.step_size.is_some()
                    || self.eot_samples > 1
                    || self.loss != d.loss
                    || self.cw.is_some()
                    || !self.random_start =>
            {
                return bad(format!(
                    "{method} sets its own steps towards the boundary: step size, EOT, loss, C&W \
                     settings and --no-random-start do not apply (steps, restarts and seed do)"
                ));
            }
            AttackMethod::FabT if self.target.is_some() => {
                return bad("fab-t picks its own targets (the 9 most likely wrong classes): use fab with a target".into());
            }
            AttackMethod::Apgd if self.step_size.is_some() => {
                return bad(
                    "apgd sets its own step size (2ε, halved at checkpoints): --step-size applies to pgd"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// A copy with the settings that do not apply to the method put back to their defaults: a
    /// form keeps values for the other methods, and a run must not see them.
    pub fn applicable(self) -> Self {
        let d = Self::default();
        match self.method {
            AttackMethod::Pgd => Self {
                cw: None,
                queries: d.queries,
                ..self
            },
            AttackMethod::Fgsm => Self {
                step_size: None,
                restarts: 1,
                random_start: true,
                cw: None,
                queries: d.queries,
                ..self
            },
            AttackMethod::Cw => Self {
                norm: Norm::L2,
                step_size: None,
                restarts: 1,
                random_start: true,
                eot_samples: 1,
                loss: d.loss,
                queries: d.queries,
                ..self
            },
            AttackMethod::Apgd => Self {
                step_size: None,
                cw: None,
                queries: d.queries,
                ..self
            },
            AttackMethod::Fab | AttackMethod::FabT => Self {
                step_size: None,
                random_start: true,
                eot_samples: 1,
                loss: d.loss,
                cw: None,
                queries: d.queries,
                target: if self.method == AttackMethod::FabT {
                    None
                } else {
                    self.target
                },
                ..self
            },
            AttackMethod::Square | AttackMethod::Hsj => Self {
                step_size: None,
                restarts: 1,
                random_start: true,
                eot_samples: 1,
                loss: d.loss,
                cw: None,
                target: if self.method == AttackMethod::Hsj {
                    None
                } else {
                    self.target
                },
                ..self
            },
        }
    }

    /// The threat model at `epsilon` (untargeted, or aimed at the target for a batch of
    /// `samples` images).
    pub fn threat(&self, epsilon: f32, samples: usize) -> Result<ThreatModel> {
        let threat = ThreatModel::new(self.norm, epsilon)?;
        Ok(match self.target {
            Some(t) => threat.targeted(vec![t; samples]),
            None => threat,
        })
    }

    /// The attack to run against `threat`; PGD's default step size follows its ε.
    pub fn attack(&self, threat: &ThreatModel) -> Attack {
        match self.method {
            AttackMethod::Cw => {
                let cw = self.cw.unwrap_or_default();
                Attack::CarliniWagner(CwConfig {
                    confidence: cw.confidence,
                    initial_const: cw.initial_const,
                    binary_search_steps: cw.search_rounds,
                    steps: self.steps,
                    learning_rate: cw.learning_rate,
                    trace: self.trace,
                    ..CwConfig::default()
                })
            }
            AttackMethod::Fgsm => Attack::Pgd(PgdConfig {
                loss: self.loss,
                seed: self.seed,
                trace: self.trace,
                trace_every: self.trace_every,
                eot_samples: self.eot_samples,
                ..PgdConfig::fgsm(threat)
            }),
            AttackMethod::Apgd => Attack::Apgd(ApgdConfig {
                steps: self.steps,
                restarts: self.restarts,
                loss: self.loss,
                random_start: self.random_start,
                seed: self.seed,
                eot_samples: self.eot_samples,
                trace: self.trace,
                ..ApgdConfig::default()
            }),
            AttackMethod::Fab | AttackMethod::FabT => Attack::Fab(FabConfig {
                steps: self.steps,
                restarts: self.restarts,
                targets: if self.method == AttackMethod::FabT {
                    FabConfig::T_TARGETS
                } else {
                    0
                },
                seed: self.seed,
                ..FabConfig::default()
            }),
            AttackMethod::Square => Attack::Square(SquareConfig {
                queries: self.queries,
                seed: self.seed,
                ..SquareConfig::default()
            }),
            AttackMethod::Hsj => Attack::HopSkipJump(HopSkipJumpConfig {
                iterations: self.steps,
                queries: self.queries,
                seed: self.seed,
                ..HopSkipJumpConfig::default()
            }),
            AttackMethod::Pgd => {
                let base = PgdConfig::pgd(threat, self.steps);
                Attack::Pgd(PgdConfig {
                    step_size: self.step_size.unwrap_or(base.step_size),
                    restarts: self.restarts,
                    random_start: self.random_start,
                    loss: self.loss,
                    seed: self.seed,
                    trace: self.trace,
                    trace_every: self.trace_every,
                    eot_samples: self.eot_samples,
                    ..base
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_round_trip_through_text() {
        for m in AttackMethod::ALL {
            assert_eq!(m.to_string().parse::<AttackMethod>().unwrap(), m);
        }
        assert!("bim".parse::<AttackMethod>().is_err());
    }

    #[test]
    fn settings_that_do_not_apply_are_refused() {
        let fgsm = AttackSettings {
            method: AttackMethod::Fgsm,
            ..AttackSettings::default()
        };
        assert!(fgsm.validate().is_ok());
        let err = AttackSettings {
            step_size: Some(0.01),
            ..fgsm
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("step size"), "{err}");
        assert!(
            AttackSettings {
                restarts: 3,
                ..fgsm
            }
            .validate()
            .is_err()
        );
        let cw = AttackSettings {
            method: AttackMethod::Cw,
            norm: Norm::L2,
            ..AttackSettings::default()
        };
        assert!(cw.validate().is_ok());
        assert!(
            AttackSettings {
                norm: Norm::Linf,
                ..cw
            }
            .validate()
            .is_err()
        );
        assert!(
            AttackSettings {
                eot_samples: 4,
                ..cw
            }
            .validate()
            .is_err()
        );
        let pgd = AttackSettings::default();
        assert!(
            AttackSettings {
                cw: Some(CwSettings::default()),
                ..pgd
            }
            .validate()
            .is_err()
        );
        for eps in [0.0, -1.0, f32::NAN] {
            assert!(
                AttackSettings {
                    epsilon: eps,
                    ..pgd
                }
                .validate()
                .is_err()
            );
        }
    }

    #[test]
    fn fgsm_steps_exactly_epsilon_and_pgd_follows_its_budget() {
        let threat = ThreatModel::new(Norm::Linf, 0.2).unwrap();
        let fgsm = AttackSettings {
            method: AttackMethod::Fgsm,
            ..AttackSettings::default()
        };
        match fgsm.attack(&threat) {
            Attack::Pgd(c) => assert_eq!((c.steps, c.step_size, c.random_start), (1, 0.2, false)),
            other => panic!("{other:?}"),
        }
        match AttackSettings::default().attack(&threat) {
            Attack::Pgd(c) => assert!((c.step_size - 2.5 * 0.2 / 40.0).abs() < 1e-7),
            other => panic!("{other:?}"),
        }
    }
}
