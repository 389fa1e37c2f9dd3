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

/// A wgpu device (Mesa's lavapipe where there is no GPU), initialised once for the whole suite
/// (wgpu's runtime registers once a process); the tests that need one are ignored by default and
/// run by `scripts/test.sh` with `--include-ignored`.
pub fn wgpu_device() -> Device {
    static DEVICE: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .init()
                .unwrap_or_else(|e| panic!("no wgpu adapter ({e}); install mesa-vulkan-drivers"))
        })
        .clone()
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

/// Standard base64, as the generator writes it.
pub fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=').map(value).collect();
    bytes
        .chunks(4)
        .flat_map(|q| {
            let n = q.iter().fold(0u32, |n, &v| (n << 6) | u32::from(v)) << (6 * (4 - q.len()));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(q.len() * 3 / 4)
        })
        .collect()
}
