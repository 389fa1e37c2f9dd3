//! The audit's rules: each check's verdict as a pure function of the figures measured, so every
//! rule is stated once, in one place, and can be tested on figures alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Behaves as an honestly evaluated model should.
    Pass,
    /// A sign of gradient masking or of an attack too weak to trust.
    Flag,
}

/// One sanity check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Short identifier, e.g. `unbounded-attack-succeeds`.
    pub name: String,
    /// Pass or flag.
    pub verdict: Verdict,
    /// What was measured and what it means.
    pub detail: String,
    /// The numbers behind the verdict.
    pub figures: BTreeMap<String, f64>,
}

/// Largest logit difference between two forward passes that counts as deterministic.
pub const DETERMINISTIC_DRIFT: f64 = 1e-6;
/// Largest fraction of images with a zero input gradient that passes.
pub const ZERO_GRADIENT_FRACTION: f64 = 0.1;
/// Largest median relative error between the gradient and finite differences before flagging.
pub const FINITE_DIFFERENCE_ERROR: f64 = 0.5;
/// Slack on robust-accuracy comparisons (fraction of the batch), for run-to-run noise.
pub const SLACK: f64 = 0.02;
/// Largest accuracy an unbounded attack may leave.
pub const UNBOUNDED_ACCURACY: f64 = 0.01;
/// Robust accuracy above which a model holds against an attack (claims robustness to it); at or
/// below it the attack has done its work and there is nothing to distrust.
pub const HOLDS: f64 = 0.1;

fn check(name: &str, pass: bool, detail: String, figures: &[(&str, f64)]) -> Check {
    Check {
        name: name.into(),
        verdict: if pass { Verdict::Pass } else { Verdict::Flag },
        detail,
        figures: figures.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Two forward passes on the same images must agree; otherwise the model is randomized and one
/// gradient is a noisy estimate (attack it with EOT).
pub fn deterministic(drift: f64) -> Check {
    let pass = drift <= DETERMINISTIC_DRIFT;
    check(
        "deterministic",
        pass,
        if pass {
            "two forward passes agree: the model is deterministic".into()
        } else {
            format!(
                "two forward passes differ by up to {drift:.3e}: the model is randomized, so one gradient is a noisy estimate; attack it with EOT"
            )
        },
        &[("max_logit_difference", drift)],
    )
}

/// At most a tenth of the images may have an exactly zero input gradient.
pub fn nonzero_gradients(zero_fraction: f64) -> Check {
    let pass = zero_fraction <= ZERO_GRADIENT_FRACTION;
    check(
        "nonzero-gradients",
        pass,
        format!(
            "{} of the images have a zero input gradient{}",
            percent(zero_fraction),
            if pass {
                ""
            } else {
                ": gradients are masked (e.g. rounding or thresholding); try BPDA"
            }
        ),
        &[("zero_gradient_fraction", zero_fraction)],
    )
}

/// The directional derivative along a random direction must match the central finite
/// difference of the loss (step `h`): the median relative gap at most one half.
pub fn gradient_matches_finite_differences(median_error: f64, h: f32) -> Check {
    let pass = median_error <= FINITE_DIFFERENCE_ERROR;
    check(
        "gradient-matches-finite-differences",
        pass,
        format!(
            "median relative gap between the gradient and a finite difference (h = {h}) along a random direction: {median_error:.3}{}",
            if pass {
                ""
            } else {
                ": the gradient does not describe the loss (shattered or masked gradients)"
            }
        ),
        &[("median_relative_error", median_error)],
    )
}

/// An iterative attack must leave no more accuracy than a single step (within the slack), and on a
/// model that holds against the single step (FGSM leaves more than [`HOLDS`]) strictly less:
/// PGD no stronger than one FGSM step means its steps lead nowhere (masked or shattered
/// gradients), Carlini et al.'s warning sign.
pub fn iterative_beats_single_step(epsilon: f32, steps: usize, fgsm: f64, pgd: f64) -> Check {
    let weaker = pgd > fgsm + SLACK;
    let no_stronger = fgsm > HOLDS && pgd >= fgsm;
    check(
        "iterative-beats-single-step",
        !(weaker || no_stronger),
        format!(
            "robust accuracy at ε = {epsilon}: FGSM {}, PGD-{steps} {}{}",
            percent(fgsm),
            percent(pgd),
            if weaker {
                ": the iterative attack is weaker than one step"
            } else if no_stronger {
                ": on a model that holds, the iterative attack is no stronger than one step"
            } else {
                ""
            }
        ),
        &[("fgsm_robust_accuracy", fgsm), ("pgd_robust_accuracy", pgd)],
    )
}

/// Robust accuracy at growing budgets `(ε, accuracy)`, the audit's ε × (¼, ½, 1, 2), must not
/// rise (within the slack); and where the model holds at the smallest budget (more than
/// [`HOLDS`]) it must be lower at ε (the last but one point) than at ε/4: a curve that stays flat
/// while the budget grows fourfold says the attack does not use its budget.
pub fn accuracy_falls_with_budget(curve: &[(f32, f64)]) -> Check {
    let rises = curve.windows(2).any(|w| w[1].1 > w[0].1 + SLACK);
    let flat = match (curve.first(), curve.len().checked_sub(2).map(|k| curve[k])) {
        (Some(first), Some(at_eps)) if curve.len() > 2 => first.1 > HOLDS && at_eps.1 >= first.1,
        _ => false,
    };
    Check {
        name: "accuracy-falls-with-budget".into(),
        verdict: if rises || flat {
            Verdict::Flag
        } else {
            Verdict::Pass
        },
        detail: format!(
            "robust accuracy at ε × (¼, ½, 1, 2): {}{}",
            curve
                .iter()
                .map(|(_, a)| percent(*a))
                .collect::<Vec<_>>()
                .join(", "),
            if rises {
                ": it rises with the budget"
            } else if flat {
                ": it does not fall from ε/4 to ε, so the attack does not use its budget"
            } else {
                ""
            }
        ),
        figures: curve
            .iter()
            .map(|(e, a)| (format!("robust_accuracy_at_{e}"), *a))
            .collect(),
    }
}

/// A gradient attack with the whole pixel range as budget must reach ~0% accuracy.
pub fn unbounded_attack_succeeds(accuracy: f64) -> Check {
    check(
        "unbounded-attack-succeeds",
        accuracy <= UNBOUNDED_ACCURACY,
        format!(
            "a gradient attack with the whole pixel range as budget (100 steps from the clean image) leaves {} accuracy; it must reach ~0%",
            percent(accuracy)
        ),
        &[("unbounded_robust_accuracy", accuracy)],
    )
}

/// The white-box attack must leave no more accuracy than random ±ε corners.
pub fn white_box_beats_random_noise(noise: f64, pgd: f64) -> Check {
    check(
        "white-box-beats-random-noise",
        pgd <= noise + SLACK,
        format!(
            "random ±ε corners (worst of 4 draws) leave {} accuracy, PGD {}",
            percent(noise),
            percent(pgd)
        ),
        &[("noise_accuracy", noise), ("pgd_robust_accuracy", pgd)],
    )
}

/// The white-box attack must leave no more accuracy than adversarials transferred from a
/// surrogate.
pub fn white_box_beats_transfer(transfer: f64, pgd: f64) -> Check {
    let pass = pgd <= transfer + SLACK;
    check(
        "white-box-beats-transfer",
        pass,
        format!(
            "adversarials crafted on the surrogate leave {} accuracy, white-box PGD {}{}",
            percent(transfer),
            percent(pgd),
            if pass {
                ""
            } else {
                ": a black-box attack beats the white-box one, so the white-box gradients mislead"
            }
        ),
        &[
            ("transfer_accuracy", transfer),
            ("pgd_robust_accuracy", pgd),
        ],
    )
}

/// The adaptive attack (`name`) must not break what plain PGD reported as robust.
pub fn adaptive_attack_adds_nothing(name: &str, adaptive: f64, pgd: f64) -> Check {
    let stronger = adaptive + SLACK < pgd;
    check(
        "adaptive-attack-adds-nothing",
        !stronger,
        format!(
            "{name} PGD leaves {} accuracy against the plain PGD's {}{}",
            percent(adaptive),
            percent(pgd),
            if stronger {
                ": the adaptive attack breaks what plain PGD reported as robust"
            } else {
                ""
            }
        ),
        &[
            ("adaptive_accuracy", adaptive),
            ("pgd_robust_accuracy", pgd),
        ],
    )
}

/// The white-box attack must leave no more accuracy than a query-only attack that never sees a
/// gradient (Square, with `queries` per image).
pub fn white_box_beats_black_box(queries: usize, black_box: f64, pgd: f64) -> Check {
    let pass = pgd <= black_box + SLACK;
    check(
        "white-box-beats-black-box",
        pass,
        format!(
            "Square ({queries} queries per image, no gradients) leaves {} accuracy, white-box PGD {}{}",
            percent(black_box),
            percent(pgd),
            if pass {
                ""
            } else {
                ": an attack without gradients beats the one with them, so the gradients mislead"
            }
        ),
        &[
            ("black_box_accuracy", black_box),
            ("pgd_robust_accuracy", pgd),
        ],
    )
}

/// AutoAttack (`version`) must not break what PGD reported as robust.
pub fn autoattack_adds_nothing(version: &str, autoattack: f64, pgd: f64) -> Check {
    let stronger = autoattack + SLACK < pgd;
    check(
        "autoattack-adds-nothing",
        !stronger,
        format!(
            "AutoAttack ({version}) leaves {} accuracy against PGD's {}{}",
            percent(autoattack),
            percent(pgd),
            if stronger {
                ": AutoAttack finds what PGD missed, so PGD's figure overstates the robustness"
            } else {
                ""
            }
        ),
        &[
            ("autoattack_accuracy", autoattack),
            ("pgd_robust_accuracy", pgd),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures an undefended standard model gives (from the audit of the default MNIST CNN).
    #[test]
    fn an_honest_model_passes_every_rule() {
        let checks = [
            deterministic(0.0),
            nonzero_gradients(0.0),
            gradient_matches_finite_differences(0.01, 1e-3),
            iterative_beats_single_step(0.3, 20, 0.2, 0.0),
            accuracy_falls_with_budget(&[(0.075, 0.9), (0.15, 0.4), (0.3, 0.0), (0.6, 0.0)]),
            unbounded_attack_succeeds(0.0),
            white_box_beats_random_noise(0.95, 0.0),
            white_box_beats_transfer(0.3, 0.0),
            adaptive_attack_adds_nothing("BPDA", 0.0, 0.0),
            white_box_beats_black_box(1000, 0.4, 0.0),
            autoattack_adds_nothing("standard", 0.0, 0.01),
        ];
        for c in &checks {
            assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
        }
    }

    /// Figures a masked defence gives (quantization: zero gradients, PGD stuck at the clean
    /// accuracy, transfer and BPDA breaking it).
    #[test]
    fn a_masked_model_is_flagged() {
        let checks = [
            deterministic(0.3),
            nonzero_gradients(1.0),
            gradient_matches_finite_differences(1.0, 1e-3),
            iterative_beats_single_step(0.3, 20, 0.5, 0.97),
            // The page's audit of 8-level quantization (30 images, ε = 0.2): FGSM and PGD-20
            // both leave 96.7%, and so does every budget from ε/4 to ε.
            iterative_beats_single_step(0.2, 20, 0.967, 0.967),
            accuracy_falls_with_budget(&[(0.05, 0.967), (0.1, 0.967), (0.2, 0.967), (0.4, 0.933)]),
            accuracy_falls_with_budget(&[(0.075, 0.9), (0.15, 0.95), (0.3, 0.97), (0.6, 0.97)]),
            unbounded_attack_succeeds(0.97),
            white_box_beats_random_noise(0.9, 0.97),
            white_box_beats_transfer(0.1, 0.97),
            adaptive_attack_adds_nothing("BPDA", 0.02, 0.97),
            white_box_beats_black_box(1000, 0.3, 0.97),
            autoattack_adds_nothing("standard", 0.3, 0.97),
        ];
        for c in &checks {
            assert_eq!(c.verdict, Verdict::Flag, "{c:?}");
        }
    }

    /// A genuinely robust model (Madry et al.'s MNIST figures: FGSM 95.6%, PGD 89.3%, accuracy
    /// gone by ε = 0.4) passes; so does a model that an attack breaks at every budget.
    #[test]
    fn robust_and_broken_models_pass_the_strength_rules() {
        for check in [
            iterative_beats_single_step(0.3, 40, 0.956, 0.893),
            accuracy_falls_with_budget(&[(0.075, 0.97), (0.15, 0.95), (0.3, 0.893), (0.6, 0.0)]),
            iterative_beats_single_step(0.3, 40, 0.05, 0.05),
            accuracy_falls_with_budget(&[(0.075, 0.0), (0.15, 0.0), (0.3, 0.0), (0.6, 0.0)]),
        ] {
            assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        }
    }

    #[test]
    fn the_slack_decides_ties() {
        // Where the model holds, PGD must be strictly stronger; where FGSM broke it, a tie passes.
        assert_eq!(
            iterative_beats_single_step(0.1, 10, 0.5, 0.49).verdict,
            Verdict::Pass
        );
        assert_eq!(
            iterative_beats_single_step(0.1, 10, 0.5, 0.5).verdict,
            Verdict::Flag
        );
        assert_eq!(
            iterative_beats_single_step(0.1, 10, 0.05, 0.07).verdict,
            Verdict::Pass
        );
        assert_eq!(
            iterative_beats_single_step(0.1, 10, 0.5, 0.53).verdict,
            Verdict::Flag
        );
    }
}
