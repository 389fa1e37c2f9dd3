//! A small convolutional classifier for 28×28 grey images: the playground's default model.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

/// conv3×3-8 → ReLU → pool2 → conv3×3-16 → ReLU → pool2 → fc-64 → ReLU → fc-10.
///
/// Field names follow the PyTorch module of the same shape (`conv1`, `conv2`, `fc1`, `fc2`), so a
/// PyTorch state dict with these names loads unchanged.
#[derive(Module, Debug)]
pub struct SmallCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
    pool: MaxPool2d,
    relu: Relu,
}

impl SmallCnn {
    /// Freshly initialised weights on `device` (seed the device for reproducibility).
    pub fn new(device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([1, 8], [3, 3]).init(device),
            conv2: Conv2dConfig::new([8, 16], [3, 3]).init(device),
            fc1: LinearConfig::new(16 * 5 * 5, 64).init(device),
            fc2: LinearConfig::new(64, 10).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            relu: Relu::new(),
        }
    }

    /// Logits `[n, 10]` for images `[n, 1, 28, 28]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .pool
            .forward(self.relu.forward(self.conv1.forward(images)));
        let x = self.pool.forward(self.relu.forward(self.conv2.forward(x)));
        let x = x.flatten::<2>(1, 3);
        self.fc2.forward(self.relu.forward(self.fc1.forward(x)))
    }
}
