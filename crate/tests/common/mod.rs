//! Fixtures shared by the integration tests.

use burn::tensor::{Device, Tensor};
use perturb::data::{DatasetKind, shipped_test_subset};

#[allow(dead_code)]
/// The first `count` shipped MNIST test images on `device`, and their labels.
pub fn mnist_batch(count: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..count).collect();
    let (images, _) = data.batch(&indices, device).unwrap();
    (images, data.class_labels()[..count].to_vec())
}
pub mod soundness;
