//! `perturb eval`: clean, PGD-robust and IBP-verified accuracy of a model on its test set, as
//! JSON, in shards if asked.

use clap::Args;
use perturb::blocking::block_on;
use perturb::data::ImageSource;
use perturb::eval::{EvalRecord, EvalSettings, Evaluation, evaluate_batch};
use perturb::shard::{Journal, units_of};
use perturb::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::model_args::ModelArgs;
use crate::shard_args::ShardArgs;

/// Arguments of `perturb eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// L∞ radius for PGD-robust and IBP-verified accuracy (clean only without it).
    #[arg(long)]
    eps: Option<f32>,
    /// PGD steps per restart.
    #[arg(long, default_value_t = 40)]
    pgd_steps: usize,
    /// PGD restarts.
    #[arg(long, default_value_t = 1)]
    restarts: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    #[command(flatten)]
    shards: ShardArgs,
}

/// What an evaluation is, as its partial reports record it.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    weights: String,
    architecture: String,
    dataset: String,
    settings: EvalSettings,
}

/// Run `perturb eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    if let Some(eps) = args.eps.filter(|e| !(e.is_finite() && *e > 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "--eps must be a number > 0, got {eps}"
        )));
    }
    if args.batch_size == 0 {
        return Err(Error::InvalidArgument(
            "--batch-size must be positive".into(),
        ));
    }
    let (device, model) = args.model.model()?;
    let data = args.model.test_set(&model, usize::MAX)?;
    let (architecture, weights) = args.model.describe()?;
    let settings = EvalSettings {
        batch_size: args.batch_size,
        epsilon: args.eps,
        pgd_steps: args.pgd_steps,
        restarts: args.restarts,
    };
    let plan = Plan {
        weights,
        architecture,
        dataset: data.kind().to_string(),
        settings,
    };
    let batches = units_of(data.len(), args.batch_size);
    let checksums = args.model.checksums(&data, &device)?;
    args.shards.run(
        "eval",
        &plan,
        checksums,
        batches.len(),
        |unit| {
            let indices: Vec<usize> = batches[unit].clone().collect();
            block_on(evaluate_batch(&model, &data, &device, &indices, &settings))
        },
        finish,
    )
}

/// The evaluation of a whole run's records, printed as JSON.
pub fn finish(journal: &Journal) -> Result<()> {
    let plan: Plan = crate::plan_of(journal)?;
    let records: Vec<EvalRecord> = journal.records()?;
    let evaluation = Evaluation::from_records(&plan.settings, &records);
    crate::print_json(&serde_json::json!({
        "weights": plan.weights,
        "architecture": plan.architecture,
        "dataset": plan.dataset,
        "evaluation": evaluation,
    }));
    Ok(())
}
