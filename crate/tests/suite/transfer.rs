//! The transfer matrix: adversarials crafted on a surrogate, scored on every target.

use perturb::attack::{
    Attack, AttackSummary, Norm, PgdConfig, ThreatModel, attack_dataset, robustness_curve,
    transfer_matrix,
};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::defense::Quantized;
use perturb::model::Classifier;

#[test]
fn the_diagonal_is_the_white_box_attack_and_transfer_reaches_a_masked_model() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let masked = Quantized::new(&model, 8).unwrap();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap().take(48);
    let threat = ThreatModel::new(Norm::Linf, 0.2).unwrap();
    let attack = Attack::Pgd(PgdConfig {
        seed: 2,
        ..PgdConfig::pgd(&threat, 10)
    });
    let surrogates: [(&str, &dyn Classifier); 2] = [("cnn", &model), ("quantized", &masked)];
    let matrix = pollster::block_on(transfer_matrix(
        &surrogates,
        &surrogates,
        &data,
        &device,
        16,
        &threat,
        &attack,
        |_, _| true,
    ))
    .unwrap();
    assert_eq!(matrix.success.len(), 2);
    assert_eq!(matrix.success[0].len(), 2);

    let labels: Vec<usize> = data.labels().iter().map(|&l| l as usize).collect();
    let samples = pollster::block_on(attack_dataset(
        &model,
        &data,
        &device,
        16,
        &threat,
        &attack,
        |_, _| true,
    ))
    .unwrap();
    let white_box = AttackSummary::from_samples(&samples, &labels).attack_success_rate;
    assert!(
        (matrix.success[0][0] - white_box).abs() < 1e-9,
        "{matrix:?} vs {white_box}"
    );
    // Crafted on the plain CNN, the adversarials get through the quantized copy; crafted on the
    // quantized model (zero gradients), they do next to nothing anywhere.
    assert!(matrix.success[0][1] > 0.8, "{matrix:?}");
    assert!(
        matrix.success[1][0] < 0.2 && matrix.success[1][1] < 0.2,
        "{matrix:?}"
    );
}

#[test]
fn the_robustness_curve_does_not_rise_with_the_budget() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap().take(64);
    let eps = [0.0, 0.05, 0.1, 0.2];
    let curve = pollster::block_on(robustness_curve(
        &model,
        &data,
        &device,
        32,
        Norm::Linf,
        &eps,
        |t| {
            Attack::Pgd(PgdConfig {
                seed: 1,
                ..PgdConfig::pgd(t, 20)
            })
        },
        |_| true,
    ))
    .unwrap();
    assert_eq!(curve.len(), 4);
    assert_eq!(
        curve[0].summary.robust_accuracy, curve[0].summary.clean_accuracy,
        "ε = 0 is the clean accuracy"
    );
    for w in curve.windows(2) {
        assert!(
            w[1].summary.robust_accuracy <= w[0].summary.robust_accuracy,
            "{curve:?}"
        );
        assert!(w[1].cumulative_robust_accuracy <= w[0].cumulative_robust_accuracy);
    }
    for p in &curve {
        // Never above the per-budget figure: it only adds the smaller budgets' successes.
        assert!(
            p.cumulative_robust_accuracy <= p.summary.robust_accuracy,
            "{p:?}"
        );
    }
    assert_eq!(
        curve[0].cumulative_robust_accuracy,
        curve[0].summary.clean_accuracy
    );
    assert!(curve[3].summary.robust_accuracy < 0.2, "{curve:?}");
}
