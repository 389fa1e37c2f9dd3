//! What a training step minimises: clean cross-entropy (ERM), cross-entropy at PGD adversarials
//! (Madry et al., the paper's Eq. 14), Gowal et al.'s interval-bound loss, or cross-entropy under
//! Gaussian noise (Cohen et al., the base classifier of a smoothed model).

use burn::tensor::{Distribution, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::certify::{input_box, margin_lower_bounds};
use crate::error::{Error, Result};
use crate::gradient::input_gradient;
use crate::loss::cross_entropy;
use crate::model::{Classifier, Sequential};
use crate::runtime::one_hot::one_hot_mask;

/// A training objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Objective {
    /// Cross-entropy on clean images.
    Standard,
    /// min over weights of the max over the L∞ ball (Eq. 14): the inner max by PGD from a
    /// uniform random start, with `steps` signed-gradient steps of `step_size`.
    Adversarial {
        /// Radius of the ball, in pixel units of [0, 1].
        epsilon: f32,
        /// PGD steps per batch.
        steps: usize,
        /// PGD step size (scaled with ε during the ramp).
        step_size: f32,
        /// Fraction of the run over which ε grows linearly from 0 (0: full ε from the start).
        #[serde(default)]
        ramp: f32,
    },
    /// Gowal et al.'s IBP training: κ·CE(clean) + (1 − κ)·CE(worst-case logits from interval
    /// bounds at ε'), where ε' ramps linearly from 0 to `epsilon` and κ from 1 to `kappa_end`
    /// over the ramp, after a warm-up of clean training.
    Ibp {
        /// Radius at the end of the ramp (Gowal train at 1.1–1.33× the radius they certify).
        epsilon: f32,
        /// Fraction of the run trained clean before the ramp.
        warmup: f32,
        /// Fraction of the run over which ε' and κ ramp.
        ramp: f32,
        /// Final weight of the clean loss.
        kappa_end: f32,
    },
    /// Cross-entropy on images with N(0, σ²) noise added (not clipped, as in Cohen et al.).
    Noise {
        /// Standard deviation of the noise.
        sigma: f32,
    },
}

impl Objective {
    /// Refuse radii, steps and fractions that make no sense.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidArgument(what.to_string()));
        let positive = |x: f32| x.is_finite() && x > 0.0;
        match *self {
            Self::Standard => Ok(()),
            Self::Adversarial {
                epsilon,
                steps,
                step_size,
                ramp,
            } => {
                if !(positive(epsilon) && positive(step_size))
                    || steps == 0
                    || !(0.0..=1.0).contains(&ramp)
                {
                    bad(
                        "adversarial training needs ε > 0, step size > 0, at least one step and a ramp in [0, 1]",
                    )
                } else {
                    Ok(())
                }
            }
            Self::Ibp {
                epsilon,
                warmup,
                ramp,
                kappa_end,
            } => {
                let fraction = |x: f32| (0.0..=1.0).contains(&x);
                if !positive(epsilon)
                    || !fraction(warmup)
                    || !fraction(ramp)
                    || warmup + ramp > 1.0
                    || !fraction(kappa_end)
                {
                    bad("IBP training needs ε > 0, warm-up + ramp ≤ 1 and κ_end in [0, 1]")
                } else {
                    Ok(())
                }
            }
            Self::Noise { sigma } => {
                if positive(sigma) {
                    Ok(())
                } else {
                    bad("noise training needs σ > 0")
                }
            }
        }
    }

    /// For IBP training, (ε', κ) at `progress` ∈ [0, 1] of the run.
    pub fn ibp_schedule(
        warmup: f32,
        ramp: f32,
        epsilon: f32,
        kappa_end: f32,
        progress: f32,
    ) -> (f32, f32) {
        let t = if ramp > 0.0 {
            ((progress - warmup) / ramp).clamp(0.0, 1.0)
        } else if progress >= warmup {
            1.0
        } else {
            0.0
        };
        (epsilon * t, 1.0 + (kappa_end - 1.0) * t)
    }

    /// The loss `[1]` of `model` (parameters on an autodiff device) on one batch, with
    /// `frozen`, the same network without gradient tracking, for the inner attack; `progress`
    /// is the fraction of the run done.
    pub fn loss(
        &self,
        model: &Sequential,
        frozen: &Sequential,
        images: Tensor<4>,
        labels: Tensor<1, Int>,
        progress: f32,
    ) -> Result<Tensor<1>> {
        Ok(match *self {
            Self::Standard => cross_entropy(model.logits(images), labels),
            Self::Adversarial {
                epsilon,
                steps,
                step_size,
                ramp,
            } => {
                let scale = if ramp > 0.0 {
                    (progress / ramp).min(1.0)
                } else {
                    1.0
                };
                let adversarial = pgd_inner(
                    frozen,
                    images,
                    labels.clone(),
                    epsilon * scale,
                    steps,
                    step_size * scale,
                );
                cross_entropy(model.logits(adversarial), labels)
            }
            Self::Ibp {
                epsilon,
                warmup,
                ramp,
                kappa_end,
            } => {
                let (eps, kappa) = Self::ibp_schedule(warmup, ramp, epsilon, kappa_end, progress);
                let clean = cross_entropy(model.logits(images.clone()), labels.clone());
                if eps <= 0.0 {
                    clean
                } else {
                    let input = input_box(images, eps, (0.0, 1.0))?;
                    let margins = margin_lower_bounds(model, input, labels.clone());
                    let own = one_hot_mask::<1, 2>(labels.clone(), margins.dims()[1]);
                    // Worst-case logits: z_j − z_label ≤ −m_j, and 0 at the label.
                    let worst = margins.mask_fill(own, 0.0).neg();
                    clean * kappa + cross_entropy(worst, labels) * (1.0 - kappa)
                }
            }
            Self::Noise { sigma } => {
                let device = images.device();
                let noise =
                    Tensor::<4>::random(images.dims(), Distribution::Normal(0.0, 1.0), &device);
                cross_entropy(model.logits(images + noise * sigma), labels)
            }
        })
    }
}

/// L∞ PGD for training: uniform random start in the ball, `steps` signed steps on the
/// cross-entropy, projected onto the ball ∩ [0, 1]; no readbacks, so it never stalls the device.
/// A radius of 0 (the start of a ramp) returns the images.
pub fn pgd_inner(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    epsilon: f32,
    steps: usize,
    step_size: f32,
) -> Tensor<4> {
    if epsilon <= 0.0 {
        return images;
    }
    let device = images.device();
    let low = (images.clone() - epsilon).clamp_min(0.0);
    let high = (images.clone() + epsilon).clamp_max(1.0);
    let start = Tensor::<4>::random(
        images.dims(),
        Distribution::Uniform(-f64::from(epsilon), f64::from(epsilon)),
        &device,
    );
    let mut x = (images + start).clamp(0.0, 1.0);
    for _ in 0..steps {
        let gradient = input_gradient(model, x.clone(), labels.clone()).gradient;
        x = (x + gradient.sign() * step_size)
            .max_pair(low.clone())
            .min_pair(high.clone());
    }
    x.detach()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibp_ramp_moves_epsilon_up_and_kappa_down() {
        let at = |p| Objective::ibp_schedule(0.1, 0.5, 0.4, 0.5, p);
        assert_eq!(at(0.0), (0.0, 1.0));
        assert_eq!(at(0.1), (0.0, 1.0));
        let (eps, kappa) = at(0.35);
        assert!((eps - 0.2).abs() < 1e-6 && (kappa - 0.75).abs() < 1e-6);
        assert_eq!(at(0.6), (0.4, 0.5));
        assert_eq!(at(1.0), (0.4, 0.5));
    }

    #[test]
    fn nonsense_objectives_are_refused() {
        let adversarial = |epsilon, steps| Objective::Adversarial {
            epsilon,
            steps,
            step_size: 0.01,
            ramp: 0.1,
        };
        assert!(adversarial(0.3, 10).validate().is_ok());
        assert!(adversarial(0.0, 10).validate().is_err());
        assert!(adversarial(f32::NAN, 10).validate().is_err());
        assert!(adversarial(0.3, 0).validate().is_err());
        assert!(Objective::Noise { sigma: -1.0 }.validate().is_err());
        let ibp = |warmup, ramp| Objective::Ibp {
            epsilon: 0.1,
            warmup,
            ramp,
            kappa_end: 0.5,
        };
        assert!(ibp(0.1, 0.5).validate().is_ok());
        assert!(ibp(0.6, 0.5).validate().is_err());
    }
}
