//! EOT (the paper's Eq. 16) against a randomized defence: averaging the gradient over draws gives a
//! steadier direction and a stronger attack than a single noisy gradient.

use burn::tensor::{Device, Tensor};
use perturb::attack::{AttackLoss, Norm, PgdConfig, ThreatModel, objective, pgd};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::defense::RandomizedInput;
use perturb::gradient::{expected_objective_gradient, objective_gradient};

fn batch(count: usize, device: &Device) -> (Tensor<4>, Vec<usize>, Tensor<1, burn::tensor::Int>) {
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..count).collect();
    let (images, labels) = data.batch(&indices, device).unwrap();
    let host = data.labels()[..count].iter().map(|&l| l as usize).collect();
    (images, host, labels)
}

fn flat(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Mean over samples of the cosine between two gradient estimates.
fn mean_cosine(a: &[f32], b: &[f32], per: usize) -> f32 {
    let n = a.len() / per;
    (0..n)
        .map(|i| {
            let (a, b) = (&a[i * per..(i + 1) * per], &b[i * per..(i + 1) * per]);
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            dot / (na * nb).max(1e-20)
        })
        .sum::<f32>()
        / n as f32
}

#[test]
fn eot_without_randomness_is_the_plain_gradient() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let (images, _, labels) = batch(8, &device);
    let still = RandomizedInput::new(&model, 0.0, 0, 1).unwrap();
    let (_, plain, _) = objective_gradient(&model, images.clone(), |l| {
        objective(l, labels.clone(), false, AttackLoss::CrossEntropy)
    });
    let repeated = labels.clone().repeat_dim(0, 6);
    let (_, eot, _) = expected_objective_gradient(&still, images, 6, |l| {
        objective(l, repeated, false, AttackLoss::CrossEntropy)
    });
    for (a, b) in flat(plain).iter().zip(flat(eot)) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn eot_gradients_agree_across_draws_and_break_the_randomized_model() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let (images, host_labels, labels) = batch(64, &device);
    let defended = RandomizedInput::new(&model, 0.3, 2, 11).unwrap();

    let estimate = |k: usize| {
        let repeated = labels.clone().repeat_dim(0, k);
        let (_, g, _) = expected_objective_gradient(&defended, images.clone(), k, |l| {
            objective(l, repeated, false, AttackLoss::CrossEntropy)
        });
        flat(g)
    };
    let single = mean_cosine(&estimate(1), &estimate(1), 784);
    let averaged = mean_cosine(&estimate(32), &estimate(32), 784);
    println!("cosine between two estimates: k=1 {single:.3}, k=32 {averaged:.3}");
    assert!(averaged > 0.5, "EOT-32 estimates disagree: {averaged}");
    assert!(averaged > single + 0.3, "k=1 {single} vs k=32 {averaged}");

    // Robust accuracy judged by the randomized model's expected logits over 64 draws.
    let threat = ThreatModel::new(Norm::Linf, 0.15).unwrap();
    let robust = |eot_samples: usize| {
        let config = PgdConfig {
            eot_samples,
            seed: 5,
            ..PgdConfig::pgd(&threat, 20)
        };
        defended.reseed(17);
        let out = pollster::block_on(pgd(
            &defended,
            images.clone(),
            &host_labels,
            &threat,
            &config,
            |_| true,
        ))
        .unwrap();
        defended.reseed(99);
        let repeated = labels.clone().repeat_dim(0, 64);
        let (_, _, logits) = expected_objective_gradient(&defended, out.adversarial, 64, |l| {
            objective(l, repeated, false, AttackLoss::CrossEntropy)
        });
        let predicted = logits
            .argmax(1)
            .into_data()
            .try_into_vec_as::<i64>()
            .unwrap();
        predicted
            .iter()
            .zip(&host_labels)
            .filter(|(p, l)| **p as usize == **l)
            .count() as f32
            / 64.0
    };
    let (plain, eot) = (robust(1), robust(16));
    println!(
        "robust accuracy of the randomized model at ε=0.15: PGD {plain:.3}, EOT-16 PGD {eot:.3}"
    );
    assert!(
        eot < plain,
        "EOT {eot} not stronger than single-draw PGD {plain}"
    );
}
