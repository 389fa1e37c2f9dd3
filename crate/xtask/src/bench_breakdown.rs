//! `cargo xtask bench --breakdown`: where a PGD step's time goes on the default model — each
//! layer's forward pass and its input gradient (the backward op PGD needs), the whole forward and
//! forward+backward, and the rest of the step (sign, projection, success) — beside the same
//! measurements on PyTorch-CPU (`tests/bench/torch_pgd.py --breakdown`) in the same run.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use perturb::Result;
use perturb::loss::cross_entropy_per_sample;
use perturb::model::{Activation, Classifier, Layer, Sequential};

/// Median milliseconds of `f` over `repeats` calls after two warm-up calls.
fn median_ms(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Wait for an activation's values (the CPU backend is eager; this also holds on wgpu).
fn settle(x: &Activation) {
    let _ = match x {
        Activation::Image(t) => t.clone().sum().into_data(),
        Activation::Flat(t) => t.clone().sum().into_data(),
    };
}

/// Forward `layer` at `input` (wrapped by `wrap`) and take the gradient of `upstream · output`
/// with respect to the input, waiting for its values.
fn input_gradient<const D: usize>(
    layer: &Layer,
    input: &Tensor<D>,
    wrap: fn(Tensor<D>) -> Activation,
    upstream: &Tensor<2>,
) {
    let input = input.clone().detach().autodiff().require_grad();
    let output = layer.forward(wrap(input.clone())).into_flat();
    let grads = (output * upstream.clone().autodiff()).sum().backward();
    let _ = input.grad(&grads).map(|g| g.sum().into_data());
}

/// Each layer's forward time and the time of forward plus the gradient with respect to its
/// input (for a fixed random upstream gradient), in ms, labelled `index:kind`.
fn per_layer(model: &Sequential, images: Tensor<4>, repeats: usize) -> Vec<(String, f64, f64)> {
    let mut rows = Vec::new();
    let mut x = Activation::Image(images);
    for (i, (layer, spec)) in model.layers().iter().zip(&model.spec().layers).enumerate() {
        let kind = serde_json::to_value(spec).ok();
        let kind = kind
            .as_ref()
            .and_then(|v| v["type"].as_str())
            .unwrap_or("?");
        let label = format!("{i}:{kind}");
        let forward = median_ms(repeats, || settle(&layer.forward(x.clone())));
        let out = layer.forward(x.clone());
        let upstream = Tensor::<2>::random(
            out.clone().into_flat().dims(),
            Distribution::Default,
            &out.device(),
        );
        let backward = match &x {
            Activation::Image(t) => median_ms(repeats, || {
                input_gradient(layer, t, Activation::Image, &upstream)
            }),
            Activation::Flat(t) => median_ms(repeats, || {
                input_gradient(layer, t, Activation::Flat, &upstream)
            }),
        };
        rows.push((label, forward, backward));
        x = out;
    }
    rows
}

/// Time the breakdown on `images` with `labels` and print it, beside `torch` (the same rows
/// measured by PyTorch, by label) where given.
pub fn run(
    model: &Sequential,
    images: Tensor<4>,
    labels: &[usize],
    step_ms: f64,
    repeats: usize,
    device: &Device,
    torch: Option<BTreeMap<String, f64>>,
) -> Result<()> {
    let n = labels.len();
    let targets = Tensor::<1, Int>::from_data(
        TensorData::new(labels.iter().map(|&l| l as i64).collect(), [n]),
        device,
    );
    let mut rows: Vec<(String, f64)> = Vec::new();
    for (label, forward, backward) in per_layer(model, images.clone(), repeats) {
        rows.push((format!("layer {label} forward"), forward));
        rows.push((format!("layer {label} forward+input grad"), backward));
    }
    let forward = median_ms(repeats, || {
        let _ = model.logits(images.clone()).into_data();
    });
    let forward_backward = || {
        perturb::gradient::objective_gradient(model, images.clone(), |logits| {
            cross_entropy_per_sample(logits, targets.clone())
        })
    };
    let gradient = median_ms(repeats, || {
        let _ = forward_backward().1.sum().into_data();
    });
    // The step's own element-wise work on [n, 1, 28, 28]: as PGD does it (bounds computed once).
    let (_, g, logits) = forward_backward();
    let lower = (images.clone() - 0.3).clamp_min(0.0);
    let upper = (images.clone() + 0.3).clamp_max(1.0);
    let projection = median_ms(repeats, || {
        let x = (images.clone() + g.clone().sign() * 0.0075)
            .max_pair(lower.clone())
            .min_pair(upper.clone());
        let _ = x.sum().into_data();
    });
    let success = median_ms(repeats, || {
        let hit = perturb::attack::succeeded(logits.clone(), targets.clone(), false);
        let _ = hit.float().mean().into_data();
    });
    rows.push(("sign, step and projection".into(), projection));
    rows.push(("success check and its mean read back".into(), success));
    rows.push(("model forward".into(), forward));
    rows.push(("model forward+input grad".into(), gradient));
    rows.push(("PGD step (measured above)".into(), step_ms));
    println!("\nwhere a PGD step goes, batch {n} (median ms of {repeats} calls):");
    println!(
        "{:<56} {:>10} {:>10} {:>7}",
        "", "Perturb", "PyTorch", "ratio"
    );
    for (label, ours) in rows {
        let theirs = torch.as_ref().and_then(|t| t.get(&label)).copied();
        match theirs {
            Some(t) => println!("{label:<56} {ours:>10.3} {t:>10.3} {:>6.2}×", ours / t),
            None => println!("{label:<56} {ours:>10.3} {:>10} {:>7}", "–", ""),
        }
    }
    Ok(())
}
