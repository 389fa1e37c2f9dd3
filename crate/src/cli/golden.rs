//! `perturb golden`: reference numbers computed natively on the CPU backend, which the wgpu and
//! browser tests must reproduce.

use std::path::Path;

use burn::tensor::Device;
use perturb::Result;
use perturb::data::Dataset;
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::gradient::input_gradient;
use perturb::loss::cross_entropy_per_sample;
use perturb::model::Classifier;
use perturb::model::SmallCnn;
use perturb::reference::InputGradientReference;

/// The `count` images among the first 200 with the highest loss: their gradients are large, so
/// an absolute tolerance on them is a strict test.
fn hardest_images(
    model: &SmallCnn,
    data: &Dataset,
    device: &Device,
    count: usize,
) -> Result<Vec<usize>> {
    let candidates: Vec<usize> = (0..200.min(data.len())).collect();
    let (images, labels) = data.batch(&candidates, device)?;
    let losses = cross_entropy_per_sample(model.logits(images), labels)
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32 tensor");
    let mut order = candidates;
    order.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]));
    order.truncate(count);
    order.sort_unstable();
    Ok(order)
}

pub fn write_input_gradient(out: &Path) -> Result<()> {
    let device = Device::flex().autodiff();
    let model = SmallCnn::default_mnist(&device)?;
    let data = shipped_test_subset(DatasetKind::Mnist)?;
    let indices = hardest_images(&model, &data, &device, 4)?;
    let (images, labels) = data.batch(&indices, &device)?;
    let result = input_gradient(&model, images, labels);
    let reference = InputGradientReference {
        weights_fingerprint: InputGradientReference::default_weights_fingerprint(),
        image_indices: indices,
        loss: result
            .loss
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32 tensor")[0],
        logits: result
            .logits
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32 tensor"),
        gradient: result
            .gradient
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32 tensor"),
    };
    let text = serde_json::to_string(&reference).expect("JSON values serialise");
    super::write_file(out, text.as_bytes())?;
    println!("wrote {} (loss {})", out.display(), reference.loss);
    Ok(())
}
