//! The paper's ImageNet classifiers as layer specs with the tensor names of the state dicts users
//! have: torchvision's `resnet18`, `vgg16`, `vgg16_bn`, `densenet121` and `mobilenet_v2`, and
//! EfficientNet-Lite0/1 as the PyPI package `efficientnet-lite-pytorch` names them. Each starts
//! with its input normalisation, so the model takes pixels in [0, 1].

use super::{batch_norm, conv_bn, linear};
use crate::model::spec::{LayerSpec, ModelSpec, Padding};

/// torchvision's ImageNet normalisation: per-channel mean.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// torchvision's ImageNet normalisation: per-channel standard deviation.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// EfficientNet-Lite's normalisation (TensorFlow's lite preprocessing, 127 and 128 of 255).
pub const LITE_MEAN: [f32; 3] = [127.0 / 255.0; 3];
/// EfficientNet-Lite's normalisation: deviation.
pub const LITE_STD: [f32; 3] = [128.0 / 255.0; 3];

/// torchvision's batch-norm ε.
const EPS: f64 = 1e-5;

fn normalize(mean: [f32; 3], std: [f32; 3]) -> LayerSpec {
    LayerSpec::Normalize {
        mean: mean.to_vec(),
        std: std.to_vec(),
    }
}

fn max_pool(kernel: usize, stride: usize, padding: usize) -> LayerSpec {
    LayerSpec::MaxPool2d {
        kernel_size: kernel,
        stride: Some(stride),
        padding,
    }
}

fn adaptive(side: usize) -> LayerSpec {
    LayerSpec::AdaptiveAvgPool2d {
        output_size: [side, side],
    }
}

/// A convolution without bias followed by its batch norm (`{name}.weight`, then the norm's own).
fn conv_norm(
    conv: &str,
    norm: &str,
    [i, o]: [usize; 2],
    (kernel, stride, padding): (usize, usize, Padding),
    groups: usize,
    eps: f64,
) -> [LayerSpec; 2] {
    [
        conv_bn(conv, [i, o], kernel, stride, padding, groups),
        batch_norm(norm, o, eps),
    ]
}

/// ResNet-18 (He et al.): basic blocks of two 3×3 convolutions, projection shortcuts (1×1
/// convolution and batch norm) where the shape changes.
pub(super) fn resnet18(side: usize) -> ModelSpec {
    let mut layers = vec![normalize(IMAGENET_MEAN, IMAGENET_STD)];
    layers.extend(conv_norm("conv1", "bn1", [3, 64], (7, 2, 3.into()), 1, EPS));
    layers.extend([LayerSpec::Relu, max_pool(3, 2, 1)]);
    let mut channels = 64;
    for (stage, width) in [64, 128, 256, 512].into_iter().enumerate() {
        for block in 0..2 {
            let p = format!("layer{}.{block}", stage + 1);
            let stride = if block == 0 && stage > 0 { 2 } else { 1 };
            layers.push(LayerSpec::Skip);
            layers.extend(conv_norm(
                &format!("{p}.conv1"),
                &format!("{p}.bn1"),
                [channels, width],
                (3, stride, 1.into()),
                1,
                EPS,
            ));
            layers.push(LayerSpec::Relu);
            layers.extend(conv_norm(
                &format!("{p}.conv2"),
                &format!("{p}.bn2"),
                [width, width],
                (3, 1, 1.into()),
                1,
                EPS,
            ));
            let shortcut = if stride != 1 || channels != width {
                conv_norm(
                    &format!("{p}.downsample.0"),
                    &format!("{p}.downsample.1"),
                    [channels, width],
                    (1, stride, 0.into()),
                    1,
                    EPS,
                )
                .to_vec()
            } else {
                Vec::new()
            };
            layers.extend([LayerSpec::AddSkip { shortcut }, LayerSpec::Relu]);
            channels = width;
        }
    }
    layers.extend([adaptive(1), LayerSpec::Flatten, linear("fc", 512, 1000)]);
    ModelSpec {
        input: [3, side, side],
        layers,
    }
}

/// VGG-16 (Simonyan & Zisserman, configuration D), with batch norm after every convolution for
/// `vgg16_bn`; torchvision numbers the layers of `features` and `classifier` in order.
pub(super) fn vgg16(side: usize, batch_norm_after: bool) -> ModelSpec {
    const CONFIG: [usize; 18] = [
        64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
    ];
    let mut layers = vec![normalize(IMAGENET_MEAN, IMAGENET_STD)];
    let (mut index, mut channels) = (0, 3);
    for width in CONFIG {
        if width == 0 {
            layers.push(max_pool(2, 2, 0));
            index += 1;
            continue;
        }
        layers.push(LayerSpec::Conv2d {
            name: Some(format!("features.{index}")),
            in_channels: channels,
            out_channels: width,
            kernel_size: 3,
            stride: 1,
            padding: 1.into(),
            bias: true,
            groups: 1,
        });
        index += 1;
        if batch_norm_after {
            layers.push(batch_norm(&format!("features.{index}"), width, EPS));
            index += 1;
        }
        layers.push(LayerSpec::Relu);
        index += 1;
        channels = width;
    }
    let dropout = LayerSpec::Dropout { p: 0.5 };
    layers.extend([
        adaptive(7),
        LayerSpec::Flatten,
        linear("classifier.0", 512 * 7 * 7, 4096),
        LayerSpec::Relu,
        dropout.clone(),
        linear("classifier.3", 4096, 4096),
        LayerSpec::Relu,
        dropout,
        linear("classifier.6", 4096, 1000),
    ]);
    ModelSpec {
        input: [3, side, side],
        layers,
    }
}

/// DenseNet-121 (Huang et al.): dense blocks of 6, 12, 24 and 16 layers (growth 32, bottleneck
/// 4×32), each layer's output concatenated to its input; transitions halve the channels and the
/// size.
pub(super) fn densenet121(side: usize) -> ModelSpec {
    let mut layers = vec![normalize(IMAGENET_MEAN, IMAGENET_STD)];
    layers.extend(conv_norm(
        "features.conv0",
        "features.norm0",
        [3, 64],
        (7, 2, 3.into()),
        1,
        EPS,
    ));
    layers.extend([LayerSpec::Relu, max_pool(3, 2, 1)]);
    let mut channels = 64;
    for (b, count) in [6, 12, 24, 16].into_iter().enumerate() {
        for l in 1..=count {
            let p = format!("features.denseblock{}.denselayer{l}", b + 1);
            layers.extend([
                LayerSpec::Skip,
                batch_norm(&format!("{p}.norm1"), channels, EPS),
                LayerSpec::Relu,
                conv_bn(&format!("{p}.conv1"), [channels, 128], 1, 1, 0.into(), 1),
                batch_norm(&format!("{p}.norm2"), 128, EPS),
                LayerSpec::Relu,
                conv_bn(&format!("{p}.conv2"), [128, 32], 3, 1, 1.into(), 1),
                LayerSpec::ConcatSkip,
            ]);
            channels += 32;
        }
        if b < 3 {
            let p = format!("features.transition{}", b + 1);
            layers.extend([
                batch_norm(&format!("{p}.norm"), channels, EPS),
                LayerSpec::Relu,
                conv_bn(
                    &format!("{p}.conv"),
                    [channels, channels / 2],
                    1,
                    1,
                    0.into(),
                    1,
                ),
                LayerSpec::AvgPool2d {
                    kernel_size: 2,
                    stride: Some(2),
                    padding: 0,
                },
            ]);
            channels /= 2;
        }
    }
    layers.extend([
        batch_norm("features.norm5", channels, EPS),
        LayerSpec::Relu,
        adaptive(1),
        LayerSpec::Flatten,
        linear("classifier", channels, 1000),
    ]);
    ModelSpec {
        input: [3, side, side],
        layers,
    }
}

/// MobileNetV2 (Sandler et al.): inverted residual blocks (1×1 expansion, 3×3 depthwise, 1×1
/// linear projection, ReLU6), an identity shortcut where the shape stays.
pub(super) fn mobilenet_v2(side: usize) -> ModelSpec {
    const SETTINGS: [(usize, usize, usize, usize); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut layers = vec![normalize(IMAGENET_MEAN, IMAGENET_STD)];
    layers.extend(conv_norm(
        "features.0.0",
        "features.0.1",
        [3, 32],
        (3, 2, 1.into()),
        1,
        EPS,
    ));
    layers.push(LayerSpec::Relu6);
    let (mut channels, mut index) = (32, 1);
    for (expand, width, repeats, first_stride) in SETTINGS {
        for r in 0..repeats {
            let stride = if r == 0 { first_stride } else { 1 };
            let hidden = channels * expand;
            let p = format!("features.{index}.conv");
            let residual = stride == 1 && channels == width;
            if residual {
                layers.push(LayerSpec::Skip);
            }
            let mut part = 0;
            if expand != 1 {
                layers.extend(conv_norm(
                    &format!("{p}.0.0"),
                    &format!("{p}.0.1"),
                    [channels, hidden],
                    (1, 1, 0.into()),
                    1,
                    EPS,
                ));
                layers.push(LayerSpec::Relu6);
                part += 1;
            }
            layers.extend(conv_norm(
                &format!("{p}.{part}.0"),
                &format!("{p}.{part}.1"),
                [hidden, hidden],
                (3, stride, 1.into()),
                hidden,
                EPS,
            ));
            layers.push(LayerSpec::Relu6);
            layers.extend(conv_norm(
                &format!("{p}.{}", part + 1),
                &format!("{p}.{}", part + 2),
                [hidden, width],
                (1, 1, 0.into()),
                1,
                EPS,
            ));
            if residual {
                layers.push(LayerSpec::ADD_SKIP);
            }
            channels = width;
            index += 1;
        }
    }
    layers.extend(conv_norm(
        "features.18.0",
        "features.18.1",
        [channels, 1280],
        (1, 1, 0.into()),
        1,
        EPS,
    ));
    layers.extend(mobile_head("classifier.1"));
    ModelSpec {
        input: [3, side, side],
        layers,
    }
}

/// EfficientNet-Lite (Tan & Le's EfficientNet without squeeze-and-excitation and with ReLU6) at
/// depth multiplier `depth` (1.0 for Lite0, 1.1 for Lite1; the width stays 1.0 and the stem and
/// head are not scaled), TensorFlow "same" padding and batch-norm ε = 10⁻³, as the weights
/// converted from TensorFlow by `efficientnet-lite-pytorch` expect.
pub(super) fn efficientnet_lite(side: usize, depth: f64) -> ModelSpec {
    // (repeats, kernel, stride, expansion, input, output) of the seven stages.
    const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
        (1, 3, 1, 1, 32, 16),
        (2, 3, 2, 6, 16, 24),
        (2, 5, 2, 6, 24, 40),
        (3, 3, 2, 6, 40, 80),
        (3, 5, 1, 6, 80, 112),
        (4, 5, 2, 6, 112, 192),
        (1, 3, 1, 6, 192, 320),
    ];
    const LITE_EPS: f64 = 1e-3;
    let same = Padding::SAME;
    let mut layers = vec![normalize(LITE_MEAN, LITE_STD)];
    layers.extend(conv_norm(
        "_conv_stem",
        "_bn0",
        [3, 32],
        (3, 2, same),
        1,
        LITE_EPS,
    ));
    layers.push(LayerSpec::Relu6);
    let mut block = 0;
    for (s, &(repeats, kernel, stride, expand, input, output)) in STAGES.iter().enumerate() {
        // The first and last stages keep their depth (`fix_head_stem`).
        let repeats = if s == 0 || s == STAGES.len() - 1 {
            repeats
        } else {
            (depth * repeats as f64).ceil() as usize
        };
        for r in 0..repeats {
            let (input, stride) = if r == 0 { (input, stride) } else { (output, 1) };
            let hidden = input * expand;
            let p = format!("_blocks.{block}");
            let residual = stride == 1 && input == output;
            if residual {
                layers.push(LayerSpec::Skip);
            }
            if expand != 1 {
                layers.extend(conv_norm(
                    &format!("{p}._expand_conv"),
                    &format!("{p}._bn0"),
                    [input, hidden],
                    (1, 1, same),
                    1,
                    LITE_EPS,
                ));
                layers.push(LayerSpec::Relu6);
            }
            layers.extend(conv_norm(
                &format!("{p}._depthwise_conv"),
                &format!("{p}._bn1"),
                [hidden, hidden],
                (kernel, stride, same),
                hidden,
                LITE_EPS,
            ));
            layers.push(LayerSpec::Relu6);
            layers.extend(conv_norm(
                &format!("{p}._project_conv"),
                &format!("{p}._bn2"),
                [hidden, output],
                (1, 1, same),
                1,
                LITE_EPS,
            ));
            if residual {
                layers.push(LayerSpec::ADD_SKIP);
            }
            block += 1;
        }
    }
    layers.extend(conv_norm(
        "_conv_head",
        "_bn1",
        [320, 1280],
        (1, 1, same),
        1,
        LITE_EPS,
    ));
    layers.extend(mobile_head("_fc"));
    ModelSpec {
        input: [3, side, side],
        layers,
    }
}

/// The head MobileNetV2 and EfficientNet-Lite share: ReLU6, global average pooling, dropout 0.2
/// and the 1280 → 1000 classifier named `fc`.
fn mobile_head(fc: &str) -> [LayerSpec; 5] {
    [
        LayerSpec::Relu6,
        adaptive(1),
        LayerSpec::Flatten,
        LayerSpec::Dropout { p: 0.2 },
        linear(fc, 1280, 1000),
    ]
}
