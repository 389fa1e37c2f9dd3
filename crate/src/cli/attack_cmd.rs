//! `perturb attack`: FGSM, PGD (with EOT or BPDA against a defence) or C&W over a model, a data
//! slice and one or more budgets, with a progress bar and a JSON report.

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use perturb::attack::{
    Attack, AttackLoss, BatchProgress, CurvePoint, CwConfig, Norm, PgdConfig, ThreatModel,
    robustness_curve,
};
use perturb::{Error, Result};
use serde::Serialize;

use super::defense_arg::DefenseArg;
use super::model_args::ModelArgs;

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum AttackKind {
    /// One signed-gradient step of size ε (FGM for L2).
    Fgsm,
    /// Projected gradient descent.
    Pgd,
    /// Carlini & Wagner L2 (minimum norm; a success counts only within ε).
    Cw,
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
    /// Average each gradient over N draws of a randomized defence (EOT, Eq. 16).
    #[arg(long, default_value_t = 1)]
    eot: usize,
    /// Follow BPDA's straight-through gradients through a quantization defence.
    #[arg(long)]
    bpda: bool,
    /// C&W: confidence κ.
    #[arg(long, default_value_t = 0.0)]
    cw_kappa: f32,
    /// C&W: starting constant c.
    #[arg(long, default_value_t = 1e-2)]
    cw_c: f32,
    /// C&W: binary-search rounds on c.
    #[arg(long, default_value_t = 6)]
    cw_search: usize,
    /// C&W: Adam learning rate.
    #[arg(long, default_value_t = 0.05)]
    cw_lr: f32,
    /// The model behind a defence: none, quantize:LEVELS or noise:SIGMA[:SHIFT].
    #[arg(long, default_value = "none")]
    defense: DefenseArg,
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
struct Report {
    attack: AttackKind,
    norm: Norm,
    arch: String,
    weights: String,
    defense: String,
    gradients: &'static str,
    dataset: &'static str,
    images: usize,
    config: Attack,
    clean_accuracy: f64,
    robust_accuracy: f64,
    attack_success_rate: f64,
    per_epsilon: Vec<CurvePoint>,
}

fn attack_for(args: &AttackArgs, threat: &ThreatModel) -> Attack {
    let base = match args.attack {
        AttackKind::Fgsm => PgdConfig::fgsm(threat),
        AttackKind::Pgd => PgdConfig {
            restarts: args.restarts,
            random_start: !args.no_random_start,
            ..PgdConfig::pgd(threat, args.steps)
        },
        AttackKind::Cw => {
            return Attack::CarliniWagner(CwConfig {
                confidence: args.cw_kappa,
                initial_const: args.cw_c,
                binary_search_steps: args.cw_search,
                steps: args.steps,
                learning_rate: args.cw_lr,
                ..CwConfig::default()
            });
        }
    };
    Attack::Pgd(PgdConfig {
        step_size: args.step_size.unwrap_or(base.step_size),
        loss: match args.loss {
            LossArg::Ce => AttackLoss::CrossEntropy,
            LossArg::Margin => AttackLoss::Margin,
        },
        seed: args.seed,
        eot_samples: args.eot,
        ..base
    })
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
    if args.eot == 0 {
        return Err(Error::InvalidArgument("--eot must be at least 1".into()));
    }
    args.defense.validate()?;
    let norm = Norm::from_id(&args.norm)?;
    let data = args.model.test_set()?.take(args.count);
    let (device, base) = args.model.model()?;
    let deployed = args.defense.wrap(&base, args.seed)?;
    let (gradients, attacker) = if args.bpda {
        match args.defense.adaptive(&base, args.seed)? {
            Some(("BPDA", view)) => ("bpda", view),
            _ => {
                return Err(Error::InvalidArgument(
                    "--bpda needs a non-differentiable defence (--defense quantize:N)".into(),
                ));
            }
        }
    } else {
        ("true", deployed)
    };
    let batches = data.len().div_ceil(args.batch_size) * args.eps.len();
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} batches  [{elapsed_precise}<{eta}]")
            .expect("static template"),
    );
    let per_epsilon = pollster::block_on(robustness_curve(
        &attacker,
        &data,
        &device,
        args.batch_size,
        norm,
        &args.eps,
        |threat| attack_for(&args, threat),
        |p: BatchProgress| {
            bar.set_position(p.done as u64);
            true
        },
    ))?;
    bar.finish_and_clear();
    let first = &per_epsilon[0].summary;
    let report = Report {
        attack: args.attack,
        norm,
        arch: args.model.arch.clone(),
        weights: args.model.weights.display().to_string(),
        defense: format!("{:?}", args.defense),
        gradients,
        dataset: data.kind.id(),
        images: data.len(),
        config: attack_for(&args, &ThreatModel::new(norm, args.eps[0])?),
        clean_accuracy: first.clean_accuracy,
        robust_accuracy: first.robust_accuracy,
        attack_success_rate: first.attack_success_rate,
        per_epsilon,
    };
    if args.json {
        super::print_json(&report);
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
