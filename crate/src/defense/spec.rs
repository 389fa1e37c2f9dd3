//! A defence as a user names it (`none`, `quantize:8`, `noise:0.3:2`), the deployed model it puts
//! in front of a classifier, and its adaptive counterpart: the view of the model an adaptive
//! attacker uses (BPDA for a non-differentiable defence, EOT for a randomized one; Athalye et al.,
//! the paper's Eq. 16).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Quantized, RandomizedInput};
use crate::error::{Error, Result};
use crate::model::Classifier;

/// Draws per gradient of an EOT attack on a randomized defence.
pub const EOT_SAMPLES: usize = 16;

/// Random shift of the noise defence when the user names none, in pixels.
pub const DEFAULT_NOISE_SHIFT: usize = 0;

/// A defence wrapped around a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DefenseSpec {
    /// The bare model.
    None,
    /// Input quantization to this many levels (the paper's Eq. 12).
    Quantize {
        /// Levels per pixel, ≥ 2.
        levels: u32,
    },
    /// Gaussian noise σ and a random shift of up to `shift` pixels, fresh on every pass.
    Noise {
        /// Standard deviation, ≥ 0.
        sigma: f32,
        /// Largest shift each way, in pixels.
        shift: usize,
    },
}

/// The adaptive attack that answers a defence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdaptiveAttack {
    /// Backward-pass differentiable approximation: rounding on the forward pass, the identity's
    /// gradient on the backward pass.
    Bpda,
    /// Expectation over transformation: gradients averaged over the defence's random draws.
    Eot,
}

impl AdaptiveAttack {
    /// Short name shown in reports ("BPDA", "EOT").
    pub fn name(self) -> &'static str {
        match self {
            Self::Bpda => "BPDA",
            Self::Eot => "EOT",
        }
    }

    /// Lower-case id for element ids and JSON.
    pub fn id(self) -> &'static str {
        match self {
            Self::Bpda => "bpda",
            Self::Eot => "eot",
        }
    }
}

/// What an adaptive attacker attacks: a model with the deployed model's outputs whose gradients
/// are usable, and the draws to average per gradient.
pub struct AdaptiveView<'a> {
    /// BPDA or EOT.
    pub attack: AdaptiveAttack,
    /// The model whose gradients the attack follows.
    pub model: Box<dyn Classifier + 'a>,
    /// Draws per gradient (1 for BPDA).
    pub eot_samples: usize,
}

impl DefenseSpec {
    /// Refuse settings the defences cannot run with.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Quantize { levels } if levels < 2 => Err(Error::InvalidArgument(format!(
                "quantization needs at least 2 levels, got {levels}"
            ))),
            Self::Noise { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => Err(
                Error::InvalidArgument(format!("noise σ must be a finite number ≥ 0, got {sigma}")),
            ),
            _ => Ok(()),
        }
    }

    /// Whether the defence draws afresh on every forward pass.
    pub fn randomized(&self) -> bool {
        matches!(self, Self::Noise { .. })
    }

    /// The adaptive attack that answers this defence, if it needs one.
    pub fn adaptive_attack(&self) -> Option<AdaptiveAttack> {
        match self {
            Self::None => None,
            Self::Quantize { .. } => Some(AdaptiveAttack::Bpda),
            Self::Noise { .. } => Some(AdaptiveAttack::Eot),
        }
    }

    /// The deployed model: `base` behind this defence (`seed` starts a randomized defence's
    /// draws).
    pub fn deploy<'a, M: Classifier + 'a>(
        &self,
        base: M,
        seed: u64,
    ) -> Result<Box<dyn Classifier + 'a>> {
        self.validate()?;
        Ok(match *self {
            Self::None => Box::new(base),
            Self::Quantize { levels } => Box::new(Quantized::new(base, levels)?),
            Self::Noise { sigma, shift } => {
                Box::new(RandomizedInput::new(base, sigma, shift, seed)?)
            }
        })
    }

    /// The adaptive attacker's view of `base` behind this defence: BPDA's straight-through view
    /// of quantization, or the randomized model itself (with its own draws, seeded apart from the
    /// deployed model's) attacked with EOT; `None` for the bare model.
    pub fn adaptive<'a, M: Classifier + 'a>(
        &self,
        base: M,
        seed: u64,
    ) -> Result<Option<AdaptiveView<'a>>> {
        self.validate()?;
        Ok(match *self {
            Self::None => None,
            Self::Quantize { levels } => Some(AdaptiveView {
                attack: AdaptiveAttack::Bpda,
                model: Box::new(Quantized::new(base, levels)?.bpda()),
                eot_samples: 1,
            }),
            Self::Noise { sigma, shift } => Some(AdaptiveView {
                attack: AdaptiveAttack::Eot,
                model: Box::new(RandomizedInput::new(base, sigma, shift, seed ^ 1)?),
                eot_samples: EOT_SAMPLES,
            }),
        })
    }
}

impl fmt::Display for DefenseSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Quantize { levels } => write!(f, "quantize:{levels}"),
            Self::Noise { sigma, shift } => write!(f, "noise:{sigma}:{shift}"),
        }
    }
}

impl FromStr for DefenseSpec {
    type Err = Error;

    /// `none`, `quantize:LEVELS` or `noise:SIGMA[:SHIFT]`, checked.
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidArgument(format!(
                "unknown defence {text:?}; use none, quantize:LEVELS or noise:SIGMA[:SHIFT]"
            ))
        };
        let parts: Vec<&str> = text.split(':').collect();
        let spec = match parts.as_slice() {
            ["none"] => Self::None,
            ["quantize", levels] => Self::Quantize {
                levels: levels.parse().map_err(|_| bad())?,
            },
            ["noise", sigma] => Self::Noise {
                sigma: sigma.parse().map_err(|_| bad())?,
                shift: DEFAULT_NOISE_SHIFT,
            },
            ["noise", sigma, shift] => Self::Noise {
                sigma: sigma.parse().map_err(|_| bad())?,
                shift: shift.parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        spec.validate()?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_bad_ones_are_refused() {
        for text in ["none", "quantize:8", "noise:0.25:2"] {
            assert_eq!(text.parse::<DefenseSpec>().unwrap().to_string(), text);
        }
        assert_eq!(
            "noise:0.5".parse::<DefenseSpec>().unwrap(),
            DefenseSpec::Noise {
                sigma: 0.5,
                shift: 0
            }
        );
        for bad in [
            "quantize:1",
            "quantize:x",
            "noise:-1",
            "noise:nan",
            "blur:3",
            "",
        ] {
            assert!(bad.parse::<DefenseSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_defence_has_its_adaptive_counterpart() {
        let model = crate::model::Identity;
        assert!(DefenseSpec::None.adaptive(&model, 0).unwrap().is_none());
        let q = DefenseSpec::Quantize { levels: 4 }
            .adaptive(&model, 0)
            .unwrap()
            .unwrap();
        assert_eq!((q.attack, q.eot_samples), (AdaptiveAttack::Bpda, 1));
        let n = DefenseSpec::Noise {
            sigma: 0.1,
            shift: 2,
        }
        .adaptive(&model, 0)
        .unwrap()
        .unwrap();
        assert_eq!(
            (n.attack, n.eot_samples),
            (AdaptiveAttack::Eot, EOT_SAMPLES)
        );
    }
}
