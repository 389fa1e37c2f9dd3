//! Fixtures shared by the integration tests, and the one switch that picks their backend.

use burn::tensor::{Device, Tensor};
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::model::Sequential;

pub mod soundness;

/// The backend the suite runs on: Burn's CPU backend (flex), or wgpu when
/// `PERTURB_TEST_DEVICE=wgpu` (as Burn's own `TestBackend` switch).
pub fn device() -> Device {
    match std::env::var("PERTURB_TEST_DEVICE").as_deref() {
        Ok("wgpu") => wgpu_device(),
        Ok("cpu") | Ok("flex") | Err(_) => Device::flex(),
        Ok(other) => panic!("PERTURB_TEST_DEVICE={other:?}: use cpu or wgpu"),
    }
}

/// A wgpu device (Mesa's lavapipe where there is no GPU); the tests that need one are ignored by
/// default and run by `scripts/test.sh` with `--include-ignored`.
pub fn wgpu_device() -> Device {
    Device::wgpu_options()
        .init()
        .unwrap_or_else(|e| panic!("no wgpu adapter ({e}); install mesa-vulkan-drivers"))
}

/// The data folder `scripts/fetch-data.sh` fills; the tests that need it are ignored by default
/// and run by `scripts/test.sh` with `--include-ignored`.
pub fn data_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data");
    assert!(
        dir.join("mnist").exists(),
        "{} is missing: run scripts/fetch-data.sh",
        dir.display()
    );
    dir
}

/// The shipped default MNIST model on `device`.
pub fn default_model(device: &Device) -> Sequential {
    perturb::zoo::default_model(device).unwrap()
}

/// The first `count` shipped MNIST test images on `device`, and their labels.
pub fn mnist_batch(count: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let indices: Vec<usize> = (0..count).collect();
    let (images, _) = data.batch(&indices, device).unwrap();
    (images, data.class_labels()[..count].to_vec())
}

/// A tensor's values.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}
