//! Asynchronous inference for the page: the browser cannot block on GPU readback.

use burn::tensor::{Device, Tensor, TensorData};
use perturb::data::Dataset;
use perturb::eval::probabilities;
use perturb::model::Classifier;

/// Class probabilities of `model` for image `index` of `data`, read back asynchronously.
pub async fn predict(
    model: &impl Classifier,
    data: &Dataset,
    index: usize,
    device: &Device,
) -> Result<Vec<f32>, String> {
    let (images, _) = data.batch(&[index], device).map_err(|e| e.to_string())?;
    read(probabilities(model, images)).await
}

/// Read any tensor back to the host as `f32`s.
pub async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, String> {
    let data: TensorData = tensor
        .into_data_async()
        .await
        .map_err(|e| format!("reading from the device failed: {e}"))?;
    data.try_into_vec_as::<f32>()
        .map_err(|e| format!("unexpected tensor data: {e:?}"))
}
