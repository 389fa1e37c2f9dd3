//! The batch view's settings, and their URL values (`curves`, `curve_images`, `curve_steps`,
//! `transfer_eps`).

use perturb::zoo;

use super::checks;
use super::query::Query;

/// Most test images per curve.
pub const MAX_IMAGES: usize = 1000;
/// Most PGD steps per budget.
pub const MAX_BATCH_STEPS: usize = 100;

/// The batch view's parameters: models ticked (`None`: the dataset's first three), images per
/// curve, PGD steps, and the transfer matrix's ε.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveSettings {
    /// Zoo ids ticked.
    pub models: Option<Vec<&'static str>>,
    /// Test images per curve, 1–1000.
    pub images: usize,
    /// PGD steps per budget, 1–100.
    pub steps: usize,
    /// L∞ budget of the transfer matrix, in (0, 1].
    pub transfer_eps: f32,
}

impl Default for CurveSettings {
    fn default() -> Self {
        Self {
            models: None,
            images: 100,
            steps: 10,
            transfer_eps: 0.2,
        }
    }
}

impl CurveSettings {
    /// The URL values; anything malformed is reported through `warn`.
    pub fn read(query: &Query, warn: &mut impl FnMut(String)) -> Self {
        let mut c = Self::default();
        if let Some(raw) = query.get("curves") {
            let mut ids = Vec::new();
            for id in raw.split(',').filter(|id| !id.is_empty()) {
                match zoo::find(id) {
                    Some(entry) if !ids.contains(&entry.id) => ids.push(entry.id),
                    Some(_) => {}
                    None => warn(format!(
                        "ignored {:?} in curves: not in the zoo",
                        checks::truncate(id)
                    )),
                }
            }
            c.models = Some(ids);
        }
        if let Some(raw) = query.get("curve_images") {
            match checks::count(raw, "curve_images", MAX_IMAGES) {
                Ok(n) => c.images = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = query.get("curve_steps") {
            match checks::count(raw, "curve_steps", MAX_BATCH_STEPS) {
                Ok(n) => c.steps = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = query.get("transfer_eps") {
            match checks::eps(raw) {
                Ok(e) => c.transfer_eps = e,
                Err(e) => warn(format!("ignored transfer_eps: {e}")),
            }
        }
        c
    }

    /// The URL values (`&curves=…`), nothing for the defaults.
    pub fn write(&self, out: &mut String) {
        if let Some(models) = &self.models {
            out.push_str(&format!("&curves={}", models.join(",")));
        }
        let d = Self::default();
        if (self.images, self.steps) != (d.images, d.steps) {
            out.push_str(&format!(
                "&curve_images={}&curve_steps={}",
                self.images, self.steps
            ));
        }
        if self.transfer_eps != d.transfer_eps {
            out.push_str(&format!("&transfer_eps={}", self.transfer_eps));
        }
    }
}
