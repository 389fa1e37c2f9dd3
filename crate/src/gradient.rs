//! Gradients of the classification loss with respect to the input images: the primitive every
//! white-box attack is built on.

use burn::tensor::{Int, Tensor};

use crate::loss::cross_entropy;
use crate::model::Classifier;

/// The loss, logits and input gradient of one forward/backward pass.
#[derive(Debug, Clone)]
pub struct InputGradient {
    /// Mean cross-entropy over the batch, `[1]`.
    pub loss: Tensor<1>,
    /// Logits `[n, classes]` at the given images.
    pub logits: Tensor<2>,
    /// d loss / d images, `[n, c, h, w]`.
    pub gradient: Tensor<4>,
}

/// Mean cross-entropy of `model` on `images` and its gradient with respect to the images.
///
/// The images must live on an autodiff device (`device.autodiff()`); the model's parameters are
/// constants here whichever device they were created on. Returned tensors carry no graph.
pub fn input_gradient(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> InputGradient {
    let images = images.detach().autodiff().require_grad();
    let logits = model.logits(images.clone());
    let loss = cross_entropy(logits.clone(), labels);
    let grads = loss.backward();
    let gradient = images
        .grad(&grads)
        .expect("the images require a gradient, so backward yields one");
    InputGradient {
        loss: loss.without_autodiff(),
        logits: logits.without_autodiff(),
        gradient,
    }
}
