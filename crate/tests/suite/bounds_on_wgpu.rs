//! IBP, CROWN-IBP and CROWN are sound on wgpu too (Mesa's lavapipe without a GPU), not only on
//! the CPU backend: bounds computed on wgpu hold at sampled points, corners and margin-PGD
//! adversarials evaluated on wgpu, on every random net (every layer kind); and on the test
//! backend also on the default model. Beyond random points the check uses margin-PGD adversarials
//! and, for every class, points pushed by signed-gradient ascent (from the gradient-sign corner)
//! to raise the logit, lower it, and lower the margin to it.

use burn::tensor::{Device, Tensor};
use perturb::attack::{Norm, ThreatModel};
use perturb::certify::{BoundMethod, bound_logits, bound_margins};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::model::Sequential;

use crate::common::soundness::{
    Claimed, assert_sound, flat2, label_tensor, logit_extremes, pgd_adversarials, random_images,
    random_nets,
};

fn claims(
    model: &Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    eps: f32,
    method: BoundMethod,
) -> Claimed {
    let threat = ThreatModel::new(Norm::Linf, eps).unwrap();
    let (lower, upper) = bound_logits(model, images.clone(), &threat, method).unwrap();
    let margins = bound_margins(
        model,
        images.clone(),
        label_tensor(labels, &images.device()),
        &threat,
        method,
    )
    .unwrap();
    Claimed {
        lower: flat2(lower),
        upper: flat2(upper),
        margins: flat2(margins),
    }
}

/// Every net against every method, with `samples` points per net (and the default model when
/// `default_model`).
fn check_all(device: &Device, samples: usize, default_model: bool) {
    let labels = [0, 1, 2, 3];
    for (s, model) in random_nets(device).iter().enumerate() {
        let images = random_images(s as u64, device);
        let adversarial = Tensor::cat(
            vec![
                pgd_adversarials(model, &images, &labels, 0.1),
                logit_extremes(model, &images, &labels, 0.1),
            ],
            0,
        );
        for method in BoundMethod::ALL {
            let claimed = claims(model, &images, &labels, 0.1, method);
            assert_sound(
                model,
                &images,
                &labels,
                0.1,
                samples,
                Some(adversarial.clone()),
                &claimed,
            );
        }
    }
    if !default_model {
        return;
    }
    let model = perturb::zoo::default_model(device).unwrap();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..4).collect();
    let (images, _) = data.batch(&indices, device).unwrap();
    let labels: Vec<usize> = data.class_labels()[..4].to_vec();
    let adversarial = Tensor::cat(
        vec![
            pgd_adversarials(&model, &images, &labels, 0.02),
            logit_extremes(&model, &images, &labels, 0.02),
        ],
        0,
    );
    for method in BoundMethod::ALL {
        let claimed = claims(&model, &images, &labels, 0.02, method);
        assert_sound(
            &model,
            &images,
            &labels,
            0.02,
            samples,
            Some(adversarial.clone()),
            &claimed,
        );
    }
}

#[test]
#[ignore = "needs a wgpu adapter (Mesa lavapipe without a GPU)"]
fn bounds_computed_on_wgpu_hold_on_every_net() {
    check_all(&crate::common::wgpu_device(), 500, false);
}

#[test]
fn bounds_hold_at_pgd_adversarials_of_every_random_net_on_the_test_backend() {
    check_all(&crate::common::device(), 2_000, true);
}

/// The extreme points can fail a check: on a linear net IBP's bounds are exact (reached at a
/// corner of the clipped box), and the ascent reaches them, so claims tightened by 1e-3 are
/// caught while the exact ones pass.
#[test]
fn the_extreme_points_catch_bounds_tightened_by_a_thousandth() {
    let device = crate::common::device();
    let spec = perturb::model::ModelSpec::from_json(
        r#"{"input": [1, 8, 8], "layers": [{"type": "flatten"},
        {"type": "linear", "in_features": 64, "out_features": 3}]}"#,
    )
    .unwrap();
    let weights = Sequential::random_weights(&spec, 5).unwrap();
    let model = Sequential::from_weights(spec, weights, &device).unwrap();
    let images = random_images(3, &device);
    let labels = [0, 1, 2, 0];
    let exact = claims(&model, &images, &labels, 0.1, BoundMethod::Ibp);
    let extremes = logit_extremes(&model, &images, &labels, 0.1);
    let check = |claimed: &Claimed| {
        assert_sound(
            &model,
            &images,
            &labels,
            0.1,
            0,
            Some(extremes.clone()),
            claimed,
        )
    };
    check(&exact);
    let tightened = [
        Claimed {
            upper: exact.upper.iter().map(|u| u - 1e-3).collect(),
            ..exact.clone()
        },
        Claimed {
            lower: exact.lower.iter().map(|l| l + 1e-3).collect(),
            ..exact.clone()
        },
        Claimed {
            margins: exact.margins.iter().map(|m| m + 1e-3).collect(),
            ..exact.clone()
        },
    ];
    for (k, claimed) in tightened.iter().enumerate() {
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(claimed))).is_err();
        assert!(caught, "tightened claim {k} passed");
    }
}
