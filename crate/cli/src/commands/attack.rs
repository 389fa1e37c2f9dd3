//! `perturb attack`: FGSM, PGD or APGD (with EOT or BPDA against a defence), the minimum-norm
//! C&W and FAB, or the query-only Square and HopSkipJump, over a model, a data slice and one or
//! more budgets, with a progress bar and a JSON report.

use clap::Args;
use perturb::attack::{
    Attack, AttackLoss, AttackMethod, AttackSettings, CurvePoint, CwSettings, FabConfig, Norm,
    SampleResult, ThreatModel, attack_batch, curve_from_samples,
};
use perturb::data::ImageSource;
use perturb::defense::DefenseSpec;
use perturb::shard::{Journal, units_of};
use perturb::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::model_args::ModelArgs;
use crate::shard_args::ShardArgs;

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
    /// PGD or APGD steps (default 40), FAB steps (default 100), C&W Adam steps per search round
    /// (default 40), or HopSkipJump iterations (default 40).
    #[arg(long)]
    steps: Option<usize>,
    /// Square and HopSkipJump: queries each image may cost at most (default 5000).
    #[arg(long)]
    queries: Option<usize>,
    /// PGD step size; default 2.5·ε/steps.
    #[arg(long)]
    step_size: Option<f32>,
    /// PGD, APGD or FAB restarts.
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
    #[command(flatten)]
    shards: ShardArgs,
}

/// What a run is, as its partial reports record it: everything the report needs besides the
/// per-image records.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    attack: AttackMethod,
    norm: Norm,
    eps: Vec<f32>,
    arch: String,
    weights: String,
    defense: String,
    gradients: String,
    dataset: String,
    images: usize,
    batch_size: usize,
    config: Attack,
}

/// One batch at one budget: its images' labels and results.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    labels: Vec<usize>,
    samples: Vec<SampleResult>,
}

#[derive(Debug, Serialize)]
struct Report {
    #[serde(flatten)]
    plan: Plan,
    clean_accuracy: f64,
    robust_accuracy: f64,
    attack_success_rate: f64,
    per_epsilon: Vec<CurvePoint>,
    /// Minimum-norm attacks (C&W, FAB): per image at the first ε, the norm of the smallest
    /// adversarial found within it (`null` where none was, or the image was misclassified).
    #[serde(skip_serializing_if = "Option::is_none")]
    minimum_norms: Option<Vec<Option<f32>>>,
}

impl AttackArgs {
    /// The attack as the core describes it; settings that do not apply to the method are refused.
    fn settings(&self) -> Result<AttackSettings> {
        if self.attack == AttackMethod::Fgsm && self.steps.is_some() {
            return Err(Error::InvalidArgument(
                "fgsm takes exactly one step: --steps applies to pgd, apgd, fab, cw and hsj".into(),
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
            steps: self.steps.unwrap_or(match self.attack {
                AttackMethod::Fab | AttackMethod::FabT => FabConfig::default().steps,
                _ => AttackSettings::default().steps,
            }),
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
            trace_every: 1,
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
    let bpda = args.bpda;
    if bpda && args.defense.adaptive_attack() != Some(perturb::defense::AdaptiveAttack::Bpda) {
        return Err(Error::InvalidArgument(
            "--bpda needs a non-differentiable defence (--defense quantize:N)".into(),
        ));
    }
    let (arch, weights) = args.model.describe()?;
    let plan = Plan {
        attack: settings.method,
        norm: settings.norm,
        eps: args.eps.clone(),
        arch,
        weights,
        defense: args.defense.to_string(),
        gradients: if bpda { "bpda" } else { "true" }.into(),
        dataset: data.kind().to_string(),
        images: data.len(),
        batch_size: args.batch_size,
        config: settings.attack(&settings.threat(args.eps[0], 1)?),
    };
    let batches = units_of(data.len(), args.batch_size);
    let labels = data.class_labels();
    let checksums = args.model.checksums(&data, &device)?;
    args.shards.run(
        "attack",
        &plan,
        checksums,
        batches.len() * args.eps.len(),
        |unit| {
            let (e, b) = (unit / batches.len(), unit % batches.len());
            let indices: Vec<usize> = batches[b].clone().collect();
            // A randomized defence draws from a seed of its own batch, so every batch is the
            // same whichever shard runs it.
            let seed = args.seed.wrapping_add(batches[b].start as u64);
            let attacker = if bpda {
                args.defense
                    .adaptive(&base, seed)?
                    .expect("checked above")
                    .model
            } else {
                args.defense.deploy(&base, seed)?
            };
            let threat = ThreatModel::new(settings.norm, args.eps[e])?;
            let outcome = perturb::blocking::block_on(attack_batch(
                &attacker,
                &data,
                &device,
                &indices,
                &threat,
                &settings.attack(&threat),
            ))?;
            Ok(Record {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                samples: outcome.samples,
            })
        },
        |journal| finish(journal, args.json),
    )
}

/// The report of a whole run's records (from this process or merged shards), printed.
pub fn finish(journal: &Journal, json: bool) -> Result<()> {
    let plan: Plan = crate::plan_of(journal)?;
    let records: Vec<Record> = journal.records()?;
    let per_eps = records.len() / plan.eps.len().max(1);
    let labels: Vec<usize> = records[..per_eps]
        .iter()
        .flat_map(|r| r.labels.iter().copied())
        .collect();
    let per_epsilon: Vec<Vec<SampleResult>> = records
        .chunks(per_eps.max(1))
        .map(|chunk| chunk.iter().flat_map(|r| r.samples.clone()).collect())
        .collect();
    let minimum_norms = plan.attack.is_minimum_norm().then(|| {
        per_epsilon[0]
            .iter()
            .map(|s| {
                (s.clean_correct && s.success).then_some(match plan.norm {
                    Norm::Linf => s.linf,
                    Norm::L2 => s.l2,
                })
            })
            .collect()
    });
    let per_epsilon = curve_from_samples(&plan.eps, &per_epsilon, &labels);
    let first = &per_epsilon[0].summary;
    let report = Report {
        plan,
        clean_accuracy: first.clean_accuracy,
        robust_accuracy: first.robust_accuracy,
        attack_success_rate: first.attack_success_rate,
        per_epsilon,
        minimum_norms,
    };
    if json {
        crate::print_json(&report);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(report: &Report) {
    println!(
        "{} {} on {} {} images, clean accuracy {:.2}%",
        report.plan.attack,
        report.plan.norm,
        report.plan.images,
        report.plan.dataset,
        report.clean_accuracy * 100.0
    );
    let queries = report.plan.attack.is_query_only();
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
    if let Some(norms) = &report.minimum_norms {
        let shown: Vec<String> = norms
            .iter()
            .take(MINIMUM_NORMS_SHOWN)
            .map(|n| n.map_or("-".into(), |n| format!("{n:.4}")))
            .collect();
        println!(
            "minimum {} norm per image at eps {} (first {} of {}; - not found or misclassified; \
             all with --json): {}",
            report.plan.norm,
            report.plan.eps[0],
            shown.len(),
            norms.len(),
            shown.join(" ")
        );
    }
}

/// Per-image minimum norms the table prints (the JSON report has them all).
const MINIMUM_NORMS_SHOWN: usize = 20;
