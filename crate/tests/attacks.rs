//! Properties every attack must have, on the shipped default model and test images (CPU backend).

mod common;

use burn::tensor::{Device, Tensor};
use common::mnist_batch;
use perturb::attack::{
    AttackLoss, AttackOutcome, AttackSummary, Norm, PgdConfig, ThreatModel, pgd,
};
use perturb::model::SmallCnn;

struct Fixture {
    model: SmallCnn,
    images: Tensor<4>,
    labels: Vec<usize>,
}

fn fixture(count: usize) -> Fixture {
    let device = Device::flex();
    let (images, labels) = mnist_batch(count, &device);
    Fixture {
        model: SmallCnn::default_mnist(&device).unwrap(),
        images,
        labels,
    }
}

fn run(f: &Fixture, threat: &ThreatModel, config: &PgdConfig) -> AttackOutcome {
    pollster::block_on(pgd(
        &f.model,
        f.images.clone(),
        &f.labels,
        threat,
        config,
        |_| true,
    ))
    .unwrap()
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn pgd_config(threat: &ThreatModel, steps: usize, restarts: usize) -> PgdConfig {
    PgdConfig {
        restarts,
        seed: 7,
        ..PgdConfig::pgd(threat, steps)
    }
}

#[test]
fn zero_budget_returns_the_input_exactly() {
    let f = fixture(8);
    for norm in [Norm::Linf, Norm::L2] {
        let threat = ThreatModel::new(norm, 0.0).unwrap();
        for config in [PgdConfig::fgsm(&threat), pgd_config(&threat, 5, 2)] {
            let out = run(&f, &threat, &config);
            assert_eq!(
                values(out.adversarial),
                values(f.images.clone()),
                "{norm:?} {config:?}"
            );
            assert!(out.samples.iter().all(|s| s.linf == 0.0 && s.l2 == 0.0));
        }
    }
}

#[test]
fn adversarials_stay_in_the_ball_and_the_pixel_range() {
    let f = fixture(32);
    let clean = values(f.images.clone());
    for (norm, eps) in [(Norm::Linf, 0.1f32), (Norm::L2, 1.5)] {
        let threat = ThreatModel::new(norm, eps).unwrap();
        for config in [PgdConfig::fgsm(&threat), pgd_config(&threat, 10, 2)] {
            let out = run(&f, &threat, &config);
            let adv = values(out.adversarial);
            assert!(
                adv.iter().all(|&p| (0.0..=1.0).contains(&p)),
                "{norm:?}: pixel out of range"
            );
            for (i, (a, c)) in adv.chunks(784).zip(clean.chunks(784)).enumerate() {
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
                match norm {
                    Norm::Linf => assert!(linf <= eps + 1e-6, "sample {i}: L∞ {linf} > {eps}"),
                    Norm::L2 => assert!(l2 <= eps * (1.0 + 1e-5), "sample {i}: L2 {l2} > {eps}"),
                }
                assert!((out.samples[i].linf - linf).abs() < 1e-5);
                assert!((out.samples[i].l2 - l2).abs() < 1e-4);
            }
        }
    }
}

#[test]
fn pgd_is_at_least_as_strong_as_fgsm_and_both_hurt() {
    let f = fixture(64);
    for (norm, eps) in [(Norm::Linf, 0.12f32), (Norm::L2, 1.5)] {
        let threat = ThreatModel::new(norm, eps).unwrap();
        let fgsm = AttackSummary::from_samples(
            &run(&f, &threat, &PgdConfig::fgsm(&threat)).samples,
            &f.labels,
        );
        let pgd = AttackSummary::from_samples(
            &run(&f, &threat, &pgd_config(&threat, 20, 2)).samples,
            &f.labels,
        );
        assert!(fgsm.clean_accuracy > 0.95);
        assert!(
            fgsm.robust_accuracy < fgsm.clean_accuracy,
            "{norm:?}: FGSM did nothing: {fgsm:?}"
        );
        assert!(
            pgd.robust_accuracy <= fgsm.robust_accuracy,
            "{norm:?}: PGD {pgd:?} weaker than FGSM {fgsm:?}"
        );
        assert!(pgd.attack_success_rate >= fgsm.attack_success_rate);
    }
}

#[test]
fn targeted_success_is_counted_on_the_target_class() {
    let f = fixture(16);
    let targets: Vec<usize> = f.labels.iter().map(|&l| (l + 1) % 10).collect();
    let threat = ThreatModel::new(Norm::Linf, 0.3)
        .unwrap()
        .targeted(targets.clone());
    let config = PgdConfig {
        loss: AttackLoss::Margin,
        ..pgd_config(&threat, 40, 1)
    };
    let out = run(&f, &threat, &config);
    for (s, &t) in out.samples.iter().zip(&targets) {
        assert_eq!(s.success, s.predicted == t);
    }
    let hits = out.samples.iter().filter(|s| s.success).count();
    assert!(
        hits >= 12,
        "targeted PGD at ε=0.3 reached the target on only {hits}/16"
    );
}

#[test]
fn deterministic_given_a_seed() {
    let f = fixture(8);
    let threat = ThreatModel::new(Norm::L2, 1.0).unwrap();
    let config = pgd_config(&threat, 3, 1);
    let a = values(run(&f, &threat, &config).adversarial);
    let b = values(run(&f, &threat, &config).adversarial);
    assert_eq!(a, b);
    let other = PgdConfig { seed: 8, ..config };
    assert_ne!(a, values(run(&f, &threat, &other).adversarial));
}

#[test]
fn early_stop_freezes_successful_samples_and_cancel_stops() {
    let f = fixture(16);
    let threat = ThreatModel::new(Norm::Linf, 0.3).unwrap();
    let config = PgdConfig {
        early_stop: true,
        ..pgd_config(&threat, 30, 1)
    };
    let out = run(&f, &threat, &config);
    assert!(out.samples.iter().all(|s| s.steps <= 30));
    assert!(
        out.samples.iter().any(|s| s.success && s.steps < 30),
        "{:?}",
        out.samples
    );

    let mut calls = 0;
    let traced = PgdConfig {
        trace: true,
        ..config
    };
    let out = pollster::block_on(pgd(
        &f.model,
        f.images.clone(),
        &f.labels,
        &threat,
        &traced,
        |p| {
            calls += 1;
            assert!(p.trace.is_some());
            p.done < 3
        },
    ))
    .unwrap();
    assert!(out.cancelled);
    assert_eq!(calls, 3);
    assert_eq!(out.trace.len(), 3);
}

#[test]
fn bad_batches_are_refused() {
    let f = fixture(4);
    let threat = ThreatModel::new(Norm::Linf, 0.1).unwrap();
    let config = PgdConfig::fgsm(&threat);
    let short = pollster::block_on(pgd(
        &f.model,
        f.images.clone(),
        &f.labels[..3],
        &threat,
        &config,
        |_| true,
    ));
    assert!(
        short
            .unwrap_err()
            .to_string()
            .contains("4 images but 3 labels")
    );
    let own = ThreatModel::new(Norm::Linf, 0.1)
        .unwrap()
        .targeted(f.labels.clone());
    let err = pollster::block_on(pgd(
        &f.model,
        f.images.clone(),
        &f.labels,
        &own,
        &config,
        |_| true,
    ));
    assert!(err.unwrap_err().to_string().contains("true class"));
    let zero_steps = PgdConfig { steps: 0, ..config };
    assert!(
        pollster::block_on(pgd(
            &f.model,
            f.images.clone(),
            &f.labels,
            &threat,
            &zero_steps,
            |_| true
        ))
        .is_err()
    );
}
