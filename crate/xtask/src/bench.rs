//! `cargo xtask bench`: time PGD on a batch of test images and print the figures (benchmarks are
//! never timed unit tests), and, where PyTorch and torchattacks are installed, the same attack on
//! PyTorch-CPU with the same weights and images (`tests/bench/torch_pgd.py`) and the ratio.

use std::collections::BTreeMap;
use std::time::Instant;

use clap::Args;
use perturb::Result;
use perturb::attack::{Norm, PgdConfig, ThreatModel, pgd};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb_cli::DeviceArg;

/// What to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// PGD on the default model (and torchattacks for comparison).
    Pgd,
    /// IBP, CROWN-IBP and CROWN per batch, and smoothing CERTIFY per image.
    Certify,
    /// Exact verification: branch-and-bound nodes and time against network depth and width.
    Exact,
    /// ResNet-18 at 224×224: forward and forward+backward per image at several batch sizes
    /// (and torchvision's on PyTorch-CPU for comparison).
    Resnet18,
}

/// Arguments of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "pgd")]
    pub(crate) suite: Suite,
    #[arg(long, value_enum, default_value = "cpu")]
    pub(crate) device: DeviceArg,
    #[arg(long, default_value_t = 256)]
    pub(crate) batch_size: usize,
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Timed runs after one warm-up run.
    #[arg(long, default_value_t = 3)]
    pub(crate) repeats: usize,
    /// Certify suite: noise samples n per image for smoothing CERTIFY.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) samples: usize,
    /// Exact suite: write nodes against network size as SVG here.
    #[arg(long)]
    pub(crate) plot: Option<std::path::PathBuf>,
    /// ResNet-18 suite: also time PGD-10 at this batch size (0: not).
    #[arg(long, default_value_t = 0)]
    pub(crate) pgd_batch: usize,
    /// ResNet-18 suite: the batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub(crate) batches: Vec<usize>,
    /// PGD suite: also time each layer's forward pass and input gradient, the whole forward and
    /// forward+backward, and the rest of the step (beside PyTorch's).
    #[arg(long)]
    pub(crate) breakdown: bool,
    /// Python with torch (and torchattacks, torchvision) for the PyTorch-CPU reference ("none"
    /// to skip).
    #[arg(long, default_value = "python3")]
    pub(crate) torch_python: String,
}

/// Run the PyTorch reference with as many threads as Burn's CPU backend uses: its ms per step
/// and, with `--breakdown`, its rows by label.
fn torch_reference(python: &str, args: &BenchArgs) -> Option<(f64, BTreeMap<String, f64>)> {
    let mut script_args = vec![
        "--batch-size".to_string(),
        args.batch_size.to_string(),
        "--steps".into(),
        args.steps.to_string(),
        "--repeats".into(),
        args.repeats.to_string(),
    ];
    if args.breakdown {
        script_args.push("--breakdown".into());
    }
    let text = crate::reference::run(python, "torch_pgd.py", &script_args, "PyTorch")?;
    print!("{}", crate::reference::prose(&text));
    let before = text.split(" ms per step").next()?;
    let step = before.rsplit(' ').next()?.parse().ok()?;
    // Breakdown rows: `row<TAB>label<TAB>ms`.
    let rows = crate::reference::rows(&text)
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [label, ms] => Some((label.to_string(), ms.parse().ok()?)),
            _ => None,
        })
        .collect();
    Some((step, rows))
}

/// Run the chosen suite.
pub fn run(args: BenchArgs) -> Result<()> {
    match args.suite {
        Suite::Pgd => {}
        Suite::Certify => return crate::bench_certify::certification(&args),
        Suite::Exact => return crate::bench_certify::exact_scaling(&args),
        Suite::Resnet18 => {
            let device = args.device.init()?;
            return crate::bench_imagenet::run(&args, &device, &args.batches);
        }
    }
    let device = args.device.init()?;
    let model = perturb::zoo::default_model(&device)?;
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
        let outcome =
            perturb::blocking::block_on(pgd(&model, images, &labels, &threat, &config, |_| true))?;
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
    let ours = median * 1e3 / args.steps as f64;
    let torch = (args.torch_python != "none" && args.device == DeviceArg::Cpu)
        .then(|| torch_reference(&args.torch_python, &args))
        .flatten();
    if let Some((torch_ms, _)) = &torch {
        println!(
            "Perturb / PyTorch-CPU time per step: {:.2}× ({ours:.2} ms vs {torch_ms:.2} ms)",
            ours / torch_ms
        );
    }
    if args.breakdown {
        let (images, _) = data.batch(&indices, &device)?;
        let torch_rows = torch.map(|(step, mut rows)| {
            rows.insert("PGD step (measured above)".into(), step);
            rows
        });
        crate::bench_breakdown::run(
            &model,
            images,
            &labels,
            ours,
            args.repeats.max(5),
            &device,
            torch_rows,
        )?;
    }
    Ok(())
}
