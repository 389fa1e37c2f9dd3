//! Gradient masking by defensive quantization, and BPDA breaking it (the paper's §VII.A story).

use crate::common::mnist_batch;
use burn::tensor::Tensor;
use perturb::attack::{AttackSummary, Norm, PgdConfig, ThreatModel, pgd};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::defense::Quantized;
use perturb::gradient::input_gradient;
use perturb::model::Classifier;

fn attack(
    model: &impl Classifier,
    images: &Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
) -> AttackSummary {
    let config = PgdConfig {
        seed: 3,
        ..PgdConfig::pgd(threat, 40)
    };
    let out = pollster::block_on(pgd(model, images.clone(), labels, threat, &config, |_| {
        true
    }))
    .unwrap();
    AttackSummary::from_samples(&out.samples, labels)
}

#[test]
fn quantization_masks_gradients_and_bpda_breaks_it() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let (images, labels) = mnist_batch(64, &device);
    let defended = Quantized::new(&model, 8).unwrap();

    // The true gradient through rounding is exactly zero: nothing for PGD to follow.
    let (x, y) = shipped_test_subset(DatasetKind::Mnist)
        .unwrap()
        .batch(&[0, 1, 2, 3], &device)
        .unwrap();
    let g = input_gradient(&defended, x, y)
        .gradient
        .abs()
        .max()
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert_eq!(g, vec![0.0]);

    let threat = ThreatModel::new(Norm::Linf, 0.3).unwrap();
    let plain = attack(&defended, &images, &labels, &threat);
    let bpda = attack(&defended.clone().bpda(), &images, &labels, &threat);
    let undefended = attack(&model, &images, &labels, &threat);
    eprintln!("plain PGD on quantized: {plain:?}\nBPDA: {bpda:?}\nundefended: {undefended:?}");
    assert!(
        plain.clean_accuracy > 0.95,
        "quantization must keep clean accuracy: {plain:?}"
    );
    assert!(
        plain.attack_success_rate < 0.3,
        "plain PGD should be masked: {plain:?}"
    );
    assert!(
        bpda.attack_success_rate > 0.8,
        "BPDA should break the defence: {bpda:?}"
    );
    assert!(bpda.attack_success_rate > plain.attack_success_rate + 0.5);
    assert!(undefended.attack_success_rate > 0.8);
}
