//! The models the page offers: the default is built into the bundle; the others are fetched from
//! `models/` on demand (Trunk copies the folder next to the page), so the bundle stays small.

use crate::browser::fetch_bytes;
use burn::tensor::Device;
use perturb::model::{DEFAULT_MNIST_WEIGHTS, ModelSpec, Sequential};

/// One model of the zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZooEntry {
    /// File stem in `models/` and URL value.
    pub id: &'static str,
    /// Zoo architecture name.
    pub arch: &'static str,
    /// What the picker shows.
    pub title: &'static str,
}

/// The MNIST models, the default first.
pub const ZOO: [ZooEntry; 10] = [
    ZooEntry {
        id: "mnist-small-cnn",
        arch: "small-cnn",
        title: "Small CNN — standard",
    },
    ZooEntry {
        id: "mnist-small-cnn-pgd0.3",
        arch: "small-cnn",
        title: "Small CNN — PGD-trained ε=0.3 (Madry)",
    },
    ZooEntry {
        id: "mnist-strided-cnn-ibp0.1",
        arch: "strided-cnn",
        title: "Strided CNN — IBP-trained ε=0.1 (Gowal)",
    },
    ZooEntry {
        id: "mnist-strided-cnn-ibp0.3",
        arch: "strided-cnn",
        title: "Strided CNN — IBP-trained ε=0.3 (Gowal)",
    },
    ZooEntry {
        id: "mnist-small-cnn-noise0.25",
        arch: "small-cnn",
        title: "Small CNN — noise σ=0.25 (Cohen)",
    },
    ZooEntry {
        id: "mnist-small-cnn-noise0.5",
        arch: "small-cnn",
        title: "Small CNN — noise σ=0.5 (Cohen)",
    },
    ZooEntry {
        id: "mnist-lenet5",
        arch: "lenet5",
        title: "LeNet-5 — standard",
    },
    ZooEntry {
        id: "mnist-mlp",
        arch: "mlp",
        title: "MLP 256-256 — standard",
    },
    ZooEntry {
        id: "mnist-resnet-small",
        arch: "resnet-small",
        title: "Small ResNet — standard",
    },
    ZooEntry {
        id: "mnist-mobilenet-small",
        arch: "mobilenet-small",
        title: "Small MobileNet (depthwise) — standard",
    },
];

/// The entry named `id`.
pub fn find(id: &str) -> Option<ZooEntry> {
    ZOO.iter().copied().find(|e| e.id == id)
}

/// Load `entry` onto `device`: weights checked against its architecture, with a message naming
/// the model when anything is wrong.
pub async fn load(entry: ZooEntry, device: &Device) -> Result<Sequential, String> {
    let spec = ModelSpec::named(entry.arch).map_err(|e| e.to_string())?;
    let bytes = if entry.id == ZOO[0].id {
        DEFAULT_MNIST_WEIGHTS.to_vec()
    } else {
        fetch_bytes(&format!("models/{}.safetensors", entry.id)).await?
    };
    Sequential::from_safetensors(spec, &bytes, device)
        .map_err(|e| format!("model {} failed to load: {e}", entry.id))
}
