//! Named architectures: the MNIST zoo's small nets and the ImageNet classifiers of the paper
//! (torchvision's ResNet-18, VGG-16, DenseNet-121 and MobileNetV2, and EfficientNet-Lite), each a
//! [`ModelSpec`] whose layer names are the tensor names of the state dicts users have.

mod imagenet;
mod mnist;

pub use imagenet::{IMAGENET_MEAN, IMAGENET_STD, LITE_MEAN, LITE_STD};

use super::spec::{LayerSpec, ModelSpec, Padding};
use crate::error::{Error, Result};

/// A convolution with a bias and symmetric zero padding.
fn conv(name: &str, i: usize, o: usize, kernel: usize, stride: usize, padding: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        name: Some(name.into()),
        in_channels: i,
        out_channels: o,
        kernel_size: kernel,
        stride,
        padding: Padding::Zeros(padding),
        bias: true,
        groups: 1,
    }
}

/// A convolution without bias (followed by batch norm), `groups` channel groups.
fn conv_bn(
    name: &str,
    [i, o]: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: Padding,
    groups: usize,
) -> LayerSpec {
    LayerSpec::Conv2d {
        name: Some(name.into()),
        in_channels: i,
        out_channels: o,
        kernel_size: kernel,
        stride,
        padding,
        bias: false,
        groups,
    }
}

/// A depthwise 3×3 convolution over `c` channels, with a bias.
fn depthwise(name: &str, c: usize, stride: usize) -> LayerSpec {
    let mut layer = conv(name, c, c, 3, stride, 1);
    if let LayerSpec::Conv2d { groups, .. } = &mut layer {
        *groups = c;
    }
    layer
}

fn linear(name: &str, i: usize, o: usize) -> LayerSpec {
    LayerSpec::Linear {
        name: Some(name.into()),
        in_features: i,
        out_features: o,
        bias: true,
    }
}

fn batch_norm(name: &str, c: usize, eps: f64) -> LayerSpec {
    LayerSpec::BatchNorm {
        name: Some(name.into()),
        num_features: c,
        eps,
    }
}

fn pool2() -> LayerSpec {
    LayerSpec::MaxPool2d {
        kernel_size: 2,
        stride: None,
        padding: 0,
    }
}

/// The MNIST zoo's architectures, which the page can train.
pub const MNIST: [&str; 7] = [
    "small-cnn",
    "mlp",
    "lenet5",
    "strided-cnn",
    "wide-cnn",
    "resnet-small",
    "mobilenet-small",
];

/// The ImageNet architectures, with torchvision's (or efficientnet-lite-pytorch's) names.
pub const IMAGENET: [&str; 7] = [
    "resnet18",
    "vgg16",
    "vgg16_bn",
    "densenet121",
    "mobilenet_v2",
    "efficientnet_lite0",
    "efficientnet_lite1",
];

impl ModelSpec {
    /// The MNIST zoo's architectures (for 1×28×28 inputs and 10 classes).
    pub const ZOO: [&'static str; 7] = MNIST;

    /// A named architecture: one of [`MNIST`] (1×28×28, 10 classes) or [`IMAGENET`] (at its own
    /// resolution: 224×224, 240×240 for EfficientNet-Lite1; 1,000 classes), or `ID@SIDE` for an
    /// ImageNet one at another resolution (`efficientnet_lite1@224`).
    pub fn named(id: &str) -> Result<Self> {
        if let Some((base, side)) = id.split_once('@') {
            let side = side
                .parse::<usize>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "{id:?}: the side after @ must be a pixel count"
                    ))
                })?;
            return Self::imagenet(base, side);
        }
        match id {
            "small-cnn" => Ok(Self::small_cnn()),
            "mlp" => Ok(Self::mlp()),
            "lenet5" => Ok(Self::lenet5()),
            "strided-cnn" => Ok(Self::strided_cnn()),
            "wide-cnn" => Ok(Self::wide_cnn()),
            "resnet-small" => Ok(Self::resnet_small()),
            "mobilenet-small" => Ok(Self::mobilenet_small()),
            _ if IMAGENET.contains(&id) => Self::imagenet(id, Self::imagenet_resolution(id)),
            other => Err(Error::InvalidArgument(format!(
                "unknown architecture {other:?}; known: {}, {}",
                MNIST.join(", "),
                IMAGENET.join(", ")
            ))),
        }
    }

    /// Whether [`Self::named`] knows `id`.
    pub fn is_named(id: &str) -> bool {
        let base = id.split_once('@').map_or(id, |(base, _)| base);
        MNIST.contains(&id) || IMAGENET.contains(&base)
    }

    /// The input side an ImageNet architecture was trained at: 240 for EfficientNet-Lite1, 224
    /// for the others.
    pub fn imagenet_resolution(id: &str) -> usize {
        if id == "efficientnet_lite1" { 240 } else { 224 }
    }

    /// The ImageNet architecture `id` on `side × side` RGB inputs (any side they reduce to at
    /// least one pixel; the goldens use 64 to stay quick).
    pub fn imagenet(id: &str, side: usize) -> Result<Self> {
        let spec = match id {
            "resnet18" => imagenet::resnet18(side),
            "vgg16" => imagenet::vgg16(side, false),
            "vgg16_bn" => imagenet::vgg16(side, true),
            "densenet121" => imagenet::densenet121(side),
            "mobilenet_v2" => imagenet::mobilenet_v2(side),
            "efficientnet_lite0" => imagenet::efficientnet_lite(side, 1.0),
            "efficientnet_lite1" => imagenet::efficientnet_lite(side, 1.1),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown ImageNet architecture {other:?}; known: {}",
                    IMAGENET.join(", ")
                )));
            }
        };
        spec.output_shapes()?;
        Ok(spec)
    }
}
