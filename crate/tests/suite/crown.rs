//! CROWN: exact on affine nets, tighter than IBP by hand on a two-unit ReLU net, sound on random
//! nets (every layer kind) and on the default model against 10,000 sampled points and PGD
//! adversarials, in every intermediate-bound mode (CROWN on the neurons whose bounds are read, on
//! all, on the unstable ones; IBP); the first equal to the all-neuron pass, the last never tighter;
//! and tighter than IBP on the default model.

use crate::common::soundness::{
    Claimed, abs_diff_net, affine_net, assert_sound, flat2, label_tensor, pgd_adversarials,
    random_images, random_nets, unit_box,
};
use burn::tensor::Tensor;
use perturb::certify::{
    CrownConfig, IntermediateBounds, IntermediateNeurons, crown_logit_bounds,
    crown_margin_lower_bounds, margin_lower_bounds,
};
use perturb::model::Sequential;

/// Full CROWN on the neurons whose bounds are read (the default), on every neuron, on the
/// unstable ones (auto_LiRPA's choice); CROWN-IBP.
const MODES: [(IntermediateBounds, IntermediateNeurons); 4] = [
    (IntermediateBounds::Crown, IntermediateNeurons::Needed),
    (IntermediateBounds::Crown, IntermediateNeurons::All),
    (IntermediateBounds::Crown, IntermediateNeurons::Unstable),
    (IntermediateBounds::Ibp, IntermediateNeurons::Needed),
];

fn config((intermediate, neurons): (IntermediateBounds, IntermediateNeurons)) -> CrownConfig {
    CrownConfig {
        intermediate,
        // Small, so the tests also exercise chunking over neurons.
        max_elements: 1 << 16,
        neurons,
    }
}

fn crown_claims(
    model: &Sequential,
    images: &Tensor<4>,
    labels: &[usize],
    eps: f32,
    mode: (IntermediateBounds, IntermediateNeurons),
) -> Claimed {
    let input = unit_box(images, eps);
    let config = config(mode);
    let (lower, upper) = crown_logit_bounds(model, input.clone(), &config).unwrap();
    let labels = label_tensor(labels, &images.device());
    Claimed {
        lower: flat2(lower),
        upper: flat2(upper),
        margins: flat2(crown_margin_lower_bounds(model, input, labels, &config).unwrap()),
    }
}

#[test]
fn hand_computed_bounds() {
    let device = crate::common::device();
    // An affine net is bounded exactly: Linear(w = 1, b = 2) on [1, 2, 3] ± 1 gives [5, 11].
    let (model, input) = affine_net(&device);
    let (lo, hi) = crown_logit_bounds(&model, input, &CrownConfig::default()).unwrap();
    assert_eq!((flat2(lo), flat2(hi)), (vec![5.0], vec![11.0]));

    // relu(x1 − x2) + relu(x2 − x1) = |x1 − x2| on [0, 1]²: IBP says [0, 2]. CROWN relaxes each
    // ReLU on [−1, 1] from above by z/2 + 1/2 and the two z cancel, so the upper bound is 1 —
    // the true maximum; below, slope 0 (u = −l) gives 0.
    let (model, input) = abs_diff_net(&device);
    let (lo, hi) = crown_logit_bounds(&model, input, &CrownConfig::default()).unwrap();
    assert_eq!((flat2(lo), flat2(hi)), (vec![0.0], vec![1.0]));
}

#[test]
fn bounds_hold_on_random_nets_for_10000_points() {
    let device = crate::common::device();
    for (s, model) in random_nets(&device).iter().enumerate() {
        let images = random_images(s as u64, &device);
        let labels = [0, 1, 2, 3];
        for mode in MODES {
            let claims = crown_claims(model, &images, &labels, 0.1, mode);
            assert_sound(model, &images, &labels, 0.1, 10_000, None, &claims);
        }
    }
}

#[test]
fn bounds_hold_on_the_default_model_for_samples_and_pgd_adversarials() {
    let device = crate::common::device();
    let model = perturb::zoo::default_model(&device).unwrap();
    let (images, labels) = crate::common::mnist_batch(6, &device);
    let eps = 0.03;
    let adversarial = pgd_adversarials(&model, &images, &labels, eps);
    for mode in MODES {
        let claims = crown_claims(&model, &images, &labels, eps, mode);
        assert_sound(
            &model,
            &images,
            &labels,
            eps,
            10_000,
            Some(adversarial.clone()),
            &claims,
        );
    }
}

#[test]
fn crown_is_tighter_than_ibp_on_the_default_model() {
    let device = crate::common::device();
    let model = perturb::zoo::default_model(&device).unwrap();
    let (images, labels) = crate::common::mnist_batch(10, &device);
    let input = unit_box(&images, 0.01);
    let labels_t = label_tensor(&labels, &device);
    let ibp = flat2(margin_lower_bounds(&model, input.clone(), labels_t.clone()));
    let crown =
        flat2(crown_margin_lower_bounds(&model, input, labels_t, &CrownConfig::default()).unwrap());
    let pairs: Vec<(f32, f32)> = ibp
        .iter()
        .zip(&crown)
        .filter(|(a, _)| a.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    let tighter = pairs.iter().filter(|(a, b)| b > a).count();
    let mean_gain = pairs.iter().map(|(a, b)| b - a).sum::<f32>() / pairs.len() as f32;
    assert!(
        tighter * 10 >= pairs.len() * 9,
        "CROWN tighter on only {tighter} of {} margins",
        pairs.len()
    );
    eprintln!(
        "CROWN tighter on {tighter} of {} margins, mean gain {mean_gain}",
        pairs.len()
    );
    assert!(mean_gain > 0.0, "mean gain {mean_gain}");
    let verified = |m: &[f32]| {
        m.chunks(10)
            .filter(|row| row.iter().all(|&v| v > 0.0))
            .count()
    };
    assert!(verified(&crown) >= verified(&ibp));
}

/// Skipping the neurons whose bounds no relaxation reads (the default) gives the bounds of the
/// every-neuron pass: exactly on the default model (conv, ReLU, max pool) and within 1e-4 on the
/// random nets (a later layer's IBP, intersected with its CROWN bounds, reads a skipped neuron's
/// looser bounds: measured worst 7.7e-5). Skipping every stable neuron as auto_LiRPA does is never
/// tighter, and looser behind a ReLU that feeds a max pool (by up to 2.0 on the default model's
/// margins at ε = 0.03).
#[test]
fn skipping_neurons_keeps_the_bounds_that_matter() {
    let device = crate::common::device();
    let mut cases: Vec<(Sequential, Tensor<4>, Vec<usize>, f32)> = random_nets(&device)
        .into_iter()
        .enumerate()
        .map(|(s, model)| {
            (
                model,
                random_images(s as u64, &device),
                vec![0, 1, 2, 3],
                0.1,
            )
        })
        .collect();
    let (images, labels) = crate::common::mnist_batch(6, &device);
    let default = perturb::zoo::default_model(&device).unwrap();
    cases.push((default, images, labels, 0.03));
    let last = cases.len() - 1;
    for (i, (model, images, labels, eps)) in cases.iter().enumerate() {
        let all = crown_claims(model, images, labels, *eps, MODES[1]);
        // How much looser each bound is than the every-neuron pass's (negative: tighter).
        let looseness = |mode| {
            let c = crown_claims(model, images, labels, *eps, mode);
            let lower = c
                .lower
                .iter()
                .zip(&all.lower)
                .map(|(s, a)| (a - s) / s.abs().max(1.0));
            let upper = c
                .upper
                .iter()
                .zip(&all.upper)
                .map(|(s, a)| (s - a) / s.abs().max(1.0));
            lower.chain(upper).collect::<Vec<f32>>()
        };
        let needed = looseness(MODES[0]);
        let unstable = looseness(MODES[2]);
        let worst = |v: &[f32]| v.iter().fold(f32::MIN, |m, &g| m.max(g));
        let best = |v: &[f32]| v.iter().fold(f32::MAX, |m, &g| m.min(g));
        assert!(
            best(&needed) >= -1e-6 && best(&unstable) >= -1e-6,
            "case {i}: tighter than every neuron"
        );
        if i == last {
            assert!(worst(&needed) <= 1e-6, "default model: {}", worst(&needed));
            assert!(
                worst(&unstable) > 0.1,
                "auto_LiRPA's choice lost nothing: {}",
                worst(&unstable)
            );
        } else {
            assert!(worst(&needed) <= 1e-4, "case {i}: {}", worst(&needed));
        }
    }
}
