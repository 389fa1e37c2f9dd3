//! Evaluation: predictions and accuracy over a dataset.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Classifier;

/// Class probabilities `[n, classes]` of `model` on `images`.
pub fn probabilities(model: &impl Classifier, images: Tensor<4>) -> Tensor<2> {
    softmax(model.logits(images), 1)
}

/// Predicted classes `[n]` of `model` on `images`, by its logits averaged over `draws` forward
/// passes (one for a deterministic model; several for a randomized one, whose prediction is an
/// expectation).
pub fn predictions(model: &impl Classifier, images: Tensor<4>, draws: usize) -> Tensor<1, Int> {
    let n = images.dims()[0];
    let draws = draws.max(1);
    let batch = if draws > 1 {
        images.repeat_dim(0, draws)
    } else {
        images
    };
    let logits = model.logits(batch);
    let classes = logits.dims()[1];
    let mean = logits
        .reshape([draws, n, classes])
        .mean_dim(0)
        .reshape([n, classes]);
    mean.argmax(1).reshape([n])
}

/// Fraction of `data` that `model` classifies correctly, evaluated in batches on `device`.
/// Reads back one number per batch (synchronous: native only).
pub fn accuracy(
    model: &impl Classifier,
    data: &Dataset,
    device: &Device,
    batch_size: usize,
) -> Result<f64> {
    if data.is_empty() || batch_size == 0 {
        return Err(Error::InvalidArgument(
            "accuracy needs data and a positive batch size".into(),
        ));
    }
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut correct = 0i64;
    for batch in indices.chunks(batch_size) {
        let (images, labels) = data.batch(batch, device)?;
        let hits = model
            .logits(images)
            .argmax(1)
            .flatten::<1>(0, 1)
            .equal(labels)
            .int()
            .sum();
        let data = hits
            .try_into_data()
            .map_err(|e| Error::Device(e.to_string()))?;
        correct += data.iter::<i64>().next().unwrap_or(0);
    }
    Ok(correct as f64 / data.len() as f64)
}
