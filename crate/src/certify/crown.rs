//! CROWN (Zhang et al. 2018): linear bounds pushed backward from the output to the input, with a
//! linear relaxation of every ReLU (and max pool) between two planes, then minimized over the
//! input box in closed form. Tighter than IBP, which boxes every layer.
//!
//! Bounds on the pre-activations of each ReLU come from a CROWN pass of their own (chunked over
//! neurons to bound memory) intersected with IBP, or from IBP alone (CROWN-IBP, cheaper). The
//! CROWN pass before a ReLU skips, per image, the neurons whose bounds nothing reads
//! ([`IntermediateNeurons`]). Every step is a tensor operation, so it runs on any device;
//! natively, a pass that skips neurons reads back one count (the most neurons any image keeps) to
//! size its work.

use burn::tensor::module::{conv_transpose2d, fold4d, unfold4d};
use burn::tensor::ops::{ConvTransposeOptions, UnfoldOptions};
use burn::tensor::{Bool, Device, Int, Tensor};

use super::ibp::{Interval, propagate, propagate_all};
use crate::error::{Error, Result};
use crate::model::{Activation, Layer, Sequential, Shape, adaptive_window};
use crate::runtime::one_hot::{one_hot_float, one_hot_mask};

/// Where CROWN takes the bounds of each ReLU's input from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntermediateBounds {
    /// A backward CROWN pass per layer, intersected with IBP: full CROWN.
    Crown,
    /// IBP alone (CROWN-IBP): one backward pass in all.
    Ibp,
}

/// Settings of a CROWN computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrownConfig {
    /// Source of the intermediate bounds.
    pub intermediate: IntermediateBounds,
    /// Most coefficients held at once while bounding one layer (neurons are chunked to fit).
    pub max_elements: usize,
    /// Full CROWN: which ReLU inputs get a CROWN pass (the others keep their IBP bounds).
    pub neurons: IntermediateNeurons,
}

/// Which neurons entering a ReLU full CROWN bounds by a backward pass of their own.
///
/// A ReLU's relaxation reads only the sign of a stable neuron's bounds, so refining one that IBP
/// already proves stable changes no relaxation — unless a max pool reads the ReLU's output, whose
/// relaxation uses an active neuron's bounds themselves in a window where no input's lower bound
/// reaches every other's upper bound (tighter bounds keep a decided window decided, on the same
/// input). A later layer's IBP also reads them, which can tighten it slightly. In the browser
/// every neuron is bounded: skipping needs a synchronous readback of a count, which WebGPU
/// cannot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum IntermediateNeurons {
    /// Every neuron (slowest; at least as tight as the others).
    All,
    /// The unstable ones (`l < 0 < u` under IBP), and the active ones whose bounds a later
    /// relaxation reads: before a max pool, those in a window whose maximum IBP leaves open;
    /// before anything but a pool or a linear or convolutional layer, all. The same relaxations
    /// as `All`.
    #[default]
    Needed,
    /// The unstable ones only, as auto_LiRPA's `sparse_intermediate_bounds` (its default); looser
    /// than `All` behind a ReLU that feeds a max pool.
    Unstable,
}

impl Default for CrownConfig {
    fn default() -> Self {
        Self {
            intermediate: IntermediateBounds::Crown,
            max_elements: 1 << 24,
            neurons: IntermediateNeurons::Needed,
        }
    }
}

/// Linear functions `A·x + b` of one layer's (flattened) input: `A` `[n, s, d]`, `b` `[n, s]`.
struct Linear {
    a: Tensor<3>,
    b: Tensor<2>,
}

/// Far below any activation: marks padded pooling positions, which never win a max.
const FAR: f32 = -1e30;

fn size(shape: Shape) -> usize {
    match shape {
        Shape::Image([c, h, w]) => c * h * w,
        Shape::Flat(f) => f,
    }
}

fn image_dims(shape: Shape) -> [usize; 3] {
    match shape {
        Shape::Image(dims) => dims,
        Shape::Flat(_) => unreachable!("the spec's shapes were checked"),
    }
}

/// `A` of a layer's output mapped to `A` of its input by the adjoint of a convolution with zero
/// padding `[top, bottom, left, right]`.
fn conv_adjoint(
    a: Tensor<3>,
    weight: Tensor<4>,
    stride: usize,
    [top, bottom, left, right]: [usize; 4],
    groups: usize,
    input: Shape,
    output: Shape,
) -> Tensor<3> {
    let [n, s, _] = a.dims();
    let [co, ho, wo] = image_dims(output);
    let [ci, h, w] = image_dims(input);
    let k = weight.dims()[2];
    // Symmetric padding is the transposed convolution's own; asymmetric padding is undone by
    // cropping the adjoint over the padded input.
    let symmetric = top == bottom && left == right;
    let (ph, pw, hp, wp) = if symmetric {
        (top, left, h, w)
    } else {
        (0, 0, h + top + bottom, w + left + right)
    };
    // Rows and columns the transposed convolution leaves off at the end (fewer than `stride`,
    // those the forward windows reach without starting there) come back as output padding.
    let reach = |o: usize, p: usize| (o - 1) * stride + k - 2 * p;
    let options = ConvTransposeOptions::new(
        [stride; 2],
        [ph, pw],
        [hp - reach(ho, ph), wp - reach(wo, pw)],
        [1, 1],
        groups,
    );
    let x = conv_transpose2d(a.reshape([n * s, co, ho, wo]), weight, None, options);
    let x = if symmetric {
        x
    } else {
        x.narrow(2, top, h).narrow(3, left, w)
    };
    x.reshape([n, s, ci * h * w])
}

/// `A` of an adaptive average pool's output mapped to `A` of its input: the transpose of the
/// pooling matrix, per channel.
fn adaptive_pool_adjoint(a: Tensor<3>, input: Shape, output: Shape) -> Tensor<3> {
    let [n, s, _] = a.dims();
    let [c, h, w] = image_dims(input);
    let [_, ho, wo] = image_dims(output);
    let mut matrix = vec![0.0f32; ho * wo * h * w];
    for i in 0..ho {
        let (y0, y1) = adaptive_window(i, h, ho);
        for j in 0..wo {
            let (x0, x1) = adaptive_window(j, w, wo);
            let share = 1.0 / ((y1 - y0) * (x1 - x0)) as f32;
            for y in y0..y1 {
                for x in x0..x1 {
                    matrix[(i * wo + j) * h * w + y * w + x] = share;
                }
            }
        }
    }
    let matrix = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(matrix, [ho * wo, h * w]),
        &a.device(),
    );
    a.reshape([n * s * c, ho * wo])
        .matmul(matrix)
        .reshape([n, s, c * h * w])
}

/// `A·(x·scale + shift) + b` as a linear function of `x`, for a per-channel affine map.
fn channel_affine_back(f: Linear, scale: Tensor<1>, shift: Tensor<1>) -> Linear {
    let Linear { a, b } = f;
    let [n, s, d_out] = a.dims();
    let c = scale.dims()[0];
    let per = d_out / c;
    let a = a.reshape([n, s, c, per]);
    let scale = scale.reshape([1, 1, c, 1]);
    let shift = shift.reshape([1, 1, c, 1]);
    let b = b + (a.clone() * shift).sum_dims_squeeze::<2, _>(&[2, 3]);
    Linear {
        a: (a * scale).reshape([n, s, d_out]),
        b,
    }
}

/// Relaxation planes of ReLU on `[l, u]`: lower slope, upper slope, upper intercept (each `[n, d]`).
fn relu_planes(l: Tensor<2>, u: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let active = l.clone().greater_equal_elem(0.0);
    let inactive = u.clone().lower_equal_elem(0.0);
    let upper_slope = (u.clone() / (u.clone() - l.clone()).clamp_min(1e-12))
        .mask_fill(active.clone(), 1.0)
        .mask_fill(inactive.clone(), 0.0);
    let intercept = (l.clone().neg() * upper_slope.clone())
        .mask_fill(active.clone(), 0.0)
        .mask_fill(inactive.clone(), 0.0);
    // The lower plane through the origin with slope 1 or 0, whichever leaves less area (CROWN's
    // adaptive choice).
    let lower_slope = (u + l)
        .greater_elem(0.0)
        .float()
        .mask_fill(active, 1.0)
        .mask_fill(inactive, 0.0);
    (lower_slope, upper_slope, intercept)
}

/// Relaxation planes of ReLU6 on `[l, u]`: lower slope and intercept, upper slope and intercept
/// (each `[n, d]`). Below 0 or above 6 it is constant, between them the identity; an interval
/// across 0 alone is relaxed as ReLU, one across 6 alone by the chord below and `x` or 6 above
/// (whichever leaves less area), and one across both by the constants 0 and 6.
fn relu6_planes(l: Tensor<2>, u: Tensor<2>) -> [Tensor<2>; 4] {
    let width = (u.clone() - l.clone()).clamp_min(1e-12);
    let zeros = l.zeros_like();
    let ones = zeros.clone() + 1.0;
    let sixes = zeros.clone() + 6.0;
    // Across both 0 and 6 (the fallback): 0 ≤ y ≤ 6.
    let (mut lo_s, mut lo_b, mut up_s, mut up_b) =
        (zeros.clone(), zeros.clone(), zeros.clone(), sixes.clone());
    // Across 0 only: ReLU's planes.
    let across_zero = l
        .clone()
        .lower_elem(0.0)
        .bool_and(u.clone().greater_elem(0.0))
        .bool_and(u.clone().lower_equal_elem(6.0));
    let chord = u.clone() / width.clone();
    lo_s = lo_s.mask_where(
        across_zero.clone(),
        (u.clone() + l.clone()).greater_elem(0.0).float(),
    );
    up_s = up_s.mask_where(across_zero.clone(), chord.clone());
    up_b = up_b.mask_where(across_zero, l.clone().neg() * chord);
    // Across 6 only: the chord below, x or 6 above.
    let across_six = l
        .clone()
        .greater_equal_elem(0.0)
        .bool_and(l.clone().lower_elem(6.0))
        .bool_and(u.clone().greater_elem(6.0));
    let chord = (l.clone().neg() + 6.0) / width;
    lo_s = lo_s.mask_where(across_six.clone(), chord.clone());
    lo_b = lo_b.mask_where(across_six.clone(), l.clone() * (chord.neg() + 1.0));
    let identity_above = (u.clone() - 6.0).lower(l.clone().neg() + 6.0);
    let above_x = across_six.clone().bool_and(identity_above.clone());
    let above_six = across_six.bool_and(identity_above.bool_not());
    up_s = up_s.mask_where(above_x.clone(), ones.clone());
    up_b = up_b
        .mask_where(above_x, zeros.clone())
        .mask_where(above_six.clone(), sixes.clone());
    up_s = up_s.mask_where(above_six, zeros.clone());
    // Between 0 and 6: the identity.
    let inside = l
        .clone()
        .greater_equal_elem(0.0)
        .bool_and(u.clone().lower_equal_elem(6.0));
    lo_s = lo_s.mask_where(inside.clone(), ones.clone());
    up_s = up_s.mask_where(inside.clone(), ones);
    lo_b = lo_b.mask_where(inside.clone(), zeros.clone());
    up_b = up_b.mask_where(inside, zeros.clone());
    // At or below 0: zero; at or above 6: six.
    let off = u.lower_equal_elem(0.0);
    let full = l.greater_equal_elem(6.0);
    for (mask, value) in [(off, zeros.clone()), (full, sixes)] {
        lo_s = lo_s.mask_where(mask.clone(), zeros.clone());
        up_s = up_s.mask_where(mask.clone(), zeros.clone());
        lo_b = lo_b.mask_where(mask.clone(), value.clone());
        up_b = up_b.mask_where(mask, value);
    }
    [lo_s, lo_b, up_s, up_b]
}

/// One backward step: a lower bound on `A·layer(x) + b` as a linear function of `x`.
fn back(
    layer: &Layer,
    f: Linear,
    input: Shape,
    output: Shape,
    bounds: Option<&(Tensor<2>, Tensor<2>)>,
) -> Linear {
    let Linear { a, b } = f;
    let [n, s, d_out] = a.dims();
    match layer {
        Layer::Linear { weight, bias } => {
            let rows = a.reshape([n * s, d_out]);
            let b = match bias {
                Some(bias) => {
                    b + rows
                        .clone()
                        .matmul(bias.clone().reshape([d_out, 1]))
                        .reshape([n, s])
                }
                None => b,
            };
            let d_in = weight.dims()[0];
            Linear {
                a: rows
                    .matmul(weight.clone().transpose())
                    .reshape([n, s, d_in]),
                b,
            }
        }
        Layer::Conv2d {
            weight,
            bias,
            stride,
            padding,
            groups,
        } => {
            let [co, ho, wo] = image_dims(output);
            let b = match bias {
                Some(bias) => {
                    let per_channel = a.clone().reshape([n * s, co, ho * wo]).sum_dim(2);
                    b + per_channel
                        .reshape([n * s, co])
                        .matmul(bias.clone().reshape([co, 1]))
                        .reshape([n, s])
                }
                None => b,
            };
            Linear {
                a: conv_adjoint(a, weight.clone(), *stride, *padding, *groups, input, output),
                b,
            }
        }
        Layer::BatchNorm { scale, shift } => {
            channel_affine_back(Linear { a, b }, scale.clone(), shift.clone())
        }
        Layer::Normalize { mean, std } => {
            let (scale, shift) = Layer::normalize_affine(mean, std, &a.device());
            channel_affine_back(Linear { a, b }, scale, shift)
        }
        Layer::AdaptiveAvgPool2d { .. } => Linear {
            a: adaptive_pool_adjoint(a, input, output),
            b,
        },
        // The shortcut's branch is split off and merged back by `Run::lower`.
        Layer::Flatten
        | Layer::Identity
        | Layer::Skip
        | Layer::AddSkip { .. }
        | Layer::ConcatSkip => Linear { a, b },
        Layer::AvgPool2d {
            kernel,
            stride,
            padding,
        } => {
            let [c, _, _] = image_dims(input);
            let weight =
                Tensor::ones([c, 1, *kernel, *kernel], &a.device()) / (*kernel * *kernel) as f32;
            Linear {
                a: conv_adjoint(a, weight, *stride, [*padding; 4], c, input, output),
                b,
            }
        }
        Layer::Relu6 => {
            let (l, u) = bounds.expect("ReLU6 bounds are computed before use");
            let [lo_s, lo_b, up_s, up_b] = relu6_planes(l.clone(), u.clone());
            let [n, d] = l.dims();
            let (pos, neg) = (a.clone().clamp_min(0.0), a.clamp_max(0.0));
            let b = b
                + (pos.clone() * lo_b.reshape([n, 1, d]) + neg.clone() * up_b.reshape([n, 1, d]))
                    .sum_dim(2)
                    .reshape([n, s]);
            Linear {
                a: pos * lo_s.reshape([n, 1, d]) + neg * up_s.reshape([n, 1, d]),
                b,
            }
        }
        Layer::Relu => {
            let (l, u) = bounds.expect("ReLU bounds are computed before use");
            let (lower_slope, upper_slope, intercept) = relu_planes(l.clone(), u.clone());
            let [n, d] = l.dims();
            let (pos, neg) = (a.clone().clamp_min(0.0), a.clamp_max(0.0));
            let b = b
                + (neg.clone() * intercept.reshape([n, 1, d]))
                    .sum_dim(2)
                    .reshape([n, s]);
            Linear {
                a: pos * lower_slope.reshape([n, 1, d]) + neg * upper_slope.reshape([n, 1, d]),
                b,
            }
        }
        Layer::MaxPool2d {
            kernel,
            stride,
            padding,
        } => {
            let (l, u) = bounds.expect("max-pool bounds are computed before use");
            max_pool_back(a, b, l, u, [*kernel, *stride, *padding], input, output)
        }
    }
}

/// The windows of a max pool over inputs bounded by `l`, `u` `[n, c·h·w]`.
struct PoolWindows {
    /// One-hot choice `[n, c, kk, windows]` of each window's input with the largest lower bound.
    select: Tensor<4>,
    /// Whether that input's lower bound reaches every other's upper bound `[n, c, 1, windows]`:
    /// the window's maximum is then that input.
    decided: Tensor<4, Bool>,
    /// The largest upper bound in each window `[n, c, 1, windows]`.
    u_max: Tensor<4>,
    options: UnfoldOptions,
    kernel: usize,
    /// The pool's input shape `[c, h, w]`.
    input: [usize; 3],
    windows: usize,
}

impl PoolWindows {
    fn new(
        l: &Tensor<2>,
        u: &Tensor<2>,
        [kernel, stride, padding]: [usize; 3],
        input: Shape,
        output: Shape,
    ) -> Self {
        let n = l.dims()[0];
        let [c, h, w] = image_dims(input);
        let [_, ho, wo] = image_dims(output);
        let (kk, windows) = (kernel * kernel, ho * wo);
        let options = UnfoldOptions::new([stride; 2], [padding; 2], [1, 1]);
        let unfold = |x: Tensor<2>| {
            unfold4d(x.reshape([n, c, h, w]), [kernel; 2], options.clone())
                .reshape([n, c, kk, windows])
        };
        let (mut lw, mut uw) = (unfold(l.clone()), unfold(u.clone()));
        if padding > 0 {
            let ones = Tensor::<2>::ones([1, c * h * w], &l.device());
            let valid = unfold4d(ones.reshape([1, c, h, w]), [kernel; 2], options.clone())
                .reshape([1, c, kk, windows])
                .expand([n, c, kk, windows]);
            let padded = valid.lower_elem(0.5);
            lw = lw.mask_fill(padded.clone(), FAR);
            uw = uw.mask_fill(padded, FAR);
        }
        let chosen = one_hot_mask::<3, 4>(lw.clone().argmax(2).reshape([n, c, windows]), kk)
            .int()
            .swap_dims(2, 3); // [n, c, kk, windows], one 1 per window
        let chosen_mask = chosen.clone().equal_elem(1);
        let select = chosen.float();
        let l_chosen = (lw * select.clone()).sum_dim(2);
        let others = uw.clone().mask_fill(chosen_mask, FAR).max_dim(2);
        Self {
            select,
            decided: l_chosen.greater_equal(others),
            u_max: uw.max_dim(2),
            options,
            kernel,
            input: [c, h, w],
            windows,
        }
    }

    /// Inputs per window.
    fn kk(&self) -> usize {
        self.kernel * self.kernel
    }

    /// Sum `per_input` `[n, s, c, kk, windows]` back onto the pool's inputs: `[n, s, c·h·w]`.
    fn fold(&self, per_input: Tensor<5>) -> Tensor<3> {
        let [n, s, ..] = per_input.dims();
        let [c, h, w] = self.input;
        fold4d(
            per_input.reshape([n * s, c * self.kk(), self.windows]),
            [h, w],
            [self.kernel; 2],
            self.options.clone(),
        )
        .reshape([n, s, c * h * w])
    }
}

/// Max pooling relaxed per window: below by the input with the largest lower bound; above by the
/// same input when its lower bound beats every other upper bound, else by the largest upper bound.
fn max_pool_back(
    a: Tensor<3>,
    b: Tensor<2>,
    l: &Tensor<2>,
    u: &Tensor<2>,
    pool: [usize; 3],
    input: Shape,
    output: Shape,
) -> Linear {
    let [n, s, _] = a.dims();
    let windows = PoolWindows::new(l, u, pool, input, output);
    let (c, kk, count) = (windows.input[0], windows.kk(), windows.windows);
    let decided = windows.decided.clone().float();

    let a = a.reshape([n, s, c, 1, count]);
    let (pos, neg) = (a.clone().clamp_min(0.0), a.clamp_max(0.0));
    let select = windows.select.clone().reshape([n, 1, c, kk, count]);
    let decided = decided.reshape([n, 1, c, 1, count]);
    let constant = (neg.clone()
        * windows.u_max.clone().reshape([n, 1, c, 1, count])
        * (decided.clone().neg() + 1.0))
        .sum_dims_squeeze::<2, _>(&[2, 3, 4]);
    let coefficients = pos * select.clone() + neg * select * decided;
    let a = windows.fold(coefficients);
    Linear { a, b: b + constant }
}

/// Whether each input `[n, c·h·w]` of a max pool (bounds `l`, `u`) lies in a window whose maximum
/// the bounds leave undecided: only there does the pool's relaxation read an input's bounds.
fn in_undecided_window(
    l: &Tensor<2>,
    u: &Tensor<2>,
    pool: [usize; 3],
    input: Shape,
    output: Shape,
) -> Tensor<2, Bool> {
    let [n, d] = l.dims();
    let windows = PoolWindows::new(l, u, pool, input, output);
    let (c, kk, count) = (windows.input[0], windows.kk(), windows.windows);
    let undecided = windows
        .decided
        .clone()
        .bool_not()
        .float()
        .expand([n, c, kk, count])
        .reshape([n, 1, c, kk, count]);
    windows.fold(undecided).reshape([n, d]).greater_elem(0.5)
}

/// The shape entering each layer, and the model's output shape last.
fn shapes(model: &Sequential) -> Vec<Shape> {
    let spec = model.spec();
    let mut shapes = vec![Shape::Image(spec.input)];
    shapes.extend(
        spec.output_shapes()
            .expect("a loaded model's spec is valid"),
    );
    shapes
}

fn reshape(x: Tensor<2>, shape: Shape) -> Activation {
    let n = x.dims()[0];
    match shape {
        Shape::Image([c, h, w]) => Activation::Image(x.reshape([n, c, h, w])),
        Shape::Flat(_) => Activation::Flat(x),
    }
}

fn is_nonlinear(layer: &Layer) -> bool {
    matches!(layer, Layer::Relu | Layer::Relu6 | Layer::MaxPool2d { .. })
}

/// Whether the input of nonlinear layer `k` gains from a CROWN pass of its own: not when it is
/// the first layer's output (IBP is exact through one affine layer), nor when it comes straight
/// from a ReLU or max pool (whose interval outputs follow from the bounds already tightened).
fn needs_crown(layers: &[Layer], k: usize) -> bool {
    let before = layers[..k]
        .iter()
        .rev()
        .find(|l| !matches!(l, Layer::Flatten | Layer::Identity | Layer::Skip));
    k > 1 && before.is_some_and(|l| !is_nonlinear(l))
}

/// Whether the output of layer `k` is read only by a linear or convolutional layer (through
/// flattening), which never reads the bounds of its input.
fn only_affine_reads(layers: &[Layer], k: usize) -> bool {
    layers[k + 1..]
        .iter()
        .find(|l| !matches!(l, Layer::Flatten | Layer::Identity))
        .is_some_and(|l| matches!(l, Layer::Linear { .. } | Layer::Conv2d { .. }))
}

/// The max pool that reads the output of layer `k` directly, if one does: its index and its
/// `[kernel, stride, padding]`.
fn pool_reading(layers: &[Layer], k: usize) -> Option<(usize, [usize; 3])> {
    let (j, layer) = layers
        .iter()
        .enumerate()
        .skip(k + 1)
        .find(|(_, l)| !matches!(l, Layer::Identity))?;
    match layer {
        Layer::MaxPool2d {
            kernel,
            stride,
            padding,
        } => Some((j, [*kernel, *stride, *padding])),
        _ => None,
    }
}

/// The state of one CROWN run: the input box and the bounds of every nonlinear layer's input.
struct Run<'a> {
    layers: &'a [Layer],
    shapes: Vec<Shape>,
    /// For each `add_skip` and `concat_skip`, its `skip`.
    partners: Vec<Option<usize>>,
    /// For each `add_skip`, the shapes entering each of its shortcut's layers and the last one's
    /// output.
    shortcut_shapes: Vec<Vec<Shape>>,
    centre: Tensor<2>,
    radius: Tensor<2>,
    bounds: Vec<Option<(Tensor<2>, Tensor<2>)>>,
}

impl Run<'_> {
    /// Lower bounds `[n, s]` of `spec · (input of layer `upto`)` over the box.
    fn lower(&self, upto: usize, spec: Tensor<3>) -> Tensor<2> {
        let [n, s, _] = spec.dims();
        let mut f = Linear {
            b: Tensor::zeros([n, s], &spec.device()),
            a: spec,
        };
        // Going backward, an `add_skip` sends the same coefficients down its shortcut (through
        // its linear layers), and a `concat_skip` sends the kept channels' share of them; either
        // meets the main path again at the `skip` (a block whose join lies beyond `upto` has
        // nothing kept).
        let mut shortcuts: Vec<(usize, Tensor<3>)> = Vec::new();
        for j in (0..upto).rev() {
            match &self.layers[j] {
                Layer::AddSkip { shortcut } => {
                    let shapes = &self.shortcut_shapes[j];
                    let mut g = Linear {
                        b: f.b.zeros_like(),
                        a: f.a.clone(),
                    };
                    for (k, layer) in shortcut.iter().enumerate().rev() {
                        g = back(layer, g, shapes[k], shapes[k + 1], None);
                    }
                    f.b = f.b + g.b;
                    shortcuts.push((self.partners[j].expect("checked"), g.a));
                }
                Layer::ConcatSkip => {
                    let (Shape::Image([total, h, w]), Shape::Image([block, ..])) =
                        (self.shapes[j + 1], self.shapes[j])
                    else {
                        unreachable!("the spec's shapes were checked");
                    };
                    let kept = total - block;
                    let a = f.a.reshape([n, s, total, h * w]);
                    shortcuts.push((
                        self.partners[j].expect("checked"),
                        a.clone().narrow(2, 0, kept).reshape([n, s, kept * h * w]),
                    ));
                    f.a = a.narrow(2, kept, block).reshape([n, s, block * h * w]);
                }
                Layer::Skip => {
                    if shortcuts.last().is_some_and(|(at, _)| *at == j) {
                        let (_, a) = shortcuts.pop().expect("just seen");
                        f.a = f.a + a;
                    }
                }
                layer => {
                    f = back(
                        layer,
                        f,
                        self.shapes[j],
                        self.shapes[j + 1],
                        self.bounds[j].as_ref(),
                    )
                }
            }
        }
        let d = self.centre.dims()[1];
        let centre = self.centre.clone().reshape([n, 1, d]);
        let radius = self.radius.clone().reshape([n, 1, d]);
        let value = (f.a.clone() * centre).sum_dim(2) - (f.a.abs() * radius).sum_dim(2);
        value.reshape([n, s]) + f.b
    }

    /// Lower and upper bounds `[n, d]` of every neuron entering layer `upto`, chunked so that
    /// no step holds more than `max_elements` coefficients.
    fn neuron_bounds(&self, upto: usize, max_elements: usize) -> (Tensor<2>, Tensor<2>) {
        let device = self.centre.device();
        let d = size(self.shapes[upto]);
        let n = self.centre.dims()[0];
        self.bound_rows(upto, d, max_elements, |start, m| {
            one_hot_float::<1, 2>(
                Tensor::<1, Int>::arange(start as i64..(start + m) as i64, &device),
                d,
            )
            .reshape([1, m, d])
            .expand([n, m, d])
        })
    }

    /// [`Self::neuron_bounds`] for the neurons where `refine` `[n, d]` holds, each image its own;
    /// `(l, u)` elsewhere (and intersected with the result where it holds).
    fn selected_neuron_bounds(
        &self,
        upto: usize,
        max_elements: usize,
        refine: Tensor<2, Bool>,
        (l, u): (Tensor<2>, Tensor<2>),
    ) -> (Tensor<2>, Tensor<2>) {
        let [n, d] = refine.dims();
        // The k-th selected neuron of image i sits where `rank[i] == k`.
        let rank = refine.clone().int().cumsum(1) - 1;
        let count = rank
            .clone()
            .max()
            .into_data()
            .iter::<i64>()
            .next()
            .unwrap_or(-1)
            + 1;
        if count <= 0 {
            return (l, u);
        }
        let count = count as usize;
        let device = l.device();
        let (lower, upper) = self.bound_rows(upto, count, max_elements, |start, m| {
            let slots = Tensor::<1, Int>::arange(start as i64..(start + m) as i64, &device)
                .reshape([1, m, 1])
                .expand([n, m, d]);
            rank.clone()
                .reshape([n, 1, d])
                .expand([n, m, d])
                .equal(slots)
                .bool_and(refine.clone().reshape([n, 1, d]).expand([n, m, d]))
                .float()
        });
        // Back from slots to neurons; images with fewer selected neurons than `count` bounded
        // zero rows in their last slots, never gathered.
        let at = rank.clamp(0, count as i64 - 1);
        let lower = l
            .clone()
            .mask_where(refine.clone(), lower.gather(1, at.clone()));
        let upper = u.clone().mask_where(refine, upper.gather(1, at));
        (l.max_pair(lower), u.min_pair(upper))
    }

    /// Lower and upper bounds `[n, count]` of the `count` linear functions of layer `upto`'s
    /// input whose coefficients `rows(start, m)` `[n, m, d]` gives, `m` at a time so that no step
    /// holds more than `max_elements` coefficients.
    fn bound_rows(
        &self,
        upto: usize,
        count: usize,
        max_elements: usize,
        rows: impl Fn(usize, usize) -> Tensor<3>,
    ) -> (Tensor<2>, Tensor<2>) {
        let n = self.centre.dims()[0];
        let widest = self.shapes[..=upto]
            .iter()
            .map(|&s| size(s))
            .max()
            .unwrap_or(1);
        let chunk = (max_elements / (2 * n * widest)).clamp(1, count);
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        for start in (0..count).step_by(chunk) {
            let m = chunk.min(count - start);
            let rows = rows(start, m);
            let both = self.lower(upto, Tensor::cat(vec![rows.clone(), rows.neg()], 1));
            lower.push(both.clone().narrow(1, 0, m));
            upper.push(both.narrow(1, m, m).neg());
        }
        (Tensor::cat(lower, 1), Tensor::cat(upper, 1))
    }
}

/// Run the forward pass that fixes every nonlinear layer's input bounds.
fn prepare<'a>(model: &'a Sequential, input: Interval, config: &CrownConfig) -> Run<'a> {
    let layers = model.layers();
    let (lower, upper) = (
        input.lower.clone().into_flat(),
        input.upper.clone().into_flat(),
    );
    let shapes = shapes(model);
    let partners = model.spec().skip_partners();
    let shortcut_shapes = layers
        .iter()
        .enumerate()
        .map(|(j, layer)| match (layer, &model.spec().layers[j]) {
            (Layer::AddSkip { .. }, crate::model::LayerSpec::AddSkip { shortcut }) => {
                let mut chain = vec![shapes[partners[j].expect("checked")]];
                for l in shortcut {
                    let next = crate::model::next_shape(l, chain[chain.len() - 1])
                        .expect("the spec's shortcuts were checked");
                    chain.push(next);
                }
                chain
            }
            _ => Vec::new(),
        })
        .collect();
    let mut run = Run {
        layers,
        shapes,
        partners,
        shortcut_shapes,
        centre: (upper.clone() + lower.clone()) / 2.0,
        radius: (upper - lower) / 2.0,
        bounds: vec![None; layers.len()],
    };
    let mut current = input;
    let mut kept = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        match layer {
            Layer::Skip => {
                kept.push(current.clone());
                continue;
            }
            Layer::AddSkip { shortcut } => {
                let saved: Interval = kept.pop().expect("the spec's skips were checked");
                let saved = propagate_all(shortcut, saved);
                current = Interval {
                    lower: current.lower + saved.lower,
                    upper: current.upper + saved.upper,
                };
                continue;
            }
            Layer::ConcatSkip => {
                let saved: Interval = kept.pop().expect("the spec's skips were checked");
                current = Interval {
                    lower: saved.lower.concat(current.lower),
                    upper: saved.upper.concat(current.upper),
                };
                continue;
            }
            _ => {}
        }
        if is_nonlinear(layer) {
            let (mut l, mut u) = (current.lower.into_flat(), current.upper.into_flat());
            if config.intermediate == IntermediateBounds::Crown && needs_crown(layers, k) {
                let skip = match config.neurons {
                    IntermediateNeurons::All => None,
                    _ if cfg!(target_arch = "wasm32") || !matches!(layer, Layer::Relu) => None,
                    IntermediateNeurons::Needed if !only_affine_reads(layers, k) => {
                        let inactive = u.clone().lower_equal_elem(0.0);
                        // Before a max pool, an active neuron's bounds matter only in a window
                        // whose maximum the bounds leave open.
                        Some(match pool_reading(layers, k) {
                            Some((j, pool)) => {
                                let (pl, pu) = (l.clone().clamp_min(0.0), u.clone().clamp_min(0.0));
                                let open = in_undecided_window(
                                    &pl,
                                    &pu,
                                    pool,
                                    run.shapes[j],
                                    run.shapes[j + 1],
                                );
                                let settled =
                                    l.clone().greater_equal_elem(0.0).bool_and(open.bool_not());
                                inactive.bool_or(settled)
                            }
                            None => inactive,
                        })
                    }
                    _ => Some(
                        u.clone()
                            .lower_equal_elem(0.0)
                            .bool_or(l.clone().greater_equal_elem(0.0)),
                    ),
                };
                (l, u) = if let Some(skip) = skip {
                    run.selected_neuron_bounds(k, config.max_elements, skip.bool_not(), (l, u))
                } else {
                    let (cl, cu) = run.neuron_bounds(k, config.max_elements);
                    (l.max_pair(cl), u.min_pair(cu))
                };
            }
            current = Interval {
                lower: reshape(l.clone(), run.shapes[k]),
                upper: reshape(u.clone(), run.shapes[k]),
            };
            run.bounds[k] = Some((l, u));
        }
        current = propagate(layer, current);
    }
    run
}

fn check_labels(input: &Interval, labels: &Tensor<1, Int>) -> Result<()> {
    let n = input.lower.clone().into_flat().dims()[0];
    if labels.dims()[0] != n {
        return Err(Error::Mismatch(format!(
            "{} labels for {n} inputs",
            labels.dims()[0]
        )));
    }
    Ok(())
}

/// CROWN bounds `([n, classes], [n, classes])` of every logit over the box `input`.
pub fn crown_logit_bounds(
    model: &Sequential,
    input: Interval,
    config: &CrownConfig,
) -> Result<(Tensor<2>, Tensor<2>)> {
    let run = prepare(model, input, config);
    let last = model.layers().len();
    let classes = size(run.shapes[last]);
    let n = run.centre.dims()[0];
    let device: Device = run.centre.device();
    let eye = Tensor::<2>::eye(classes, &device);
    let spec = Tensor::cat(vec![eye.clone(), eye.neg()], 0)
        .reshape([1, 2 * classes, classes])
        .expand([n, 2 * classes, classes]);
    let both = run.lower(last, spec);
    Ok((
        both.clone().narrow(1, 0, classes),
        both.narrow(1, classes, classes).neg(),
    ))
}

/// CROWN lower bounds `[n, classes]` of the margins `z_label − z_j` over the box (+∞ at
/// `j = label`); the margin is the specification, so the last layer folds in exactly.
pub fn crown_margin_lower_bounds(
    model: &Sequential,
    input: Interval,
    labels: Tensor<1, Int>,
    config: &CrownConfig,
) -> Result<Tensor<2>> {
    check_labels(&input, &labels)?;
    let run = prepare(model, input, config);
    let last = model.layers().len();
    let classes = size(run.shapes[last]);
    let n = labels.dims()[0];
    let device = labels.device();
    let own = one_hot_float::<1, 2>(labels, classes);
    let spec = own.clone().reshape([n, 1, classes])
        - Tensor::<2>::eye(classes, &device).reshape([1, classes, classes]);
    let margins = run.lower(last, spec);
    Ok(margins.mask_fill(own.equal_elem(1.0), f32::INFINITY))
}
