//! Runs larger than one machine: a long command split into shards that an existing engine (Slurm
//! job arrays, Kubernetes Indexed Jobs) schedules, each writing a partial report, and an exact
//! merge. Nothing here talks to another process: shards share only files.
//!
//! A command's work is a list of *units* (a batch of images, or one image), each computed from its
//! own images and seeds alone, so a unit gives the same records whichever shard runs it, and
//! whether it runs in one go or after a restart. [`Shard`] picks a balanced, contiguous run of
//! units; a [`Journal`] keeps their records (append-only JSON lines, flushed and synced per unit,
//! a torn last line dropped on resume); [`merge`] checks a set of partial reports and hands back
//! every unit's record in order, for the command's own summary.

mod fingerprint;
mod journal;
mod merge;
mod plan;

pub use fingerprint::{bytes_sha256, data_fingerprint, file_sha256};
pub use journal::{Journal, PartialHeader};
pub use merge::merge;
pub use plan::{Shard, units_of};
