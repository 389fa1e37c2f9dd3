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

/// Two-pixel linear classifier with logits `[w·x + b, 0]`, w = (3, −4), b = 0.1: under noise of
/// standard deviation σ per pixel it says class 0 with probability Φ((w·x + b)/(5σ)).
struct Linear;

impl Classifier for Linear {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let n = images.dims()[0];
        let x = images.reshape([n, 2]);
        let w = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, -4.0], [2, 1]), &x.device());
        let z = x.matmul(w) + 0.1;
        Tensor::cat(vec![z.clone(), z.zeros_like()], 1)
    }
}

#[test]
fn vote_frequencies_under_noise_follow_phi_for_a_linear_classifier() {
    let device = crate::common::device();
    let sigma = 0.25f32;
    let n = 20_000u64;
    // Points where Φ((w·x + b)/(5σ)) takes chosen values p, placed with Φ⁻¹ (checked against
    // scipy above): w·x + b = 5σ·Φ⁻¹(p) with x = (t, 0), so t = (5σΦ⁻¹(p) − b)/3.
    for (k, p) in [0.5, 0.6, 0.8, 0.95, 0.2].into_iter().enumerate() {
        let t = ((5.0 * f64::from(sigma) * normal_quantile(p).unwrap() - 0.1) / 3.0) as f32;
        let image = Tensor::<4>::from_data(TensorData::new(vec![t, 0.0], [1, 1, 1, 2]), &device);
        let prediction = pollster::block_on(predict(
            &Linear,
            image,
            &SmoothingConfig {
                sigma,
                samples: n as usize,
                batch_size: 5_000,
                seed: 40 + k as u64,
                ..SmoothingConfig::new(sigma)
            },
        ))
        .unwrap();
        let frequency = prediction.votes[0] as f64 / n as f64;
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (frequency - p).abs() <= 4.0 * sd,
            "p = {p}: class 0 got {frequency} of {n} votes (4 sd = {:.4})",
            4.0 * sd
        );
    }
}

/// P(X = k) for X ~ Binomial(n, p), by logs.
fn binomial_pmf(n: u64, k: u64, p: f64) -> f64 {
    let ln_choose = (1..=k)
        .map(|i| ((n - k + i) as f64 / i as f64).ln())
        .sum::<f64>();
    (ln_choose + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
}

#[test]
fn false_certification_rate_matches_its_exact_binomial_expectation() {
    let device = crate::common::device();
    let sigma = 0.25f64;
    let trials = 1_200u64;
    for (p_a, samples, alpha) in [(0.8, 100u64, 0.05), (0.6, 50, 0.1), (0.9, 200, 0.01)] {
        // The one-pixel threshold classifier at x = σΦ⁻¹(pA) has class 0 with probability pA and
        // its smoothed decision boundary at distance x.
        let x = sigma * normal_quantile(p_a).unwrap();
        let selection = 10u64;
        // Exactly: CERTIFY picks class 0 when it gets at least half of the selection votes
        // (ties go to the lower class); its certificate is false when p̲A > pA (a radius past
        // x). Picking class 1, any certificate is false.
        let false_if = |class_p: f64, wrong: &dyn Fn(f64) -> bool| {
            (0..=samples)
                .map(|k| {
                    let lower = clopper_pearson_lower(k, samples, alpha).unwrap();
                    let certified = certified_radius(sigma, lower).unwrap().is_some();
                    if certified && wrong(lower) {
                        binomial_pmf(samples, k, class_p)
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
        };
        let pick_0: f64 = (selection.div_ceil(2)..=selection)
            .map(|k| binomial_pmf(selection, k, p_a))
            .sum();
        let expected = pick_0 * false_if(p_a, &|lower| lower > p_a)
            + (1.0 - pick_0) * false_if(1.0 - p_a, &|_| true);
        let mut false_certificates = 0u64;
        for trial in 0..trials {
            let c = pollster::block_on(certify(
                &Threshold,
                pixel(x as f32, &device),
                &SmoothingConfig {
                    sigma: sigma as f32,
                    selection_samples: selection as usize,
                    samples: samples as usize,
                    alpha,
                    batch_size: 256,
                    seed: 90_000 + trial,
                },
            ))
            .unwrap();
            if c.class.is_some_and(|class| class != 0 || c.radius > x) {
                false_certificates += 1;
            }
        }
        let rate = false_certificates as f64 / trials as f64;
        let sd = (expected * (1.0 - expected) / trials as f64).sqrt();
        eprintln!("pA {p_a}, n {samples}, α {alpha}: rate {rate}, expected {expected:.4}");
        assert!(
            expected <= alpha,
            "Clopper–Pearson keeps the expectation under α: {expected} at {p_a}, {samples}, {alpha}"
        );
        assert!(
            (rate - expected).abs() <= 4.0 * sd + 1.0 / trials as f64,
            "pA {p_a}, n {samples}, α {alpha}: {rate} false certificates against {expected:.4} \
             expected (4 sd = {:.4})",
            4.0 * sd
        );
    }
}
