//! The largest L∞ radius a bound method verifies around one image: per-logit bounds for the panel
//! that shows a certificate, and a batched search that tries a grid of radii in one pass per round.

use burn::tensor::{Int, Tensor, TensorData};

use super::crown::{
    CrownConfig, IntermediateBounds, crown_logit_bounds, crown_margin_lower_bounds,
};
use super::ibp::{Interval, logit_bounds, margin_lower_bounds};
use crate::error::{Error, Result};
use crate::model::{Activation, Sequential};
use crate::runtime::readback::read_f32;

/// How the bounds are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum BoundMethod {
    /// Interval bound propagation (Eq. 13).
    Ibp,
    /// CROWN with intermediate bounds from IBP (fast, between IBP and CROWN in tightness).
    CrownIbp,
    /// CROWN with intermediate bounds from CROWN itself (tightest, slowest).
    Crown,
}

impl BoundMethod {
    /// Every method, in the order a picker shows them.
    pub const ALL: [BoundMethod; 3] = [BoundMethod::Ibp, BoundMethod::CrownIbp, BoundMethod::Crown];

    /// Name as written in URLs and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            BoundMethod::Ibp => "ibp",
            BoundMethod::CrownIbp => "crown-ibp",
            BoundMethod::Crown => "crown",
        }
    }

    fn crown_config(self) -> Option<CrownConfig> {
        let intermediate = match self {
            BoundMethod::Ibp => return None,
            BoundMethod::CrownIbp => IntermediateBounds::Ibp,
            BoundMethod::Crown => IntermediateBounds::Crown,
        };
        Some(CrownConfig {
            intermediate,
            ..CrownConfig::default()
        })
    }

    /// Bounds `([n, classes], [n, classes])` of every logit over `input`.
    pub fn logit_bounds(
        self,
        model: &Sequential,
        input: Interval,
    ) -> Result<(Tensor<2>, Tensor<2>)> {
        match self.crown_config() {
            None => Ok(logit_bounds(model, input)),
            Some(config) => crown_logit_bounds(model, input, &config),
        }
    }

    /// Lower bounds `[n, classes]` of the margins `z_label − z_j` over `input` (+∞ at the label).
    pub fn margin_lower_bounds(
        self,
        model: &Sequential,
        input: Interval,
        labels: Tensor<1, Int>,
    ) -> Result<Tensor<2>> {
        match self.crown_config() {
            None => Ok(margin_lower_bounds(model, input, labels)),
            Some(config) => crown_margin_lower_bounds(model, input, labels, &config),
        }
    }
}

crate::names::named_enum!(BoundMethod, "bound method");

/// Boxes around one image `[1, c, h, w]`, one per radius (stacked along the batch), each the L∞
/// ball of that radius clipped to `pixel_range`.
pub fn balls(image: Tensor<4>, radii: &[f32], pixel_range: (f32, f32)) -> Result<Interval> {
    let [n, c, h, w] = image.dims();
    if n != 1 {
        return Err(Error::Mismatch(format!("expected one image, got {n}")));
    }
    if let Some(bad) = radii.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "radii must be finite numbers ≥ 0, got {bad}"
        )));
    }
    let k = radii.len();
    let device = image.device();
    let radius =
        Tensor::<1>::from_data(TensorData::new(radii.to_vec(), [k]), &device).reshape([k, 1, 1, 1]);
    let centre = image.expand([k, c, h, w]);
    let (low, high) = pixel_range;
    Ok(Interval {
        lower: Activation::Image((centre.clone() - radius.clone()).clamp_min(low)),
        upper: Activation::Image((centre + radius).clamp_max(high)),
    })
}

/// The worst margin lower bound `[k]` (over the other classes) at each of the `k` radii, left on
/// the device: the image is verified as `label` at a radius exactly when its entry is positive.
pub fn worst_margin_bounds(
    model: &Sequential,
    method: BoundMethod,
    image: Tensor<4>,
    label: usize,
    radii: &[f32],
    pixel_range: (f32, f32),
) -> Result<Tensor<1>> {
    let k = radii.len();
    if k == 0 {
        return Err(Error::InvalidArgument("no radii to bound".into()));
    }
    let device = image.device();
    let input = balls(image, radii, pixel_range)?;
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![label as i64; k], [k]), &device);
    let margins = method.margin_lower_bounds(model, input, labels)?;
    Ok(margins.min_dim(1).reshape([k]))
}

/// [`worst_margin_bounds`], read back (empty for no radii).
pub async fn worst_margins(
    model: &Sequential,
    method: BoundMethod,
    image: Tensor<4>,
    label: usize,
    radii: &[f32],
    pixel_range: (f32, f32),
) -> Result<Vec<f32>> {
    if radii.is_empty() {
        return Ok(Vec::new());
    }
    read_f32(worst_margin_bounds(
        model,
        method,
        image,
        label,
        radii,
        pixel_range,
    )?)
    .await
}

/// What the radius search found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiusSearch {
    /// The largest radius checked and verified (0 verified means the clean image is classified as
    /// the label); `None` when not even the clean image is.
    pub verified: Option<f32>,
    /// The smallest radius above it that was checked and not verified; `None` when every radius
    /// up to the search's maximum was verified.
    pub refuted: Option<f32>,
    /// Radii bounded in all.
    pub evaluations: usize,
}

/// How [`largest_verified_radius`] searches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiusSearchConfig {
    /// The bound method.
    pub method: BoundMethod,
    /// The largest radius tried.
    pub max_radius: f32,
    /// Radii bounded per round (one batch).
    pub grid: usize,
    /// Rounds of narrowing.
    pub rounds: usize,
    /// The valid pixel range the balls are clipped to.
    pub pixel_range: (f32, f32),
}

impl RadiusSearchConfig {
    /// IBP, radii up to `max_radius` in pixels of `[0, 1]`, 16 per round, 3 rounds.
    pub fn new(method: BoundMethod, max_radius: f32) -> Self {
        Self {
            method,
            max_radius,
            grid: 16,
            rounds: 3,
            pixel_range: (0.0, 1.0),
        }
    }
}

/// Search for the largest radius in `[0, max_radius]` that the method verifies for `image`
/// `[1, c, h, w]` as `label`. Each round bounds `grid` evenly spaced radii in one batch and
/// narrows to the interval between the last verified and the first refuted one. Only radii that
/// were checked are reported, so the answer stays sound for a method whose bounds are not
/// monotone in the radius.
pub async fn largest_verified_radius(
    model: &Sequential,
    image: Tensor<4>,
    label: usize,
    config: &RadiusSearchConfig,
) -> Result<RadiusSearch> {
    let RadiusSearchConfig {
        method,
        max_radius,
        grid,
        rounds,
        pixel_range,
    } = *config;
    if !(max_radius.is_finite() && max_radius > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "the largest radius searched must be a finite number > 0, got {max_radius}"
        )));
    }
    if grid == 0 || rounds == 0 {
        return Err(Error::InvalidArgument(
            "the radius search needs at least one round of at least one radius".into(),
        ));
    }
    let clean = worst_margins(model, method, image.clone(), label, &[0.0], pixel_range).await?;
    let mut evaluations = 1;
    if clean[0] <= 0.0 {
        return Ok(RadiusSearch {
            verified: None,
            refuted: Some(0.0),
            evaluations,
        });
    }
    let (mut lo, mut hi) = (0.0f32, max_radius);
    let mut refuted = None;
    for _ in 0..rounds {
        // Once `hi` is refuted, split (lo, hi) strictly inside; before, try `max_radius` itself.
        let parts = if refuted.is_some() { grid + 1 } else { grid };
        let radii: Vec<f32> = (1..=grid)
            .map(|i| lo + (hi - lo) * i as f32 / parts as f32)
            .filter(|r| (*r > lo && *r < hi) || (refuted.is_none() && *r == hi))
            .collect();
        if radii.is_empty() {
            break;
        }
        let margins =
            worst_margins(model, method, image.clone(), label, &radii, pixel_range).await?;
        evaluations += radii.len();
        match margins.iter().position(|m| *m <= 0.0) {
            None if refuted.is_none() => {
                lo = hi;
                break;
            }
            None => lo = radii[radii.len() - 1],
            Some(first) => {
                if first > 0 {
                    lo = radii[first - 1];
                }
                hi = radii[first];
                refuted = Some(hi);
            }
        }
    }
    Ok(RadiusSearch {
        verified: Some(lo),
        refuted,
        evaluations,
    })
}
