//! What an attack maximises, and when it has succeeded.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::threat::{Goal, ThreatModel};
use crate::loss::cross_entropy_per_sample;
use crate::runtime::one_hot::one_hot_float;

/// The loss an attack climbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum AttackLoss {
    /// Cross-entropy (away from the label, or towards the target).
    #[cfg_attr(feature = "clap", value(name = "ce"))]
    CrossEntropy,
    /// Logit margin (C&W style): best other logit minus the label's logit, or the target's
    /// logit minus the best other. Positive exactly when the attack has succeeded.
    Margin,
    /// Difference of logits ratio (Croce & Hein): the margin divided by z_π1 − z_π3 (targeted:
    /// z_π1 − (z_π3 + z_π4)/2), π the classes by logit; unchanged when the logits are shifted or
    /// scaled, so saturated or rescaled logits cannot hide a gradient.
    Dlr,
}

impl AttackLoss {
    /// Both losses.
    pub const ALL: [AttackLoss; 3] = [
        AttackLoss::CrossEntropy,
        AttackLoss::Margin,
        AttackLoss::Dlr,
    ];

    /// Name as written on the command line (`ce`, `margin`, `dlr`).
    pub fn id(self) -> &'static str {
        match self {
            AttackLoss::CrossEntropy => "ce",
            AttackLoss::Margin => "margin",
            AttackLoss::Dlr => "dlr",
        }
    }
}

crate::names::named_enum!(AttackLoss, "attack loss");

/// Subtracted from the excluded class before taking the maximum over the others. A constant
/// offset, not a multiplication by a 0/1 mask: masking to zero would let a 0 win when every
/// logit is negative (a known bug of naive margin implementations).
const EXCLUDE: f32 = 1e9;

/// The largest logit among the classes other than `class`, per sample `[n]`.
pub(crate) fn best_other_logit(logits: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
    let [n, _] = logits.dims();
    (logits - one_hot * EXCLUDE).max_dim(1).reshape([n])
}

/// The logit of `class`, per sample `[n]`.
pub(crate) fn class_logit(logits: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
    let [n, _] = logits.dims();
    (logits * one_hot).sum_dim(1).reshape([n])
}

/// The logits sorted from the largest: the first `count` values per sample, `[n]` each, and
/// their classes (argmax after masking the ones before; ties go to the lowest class). Computed on
/// the device: Burn's sort and top-k read back to the host, which the browser cannot.
pub(crate) fn ranked(logits: Tensor<2>, count: usize) -> (Vec<Tensor<1>>, Vec<Tensor<1, Int>>) {
    let [n, classes] = logits.dims();
    let mut rest = logits;
    let mut values = Vec::with_capacity(count);
    let mut indices = Vec::with_capacity(count);
    for _ in 0..count {
        let index = rest.clone().detach().argmax(1).reshape([n]);
        let mask = one_hot_float::<1, 2>(index.clone(), classes);
        values.push(class_logit(rest.clone(), mask.clone()));
        rest = rest - mask * EXCLUDE;
        indices.push(index);
    }
    (values, indices)
}

/// The per-sample objective `[n]` to maximise. `class` is the true label (untargeted) or the
/// target (targeted).
pub fn objective(
    logits: Tensor<2>,
    class: Tensor<1, Int>,
    targeted: bool,
    loss: AttackLoss,
) -> Tensor<1> {
    let classes = logits.dims()[1];
    match loss {
        AttackLoss::CrossEntropy => {
            let ce = cross_entropy_per_sample(logits, class);
            if targeted { ce.neg() } else { ce }
        }
        AttackLoss::Margin => {
            let one_hot = one_hot_float::<1, 2>(class, classes);
            let own = class_logit(logits.clone(), one_hot.clone());
            let other = best_other_logit(logits, one_hot);
            if targeted { own - other } else { other - own }
        }
        AttackLoss::Dlr => {
            let one_hot = one_hot_float::<1, 2>(class, classes);
            let own = class_logit(logits.clone(), one_hot.clone());
            let other = best_other_logit(logits.clone(), one_hot);
            let (top, _) = ranked(logits, if targeted { 4 } else { 3 });
            if targeted {
                (own - other) / (top[0].clone() - (top[2].clone() + top[3].clone()) * 0.5 + 1e-12)
            } else {
                (other - own) / (top[0].clone() - top[2].clone() + 1e-12)
            }
        }
    }
}

/// Class indices as a device tensor.
pub(crate) fn int_tensor(values: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

/// Whether the attack is targeted, and the class it aims at (the target) or away from (the label).
fn aim(threat: &ThreatModel, labels: &[usize], device: &Device) -> (bool, Tensor<1, Int>) {
    match threat.goal() {
        Goal::Untargeted => (false, int_tensor(labels, device)),
        Goal::Targeted(targets) => (true, int_tensor(targets, device)),
    }
}

/// What every attack works out about its batch before the first step.
pub(crate) struct Setup {
    /// The clean images, detached.
    pub clean: Tensor<4>,
    /// Their logits.
    pub clean_logits: Tensor<2>,
    /// Whether each clean image is classified correctly.
    pub clean_correct: Tensor<1, Bool>,
    /// Whether the attack is targeted.
    pub targeted: bool,
    /// The class aimed at (targeted) or away from (untargeted).
    pub class: Tensor<1, Int>,
}

impl Setup {
    /// Check the batch against the threat model and the classifier (one clean forward pass).
    pub(crate) fn new(
        model: &impl crate::model::Classifier,
        images: Tensor<4>,
        labels: &[usize],
        threat: &ThreatModel,
    ) -> crate::error::Result<Self> {
        let clean = images.detach().without_autodiff();
        let device = clean.device();
        let clean_logits = model.logits(clean.clone()).without_autodiff();
        threat.check_batch(clean.dims(), labels, clean_logits.dims()[1])?;
        let (targeted, class) = aim(threat, labels, &device);
        let clean_correct = succeeded(clean_logits.clone(), int_tensor(labels, &device), true);
        Ok(Self {
            clean,
            clean_logits,
            clean_correct,
            targeted,
            class,
        })
    }
}

/// Whether each sample's prediction meets the goal: not the label (untargeted), or the target.
pub fn succeeded(logits: Tensor<2>, class: Tensor<1, Int>, targeted: bool) -> Tensor<1, Bool> {
    let [n, _] = logits.dims();
    let hit = logits.argmax(1).reshape([n]).equal(class);
    if targeted { hit } else { hit.bool_not() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_right_when_all_logits_are_negative() {
        let d = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::new(vec![-5.0f32, -2.0, -3.0], [1, 3]), &d);
        let label = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64], [1]), &d);
        let m = objective(logits.clone(), label.clone(), false, AttackLoss::Margin);
        // best other is -2, label logit -5: margin +3 (already misclassified).
        assert_eq!(m.into_data().try_into_vec_as::<f32>().unwrap(), vec![3.0]);
        let target = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64], [1]), &d);
        let m = objective(logits.clone(), target.clone(), true, AttackLoss::Margin);
        assert_eq!(m.into_data().try_into_vec_as::<f32>().unwrap(), vec![-1.0]);
        let s = succeeded(logits, label, false)
            .into_data()
            .try_into_vec_as::<bool>()
            .unwrap();
        assert_eq!(s, vec![true]);
    }
}
