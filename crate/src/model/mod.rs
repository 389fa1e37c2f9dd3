//! Classifiers: the [`Classifier`] trait, layer specs for any architecture ([`ModelSpec`]), the
//! inference form that attacks and bounds walk ([`Sequential`]) and its trainable twin
//! ([`TrainableNet`]).

mod architectures;
mod convert;
#[cfg(not(target_arch = "wasm32"))]
mod files;
mod sequential;
mod spec;
mod trainable;

pub use architectures::{IMAGENET, IMAGENET_MEAN, IMAGENET_STD, LITE_MEAN, LITE_STD, MNIST};
pub use convert::convert_weights;
#[cfg(not(target_arch = "wasm32"))]
pub use files::{read_file, read_weights_file};
pub use sequential::{
    Activation, Flow, Layer, Sequential, StoredDtype, WeightMap, adaptive_window, fold_layers,
    padded_conv2d, read_safetensors, write_safetensors, write_safetensors_as,
};
pub(crate) use spec::next_shape;
pub use spec::{LayerSpec, ModelSpec, Padding, Parameter, ParameterRole, SameKeyword, Shape};
pub use trainable::{ConvParams, LayerParams, LinearParams, NoParams, TrainableNet};

/// Anything that maps a batch of images to class logits.
pub trait Classifier {
    /// Logits `[n, classes]` for images `[n, channels, height, width]` in the pixel range.
    fn logits(&self, images: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2>;
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
