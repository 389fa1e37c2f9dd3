//! `perturb certify`: IBP-verified accuracy of a model over a test slice at one or more budgets.

use std::time::Instant;

use clap::Args;
use perturb::certify::{input_box, verified};
use perturb::readback::read_f32;
use perturb::{Error, Result};

use super::model_args::ModelArgs;

#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// Bound method (IBP; CROWN and smoothing are not built yet).
    #[arg(long, default_value = "ibp")]
    method: String,
    /// L∞ budget(s), comma-separated, each ≥ 0.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "0.1"
    )]
    eps: Vec<f32>,
    #[command(flatten)]
    model: ModelArgs,
    /// Certify the first N test images.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
}

pub fn run(args: CertifyArgs) -> Result<()> {
    if args.method != "ibp" {
        return Err(Error::InvalidArgument(format!(
            "--method {} is not available; use ibp",
            args.method
        )));
    }
    if let Some(bad) = args.eps.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "--eps values must be numbers ≥ 0, got {bad}"
        )));
    }
    if args.batch_size == 0 || args.count == 0 {
        return Err(Error::InvalidArgument(
            "--count and --batch-size must be positive".into(),
        ));
    }
    let data = args.model.test_set()?.take(args.count);
    let (device, model) = args.model.model()?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut per_epsilon = Vec::new();
    for &eps in &args.eps {
        let started = Instant::now();
        let mut count = 0.0f64;
        for batch in indices.chunks(args.batch_size) {
            let (images, labels) = data.batch(batch, &device)?;
            let ok = verified(&model, input_box(images, eps, (0.0, 1.0))?, labels);
            count += pollster::block_on(read_f32(ok.float().sum()))?[0] as f64;
        }
        let seconds = started.elapsed().as_secs_f64();
        per_epsilon.push(serde_json::json!({
            "epsilon": (f64::from(eps) * 1e6).round() / 1e6,
            "verified_accuracy": count / data.len() as f64,
            "ms_per_batch": seconds * 1e3 / indices.len().div_ceil(args.batch_size) as f64,
        }));
    }
    let report = serde_json::json!({
        "method": "ibp",
        "arch": args.model.arch,
        "weights": args.model.weights.display().to_string(),
        "dataset": data.kind.id(),
        "images": data.len(),
        "batch_size": args.batch_size,
        "per_epsilon": per_epsilon,
    });
    super::print_json(&report);
    Ok(())
}
