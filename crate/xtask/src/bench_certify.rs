//! `cargo xtask bench --suite certify|exact`: the cost of certification, printed (never asserted).

use std::time::Instant;

use burn::tensor::Tensor;
use perturb::Result;
use perturb::attack::{Norm, ThreatModel};
use perturb::certify::{
    BoundMethod, CrownConfig, ExactConfig, ExactOutcome, IntermediateNeurons, SmoothingConfig,
    TinyNet, bound_margins, certify, crown_margin_lower_bounds, threat_box, verify_exact,
};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::model::{ModelSpec, Sequential};
use perturb::runtime::readback::read_f32;
use perturb::runtime::rng::SplitMix64;

use perturb_cli::plot::{Chart, Series};

use crate::bench::BenchArgs;

/// Median seconds of `repeats` runs of `f` after one warm-up.
fn median_seconds(repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut times = Vec::new();
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Median seconds of computing margin lower bounds `[n, classes]` (each timed run reads every
/// image's lowest margin back), and how many images the last run verified.
fn timed_margins(repeats: usize, margins: impl Fn() -> Result<Tensor<2>>) -> Result<(f64, usize)> {
    let mut lowest = Vec::new();
    let seconds = median_seconds(repeats, || {
        let m = margins()?;
        let n = m.dims()[0];
        lowest = perturb::blocking::block_on(read_f32(m.min_dim(1).reshape([n])))?;
        Ok(())
    })?;
    Ok((seconds, lowest.iter().filter(|&&m| m > 0.0).count()))
}

/// auto_LiRPA's milliseconds per batch and verified count for each method on the same batch
/// (`tests/bench/lirpa_bounds.py`), where the Python has torch and auto_LiRPA.
fn lirpa_reference(args: &BenchArgs, n: usize) -> Option<Vec<(String, f64, usize)>> {
    let script_args = [
        "--batch-size".to_string(),
        n.to_string(),
        "--repeats".into(),
        args.repeats.to_string(),
    ];
    let text = crate::reference::run(
        &args.torch_python,
        "lirpa_bounds.py",
        &script_args,
        "auto_LiRPA",
    )?;
    print!("{}", crate::reference::prose(&text));
    Some(
        crate::reference::rows(&text)
            .into_iter()
            .filter_map(|row| match row.as_slice() {
                [method, ms, verified] => {
                    Some((method.to_string(), ms.parse().ok()?, verified.parse().ok()?))
                }
                _ => None,
            })
            .collect(),
    )
}

/// IBP, CROWN-IBP and CROWN per batch on the default model at ε = 0.01 (beside auto_LiRPA's on
/// the same batch where it is installed), and CERTIFY per image.
pub fn certification(args: &BenchArgs) -> Result<()> {
    let device = args.device.init()?;
    let model = perturb::zoo::default_model(&device)?;
    let data = shipped_test_subset(DatasetKind::Mnist)?;
    let indices: Vec<usize> = (0..args.batch_size.min(data.len())).collect();
    let (images, labels) = data.batch(&indices, &device)?;
    let n = indices.len();
    let threat = ThreatModel::new(Norm::Linf, 0.01)?;
    let lirpa = (args.torch_python != "none")
        .then(|| lirpa_reference(args, n))
        .flatten()
        .unwrap_or_default();
    for method in BoundMethod::ALL {
        let name = method.id().to_uppercase();
        let (seconds, verified) = timed_margins(args.repeats, || {
            bound_margins(&model, images.clone(), labels.clone(), &threat, method)
        })?;
        println!(
            "{name} bounds, default model, batch {n} on {:?}: {:.1} ms per batch, {:.2} ms per image, {verified} verified",
            args.device,
            seconds * 1e3,
            seconds * 1e3 / n as f64
        );
        if let Some((_, ms, lirpa_verified)) = lirpa.iter().find(|(m, ..)| *m == name) {
            println!(
                "  auto_LiRPA {name}: {ms:.1} ms per batch, {lirpa_verified} verified; Perturb / auto_LiRPA {:.2}×",
                seconds * 1e3 / ms
            );
        }
    }
    // Full CROWN with the other choices of intermediate neurons: every one (the tightest), and the
    // unstable ones only (auto_LiRPA's default, the same work as its figure above).
    let input = threat_box(images.clone(), &threat)?;
    for (neurons, what) in [
        (IntermediateNeurons::All, "every neuron"),
        (
            IntermediateNeurons::Unstable,
            "unstable neurons only, as auto_LiRPA",
        ),
    ] {
        let config = CrownConfig {
            neurons,
            ..CrownConfig::default()
        };
        let (seconds, verified) = timed_margins(args.repeats, || {
            crown_margin_lower_bounds(&model, input.clone(), labels.clone(), &config)
        })?;
        println!(
            "CROWN bounds ({what}), batch {n}: {:.1} ms per batch, {verified} verified",
            seconds * 1e3
        );
    }
    let config = SmoothingConfig {
        samples: args.samples,
        batch_size: 1_000,
        ..SmoothingConfig::new(0.25)
    };
    let image = images.narrow(0, 0, 1);
    let seconds = median_seconds(args.repeats, || {
        perturb::blocking::block_on(certify(&model, image.clone(), &config))?;
        Ok(())
    })?;
    println!(
        "Smoothing CERTIFY n={} (+n0={}) per MNIST image on {:?}: {:.3} s",
        config.samples, config.selection_samples, args.device, seconds
    );
    Ok(())
}

/// A random MLP on 4×4 inputs with `depth` hidden layers of `width` ReLUs and 3 classes.
fn random_mlp(depth: usize, width: usize, seed: u64) -> Result<Sequential> {
    let mut layers = vec![r#"{"type": "flatten"}"#.to_string()];
    let mut inputs = 16;
    for _ in 0..depth {
        layers.push(format!(
            r#"{{"type": "linear", "in_features": {inputs}, "out_features": {width}}}"#
        ));
        layers.push(r#"{"type": "relu"}"#.into());
        inputs = width;
    }
    layers.push(format!(
        r#"{{"type": "linear", "in_features": {inputs}, "out_features": 3}}"#
    ));
    let spec = ModelSpec::from_json(&format!(
        r#"{{"input": [1, 4, 4], "layers": [{}]}}"#,
        layers.join(",")
    ))?;
    let weights = Sequential::random_weights(&spec, seed)?;
    Sequential::from_weights(spec, weights, &burn::tensor::Device::flex())
}

/// Nodes and time of exact verification as networks grow, at twice the largest budget that CROWN
/// alone proves (where branching is needed): the exponential growth of §VII.B, measured.
pub fn exact_scaling(args: &BenchArgs) -> Result<()> {
    let config = ExactConfig { max_nodes: 20_000 };
    let mut series = Vec::new();
    println!("depth width relus  median_nodes  max_nodes  median_ms  verified/refuted/timeout");
    for depth in 1..=3 {
        let mut points = Vec::new();
        for width in [4, 8, 12, 16] {
            let (mut nodes, mut times, mut verdicts) = (Vec::new(), Vec::new(), [0usize; 3]);
            for seed in 0..6u64 {
                let model = random_mlp(depth, width, 100 + seed)?;
                let net = perturb::blocking::block_on(TinyNet::from_sequential(&model))?;
                let mut rng = SplitMix64::new(seed);
                let x: Vec<f64> = (0..16).map(|_| f64::from(rng.next_f32())).collect();
                let z = net.forward(&x);
                let label = (0..3).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap_or(0);
                // The largest ε the root's CROWN bound proves, by bisection (one node each).
                let root = ExactConfig { max_nodes: 1 };
                let (mut lo, mut hi) = (0.0, 1.0);
                for _ in 0..20 {
                    let mid = (lo + hi) / 2.0;
                    let (outcome, _) =
                        verify_exact(&net, &x, label, mid, (0.0, 1.0), &root, |_| true)?;
                    if outcome == ExactOutcome::Verified {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let eps = (2.0 * lo).max(1e-3);
                let started = Instant::now();
                let (outcome, stats) =
                    verify_exact(&net, &x, label, eps, (0.0, 1.0), &config, |_| {
                        started.elapsed().as_secs_f64() < 30.0
                    })?;
                times.push(started.elapsed().as_secs_f64() * 1e3);
                nodes.push(stats.nodes);
                verdicts[match outcome {
                    ExactOutcome::Verified => 0,
                    ExactOutcome::Counterexample { .. } => 1,
                    ExactOutcome::Timeout => 2,
                }] += 1;
            }
            nodes.sort_unstable();
            times.sort_by(f64::total_cmp);
            let median = nodes[nodes.len() / 2];
            println!(
                "{depth:>5} {width:>5} {:>5}  {median:>12}  {:>9}  {:>9.1}  {}/{}/{}",
                depth * width,
                nodes[nodes.len() - 1],
                times[times.len() / 2],
                verdicts[0],
                verdicts[1],
                verdicts[2]
            );
            points.push(((depth * width) as f64, nodes[nodes.len() - 1] as f64));
        }
        series.push(Series {
            name: format!("{depth} hidden layer{}", if depth > 1 { "s" } else { "" }),
            points,
        });
    }
    if let Some(path) = &args.plot {
        let chart = Chart {
            title: "Exact verification: most branch-and-bound nodes of 6 nets".into(),
            x_label: "ReLUs (depth × width)".into(),
            y_label: "nodes (log scale)".into(),
            series,
            log_y: true,
        };
        perturb_cli::write_file(path, chart.to_svg().as_bytes())?;
    }
    Ok(())
}
