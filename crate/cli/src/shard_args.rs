//! `--shard I/N` and `--out FILE`, shared by the commands that run over a test set: run this
//! shard's units (resuming a partial report already on disk), then either stop (a shard of
//! several) or hand the records to the command's summary (the whole run).

use std::ops::Range;
use std::path::PathBuf;

use clap::Args;
use perturb::Result;
use perturb::shard::{Journal, PartialHeader, Shard};
use serde::Serialize;

/// Where a long run's work goes.
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Run only shard I of N (0 ≤ I < N): a balanced, contiguous run of the batches, written to
    /// --out; `perturb merge` puts the N files together into this command's report.
    #[arg(long, requires = "out")]
    pub shard: Option<Shard>,
    /// Write each finished batch to this partial report (JSON lines) as it goes; run the same
    /// command again to resume it after a kill or a requeue.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl ShardArgs {
    /// The shard to run (the whole run when none is named).
    pub fn shard(&self) -> Shard {
        self.shard.unwrap_or(Shard::WHOLE)
    }

    /// Run `unit` for every unit of this shard not yet in its partial report, recording each as
    /// it ends; then, when this is the whole run, `finish` makes the report of the records (after
    /// a shard of several, `perturb merge` does).
    #[allow(clippy::too_many_arguments)]
    pub fn run<T: Serialize>(
        &self,
        command: &str,
        settings: &impl Serialize,
        checksums: (String, String),
        units: usize,
        mut unit: impl FnMut(usize) -> Result<T>,
        finish: impl FnOnce(&Journal) -> Result<()>,
    ) -> Result<()> {
        // Through text, as a file holds them: the settings read back from a partial report then
        // equal these number for number.
        let text = serde_json::to_string(settings).expect("settings serialise");
        let settings: serde_json::Value = serde_json::from_str(&text).expect("JSON parses");
        let header = PartialHeader::new(
            command,
            settings,
            checksums.0,
            checksums.1,
            units,
            self.shard(),
        );
        let mut journal = match &self.out {
            Some(path) => Journal::open(path, header)?,
            None => Journal::in_memory(header),
        };
        let todo = journal.missing();
        if let Some(path) = journal.path() {
            if journal.dropped_torn_line() {
                eprintln!(
                    "{}: dropped a last line cut short by the previous run",
                    path.display()
                );
            }
            if journal.finished() > 0 {
                eprintln!(
                    "{}: resuming, {} of {} units already done",
                    path.display(),
                    journal.finished(),
                    journal.units().len()
                );
            }
        }
        let bar = crate::progress::bar(todo.len(), "batches");
        for u in todo {
            let record = unit(u)?;
            journal.record(u, &record)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let shard = self.shard();
        if shard.is_whole() {
            return finish(&journal);
        }
        let Range { start, end } = journal.units();
        eprintln!(
            "shard {shard}: units {start}..{end} of {units} in {}; merge all {} shards with \
             `perturb merge`",
            journal
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            shard.count
        );
        Ok(())
    }
}
