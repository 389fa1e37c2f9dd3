//! `perturb transfer`: the transfer success matrix across models: PGD adversarials crafted on
//! each model (rows), scored on every model (columns), as JSON and a Markdown table.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use perturb::attack::{Attack, Norm, PgdConfig, ThreatModel, transfer_matrix};
use perturb::data::{Dataset, DatasetKind, Split, shipped_test_subset};
use perturb::model::{Classifier, ModelSpec, Sequential};
use perturb::{Error, Result};

use super::DeviceArg;
use super::model_args::{read, spec};

#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Weights files, comma-separated; each one's architecture comes from its model card (the
    /// `.json` beside it), or give it as `PATH=ARCH`.
    #[arg(long, value_delimiter = ',', required = true)]
    models: Vec<String>,
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// Full test split from this folder instead of the shipped 1,000 images.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Test images attacked.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// L∞ budget.
    #[arg(long, default_value_t = 0.2)]
    eps: f32,
    /// PGD steps (step 2.5·ε/steps, random start).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// The architecture recorded in the model card beside `weights`.
fn card_spec(weights: &Path) -> Result<ModelSpec> {
    let card_path = weights.with_extension("json");
    let text = String::from_utf8(read(&card_path)?)
        .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8", card_path.display())))?;
    let card: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format("model card", e.to_string()))?;
    match (
        card.get("spec"),
        card.get("architecture").and_then(|a| a.as_str()),
    ) {
        (Some(spec), _) => ModelSpec::from_json(&spec.to_string()),
        (None, Some(arch)) => spec(arch),
        _ => Err(Error::format(
            "model card",
            format!(
                "{} names no architecture; give PATH=ARCH",
                card_path.display()
            ),
        )),
    }
}

fn load(entry: &str, device: &burn::tensor::Device) -> Result<(String, Sequential)> {
    let (path, model_spec) = match entry.split_once('=') {
        Some((path, arch)) => (Path::new(path), spec(arch)?),
        None => (Path::new(entry), card_spec(Path::new(entry))?),
    };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(entry)
        .to_string();
    let model = Sequential::from_safetensors(model_spec, &read(path)?, device)?;
    Ok((name, model))
}

pub fn run(args: TransferArgs) -> Result<()> {
    let kind = DatasetKind::from_id(&args.dataset)?;
    let data = match &args.data_dir {
        Some(dir) => Dataset::load_dir(kind, Split::Test, dir)?,
        None => shipped_test_subset(kind)?,
    }
    .take(args.count.max(1));
    let device = args.device.init()?;
    let models = args
        .models
        .iter()
        .map(|m| load(m, &device))
        .collect::<Result<Vec<_>>>()?;
    let threat = ThreatModel::new(Norm::Linf, args.eps)?;
    let attack = Attack::Pgd(PgdConfig::pgd(&threat, args.steps));
    let named: Vec<(&str, &dyn Classifier)> = models
        .iter()
        .map(|(n, m)| (n.as_str(), m as &dyn Classifier))
        .collect();
    let bar = ProgressBar::new(models.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} surrogates attacked [{eta}]")
            .expect("static template"),
    );
    let matrix = pollster::block_on(transfer_matrix(
        &named,
        &named,
        &data,
        &device,
        args.batch_size,
        &threat,
        &attack,
        |done, _| {
            bar.set_position(done as u64);
            true
        },
    ))?;
    bar.finish_and_clear();
    let mut table = format!(
        "| crafted on ↓ / scored on → | {} |\n",
        matrix.targets.join(" | ")
    );
    table += &format!("|---|{}\n", "---|".repeat(matrix.targets.len()));
    for (name, row) in matrix.surrogates.iter().zip(&matrix.success) {
        let cells: Vec<String> = row.iter().map(|s| format!("{:.1}%", 100.0 * s)).collect();
        table += &format!("| {name} | {} |\n", cells.join(" | "));
    }
    eprint!("{table}");
    super::print_json(&serde_json::json!({
        "dataset": kind.id(),
        "images": data.len(),
        "epsilon": args.eps,
        "attack": attack,
        "matrix": matrix,
        "markdown": table,
    }));
    Ok(())
}
