//! Classifiers, their weights, and the model shipped as the playground default.

mod sequential;
mod small_cnn;
mod spec;
mod trainable;
mod weights;

pub use sequential::{
    Activation, Layer, Sequential, WeightMap, fold_layers, read_safetensors, write_safetensors,
};
pub use small_cnn::SmallCnn;
pub use spec::{LayerSpec, ModelSpec, Shape};
pub use trainable::{ConvParams, LayerParams, LinearParams, NoParams, TrainableNet};
pub use weights::{load_safetensors, to_safetensors};

use burn::tensor::Device;

use crate::error::Result;

/// SafeTensors bytes of the default MNIST model in `models/`.
pub const DEFAULT_MNIST_WEIGHTS: &[u8] =
    include_bytes!("../../../models/mnist-small-cnn.safetensors");

impl SmallCnn {
    /// A model with `bytes` (SafeTensors, PyTorch layout) loaded onto `device`.
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self> {
        let mut model = SmallCnn::new(device);
        load_safetensors(&mut model, bytes)?;
        Ok(model)
    }

    /// The shipped default MNIST model on `device`.
    pub fn default_mnist(device: &Device) -> Result<Self> {
        Self::from_safetensors(DEFAULT_MNIST_WEIGHTS, device)
    }
}

/// Anything that maps a batch of images to class logits.
pub trait Classifier {
    /// Logits `[n, classes]` for images `[n, channels, height, width]` in the pixel range.
    fn logits(&self, images: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2>;
}

impl Classifier for SmallCnn {
    fn logits(&self, images: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2> {
        self.forward(images)
    }
}

impl<M: Classifier + ?Sized> Classifier for &M {
    fn logits(&self, images: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2> {
        (**self).logits(images)
    }
}

impl<M: Classifier + ?Sized> Classifier for Box<M> {
    fn logits(&self, images: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2> {
        (**self).logits(images)
    }
}

/// A classifier whose logits are its flattened input, for unit tests of input transformations.
#[cfg(test)]
pub(crate) struct Identity;

#[cfg(test)]
impl Classifier for Identity {
    fn logits(&self, images: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2> {
        images.flatten(1, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Other {
        conv1: Linear,
    }

    #[test]
    fn default_weights_load_and_foreign_weights_are_refused() {
        let device = Device::flex();
        assert!(SmallCnn::default_mnist(&device).is_ok());
        let other = Other {
            conv1: LinearConfig::new(3, 2).init(&device),
        };
        let bytes = to_safetensors(&other).unwrap();
        let err = SmallCnn::from_safetensors(&bytes, &device)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid weights"), "{err}");
        let err = SmallCnn::from_safetensors(&[1, 2, 3], &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("too short"), "{err}");
    }
}
