//! The one entry point for sound bounds, in the manner of auto_LiRPA's
//! `compute_bounds(x, method=…)`: the same [`ThreatModel`] the attacks take, and a
//! [`BoundMethod`].

use burn::tensor::{Bool, Int, Tensor};

use super::ibp::{Interval, input_box};
use super::radius::BoundMethod;
use crate::attack::{Goal, Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::model::Sequential;

/// The input box of `threat` around `images`: the L∞ ball clipped to the pixel range. Bound
/// propagation handles L∞ threats only.
pub fn threat_box(images: Tensor<4>, threat: &ThreatModel) -> Result<Interval> {
    if threat.norm() != Norm::Linf {
        return Err(Error::InvalidArgument(
            "IBP and CROWN bound L∞ balls; for an L2 certificate use randomized smoothing".into(),
        ));
    }
    input_box(images, threat.epsilon(), threat.pixel_range())
}

/// Lower and upper bounds `([n, classes], [n, classes])` of every logit of `model` over the
/// threat model's ball around each image.
pub fn bound_logits(
    model: &Sequential,
    images: Tensor<4>,
    threat: &ThreatModel,
    method: BoundMethod,
) -> Result<(Tensor<2>, Tensor<2>)> {
    method.logit_bounds(model, threat_box(images, threat)?)
}

/// Lower bounds `[n, classes]` of the margins `z_label − z_j` over the ball (+∞ at the label):
/// every entry positive proves the sample robust.
pub fn bound_margins(
    model: &Sequential,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    threat: &ThreatModel,
    method: BoundMethod,
) -> Result<Tensor<2>> {
    if *threat.goal() != Goal::Untargeted {
        return Err(Error::InvalidArgument(
            "certificates prove the true class against every other: use an untargeted threat"
                .into(),
        ));
    }
    method.margin_lower_bounds(model, threat_box(images, threat)?, labels)
}

/// Per sample, whether `method` proves that every point of the ball is classified as its label.
pub fn verify(
    model: &Sequential,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    threat: &ThreatModel,
    method: BoundMethod,
) -> Result<Tensor<1, Bool>> {
    let n = labels.dims()[0];
    Ok(bound_margins(model, images, labels, threat, method)?
        .min_dim(1)
        .reshape([n])
        .greater_elem(0.0))
}
