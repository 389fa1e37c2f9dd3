//! The models the page offers: the default is built into the bundle; the others are fetched from
//! `models/` on demand (Trunk copies the folder next to the page), so the bundle stays small.

use crate::browser::fetch_bytes;
use burn::tensor::Device;
use perturb::data::DatasetKind;
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
    /// The data it was trained on.
    pub dataset: DatasetKind,
}

/// The models, MNIST's first (the playground's default at the head), then Fashion-MNIST's.
pub const ZOO: [ZooEntry; 12] = [
    ZooEntry {
        id: "mnist-small-cnn",
        arch: "small-cnn",
        dataset: DatasetKind::Mnist,
        title: "Small CNN — standard",
    },
    ZooEntry {
        id: "mnist-small-cnn-pgd0.3",
        arch: "small-cnn",
        dataset: DatasetKind::Mnist,
        title: "Small CNN — PGD-trained ε=0.3 (Madry)",
    },
    ZooEntry {
        id: "mnist-strided-cnn-ibp0.1",
        arch: "strided-cnn",
        dataset: DatasetKind::Mnist,
        title: "Strided CNN — IBP-trained ε=0.1 (Gowal)",
    },
    ZooEntry {
        id: "mnist-strided-cnn-ibp0.3",
        arch: "strided-cnn",
        dataset: DatasetKind::Mnist,
        title: "Strided CNN — IBP-trained ε=0.3 (Gowal)",
    },
    ZooEntry {
        id: "mnist-small-cnn-noise0.25",
        arch: "small-cnn",
        dataset: DatasetKind::Mnist,
        title: "Small CNN — noise σ=0.25 (Cohen)",
    },
    ZooEntry {
        id: "mnist-small-cnn-noise0.5",
        arch: "small-cnn",
        dataset: DatasetKind::Mnist,
        title: "Small CNN — noise σ=0.5 (Cohen)",
    },
    ZooEntry {
        id: "mnist-lenet5",
        arch: "lenet5",
        dataset: DatasetKind::Mnist,
        title: "LeNet-5 — standard",
    },
    ZooEntry {
        id: "mnist-mlp",
        arch: "mlp",
        dataset: DatasetKind::Mnist,
        title: "MLP 256-256 — standard",
    },
    ZooEntry {
        id: "mnist-resnet-small",
        arch: "resnet-small",
        dataset: DatasetKind::Mnist,
        title: "Small ResNet — standard",
    },
    ZooEntry {
        id: "mnist-mobilenet-small",
        arch: "mobilenet-small",
        dataset: DatasetKind::Mnist,
        title: "Small MobileNet (depthwise) — standard",
    },
    ZooEntry {
        id: "fashion-small-cnn",
        arch: "small-cnn",
        dataset: DatasetKind::FashionMnist,
        title: "Small CNN — standard",
    },
    ZooEntry {
        id: "fashion-small-cnn-pgd0.1",
        arch: "small-cnn",
        dataset: DatasetKind::FashionMnist,
        title: "Small CNN — PGD-trained ε=0.1 (Madry)",
    },
];

/// The models trained on `kind`, in zoo order.
pub fn for_dataset(kind: DatasetKind) -> impl Iterator<Item = &'static ZooEntry> {
    ZOO.iter().filter(move |e| e.dataset == kind)
}

/// The first model of `kind`.
pub fn default_for(kind: DatasetKind) -> ZooEntry {
    *for_dataset(kind)
        .next()
        .expect("the zoo has a model for every dataset")
}

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
