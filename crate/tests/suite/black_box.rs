//! Query-only attacks, APGD and AutoAttack on the shipped default model: Square and HopSkipJump
//! see only outputs (every call the model receives is counted, none carries a gradient), spend
//! no more than their budget, and beat a defence whose gradients are masked; APGD is at least as
//! strong as PGD; AutoAttack's robust accuracy only falls along its members and is never above a
//! member's run on its own.

use std::cell::Cell;

use burn::tensor::Tensor;
use perturb::attack::{
    ApgdConfig, Attack, AttackLoss, AttackOutcome, AttackSummary, AutoAttackConfig,
    HopSkipJumpConfig, Norm, PgdConfig, SquareConfig, ThreatModel, autoattack_batch, pgd,
};
use perturb::defense::Quantized;
use perturb::model::Classifier;

use crate::common::{default_model, device, mnist_batch};

/// A model that counts the images it classifies and refuses any input that carries a gradient.
struct Watched<M> {
    model: M,
    images: Cell<usize>,
}

impl<M: Classifier> Classifier for Watched<M> {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        assert!(
            !images.is_require_grad(),
            "a query-only attack asked for a gradient"
        );
        self.images.set(self.images.get() + images.dims()[0]);
        self.model.logits(images)
    }
}

fn run(
    model: &impl Classifier,
    attack: &Attack,
    threat: &ThreatModel,
    count: usize,
) -> AttackOutcome {
    let (images, labels) = mnist_batch(count, &device());
    pollster::block_on(attack.run(model, images, &labels, threat, |_| true)).unwrap()
}

fn robust(out: &AttackOutcome, count: usize) -> f64 {
    let (_, labels) = mnist_batch(count, &device());
    AttackSummary::from_samples(&out.samples, &labels).robust_accuracy
}

#[test]
fn query_only_attacks_are_counted_and_stay_within_budget() {
    let device = device();
    let attacks = [
        (
            Attack::Square(SquareConfig {
                queries: 200,
                ..SquareConfig::default()
            }),
            ThreatModel::new(Norm::Linf, 0.2).unwrap(),
            200,
        ),
        (
            Attack::Square(SquareConfig {
                queries: 200,
                ..SquareConfig::default()
            }),
            ThreatModel::new(Norm::L2, 3.0).unwrap(),
            200,
        ),
        (
            Attack::HopSkipJump(HopSkipJumpConfig {
                iterations: 6,
                queries: 1500,
                ..HopSkipJumpConfig::default()
            }),
            ThreatModel::new(Norm::L2, 3.0).unwrap(),
            1500,
        ),
    ];
    for (attack, threat, budget) in attacks {
        let watched = Watched {
            model: default_model(&device),
            images: Cell::new(0),
        };
        let out = run(&watched, &attack, &threat, 12);
        let spent: Vec<usize> = out.samples.iter().map(|s| s.queries.unwrap()).collect();
        let calls = watched.images.get();
        // HopSkipJump's last classification of what it returns is bookkeeping, not a query.
        let bookkeeping = if matches!(attack, Attack::HopSkipJump(_)) {
            12
        } else {
            0
        };
        assert_eq!(
            spent.iter().sum::<usize>() + bookkeeping,
            calls,
            "{attack:?}: the per-image query counts do not add up to the model's calls"
        );
        assert!(spent.iter().all(|&q| q <= budget), "{attack:?}: {spent:?}");
        let broken = out.samples.iter().filter(|s| s.success).count();
        println!("{attack:?}: {broken}/12 broken, queries {spent:?}");
        assert!(broken >= 6, "{attack:?} broke only {broken} of 12");
    }
}

#[test]
fn hop_skip_jump_shrinks_the_distance_it_minimises() {
    let device = device();
    let model = default_model(&device);
    let threat = ThreatModel::new(Norm::L2, 0.5).unwrap();
    let short = |iterations| {
        Attack::HopSkipJump(HopSkipJumpConfig {
            iterations,
            queries: 100_000,
            ..HopSkipJumpConfig::default()
        })
    };
    let first = run(&model, &short(1), &threat, 6);
    let later = run(&model, &short(12), &threat, 6);
    for (a, b) in first.samples.iter().zip(&later.samples) {
        // final_loss is the smallest adversarial distance found.
        assert!(
            b.final_loss <= a.final_loss + 1e-4,
            "12 iterations ended farther ({}) than 1 ({})",
            b.final_loss,
            a.final_loss
        );
    }
    let mean = |o: &AttackOutcome| o.samples.iter().map(|s| s.final_loss).sum::<f32>() / 6.0;
    println!(
        "HSJ mean L2 distance: 1 iteration {}, 12 iterations {}",
        mean(&first),
        mean(&later)
    );
    assert!(mean(&later) < 0.8 * mean(&first));
}

#[test]
fn square_breaks_what_masked_gradients_hide_from_pgd() {
    let device = device();
    let model = default_model(&device);
    let defended = Quantized::new(&model, 8).unwrap();
    let threat = ThreatModel::new(Norm::Linf, 0.2).unwrap();
    let count = 24;
    let pgd_out = run(
        &defended,
        &Attack::Pgd(PgdConfig::pgd(&threat, 20)),
        &threat,
        count,
    );
    let square_out = run(
        &defended,
        &Attack::Square(SquareConfig {
            queries: 1000,
            ..SquareConfig::default()
        }),
        &threat,
        count,
    );
    let (p, s) = (robust(&pgd_out, count), robust(&square_out, count));
    println!("quantized model at ε = 0.2: PGD-20 leaves {p}, Square (1,000 queries) {s}");
    assert!(p > 0.8, "PGD got through the masked gradients: {p}");
    assert!(s < p - 0.3, "Square should beat PGD here: {s} vs {p}");
}

#[test]
fn apgd_is_at_least_as_strong_as_pgd() {
    let device = device();
    let model = default_model(&device);
    let threat = ThreatModel::new(Norm::Linf, 0.1).unwrap();
    let count = 48;
    let pgd_out = run(
        &model,
        &Attack::Pgd(PgdConfig::pgd(&threat, 40)),
        &threat,
        count,
    );
    for loss in [AttackLoss::CrossEntropy, AttackLoss::Dlr] {
        let apgd = Attack::Apgd(ApgdConfig {
            steps: 40,
            loss,
            ..ApgdConfig::default()
        });
        let out = run(&model, &apgd, &threat, count);
        let (p, a) = (robust(&pgd_out, count), robust(&out, count));
        println!("ε = 0.1: PGD-40 leaves {p}, APGD-{loss:?}-40 {a}");
        assert!(a <= p + 1.0 / count as f64, "{loss:?}: APGD {a} vs PGD {p}");
    }
}

#[test]
fn autoattack_only_lowers_robust_accuracy_and_beats_each_member_alone() {
    let device = device();
    let model = default_model(&device);
    let threat = ThreatModel::new(Norm::Linf, 0.1).unwrap();
    let (images, labels) = mnist_batch(24, &device);
    let config = AutoAttackConfig {
        steps: 20,
        targets: 3,
        square_queries: 300,
        ..AutoAttackConfig::default()
    };
    let (samples, members) = pollster::block_on(autoattack_batch(
        &model,
        images.clone(),
        &labels,
        &threat,
        &config,
        |_| true,
    ))
    .unwrap()
    .unwrap();
    let report = perturb::attack::summarize_autoattack(&config, samples, members, false);
    println!("{}", serde_json::to_string_pretty(&report.members).unwrap());
    let names: Vec<&str> = report.members.iter().map(|m| m.attack.as_str()).collect();
    assert_eq!(
        names,
        [
            "apgd-ce",
            "apgd-t (target 1)",
            "apgd-t (target 2)",
            "apgd-t (target 3)",
            "fab-t",
            "square"
        ],
        "AutoAttack's standard order"
    );
    let mut previous = report.clean_accuracy;
    for m in &report.members {
        assert!(m.robust_accuracy <= previous, "{m:?} rose");
        previous = m.robust_accuracy;
    }
    assert_eq!(previous, report.robust_accuracy);
    let clean_correct: Vec<bool> = report.samples.iter().map(|s| s.clean_correct).collect();
    for (name, member) in config.members(10) {
        let out =
            pollster::block_on(member.run(&model, images.clone(), &labels, &threat, |_| true))
                .unwrap();
        let alone = out
            .samples
            .iter()
            .zip(&clean_correct)
            .filter(|(s, c)| **c && !s.success)
            .count() as f64
            / labels.len() as f64;
        println!("{name} alone: {alone}");
        assert!(
            report.robust_accuracy <= alone,
            "the ensemble ({}) is above {name} alone ({alone})",
            report.robust_accuracy
        );
    }
    // And it is at least as strong as PGD-40.
    let pgd_out = pollster::block_on(pgd(
        &model,
        images,
        &labels,
        &threat,
        &PgdConfig::pgd(&threat, 40),
        |_| true,
    ))
    .unwrap();
    let p = AttackSummary::from_samples(&pgd_out.samples, &labels).robust_accuracy;
    println!("AutoAttack {} vs PGD-40 {p}", report.robust_accuracy);
    assert!(report.robust_accuracy <= p);
}

#[test]
fn bad_budgets_are_refused() {
    let device = device();
    let model = default_model(&device);
    let threat = ThreatModel::new(Norm::Linf, 0.1).unwrap();
    let (images, labels) = mnist_batch(2, &device);
    let bad = [
        Attack::Square(SquareConfig {
            queries: 1,
            ..SquareConfig::default()
        }),
        Attack::Square(SquareConfig {
            p_init: 0.0,
            ..SquareConfig::default()
        }),
        Attack::HopSkipJump(HopSkipJumpConfig {
            queries: 0,
            ..HopSkipJumpConfig::default()
        }),
        Attack::Apgd(ApgdConfig {
            steps: 0,
            ..ApgdConfig::default()
        }),
        Attack::Apgd(ApgdConfig {
            aim: Some(11),
            ..ApgdConfig::default()
        }),
    ];
    for attack in bad {
        let err =
            pollster::block_on(attack.run(&model, images.clone(), &labels, &threat, |_| true))
                .unwrap_err();
        println!("{attack:?}: {err}");
        assert!(matches!(err, perturb::Error::InvalidArgument(_)), "{err}");
    }
    let targeted = threat.targeted(vec![3, 3]);
    let hsj = Attack::HopSkipJump(HopSkipJumpConfig::default());
    assert!(pollster::block_on(hsj.run(&model, images, &labels, &targeted, |_| true)).is_err());
}
