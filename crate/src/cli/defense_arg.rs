//! `--defense`: wrap the loaded model in a defence, and the adaptive view an attacker would use.

use perturb::defense::{Quantized, RandomizedInput};
use perturb::model::{Classifier, Sequential};
use perturb::{Error, Result};

/// A defence named on the command line: `none`, `quantize:LEVELS`, `noise:SIGMA[:SHIFT]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefenseArg {
    /// The bare model.
    None,
    /// Input quantization (Eq. 12) to this many levels.
    Quantize(u32),
    /// Gaussian noise σ and random shifts up to this many pixels.
    Noise(f32, usize),
}

impl std::str::FromStr for DefenseArg {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let bad = || {
            format!("unknown defence {text:?}; use none, quantize:LEVELS or noise:SIGMA[:SHIFT]")
        };
        match parts.as_slice() {
            ["none"] => Ok(Self::None),
            ["quantize", levels] => levels.parse().map(Self::Quantize).map_err(|_| bad()),
            ["noise", sigma] => sigma.parse().map(|s| Self::Noise(s, 0)).map_err(|_| bad()),
            ["noise", sigma, shift] => match (sigma.parse(), shift.parse()) {
                (Ok(s), Ok(k)) => Ok(Self::Noise(s, k)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

impl DefenseArg {
    /// The deployed model: `base` behind this defence.
    pub fn wrap<'a>(&self, base: &'a Sequential, seed: u64) -> Result<Box<dyn Classifier + 'a>> {
        Ok(match *self {
            Self::None => Box::new(base),
            Self::Quantize(levels) => Box::new(Quantized::new(base, levels)?),
            Self::Noise(sigma, shift) => Box::new(RandomizedInput::new(base, sigma, shift, seed)?),
        })
    }

    /// The adaptive attack's view: BPDA's straight-through gradients for quantization, the
    /// randomized model itself (to be attacked with EOT) for noise.
    pub fn adaptive<'a>(
        &self,
        base: &'a Sequential,
        seed: u64,
    ) -> Result<Option<(&'static str, Box<dyn Classifier + 'a>)>> {
        Ok(match *self {
            Self::None => None,
            Self::Quantize(levels) => {
                Some(("BPDA", Box::new(Quantized::new(base, levels)?.bpda())))
            }
            Self::Noise(sigma, shift) => Some((
                "EOT",
                Box::new(RandomizedInput::new(base, sigma, shift, seed ^ 1)?),
            )),
        })
    }

    /// Whether the defence draws randomly on every forward pass.
    pub fn randomized(&self) -> bool {
        matches!(self, Self::Noise(..))
    }

    /// Reject settings the defences would refuse, with the flag's name.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Quantize(levels) if levels < 2 => Err(Error::InvalidArgument(format!(
                "--defense quantize needs at least 2 levels, got {levels}"
            ))),
            Self::Noise(sigma, _) if !(sigma.is_finite() && sigma >= 0.0) => Err(
                Error::InvalidArgument(format!("--defense noise needs σ ≥ 0, got {sigma}")),
            ),
            _ => Ok(()),
        }
    }
}
