//! Learning-rate schedules and the optimisers they drive.

use burn::optim::{AdamConfig, SgdConfig, momentum::MomentumConfig};
use serde::{Deserialize, Serialize};

/// How the learning rate moves over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Half a cosine from the base rate down to zero at the last step.
    Cosine,
    /// The base rate divided by 10 at 50% and again at 75% of the run.
    Step,
}

impl Schedule {
    /// Every schedule.
    pub const ALL: [Schedule; 3] = [Self::Constant, Self::Cosine, Self::Step];

    /// Name as written on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Cosine => "cosine",
            Self::Step => "step",
        }
    }

    /// The rate at `step` of `total` (steps count from 0).
    pub fn rate(self, base: f64, step: usize, total: usize) -> f64 {
        let t = step as f64 / total.max(1) as f64;
        match self {
            Self::Constant => base,
            Self::Cosine => base * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()),
            Self::Step if t >= 0.75 => base / 100.0,
            Self::Step if t >= 0.5 => base / 10.0,
            Self::Step => base,
        }
    }
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Adam with PyTorch's defaults (β = 0.9, 0.999).
    Adam,
    /// SGD with momentum 0.9.
    Sgd,
}

impl Optimizer {
    /// Every optimiser.
    pub const ALL: [Optimizer; 2] = [Self::Adam, Self::Sgd];

    /// Name as written on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Self::Adam => "adam",
            Self::Sgd => "sgd",
        }
    }

    pub(crate) fn init(self) -> burn::optim::ModuleOptimizer {
        match self {
            Self::Adam => AdamConfig::new().init(),
            Self::Sgd => SgdConfig::new()
                .with_momentum(Some(MomentumConfig::new().with_momentum(0.9)))
                .init(),
        }
    }
}

crate::names::named_enum!(Schedule, "schedule");
crate::names::named_enum!(Optimizer, "optimiser");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_schedule() {
        assert_eq!(Schedule::Constant.rate(0.1, 7, 10), 0.1);
        assert_eq!(Schedule::Cosine.rate(0.1, 0, 10), 0.1);
        assert!((Schedule::Cosine.rate(0.1, 5, 10) - 0.05).abs() < 1e-12);
        assert!(Schedule::Cosine.rate(0.1, 10, 10).abs() < 1e-12);
        assert_eq!(Schedule::Step.rate(1.0, 4, 10), 1.0);
        assert_eq!(Schedule::Step.rate(1.0, 5, 10), 0.1);
        assert_eq!(Schedule::Step.rate(1.0, 8, 10), 0.01);
        assert!("linear".parse::<Schedule>().is_err());
        assert!("lbfgs".parse::<Optimizer>().is_err());
    }
}
