//! The threat model: which perturbations the adversary may make and what it wants.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The norm that bounds the perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// Every pixel moves by at most ε.
    #[cfg_attr(feature = "clap", value(alias = "inf"))]
    Linf,
    /// The Euclidean length of the whole perturbation is at most ε.
    L2,
}

impl Norm {
    /// Both norms.
    pub const ALL: [Norm; 2] = [Norm::Linf, Norm::L2];

    /// Name as written in URLs and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }
}

crate::names::named_enum!(Norm, "norm");

/// What the adversary wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Any wrong class.
    Untargeted,
    /// This class, one per sample of the batch.
    Targeted(Vec<usize>),
}

/// A validated threat model: norm, budget ε, valid pixel range and goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatModel {
    norm: Norm,
    epsilon: f32,
    pixel_range: (f32, f32),
    goal: Goal,
}

impl ThreatModel {
    /// An untargeted white-box threat with budget `epsilon` over pixels in [0, 1].
    ///
    /// `epsilon` must be finite and non-negative; ε = 0 is allowed and makes every attack return
    /// its input unchanged.
    pub fn new(norm: Norm, epsilon: f32) -> Result<Self> {
        if !epsilon.is_finite() || epsilon < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "epsilon must be a finite number ≥ 0, got {epsilon}"
            )));
        }
        Ok(Self {
            norm,
            epsilon,
            pixel_range: (0.0, 1.0),
            goal: Goal::Untargeted,
        })
    }

    /// Restrict pixels to `[low, high]` instead of [0, 1].
    pub fn with_pixel_range(mut self, low: f32, high: f32) -> Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::InvalidArgument(format!(
                "pixel range must be finite with low < high, got [{low}, {high}]"
            )));
        }
        self.pixel_range = (low, high);
        Ok(self)
    }

    /// Aim each sample at its own target class.
    pub fn targeted(mut self, targets: Vec<usize>) -> Self {
        self.goal = Goal::Targeted(targets);
        self
    }

    /// The norm.
    pub fn norm(&self) -> Norm {
        self.norm
    }

    /// The budget ε.
    pub fn epsilon(&self) -> f32 {
        self.epsilon
    }

    /// The valid pixel range.
    pub fn pixel_range(&self) -> (f32, f32) {
        self.pixel_range
    }

    /// The goal.
    pub fn goal(&self) -> &Goal {
        &self.goal
    }

    /// Check that a batch of `dims` images with `labels` fits this threat model for a classifier
    /// of `classes` classes.
    pub fn check_batch(&self, dims: [usize; 4], labels: &[usize], classes: usize) -> Result<()> {
        if dims[0] != labels.len() {
            return Err(Error::Mismatch(format!(
                "{} images but {} labels",
                dims[0],
                labels.len()
            )));
        }
        if dims[0] == 0 {
            return Err(Error::InvalidArgument("the batch is empty".into()));
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(Error::InvalidArgument(format!(
                "label {bad} but the model has {classes} classes"
            )));
        }
        if let Goal::Targeted(targets) = &self.goal {
            if targets.len() != labels.len() {
                return Err(Error::Mismatch(format!(
                    "{} target classes for {} images",
                    targets.len(),
                    labels.len()
                )));
            }
            for (i, (&t, &l)) in targets.iter().zip(labels).enumerate() {
                if t >= classes {
                    return Err(Error::InvalidArgument(format!(
                        "sample {i}: target class {t} but the model has {classes} classes"
                    )));
                }
                if t == l {
                    return Err(Error::InvalidArgument(format!(
                        "sample {i}: target class {t} is its true class"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_budgets_and_ranges_are_refused() {
        for eps in [-0.1, f32::NAN, f32::INFINITY] {
            let err = ThreatModel::new(Norm::Linf, eps).unwrap_err().to_string();
            assert!(err.contains("epsilon"), "{err}");
        }
        assert!(ThreatModel::new(Norm::L2, 0.0).is_ok());
        let t = ThreatModel::new(Norm::L2, 1.0).unwrap();
        assert!(t.clone().with_pixel_range(1.0, 0.0).is_err());
        assert!(t.with_pixel_range(f32::NAN, 1.0).is_err());
    }

    #[test]
    fn batches_are_checked_against_labels_and_targets() {
        let t = ThreatModel::new(Norm::Linf, 0.1).unwrap();
        assert!(t.check_batch([2, 1, 28, 28], &[1, 2], 10).is_ok());
        assert!(t.check_batch([3, 1, 28, 28], &[1, 2], 10).is_err());
        assert!(t.check_batch([1, 1, 28, 28], &[10], 10).is_err());
        let targeted = t.clone().targeted(vec![3, 2]);
        let err = targeted
            .check_batch([2, 1, 28, 28], &[1, 2], 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("true class"), "{err}");
        assert!(
            t.clone()
                .targeted(vec![11, 0])
                .check_batch([2, 1, 28, 28], &[1, 2], 10)
                .is_err()
        );
        assert!(
            t.targeted(vec![1])
                .check_batch([2, 1, 28, 28], &[1, 2], 10)
                .is_err()
        );
    }

    #[test]
    fn norms_parse() {
        assert_eq!("linf".parse::<Norm>().unwrap(), Norm::Linf);
        assert_eq!("l2".parse::<Norm>().unwrap(), Norm::L2);
        assert!("l3".parse::<Norm>().is_err());
    }
}
