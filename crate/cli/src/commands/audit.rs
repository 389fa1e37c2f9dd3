//! `perturb audit`: the gradient-masking sanity checks against a model behind an optional
//! defence, with the undefended model as transfer surrogate, Square and AutoAttack set against
//! PGD, and BPDA/EOT as the adaptive attack.

use clap::Args;
use perturb::attack::{AuditConfig, AuditRecord, AuditReport, AuditTarget, Verdict, audit_batch};
use perturb::data::ImageSource;
use perturb::defense::DefenseSpec;
use perturb::model::Classifier;
use perturb::shard::{Journal, units_of};
use perturb::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::model_args::ModelArgs;
use crate::shard_args::ShardArgs;

/// Arguments of `perturb audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// L∞ budget of the attacks.
    #[arg(long, default_value_t = 0.3, allow_negative_numbers = true)]
    eps: f32,
    /// PGD steps.
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// PGD restarts.
    #[arg(long, default_value_t = 1)]
    restarts: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// EOT draws per gradient for the adaptive attack on a randomized defence (default 16).
    #[arg(long)]
    eot: Option<usize>,
    /// Square's queries per image in the black-box check (0 skips the check).
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Skip the AutoAttack check.
    #[arg(long)]
    no_autoattack: bool,
    /// The model behind a defence: none, quantize:LEVELS or noise:SIGMA[:SHIFT].
    #[arg(long, default_value = "none")]
    defense: DefenseSpec,
    #[command(flatten)]
    model: ModelArgs,
    /// Audit the first N test images.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Images per batch (one batch of all of them by default).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Print the report as JSON (otherwise a table).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    shards: ShardArgs,
}

/// What an audit is, as its partial reports record it.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    arch: String,
    defense: String,
    dataset: String,
    batch_size: usize,
    config: AuditConfig,
}

/// Run `perturb audit`.
pub fn run(args: AuditArgs) -> Result<()> {
    if !(args.eps.is_finite() && args.eps > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "--eps must be a number > 0, got {}",
            args.eps
        )));
    }
    if args.count == 0 || args.steps == 0 || args.restarts == 0 || args.eot == Some(0) {
        return Err(Error::InvalidArgument(
            "--count, --steps, --restarts and --eot must be positive".into(),
        ));
    }
    if args.queries == 1 {
        return Err(Error::InvalidArgument(
            "--queries must be 0 (skip the black-box check) or at least 2".into(),
        ));
    }
    if args.eot.is_some() && !args.defense.randomized() {
        return Err(Error::InvalidArgument(
            "--eot applies to a randomized defence (--defense noise:SIGMA)".into(),
        ));
    }
    if args.batch_size == Some(0) {
        return Err(Error::InvalidArgument(
            "--batch-size must be positive".into(),
        ));
    }
    let (device, base) = args.model.model()?;
    let data = args.model.test_set(&base, args.count)?;
    let labels = data.class_labels();
    let config = AuditConfig {
        epsilon: args.eps,
        steps: args.steps,
        restarts: args.restarts,
        seed: args.seed,
        black_box_queries: args.queries,
        autoattack: !args.no_autoattack,
    };
    let batch_size = args.batch_size.unwrap_or(data.len());
    let plan = Plan {
        arch: args.model.describe()?.0,
        defense: args.defense.to_string(),
        dataset: data.kind().to_string(),
        batch_size,
        config: config.clone(),
    };
    let batches = units_of(data.len(), batch_size);
    let checksums = args.model.checksums(&data, &device)?;
    args.shards.run(
        "audit",
        &plan,
        checksums,
        batches.len(),
        |unit| {
            let indices: Vec<usize> = batches[unit].clone().collect();
            // A randomized defence draws from a seed of its own batch (the same in any shard).
            let seed = args.seed.wrapping_add(batches[unit].start as u64);
            let deployed = args.defense.deploy(&base, seed)?;
            let mut adaptive = args.defense.adaptive(&base, seed)?;
            if let (Some(view), Some(eot)) = (adaptive.as_mut(), args.eot) {
                view.eot_samples = eot;
            }
            let (images, _) = data.batch(&indices, &device)?;
            let batch_labels: Vec<usize> = indices.iter().map(|&i| labels[i]).collect();
            let target = AuditTarget {
                model: &deployed,
                surrogate: (args.defense != DefenseSpec::None).then_some(&base as &dyn Classifier),
                adaptive,
            };
            perturb::blocking::block_on(audit_batch(
                target,
                images,
                &batch_labels,
                &config,
                |stage| {
                    if !args.json {
                        eprintln!("… {stage}");
                    }
                },
            ))
        },
        |journal| finish(journal, args.json),
    )
}

/// The audit of a whole run's records, printed as a table or JSON.
pub fn finish(journal: &Journal, json: bool) -> Result<()> {
    let plan: Plan = crate::plan_of(journal)?;
    let records: Vec<AuditRecord> = journal.records()?;
    let report = AuditReport::from_records(&plan.config, &records)?;
    if json {
        crate::print_json(&report);
        return Ok(());
    }
    println!(
        "audit of {} ({}) on {} {} images at L∞ ε = {}: clean accuracy {:.1}%, {} of {} checks flagged",
        plan.arch,
        plan.defense,
        report.samples,
        plan.dataset,
        report.epsilon,
        report.clean_accuracy * 100.0,
        report.flagged,
        report.checks.len()
    );
    for check in &report.checks {
        let mark = match check.verdict {
            Verdict::Pass => "pass",
            Verdict::Flag => "FLAG",
        };
        println!("  [{mark}] {:<38} {}", check.name, check.detail);
    }
    Ok(())
}
