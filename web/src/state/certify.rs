//! The certify panel's settings, and their URL values (`cert`, `cert_eps`, `sigma`, `n`).

use perturb::certify::BoundMethod;

use super::checks;
use super::query::Query;

/// The bound methods the page offers (full CROWN is too slow for a page).
pub const PAGE_BOUND_METHODS: [BoundMethod; 2] = [BoundMethod::Ibp, BoundMethod::CrownIbp];

/// Most smoothing samples per image.
pub const MAX_SMOOTHING_SAMPLES: usize = 100_000;

/// The certify panel's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CertifySettings {
    /// IBP or CROWN-IBP.
    pub method: BoundMethod,
    /// The L∞ radius certified, in (0, 1].
    pub eps: f32,
    /// Randomized smoothing's noise σ, in (0, 1].
    pub sigma: f32,
    /// Randomized smoothing's estimation samples (Cohen's n).
    pub samples: usize,
}

impl Default for CertifySettings {
    fn default() -> Self {
        Self {
            method: BoundMethod::Ibp,
            eps: 0.1,
            sigma: 0.25,
            samples: 1000,
        }
    }
}

impl CertifySettings {
    /// The URL values; anything malformed is reported through `warn`.
    pub fn read(query: &Query, warn: &mut impl FnMut(String)) -> Self {
        let mut c = Self::default();
        if let Some(raw) = query.get("cert") {
            match PAGE_BOUND_METHODS.into_iter().find(|m| m.id() == raw) {
                Some(m) => c.method = m,
                None => warn(format!(
                    "ignored cert={:?}: use ibp or crown-ibp",
                    checks::truncate(raw)
                )),
            }
        }
        if let Some(raw) = query.get("cert_eps") {
            match checks::eps(raw) {
                Ok(e) => c.eps = e,
                Err(e) => warn(format!("ignored cert_eps: {e}")),
            }
        }
        if let Some(raw) = query.get("sigma") {
            match checks::unit(raw, "σ") {
                Ok(s) => c.sigma = s,
                Err(e) => warn(format!("ignored sigma: {e}")),
            }
        }
        if let Some(raw) = query.get("n") {
            match checks::count(raw, "n", MAX_SMOOTHING_SAMPLES) {
                Ok(n) => c.samples = n,
                Err(e) => warn(format!("ignored n: {e}")),
            }
        }
        c
    }

    /// The URL values.
    pub fn write(&self, out: &mut String) {
        out.push_str(&format!(
            "&cert={}&cert_eps={}&sigma={}&n={}",
            self.method, self.eps, self.sigma, self.samples
        ));
    }
}
