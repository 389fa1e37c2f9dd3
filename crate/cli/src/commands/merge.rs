//! `perturb merge`: the partial reports of a sharded run, checked and put together into the
//! report the unsharded command prints.

use std::path::PathBuf;

use clap::Args;
use perturb::{Error, Result};

/// Arguments of `perturb merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Every shard's partial report (the --out files of `--shard 0/N` … `--shard N-1/N`), in any
    /// order.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// Print the report as JSON (attack and audit; the others always print JSON).
    #[arg(long)]
    json: bool,
    /// Write the chart as SVG here (certify).
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// Run `perturb merge`.
pub fn run(args: MergeArgs) -> Result<()> {
    let journal = perturb::shard::merge(&args.parts)?;
    match journal.header().command.as_str() {
        "attack" => super::attack::finish(&journal, args.json),
        "audit" => super::audit::finish(&journal, args.json),
        "certify" => super::certify::finish(&journal, args.plot.as_deref()),
        "eval" => super::eval::finish(&journal),
        "transfer" => super::transfer::finish(&journal),
        other => Err(Error::Format {
            what: "partial report",
            detail: format!("unknown command {other:?}"),
        }),
    }
}
