//! `perturb train` and `perturb eval`: zoo architectures with any training objective, per-epoch
//! clean/robust/verified curves, weights and a model card.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use clap::Args;
use perturb::blocking::block_on;
use perturb::data::{Dataset, DatasetKind, Split, shipped_test_subset};
use perturb::eval::{EvalSettings, Evaluation, evaluate};
use perturb::model::{
    ModelSpec, Sequential, TrainableNet, read_file, read_weights_file, write_safetensors,
};
use perturb::train::{
    Checkpoint, Objective, ObjectiveKind, ObjectiveOptions, Optimizer, Schedule, TrainConfig,
    Trainer,
};
use perturb::zoo::{EpochRecord, ModelCard};
use perturb::{Error, Result};
use sha2::Digest;

use crate::DeviceArg;
use crate::plot::{Chart, Series};
use crate::progress::bar;

/// Arguments of `perturb train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A zoo architecture (small-cnn, mlp, lenet5, strided-cnn, wide-cnn, resnet-small, mobilenet-small) or
    /// a JSON layer spec.
    #[arg(long, default_value = "small-cnn")]
    arch: String,
    /// What to minimise: standard, pgd (Madry adversarial training), ibp (Gowal et al.) or noise.
    #[arg(long, value_enum, default_value = "standard")]
    objective: ObjectiveKind,
    /// L∞ radius for pgd and ibp training (and the robust figures).
    #[arg(long)]
    eps: Option<f32>,
    /// PGD steps per batch for pgd training.
    #[arg(long, default_value_t = ObjectiveOptions::default().pgd_steps)]
    pgd_steps: usize,
    /// PGD step size for pgd training (default 2.5·ε/steps).
    #[arg(long)]
    pgd_step_size: Option<f32>,
    /// PGD training: fraction of the run over which ε grows from 0.
    #[arg(long, default_value_t = ObjectiveOptions::default().eps_ramp)]
    eps_ramp: f32,
    /// Noise σ for noise training.
    #[arg(long)]
    sigma: Option<f32>,
    /// IBP: fraction of the run trained clean first.
    #[arg(long, default_value_t = ObjectiveOptions::default().warmup)]
    warmup: f32,
    /// IBP: fraction of the run over which ε and κ ramp.
    #[arg(long, default_value_t = ObjectiveOptions::default().ramp)]
    ramp: f32,
    /// IBP: final weight of the clean loss.
    #[arg(long, default_value_t = ObjectiveOptions::default().kappa_end)]
    kappa_end: f32,
    /// The training data.
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetKind,
    /// The folder scripts/fetch-data.sh fills.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Images per optimisation step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// The optimiser (sgd has momentum 0.9).
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: Optimizer,
    /// How the rate moves over the run.
    #[arg(long, value_enum, default_value = "constant")]
    schedule: Schedule,
    /// Seed of the initial weights, the shuffle and the random draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Train on only the first N training images (quick runs).
    #[arg(long)]
    limit: Option<usize>,
    /// Evaluate at the end on only the first N test images (quick runs).
    #[arg(long)]
    test_limit: Option<usize>,
    /// Start from these weights (fine-tuning; the optimiser's state and the schedule start
    /// afresh). To continue a stopped run exactly, use --resume.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Continue the run that writes --out from its last finished epoch: its weights and the
    /// checkpoint beside them (`.ckpt`: optimiser state, step, history), with the same settings.
    #[arg(long)]
    resume: bool,
    /// Stop once this many epochs are done (counting those before a --resume), keeping the
    /// weights and checkpoint for a later --resume: a long run in slices.
    #[arg(long)]
    stop_after: Option<usize>,
    /// Images of the shipped test subset evaluated after every epoch.
    #[arg(long, default_value_t = 500)]
    eval_count: usize,
    /// Radius of the robust figures (default: the training ε).
    #[arg(long)]
    eval_eps: Option<f32>,
    /// PGD steps of the final robust evaluation on the full test set.
    #[arg(long, default_value_t = 40)]
    final_pgd_steps: usize,
    /// PGD restarts of the final robust evaluation.
    #[arg(long, default_value_t = 1)]
    final_restarts: usize,
    /// Where training runs.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
    /// Weights file to write; the model card goes next to it with a .json extension. It is
    /// rewritten after every epoch, so a stopped run keeps its last epoch.
    #[arg(long, default_value = "models/mnist-small-cnn.safetensors")]
    out: PathBuf,
    /// Write clean/robust/verified accuracy per epoch as an SVG chart here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// A card's model name: the weights file's stem.
pub(crate) fn card_name(path: &std::path::Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_string()
}

/// A path's file name, as a card records it.
pub(crate) fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The objective the flags describe; flags of other objectives are refused.
fn objective(args: &TrainArgs) -> Result<Objective> {
    let kind = args.objective;
    let refuse = |flag: &str, applies: &str| {
        Err(Error::InvalidArgument(format!(
            "{flag} applies to {applies} training, not {kind}"
        )))
    };
    if args.sigma.is_some() && kind != ObjectiveKind::Noise {
        return refuse("--sigma", "noise");
    }
    if args.eps.is_some() && !matches!(kind, ObjectiveKind::Pgd | ObjectiveKind::Ibp) {
        return refuse("--eps", "pgd and ibp");
    }
    if args.pgd_step_size.is_some() && kind != ObjectiveKind::Pgd {
        return refuse("--pgd-step-size", "pgd");
    }
    let options = ObjectiveOptions {
        pgd_steps: args.pgd_steps,
        pgd_step_size: args.pgd_step_size,
        eps_ramp: args.eps_ramp,
        warmup: args.warmup,
        ramp: args.ramp,
        kappa_end: args.kappa_end,
    };
    options.objective(
        kind,
        if kind.radius_is_sigma() {
            args.sigma
        } else {
            args.eps
        },
    )
}

/// The weights as SafeTensors bytes.
fn weights_bytes(model: &TrainableNet) -> Result<Vec<u8>> {
    write_safetensors(&block_on(model.weights())?)
}

fn chart(args: &TrainArgs, history: &[EpochRecord]) -> Chart {
    let series = |name: &str, get: &dyn Fn(&Evaluation) -> Option<f64>| Series {
        name: name.into(),
        points: history
            .iter()
            .filter_map(|r| get(&r.eval).map(|v| ((r.epoch + 1) as f64, 100.0 * v)))
            .collect(),
    };
    let eps = history.first().and_then(|r| r.eval.epsilon);
    let mut all = vec![series("clean", &|e| Some(e.clean_accuracy))];
    if let Some(eps) = eps {
        all.push(series(&format!("PGD ε={eps}"), &|e| e.robust_accuracy));
        all.push(series(&format!("IBP-verified ε={eps}"), &|e| {
            e.verified_accuracy
        }));
    }
    Chart {
        title: format!(
            "{} trained with {} ({})",
            args.arch, args.objective, args.dataset
        ),
        x_label: "epoch".into(),
        y_label: "accuracy on the evaluation slice (%)".into(),
        series: all.into_iter().filter(|s| !s.points.is_empty()).collect(),
        log_y: false,
    }
}

/// Run `perturb train`.
pub fn train(args: TrainArgs) -> Result<()> {
    let objective = objective(&args)?;
    let kind = args.dataset;
    let model_spec = ModelSpec::resolve(&args.arch)?;
    let mut train_set = Dataset::load_dir(kind, Split::Train, &args.data_dir)?;
    if let Some(limit) = args.limit {
        train_set = train_set.take(limit);
    }
    let mut test_set = Dataset::load_dir(kind, Split::Test, &args.data_dir)?;
    if let Some(limit) = args.test_limit {
        test_set = test_set.take(limit);
    }
    let eval_set = shipped_test_subset(kind)?.take(args.eval_count.max(1));
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        optimizer: args.optimizer,
        schedule: args.schedule,
        objective,
        seed: args.seed,
        report_every: 20,
    };
    config.validate()?;
    let eval_eps = args.eval_eps.or(match objective {
        Objective::Adversarial { epsilon, .. } | Objective::Ibp { epsilon, .. } => Some(epsilon),
        _ => None,
    });
    let device = args.device.init()?;
    device.seed(args.seed);
    let ad_device = device.clone().autodiff();
    let steps_per_epoch = train_set.len().div_ceil(args.batch_size);
    let checkpoint_path = args.out.with_extension("ckpt");
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut earlier_seconds = 0.0;
    let mut trainer = if args.resume {
        let saved = Checkpoint::from_bytes(&read_file(&checkpoint_path)?)?;
        if saved.config != config {
            return Err(Error::Mismatch(format!(
                "{} was made with other settings ({}); resume with the same flags",
                checkpoint_path.display(),
                serde_json::to_string(&saved.config).expect("configs serialise")
            )));
        }
        #[derive(serde::Deserialize)]
        struct Notes {
            history: Vec<EpochRecord>,
            seconds: f64,
        }
        let notes: Notes = serde_json::from_value(saved.notes.clone())
            .map_err(|e| Error::format("checkpoint", format!("history: {e}")))?;
        (history, earlier_seconds) = (notes.history, notes.seconds);
        let model = TrainableNet::from_weights(
            model_spec.clone(),
            read_weights_file(&args.out)?,
            &ad_device,
        )?;
        eprintln!(
            "resuming {} at step {} of {}",
            args.out.display(),
            saved.step,
            steps_per_epoch * args.epochs
        );
        Trainer::resume(model, train_set.len(), &saved)?
    } else {
        let model = match &args.init {
            Some(path) => TrainableNet::from_weights(
                model_spec.clone(),
                read_weights_file(path)?,
                &ad_device,
            )?,
            None => TrainableNet::init(model_spec.clone(), args.seed, &ad_device)?,
        };
        Trainer::new(model, train_set.len(), config.clone())?
    };

    let progress = bar(steps_per_epoch * args.epochs, "steps  {msg}");
    let started = Instant::now();
    let mut epoch_started = Instant::now();
    let (mut loss_sum, mut loss_count) = (0.0f32, 0usize);
    let eval_settings = EvalSettings {
        batch_size: 250,
        epsilon: eval_eps,
        pgd_steps: 20,
        restarts: 1,
    };
    while !trainer.finished() {
        let report = block_on(trainer.step(&train_set, &ad_device))?;
        progress.set_position(report.step as u64);
        if let Some(loss) = report.loss {
            loss_sum += loss;
            loss_count += 1;
            progress.set_message(format!("epoch {} loss {loss:.4}", report.epoch + 1));
        }
        if report.epoch_done {
            let model = trainer.model();
            let frozen = model.valid().sequential();
            let eval = block_on(evaluate(
                &frozen,
                &eval_set,
                &device,
                &eval_settings,
                |_, _| {},
            ))?;
            let record = EpochRecord {
                epoch: report.epoch,
                mean_loss: loss_sum / loss_count.max(1) as f32,
                seconds: epoch_started.elapsed().as_secs_f64(),
                eval,
            };
            let line = serde_json::to_string(&record).expect("records serialise");
            if progress.is_hidden() {
                eprintln!("{line}");
            } else {
                progress.println(line);
            }
            history.push(record);
            (loss_sum, loss_count) = (0.0, 0);
            // Weights and checkpoint after every epoch: a stopped run resumes from here.
            crate::write_file(&args.out, &weights_bytes(model)?)?;
            let mut checkpoint = trainer.checkpoint()?;
            checkpoint.notes = serde_json::json!({
                "history": history,
                "seconds": earlier_seconds + started.elapsed().as_secs_f64(),
            });
            crate::write_file(&checkpoint_path, &checkpoint.to_bytes()?)?;
            epoch_started = Instant::now();
            if args.stop_after.is_some_and(|n| history.len() >= n) && !trainer.finished() {
                progress.finish();
                eprintln!(
                    "stopped after epoch {} of {}; continue with the same flags and --resume",
                    history.len(),
                    args.epochs
                );
                return Ok(());
            }
        }
    }
    let model = trainer.into_model();
    progress.finish();
    let wall_time_s = earlier_seconds + started.elapsed().as_secs_f64();

    let bytes = weights_bytes(&model)?;
    crate::write_file(&args.out, &bytes)?;
    let frozen = Sequential::from_safetensors(model_spec.clone(), &bytes, &device)?;
    let final_bar = bar(test_set.len(), "images (final evaluation)");
    let final_eval = block_on(evaluate(
        &frozen,
        &test_set,
        &device,
        &EvalSettings {
            batch_size: 250,
            epsilon: eval_eps,
            pgd_steps: args.final_pgd_steps,
            restarts: args.final_restarts,
        },
        |done, _| final_bar.set_position(done as u64),
    ))?;
    final_bar.finish_and_clear();
    if let Some(path) = &args.plot {
        crate::write_file(path, chart(&args, &history).to_svg().as_bytes())?;
    }
    let card = ModelCard {
        name: card_name(&args.out),
        architecture: args.arch.clone(),
        spec: model_spec,
        parameters: model.num_params(),
        dataset: kind,
        command: format!(
            "perturb {}",
            std::env::args().skip(1).collect::<Vec<_>>().join(" ")
        ),
        source: None,
        config: Some(config),
        train_images: train_set.len(),
        wall_time_s: Some((wall_time_s * 10.0).round() / 10.0),
        machine: format!(
            "{} {}, {} CPU threads, device {:?}",
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            args.device
        ),
        weights_file: file_name(&args.out),
        weights_bytes: bytes.len(),
        weights_sha256: sha256_hex(&bytes),
        metrics: final_eval,
        history,
    };
    let text = card.to_json();
    crate::write_file(&args.out.with_extension("json"), text.as_bytes())?;
    print!("{text}");
    Ok(())
}
