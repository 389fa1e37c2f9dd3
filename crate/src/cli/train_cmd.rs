//! `perturb train` and `perturb eval`: the default model, its weights and its model card.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use perturb::Result;
use perturb::data::{Dataset, DatasetKind, Split};
use perturb::eval::accuracy;
use perturb::model::{SmallCnn, to_safetensors};
use perturb::train::{TrainConfig, train_erm};
use sha2::Digest;

use super::DeviceArg;
use super::model_args::ModelArgs;

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[arg(long, default_value = "mnist")]
    dataset: String,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Train on only the first N training images (quick runs).
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
    /// Weights file to write; the model card goes next to it with a .json extension.
    #[arg(long, default_value = "models/mnist-small-cnn.safetensors")]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn train(args: TrainArgs) -> Result<()> {
    let kind = DatasetKind::from_id(&args.dataset)?;
    let mut train_set = Dataset::load_dir(kind, Split::Train, &args.data_dir)?;
    if let Some(limit) = args.limit {
        train_set = train_set.take(limit);
    }
    let test_set = Dataset::load_dir(kind, Split::Test, &args.data_dir)?;
    let device = args.device.init()?;
    device.seed(args.seed);
    let ad_device = device.clone().autodiff();
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        seed: args.seed,
        report_every: 20,
    };
    let bar = ProgressBar::new((train_set.len().div_ceil(args.batch_size) * args.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} steps  {msg}  [{elapsed_precise}<{eta}]",
        )
        .expect("static template"),
    );
    let started = Instant::now();
    let model = train_erm(
        SmallCnn::new(&ad_device),
        &train_set,
        &config,
        &ad_device,
        |p| {
            bar.set_position(p.step as u64);
            bar.set_message(format!("epoch {} loss {:.4}", p.epoch + 1, p.loss));
            true
        },
    )?;
    bar.finish();
    let wall_time_s = started.elapsed().as_secs_f64();
    let model = model.valid().to_device(&device);
    let clean_accuracy = accuracy(&model, &test_set, &device, 500)?;
    let bytes = to_safetensors(&model)?;
    super::write_file(&args.out, &bytes)?;
    let card = serde_json::json!({
        "name": args.out.file_stem().and_then(|s| s.to_str()).unwrap_or("model"),
        "architecture": "small-cnn: conv3x3-8, pool2, conv3x3-16, pool2, fc-64, fc-10 (ReLU)",
        "parameters": model.num_params(),
        "dataset": kind.id(),
        "objective": "standard cross-entropy (ERM), Adam",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "config": config,
        "train_images": train_set.len(),
        "wall_time_s": (wall_time_s * 10.0).round() / 10.0,
        "machine": format!("{} {}, {} CPU threads, device {:?}", std::env::consts::OS, std::env::consts::ARCH,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), args.device),
        "weights_file": args.out.file_name().and_then(|s| s.to_str()),
        "weights_bytes": bytes.len(),
        "weights_sha256": sha256_hex(&bytes),
        "metrics": { "clean_accuracy_test": clean_accuracy, "test_images": test_set.len() },
    });
    let card_path = args.out.with_extension("json");
    let text = serde_json::to_string_pretty(&card).expect("JSON values serialise");
    super::write_file(&card_path, format!("{text}\n").as_bytes())?;
    println!("{text}");
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let data = args.model.test_set()?;
    let (device, model) = args.model.model()?;
    let clean_accuracy = accuracy(&model, &data, &device, 500)?;
    let report = serde_json::json!({
        "weights": args.model.weights.display().to_string(),
        "dataset": data.kind.id(),
        "images": data.len(),
        "clean_accuracy": clean_accuracy,
    });
    super::print_json(&report);
    Ok(())
}
