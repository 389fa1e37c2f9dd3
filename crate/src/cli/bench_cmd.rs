//! `perturb bench`: time PGD on a batch of test images and print the figures (benchmarks are
//! never timed unit tests).

use std::time::Instant;

use clap::Args;
use perturb::Result;
use perturb::attack::{Norm, PgdConfig, ThreatModel, pgd};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::model::SmallCnn;

use super::DeviceArg;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Timed runs after one warm-up run.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let device = args.device.init()?;
    let model = SmallCnn::default_mnist(&device)?;
    let data = shipped_test_subset(DatasetKind::Mnist)?;
    let indices: Vec<usize> = (0..args.batch_size.min(data.len())).collect();
    let labels: Vec<usize> = indices.iter().map(|&i| data.labels()[i] as usize).collect();
    let threat = ThreatModel::new(Norm::Linf, 0.3)?;
    let config = PgdConfig::pgd(&threat, args.steps);
    let mut times = Vec::new();
    for run in 0..=args.repeats {
        let (images, _) = data.batch(&indices, &device)?;
        let started = Instant::now();
        // The outcome's per-sample results are read back, so the device work is complete.
        let outcome = pollster::block_on(pgd(&model, images, &labels, &threat, &config, |_| true))?;
        let elapsed = started.elapsed().as_secs_f64();
        if run > 0 {
            times.push(elapsed);
        }
        eprintln!(
            "run {run}: {elapsed:.3} s ({} samples)",
            outcome.samples.len()
        );
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "PGD-{} L∞ batch {} on {:?}: median {:.3} s per attack, {:.2} ms per step, {:.0} images/s",
        args.steps,
        indices.len(),
        args.device,
        median,
        median * 1e3 / args.steps as f64,
        indices.len() as f64 / median
    );
    Ok(())
}
