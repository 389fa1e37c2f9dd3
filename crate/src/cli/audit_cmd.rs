//! `perturb audit`: the gradient-masking sanity checks against a model behind an optional
//! defence, with the undefended model as transfer surrogate and BPDA/EOT as the adaptive attack.

use clap::Args;
use perturb::attack::{Adaptive, AuditConfig, AuditTarget, Verdict, audit};
use perturb::{Error, Result};

use super::defense_arg::DefenseArg;
use super::model_args::ModelArgs;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// L∞ budget of the attacks.
    #[arg(long, default_value_t = 0.3, allow_negative_numbers = true)]
    eps: f32,
    #[arg(long, default_value_t = 40)]
    steps: usize,
    #[arg(long, default_value_t = 1)]
    restarts: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// EOT draws per gradient for the adaptive attack on a randomized defence.
    #[arg(long, default_value_t = 16)]
    eot: usize,
    /// The model behind a defence: none, quantize:LEVELS or noise:SIGMA[:SHIFT].
    #[arg(long, default_value = "none")]
    defense: DefenseArg,
    #[command(flatten)]
    model: ModelArgs,
    /// Audit the first N test images (one batch).
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Print the report as JSON (otherwise a table).
    #[arg(long)]
    json: bool,
}

pub fn run(args: AuditArgs) -> Result<()> {
    if !(args.eps.is_finite() && args.eps > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "--eps must be a number > 0, got {}",
            args.eps
        )));
    }
    if args.count == 0 || args.steps == 0 || args.restarts == 0 || args.eot == 0 {
        return Err(Error::InvalidArgument(
            "--count, --steps, --restarts and --eot must be positive".into(),
        ));
    }
    args.defense.validate()?;
    let data = args.model.test_set()?.take(args.count);
    let (device, base) = args.model.model()?;
    let deployed = args.defense.wrap(&base, args.seed)?;
    let adaptive_view = args.defense.adaptive(&base, args.seed)?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let (images, _) = data.batch(&indices, &device)?;
    let labels = data.class_labels();
    let defended = args.defense != DefenseArg::None;
    let target = AuditTarget {
        model: &deployed,
        surrogate: defended.then_some(&base as &dyn perturb::model::Classifier),
        adaptive: adaptive_view.as_ref().map(|(name, view)| Adaptive {
            name,
            gradients: view,
            eot_samples: if args.defense.randomized() {
                args.eot
            } else {
                1
            },
        }),
    };
    let config = AuditConfig {
        epsilon: args.eps,
        steps: args.steps,
        restarts: args.restarts,
        seed: args.seed,
    };
    let report = pollster::block_on(audit(target, images, &labels, &config, |stage| {
        if !args.json {
            eprintln!("… {stage}");
        }
    }))?;
    if args.json {
        super::print_json(&report);
    } else {
        println!(
            "audit of {} ({:?}) on {} {} images at L∞ ε = {}: clean accuracy {:.1}%, {} of {} checks flagged",
            args.model.arch,
            args.defense,
            report.samples,
            data.kind.id(),
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
    }
    Ok(())
}
