//! C&W L2 on the shipped default model: minimum-norm adversarials that really are adversarial.

use crate::common::mnist_batch;
use burn::tensor::Tensor;
use perturb::attack::{AttackOutcome, CwConfig, Norm, ThreatModel, carlini_wagner};
use perturb::model::Classifier;

fn fixture(count: usize) -> (perturb::model::Sequential, Tensor<4>, Vec<usize>) {
    let device = crate::common::device();
    let (images, labels) = mnist_batch(count, &device);
    (crate::common::default_model(&device), images, labels)
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn quick() -> CwConfig {
    CwConfig {
        binary_search_steps: 4,
        steps: 100,
        initial_const: 1.0,
        learning_rate: 0.05,
        ..CwConfig::default()
    }
}

fn run(
    model: &perturb::model::Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &CwConfig,
) -> AttackOutcome {
    pollster::block_on(carlini_wagner(
        model,
        images.clone(),
        labels,
        threat,
        config,
        |_| true,
    ))
    .unwrap()
}

#[test]
fn unbounded_cw_finds_small_real_adversarials() {
    let (model, images, labels) = fixture(16);
    let threat = ThreatModel::new(Norm::L2, 28.0).unwrap();
    let out = run(&model, &images, &labels, &threat, &quick());
    let predicted = model.logits(out.adversarial.clone()).argmax(1);
    let predicted: Vec<i64> = predicted.into_data().try_into_vec_as::<i64>().unwrap();
    let adv = values(out.adversarial.clone());
    assert!(adv.iter().all(|p| (0.0..=1.0).contains(p)));
    let mut found = 0;
    for (i, s) in out.samples.iter().enumerate() {
        assert_eq!(s.predicted as i64, predicted[i]);
        if s.success {
            found += 1;
            assert_ne!(
                s.predicted, labels[i],
                "sample {i} counted but not misclassified"
            );
            assert!(s.l2 > 0.0 && s.l2 < 4.0, "sample {i}: L2 {}", s.l2);
        }
    }
    assert!(found >= 15, "C&W found only {found}/16");
    // Minimum-norm: far smaller than the L2 budget an L∞ attack at ε = 0.3 may spend (≈ 8.4).
    let mut norms: Vec<f32> = out
        .samples
        .iter()
        .filter(|s| s.success)
        .map(|s| s.l2)
        .collect();
    norms.sort_by(f32::total_cmp);
    assert!(norms[norms.len() / 2] < 2.5, "median L2 {norms:?}");
}

#[test]
fn a_tight_budget_returns_the_clean_image_for_failures() {
    let (model, images, labels) = fixture(16);
    let threat = ThreatModel::new(Norm::L2, 0.8).unwrap();
    let out = run(&model, &images, &labels, &threat, &quick());
    let clean = values(images.clone());
    let adv = values(out.adversarial);
    let mut failed = 0;
    for (i, s) in out.samples.iter().enumerate() {
        assert!(s.l2 <= 0.8 * (1.0 + 1e-5), "sample {i}: {}", s.l2);
        if !s.success {
            failed += 1;
            assert_eq!(adv[i * 784..(i + 1) * 784], clean[i * 784..(i + 1) * 784]);
        }
    }
    assert!(
        failed > 0,
        "every sample broke at L2 0.8: the budget is not being applied"
    );
    let zero = ThreatModel::new(Norm::L2, 0.0).unwrap();
    let out = run(
        &model,
        &images.clone().narrow(0, 0, 4),
        &labels[..4],
        &zero,
        &CwConfig {
            binary_search_steps: 1,
            steps: 10,
            ..quick()
        },
    );
    assert!(out.samples.iter().all(|s| !s.success && s.l2 == 0.0));
}

#[test]
fn targeted_cw_reaches_the_target_and_confidence_widens_the_margin() {
    let (model, images, labels) = fixture(8);
    let targets: Vec<usize> = labels.iter().map(|&l| (l + 3) % 10).collect();
    let threat = ThreatModel::new(Norm::L2, 28.0)
        .unwrap()
        .targeted(targets.clone());
    let patient = CwConfig {
        binary_search_steps: 5,
        steps: 200,
        learning_rate: 0.1,
        ..quick()
    };
    let plain = run(&model, &images, &labels, &threat, &patient);
    let confident = run(
        &model,
        &images,
        &labels,
        &threat,
        &CwConfig {
            confidence: 5.0,
            ..patient.clone()
        },
    );
    for (i, (p, c)) in plain.samples.iter().zip(&confident.samples).enumerate() {
        assert!(p.success && c.success, "sample {i}: {p:?} {c:?}");
        assert_eq!(p.predicted, targets[i]);
        // final_loss is the margin of the target over the best other class.
        assert!(
            c.final_loss >= 5.0 - 1e-4,
            "sample {i}: margin {}",
            c.final_loss
        );
        assert!(c.l2 > p.l2, "sample {i}: κ=5 needs a larger perturbation");
    }
}

#[test]
fn cw_refuses_the_linf_norm() {
    let (model, images, labels) = fixture(2);
    let threat = ThreatModel::new(Norm::Linf, 0.3).unwrap();
    let err = pollster::block_on(carlini_wagner(
        &model,
        images,
        &labels,
        &threat,
        &quick(),
        |_| true,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("L2"), "{err}");
}
