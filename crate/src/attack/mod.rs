//! Evasion attacks: the threat model, projection, objectives, and PGD with FGSM/FGM as its
//! one-step case. Backend-generic and asynchronous (readbacks never block, so the same code runs
//! in the browser); natively, drive the futures with any executor.

mod audit;
mod cw;
mod finish;
mod method;
mod objective;
mod pgd;
mod project;
mod result;
mod sweep;
mod threat;
mod transfer;

pub use audit::{Adaptive, AuditConfig, AuditReport, AuditTarget, Check, Verdict, audit};
pub use cw::{CwConfig, carlini_wagner};
pub use method::Attack;
pub use objective::{AttackLoss, objective, succeeded};
pub use pgd::{PgdConfig, pgd};
pub use project::project;
pub use result::{AttackOutcome, AttackProgress, AttackSummary, SampleResult, TraceStep};
pub use sweep::{BatchProgress, CurvePoint, attack_dataset, robustness_curve};
pub use threat::{Access, Goal, Norm, ThreatModel};
pub use transfer::{TransferMatrix, transfer_matrix};
