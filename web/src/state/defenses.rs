//! The defences panel's settings, and their URL values (`defense`, `defense_eps`,
//! `defense_images`).

use perturb::defense::DefenseSpec;

use super::checks;
use super::query::Query;

/// Most images per run.
pub const MAX_IMAGES: usize = 1000;
/// Most images the audit takes (one batch).
pub const MAX_AUDIT_IMAGES: usize = 200;
/// Most quantization levels.
pub const MAX_LEVELS: usize = 256;
/// Random shift of the noise defence, in pixels.
pub const NOISE_SHIFT: usize = 2;

/// The defences panel's parameters. Both defences keep their setting, so switching back and forth
/// loses nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefenseSettings {
    /// Noise and shift instead of quantization.
    pub noise: bool,
    /// Quantization levels, 2–256.
    pub levels: u32,
    /// Noise σ, in (0, 1].
    pub sigma: f32,
    /// L∞ budget of the attacks, in (0, 1].
    pub eps: f32,
    /// Test images attacked.
    pub images: usize,
}

impl Default for DefenseSettings {
    fn default() -> Self {
        Self {
            noise: false,
            levels: 8,
            sigma: 0.3,
            eps: 0.2,
            images: 100,
        }
    }
}

impl DefenseSettings {
    /// The defence as the core names it.
    pub fn spec(&self) -> DefenseSpec {
        if self.noise {
            DefenseSpec::Noise {
                sigma: self.sigma,
                shift: NOISE_SHIFT,
            }
        } else {
            DefenseSpec::Quantize {
                levels: self.levels,
            }
        }
    }

    /// The URL values; anything malformed is reported through `warn`.
    pub fn read(query: &Query, warn: &mut impl FnMut(String)) -> Self {
        let mut d = Self::default();
        if let Some(raw) = query.get("defense") {
            match raw.parse::<DefenseSpec>() {
                Ok(DefenseSpec::Quantize { levels }) if levels as usize <= MAX_LEVELS => {
                    d.levels = levels;
                }
                Ok(DefenseSpec::Noise { sigma, shift })
                    if sigma > 0.0 && sigma <= 1.0 && shift == NOISE_SHIFT =>
                {
                    d.noise = true;
                    d.sigma = sigma;
                }
                _ => warn(format!(
                    "ignored defense={:?}: use quantize:LEVELS (2–{MAX_LEVELS}) or noise:SIGMA:{NOISE_SHIFT} (σ in (0, 1])",
                    checks::truncate(raw)
                )),
            }
        }
        if let Some(raw) = query.get("defense_eps") {
            match checks::eps(raw) {
                Ok(e) => d.eps = e,
                Err(e) => warn(format!("ignored defense_eps: {e}")),
            }
        }
        if let Some(raw) = query.get("defense_images") {
            match checks::count(raw, "defense_images", MAX_IMAGES) {
                Ok(n) => d.images = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        d
    }

    /// The URL values, nothing for the defaults.
    pub fn write(&self, out: &mut String) {
        let d = Self::default();
        if (self.noise, self.levels, self.sigma) != (d.noise, d.levels, d.sigma) {
            out.push_str(&format!("&defense={}", self.spec()));
        }
        if self.eps != d.eps {
            out.push_str(&format!("&defense_eps={}", self.eps));
        }
        if self.images != d.images {
            out.push_str(&format!("&defense_images={}", self.images));
        }
    }
}
