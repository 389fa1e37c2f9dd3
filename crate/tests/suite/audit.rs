//! The gradient-masking audit: an undefended model passes; defensive quantization is flagged for
//! masking, Square (no gradients) and AutoAttack beat PGD on it, and BPDA is reported to break it; a randomized defence is flagged and EOT breaks it.

use crate::common::mnist_batch;
use perturb::attack::{AuditConfig, AuditReport, AuditTarget, Verdict, audit};
use perturb::defense::{AdaptiveAttack, AdaptiveView, Quantized, RandomizedInput};

fn verdict(report: &AuditReport, name: &str) -> Verdict {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:#?}"))
        .verdict
}

fn config() -> AuditConfig {
    AuditConfig {
        epsilon: 0.3,
        steps: 20,
        restarts: 1,
        seed: 1,
        ..AuditConfig::default()
    }
}

#[test]
fn an_undefended_model_passes_every_check() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let (images, labels) = mnist_batch(64, &device);
    let target = AuditTarget {
        model: &model,
        surrogate: None,
        adaptive: None,
    };
    let report = pollster::block_on(audit(target, images, &labels, &config(), |_| {})).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.flagged, 0, "{report:#?}");
    assert_eq!(report.checks.len(), 9);
}

#[test]
fn quantization_is_flagged_and_bpda_breaks_it() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let (images, labels) = mnist_batch(64, &device);
    let defended = Quantized::new(&model, 8).unwrap();
    let bpda = defended.clone().bpda();
    let target = AuditTarget {
        model: &defended,
        surrogate: Some(&model),
        adaptive: Some(AdaptiveView {
            attack: AdaptiveAttack::Bpda,
            model: Box::new(&bpda),
            eot_samples: 1,
        }),
    };
    let report = pollster::block_on(audit(target, images, &labels, &config(), |_| {})).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(verdict(&report, "deterministic"), Verdict::Pass);
    for masked in [
        "nonzero-gradients",
        "gradient-matches-finite-differences",
        "iterative-beats-single-step",
        "accuracy-falls-with-budget",
        "unbounded-attack-succeeds",
        "white-box-beats-transfer",
        "white-box-beats-black-box",
        "autoattack-adds-nothing",
        "adaptive-attack-adds-nothing",
    ] {
        assert_eq!(
            verdict(&report, masked),
            Verdict::Flag,
            "{masked}: {report:#?}"
        );
    }
    let adaptive = &report
        .checks
        .iter()
        .find(|c| c.name == "adaptive-attack-adds-nothing")
        .unwrap()
        .figures;
    assert!(
        adaptive["adaptive_accuracy"] < 0.1,
        "BPDA left {adaptive:?}"
    );
    assert!(
        adaptive["pgd_robust_accuracy"] > 0.8,
        "plain PGD got through: {adaptive:?}"
    );
}

#[test]
fn randomness_is_flagged_and_eot_is_reported() {
    let device = crate::common::device();
    let model = crate::common::default_model(&device);
    let (images, labels) = mnist_batch(32, &device);
    let defended = RandomizedInput::new(&model, 0.3, 2, 4).unwrap();
    let target = AuditTarget {
        model: &defended,
        surrogate: None,
        adaptive: Some(AdaptiveView {
            attack: AdaptiveAttack::Eot,
            model: Box::new(&defended),
            eot_samples: 8,
        }),
    };
    let config = AuditConfig {
        epsilon: 0.1,
        ..config()
    };
    let report = pollster::block_on(audit(target, images, &labels, &config, |_| {})).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(verdict(&report, "deterministic"), Verdict::Flag);
    assert_eq!(verdict(&report, "unbounded-attack-succeeds"), Verdict::Pass);
    // Judged by its expected prediction, the randomized model gives way further under EOT.
    assert_eq!(
        verdict(&report, "adaptive-attack-adds-nothing"),
        Verdict::Flag,
        "{report:#?}"
    );
}
