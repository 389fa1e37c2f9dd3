//! The largest verified radius: what the search reports is verified at the reported radius and
//! refuted just above it, agrees with a plain bisection, survives PGD with restarts, and rejects
//! bad settings.

use crate::common::mnist_batch;
use crate::common::soundness::{label_tensor, pgd_adversarials};
use burn::tensor::{Device, Tensor};
use perturb::certify::{
    BoundMethod, RadiusSearch, RadiusSearchConfig, input_box, largest_verified_radius, verified,
    worst_margins,
};
use perturb::model::{Classifier, ModelSpec, Sequential};

fn ibp_trained(device: &Device) -> Sequential {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/mnist-strided-cnn-ibp0.1.safetensors"
    );
    let bytes = std::fs::read(path).unwrap();
    Sequential::from_safetensors(ModelSpec::named("strided-cnn").unwrap(), &bytes, device).unwrap()
}

fn ibp_verifies(model: &Sequential, image: &Tensor<4>, label: usize, eps: f32) -> bool {
    let input = input_box(image.clone(), eps, (0.0, 1.0)).unwrap();
    let ok = verified(model, input, label_tensor(&[label], &image.device()));
    ok.into_data().try_into_vec_as::<bool>().unwrap()[0]
}

fn search(
    model: &Sequential,
    image: Tensor<4>,
    label: usize,
    config: &RadiusSearchConfig,
) -> perturb::Result<RadiusSearch> {
    pollster::block_on(largest_verified_radius(model, image, label, config))
}

fn one(images: &Tensor<4>, i: usize) -> Tensor<4> {
    images.clone().narrow(0, i, 1)
}

#[test]
fn reported_radius_is_verified_and_the_next_one_refuted() {
    let device = crate::common::device();
    let model = ibp_trained(&device);
    let (images, labels) = mnist_batch(8, &device);
    let config = RadiusSearchConfig::new(BoundMethod::Ibp, 0.4);
    let mut beyond_card_eps = 0;
    for (i, &label) in labels.iter().enumerate() {
        let image = one(&images, i);
        let found = search(&model, image.clone(), label, &config).unwrap();
        let r = found
            .verified
            .expect("the IBP-trained model classifies these correctly");
        let h = found.refuted.expect("nothing is verified out to 0.4");
        assert!(
            ibp_verifies(&model, &image, label, r),
            "image {i}: not verified at {r}"
        );
        assert!(
            !ibp_verifies(&model, &image, label, h),
            "image {i}: verified at {h}"
        );
        // 16 radii in the first round, then 16 inside each refuted interval: 0.4 / (16·17·17).
        assert!(
            h - r <= 0.4 / (16.0 * 17.0 * 17.0) + 1e-6,
            "image {i}: [{r}, {h}]"
        );
        assert_eq!(found.evaluations, 1 + 16 * 3);

        // A plain 30-step bisection on the same verifier lands in the same bracket.
        let (mut lo, mut hi) = (0.0f32, 0.4f32);
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            if ibp_verifies(&model, &image, label, mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        assert!(
            lo >= r - 1e-5 && lo <= h + 1e-5,
            "image {i}: bisection {lo} vs [{r}, {h}]"
        );
        beyond_card_eps += usize::from(r >= 0.1);
    }
    // The card reports 90.1% IBP-verified at ε = 0.1 over the full test split.
    assert!(
        beyond_card_eps >= 6,
        "{beyond_card_eps} of 8 verified at ε = 0.1"
    );
}

#[test]
fn pgd_with_restarts_finds_nothing_inside_the_verified_radius() {
    let device = crate::common::device();
    let model = ibp_trained(&device);
    let (images, labels) = mnist_batch(4, &device);
    for method in [BoundMethod::Ibp, BoundMethod::CrownIbp] {
        let config = RadiusSearchConfig::new(method, 0.4);
        for (i, &label) in labels.iter().enumerate() {
            let image = one(&images, i);
            let found = search(&model, image.clone(), label, &config).unwrap();
            let r = found.verified.unwrap();
            let margins = pollster::block_on(worst_margins(
                &model,
                method,
                image.clone(),
                label,
                &[r],
                (0.0, 1.0),
            ))
            .unwrap();
            assert!(
                margins[0] > 0.0,
                "{method:?} image {i}: margin {margins:?} at {r}"
            );
            let adversarial = pgd_adversarials(&model, &image, &[label], r);
            let predicted = model.logits(adversarial).argmax(1).into_data();
            let predicted = predicted.try_into_vec_as::<i64>().unwrap()[0];
            assert_eq!(
                predicted as usize, label,
                "{method:?} image {i}: PGD broke ε = {r}"
            );
        }
    }
}

#[test]
fn a_misclassified_image_has_no_verified_radius() {
    let device = crate::common::device();
    let model = ibp_trained(&device);
    let (images, labels) = mnist_batch(1, &device);
    let wrong = (labels[0] + 1) % 10;
    let config = RadiusSearchConfig::new(BoundMethod::Ibp, 0.3);
    let found = search(&model, images, wrong, &config).unwrap();
    assert_eq!(found.verified, None);
    assert_eq!(found.refuted, Some(0.0));
}

#[test]
fn bad_settings_are_refused() {
    let device = crate::common::device();
    let model = ibp_trained(&device);
    let (images, labels) = mnist_batch(2, &device);
    for max_radius in [0.0, -0.1, f32::NAN, f32::INFINITY] {
        let config = RadiusSearchConfig::new(BoundMethod::Ibp, max_radius);
        let image = one(&images, 0);
        assert!(search(&model, image, labels[0], &config).is_err());
    }
    let config = RadiusSearchConfig {
        grid: 0,
        ..RadiusSearchConfig::new(BoundMethod::Ibp, 0.3)
    };
    assert!(search(&model, one(&images, 0), labels[0], &config).is_err());
    // Two images where one is expected.
    let config = RadiusSearchConfig::new(BoundMethod::Ibp, 0.3);
    assert!(search(&model, images, labels[0], &config).is_err());
    assert!("crown-ibp".parse::<BoundMethod>().is_ok());
    assert!("<script>".parse::<BoundMethod>().is_err());
}
