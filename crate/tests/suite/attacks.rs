//! PGD and FGSM beyond the shared properties (`attack_properties`): PGD is at least as strong as
//! FGSM, early stop and cancellation, and bad batches refused.

use crate::common::mnist_batch;
use burn::tensor::Tensor;
use perturb::attack::{AttackOutcome, AttackSummary, Norm, PgdConfig, ThreatModel, pgd};

struct Fixture {
    model: perturb::model::Sequential,
    images: Tensor<4>,
    labels: Vec<usize>,
}

fn fixture(count: usize) -> Fixture {
    let device = crate::common::device();
    let (images, labels) = mnist_batch(count, &device);
    Fixture {
        model: crate::common::default_model(&device),
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

fn pgd_config(threat: &ThreatModel, steps: usize, restarts: usize) -> PgdConfig {
    PgdConfig {
        restarts,
        seed: 7,
        ..PgdConfig::pgd(threat, steps)
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
            assert_eq!(p.trace.len(), 1);
            assert_eq!(p.trace[0].step, p.done);
            p.done < 3
        },
    ))
    .unwrap();
    assert!(out.cancelled);
    assert_eq!(calls, 3);
    assert_eq!(out.trace.len(), 3);

    // Read every 4 steps: the same points, in batches (and the unread ones when stopped).
    let batched = PgdConfig {
        trace_every: 4,
        steps: 10,
        ..traced.clone()
    };
    let mut sizes = Vec::new();
    let every = pollster::block_on(pgd(
        &f.model,
        f.images.clone(),
        &f.labels,
        &threat,
        &batched,
        |p| {
            sizes.push(p.trace.len());
            true
        },
    ))
    .unwrap();
    assert_eq!(sizes, [0, 0, 0, 4, 0, 0, 0, 4, 0, 2]);
    let each = run(
        &f,
        &threat,
        &PgdConfig {
            trace_every: 1,
            ..batched.clone()
        },
    );
    assert_eq!(every.trace, each.trace);
    let mut calls = 0;
    let stopped = pollster::block_on(pgd(
        &f.model,
        f.images.clone(),
        &f.labels,
        &threat,
        &batched,
        |_| {
            calls += 1;
            calls < 6
        },
    ))
    .unwrap();
    assert!(stopped.cancelled);
    assert_eq!(stopped.trace, each.trace[..6]);
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
