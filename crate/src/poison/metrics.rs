//! What a poison achieved: the poisoned model's clean accuracy, the share of triggered test images
//! of other classes it sends to the target, and whether chosen test images flip.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::trigger::Trigger;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::predictions;
use crate::model::{Classifier, Sequential};
use crate::runtime::readback::read_f32;

/// `per_batch` of every batch of `batch_size` images of `data`, read back: the rows image after
/// image, and their width.
async fn read_batches(
    data: &Dataset,
    batch_size: usize,
    device: &Device,
    per_batch: impl Fn(Tensor<4>) -> Result<Tensor<2>>,
) -> Result<(Vec<f32>, usize)> {
    let batch_size = batch_size.max(1);
    let mut out = Vec::new();
    let mut width = 0;
    for start in (0..data.len()).step_by(batch_size) {
        crate::runtime::pace::pause().await;
        let indices: Vec<usize> = (start..(start + batch_size).min(data.len())).collect();
        let (images, _) = data.batch(&indices, device)?;
        let rows = per_batch(images)?;
        width = rows.dims()[1];
        out.extend(read_f32(rows).await?);
    }
    Ok((out, width))
}

/// Predicted classes of `model` on every image of `data`, `batch_size` images at a time.
pub async fn predict(
    model: &impl Classifier,
    data: &Dataset,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<usize>> {
    let (classes, _) = read_batches(data, batch_size, device, |images| {
        Ok(predictions(model, images, 1).float().unsqueeze_dim(1))
    })
    .await?;
    Ok(classes.into_iter().map(|c| c as usize).collect())
}

/// The penultimate features (see [`Sequential::features`]) of every image of `data`, image after
/// image, with their width.
pub async fn features(
    model: &Sequential,
    data: &Dataset,
    batch_size: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    read_batches(data, batch_size, device, |images| model.features(images)).await
}

/// Accuracy of `predicted` against `data`'s labels.
pub fn accuracy(predicted: &[usize], data: &Dataset) -> f64 {
    let right = predicted
        .iter()
        .zip(data.labels())
        .filter(|(p, l)| **p == usize::from(**l))
        .count();
    right as f64 / data.len().max(1) as f64
}

/// The test images of classes other than `target`, with the trigger stamped on.
pub fn triggered(test: &Dataset, trigger: &Trigger, target: usize) -> Result<Dataset> {
    let shape = test.image_shape();
    let kept: Vec<usize> = (0..test.len())
        .filter(|&i| usize::from(test.labels()[i]) != target)
        .collect();
    let mut set = test.subset(&kept)?;
    let size = shape.iter().product::<usize>();
    let mut pixels = set.pixels().to_vec();
    for image in pixels.chunks_mut(size) {
        trigger.stamp(image, shape)?;
    }
    set = Dataset::with_shape(set.kind, shape, pixels, set.labels().to_vec())?;
    Ok(set)
}

/// A backdoored model measured on a test set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackdoorScore {
    /// Accuracy on the clean test set.
    pub clean_accuracy: f64,
    /// Test images of other classes, triggered.
    pub triggered_images: usize,
    /// Fraction of them classified as the target: the attack success rate.
    pub attack_success_rate: f64,
}

/// Clean accuracy on `test` and the attack success rate of `trigger` toward `target`.
pub async fn backdoor_score(
    model: &impl Classifier,
    test: &Dataset,
    trigger: &Trigger,
    target: usize,
    batch_size: usize,
    device: &Device,
) -> Result<BackdoorScore> {
    if test.is_empty() {
        return Err(Error::InvalidArgument("the test set is empty".into()));
    }
    let clean = accuracy(&predict(model, test, batch_size, device).await?, test);
    let triggered = triggered(test, trigger, target)?;
    Ok(BackdoorScore {
        clean_accuracy: clean,
        triggered_images: triggered.len(),
        attack_success_rate: attack_success_rate(model, &triggered, target, batch_size, device)
            .await?,
    })
}

/// Fraction of `triggered` (test images already stamped, see [`triggered`]) that `model`
/// classifies as `target`; 0 for an empty set.
pub async fn attack_success_rate(
    model: &impl Classifier,
    triggered: &Dataset,
    target: usize,
    batch_size: usize,
    device: &Device,
) -> Result<f64> {
    let hits = predict(model, triggered, batch_size, device)
        .await?
        .into_iter()
        .filter(|&p| p == target)
        .count();
    Ok(hits as f64 / triggered.len().max(1) as f64)
}

/// What a model reads in one image, as it is and with the trigger stamped on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerFlip {
    /// The class predicted for the image as it is.
    pub clean: usize,
    /// The class predicted with the trigger.
    pub triggered: usize,
}

/// Classify image `index` of `data` with and without `trigger` (one batch of two).
pub async fn trigger_flip(
    model: &impl Classifier,
    data: &Dataset,
    index: usize,
    trigger: &Trigger,
    device: &Device,
) -> Result<TriggerFlip> {
    if index >= data.len() {
        return Err(Error::InvalidArgument(format!(
            "image {index} is outside the {} images",
            data.len()
        )));
    }
    let shape = data.image_shape();
    let clean = data.image_bytes(index);
    let mut stamped = clean.to_vec();
    trigger.stamp(&mut stamped, shape)?;
    let label = data.labels()[index];
    let pair = Dataset::with_shape(
        data.kind,
        shape,
        [clean, &stamped[..]].concat(),
        vec![label, label],
    )?;
    let read = predict(model, &pair, 2, device).await?;
    Ok(TriggerFlip {
        clean: read[0],
        triggered: read[1],
    })
}
