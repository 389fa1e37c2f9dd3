//! `perturb poison`: craft a poisoned training set, train on it beside a clean model from the same
//! seed, measure both, optionally detect the poisons and retrain without them; or poison a convex
//! learner (`--attack optimal`) and compare with random label flips.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use perturb::blocking::block_on;
use perturb::data::{Dataset, DatasetKind, Split};
use perturb::model::{ModelSpec, Sequential, read_weights_file};
use perturb::poison::{
    BadNetsConfig, BinaryTask, CleanLabelConfig, Corner, DetectorConfig, DetectorKind,
    ExperimentConfig, FeatureCollisionConfig, GradientMatchingConfig, LogisticRegression,
    ModelOutcome, OptimalPoisoningConfig, PoisonAttack, PoisonReport, Stage, Trigger,
    TriggerPattern, VictimTraining, optimal_poisoning, random_flips, run_experiment,
};
use perturb::train::{Optimizer, TrainConfig};
use perturb::{Error, Result};
use serde::Serialize;

use crate::DeviceArg;
use crate::plot::{Chart, Series};
use crate::progress::bar;

/// The attacks of `perturb poison`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AttackKind {
    /// Dirty-label backdoor (Gu et al.).
    Badnets,
    /// Label-consistent backdoor (Turner et al.).
    CleanLabel,
    /// Targeted clean-label poison by feature collision (Shafahi et al.).
    FeatureCollision,
    /// Targeted clean-label poison by gradient matching (Geiping et al.).
    GradientMatching,
    /// Optimal poisoning of a logistic regression (Biggio et al.).
    Optimal,
}

/// Arguments of `perturb poison`.
#[derive(Debug, Args)]
pub struct PoisonArgs {
    /// The attack.
    #[arg(long, value_enum)]
    attack: AttackKind,
    /// The data.
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetKind,
    /// The folder scripts/fetch-data.sh fills.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Train on only the first N training images.
    #[arg(long)]
    limit: Option<usize>,
    /// Measure on only the first N test images.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Backdoors: fraction of the training set poisoned.
    #[arg(long, default_value_t = 0.01)]
    rate: f32,
    /// Backdoors: the class triggered images should go to. Targeted poisons: the class the target
    /// image should become (default 0).
    #[arg(long, default_value_t = 0)]
    target: usize,
    /// Targeted poisons: the test image attacked (an index into the test set).
    #[arg(long, default_value_t = 0)]
    target_image: usize,
    /// Targeted poisons and --attack optimal: how many poisons.
    #[arg(long)]
    poisons: Option<usize>,
    /// Side of the trigger in pixels.
    #[arg(long, default_value_t = Trigger::default().size)]
    trigger_size: usize,
    /// Pixels between the trigger and the image's edges.
    #[arg(long, default_value_t = Trigger::default().margin)]
    trigger_margin: usize,
    /// Corner of the trigger.
    #[arg(long, value_enum, default_value = "bottom-right")]
    trigger_corner: Corner,
    /// Pattern of the trigger.
    #[arg(long, value_enum, default_value = "checkerboard")]
    trigger_pattern: TriggerPattern,
    /// L∞ budget of clean-label and gradient-matching perturbations (pixel units).
    #[arg(long)]
    eps: Option<f32>,
    /// Optimisation steps of the crafting (PGD, forward–backward, signed gradient or ascent).
    #[arg(long)]
    steps: Option<usize>,
    /// Feature collision: opacity of the target blended into the bases.
    #[arg(long)]
    opacity: Option<f32>,
    /// How the victim learns from the poisoned set: from scratch, by fine-tuning the clean model,
    /// or its last layer only on the clean model's frozen features (transfer learning).
    #[arg(long, value_enum, default_value = "scratch")]
    victim: VictimTraining,
    /// Detect the poisons with this detector and retrain without what it flags.
    #[arg(long, value_enum)]
    detect: Option<DetectorKind>,
    /// Spectral signatures: the largest poisoned fraction of a class expected.
    #[arg(long, default_value_t = DetectorConfig::default().expected_rate)]
    expected_rate: f32,
    /// Craft the poisons against these weights (of --arch) instead of the clean model trained
    /// here, e.g. models/mnist-small-cnn-pgd0.3.safetensors for clean-label poisons.
    #[arg(long)]
    surrogate: Option<PathBuf>,
    /// The architecture (a zoo name or a JSON layer spec).
    #[arg(long, default_value = "small-cnn")]
    arch: String,
    /// Passes over the training set (each model).
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Images per optimisation step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// --attack optimal: the two classes (first is −1).
    #[arg(long, value_delimiter = ',', default_value = "1,7")]
    classes: Vec<usize>,
    /// --attack optimal: training points of the learner.
    #[arg(long, default_value_t = 100)]
    train_size: usize,
    /// --attack optimal: validation points the attacker ascends on.
    #[arg(long, default_value_t = 500)]
    validation_size: usize,
    /// --attack optimal: the learner's L2 regularisation λ.
    #[arg(long, default_value_t = OptimalPoisoningConfig::default().lambda)]
    lambda: f64,
    /// Seed of the choice of poisons, the weights and the shuffle.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where it runs.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    /// Write a chart of the results (SVG).
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// Refuse flags that do not apply to the chosen attack.
fn check_flags(args: &PoisonArgs) -> Result<()> {
    use AttackKind::*;
    let a = args.attack;
    let refuse = |flag: &str, applies: &str| {
        Err(Error::InvalidArgument(format!(
            "{flag} applies to {applies}, not --attack {}",
            a.to_possible_value().expect("no skipped values").get_name()
        )))
    };
    if args.eps.is_some() && !matches!(a, CleanLabel | GradientMatching) {
        return refuse("--eps", "clean-label and gradient-matching");
    }
    if args.opacity.is_some() && a != FeatureCollision {
        return refuse("--opacity", "feature-collision");
    }
    if args.poisons.is_some() && matches!(a, Badnets | CleanLabel) {
        return refuse(
            "--poisons",
            "targeted and optimal poisons (backdoors take --rate)",
        );
    }
    if args.surrogate.is_some() && matches!(a, Badnets | Optimal) {
        return refuse(
            "--surrogate",
            "clean-label, feature-collision and gradient-matching",
        );
    }
    if args.detect.is_some() && a == Optimal {
        return refuse("--detect", "the neural-network attacks");
    }
    if args.classes.len() != 2 {
        return Err(Error::InvalidArgument(
            "--classes takes two classes, e.g. 1,7".into(),
        ));
    }
    Ok(())
}

fn trigger(args: &PoisonArgs) -> Trigger {
    Trigger {
        size: args.trigger_size,
        corner: args.trigger_corner,
        pattern: args.trigger_pattern,
        margin: args.trigger_margin,
        seed: args.seed,
    }
}

fn attack(args: &PoisonArgs) -> PoisonAttack {
    match args.attack {
        AttackKind::Badnets => PoisonAttack::Badnets(BadNetsConfig {
            rate: args.rate,
            target: args.target,
            trigger: trigger(args),
            seed: args.seed,
        }),
        AttackKind::CleanLabel => {
            let d = CleanLabelConfig::default();
            PoisonAttack::CleanLabel(CleanLabelConfig {
                rate: args.rate,
                target: args.target,
                trigger: trigger(args),
                epsilon: args.eps.unwrap_or(d.epsilon),
                steps: args.steps.unwrap_or(d.steps),
                seed: args.seed,
                ..d
            })
        }
        AttackKind::FeatureCollision => {
            let d = FeatureCollisionConfig::default();
            PoisonAttack::FeatureCollision {
                config: FeatureCollisionConfig {
                    base_class: args.target,
                    poisons: args.poisons.unwrap_or(d.poisons),
                    opacity: args.opacity.unwrap_or(d.opacity),
                    steps: args.steps.unwrap_or(d.steps),
                    seed: args.seed,
                    ..d
                },
                target_index: args.target_image,
            }
        }
        AttackKind::GradientMatching | AttackKind::Optimal => {
            let d = GradientMatchingConfig::default();
            PoisonAttack::GradientMatching {
                config: GradientMatchingConfig {
                    adversarial_class: args.target,
                    poisons: args.poisons.unwrap_or(d.poisons),
                    epsilon: args.eps.unwrap_or(d.epsilon),
                    steps: args.steps.unwrap_or(d.steps),
                    seed: args.seed,
                    ..d
                },
                target_index: args.target_image,
            }
        }
    }
}

fn load(args: &PoisonArgs) -> Result<(Dataset, Dataset)> {
    let mut train = Dataset::load_dir(args.dataset, Split::Train, &args.data_dir)?;
    if let Some(n) = args.limit {
        train = train.take(n);
    }
    let mut test = Dataset::load_dir(args.dataset, Split::Test, &args.data_dir)?;
    if let Some(n) = args.test_limit {
        test = test.take(n);
    }
    Ok((train, test))
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::TrainClean => "training the clean model",
        Stage::Craft => "crafting the poisons",
        Stage::TrainPoisoned => "training on the poisoned set",
        Stage::Detect => "detecting",
        Stage::Retrain => "retraining without the flagged images",
    }
}

fn describe(name: &str, o: &ModelOutcome, target_class: usize) -> String {
    let mut line = format!(
        "{name:<22} clean accuracy {:6.2}%",
        100.0 * o.clean_accuracy
    );
    if let Some(asr) = o.attack_success_rate {
        line += &format!("   attack success {:6.2}%", 100.0 * asr);
    }
    if let Some(p) = o.target_prediction {
        let verdict = if p == target_class { "flipped" } else { "held" };
        line += &format!("   target classified {p} ({verdict})");
    }
    line
}

fn print_report(report: &PoisonReport) {
    let target_class = report
        .attack
        .backdoor()
        .map(|b| b.1)
        .or(report.attack.targeted().map(|t| t.1))
        .unwrap_or(0);
    println!(
        "{}: {} of {} training images poisoned ({:.2}%), {} relabelled, largest change outside \
         the trigger {:.3}",
        report.attack.id(),
        report.poisons,
        report.train_images,
        100.0 * report.rate,
        report.relabelled,
        report.max_linf_outside_trigger
    );
    if let Some(c) = &report.collision {
        println!(
            "feature distance to the target: {:.3} → {:.3}",
            c.start_distance, c.end_distance
        );
    }
    if let Some(m) = &report.matching {
        println!(
            "gradient alignment with the target's: {:.3} → {:.3}",
            m.start_alignment, m.end_alignment
        );
    }
    println!(
        "{}",
        describe("clean model", &report.clean_model, target_class)
    );
    println!(
        "{}",
        describe("poisoned model", &report.poisoned_model, target_class)
    );
    if let Some(d) = &report.defense {
        println!(
            "{} flagged {} images: {} of {} poisons (precision {:.1}%, recall {:.1}%)",
            d.detection.detector,
            d.score.flagged,
            d.score.true_positives,
            d.score.poisons,
            100.0 * d.score.precision,
            100.0 * d.score.recall
        );
        println!("{}", describe("retrained", &d.retrained, target_class));
    }
}

fn experiment_chart(report: &PoisonReport) -> Chart {
    let mut models = vec![report.clean_model, report.poisoned_model];
    if let Some(d) = &report.defense {
        models.push(d.retrained);
    }
    let points = |get: &dyn Fn(&ModelOutcome) -> Option<f64>| {
        models
            .iter()
            .enumerate()
            .filter_map(|(i, m)| get(m).map(|v| ((i + 1) as f64, 100.0 * v)))
            .collect()
    };
    let mut series = vec![Series {
        name: "clean accuracy".into(),
        points: points(&|m| Some(m.clean_accuracy)),
    }];
    let asr = points(&|m| m.attack_success_rate);
    if !asr.is_empty() {
        series.push(Series {
            name: "attack success".into(),
            points: asr,
        });
    }
    Chart {
        title: format!(
            "{} ({:.2}% poisoned)",
            report.attack.id(),
            100.0 * report.rate
        ),
        x_label: "model: 1 clean, 2 poisoned, 3 retrained after detection".into(),
        y_label: "test images (%)".into(),
        series,
        log_y: false,
    }
}

/// What `--attack optimal` measured.
#[derive(Debug, Serialize)]
struct OptimalReport {
    classes: [usize; 2],
    train_points: usize,
    validation_points: usize,
    test_points: usize,
    lambda: f64,
    /// Test accuracy with the first k poisons, k = 0..=poisons, for each attack.
    optimal_test_accuracy: Vec<f64>,
    random_flip_test_accuracy: Vec<f64>,
    /// The attacker's validation loss after each poison.
    optimal_validation_loss: Vec<f64>,
}

fn run_optimal(args: &PoisonArgs) -> Result<()> {
    let classes = [args.classes[0], args.classes[1]];
    let (train, test) = load(args)?;
    let fit_points = BinaryTask::from_dataset(&train, classes, 0, args.train_size)?;
    let validation = BinaryTask::from_dataset(
        &train,
        classes,
        // The validation points come after the training points in the training split.
        train.len() / 2,
        args.validation_size,
    )?;
    let test_count = test
        .labels()
        .iter()
        .filter(|&&l| classes.contains(&usize::from(l)))
        .count();
    let test_points = BinaryTask::from_dataset(&test, classes, 0, test_count)?;
    let defaults = OptimalPoisoningConfig::default();
    let config = OptimalPoisoningConfig {
        poisons: args.poisons.unwrap_or(defaults.poisons),
        steps: args.steps.unwrap_or(defaults.steps),
        lambda: args.lambda,
        seed: args.seed,
        ..defaults
    };
    let progress = bar(config.poisons * config.steps, "ascent steps  {msg}");
    let result = optimal_poisoning(&fit_points, &validation, &config, |k, s, loss| {
        progress.set_position((k * config.steps + s + 1) as u64);
        progress.set_message(format!("poison {} validation loss {loss:.4}", k + 1));
    })?;
    progress.finish_and_clear();
    let accuracy_with = |poisons: &[(Vec<f64>, f64)]| -> Result<Vec<f64>> {
        (0..=poisons.len())
            .map(|k| {
                Ok(
                    LogisticRegression::fit(&fit_points.with(&poisons[..k]), config.lambda, None)?
                        .accuracy(&test_points),
                )
            })
            .collect()
    };
    // The random baseline: label-flipped copies from another draw than the attack's starts.
    let random = random_flips(&fit_points, config.poisons, args.seed.wrapping_add(1));
    let report = OptimalReport {
        classes,
        train_points: fit_points.len(),
        validation_points: validation.len(),
        test_points: test_points.len(),
        lambda: config.lambda,
        optimal_test_accuracy: accuracy_with(&result.poisons)?,
        random_flip_test_accuracy: accuracy_with(&random)?,
        optimal_validation_loss: result.validation_loss,
    };
    if let Some(path) = &args.plot {
        let line = |name: &str, values: &[f64]| Series {
            name: name.into(),
            points: values
                .iter()
                .enumerate()
                .map(|(k, v)| (k as f64, 100.0 * v))
                .collect(),
        };
        let chart = Chart {
            title: format!(
                "logistic regression, MNIST {} vs {} ({} training points)",
                classes[0], classes[1], report.train_points
            ),
            x_label: "poison points added".into(),
            y_label: "test accuracy (%)".into(),
            series: vec![
                line("optimal poisoning", &report.optimal_test_accuracy),
                line("random label flips", &report.random_flip_test_accuracy),
            ],
            log_y: false,
        };
        crate::write_file(path, chart.to_svg().as_bytes())?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialise")
        );
    } else {
        let last = |v: &[f64]| 100.0 * v.last().copied().unwrap_or(0.0);
        println!(
            "logistic regression on MNIST {} vs {}: {} training points, {} test points",
            classes[0], classes[1], report.train_points, report.test_points
        );
        println!(
            "test accuracy: clean {:.2}%, with {} optimal poisons {:.2}%, with {} random label \
             flips {:.2}%",
            100.0 * report.optimal_test_accuracy[0],
            config.poisons,
            last(&report.optimal_test_accuracy),
            config.poisons,
            last(&report.random_flip_test_accuracy)
        );
    }
    Ok(())
}

/// Run `perturb poison`.
pub fn run(args: PoisonArgs) -> Result<()> {
    check_flags(&args)?;
    if args.attack == AttackKind::Optimal {
        return run_optimal(&args);
    }
    let (train, test) = load(&args)?;
    let config = ExperimentConfig {
        attack: attack(&args),
        spec: ModelSpec::resolve(&args.arch)?,
        train: TrainConfig {
            epochs: args.epochs,
            batch_size: args.batch_size,
            learning_rate: args.lr,
            optimizer: Optimizer::Adam,
            seed: args.seed,
            report_every: 20,
            ..TrainConfig::default()
        },
        victim: args.victim,
        detector: args.detect,
        detector_config: DetectorConfig {
            expected_rate: args.expected_rate,
            seed: args.seed,
            ..DetectorConfig::default()
        },
        batch_size: 500,
    };
    let device = args.device.init()?;
    let surrogate = match &args.surrogate {
        Some(path) => Some(Sequential::from_weights(
            config.spec.clone(),
            read_weights_file(path)?,
            &device,
        )?),
        None => None,
    };
    let steps = train.len().div_ceil(args.batch_size) * args.epochs;
    let progress = bar(steps, "steps  {msg}");
    let report = block_on(run_experiment(
        &train,
        &test,
        &config,
        surrogate.as_ref(),
        &device,
        |stage| {
            progress.set_position(0);
            progress.set_message(stage_name(stage));
        },
        |_, step| progress.set_position(step.step as u64),
    ))?;
    progress.finish_and_clear();
    if let Some(path) = &args.plot {
        crate::write_file(path, experiment_chart(&report).to_svg().as_bytes())?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialise")
        );
    } else {
        print_report(&report);
    }
    Ok(())
}
