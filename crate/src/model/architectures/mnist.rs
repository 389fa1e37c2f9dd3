//! The MNIST zoo's architectures (1×28×28 inputs, 10 classes), with the names their weights use.

use super::{conv, depthwise, linear, pool2};
use crate::model::spec::{LayerSpec, ModelSpec};

impl ModelSpec {
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
        Self::strided(16, 32, 100)
    }

    /// [`Self::strided_cnn`] twice as wide in its convolutions and five times in its hidden layer,
    /// for IBP training at ε = 0.3, where the small one runs out of capacity.
    /// conv4×4-32/2 → ReLU → conv4×4-64/2 → ReLU → fc-512 → ReLU → fc-10.
    pub fn wide_cnn() -> Self {
        Self::strided(32, 64, 512)
    }

    /// conv4×4-`c1`/2 → ReLU → conv4×4-`c2`/2 → ReLU → fc-`hidden` → ReLU → fc-10.
    fn strided(c1: usize, c2: usize, hidden: usize) -> Self {
        Self {
            input: [1, 28, 28],
            layers: vec![
                conv("conv1", 1, c1, 4, 2, 1),
                LayerSpec::Relu,
                conv("conv2", c1, c2, 4, 2, 1),
                LayerSpec::Relu,
                LayerSpec::Flatten,
                linear("fc1", c2 * 7 * 7, hidden),
                LayerSpec::Relu,
                linear("fc2", hidden, 10),
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
                LayerSpec::ADD_SKIP,
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
