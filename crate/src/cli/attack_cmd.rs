//! `perturb attack`: FGSM/PGD over a model, a data slice and one or more budgets, with a progress
//! bar and a JSON report.

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use perturb::attack::{AttackLoss, AttackSummary, Norm, PgdConfig, SampleResult, ThreatModel, pgd};
use perturb::{Error, Result};
use serde::Serialize;

use super::model_args::ModelArgs;

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum AttackKind {
    /// One signed-gradient step of size ε (FGM for L2).
    Fgsm,
    /// Projected gradient descent.
    Pgd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LossArg {
    Ce,
    Margin,
}

#[derive(Debug, Args)]
pub struct AttackArgs {
    #[arg(long, value_enum, default_value = "pgd")]
    attack: AttackKind,
    /// Budget(s), comma-separated, each > 0: one result per ε.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "0.1"
    )]
    eps: Vec<f32>,
    #[arg(long, default_value = "linf")]
    norm: String,
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Step size; default 2.5·ε/steps.
    #[arg(long)]
    step_size: Option<f32>,
    #[arg(long, default_value_t = 1)]
    restarts: usize,
    /// Start PGD at the clean image (BIM) instead of a random point of the ball.
    #[arg(long)]
    no_random_start: bool,
    #[arg(long, value_enum, default_value = "ce")]
    loss: LossArg,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    model: ModelArgs,
    /// Attack the first N test images.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    /// Print the report as JSON (otherwise a table).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct EpsilonResult {
    epsilon: f32,
    #[serde(flatten)]
    summary: AttackSummary,
}

#[derive(Debug, Serialize)]
struct Report {
    attack: AttackKind,
    norm: Norm,
    weights: String,
    dataset: &'static str,
    images: usize,
    config: PgdConfig,
    clean_accuracy: f64,
    robust_accuracy: f64,
    attack_success_rate: f64,
    per_epsilon: Vec<EpsilonResult>,
}

fn config_for(args: &AttackArgs, threat: &ThreatModel) -> PgdConfig {
    let base = match args.attack {
        AttackKind::Fgsm => PgdConfig::fgsm(threat),
        AttackKind::Pgd => PgdConfig {
            restarts: args.restarts,
            random_start: !args.no_random_start,
            ..PgdConfig::pgd(threat, args.steps)
        },
    };
    PgdConfig {
        step_size: args.step_size.unwrap_or(base.step_size),
        loss: match args.loss {
            LossArg::Ce => AttackLoss::CrossEntropy,
            LossArg::Margin => AttackLoss::Margin,
        },
        seed: args.seed,
        ..base
    }
}

pub fn run(args: AttackArgs) -> Result<()> {
    if let Some(bad) = args.eps.iter().find(|e| !(e.is_finite() && **e > 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "--eps values must be numbers > 0, got {bad}"
        )));
    }
    if args.batch_size == 0 || args.count == 0 {
        return Err(Error::InvalidArgument(
            "--count and --batch-size must be positive".into(),
        ));
    }
    let norm = Norm::from_id(&args.norm)?;
    let data = args.model.test_set()?.take(args.count);
    let (device, model) = args.model.model()?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let labels: Vec<usize> = data.labels().iter().map(|&l| l as usize).collect();
    let batches = indices.len().div_ceil(args.batch_size);
    let bar = ProgressBar::new((batches * args.eps.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} batches  {msg}  [{elapsed_precise}<{eta}]",
        )
        .expect("static template"),
    );
    let mut per_epsilon = Vec::new();
    let mut config = None;
    for &eps in &args.eps {
        let threat = ThreatModel::new(norm, eps)?;
        let cfg = config_for(&args, &threat);
        let mut samples: Vec<SampleResult> = Vec::with_capacity(data.len());
        for batch in indices.chunks(args.batch_size) {
            bar.set_message(format!("ε = {eps}"));
            let (images, _) = data.batch(batch, &device)?;
            let batch_labels: Vec<usize> = batch.iter().map(|&i| labels[i]).collect();
            let outcome =
                pollster::block_on(pgd(&model, images, &batch_labels, &threat, &cfg, |_| true))?;
            samples.extend(outcome.samples);
            bar.inc(1);
        }
        per_epsilon.push(EpsilonResult {
            epsilon: eps,
            summary: AttackSummary::from_samples(&samples, &labels),
        });
        config.get_or_insert(cfg);
    }
    bar.finish_and_clear();
    let first = &per_epsilon[0].summary;
    let report = Report {
        attack: args.attack,
        norm,
        weights: args.model.weights.display().to_string(),
        dataset: data.kind.id(),
        images: data.len(),
        config: config.expect("at least one ε"),
        clean_accuracy: first.clean_accuracy,
        robust_accuracy: first.robust_accuracy,
        attack_success_rate: first.attack_success_rate,
        per_epsilon,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        );
    } else {
        println!(
            "{:?} {:?} on {} {} images, clean accuracy {:.2}%",
            report.attack,
            norm,
            report.images,
            report.dataset,
            report.clean_accuracy * 100.0
        );
        println!(
            "{:>8} {:>10} {:>10} {:>10} {:>10}",
            "eps", "robust%", "success%", "med Linf", "med L2"
        );
        for r in &report.per_epsilon {
            println!(
                "{:>8} {:>10.2} {:>10.2} {:>10.4} {:>10.4}",
                r.epsilon,
                r.summary.robust_accuracy * 100.0,
                r.summary.attack_success_rate * 100.0,
                r.summary.median_linf,
                r.summary.median_l2
            );
        }
    }
    Ok(())
}
