//! `perturb convert`: a weights file (PyTorch `.pth`/`.pt` or SafeTensors) checked against an
//! architecture and written as SafeTensors in f32 or f16, ready for the page or the zoo; with
//! `--source`, a model card beside it whose clean accuracy is measured on the converted file.

use std::path::PathBuf;

use clap::Args;
use perturb::blocking::block_on;
use perturb::data::ImageSource;
use perturb::eval::{EvalSettings, evaluate};
use perturb::model::{
    ModelSpec, ParameterRole, Sequential, StoredDtype, convert_weights, read_weights_file,
};
use perturb::zoo::ModelCard;
use perturb::{Error, Result};

use crate::model_args::ModelArgs;

/// Arguments of `perturb convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The weights (--arch and --weights) and, for the card, the test images.
    #[command(flatten)]
    model: ModelArgs,
    /// SafeTensors file to write.
    #[arg(long)]
    out: PathBuf,
    /// How the written file stores numbers.
    #[arg(long, value_enum, default_value = "f32")]
    dtype: StoredDtype,
    /// Where the weights come from (package, version, licence): writes a model card beside
    /// --out with the converted model's clean accuracy on the test images.
    #[arg(long)]
    source: Option<String>,
}

/// Run the conversion and say what was written.
pub fn run(args: ConvertArgs) -> Result<()> {
    let (Some(arch), Some(weights)) = (&args.model.arch, &args.model.weights) else {
        return Err(Error::InvalidArgument(
            "convert needs --arch and --weights".into(),
        ));
    };
    let spec = ModelSpec::resolve(arch)?;
    let read = read_weights_file(weights)?;
    let tensors = read.len();
    let bytes = convert_weights(&spec, read, args.dtype)?;
    crate::write_file(&args.out, &bytes)?;
    println!(
        "{}: {tensors} tensors of {arch} as {:?}, {} bytes",
        args.out.display(),
        args.dtype,
        bytes.len()
    );
    if let Some(source) = &args.source {
        let card = card(&args, arch, spec, &bytes, source)?;
        let path = args.out.with_extension("json");
        crate::write_file(&path, card.to_json().as_bytes())?;
        println!(
            "{}: clean accuracy {:.4} on {} images",
            path.display(),
            card.metrics.clean_accuracy,
            card.metrics.images
        );
    }
    Ok(())
}

/// The card of the converted weights, its clean accuracy measured on them.
fn card(
    args: &ConvertArgs,
    arch: &str,
    spec: ModelSpec,
    bytes: &[u8],
    source: &str,
) -> Result<ModelCard> {
    let device = args.model.device.init()?;
    let model = Sequential::from_safetensors(spec.clone(), bytes, &device)?;
    let data = args.model.test_set(&model, usize::MAX)?;
    let metrics = block_on(evaluate(
        &model,
        &data,
        &device,
        &EvalSettings {
            batch_size: 10,
            epsilon: None,
            pgd_steps: 0,
            restarts: 1,
        },
        |_, _| {},
    ))?;
    let parameters = spec
        .parameters()?
        .iter()
        .filter(|p| {
            !matches!(
                p.role,
                ParameterRole::NormMean | ParameterRole::NormVariance
            )
        })
        .map(|p| p.shape.iter().product::<usize>())
        .sum();
    Ok(ModelCard {
        name: super::train::card_name(&args.out),
        architecture: arch.to_string(),
        spec,
        dataset: data.kind(),
        command: format!(
            "perturb {}",
            std::env::args().skip(1).collect::<Vec<_>>().join(" ")
        ),
        source: Some(source.to_string()),
        config: None,
        train_images: data.kind().expected_len(perturb::data::Split::Train),
        parameters,
        history: Vec::new(),
        metrics,
        machine: format!(
            "{} {}, device {:?}",
            std::env::consts::OS,
            std::env::consts::ARCH,
            device
        ),
        wall_time_s: None,
        weights_file: super::train::file_name(&args.out),
        weights_bytes: bytes.len(),
        weights_sha256: super::train::sha256_hex(bytes),
    })
}
