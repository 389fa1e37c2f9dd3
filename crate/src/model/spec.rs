//! A small layer spec for bring-your-own models: a sequence of conv (grouped or depthwise too)/
//! linear/ReLU/pool/flatten/batch-norm layers with identity skip connections, described in JSON
//! with PyTorch's argument names, whose weights come from a PyTorch state dict saved as
//! SafeTensors.
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
//! follow, and `{"type": "add_skip"}` adds the kept activation back (an identity shortcut, so the
//! shapes must agree). Blocks nest.

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
        /// Zero padding on every side.
        #[serde(default)]
        padding: usize,
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
    /// `nn.Flatten`: `[n, c, h, w]` to `[n, c·h·w]`.
    Flatten,
    /// Keep the activation for the next unmatched `add_skip` (the start of a residual block).
    Skip,
    /// Add the activation kept by the matching `skip` (an identity shortcut).
    AddSkip,
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

fn conv(name: &str, i: usize, o: usize, kernel: usize, stride: usize, padding: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        name: Some(name.into()),
        in_channels: i,
        out_channels: o,
        kernel_size: kernel,
        stride,
        padding,
        bias: true,
        groups: 1,
    }
}

/// A depthwise 3×3 convolution over `c` channels.
fn depthwise(name: &str, c: usize, stride: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        name: Some(name.into()),
        in_channels: c,
        out_channels: c,
        kernel_size: 3,
        stride,
        padding: 1,
        bias: true,
        groups: c,
    }
}

fn linear(name: &str, i: usize, o: usize) -> LayerSpec {
    LayerSpec::Linear {
        name: Some(name.into()),
        in_features: i,
        out_features: o,
        bias: true,
    }
}

fn pool2() -> LayerSpec {
    LayerSpec::MaxPool2d {
        kernel_size: 2,
        stride: None,
        padding: 0,
    }
}

fn pooled(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = size + 2 * padding;
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

    /// The state-dict prefix of layer `index`.
    pub fn layer_name(&self, index: usize) -> String {
        match &self.layers[index] {
            LayerSpec::Conv2d { name: Some(n), .. }
            | LayerSpec::Linear { name: Some(n), .. }
            | LayerSpec::BatchNorm { name: Some(n), .. } => n.clone(),
            _ => index.to_string(),
        }
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
            shape = match (layer, shape) {
                (LayerSpec::Skip, shape) => {
                    kept.push((i, shape));
                    shape
                }
                (LayerSpec::AddSkip, shape) => match kept.pop() {
                    Some((_, saved)) if saved == shape => shape,
                    Some((at, saved)) => {
                        return Err(bad(format!(
                            "add_skip adds {saved} (kept at layer {at}) to {shape}; an identity shortcut needs equal shapes"
                        )));
                    }
                    None => return Err(bad("add_skip without a skip before it".into())),
                },
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
                        return Err(bad(format!(
                            "conv2d expects {in_channels} input channels, gets {c}"
                        )));
                    }
                    if *groups == 0 || in_channels % groups != 0 || out_channels % groups != 0 {
                        return Err(bad(format!(
                            "conv2d groups ({groups}) must divide its {in_channels} input and {out_channels} output channels"
                        )));
                    }
                    match (
                        pooled(h, *kernel_size, *stride, *padding),
                        pooled(w, *kernel_size, *stride, *padding),
                    ) {
                        (Some(h), Some(w)) => Shape::Image([*out_channels, h, w]),
                        _ => return Err(bad(format!("conv2d kernel does not fit {shape}"))),
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
                        return Err(bad("pool padding must be at most half the kernel".into()));
                    }
                    match (
                        pooled(h, *kernel_size, stride, *padding),
                        pooled(w, *kernel_size, stride, *padding),
                    ) {
                        (Some(h), Some(w)) => Shape::Image([c, h, w]),
                        _ => return Err(bad(format!("pool window does not fit {shape}"))),
                    }
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
                        return Err(bad(format!(
                            "linear expects {in_features} input features, gets {n}"
                        )));
                    }
                    Shape::Flat(*out_features)
                }
                (LayerSpec::BatchNorm { num_features, .. }, shape) => {
                    let channels = match shape {
                        Shape::Image([c, ..]) => c,
                        Shape::Flat(n) => n,
                    };
                    if *num_features != channels {
                        return Err(bad(format!(
                            "batch norm over {num_features} features, gets {shape}"
                        )));
                    }
                    shape
                }
                (LayerSpec::Relu, shape) => shape,
                (LayerSpec::Flatten, Shape::Image([c, h, w])) => Shape::Flat(c * h * w),
                (LayerSpec::Flatten, Shape::Flat(n)) => Shape::Flat(n),
                (layer, shape) => {
                    return Err(bad(format!(
                        "{layer:?} cannot take an input of shape {shape}"
                    )));
                }
            };
            shapes.push(shape);
        }
        if let Some((at, _)) = kept.last() {
            return Err(Error::format(
                "model spec",
                format!("layer {at}: skip without a matching add_skip"),
            ));
        }
        Ok(shapes)
    }

    /// The zoo's architectures by name, for 1×28×28 inputs and 10 classes: `small-cnn` (the
    /// default), `mlp`, `lenet5` and `strided-cnn`.
    pub fn named(id: &str) -> Result<Self> {
        match id {
            "small-cnn" => Ok(Self::small_cnn()),
            "mlp" => Ok(Self::mlp()),
            "lenet5" => Ok(Self::lenet5()),
            "strided-cnn" => Ok(Self::strided_cnn()),
            "resnet-small" => Ok(Self::resnet_small()),
            "mobilenet-small" => Ok(Self::mobilenet_small()),
            other => Err(Error::InvalidArgument(format!(
                "unknown architecture {other:?}; the zoo has {}",
                Self::ZOO.join(", ")
            ))),
        }
    }

    /// Whether [`Self::named`] knows `id`.
    pub fn is_named(id: &str) -> bool {
        Self::ZOO.contains(&id)
    }

    /// The names [`Self::named`] knows.
    pub const ZOO: [&'static str; 6] = [
        "small-cnn",
        "mlp",
        "lenet5",
        "strided-cnn",
        "resnet-small",
        "mobilenet-small",
    ];

    /// flatten → fc-256 → ReLU → fc-256 → ReLU → fc-10.
    pub fn mlp() -> Self {
        Self {
            input: [1, 28, 28],
            layers: vec![
                LayerSpec::Flatten,
                linear("fc1", 784, 256),
                LayerSpec::Relu,
                linear("fc2", 256, 256),
                LayerSpec::Relu,
                linear("fc3", 256, 10),
            ],
        }
    }

    /// LeNet-5 style: conv3×3-32 → ReLU → pool2 → conv3×3-64 → ReLU → pool2 → fc-200 → ReLU →
    /// fc-10.
    pub fn lenet5() -> Self {
        Self::pooled_cnn(32, 64, 200)
    }

    /// The "small" model of the certified-training papers (Wong & Kolter, Gowal et al.): strided
    /// convolutions instead of pooling, which keeps interval and CROWN bounds tight.
    /// conv4×4-16/2 → ReLU → conv4×4-32/2 → ReLU → fc-100 → ReLU → fc-10.
    pub fn strided_cnn() -> Self {
        Self {
            input: [1, 28, 28],
            layers: vec![
                conv("conv1", 1, 16, 4, 2, 1),
                LayerSpec::Relu,
                conv("conv2", 16, 32, 4, 2, 1),
                LayerSpec::Relu,
                LayerSpec::Flatten,
                linear("fc1", 32 * 7 * 7, 100),
                LayerSpec::Relu,
                linear("fc2", 100, 10),
            ],
        }
    }

    /// A small ResNet: conv3×3-8 → ReLU → [conv3×3-8 → ReLU → conv3×3-8, + identity] → ReLU →
    /// conv3×3-16/2 → ReLU → [conv3×3-16 → ReLU → conv3×3-16, + identity] → ReLU → avgpool2 →
    /// fc-10 (He et al.'s basic blocks, without batch norm so that it trains and certifies like the
    /// rest of the zoo).
    pub fn resnet_small() -> Self {
        let block = |name: &str, c: usize| {
            vec![
                LayerSpec::Skip,
                conv(&format!("{name}.conv1"), c, c, 3, 1, 1),
                LayerSpec::Relu,
                conv(&format!("{name}.conv2"), c, c, 3, 1, 1),
                LayerSpec::AddSkip,
                LayerSpec::Relu,
            ]
        };
        let mut layers = vec![conv("stem", 1, 8, 3, 1, 1), LayerSpec::Relu];
        layers.extend(block("block1", 8));
        layers.extend([conv("down", 8, 16, 3, 2, 1), LayerSpec::Relu]);
        layers.extend(block("block2", 16));
        layers.extend([
            LayerSpec::AvgPool2d {
                kernel_size: 2,
                stride: None,
                padding: 0,
            },
            LayerSpec::Flatten,
            linear("fc", 16 * 7 * 7, 10),
        ]);
        Self {
            input: [1, 28, 28],
            layers,
        }
    }

    /// A small MobileNet-style net of depthwise-separable blocks (Howard et al.): conv3×3-16/2 →
    /// ReLU → dw3×3 → ReLU → pw1×1-32 → ReLU → dw3×3/2 → ReLU → pw1×1-64 → ReLU → avgpool2 →
    /// fc-10. (A global average pool, as in MobileNet proper, left this shallow net at 78% on
    /// MNIST after 4 epochs; keeping 3×3 positions brings it to the rest of the zoo.)
    pub fn mobilenet_small() -> Self {
        Self {
            input: [1, 28, 28],
            layers: vec![
                conv("stem", 1, 16, 3, 2, 1),
                LayerSpec::Relu,
                depthwise("dw1", 16, 1),
                LayerSpec::Relu,
                conv("pw1", 16, 32, 1, 1, 0),
                LayerSpec::Relu,
                depthwise("dw2", 32, 2),
                LayerSpec::Relu,
                conv("pw2", 32, 64, 1, 1, 0),
                LayerSpec::Relu,
                LayerSpec::AvgPool2d {
                    kernel_size: 2,
                    stride: None,
                    padding: 0,
                },
                LayerSpec::Flatten,
                linear("fc", 64 * 3 * 3, 10),
            ],
        }
    }

    /// The spec of the playground's default model (`mnist-small-cnn`), with its tensor names:
    /// conv3×3-8 → ReLU → pool2 → conv3×3-16 → ReLU → pool2 → fc-64 → ReLU → fc-10.
    pub fn small_cnn() -> Self {
        Self::pooled_cnn(8, 16, 64)
    }

    /// conv3×3-`c1` → ReLU → pool2 → conv3×3-`c2` → ReLU → pool2 → fc-`hidden` → ReLU → fc-10 on
    /// 1×28×28 inputs (the second pool leaves 5×5 maps).
    fn pooled_cnn(c1: usize, c2: usize, hidden: usize) -> Self {
        Self {
            input: [1, 28, 28],
            layers: vec![
                conv("conv1", 1, c1, 3, 1, 0),
                LayerSpec::Relu,
                pool2(),
                conv("conv2", c1, c2, 3, 1, 0),
                LayerSpec::Relu,
                pool2(),
                LayerSpec::Flatten,
                linear("fc1", c2 * 5 * 5, hidden),
                LayerSpec::Relu,
                linear("fc2", hidden, 10),
            ],
        }
    }
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
