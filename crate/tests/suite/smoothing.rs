//! Randomized smoothing: the statistics against scipy (golden file), the radius formula by hand,
//! the guarantee itself on a base classifier whose pA is known, and CERTIFY on the default model.

use burn::tensor::{Device, Tensor, TensorData};
use perturb::certify::{
    SmoothingConfig, binomial_test_half, certified_accuracy_curve, certified_radius, certify,
    certify_all, clopper_pearson_lower, clopper_pearson_upper, normal_quantile, predict,
};
use perturb::model::Classifier;
use serde_json::Value;

fn golden() -> Value {
    let text = include_str!("../../../tests/golden/smoothing_stats.json");
    serde_json::from_str(text).unwrap()
}

fn close(ours: f64, reference: f64, what: &str) {
    assert!(
        (ours - reference).abs() <= 1e-9,
        "{what}: ours {ours:e}, scipy {reference:e}, difference {:e}",
        (ours - reference).abs()
    );
}

#[test]
fn clopper_pearson_matches_scipy() {
    let g = golden();
    let cases = g["clopper_pearson"].as_array().unwrap();
    assert!(cases.len() > 100);
    for c in cases {
        let (k, n, alpha) = (
            c["k"].as_u64().unwrap(),
            c["n"].as_u64().unwrap(),
            c["alpha"].as_f64().unwrap(),
        );
        let what = format!("k={k} n={n} alpha={alpha}");
        close(
            clopper_pearson_lower(k, n, alpha).unwrap(),
            c["lower"].as_f64().unwrap(),
            &format!("lower {what}"),
        );
        close(
            clopper_pearson_upper(k, n, alpha).unwrap(),
            c["upper"].as_f64().unwrap(),
            &format!("upper {what}"),
        );
    }
    assert!(clopper_pearson_lower(3, 2, 0.05).is_err());
    assert!(clopper_pearson_lower(1, 2, 0.0).is_err());
    assert!(clopper_pearson_lower(0, 0, 0.05).is_err());
}

#[test]
fn binomial_test_and_normal_quantile_match_scipy() {
    let g = golden();
    for c in g["binomial_test"].as_array().unwrap() {
        let (k, n) = (c["k"].as_u64().unwrap(), c["n"].as_u64().unwrap());
        close(
            binomial_test_half(k, n).unwrap(),
            c["p_value"].as_f64().unwrap(),
            &format!("binomial test k={k} n={n}"),
        );
    }
    for c in g["normal_quantile"].as_array().unwrap() {
        let p = c["p"].as_f64().unwrap();
        close(
            normal_quantile(p).unwrap(),
            c["z"].as_f64().unwrap(),
            &format!("Φ⁻¹({p})"),
        );
    }
    assert!(normal_quantile(1.0).is_err());
    assert!(normal_quantile(f64::NAN).is_err());
}

#[test]
fn radius_follows_cohens_formula() {
    // R = σ·Φ⁻¹(p̲A), with Φ⁻¹(0.9) = 1.2815515655446004 and Φ⁻¹(0.99) = 2.3263478740408408.
    let r = certified_radius(0.5, 0.9).unwrap().unwrap();
    assert!((r - 0.5 * 1.2815515655446004).abs() < 1e-12);
    let r = certified_radius(0.25, 0.99).unwrap().unwrap();
    assert!((r - 0.25 * 2.3263478740408408).abs() < 1e-12);
    assert_eq!(certified_radius(0.5, 0.5).unwrap(), Some(0.0));
    assert_eq!(certified_radius(0.5, 0.4999).unwrap(), None);
}

/// One-pixel classifier with logits `[x, 0]`: under noise σ it says class 0 with probability
/// pA = Φ(x/σ), and its smoothed version changes class exactly at x = 0, so the true L2 radius at
/// x is x = σ·Φ⁻¹(pA) — Cohen's bound is tight here.
struct Threshold;

impl Classifier for Threshold {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let n = images.dims()[0];
        let x = images.reshape([n, 1]);
        Tensor::cat(vec![x.clone(), x.zeros_like()], 1)
    }
}

fn pixel(value: f32, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(vec![value], [1, 1, 1, 1]), device)
}

#[test]
fn false_certification_rate_stays_below_alpha() {
    let device = crate::common::device();
    let (x, sigma, alpha) = (0.2f32, 0.25f32, 0.05);
    let trials = 1_500;
    let config = SmoothingConfig {
        sigma,
        selection_samples: 10,
        samples: 100,
        alpha,
        batch_size: 100,
        seed: 0,
    };
    let mut false_certificates = 0;
    let mut certified = 0;
    for trial in 0..trials {
        let c = pollster::block_on(certify(
            &Threshold,
            pixel(x, &device),
            &SmoothingConfig {
                seed: 1_000 + trial,
                ..config.clone()
            },
        ))
        .unwrap();
        if let Some(class) = c.class {
            certified += 1;
            // A certificate is false when its class is not g(x) = 0, or its radius reaches past
            // the decision boundary at distance x.
            if class != 0 || c.radius > f64::from(x) {
                false_certificates += 1;
            }
        }
    }
    let rate = false_certificates as f64 / trials as f64;
    let slack = 3.0 * (alpha * (1.0 - alpha) / trials as f64).sqrt();
    assert!(
        certified > trials / 2,
        "pA = Φ(0.8) ≈ 0.79 certifies most trials"
    );
    assert!(
        rate <= alpha + slack,
        "false certification rate {rate} exceeds α = {alpha} (+{slack:.3} sampling slack)"
    );
}

#[test]
fn predict_abstains_on_a_tie_and_answers_a_clear_case() {
    let device = crate::common::device();
    let config = SmoothingConfig {
        sigma: 0.25,
        selection_samples: 10,
        samples: 200,
        alpha: 0.05,
        batch_size: 200,
        seed: 0,
    };
    // At x = 0 both classes have probability ½: PREDICT must abstain except with probability α.
    let trials = 400;
    let answered = (0..trials)
        .filter(|&t| {
            let config = SmoothingConfig {
                seed: t,
                ..config.clone()
            };
            let p = pollster::block_on(predict(&Threshold, pixel(0.0, &device), &config)).unwrap();
            assert_eq!(p.votes.iter().sum::<u64>(), 200);
            p.class.is_some()
        })
        .count();
    let rate = answered as f64 / trials as f64;
    assert!(
        rate <= 0.05 + 3.0 * (0.05f64 * 0.95 / 400.0).sqrt(),
        "answered {rate} of ties"
    );
    let p = pollster::block_on(predict(&Threshold, pixel(1.0, &device), &config)).unwrap();
    assert_eq!(p.class, Some(0));
    assert!(p.p_value < 1e-10);
}

#[test]
fn certify_on_the_default_model() {
    let device = crate::common::device();
    let model = perturb::zoo::default_model(&device).unwrap();
    let (images, labels) = crate::common::mnist_batch(12, &device);
    let config = SmoothingConfig {
        sigma: 0.25,
        samples: 1_000,
        alpha: 0.001,
        ..SmoothingConfig::new(0.25)
    };
    let certificates =
        pollster::block_on(certify_all(&model, images.clone(), &config, |_| true)).unwrap();
    assert_eq!(certificates.len(), 12);
    for c in &certificates {
        match c.class {
            Some(class) => {
                assert_eq!(class, c.top_class);
                let expected = 0.25 * normal_quantile(c.p_a_lower).unwrap();
                assert!((c.radius - expected).abs() < 1e-12);
                assert!(c.p_a_lower >= 0.5);
            }
            None => assert!(c.p_a_lower < 0.5 && c.radius == 0.0),
        }
        // The bound lies below the observed frequency, and with every vote at most at
        // σ·Φ⁻¹(α^(1/n)) (the all-votes radius).
        assert!(c.p_a_lower <= c.top_votes as f64 / 1_000.0);
    }
    let ceiling = 0.25 * normal_quantile(0.001f64.powf(1.0 / 1_000.0)).unwrap();
    assert!(certificates.iter().all(|c| c.radius <= ceiling + 1e-12));
    let radii: Vec<f64> = (0..8).map(|i| i as f64 * 0.1).collect();
    let curve = certified_accuracy_curve(&certificates, &labels, &radii).unwrap();
    assert!(curve.windows(2).all(|w| w[1].1 <= w[0].1), "{curve:?}");
    assert!(
        curve[0].1 >= 0.75,
        "the default model keeps most digits at σ = 0.25: {curve:?}"
    );
    // Same seed, same certificates; a batch of two is refused.
    let again = pollster::block_on(certify(&model, images.clone().narrow(0, 0, 1), &config));
    assert_eq!(again.unwrap(), certificates[0]);
    assert!(pollster::block_on(certify(&model, images.clone().narrow(0, 0, 2), &config)).is_err());
    let bad = SmoothingConfig {
        sigma: f32::NAN,
        ..config.clone()
    };
    assert!(pollster::block_on(certify(&model, images.narrow(0, 0, 1), &bad)).is_err());
}
