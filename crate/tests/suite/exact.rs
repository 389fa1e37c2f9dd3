//! Exact verification: where it says "verified", PGD with restarts finds nothing; where it returns
//! a counterexample, the point is in the ball and misclassified; and it never contradicts the
//! sound bounds (CROWN or IBP verified ⇒ exact verified).

use crate::common::soundness::{flat2, image, label_tensor, unit_box};
use burn::tensor::Device;
use perturb::attack::{AttackLoss, Norm, PgdConfig, ThreatModel, pgd};
use perturb::certify::{
    CrownConfig, ExactConfig, ExactOutcome, TinyNet, crown_margin_lower_bounds,
    margin_lower_bounds, verify_exact,
};
use perturb::model::{Classifier, ModelSpec, Sequential};
use perturb::runtime::rng::SplitMix64;

fn mlp(seed: u64, device: &Device) -> Sequential {
    let spec = ModelSpec::from_json(
        r#"{"input": [1, 4, 4], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 16, "out_features": 10}, {"type": "relu"},
        {"type": "linear", "in_features": 10, "out_features": 10}, {"type": "relu"},
        {"type": "linear", "in_features": 10, "out_features": 3}]}"#,
    )
    .unwrap();
    let weights = Sequential::random_weights(&spec, seed).unwrap();
    Sequential::from_weights(spec, weights, device).unwrap()
}

fn proven(margins: Vec<f32>) -> bool {
    margins.iter().all(|&m| m > 0.0)
}

#[test]
fn verdicts_agree_with_pgd_and_the_sound_bounds() {
    let device = crate::common::device();
    let (mut verified, mut refuted, mut split_and_verified) = (0, 0, 0);
    for seed in 0..6u64 {
        let model = mlp(seed + 10, &device);
        let net = pollster::block_on(TinyNet::from_sequential(&model)).unwrap();
        let mut rng = SplitMix64::new(seed);
        let x: Vec<f32> = (0..16).map(|_| rng.next_f32()).collect();
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let images = image(x.clone(), [1, 1, 4, 4], &device);
        let logits = flat2(model.logits(images.clone()));
        let label = (0..3)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap();
        for eps in [0.005f32, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3] {
            let (outcome, stats) = verify_exact(
                &net,
                &x64,
                label,
                f64::from(eps),
                (0.0, 1.0),
                &ExactConfig::default(),
                |_| true,
            )
            .unwrap();
            let input = unit_box(&images, eps);
            let labels = label_tensor(&[label], &device);
            let ibp = proven(flat2(margin_lower_bounds(
                &model,
                input.clone(),
                labels.clone(),
            )));
            let crown = proven(flat2(
                crown_margin_lower_bounds(&model, input, labels, &CrownConfig::default()).unwrap(),
            ));
            match outcome {
                ExactOutcome::Verified => {
                    verified += 1;
                    split_and_verified += usize::from(stats.nodes > 1);
                    let threat = ThreatModel::new(Norm::Linf, eps).unwrap();
                    let config = PgdConfig {
                        loss: AttackLoss::Margin,
                        restarts: 10,
                        seed,
                        ..PgdConfig::pgd(&threat, 100)
                    };
                    let result = pollster::block_on(pgd(
                        &model,
                        images.clone(),
                        &[label],
                        &threat,
                        &config,
                        |_| true,
                    ))
                    .unwrap();
                    assert!(
                        !result.samples[0].success,
                        "seed {seed} ε {eps}: verified, yet PGD succeeded"
                    );
                }
                ExactOutcome::Counterexample { input, logits } => {
                    refuted += 1;
                    assert!(
                        !ibp && !crown,
                        "seed {seed} ε {eps}: a bound proved a refuted case"
                    );
                    for (a, b) in input.iter().zip(&x64) {
                        assert!((a - b).abs() <= f64::from(eps) + 1e-9 && (0.0..=1.0).contains(a));
                    }
                    assert!((0..3).any(|c| c != label && logits[c] >= logits[label]));
                    // The f32 model agrees up to rounding.
                    let point: Vec<f32> = input.iter().map(|&v| v as f32).collect();
                    let z = flat2(model.logits(image(point, [1, 1, 4, 4], &device)));
                    assert!((0..3).any(|c| c != label && z[c] >= z[label] - 1e-4));
                }
                ExactOutcome::Timeout => panic!("seed {seed} ε {eps}: no verdict in {stats:?}"),
            }
        }
    }
    assert!(
        verified >= 3 && refuted >= 3 && split_and_verified >= 1,
        "{verified} verified ({split_and_verified} after splitting), {refuted} refuted"
    );
}

#[test]
fn stable_roots_decide_at_once_and_splits_grow_with_the_ball() {
    let device = crate::common::device();
    let model = mlp(3, &device);
    let net = pollster::block_on(TinyNet::from_sequential(&model)).unwrap();
    let x = vec![0.5; 16];
    let label = {
        let z = net.forward(&x);
        (0..3).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap()
    };
    let run = |eps: f64| {
        verify_exact(
            &net,
            &x,
            label,
            eps,
            (0.0, 1.0),
            &ExactConfig::default(),
            |_| true,
        )
        .unwrap()
    };
    let (outcome, stats) = run(0.0);
    assert_eq!(outcome, ExactOutcome::Verified);
    assert_eq!((stats.nodes, stats.unstable_at_root), (1, 0));
    let unstable: Vec<usize> = [0.0, 0.02, 0.05, 0.1]
        .iter()
        .map(|&e| run(e).1.unstable_at_root)
        .collect();
    assert!(unstable.windows(2).all(|w| w[0] <= w[1]), "{unstable:?}");
    // A node budget of 1 cannot decide a case that needs splits.
    let (outcome, _) = verify_exact(
        &net,
        &x,
        label,
        0.1,
        (0.0, 1.0),
        &ExactConfig { max_nodes: 1 },
        |_| true,
    )
    .unwrap();
    let (full, stats) = run(0.1);
    if stats.nodes > 1 {
        assert_eq!(outcome, ExactOutcome::Timeout);
    } else {
        assert_eq!(outcome, full);
    }
}

#[test]
fn refuses_what_it_cannot_verify() {
    let device = crate::common::device();
    let conv = Sequential::from_weights(
        ModelSpec::small_cnn(),
        Sequential::random_weights(&ModelSpec::small_cnn(), 1).unwrap(),
        &device,
    )
    .unwrap();
    let err = pollster::block_on(TinyNet::from_sequential(&conv)).unwrap_err();
    assert!(err.to_string().contains("linear and relu"), "{err}");
    let net = pollster::block_on(TinyNet::from_sequential(&mlp(1, &device))).unwrap();
    let config = ExactConfig::default();
    assert!(verify_exact(&net, &[0.5; 3], 0, 0.1, (0.0, 1.0), &config, |_| true).is_err());
    assert!(verify_exact(&net, &[0.5; 16], 0, f64::NAN, (0.0, 1.0), &config, |_| true).is_err());
    assert!(verify_exact(&net, &[0.5; 16], 7, 0.1, (0.0, 1.0), &config, |_| true).is_err());
}

/// An independent oracle for one-hidden-layer MLPs on two inputs: the ReLUs' lines cut the box
/// into convex cells on each of which the network is affine, so the least margin over the box is
/// reached at a cell vertex — a box corner, a line crossing an edge, or two lines crossing. All
/// of them are enumerated and the network evaluated there in f64 from the raw weights.
fn oracle_min_margin(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
    lo: [f64; 2],
    hi: [f64; 2],
    label: usize,
) -> f64 {
    let hidden = b1.len();
    let classes = b2.len();
    let forward = |p: [f64; 2]| -> Vec<f64> {
        let h: Vec<f64> = (0..hidden)
            .map(|i| (w1[2 * i] * p[0] + w1[2 * i + 1] * p[1] + b1[i]).max(0.0))
            .collect();
        (0..classes)
            .map(|c| (0..hidden).map(|i| w2[c * hidden + i] * h[i]).sum::<f64>() + b2[c])
            .collect()
    };
    let inside = |p: [f64; 2]| (0..2).all(|k| p[k] >= lo[k] - 1e-12 && p[k] <= hi[k] + 1e-12);
    let mut points = vec![lo, hi, [lo[0], hi[1]], [hi[0], lo[1]]];
    for i in 0..hidden {
        let (a, b, c) = (w1[2 * i], w1[2 * i + 1], b1[i]);
        for x in [lo[0], hi[0]] {
            if b != 0.0 {
                points.push([x, -(a * x + c) / b]);
            }
        }
        for y in [lo[1], hi[1]] {
            if a != 0.0 {
                points.push([-(b * y + c) / a, y]);
            }
        }
        for j in i + 1..hidden {
            let (d, e, f) = (w1[2 * j], w1[2 * j + 1], b1[j]);
            let det = a * e - b * d;
            if det != 0.0 {
                points.push([(b * f - c * e) / det, (c * d - a * f) / det]);
            }
        }
    }
    points
        .into_iter()
        .filter(|&p| inside(p))
        .map(|p| {
            let z = forward(p);
            (0..classes)
                .filter(|&c| c != label)
                .map(|c| z[label] - z[c])
                .fold(f64::INFINITY, f64::min)
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn verdicts_agree_with_a_vertex_enumeration_oracle_and_are_monotone_in_epsilon() {
    let device = crate::common::device();
    let spec = ModelSpec::from_json(
        r#"{"input": [1, 1, 2], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 2, "out_features": 8}, {"type": "relu"},
        {"type": "linear", "in_features": 8, "out_features": 3}]}"#,
    )
    .unwrap();
    let (mut verified, mut refuted) = (0, 0);
    for seed in 0..25u64 {
        let weights = Sequential::random_weights(&spec, 100 + seed).unwrap();
        let raw =
            |name: &str| -> Vec<f64> { weights[name].1.iter().map(|&v| f64::from(v)).collect() };
        let (w1, b1, w2, b2) = (
            raw("1.weight"),
            raw("1.bias"),
            raw("3.weight"),
            raw("3.bias"),
        );
        let model = Sequential::from_weights(spec.clone(), weights.clone(), &device).unwrap();
        let net = pollster::block_on(TinyNet::from_sequential(&model)).unwrap();
        let mut rng = SplitMix64::new(seed);
        let x = [f64::from(rng.next_f32()), f64::from(rng.next_f32())];
        let z = net.forward(&x);
        let label = (0..3).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap();
        let mut was_refuted = false;
        for eps in [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5] {
            let lo = [(x[0] - eps).max(0.0), (x[1] - eps).max(0.0)];
            let hi = [(x[0] + eps).min(1.0), (x[1] + eps).min(1.0)];
            let truth = oracle_min_margin(&w1, &b1, &w2, &b2, lo, hi, label);
            let (outcome, _) = verify_exact(
                &net,
                &x,
                label,
                eps,
                (0.0, 1.0),
                &ExactConfig::default(),
                |_| true,
            )
            .unwrap();
            let says_verified = match outcome {
                ExactOutcome::Verified => true,
                ExactOutcome::Counterexample { .. } => false,
                ExactOutcome::Timeout => panic!("a 2-input net timed out"),
            };
            assert!(
                !(was_refuted && says_verified),
                "seed {seed}: verified at ε = {eps} after a counterexample at a smaller ε"
            );
            was_refuted |= !says_verified;
            if truth.abs() < 1e-6 {
                continue; // A tie on the boundary: either verdict is within rounding.
            }
            assert_eq!(
                says_verified,
                truth > 0.0,
                "seed {seed}, ε = {eps}: the least margin over the box is {truth}"
            );
            if says_verified {
                verified += 1;
            } else {
                refuted += 1;
            }
        }
    }
    assert!(
        verified > 20 && refuted > 20,
        "{verified} verified, {refuted} refuted"
    );
}
