//! Asynchronous inference for the page: the browser cannot block on GPU readback.

use burn::tensor::Device;
use perturb::data::Dataset;
use perturb::eval::probabilities;
use perturb::model::Classifier;
use perturb::readback::read_f32;

/// Class probabilities of `model` for image `index` of `data`, read back asynchronously.
pub async fn predict(
    model: &impl Classifier,
    data: &Dataset,
    index: usize,
    device: &Device,
) -> Result<Vec<f32>, String> {
    let (images, _) = data.batch(&[index], device).map_err(|e| e.to_string())?;
    read_f32(probabilities(model, images))
        .await
        .map_err(|e| e.to_string())
}
