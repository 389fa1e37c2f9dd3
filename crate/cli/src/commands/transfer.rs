//! `perturb transfer`: the transfer success matrix across models: PGD adversarials crafted on
//! each model (rows), scored on every model (columns), as JSON and a Markdown table.

use std::path::{Path, PathBuf};

use clap::Args;
use perturb::Result;
use perturb::attack::{
    Attack, Norm, PgdConfig, ThreatModel, TransferMatrix, TransferRecord, transfer_batch,
};
use perturb::data::{BadImages, DatasetKind, ImageSource, TestImages};
use perturb::model::{Classifier, ModelSpec, Sequential};
use perturb::shard::{Journal, bytes_sha256, data_fingerprint, file_sha256, units_of};
use perturb::zoo::{self, ModelCard};
use serde::{Deserialize, Serialize};

use crate::DeviceArg;
use crate::shard_args::ShardArgs;

/// Arguments of `perturb transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Models, comma-separated: zoo ids, weights files with a model card beside them (the
    /// `.json` of the same stem), or `PATH=ARCH`.
    #[arg(long, value_delimiter = ',', required = true)]
    models: Vec<String>,
    /// The zoo's folder, for zoo ids.
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
    /// The test set (default: MNIST for 28×28 models, ImageNet otherwise).
    #[arg(long, value_enum)]
    dataset: Option<DatasetKind>,
    /// MNIST/Fashion-MNIST: the full test split from this folder instead of the shipped 1,000
    /// images. ImageNet: the image folder (one sub-folder per WordNet id, or flat with --labels).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Labels of a flat image folder (one "file label" line each).
    #[arg(long, requires = "data_dir")]
    labels: Option<PathBuf>,
    /// Unreadable or non-image files in the folder: skip them (counted) or fail.
    #[arg(long, value_enum, default_value = "skip")]
    bad_images: BadImages,
    /// Test images attacked.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// L∞ budget.
    #[arg(long, default_value_t = 0.2)]
    eps: f32,
    /// PGD steps (step 2.5·ε/steps, random start).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Start PGD at the clean image (BIM) instead of a random point of the ball.
    #[arg(long)]
    no_random_start: bool,
    /// Images per batch.
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    /// Where the models run.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
    #[command(flatten)]
    shards: ShardArgs,
}

/// What a transfer run is, as its partial reports record it.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    models: Vec<String>,
    dataset: String,
    images: usize,
    epsilon: f32,
    batch_size: usize,
    attack: Attack,
}

/// SHA-256 of a model's weights file, as `load` finds it.
fn weights_sha256(entry: &str, dir: &Path) -> Result<String> {
    if let Some(model) = zoo::find(entry) {
        return match model.embedded_weights() {
            Some(bytes) => Ok(bytes_sha256(bytes)),
            None => file_sha256(&dir.join(model.weights_file())),
        };
    }
    let path = entry.split_once('=').map_or(entry, |(path, _)| path);
    file_sha256(Path::new(path))
}

/// A model named on the command line, and the name its row and column get.
fn load(entry: &str, dir: &Path, device: &burn::tensor::Device) -> Result<(String, Sequential)> {
    if let Some(model) = zoo::find(entry) {
        return Ok((model.id.to_string(), model.load_from_dir(dir, device)?));
    }
    let (path, model) = match entry.split_once('=') {
        Some((path, arch)) => (
            Path::new(path),
            Sequential::load_file(ModelSpec::resolve(arch)?, Path::new(path), device)?,
        ),
        None => (
            Path::new(entry),
            ModelCard::load_beside(Path::new(entry), device)?,
        ),
    };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(entry)
        .to_string();
    Ok((name, model))
}

/// Run `perturb transfer`.
pub fn run(args: TransferArgs) -> Result<()> {
    let device = args.device.init()?;
    let models = args
        .models
        .iter()
        .map(|m| load(m, &args.models_dir, &device))
        .collect::<Result<Vec<_>>>()?;
    let input = models[0].1.spec().input;
    if let Some((name, m)) = models.iter().find(|(_, m)| m.spec().input != input) {
        return Err(perturb::Error::Mismatch(format!(
            "{name} takes {:?} inputs, {} takes {input:?}: transfer needs one input size (for a \
             named ImageNet architecture write PATH=ARCH@SIDE, e.g. efficientnet_lite1@224)",
            m.spec().input,
            models[0].0
        )));
    }
    let kind = args.dataset.unwrap_or(if input == [1, 28, 28] {
        DatasetKind::Mnist
    } else {
        DatasetKind::ImageNet
    });
    let data = TestImages::open(
        kind,
        input,
        args.data_dir.as_deref(),
        args.labels.as_deref(),
        args.bad_images,
    )?
    .take(args.count.max(1));
    let threat = ThreatModel::new(Norm::Linf, args.eps)?;
    let attack = Attack::Pgd(PgdConfig {
        random_start: !args.no_random_start,
        ..PgdConfig::pgd(&threat, args.steps)
    });
    let named: Vec<(&str, &dyn Classifier)> = models
        .iter()
        .map(|(n, m)| (n.as_str(), m as &dyn Classifier))
        .collect();
    let plan = Plan {
        models: models.iter().map(|(n, _)| n.clone()).collect(),
        dataset: kind.to_string(),
        images: data.len(),
        epsilon: args.eps,
        batch_size: args.batch_size,
        attack: attack.clone(),
    };
    let weights = args
        .models
        .iter()
        .map(|m| weights_sha256(m, &args.models_dir))
        .collect::<Result<Vec<_>>>()?;
    let checksums = (
        bytes_sha256(weights.join(",").as_bytes()),
        data_fingerprint(&data, &device)?,
    );
    let batches = units_of(data.len(), args.batch_size);
    args.shards.run(
        "transfer",
        &plan,
        checksums,
        batches.len(),
        |unit| {
            let indices: Vec<usize> = batches[unit].clone().collect();
            perturb::blocking::block_on(transfer_batch(
                &named, &named, &data, &device, &indices, &threat, &attack,
            ))
        },
        finish,
    )
}

/// The matrix of a whole run's records: a Markdown table on stderr, JSON on stdout.
pub fn finish(journal: &Journal) -> Result<()> {
    let plan: Plan = crate::plan_of(journal)?;
    let records: Vec<TransferRecord> = journal.records()?;
    let matrix = TransferMatrix::from_records(&plan.models, &plan.models, &records)?;
    let mut table = format!(
        "| crafted on ↓ / scored on → | {} |\n",
        matrix.targets.join(" | ")
    );
    table += &format!("|---|{}\n", "---|".repeat(matrix.targets.len()));
    for (name, row) in matrix.surrogates.iter().zip(&matrix.success) {
        let cells: Vec<String> = row.iter().map(|s| format!("{:.1}%", 100.0 * s)).collect();
        table += &format!("| {name} | {} |\n", cells.join(" | "));
    }
    table += "\n| model | clean accuracy | PGD (white-box) accuracy |\n|---|---|---|\n";
    for (i, name) in matrix.targets.iter().enumerate() {
        let clean = matrix.target_clean_accuracy[i];
        let robust = clean * (1.0 - matrix.success[i][i]);
        table += &format!(
            "| {name} | {:.1}% | {:.1}% |\n",
            100.0 * clean,
            100.0 * robust
        );
    }
    eprint!("{table}");
    crate::print_json(&serde_json::json!({
        "dataset": plan.dataset,
        "images": plan.images,
        "epsilon": plan.epsilon,
        "attack": plan.attack,
        "matrix": matrix,
        "markdown": table,
    }));
    Ok(())
}
