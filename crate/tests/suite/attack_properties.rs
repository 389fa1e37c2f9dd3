//! Properties every attack must have, checked once for all of them on the shipped default model
//! and test images: adversarials stay in their ball and the pixel range (and the recorded norms
//! are the real ones), a zero budget is the identity, a seed fixes the result, and a targeted
//! attack's success means reaching its target. A new attack joins by adding a line to
//! [`attacks`].

use burn::tensor::Tensor;
use perturb::attack::{
    AttackLoss, AttackMethod, AttackOutcome, AttackSettings, CwSettings, Norm, ThreatModel,
};
use perturb::model::Sequential;

use crate::common::{default_model, device, mnist_batch, values};

/// Every attack, with settings small enough for CI, and the budget it is tested at.
fn attacks() -> Vec<(&'static str, AttackSettings)> {
    let pgd = AttackSettings {
        steps: 10,
        restarts: 2,
        seed: 7,
        ..AttackSettings::default()
    };
    let fgsm = AttackSettings {
        method: AttackMethod::Fgsm,
        ..AttackSettings::default()
    };
    let cw = AttackSettings {
        method: AttackMethod::Cw,
        norm: Norm::L2,
        epsilon: 1.5,
        steps: 30,
        cw: Some(CwSettings {
            initial_const: 1.0,
            search_rounds: 2,
            ..CwSettings::default()
        }),
        ..AttackSettings::default()
    };
    let apgd = AttackSettings {
        method: AttackMethod::Apgd,
        steps: 10,
        seed: 7,
        ..AttackSettings::default()
    };
    let square = AttackSettings {
        method: AttackMethod::Square,
        queries: 150,
        seed: 7,
        ..AttackSettings::default()
    };
    let hsj = AttackSettings {
        method: AttackMethod::Hsj,
        steps: 4,
        queries: 1000,
        seed: 7,
        ..AttackSettings::default()
    };
    let l2 = |s: AttackSettings| AttackSettings {
        norm: Norm::L2,
        epsilon: 1.5,
        ..s
    };
    vec![
        ("fgsm-linf", fgsm),
        ("fgm-l2", l2(fgsm)),
        ("pgd-linf", pgd),
        ("pgd-l2", l2(pgd)),
        (
            "pgd-margin-linf",
            AttackSettings {
                loss: AttackLoss::Margin,
                ..pgd
            },
        ),
        ("cw-l2", cw),
        ("apgd-linf", apgd),
        ("apgd-l2", l2(apgd)),
        (
            "apgd-dlr-linf",
            AttackSettings {
                loss: AttackLoss::Dlr,
                ..apgd
            },
        ),
        ("square-linf", square),
        ("square-l2", l2(square)),
        ("hsj-linf", hsj),
        ("hsj-l2", l2(hsj)),
    ]
}

struct Fixture {
    model: Sequential,
    images: Tensor<4>,
    labels: Vec<usize>,
}

fn fixture(count: usize) -> Fixture {
    let device = device();
    let (images, labels) = mnist_batch(count, &device);
    Fixture {
        model: default_model(&device),
        images,
        labels,
    }
}

fn run(f: &Fixture, settings: &AttackSettings, threat: &ThreatModel) -> AttackOutcome {
    pollster::block_on(settings.attack(threat).run(
        &f.model,
        f.images.clone(),
        &f.labels,
        threat,
        |_| true,
    ))
    .unwrap()
}

#[test]
fn every_attack_stays_in_its_ball_and_the_pixel_range() {
    let f = fixture(24);
    let clean = values(f.images.clone());
    let per = clean.len() / f.labels.len();
    for (name, settings) in attacks() {
        settings.validate().unwrap();
        let eps = settings.epsilon;
        let threat = settings.threat(eps, f.labels.len()).unwrap();
        let out = run(&f, &settings, &threat);
        let adv = values(out.adversarial);
        assert!(
            adv.iter().all(|p| (0.0..=1.0).contains(p)),
            "{name}: pixel outside [0, 1]"
        );
        for (i, (a, c)) in adv.chunks(per).zip(clean.chunks(per)).enumerate() {
            let linf = a
                .iter()
                .zip(c)
                .map(|(a, c)| (a - c).abs())
                .fold(0.0, f32::max);
            let l2 = a
                .iter()
                .zip(c)
                .map(|(a, c)| (a - c).powi(2))
                .sum::<f32>()
                .sqrt();
            match settings.norm {
                Norm::Linf => assert!(linf <= eps + 1e-6, "{name} sample {i}: L∞ {linf} > {eps}"),
                Norm::L2 => assert!(
                    l2 <= eps * (1.0 + 1e-5),
                    "{name} sample {i}: L2 {l2} > {eps}"
                ),
            }
            let s = &out.samples[i];
            assert!(
                (s.linf - linf).abs() < 1e-5,
                "{name} sample {i}: recorded L∞"
            );
            assert!((s.l2 - l2).abs() < 1e-4, "{name} sample {i}: recorded L2");
        }
    }
}

#[test]
fn a_zero_budget_returns_the_input_exactly() {
    let f = fixture(6);
    for (name, settings) in attacks() {
        let threat = settings.threat(0.0, f.labels.len()).unwrap();
        let out = run(&f, &settings, &threat);
        assert_eq!(values(out.adversarial), values(f.images.clone()), "{name}");
        assert!(
            out.samples
                .iter()
                .all(|s| s.linf == 0.0 && s.l2 == 0.0 && !s.success),
            "{name}: {:?}",
            out.samples
        );
    }
}

#[test]
fn a_seed_fixes_the_result() {
    let f = fixture(6);
    for (name, settings) in attacks() {
        let threat = settings.threat(settings.epsilon, f.labels.len()).unwrap();
        let a = values(run(&f, &settings, &threat).adversarial);
        let b = values(run(&f, &settings, &threat).adversarial);
        assert_eq!(a, b, "{name}: two runs with one seed differ");
    }
    // And the seed matters where the attack draws (PGD's random start).
    let pgd = AttackSettings {
        steps: 3,
        ..AttackSettings::default()
    };
    let threat = pgd.threat(0.1, f.labels.len()).unwrap();
    let a = values(run(&f, &pgd, &threat).adversarial);
    let other = AttackSettings { seed: 8, ..pgd };
    assert_ne!(a, values(run(&f, &other, &threat).adversarial));
}

#[test]
fn a_targeted_success_means_the_target_was_reached() {
    let f = fixture(8);
    let targets: Vec<usize> = f.labels.iter().map(|&l| (l + 1) % 10).collect();
    for (name, settings) in attacks() {
        if settings.method == AttackMethod::Hsj {
            continue; // untargeted only
        }
        // A budget at which many targets are reachable, and a C&W search long enough to reach
        // them (a targeted C&W needs more Adam steps than an untargeted one).
        let settings = AttackSettings {
            epsilon: match settings.norm {
                Norm::Linf => 0.3,
                Norm::L2 => 5.0,
            },
            loss: match settings.method {
                AttackMethod::Pgd => AttackLoss::Margin,
                _ => settings.loss,
            },
            steps: settings.steps.max(100),
            queries: match settings.method {
                AttackMethod::Square => 3000,
                _ => settings.queries,
            },
            cw: settings.cw.map(|cw| CwSettings {
                initial_const: 10.0,
                learning_rate: 0.1,
                ..cw
            }),
            ..settings
        };
        let threat = ThreatModel::new(settings.norm, settings.epsilon)
            .unwrap()
            .targeted(targets.clone());
        let out = run(&f, &settings, &threat);
        for (i, (s, &t)) in out.samples.iter().zip(&targets).enumerate() {
            assert_eq!(s.success, s.predicted == t, "{name} sample {i}: {s:?}");
        }
        let hits = out.samples.iter().filter(|s| s.success).count();
        if settings.method != AttackMethod::Fgsm {
            // Iterative attacks reach most targets at this budget.
            assert!(hits >= 6, "{name} reached only {hits}/8 targets");
        }
    }
}

#[test]
fn non_finite_pixels_are_refused_by_every_attack_and_by_smoothing() {
    let device = device();
    let model = default_model(&device);
    let (images, labels) = mnist_batch(2, &device);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut pixels = values(images.clone());
        pixels[300] = bad;
        let poisoned = Tensor::<4>::from_data(
            burn::tensor::TensorData::new(pixels, [2, 1, 28, 28]),
            &device,
        );
        for (name, settings) in attacks() {
            let threat = ThreatModel::new(settings.norm, settings.epsilon).unwrap();
            let err =
                perturb::blocking::attack(&model, poisoned.clone(), &labels, &threat, &settings)
                    .unwrap_err()
                    .to_string();
            assert!(err.contains("non-finite pixel"), "{name} on {bad}: {err}");
        }
        let config = perturb::certify::SmoothingConfig {
            samples: 10,
            selection_samples: 10,
            ..perturb::certify::SmoothingConfig::new(0.25)
        };
        let one = poisoned.clone().narrow(0, 0, 1);
        let err = perturb::blocking::block_on(perturb::certify::certify(&model, one, &config))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("non-finite pixel"),
            "smoothing on {bad}: {err}"
        );
    }
}
