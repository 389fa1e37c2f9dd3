//! Evasion attacks (the paper's §III): the threat model, projection, objectives; white-box PGD
//! with FGSM/FGM as its one-step case, APGD, C&W and the minimum-norm FAB; query-only Square and HopSkipJump through a
//! counting [`BlackBox`]; the sweeps and transfer matrix built on them, and the gradient-masking
//! audit. Backend-generic and asynchronous (readbacks never block, so the same
//! code runs in the browser); natively, drive the futures with any executor or use
//! [`crate::blocking`].
//!
//! Functional in the manner of CleverHans v4: each attack is a function of a model, a batch, a
//! [`ThreatModel`] (what the adversary may do) and a config (how it searches).

mod apgd;
mod audit;
mod autoattack;
mod blackbox;
mod cw;
mod fab;
mod finish;
mod hop_skip_jump;
mod method;
mod objective;
mod pgd;
mod project;
mod result;
mod settings;
mod square;
mod sweep;
mod threat;
mod transfer;

pub use apgd::{ApgdConfig, apgd, apgd_from};
pub use audit::rules as audit_rules;
pub use audit::{
    AuditConfig, AuditRecord, AuditReport, AuditTarget, Check, Verdict, audit, audit_batch,
};
pub use autoattack::{
    AutoAttackConfig, AutoAttackReport, AutoAttackVersion, EnsembleProgress, EnsembleSample,
    MemberResult, autoattack, autoattack_batch, summarize as summarize_autoattack,
};
pub use blackbox::BlackBox;
pub use cw::{CwConfig, carlini_wagner};
pub use fab::{FabConfig, fab};
pub use hop_skip_jump::{HopSkipJumpConfig, hop_skip_jump};
pub use method::Attack;
pub use objective::{AttackLoss, objective, succeeded};
pub use pgd::{PgdConfig, pgd};
pub use project::project;
pub use result::{AttackOutcome, AttackProgress, AttackSummary, SampleResult, TraceStep};
pub use settings::{AttackMethod, AttackSettings, CwSettings};
pub use square::{SquareConfig, square};
pub use sweep::{
    BatchProgress, CurvePoint, attack_batch, attack_dataset, curve_from_samples, robustness_curve,
};
pub use threat::{Goal, Norm, ThreatModel};
pub use transfer::{TransferMatrix, TransferRecord, transfer_batch, transfer_matrix};
