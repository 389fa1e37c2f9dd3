//! `cargo xtask bench --suite resnet18`: ResNet-18 at 224×224, forward and forward+backward (the
//! input gradient an attack step needs) per image at several batch sizes, on the chosen device,
//! beside torchvision's ResNet-18 on PyTorch-CPU in the same run (`tests/bench/torch_resnet18.py`)
//! with the ratio, and the process's peak resident memory.

use std::time::Instant;

use burn::tensor::{Device, Int, Tensor, TensorData};
use perturb::Result;
use perturb::attack::{Norm, PgdConfig, ThreatModel, pgd};
use perturb::gradient::input_gradient;
use perturb::model::{Classifier, ModelSpec, Sequential};
use perturb::reference::closed_form_weights;

use crate::bench::BenchArgs;

/// Peak resident set size of this process in MiB (Linux; `None` elsewhere).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Milliseconds per image of `f` over `repeats` runs after one warm-up.
fn per_image(n: usize, repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..repeats {
        f();
    }
    start.elapsed().as_secs_f64() * 1e3 / repeats.max(1) as f64 / n as f64
}

fn torch_reference(
    python: &str,
    batches: &[usize],
    repeats: usize,
    pgd_batch: usize,
) -> Option<serde_json::Value> {
    let list: Vec<String> = batches.iter().map(usize::to_string).collect();
    let script_args = [
        "--batches".to_string(),
        list.join(","),
        "--repeats".into(),
        repeats.to_string(),
        "--pgd-batch".into(),
        pgd_batch.to_string(),
    ];
    let text = crate::reference::run(python, "torch_resnet18.py", &script_args, "PyTorch")?;
    serde_json::from_str(&text).ok()
}

/// Run the suite.
pub fn run(args: &BenchArgs, device: &Device, batches: &[usize]) -> Result<()> {
    let spec = ModelSpec::imagenet("resnet18", 224)?;
    let weights = closed_form_weights(&spec)?;
    let model = Sequential::from_weights(spec.clone(), weights.clone(), device)?;
    let grad_device = device.clone().autodiff();
    let grad_model = Sequential::from_weights(spec, weights, &grad_device)?;
    println!(
        "ResNet-18, 224×224, {device:?}, ms per image ({} timed runs):",
        args.repeats
    );
    let torch = (args.torch_python != "none")
        .then(|| torch_reference(&args.torch_python, batches, args.repeats, args.pgd_batch))
        .flatten();
    println!("| batch | forward | PyTorch | ratio | fwd+bwd | PyTorch | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for &n in batches {
        let values: Vec<f32> = (0..n * 3 * 224 * 224)
            .map(|i| (i % 251) as f32 / 251.0)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [n, 3, 224, 224]), device);
        let forward = per_image(n, args.repeats, || {
            let _ = model.logits(x.clone()).into_data();
        });
        let xg = Tensor::<4>::from_data(TensorData::new(values, [n, 3, 224, 224]), &grad_device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64; n], [n]), &grad_device);
        let backward = per_image(n, args.repeats, || {
            let _ = input_gradient(&grad_model, xg.clone(), y.clone())
                .gradient
                .into_data();
        });
        let theirs = |key: &str| {
            torch
                .as_ref()
                .and_then(|t| t["batches"][n.to_string()][key].as_f64())
        };
        let cell = |ours: f64, theirs: Option<f64>| match theirs {
            Some(t) => format!("{ours:.1} | {t:.1} | {:.2}×", ours / t),
            None => format!("{ours:.1} | – | –"),
        };
        println!(
            "| {n} | {} | {} |",
            cell(forward, theirs("forward_ms_per_image")),
            cell(backward, theirs("backward_ms_per_image"))
        );
    }
    if args.pgd_batch > 0 {
        let n = args.pgd_batch;
        let values: Vec<f32> = (0..n * 3 * 224 * 224)
            .map(|i| (i % 251) as f32 / 251.0)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [n, 3, 224, 224]), device);
        let labels = vec![0usize; n];
        let threat = ThreatModel::new(Norm::Linf, 4.0 / 255.0)?;
        let config = PgdConfig {
            random_start: false,
            ..PgdConfig::pgd(&threat, 10)
        };
        let run = || {
            perturb::blocking::block_on(pgd(&model, x.clone(), &labels, &threat, &config, |_| true))
                .map(|_| ())
        };
        run()?;
        let start = Instant::now();
        for _ in 0..args.repeats {
            run()?;
        }
        let ours = (n * args.repeats) as f64 / start.elapsed().as_secs_f64();
        let theirs = torch
            .as_ref()
            .and_then(|t| t["pgd10_images_per_s"].as_f64());
        println!(
            "PGD-10 L∞ at batch {n}: {ours:.2} images/s{}",
            theirs.map_or(String::new(), |t| format!(
                ", PyTorch {t:.2} images/s (Perturb takes {:.2}× as long)",
                t / ours
            ))
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak resident memory of the bench: {mib:.0} MiB");
    }
    Ok(())
}
