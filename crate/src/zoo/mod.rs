//! The model zoo: the trained models shipped in `models/`, each named by an id that the command
//! line (`--model <id>`), the page's picker and its URLs share, with its architecture, dataset and
//! a typed model card.
//!
//! The default MNIST model's weights are compiled in with the `default-weights` feature (on by
//! default; the page fetches them like the rest); the others are files `models/<id>.safetensors` beside their cards `models/<id>.json`, read from disk natively
//! and fetched on demand in the page.

mod card;

pub use card::{EpochRecord, ModelCard};

use std::fmt;

use burn::tensor::Device;

use crate::data::DatasetKind;
use crate::error::{Error, Result};
use crate::model::{ModelSpec, Sequential};

/// SafeTensors bytes of the default MNIST model (`mnist-small-cnn`; feature `default-weights`).
#[cfg(feature = "default-weights")]
pub const DEFAULT_MNIST_WEIGHTS: &[u8] = include_bytes!("../../assets/mnist-small-cnn.safetensors");

/// One model of the zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZooEntry {
    /// File stem in `models/`, and the value of `--model` and of the page's `model=`.
    pub id: &'static str,
    /// Zoo architecture ([`ModelSpec::named`]).
    pub arch: &'static str,
    /// What a picker shows.
    pub title: &'static str,
    /// The data it was trained on.
    pub dataset: DatasetKind,
}

impl fmt::Display for ZooEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

const fn entry(
    id: &'static str,
    arch: &'static str,
    dataset: DatasetKind,
    title: &'static str,
) -> ZooEntry {
    ZooEntry {
        id,
        arch,
        title,
        dataset,
    }
}

/// Every model, MNIST's first (the default at the head; then the PGD- and IBP-trained ones the
/// page's curves tick at first), then Fashion-MNIST's, then ImageNet's.
pub const ZOO: [ZooEntry; 15] = [
    entry(
        "mnist-small-cnn",
        "small-cnn",
        DatasetKind::Mnist,
        "Small CNN — standard",
    ),
    entry(
        "mnist-small-cnn-pgd0.3",
        "small-cnn",
        DatasetKind::Mnist,
        "Small CNN — PGD-trained ε=0.3 (Madry)",
    ),
    entry(
        "mnist-strided-cnn-ibp0.1",
        "strided-cnn",
        DatasetKind::Mnist,
        "Strided CNN — IBP-trained ε=0.1 (Gowal)",
    ),
    entry(
        "mnist-strided-cnn-ibp0.3",
        "strided-cnn",
        DatasetKind::Mnist,
        "Strided CNN — IBP-trained ε=0.3 (Gowal)",
    ),
    entry(
        "mnist-lenet5-pgd0.3",
        "lenet5",
        DatasetKind::Mnist,
        "LeNet-5 — PGD-trained ε=0.3 (Madry)",
    ),
    entry(
        "mnist-wide-cnn-ibp0.3",
        "wide-cnn",
        DatasetKind::Mnist,
        "Wide strided CNN — IBP-trained ε=0.3 (Gowal)",
    ),
    entry(
        "mnist-small-cnn-noise0.25",
        "small-cnn",
        DatasetKind::Mnist,
        "Small CNN — noise σ=0.25 (Cohen)",
    ),
    entry(
        "mnist-small-cnn-noise0.5",
        "small-cnn",
        DatasetKind::Mnist,
        "Small CNN — noise σ=0.5 (Cohen)",
    ),
    entry(
        "mnist-lenet5",
        "lenet5",
        DatasetKind::Mnist,
        "LeNet-5 — standard",
    ),
    entry(
        "mnist-mlp",
        "mlp",
        DatasetKind::Mnist,
        "MLP 256-256 — standard",
    ),
    entry(
        "mnist-resnet-small",
        "resnet-small",
        DatasetKind::Mnist,
        "Small ResNet — standard",
    ),
    entry(
        "mnist-mobilenet-small",
        "mobilenet-small",
        DatasetKind::Mnist,
        "Small MobileNet (depthwise) — standard",
    ),
    entry(
        "fashion-small-cnn",
        "small-cnn",
        DatasetKind::FashionMnist,
        "Small CNN — standard",
    ),
    entry(
        "fashion-small-cnn-pgd0.1",
        "small-cnn",
        DatasetKind::FashionMnist,
        "Small CNN — PGD-trained ε=0.1 (Madry)",
    ),
    entry(
        "imagenet-efficientnet-lite0",
        "efficientnet_lite0",
        DatasetKind::ImageNet,
        "EfficientNet-Lite0 — real ImageNet weights (f16, 9.4 MB)",
    ),
];

/// The entry named `id`.
pub fn find(id: &str) -> Option<ZooEntry> {
    ZOO.iter().copied().find(|e| e.id == id)
}

/// The entry named `id`, or an error listing the zoo.
pub fn lookup(id: &str) -> Result<ZooEntry> {
    find(id).ok_or_else(|| {
        let ids: Vec<&str> = ZOO.iter().map(|e| e.id).collect();
        Error::InvalidArgument(format!(
            "{id:?} is not in the zoo; it has {}",
            ids.join(", ")
        ))
    })
}

/// The models trained on `kind`, in zoo order.
pub fn for_dataset(kind: DatasetKind) -> impl Iterator<Item = ZooEntry> {
    ZOO.iter().copied().filter(move |e| e.dataset == kind)
}

/// The first model of `kind`.
pub fn default_for(kind: DatasetKind) -> Option<ZooEntry> {
    for_dataset(kind).next()
}

/// The default MNIST model on `device`.
pub fn default_model(device: &Device) -> Result<Sequential> {
    let Some(bytes) = ZOO[0].embedded_weights() else {
        return Err(Error::InvalidArgument(format!(
            "this build leaves out the default model's weights (feature `default-weights`); load \
             models/{} with ZooEntry::load",
            ZOO[0].weights_file()
        )));
    };
    ZOO[0].load(bytes, device)
}

impl ZooEntry {
    /// The layer spec of its architecture.
    pub fn spec(&self) -> Result<ModelSpec> {
        ModelSpec::named(self.arch)
    }

    /// Its weights' file name in `models/`.
    pub fn weights_file(&self) -> String {
        format!("{}.safetensors", self.id)
    }

    /// Its card's file name in `models/`.
    pub fn card_file(&self) -> String {
        format!("{}.json", self.id)
    }

    /// The weights compiled into the library: the default model's, with the `default-weights`
    /// feature.
    pub fn embedded_weights(&self) -> Option<&'static [u8]> {
        #[cfg(feature = "default-weights")]
        if self.id == ZOO[0].id {
            return Some(DEFAULT_MNIST_WEIGHTS);
        }
        None
    }

    /// The model with `bytes` (its SafeTensors weights) on `device`, checked against the
    /// architecture; an error names the model.
    pub fn load(&self, bytes: &[u8], device: &Device) -> Result<Sequential> {
        Sequential::from_safetensors(self.spec()?, bytes, device).map_err(|e| match e {
            Error::Weights(why) => Error::Weights(format!("model {}: {why}", self.id)),
            other => other,
        })
    }

    /// Load from the zoo folder `dir` (natively; the default model needs no file).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_from_dir(&self, dir: &std::path::Path, device: &Device) -> Result<Sequential> {
        match self.embedded_weights() {
            Some(bytes) => self.load(bytes, device),
            None => {
                let path = dir.join(self.weights_file());
                let bytes = std::fs::read(&path).map_err(|source| Error::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                self.load(&bytes, device)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_architectures_known() {
        for (i, a) in ZOO.iter().enumerate() {
            assert!(a.spec().is_ok(), "{}", a.id);
            assert!(ZOO[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
        }
        for kind in DatasetKind::SHIPPED {
            assert_eq!(default_for(kind).unwrap().dataset, kind);
        }
        assert_eq!(lookup("mnist-mlp").unwrap().arch, "mlp");
        let err = lookup("resnet-1000").unwrap_err().to_string();
        assert!(err.contains("mnist-small-cnn"), "{err}");
    }

    #[test]
    fn the_compiled_in_default_is_the_file_the_page_fetches() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        let file = std::fs::read(dir.join(ZOO[0].weights_file())).unwrap();
        assert!(
            file == DEFAULT_MNIST_WEIGHTS,
            "models/ and crate/assets disagree"
        );
    }

    #[test]
    fn the_default_loads_and_foreign_weights_are_refused() {
        let device = Device::flex();
        assert!(default_model(&device).is_ok());
        let err = find("mnist-mlp")
            .unwrap()
            .load(DEFAULT_MNIST_WEIGHTS, &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("model mnist-mlp"), "{err}");
        let err = ZOO[0].load(&[1, 2, 3], &device).unwrap_err().to_string();
        assert!(err.contains("SafeTensors"), "{err}");
    }
}
