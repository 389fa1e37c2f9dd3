//! Evasion attacks (the paper's §III): the threat model, projection, objectives, PGD with
//! FGSM/FGM as its one-step case, C&W, the sweeps and transfer matrix built on them, and the
//! gradient-masking audit. Backend-generic and asynchronous (readbacks never block, so the same
//! code runs in the browser); natively, drive the futures with any executor or use
//! [`crate::blocking`].
//!
//! Functional in the manner of CleverHans v4: each attack is a function of a model, a batch, a
//! [`ThreatModel`] (what the adversary may do) and a config (how it searches).

mod audit;
mod cw;
mod finish;
mod method;
mod objective;
mod pgd;
mod project;
mod result;
mod settings;
mod sweep;
mod threat;
mod transfer;

pub use audit::rules as audit_rules;
pub use audit::{AuditConfig, AuditReport, AuditTarget, Check, Verdict, audit};
pub use cw::{CwConfig, carlini_wagner};
pub use method::Attack;
pub use objective::{AttackLoss, objective, succeeded};
pub use pgd::{PgdConfig, pgd};
pub use project::project;
pub use result::{AttackOutcome, AttackProgress, AttackSummary, SampleResult, TraceStep};
pub use settings::{AttackMethod, AttackSettings, CwSettings};
pub use sweep::{BatchProgress, CurvePoint, attack_dataset, robustness_curve};
pub use threat::{Goal, Norm, ThreatModel};
pub use transfer::{TransferMatrix, transfer_matrix};
