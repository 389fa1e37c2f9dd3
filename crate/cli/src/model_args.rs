//! Arguments shared by the commands that run a model on a test set: which model (a zoo id, or an
//! architecture with a weights file), the data and the device.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::Args;
use perturb::Result;
use perturb::data::{BadImages, DatasetKind, TestImages};
use perturb::model::{IMAGENET, ModelSpec, Sequential};
use perturb::zoo::{self, ZooEntry};

use crate::DeviceArg;

/// Which model, which test images, which device.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A zoo model by id (see models/README.md); the default is mnist-small-cnn.
    #[arg(long, conflicts_with_all = ["arch", "weights"])]
    pub model: Option<String>,
    /// An architecture for --weights: a named one (lenet5, …; resnet18, vgg16, vgg16_bn,
    /// densenet121, mobilenet_v2, efficientnet_lite0/1) or a JSON layer spec.
    #[arg(long, requires = "weights")]
    pub arch: Option<String>,
    /// Weights for --arch, with PyTorch state-dict names: SafeTensors, or a PyTorch .pt/.pth
    /// state dict (zip or legacy format).
    #[arg(long, requires = "arch")]
    pub weights: Option<PathBuf>,
    /// The zoo's folder.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// The test set (default: the zoo model's; ImageNet for the ImageNet architectures; else
    /// MNIST).
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetKind>,
    /// MNIST/Fashion-MNIST: the full test split from this folder instead of the shipped 1,000
    /// images. ImageNet: the image folder (one sub-folder per WordNet id, or flat with --labels).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Labels of a flat image folder: one "file label" line each (a class index or WordNet id),
    /// as ILSVRC2012's validation labels.
    #[arg(long, requires = "data_dir")]
    pub labels: Option<PathBuf>,
    /// Unreadable or non-image files in the folder: skip them (counted) or fail.
    #[arg(long, value_enum, default_value = "skip")]
    pub bad_images: BadImages,
    /// Where the model runs.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
}

/// The model a [`ModelArgs`] names.
pub enum Chosen {
    /// A zoo model.
    Zoo(ZooEntry),
    /// An architecture with a weights file.
    File(String, PathBuf),
}

impl ModelArgs {
    /// The model named, the zoo's default when none is.
    pub fn chosen(&self) -> Result<Chosen> {
        Ok(match (&self.model, &self.arch, &self.weights) {
            (Some(id), ..) => Chosen::Zoo(zoo::lookup(id)?),
            (None, Some(arch), Some(weights)) => Chosen::File(arch.clone(), weights.clone()),
            _ => Chosen::Zoo(zoo::ZOO[0]),
        })
    }

    /// How reports name the model: its zoo id, or its architecture and weights file.
    pub fn describe(&self) -> Result<(String, String)> {
        Ok(match self.chosen()? {
            Chosen::Zoo(e) => (e.arch.to_string(), e.id.to_string()),
            Chosen::File(arch, weights) => (arch, weights.display().to_string()),
        })
    }

    /// The dataset: named, or the zoo model's, or MNIST.
    pub fn dataset(&self) -> Result<DatasetKind> {
        Ok(match (self.dataset, self.chosen()?) {
            (Some(kind), _) => kind,
            (None, Chosen::Zoo(entry)) => entry.dataset,
            (None, Chosen::File(arch, _)) if IMAGENET.contains(&arch.as_str()) => {
                DatasetKind::ImageNet
            }
            (None, Chosen::File(..)) => DatasetKind::Mnist,
        })
    }

    /// The first `count` test images for `model`; files skipped as unreadable are reported on
    /// stderr.
    pub fn test_set(&self, model: &Sequential, count: usize) -> Result<TestImages> {
        let images = TestImages::open(
            self.dataset()?,
            model.spec().input,
            self.data_dir.as_deref(),
            self.labels.as_deref(),
            self.bad_images,
        )?;
        if images.skipped() > 0 {
            eprintln!(
                "skipped {} unreadable or non-image files (--bad-images fail refuses them)",
                images.skipped()
            );
        }
        Ok(images.take(count))
    }

    /// SHA-256 of the weights file.
    pub fn weights_sha256(&self) -> Result<String> {
        use perturb::shard::{bytes_sha256, file_sha256};
        match self.chosen()? {
            Chosen::Zoo(entry) => match entry.embedded_weights() {
                Some(bytes) => Ok(bytes_sha256(bytes)),
                None => file_sha256(&self.models_dir.join(entry.weights_file())),
            },
            Chosen::File(_, weights) => file_sha256(&weights),
        }
    }

    /// The checksums a partial report carries: the weights' SHA-256 and the data's fingerprint.
    pub fn checksums(&self, data: &TestImages, device: &Device) -> Result<(String, String)> {
        Ok((
            self.weights_sha256()?,
            perturb::shard::data_fingerprint(data, device)?,
        ))
    }

    /// The device and the model loaded onto it.
    pub fn model(&self) -> Result<(Device, Sequential)> {
        let device = self.device.init()?;
        let model = match self.chosen()? {
            Chosen::Zoo(entry) => entry.load_from_dir(&self.models_dir, &device)?,
            Chosen::File(arch, weights) => {
                Sequential::load_file(ModelSpec::resolve(&arch)?, &weights, &device)?
            }
        };
        Ok((device, model))
    }
}
