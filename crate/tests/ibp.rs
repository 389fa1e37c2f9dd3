//! Interval bound propagation: hand-computed intervals, and soundness — 10,000 points sampled in
//! the ball and every PGD adversarial stay inside the bounds — on random nets and the default model.

use burn::tensor::{Device, Int, Tensor, TensorData};
use perturb::attack::{AttackLoss, Norm, PgdConfig, ThreatModel, pgd};
use perturb::certify::{input_box, logit_bounds, margin_lower_bounds, verified};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::model::{Classifier, DEFAULT_MNIST_WEIGHTS, ModelSpec, Sequential, WeightMap};
use perturb::rng::SplitMix64;

const TOLERANCE: f32 = 1e-5;

fn flat2(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn image(values: Vec<f32>, shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[test]
fn hand_computed_intervals() {
    let device = Device::flex();
    // Linear(w = 1, b = 2) on [1, 2, 3] ± 1: centre 8, radius 3.
    let spec = ModelSpec::from_json(
        r#"{"input": [1, 1, 3], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 3, "out_features": 1}]}"#,
    )
    .unwrap();
    let mut w = WeightMap::new();
    w.insert("1.weight".into(), (vec![1, 3], vec![1.0; 3]));
    w.insert("1.bias".into(), (vec![1], vec![2.0]));
    let model = Sequential::from_weights(spec, w, &device).unwrap();
    let x = image(vec![1.0, 2.0, 3.0], [1, 1, 1, 3], &device);
    let (lo, hi) = logit_bounds(&model, input_box(x, 1.0, (-100.0, 100.0)).unwrap());
    assert_eq!((flat2(lo), flat2(hi)), (vec![5.0], vec![11.0]));

    // [1, −1] then ReLU then [1, 1] on [0.5, 0.5] ± 0.5 inside [0, 1]: x1 − x2 ∈ [−1, 1], ReLU
    // gives [0, 1]; the second unit (−x1 + x2) likewise, so the sum lies in [0, 2].
    let spec = ModelSpec::from_json(
        r#"{"input": [1, 1, 2], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 2, "out_features": 2, "bias": false}, {"type": "relu"},
        {"type": "linear", "in_features": 2, "out_features": 1, "bias": false}]}"#,
    )
    .unwrap();
    let mut w = WeightMap::new();
    w.insert("1.weight".into(), (vec![2, 2], vec![1.0, -1.0, -1.0, 1.0]));
    w.insert("3.weight".into(), (vec![1, 2], vec![1.0, 1.0]));
    let model = Sequential::from_weights(spec, w, &device).unwrap();
    let x = image(vec![0.5, 0.5], [1, 1, 1, 2], &device);
    let (lo, hi) = logit_bounds(&model, input_box(x, 0.5, (0.0, 1.0)).unwrap());
    assert_eq!((flat2(lo), flat2(hi)), (vec![0.0], vec![2.0]));
}

/// Check logit and margin bounds against `samples` points drawn uniformly in the ball (and its
/// corners), plus any extra points given.
fn assert_sound(
    model: &Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    eps: f32,
    samples: usize,
    extra: Option<Tensor<4>>,
) {
    let device = images.device();
    let [n, c, h, w] = images.dims();
    let label_tensor = Tensor::<1, Int>::from_data(
        TensorData::new(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [n]),
        &device,
    );
    let input = input_box(images.clone(), eps, (0.0, 1.0)).unwrap();
    let (lo, hi) = logit_bounds(model, input.clone());
    let (lo, hi) = (flat2(lo), flat2(hi));
    let margins = flat2(margin_lower_bounds(model, input, label_tensor));
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
        check(extra, &|k| k);
    }
    assert!(checked >= samples);
}

#[test]
fn bounds_hold_on_random_nets_for_10000_points() {
    let device = Device::flex();
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
    ];
    for (s, text) in specs.iter().enumerate() {
        let spec = ModelSpec::from_json(text).unwrap();
        let model = Sequential::from_weights(
            spec.clone(),
            Sequential::random_weights(&spec, s as u64 + 1).unwrap(),
            &device,
        )
        .unwrap();
        let mut rng = SplitMix64::new(s as u64);
        let values: Vec<f32> = (0..4 * 64).map(|_| rng.next_f32()).collect();
        let images = image(values, [4, 1, 8, 8], &device);
        let labels = [0, 1, 2, 3];
        assert_sound(&model, &images, &labels, 0.1, 10_000, None);
    }
}

#[test]
fn bounds_hold_on_the_default_model_for_samples_and_pgd_adversarials() {
    let device = Device::flex();
    let model =
        Sequential::from_safetensors(ModelSpec::small_cnn(), DEFAULT_MNIST_WEIGHTS, &device)
            .unwrap();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..8).collect();
    let (images, _) = data.batch(&indices, &device).unwrap();
    let labels: Vec<usize> = indices.iter().map(|&i| data.labels()[i] as usize).collect();
    let eps = 0.02;
    let threat = ThreatModel::new(Norm::Linf, eps).unwrap();
    let config = PgdConfig {
        loss: AttackLoss::Margin,
        restarts: 2,
        seed: 4,
        ..PgdConfig::pgd(&threat, 20)
    };
    let adversarial = pollster::block_on(pgd(
        &model,
        images.clone(),
        &labels,
        &threat,
        &config,
        |_| true,
    ))
    .unwrap()
    .adversarial;
    assert_sound(&model, &images, &labels, eps, 10_000, Some(adversarial));
}

#[test]
fn elision_is_never_looser_and_zero_budget_verifies_exactly_the_correct_samples() {
    let device = Device::flex();
    let model =
        Sequential::from_safetensors(ModelSpec::small_cnn(), DEFAULT_MNIST_WEIGHTS, &device)
            .unwrap();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..200).collect();
    let (images, labels) = data.batch(&indices, &device).unwrap();
    let input = input_box(images.clone(), 0.01, (0.0, 1.0)).unwrap();
    let (lo, hi) = logit_bounds(&model, input.clone());
    let naive = lo
        .gather(1, labels.clone().reshape([200, 1]))
        .expand([200, 10])
        - hi;
    let elided = margin_lower_bounds(&model, input, labels.clone());
    let (naive, elided) = (flat2(naive), flat2(elided));
    for (k, (a, b)) in naive.iter().zip(&elided).enumerate() {
        assert!(
            *b >= a - TOLERANCE,
            "entry {k}: elided {b} looser than naive {a}"
        );
    }
    let at_zero = verified(
        &model,
        input_box(images.clone(), 0.0, (0.0, 1.0)).unwrap(),
        labels.clone(),
    );
    let correct = model.logits(images).argmax(1).reshape([200]).equal(labels);
    assert_eq!(
        at_zero.into_data().try_into_vec_as::<bool>().unwrap(),
        correct.into_data().try_into_vec_as::<bool>().unwrap()
    );
}
