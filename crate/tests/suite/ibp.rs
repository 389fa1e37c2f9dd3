//! Interval bound propagation: hand-computed intervals, and soundness — 10,000 points sampled in
//! the ball and every PGD adversarial stay inside the bounds — on random nets and the default model.

use crate::common::soundness::{
    Claimed, TOLERANCE, abs_diff_net, affine_net, assert_sound, flat2, label_tensor,
    pgd_adversarials, random_images, random_nets, unit_box,
};
use burn::tensor::Tensor;
use perturb::certify::{input_box, logit_bounds, margin_lower_bounds, verified};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::model::{Classifier, Sequential};

#[test]
fn hand_computed_intervals() {
    let device = crate::common::device();
    // Linear(w = 1, b = 2) on [1, 2, 3] ± 1: centre 8, radius 3.
    let (model, input) = affine_net(&device);
    let (lo, hi) = logit_bounds(&model, input);
    assert_eq!((flat2(lo), flat2(hi)), (vec![5.0], vec![11.0]));

    // [1, −1] then ReLU then [1, 1] on [0.5, 0.5] ± 0.5 inside [0, 1]: x1 − x2 ∈ [−1, 1], ReLU
    // gives [0, 1]; the second unit (−x1 + x2) likewise, so the sum lies in [0, 2].
    let (model, input) = abs_diff_net(&device);
    let (lo, hi) = logit_bounds(&model, input);
    assert_eq!((flat2(lo), flat2(hi)), (vec![0.0], vec![2.0]));
}

/// IBP's claims on the ball of radius `eps` around `images`.
fn ibp_claims(model: &Sequential, images: &Tensor<4>, labels: &[usize], eps: f32) -> Claimed {
    let input = unit_box(images, eps);
    let (lower, upper) = logit_bounds(model, input.clone());
    let labels = label_tensor(labels, &images.device());
    Claimed {
        lower: flat2(lower),
        upper: flat2(upper),
        margins: flat2(margin_lower_bounds(model, input, labels)),
    }
}

#[test]
fn bounds_hold_on_random_nets_for_10000_points() {
    let device = crate::common::device();
    for (s, model) in random_nets(&device).iter().enumerate() {
        let images = random_images(s as u64, &device);
        let labels = [0, 1, 2, 3];
        let claims = ibp_claims(model, &images, &labels, 0.1);
        assert_sound(model, &images, &labels, 0.1, 10_000, None, &claims);
    }
}

#[test]
fn bounds_hold_on_the_default_model_for_samples_and_pgd_adversarials() {
    let device = crate::common::device();
    let model = perturb::zoo::default_model(&device).unwrap();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..8).collect();
    let (images, _) = data.batch(&indices, &device).unwrap();
    let labels: Vec<usize> = indices.iter().map(|&i| data.labels()[i] as usize).collect();
    let eps = 0.02;
    let adversarial = pgd_adversarials(&model, &images, &labels, eps);
    let claims = ibp_claims(&model, &images, &labels, eps);
    assert_sound(
        &model,
        &images,
        &labels,
        eps,
        10_000,
        Some(adversarial),
        &claims,
    );
}

#[test]
fn elision_is_never_looser_and_zero_budget_verifies_exactly_the_correct_samples() {
    let device = crate::common::device();
    let model = perturb::zoo::default_model(&device).unwrap();
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
