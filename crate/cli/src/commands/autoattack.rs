//! `perturb autoattack`: AutoAttack's ensemble over a model (behind an optional defence) and a
//! test slice, printed as AutoAttack's log (robust accuracy after each member) or as JSON.

use clap::Args;
use perturb::attack::{
    AutoAttackConfig, AutoAttackVersion, EnsembleProgress, Norm, ThreatModel, autoattack,
};
use perturb::data::ImageSource;
use perturb::defense::DefenseSpec;
use perturb::{Error, Result};

use crate::model_args::ModelArgs;

/// Arguments of `perturb autoattack`.
#[derive(Debug, Args)]
pub struct AutoAttackArgs {
    /// The budget ε (> 0).
    #[arg(long, default_value_t = 0.3, allow_negative_numbers = true)]
    eps: f32,
    /// The norm of the budget.
    #[arg(long, value_enum, default_value = "linf")]
    norm: Norm,
    /// standard (APGD-CE, APGD-T, FAB-T, Square) or rand (APGD-CE and APGD-DLR with EOT).
    #[arg(long, value_enum, default_value = "standard")]
    version: AutoAttackVersion,
    /// APGD and FAB iterations per run.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// APGD-T's and FAB-T's target classes (0 drops both).
    #[arg(long, default_value_t = 9)]
    targets: usize,
    /// Square's queries per image.
    #[arg(long, default_value_t = 5000)]
    queries: usize,
    /// EOT draws per gradient in the rand version.
    #[arg(long, default_value_t = 20)]
    eot: usize,
    /// Seed of every member's random draws (and of a randomized defence).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The model behind a defence: none, quantize:LEVELS or noise:SIGMA[:SHIFT].
    #[arg(long, default_value = "none")]
    defense: DefenseSpec,
    #[command(flatten)]
    model: ModelArgs,
    /// Attack the first N test images.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    /// Print the report as JSON (otherwise AutoAttack's log).
    #[arg(long)]
    json: bool,
}

/// Run `perturb autoattack`.
pub fn run(args: AutoAttackArgs) -> Result<()> {
    if !(args.eps.is_finite() && args.eps > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "--eps must be a number > 0, got {}",
            args.eps
        )));
    }
    if args.count == 0 || args.batch_size == 0 || args.steps == 0 || args.eot == 0 {
        return Err(Error::InvalidArgument(
            "--count, --batch-size, --steps and --eot must be positive".into(),
        ));
    }
    if args.queries < 2 {
        return Err(Error::InvalidArgument(format!(
            "--queries must be at least 2, got {}",
            args.queries
        )));
    }
    if args.version == AutoAttackVersion::Rand && !args.defense.randomized() {
        return Err(Error::InvalidArgument(
            "the rand version is for randomized defences: use --defense noise:SIGMA, or --version standard"
                .into(),
        ));
    }
    let (device, base) = args.model.model()?;
    let data = args.model.test_set(&base, args.count)?;
    let model = args.defense.deploy(&base, args.seed)?;
    let threat = ThreatModel::new(args.norm, args.eps)?;
    let config = AutoAttackConfig {
        version: args.version,
        steps: args.steps,
        targets: args.targets,
        square_queries: args.queries,
        eot_samples: args.eot,
        seed: args.seed,
    };
    let bar = crate::progress::bar(data.len().div_ceil(args.batch_size), "batches");
    let report = perturb::blocking::block_on(autoattack(
        &model,
        &data,
        &device,
        args.batch_size,
        &threat,
        &config,
        |p: EnsembleProgress| {
            bar.set_position(p.batch as u64);
            true
        },
    ))?;
    bar.finish_and_clear();
    if args.json {
        crate::print_json(&report);
        return Ok(());
    }
    let (arch, _) = args.model.describe()?;
    println!(
        "AutoAttack ({:?}) on {arch} ({}), {} {} images, {} ε = {}",
        args.version,
        args.defense,
        report.images,
        data.kind(),
        args.norm,
        args.eps
    );
    println!("initial accuracy: {:.2}%", report.clean_accuracy * 100.0);
    for m in &report.members {
        let queries = m
            .queries
            .map(|q| format!(", {q} queries"))
            .unwrap_or_default();
        println!(
            "robust accuracy after {}: {:.2}% (broke {} of {}{queries})",
            m.attack,
            m.robust_accuracy * 100.0,
            m.broken,
            m.attacked
        );
    }
    println!("robust accuracy: {:.2}%", report.robust_accuracy * 100.0);
    Ok(())
}
