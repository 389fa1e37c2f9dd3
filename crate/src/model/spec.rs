//! A layer spec for bring-your-own models: a sequence of conv (grouped, depthwise, "same"-padded),
//! linear, batch-norm, ReLU/ReLU6, pooling (max, average, adaptive), dropout, flatten and input
//! normalisation layers with residual and dense connections, described in JSON with PyTorch's
//! argument names, whose weights come from a PyTorch state dict (SafeTensors or `.pth`).
//!
//! ```json
//! {"input": [1, 28, 28], "layers": [
//!   {"type": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 8, "kernel_size": 3},
//!   {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2},
//!   {"type": "flatten"}, {"type": "linear", "name": "fc", "in_features": 1352, "out_features": 10}
//! ]}
//! ```
//!
//! A layer's `name` is the prefix of its tensors in the state dict (`conv1.weight`, `conv1.bias`);
//! without one it is the layer's index, as in `torch.nn.Sequential` (`0.weight`).
//!
//! A residual block is written flat: `{"type": "skip"}` keeps the activation, the block's layers
//! follow, and `{"type": "add_skip"}` adds the kept activation back: unchanged (an identity
//! shortcut, so the shapes must agree) or through its `shortcut` layers (a projection: 1×1 conv and
//! batch norm, as torchvision's `downsample`). `{"type": "concat_skip"}` instead concatenates the
//! kept activation before the block's output along the channels (DenseNet). Blocks nest.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn is_one(n: &usize) -> bool {
    *n == 1
}
fn bn_eps() -> f64 {
    1e-5
}
fn is_empty(layers: &[LayerSpec]) -> bool {
    layers.is_empty()
}

/// Zero padding of a convolution: the same number of rows and columns on every side, or
/// TensorFlow's "same" (output size ⌈input / stride⌉, the odd pixel at the bottom and right, as
/// EfficientNet-Lite's converted weights expect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Padding {
    /// This many zeros on every side.
    Zeros(usize),
    /// TensorFlow's `padding="SAME"`.
    Same(SameKeyword),
}

/// The word `"same"` in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameKeyword {
    /// `"same"`.
    Same,
}

impl Default for Padding {
    fn default() -> Self {
        Padding::Zeros(0)
    }
}

impl From<usize> for Padding {
    fn from(n: usize) -> Self {
        Padding::Zeros(n)
    }
}

impl Padding {
    /// TensorFlow's "same".
    pub const SAME: Padding = Padding::Same(SameKeyword::Same);

    /// `[top, bottom, left, right]` zeros for a `kernel` at `stride` over an `h × w` input.
    pub fn sides(self, [h, w]: [usize; 2], kernel: usize, stride: usize) -> [usize; 4] {
        match self {
            Padding::Zeros(p) => [p; 4],
            Padding::Same(_) => {
                let total = |size: usize| {
                    let out = size.div_ceil(stride.max(1));
                    ((out.max(1) - 1) * stride + kernel).saturating_sub(size)
                };
                let (th, tw) = (total(h), total(w));
                [th / 2, th - th / 2, tw / 2, tw - tw / 2]
            }
        }
    }
}

/// One layer, with PyTorch's argument names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// `nn.Conv2d` with square kernels, stride and padding.
    Conv2d {
        /// State-dict prefix (defaults to the layer index).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel height and width.
        kernel_size: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding: a number for every side, or `"same"`.
        #[serde(default)]
        padding: Padding,
        /// Whether the layer has a bias.
        #[serde(default = "yes")]
        bias: bool,
        /// Channel groups (`in_channels` for a depthwise convolution).
        #[serde(default = "one", skip_serializing_if = "is_one")]
        groups: usize,
    },
    /// `nn.Linear`.
    Linear {
        /// State-dict prefix (defaults to the layer index).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Input features.
        in_features: usize,
        /// Output features.
        out_features: usize,
        /// Whether the layer has a bias.
        #[serde(default = "yes")]
        bias: bool,
    },
    /// `nn.BatchNorm2d` / `nn.BatchNorm1d`, always in eval mode (running statistics).
    BatchNorm {
        /// State-dict prefix (defaults to the layer index).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Channels (after a conv) or features (after a linear).
        num_features: usize,
        /// Added to the running variance.
        #[serde(default = "bn_eps")]
        eps: f64,
    },
    /// `nn.ReLU`.
    Relu,
    /// `nn.ReLU6`: min(max(x, 0), 6).
    Relu6,
    /// `nn.MaxPool2d`; the stride defaults to the kernel size.
    MaxPool2d {
        /// Window size.
        kernel_size: usize,
        /// Stride (defaults to `kernel_size`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        /// Padding on every side.
        #[serde(default)]
        padding: usize,
    },
    /// `nn.AvgPool2d` (padding counted, as PyTorch's default); the stride defaults to the kernel.
    AvgPool2d {
        /// Window size.
        kernel_size: usize,
        /// Stride (defaults to `kernel_size`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        /// Padding on every side.
        #[serde(default)]
        padding: usize,
    },
    /// `nn.AdaptiveAvgPool2d`: the average over PyTorch's windows to `output_size` (`[1, 1]`:
    /// global average pooling).
    AdaptiveAvgPool2d {
        /// Output height and width.
        output_size: [usize; 2],
    },
    /// `nn.Dropout`: the identity in evaluation, as everywhere here.
    Dropout {
        /// Drop probability in training (recorded, not used).
        #[serde(default)]
        p: f32,
    },
    /// Input normalisation `(x − mean) / std` per channel, torchvision's `Normalize` as a layer: the
    /// model takes pixels in [0, 1], so ε and every bound stay in pixel space.
    Normalize {
        /// Per-channel mean.
        mean: Vec<f32>,
        /// Per-channel standard deviation, each > 0.
        std: Vec<f32>,
    },
    /// `nn.Flatten`: `[n, c, h, w]` to `[n, c·h·w]`.
    Flatten,
    /// Keep the activation for the next unmatched `add_skip` or `concat_skip` (the start of a
    /// residual or dense block).
    Skip,
    /// Add the activation kept by the matching `skip`, through `shortcut` when it has layers.
    AddSkip {
        /// The shortcut's layers (linear ones: conv2d, batch_norm, avg_pool2d), named like any
        /// layer (their default name is `<index>.<position>`); empty for an identity shortcut.
        #[serde(default, skip_serializing_if = "is_empty")]
        shortcut: Vec<LayerSpec>,
    },
    /// Concatenate the activation kept by the matching `skip` before this one along the channels
    /// (DenseNet's dense connection).
    ConcatSkip,
}

impl LayerSpec {
    /// An identity shortcut's end.
    pub const ADD_SKIP: LayerSpec = LayerSpec::AddSkip {
        shortcut: Vec::new(),
    };

    /// Its state-dict prefix, when the layer has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            LayerSpec::Conv2d { name, .. }
            | LayerSpec::Linear { name, .. }
            | LayerSpec::BatchNorm { name, .. } => name.as_deref(),
            _ => None,
        }
    }

    /// Whether the layer is linear in its input (a shortcut may hold only such layers).
    pub fn is_linear(&self) -> bool {
        matches!(
            self,
            LayerSpec::Conv2d { .. }
                | LayerSpec::Linear { .. }
                | LayerSpec::BatchNorm { .. }
                | LayerSpec::AvgPool2d { .. }
                | LayerSpec::AdaptiveAvgPool2d { .. }
                | LayerSpec::Dropout { .. }
                | LayerSpec::Normalize { .. }
                | LayerSpec::Flatten
        )
    }
}

/// What a parameter tensor is, for initialisation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterRole {
    /// A convolution's kernel or a linear map's matrix, with its fan-in.
    Weight {
        /// Inputs per output (`in / groups · k · k`, or `in_features`).
        fan_in: usize,
    },
    /// A convolution's or linear map's bias, with the fan-in of its weight.
    Bias {
        /// Inputs per output of the weight.
        fan_in: usize,
    },
    /// Batch norm's γ.
    NormWeight,
    /// Batch norm's β.
    NormBias,
    /// Batch norm's running mean.
    NormMean,
    /// Batch norm's running variance.
    NormVariance,
}

/// One parameter tensor of a spec, as a PyTorch state dict names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// State-dict name (`conv1.weight`).
    pub name: String,
    /// Shape, PyTorch's layout.
    pub shape: Vec<usize>,
    /// What it is.
    pub role: ParameterRole,
}

/// The parameter tensors of `layer`, named from the prefix `p`.
fn layer_parameters(layer: &LayerSpec, p: &str, out: &mut Vec<Parameter>) {
    let mut push = |suffix: &str, shape: Vec<usize>, role| {
        out.push(Parameter {
            name: format!("{p}.{suffix}"),
            shape,
            role,
        })
    };
    match layer {
        LayerSpec::Conv2d {
            in_channels,
            out_channels: co,
            kernel_size: k,
            bias,
            groups,
            ..
        } => {
            let ci = in_channels / groups;
            let fan_in = ci * k * k;
            push(
                "weight",
                vec![*co, ci, *k, *k],
                ParameterRole::Weight { fan_in },
            );
            if *bias {
                push("bias", vec![*co], ParameterRole::Bias { fan_in });
            }
        }
        LayerSpec::Linear {
            in_features: fi,
            out_features: fo,
            bias,
            ..
        } => {
            push(
                "weight",
                vec![*fo, *fi],
                ParameterRole::Weight { fan_in: *fi },
            );
            if *bias {
                push("bias", vec![*fo], ParameterRole::Bias { fan_in: *fi });
            }
        }
        LayerSpec::BatchNorm {
            num_features: c, ..
        } => {
            push("weight", vec![*c], ParameterRole::NormWeight);
            push("bias", vec![*c], ParameterRole::NormBias);
            push("running_mean", vec![*c], ParameterRole::NormMean);
            push("running_var", vec![*c], ParameterRole::NormVariance);
        }
        _ => {}
    }
}

/// The shape of one sample between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// Channels, height, width.
    Image([usize; 3]),
    /// Features.
    Flat(usize),
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Image([c, h, w]) => write!(f, "[{c}, {h}, {w}]"),
            Shape::Flat(n) => write!(f, "[{n}]"),
        }
    }
}

/// A model: the input shape `[channels, height, width]` and its layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// One input image, `[channels, height, width]`.
    pub input: [usize; 3],
    /// The layers, first to last.
    pub layers: Vec<LayerSpec>,
}

fn pooled(size: usize, kernel: usize, stride: usize, before: usize, after: usize) -> Option<usize> {
    let padded = size + before + after;
    (kernel > 0 && stride > 0 && kernel <= padded).then(|| (padded - kernel) / stride + 1)
}

impl ModelSpec {
    /// Parse a JSON spec and check that its shapes chain.
    pub fn from_json(text: &str) -> Result<Self> {
        let spec: Self =
            serde_json::from_str(text).map_err(|e| Error::format("model spec", e.to_string()))?;
        spec.output_shapes()?;
        Ok(spec)
    }

    /// The state-dict prefix of layer `index`: its `name`, or its index as in `nn.Sequential`.
    pub fn layer_name(&self, index: usize) -> String {
        self.layers[index]
            .name()
            .map_or_else(|| index.to_string(), str::to_string)
    }

    /// The state-dict prefix of layer `position` of the shortcut of the `add_skip` at `index`.
    pub fn shortcut_layer_name(&self, index: usize, position: usize) -> String {
        match &self.layers[index] {
            LayerSpec::AddSkip { shortcut } => shortcut[position]
                .name()
                .map_or_else(|| format!("{index}.{position}"), str::to_string),
            _ => format!("{index}.{position}"),
        }
    }

    /// The shape entering each layer (the input first), checked.
    pub fn input_shapes(&self) -> Result<Vec<Shape>> {
        let mut shapes = vec![Shape::Image(self.input)];
        let outputs = self.output_shapes()?;
        shapes.extend_from_slice(&outputs[..outputs.len() - 1]);
        Ok(shapes)
    }

    /// For each `add_skip` and `concat_skip`, the index of its matching `skip` (`None` for every
    /// other layer). The spec's skips must be balanced (checked by [`Self::output_shapes`]).
    pub fn skip_partners(&self) -> Vec<Option<usize>> {
        let mut open = Vec::new();
        self.layers
            .iter()
            .enumerate()
            .map(|(i, layer)| match layer {
                LayerSpec::Skip => {
                    open.push(i);
                    None
                }
                LayerSpec::AddSkip { .. } | LayerSpec::ConcatSkip => open.pop(),
                _ => None,
            })
            .collect()
    }

    /// Every parameter tensor, in layer order (a shortcut's after its `add_skip`'s index), as a
    /// PyTorch state dict of this architecture names it (without batch norm's
    /// `num_batches_tracked`).
    pub fn parameters(&self) -> Result<Vec<Parameter>> {
        self.output_shapes()?;
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            match layer {
                LayerSpec::AddSkip { shortcut } => {
                    for (j, l) in shortcut.iter().enumerate() {
                        layer_parameters(l, &self.shortcut_layer_name(i, j), &mut out);
                    }
                }
                layer => layer_parameters(layer, &self.layer_name(i), &mut out),
            }
        }
        Ok(out)
    }

    /// The number of classes (the size of the last layer's output).
    pub fn classes(&self) -> Result<usize> {
        match self.output_shapes()?.last() {
            Some(Shape::Flat(n)) => Ok(*n),
            other => Err(Error::format(
                "model spec",
                format!("the last layer must output class logits, not {other:?}"),
            )),
        }
    }

    /// The shape after each layer, or an error naming the first layer that does not fit.
    pub fn output_shapes(&self) -> Result<Vec<Shape>> {
        let [c, h, w] = self.input;
        if c == 0 || h == 0 || w == 0 {
            return Err(Error::format("model spec", "input dimensions must be ≥ 1"));
        }
        if self.layers.is_empty() {
            return Err(Error::format("model spec", "no layers"));
        }
        let mut shape = Shape::Image(self.input);
        let mut shapes = Vec::with_capacity(self.layers.len());
        let mut kept: Vec<(usize, Shape)> = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let bad = |why: String| Error::format("model spec", format!("layer {i}: {why}"));
            shape = match layer {
                LayerSpec::Skip => {
                    kept.push((i, shape));
                    shape
                }
                LayerSpec::AddSkip { shortcut } => {
                    let Some((at, saved)) = kept.pop() else {
                        return Err(bad("add_skip without a skip before it".into()));
                    };
                    if let Some(j) = shortcut.iter().position(|l| !l.is_linear()) {
                        return Err(bad(format!(
                            "shortcut layer {j} is {:?}; a shortcut holds linear layers only",
                            shortcut[j]
                        )));
                    }
                    let through = shortcut.iter().enumerate().try_fold(saved, |s, (j, l)| {
                        next_shape(l, s).map_err(|why| bad(format!("shortcut layer {j}: {why}")))
                    })?;
                    if through != shape {
                        return Err(bad(format!(
                            "add_skip adds {through} (kept at layer {at}{}) to {shape}; the shapes must agree",
                            if shortcut.is_empty() {
                                ""
                            } else {
                                ", through its shortcut"
                            }
                        )));
                    }
                    shape
                }
                LayerSpec::ConcatSkip => match (kept.pop(), shape) {
                    (Some((_, Shape::Image([c1, h1, w1]))), Shape::Image([c2, h2, w2]))
                        if (h1, w1) == (h2, w2) =>
                    {
                        Shape::Image([c1 + c2, h2, w2])
                    }
                    (Some((at, saved)), _) => {
                        return Err(bad(format!(
                            "concat_skip joins {saved} (kept at layer {at}) and {shape}; both must be images of one size"
                        )));
                    }
                    (None, _) => return Err(bad("concat_skip without a skip before it".into())),
                },
                layer => next_shape(layer, shape).map_err(bad)?,
            };
            shapes.push(shape);
        }
        if let Some((at, _)) = kept.last() {
            return Err(Error::format(
                "model spec",
                format!("layer {at}: skip without a matching add_skip or concat_skip"),
            ));
        }
        Ok(shapes)
    }
}

/// The shape after `layer` (not a skip marker) given the shape before it, or why it does not fit.
pub(crate) fn next_shape(layer: &LayerSpec, shape: Shape) -> std::result::Result<Shape, String> {
    Ok(match (layer, shape) {
        (
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                groups,
                ..
            },
            Shape::Image([c, h, w]),
        ) => {
            if *in_channels != c || *out_channels == 0 {
                return Err(format!(
                    "conv2d expects {in_channels} input channels, gets {c}"
                ));
            }
            if *groups == 0 || in_channels % groups != 0 || out_channels % groups != 0 {
                return Err(format!(
                    "conv2d groups ({groups}) must divide its {in_channels} input and {out_channels} output channels"
                ));
            }
            let [t, b, l, r] = padding.sides([h, w], *kernel_size, *stride);
            match (
                pooled(h, *kernel_size, *stride, t, b),
                pooled(w, *kernel_size, *stride, l, r),
            ) {
                (Some(h), Some(w)) => Shape::Image([*out_channels, h, w]),
                _ => return Err(format!("conv2d kernel does not fit {shape}")),
            }
        }
        (
            LayerSpec::MaxPool2d {
                kernel_size,
                stride,
                padding,
            }
            | LayerSpec::AvgPool2d {
                kernel_size,
                stride,
                padding,
            },
            Shape::Image([c, h, w]),
        ) => {
            let stride = stride.unwrap_or(*kernel_size);
            if 2 * padding > *kernel_size {
                return Err("pool padding must be at most half the kernel".into());
            }
            match (
                pooled(h, *kernel_size, stride, *padding, *padding),
                pooled(w, *kernel_size, stride, *padding, *padding),
            ) {
                (Some(h), Some(w)) => Shape::Image([c, h, w]),
                _ => return Err(format!("pool window does not fit {shape}")),
            }
        }
        (LayerSpec::AdaptiveAvgPool2d { output_size }, Shape::Image([c, ..])) => {
            if output_size.contains(&0) {
                return Err("adaptive pooling needs an output size ≥ 1".into());
            }
            Shape::Image([c, output_size[0], output_size[1]])
        }
        (
            LayerSpec::Linear {
                in_features,
                out_features,
                ..
            },
            Shape::Flat(n),
        ) => {
            if *in_features != n || *out_features == 0 {
                return Err(format!(
                    "linear expects {in_features} input features, gets {n}"
                ));
            }
            Shape::Flat(*out_features)
        }
        (LayerSpec::BatchNorm { num_features, .. }, shape) => {
            let channels = match shape {
                Shape::Image([c, ..]) => c,
                Shape::Flat(n) => n,
            };
            if *num_features != channels {
                return Err(format!(
                    "batch norm over {num_features} features, gets {shape}"
                ));
            }
            shape
        }
        (LayerSpec::Normalize { mean, std }, Shape::Image([c, ..])) => {
            if mean.len() != c || std.len() != c {
                return Err(format!(
                    "normalize has {} means and {} deviations for {c} channels",
                    mean.len(),
                    std.len()
                ));
            }
            if !mean.iter().all(|m| m.is_finite()) || !std.iter().all(|s| s.is_finite() && *s > 0.0)
            {
                return Err("normalize needs finite means and deviations > 0".into());
            }
            shape
        }
        (LayerSpec::Dropout { p }, shape) => {
            if !(0.0..1.0).contains(p) {
                return Err(format!("dropout p must be in [0, 1), got {p}"));
            }
            shape
        }
        (LayerSpec::Relu | LayerSpec::Relu6, shape) => shape,
        (LayerSpec::Flatten, Shape::Image([c, h, w])) => Shape::Flat(c * h * w),
        (LayerSpec::Flatten, Shape::Flat(n)) => Shape::Flat(n),
        (layer, shape) => {
            return Err(format!("{layer:?} cannot take an input of shape {shape}"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_chain_like_pytorch() {
        for id in ModelSpec::ZOO {
            let spec = ModelSpec::named(id).unwrap();
            assert_eq!(spec.classes().unwrap(), 10, "{id}");
        }
        assert!(ModelSpec::named("resnet-1000").is_err());
        let spec = ModelSpec::small_cnn();
        let shapes = spec.output_shapes().unwrap();
        assert_eq!(shapes[2], Shape::Image([8, 13, 13]));
        assert_eq!(shapes[5], Shape::Image([16, 5, 5]));
        assert_eq!(spec.classes().unwrap(), 10);
        assert_eq!(spec.layer_name(0), "conv1");
        assert_eq!(spec.layer_name(1), "1");
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(ModelSpec::from_json(&json).unwrap(), spec);
    }

    #[test]
    fn mismatched_specs_name_the_layer() {
        let bad = r#"{"input": [1, 28, 28], "layers": [
            {"type": "flatten"}, {"type": "linear", "in_features": 700, "out_features": 10}]}"#;
        let err = ModelSpec::from_json(bad).unwrap_err().to_string();
        assert!(err.contains("layer 1") && err.contains("784"), "{err}");
        let unflattened = r#"{"input": [1, 4, 4], "layers": [
            {"type": "linear", "in_features": 16, "out_features": 10}]}"#;
        assert!(ModelSpec::from_json(unflattened).is_err());
        let typo = r#"{"input": [1, 4, 4], "layers": [{"type": "conv", "in_channels": 1}]}"#;
        assert!(ModelSpec::from_json(typo).is_err());
        let huge_kernel = r#"{"input": [1, 4, 4], "layers": [{"type": "conv2d",
            "in_channels": 1, "out_channels": 2, "kernel_size": 5}, {"type": "flatten"}]}"#;
        assert!(ModelSpec::from_json(huge_kernel).is_err());
    }
}
