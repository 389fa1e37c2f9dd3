//! The soundness check every bound method must pass: 10,000 points sampled in the L∞ ball
//! (a quarter of them corners) and any extra points, such as PGD adversarials, must give logits
//! inside the claimed logit bounds and margins above the claimed margin lower bounds.

#![allow(dead_code)]

use burn::tensor::{Device, Int, Tensor, TensorData};
use perturb::attack::{AttackLoss, Norm, PgdConfig, ThreatModel, pgd};
use perturb::certify::Interval;
use perturb::model::{Classifier, ModelSpec, Sequential, WeightMap};
use perturb::runtime::rng::SplitMix64;

/// Slack for float rounding in the bound computations.
pub const TOLERANCE: f32 = 1e-5;

/// Row-major values of a matrix.
pub fn flat2(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// An image batch from values.
pub fn image(values: Vec<f32>, shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Labels as a device tensor.
pub fn label_tensor(labels: &[usize], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(
        TensorData::new(
            labels.iter().map(|&l| l as i64).collect::<Vec<_>>(),
            [labels.len()],
        ),
        device,
    )
}

/// Bounds claimed by a method, row-major `[n, classes]`.
#[derive(Clone)]
pub struct Claimed {
    /// Logit lower bounds.
    pub lower: Vec<f32>,
    /// Logit upper bounds.
    pub upper: Vec<f32>,
    /// Margin lower bounds (+∞ at the label).
    pub margins: Vec<f32>,
}

/// Small random nets covering every layer kind: BatchNorm, padding, stride, max pooling (plain,
/// padded, overlapping), average pooling, nested residual blocks and grouped (depthwise)
/// convolutions; then the ImageNet architectures' layers: input normalisation, TensorFlow "same"
/// padding at stride 2 (asymmetric), ReLU6 (a wide normalisation drives it past 6), adaptive
/// average pooling (global, and 4→3 with overlapping windows), dropout, a projection shortcut
/// (1×1 conv at stride 2 + batch norm) and DenseNet's nested channel concatenations; all on
/// 1×8×8 inputs.
pub fn random_nets(device: &Device) -> Vec<Sequential> {
    let specs = [
        r#"{"input": [1, 8, 8], "layers": [{"type": "flatten"},
            {"type": "linear", "in_features": 64, "out_features": 16}, {"type": "batch_norm", "num_features": 16},
            {"type": "relu"}, {"type": "linear", "in_features": 16, "out_features": 16}, {"type": "relu"},
            {"type": "linear", "in_features": 16, "out_features": 5}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "batch_norm", "num_features": 4}, {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2},
            {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "relu"}, {"type": "avg_pool2d", "kernel_size": 2}, {"type": "flatten"},
            {"type": "linear", "in_features": 6, "out_features": 4}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": 3},
            {"type": "max_pool2d", "kernel_size": 3, "stride": 2, "padding": 1}, {"type": "relu"},
            {"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 2},
            {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2, "stride": 1}, {"type": "flatten"},
            {"type": "linear", "in_features": 4, "out_features": 8}, {"type": "relu"},
            {"type": "linear", "in_features": 8, "out_features": 4}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "relu"}, {"type": "skip"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "relu"}, {"type": "skip"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "add_skip"}, {"type": "relu"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "add_skip"}, {"type": "relu"}, {"type": "avg_pool2d", "kernel_size": 2},
            {"type": "flatten"}, {"type": "skip"},
            {"type": "linear", "in_features": 64, "out_features": 64}, {"type": "relu"},
            {"type": "add_skip"}, {"type": "linear", "in_features": 64, "out_features": 5}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "relu"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1, "groups": 4},
            {"type": "relu"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 8, "kernel_size": 1},
            {"type": "relu"},
            {"type": "conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 2},
            {"type": "relu"}, {"type": "flatten"},
            {"type": "linear", "in_features": 128, "out_features": 4}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "normalize", "mean": [0.1], "std": [0.05]},
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same", "bias": false},
            {"type": "batch_norm", "num_features": 4}, {"type": "relu6"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": "same", "groups": 4},
            {"type": "relu6"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 2, "stride": 2, "padding": "same"},
            {"type": "relu6"}, {"type": "adaptive_avg_pool2d", "output_size": [1, 1]}, {"type": "flatten"},
            {"type": "dropout", "p": 0.2}, {"type": "linear", "in_features": 6, "out_features": 4}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "relu"}, {"type": "skip"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "bias": false},
            {"type": "batch_norm", "num_features": 6}, {"type": "relu"},
            {"type": "conv2d", "in_channels": 6, "out_channels": 6, "kernel_size": 3, "padding": 1, "bias": false},
            {"type": "batch_norm", "num_features": 6},
            {"type": "add_skip", "shortcut": [
                {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 1, "stride": 2, "bias": false},
                {"type": "batch_norm", "num_features": 6}]},
            {"type": "relu"}, {"type": "adaptive_avg_pool2d", "output_size": [3, 3]}, {"type": "flatten"},
            {"type": "linear", "in_features": 54, "out_features": 5}]}"#,
        r#"{"input": [1, 8, 8], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "skip"}, {"type": "batch_norm", "num_features": 4}, {"type": "relu"},
            {"type": "conv2d", "in_channels": 4, "out_channels": 3, "kernel_size": 3, "padding": 1},
            {"type": "concat_skip"},
            {"type": "skip"}, {"type": "batch_norm", "num_features": 7}, {"type": "relu"},
            {"type": "conv2d", "in_channels": 7, "out_channels": 3, "kernel_size": 3, "padding": 1},
            {"type": "concat_skip"},
            {"type": "batch_norm", "num_features": 10}, {"type": "relu"},
            {"type": "avg_pool2d", "kernel_size": 2}, {"type": "adaptive_avg_pool2d", "output_size": [1, 1]},
            {"type": "flatten"}, {"type": "linear", "in_features": 10, "out_features": 4}]}"#,
    ];
    specs
        .iter()
        .enumerate()
        .map(|(s, text)| {
            let spec = ModelSpec::from_json(text).unwrap();
            let weights = Sequential::random_weights(&spec, s as u64 + 1).unwrap();
            Sequential::from_weights(spec, weights, device).unwrap()
        })
        .collect()
}

/// Four random 1×8×8 images for the random nets.
pub fn random_images(seed: u64, device: &Device) -> Tensor<4> {
    let mut rng = SplitMix64::new(seed);
    let values: Vec<f32> = (0..4 * 64).map(|_| rng.next_f32()).collect();
    image(values, [4, 1, 8, 8], device)
}

/// The box of the test: the ball of radius `eps` clipped to [0, 1].
pub fn unit_box(images: &Tensor<4>, eps: f32) -> Interval {
    perturb::certify::input_box(images.clone(), eps, (0.0, 1.0)).unwrap()
}

/// Check `claimed` against `samples` points drawn uniformly in the ball (and its corners), plus
/// any extra points given.
pub fn assert_sound(
    model: &Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    eps: f32,
    samples: usize,
    extra: Option<Tensor<4>>,
    claimed: &Claimed,
) {
    let device = images.device();
    let [n, c, h, w] = images.dims();
    let (lo, hi, margins) = (&claimed.lower, &claimed.upper, &claimed.margins);
    let classes = lo.len() / n;
    let clean = images.clone().into_data().try_into_vec_as::<f32>().unwrap();
    let per = c * h * w;
    let mut rng = SplitMix64::new(21);
    let mut checked = 0;
    let mut check = |points: Tensor<4>, owner: &dyn Fn(usize) -> usize| {
        let logits = flat2(model.logits(points));
        for (k, row) in logits.chunks(classes).enumerate() {
            let i = owner(k);
            for j in 0..classes {
                let (l, u) = (lo[i * classes + j], hi[i * classes + j]);
                assert!(
                    row[j] >= l - TOLERANCE && row[j] <= u + TOLERANCE,
                    "sample {i} logit {j}: {} outside [{l}, {u}]",
                    row[j]
                );
                let m = row[labels[i]] - row[j];
                assert!(
                    j == labels[i] || m >= margins[i * classes + j] - TOLERANCE,
                    "sample {i} class {j}: margin {m} below bound {}",
                    margins[i * classes + j]
                );
            }
            checked += 1;
        }
    };
    let per_batch = 250;
    for batch in 0..samples.div_ceil(per_batch) {
        let mut values = Vec::with_capacity(per_batch * per);
        let mut owners = Vec::with_capacity(per_batch);
        for k in 0..per_batch {
            let i = (batch * per_batch + k) % n;
            owners.push(i);
            let corner = k % 4 == 0;
            for p in 0..per {
                let x = clean[i * per + p];
                let d = if corner {
                    if rng.next_f32() < 0.5 { -eps } else { eps }
                } else {
                    (2.0 * rng.next_f32() - 1.0) * eps
                };
                values.push((x + d).clamp(0.0, 1.0));
            }
        }
        check(image(values, [per_batch, c, h, w], &device), &|k| owners[k]);
    }
    if let Some(extra) = extra {
        // Extra points come in sets of n, in the images' order.
        check(extra, &|k| k % n);
    }
    assert!(checked >= samples);
}

/// The points a bound is most likely to miss, per image: for every class j, signed-gradient
/// ascent (20 steps, from the gradient-sign corner) that pushes logit j up, pushes it down, and
/// pushes the margin `z_label − z_j` down, inside the L∞ ball of radius `eps` and the pixel range.
/// Sets of n points, concatenated.
pub fn logit_extremes(
    model: &Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    eps: f32,
) -> Tensor<4> {
    use perturb::gradient::objective_gradient;
    let classes = model.logits(images.clone()).dims()[1];
    let n = images.dims()[0];
    let device = images.device();
    let low = (images.clone() - eps).clamp_min(0.0);
    let high = (images.clone() + eps).clamp_max(1.0);
    let mut sets = Vec::new();
    for j in 0..classes {
        for kind in 0..3 {
            // Weights on the logits whose weighted sum is ascended.
            let mut w = vec![0.0f32; n * classes];
            for i in 0..n {
                match kind {
                    0 => w[i * classes + j] = 1.0,
                    1 => w[i * classes + j] = -1.0,
                    _ => {
                        w[i * classes + j] += 1.0;
                        w[i * classes + labels[i]] -= 1.0;
                    }
                }
            }
            let w = Tensor::<2>::from_data(TensorData::new(w, [n, classes]), &device);
            let ascend = |x: Tensor<4>, step: f32| {
                let w = w.clone();
                let (_, g, _) =
                    objective_gradient(model, x.clone(), move |z| (z * w).sum_dim(1).reshape([n]));
                (x + g.sign() * step)
                    .max_pair(low.clone())
                    .min_pair(high.clone())
            };
            let mut x = ascend(images.clone(), eps);
            for _ in 0..20 {
                x = ascend(x, eps / 8.0);
            }
            sets.push(x);
        }
    }
    Tensor::cat(sets, 0)
}

/// Margin-loss PGD-20 adversarials (2 restarts) in the L∞ ball of radius `eps`: the points a
/// bound is most likely to miss.
pub fn pgd_adversarials(
    model: &Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    eps: f32,
) -> Tensor<4> {
    let threat = ThreatModel::new(Norm::Linf, eps).unwrap();
    let config = PgdConfig {
        loss: AttackLoss::Margin,
        restarts: 2,
        seed: 4,
        ..PgdConfig::pgd(&threat, 20)
    };
    pollster::block_on(pgd(model, images.clone(), labels, &threat, &config, |_| {
        true
    }))
    .unwrap()
    .adversarial
}

/// Linear(w = 1, b = 2) on [1, 2, 3] ± 1 (pixel range wide open): the output lies in [5, 11].
pub fn affine_net(device: &Device) -> (Sequential, Interval) {
    let spec = ModelSpec::from_json(
        r#"{"input": [1, 1, 3], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 3, "out_features": 1}]}"#,
    )
    .unwrap();
    let mut w = WeightMap::new();
    w.insert("1.weight".into(), (vec![1, 3], vec![1.0; 3]));
    w.insert("1.bias".into(), (vec![1], vec![2.0]));
    let model = Sequential::from_weights(spec, w, device).unwrap();
    let x = image(vec![1.0, 2.0, 3.0], [1, 1, 1, 3], device);
    let input = perturb::certify::input_box(x, 1.0, (-100.0, 100.0)).unwrap();
    (model, input)
}

/// relu(x1 − x2) + relu(x2 − x1) = |x1 − x2| on [0.5, 0.5] ± 0.5 inside [0, 1]: the output
/// truly lies in [0, 1].
pub fn abs_diff_net(device: &Device) -> (Sequential, Interval) {
    let spec = ModelSpec::from_json(
        r#"{"input": [1, 1, 2], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 2, "out_features": 2, "bias": false}, {"type": "relu"},
        {"type": "linear", "in_features": 2, "out_features": 1, "bias": false}]}"#,
    )
    .unwrap();
    let mut w = WeightMap::new();
    w.insert("1.weight".into(), (vec![2, 2], vec![1.0, -1.0, -1.0, 1.0]));
    w.insert("3.weight".into(), (vec![1, 2], vec![1.0, 1.0]));
    let model = Sequential::from_weights(spec, w, device).unwrap();
    let x = image(vec![0.5, 0.5], [1, 1, 1, 2], device);
    let input = perturb::certify::input_box(x, 0.5, (0.0, 1.0)).unwrap();
    (model, input)
}
