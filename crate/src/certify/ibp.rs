//! Interval bound propagation (the paper's Eq. 13; Gowal et al. 2018): elementwise lower and upper
//! bounds of every activation over the L∞ ball, pushed through the layers of a [`Sequential`].
//!
//! Affine layers map the box's centre through the layer and its radius through the absolute
//! weights; monotone layers (ReLU, pooling) map the two ends. Every step is a tensor operation, so
//! the bounds are differentiable (IBP training) and run on any device.

use burn::tensor::module::linear;
use burn::tensor::{Int, Tensor};

use crate::error::{Error, Result};
use crate::model::{Activation, Flow, Layer, Sequential, fold_layers, padded_conv2d};
use crate::runtime::one_hot::one_hot_mask;

/// Lower and upper bounds of one activation.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Elementwise lower bound.
    pub lower: Activation,
    /// Elementwise upper bound.
    pub upper: Activation,
}

fn centre_radius(x: &Interval) -> (Activation, Activation) {
    match (&x.lower, &x.upper) {
        (Activation::Image(l), Activation::Image(u)) => (
            Activation::Image((u.clone() + l.clone()) / 2.0),
            Activation::Image((u.clone() - l.clone()) / 2.0),
        ),
        (l, u) => {
            let (l, u) = (l.clone().into_flat(), u.clone().into_flat());
            (
                Activation::Flat((u.clone() + l.clone()) / 2.0),
                Activation::Flat((u - l) / 2.0),
            )
        }
    }
}

fn from_centre_radius(centre: Activation, radius: Activation) -> Interval {
    match (centre, radius) {
        (Activation::Image(c), Activation::Image(r)) => Interval {
            lower: Activation::Image(c.clone() - r.clone()),
            upper: Activation::Image(c + r),
        },
        (c, r) => {
            let (c, r) = (c.into_flat(), r.into_flat());
            Interval {
                lower: Activation::Flat(c.clone() - r.clone()),
                upper: Activation::Flat(c + r),
            }
        }
    }
}

/// Interval propagation as a [`Flow`]: bounds of a sum are sums of bounds, and a concatenation's
/// bounds are the concatenated bounds.
struct Intervals;

impl Flow<Interval> for Intervals {
    fn step(&mut self, layer: &Layer, x: Interval) -> Interval {
        propagate(layer, x)
    }

    fn add(&mut self, a: Interval, b: Interval) -> Interval {
        Interval {
            lower: a.lower + b.lower,
            upper: a.upper + b.upper,
        }
    }

    fn concat(&mut self, kept: Interval, block: Interval) -> Interval {
        Interval {
            lower: kept.lower.concat(block.lower),
            upper: kept.upper.concat(block.upper),
        }
    }
}

/// Bounds after `layers`, given the bounds before them (shortcuts included).
pub fn propagate_all(layers: &[Layer], input: Interval) -> Interval {
    fold_layers(layers, input, &mut Intervals)
}

/// The bounds after `layer`, given the bounds before it (a shortcut's sum is taken by
/// [`propagate_all`]).
pub fn propagate(layer: &Layer, x: Interval) -> Interval {
    match layer {
        Layer::Conv2d {
            weight,
            bias,
            stride,
            padding,
            groups,
        } => {
            let (c, r) = centre_radius(&x);
            let (Activation::Image(c), Activation::Image(r)) = (c, r) else {
                unreachable!("the spec's shapes were checked");
            };
            // Padding adds zeros: exact points, so they pad the centre and a zero radius.
            from_centre_radius(
                Activation::Image(padded_conv2d(
                    c,
                    weight.clone(),
                    bias.clone(),
                    *stride,
                    *padding,
                    *groups,
                )),
                Activation::Image(padded_conv2d(
                    r,
                    weight.clone().abs(),
                    None,
                    *stride,
                    *padding,
                    *groups,
                )),
            )
        }
        Layer::Linear { weight, bias } => {
            let (c, r) = centre_radius(&x);
            from_centre_radius(
                Activation::Flat(linear(c.into_flat(), weight.clone(), bias.clone())),
                Activation::Flat(linear(r.into_flat(), weight.clone().abs(), None)),
            )
        }
        Layer::BatchNorm { scale, shift } => {
            let (c, r) = centre_radius(&x);
            let affine = Layer::BatchNorm {
                scale: scale.clone(),
                shift: shift.clone(),
            };
            let stretch = Layer::BatchNorm {
                scale: scale.clone().abs(),
                shift: shift.clone().zeros_like(),
            };
            from_centre_radius(affine.forward(c), stretch.forward(r))
        }
        // Monotone (non-decreasing) in every input: the ends map to the ends (a normalisation's
        // scale 1/std is positive). Shortcuts are joined by [`propagate_all`].
        Layer::Relu
        | Layer::Relu6
        | Layer::MaxPool2d { .. }
        | Layer::AvgPool2d { .. }
        | Layer::AdaptiveAvgPool2d { .. }
        | Layer::Normalize { .. }
        | Layer::Identity
        | Layer::Flatten
        | Layer::Skip
        | Layer::AddSkip { .. }
        | Layer::ConcatSkip => Interval {
            lower: layer.forward(x.lower),
            upper: layer.forward(x.upper),
        },
    }
}

/// The input box: the L∞ ball of radius `epsilon` around `images`, clipped to `pixel_range`.
pub fn input_box(images: Tensor<4>, epsilon: f32, pixel_range: (f32, f32)) -> Result<Interval> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "epsilon must be a finite number ≥ 0, got {epsilon}"
        )));
    }
    let (low, high) = pixel_range;
    Ok(Interval {
        lower: Activation::Image((images.clone() - epsilon).clamp_min(low)),
        upper: Activation::Image((images + epsilon).clamp_max(high)),
    })
}

/// Bounds of every logit `[n, classes]` over the ball.
pub fn logit_bounds(model: &Sequential, input: Interval) -> (Tensor<2>, Tensor<2>) {
    let out = propagate_all(model.layers(), input);
    (out.lower.into_flat(), out.upper.into_flat())
}

/// Lower bounds `[n, classes]` of the margins `z_label − z_j` over the ball (+∞ at `j = label`).
///
/// When the last layer is linear it is folded into the margin (Gowal et al.'s elision), which is
/// never looser than subtracting logit bounds and usually much tighter.
pub fn margin_lower_bounds(
    model: &Sequential,
    input: Interval,
    labels: Tensor<1, Int>,
) -> Tensor<2> {
    let layers = model.layers();
    let n = labels.dims()[0];
    let (body, last) = layers.split_at(layers.len() - 1);
    let margins = match &last[0] {
        Layer::Linear { weight, bias } => {
            let h = propagate_all(body, input);
            let (c, r) = centre_radius(&h);
            let (c, r) = (c.into_flat(), r.into_flat());
            let device = c.device();
            let rows = weight.clone().transpose(); // [classes, in]
            let [classes, features] = rows.dims();
            let own = rows.clone().select(0, labels.clone()); // [n, in]
            let diff = own.reshape([n, 1, features]) - rows.reshape([1, classes, features]);
            let centre = (diff.clone() * c.reshape([n, 1, features]))
                .sum_dim(2)
                .reshape([n, classes]);
            let radius = (diff.abs() * r.reshape([n, 1, features]))
                .sum_dim(2)
                .reshape([n, classes]);
            let offset = match bias {
                Some(b) => {
                    let own = b.clone().select(0, labels.clone()).reshape([n, 1]);
                    own - b.clone().reshape([1, classes])
                }
                None => Tensor::zeros([n, classes], &device),
            };
            centre + offset - radius
        }
        _ => {
            let (lower, upper) = logit_bounds(model, input);
            let classes = lower.dims()[1];
            let own = lower.gather(1, labels.clone().reshape([n, 1]));
            own.expand([n, classes]) - upper
        }
    };
    let classes = margins.dims()[1];
    let own = one_hot_mask::<1, 2>(labels, classes);
    margins.mask_fill(own, f32::INFINITY)
}

/// Per sample, whether IBP proves that every point of the ball is classified as `labels`.
pub fn verified(
    model: &Sequential,
    input: Interval,
    labels: Tensor<1, Int>,
) -> Tensor<1, burn::tensor::Bool> {
    let n = labels.dims()[0];
    margin_lower_bounds(model, input, labels)
        .min_dim(1)
        .reshape([n])
        .greater_elem(0.0)
}
