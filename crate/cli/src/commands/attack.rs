//! `perturb attack`: FGSM, PGD or APGD (with EOT or BPDA against a defence), C&W, or the
//! query-only Square and HopSkipJump, over a model, a data slice and one or more budgets, with a
//! progress bar and a JSON report.

use clap::Args;
use perturb::attack::{
    Attack, AttackLoss, AttackMethod, AttackSettings, BatchProgress, CurvePoint, CwSettings, Norm,
    robustness_curve,
};
use perturb::data::ImageSource;
use perturb::defense::DefenseSpec;
use perturb::{Error, Result};
use serde::Serialize;

use crate::model_args::ModelArgs;

/// Arguments of `perturb attack`.
#[derive(Debug, Args)]
pub struct AttackArgs {
    /// The attack.
    #[arg(long, value_enum, default_value = "pgd")]
    attack: AttackMethod,
    /// Budget(s), comma-separated, each > 0: one result per ε.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "0.1"
    )]
    eps: Vec<f32>,
    /// The norm of the budget.
    #[arg(long, value_enum, default_value = "linf")]
    norm: Norm,
    /// PGD or APGD steps, C&W Adam steps per search round, or HopSkipJump iterations (default 40).
    #[arg(long)]
    steps: Option<usize>,
    /// Square and HopSkipJump: queries each image may cost at most (default 5000).
    #[arg(long)]
    queries: Option<usize>,
    /// PGD step size; default 2.5·ε/steps.
    #[arg(long)]
    step_size: Option<f32>,
    /// PGD restarts.
    #[arg(long, default_value_t = 1)]
    restarts: usize,
    /// Start PGD at the clean image (BIM) instead of a random point of the ball.
    #[arg(long)]
    no_random_start: bool,
    /// The loss FGSM, PGD and APGD climb.
    #[arg(long, value_enum, default_value = "ce")]
    loss: AttackLoss,
    /// Seed of the random starts and of a randomized defence's draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Average each gradient over N draws of a randomized defence (EOT, Eq. 16).
    #[arg(long, default_value_t = 1)]
    eot: usize,
    /// Follow BPDA's straight-through gradients through a quantization defence.
    #[arg(long)]
    bpda: bool,
    /// C&W: confidence κ (default 0).
    #[arg(long)]
    cw_kappa: Option<f32>,
    /// C&W: starting constant c (default 0.01).
    #[arg(long)]
    cw_c: Option<f32>,
    /// C&W: binary-search rounds on c (default 6).
    #[arg(long)]
    cw_search: Option<usize>,
    /// C&W: Adam learning rate (default 0.05).
    #[arg(long)]
    cw_lr: Option<f32>,
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
    /// Print the report as JSON (otherwise a table).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    attack: AttackMethod,
    norm: Norm,
    arch: String,
    weights: String,
    defense: String,
    gradients: &'static str,
    dataset: String,
    images: usize,
    config: Attack,
    clean_accuracy: f64,
    robust_accuracy: f64,
    attack_success_rate: f64,
    per_epsilon: Vec<CurvePoint>,
}

impl AttackArgs {
    /// The attack as the core describes it; settings that do not apply to the method are refused.
    fn settings(&self) -> Result<AttackSettings> {
        if self.attack == AttackMethod::Fgsm && self.steps.is_some() {
            return Err(Error::InvalidArgument(
                "fgsm takes exactly one step: --steps applies to pgd, apgd, cw and hsj".into(),
            ));
        }
        if self.attack == AttackMethod::Square && self.steps.is_some() {
            return Err(Error::InvalidArgument(
                "square spends queries, not steps: use --queries".into(),
            ));
        }
        if self.bpda && self.attack.is_query_only() {
            return Err(Error::InvalidArgument(format!(
                "{} uses no gradients, so BPDA's straight-through gradients do not apply",
                self.attack
            )));
        }
        let any_cw = self.cw_kappa.is_some()
            || self.cw_c.is_some()
            || self.cw_search.is_some()
            || self.cw_lr.is_some();
        let d = CwSettings::default();
        let settings = AttackSettings {
            method: self.attack,
            norm: self.norm,
            epsilon: self.eps.first().copied().unwrap_or(f32::NAN),
            steps: self.steps.unwrap_or(AttackSettings::default().steps),
            step_size: self.step_size,
            restarts: self.restarts,
            random_start: !self.no_random_start,
            loss: self.loss,
            seed: self.seed,
            eot_samples: self.eot,
            target: None,
            cw: any_cw.then(|| CwSettings {
                confidence: self.cw_kappa.unwrap_or(d.confidence),
                initial_const: self.cw_c.unwrap_or(d.initial_const),
                search_rounds: self.cw_search.unwrap_or(d.search_rounds),
                learning_rate: self.cw_lr.unwrap_or(d.learning_rate),
            }),
            trace: false,
            queries: self.queries.unwrap_or(AttackSettings::default().queries),
        };
        if self.queries.is_some() && !self.attack.is_query_only() {
            return Err(Error::InvalidArgument(format!(
                "{} is a gradient attack: --queries applies to square and hsj",
                self.attack
            )));
        }
        if let Some(bad) = self.eps.iter().find(|e| !(e.is_finite() && **e > 0.0)) {
            return Err(Error::InvalidArgument(format!(
                "--eps values must be numbers > 0, got {bad}"
            )));
        }
        settings.validate()?;
        Ok(settings)
    }
}

/// Run `perturb attack`.
pub fn run(args: AttackArgs) -> Result<()> {
    let settings = args.settings()?;
    if args.batch_size == 0 || args.count == 0 {
        return Err(Error::InvalidArgument(
            "--count and --batch-size must be positive".into(),
        ));
    }
    if args.eot > 1 && !args.defense.randomized() {
        return Err(Error::InvalidArgument(
            "--eot averages over a randomized defence's draws: use --defense noise:SIGMA".into(),
        ));
    }
    let (device, base) = args.model.model()?;
    let data = args.model.test_set(&base, args.count)?;
    let (gradients, attacker) = if args.bpda {
        match args.defense.adaptive(&base, args.seed)? {
            Some(view) if view.attack == perturb::defense::AdaptiveAttack::Bpda => {
                ("bpda", view.model)
            }
            _ => {
                return Err(Error::InvalidArgument(
                    "--bpda needs a non-differentiable defence (--defense quantize:N)".into(),
                ));
            }
        }
    } else {
        ("true", args.defense.deploy(&base, args.seed)?)
    };
    let bar = crate::progress::bar(data.len() * args.eps.len(), "images");
    let per_epsilon = perturb::blocking::block_on(robustness_curve(
        &attacker,
        &data,
        &device,
        args.batch_size,
        settings.norm,
        &args.eps,
        |threat| settings.attack(threat),
        |p: BatchProgress| {
            bar.set_position(p.images as u64);
            true
        },
    ))?;
    bar.finish_and_clear();
    let first = &per_epsilon[0].summary;
    let (arch, weights) = args.model.describe()?;
    let report = Report {
        attack: settings.method,
        norm: settings.norm,
        arch,
        weights,
        defense: args.defense.to_string(),
        gradients,
        dataset: data.kind().to_string(),
        images: data.len(),
        config: settings.attack(&settings.threat(args.eps[0], 1)?),
        clean_accuracy: first.clean_accuracy,
        robust_accuracy: first.robust_accuracy,
        attack_success_rate: first.attack_success_rate,
        per_epsilon,
    };
    if args.json {
        crate::print_json(&report);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(report: &Report) {
    println!(
        "{} {} on {} {} images, clean accuracy {:.2}%",
        report.attack,
        report.norm,
        report.images,
        report.dataset,
        report.clean_accuracy * 100.0
    );
    let queries = report.attack.is_query_only();
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10}{}",
        "eps",
        "robust%",
        "success%",
        "med Linf",
        "med L2",
        if queries {
            "  med queries  mean queries"
        } else {
            ""
        }
    );
    for r in &report.per_epsilon {
        let s = &r.summary;
        let spent = match (s.median_queries, s.mean_queries) {
            (Some(med), Some(mean)) => format!(" {med:>12} {mean:>13.1}"),
            _ => String::new(),
        };
        println!(
            "{:>8} {:>10.2} {:>10.2} {:>10.4} {:>10.4}{spent}",
            r.epsilon,
            s.robust_accuracy * 100.0,
            s.attack_success_rate * 100.0,
            s.median_linf,
            s.median_l2
        );
    }
}
