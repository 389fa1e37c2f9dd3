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

/// `objective` of `model`'s logits at `images` (per sample, or any `[m]` such as a batch mean),
/// its input gradient (of the sum, so each sample's gradient is its own), and the logits.
///
/// The model's parameters are constants here whichever device they were created on; the images
/// are moved onto autodiff. Returned tensors carry no graph.
pub fn objective_gradient(
    model: &impl Classifier,
    images: Tensor<4>,
    objective: impl FnOnce(Tensor<2>) -> Tensor<1>,
) -> (Tensor<1>, Tensor<4>, Tensor<2>) {
    expected_objective_gradient(model, images, 1, objective)
}

/// Expectation over transformation (Athalye et al., the paper's Eq. 16): the objective, its input
/// gradient and the logits, each averaged over `samples` forward passes of a randomized model.
///
/// The batch is repeated `samples` times in one forward pass (copy-major: rows `j·n..(j+1)·n` are
/// draw `j`), so `objective` receives `[samples·n, classes]` logits and must return `[samples·n]`
/// (repeat any per-sample targets with `repeat_dim(0, samples)`). With `samples = 1` this is the
/// plain gradient.
pub fn expected_objective_gradient(
    model: &impl Classifier,
    images: Tensor<4>,
    samples: usize,
    objective: impl FnOnce(Tensor<2>) -> Tensor<1>,
) -> (Tensor<1>, Tensor<4>, Tensor<2>) {
    let samples = samples.max(1);
    let n = images.dims()[0];
    let images = images.detach().autodiff().require_grad();
    let batch = if samples > 1 {
        images.clone().repeat_dim(0, samples)
    } else {
        images.clone()
    };
    let logits = model.logits(batch);
    let classes = logits.dims()[1];
    let value = objective(logits.clone());
    let value = if samples > 1 {
        value.reshape([samples, n]).mean_dim(0).reshape([n])
    } else {
        value
    };
    let grads = value.clone().sum().backward();
    let gradient = images
        .grad(&grads)
        .expect("the images require a gradient, so backward yields one");
    let logits = logits
        .without_autodiff()
        .reshape([samples, n, classes])
        .mean_dim(0)
        .reshape([n, classes]);
    (value.without_autodiff(), gradient, logits)
}

/// Mean cross-entropy of `model` on `images` and its gradient with respect to the images.
pub fn input_gradient(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> InputGradient {
    let (loss, gradient, logits) =
        objective_gradient(model, images, |logits| cross_entropy(logits, labels));
    InputGradient {
        loss,
        logits,
        gradient,
    }
}
