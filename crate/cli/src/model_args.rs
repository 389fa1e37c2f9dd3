//! Arguments shared by the commands that run a model on a test set: which model (a zoo id, or an
//! architecture with a weights file), the data and the device.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::Args;
use perturb::data::{Dataset, DatasetKind, Split, shipped_test_subset};
use perturb::model::{ModelSpec, Sequential};
use perturb::zoo::{self, ZooEntry};
use perturb::{Error, Result};

use crate::DeviceArg;

/// Which model, which test images, which device.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A zoo model by id (see models/README.md); the default is mnist-small-cnn.
    #[arg(long, conflicts_with_all = ["arch", "weights"])]
    pub model: Option<String>,
    /// An architecture (a zoo architecture such as lenet5, or a JSON layer spec) for --weights.
    #[arg(long, requires = "weights")]
    pub arch: Option<String>,
    /// Weights for --arch: SafeTensors with PyTorch state-dict names and layouts.
    #[arg(long, requires = "arch")]
    pub weights: Option<PathBuf>,
    /// The zoo's folder.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// The test set (default: the zoo model's, else MNIST).
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetKind>,
    /// Full test split from this folder instead of the shipped 1,000 images.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
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
            (None, Chosen::File(..)) => DatasetKind::Mnist,
        })
    }

    /// The test images.
    pub fn test_set(&self) -> Result<Dataset> {
        let kind = self.dataset()?;
        match &self.data_dir {
            Some(dir) => Dataset::load_dir(kind, Split::Test, dir),
            None => shipped_test_subset(kind),
        }
    }

    /// The device and the model loaded onto it; the model's input must fit the dataset's images.
    pub fn model(&self) -> Result<(Device, Sequential)> {
        let device = self.device.init()?;
        let model = match self.chosen()? {
            Chosen::Zoo(entry) => entry.load_from_dir(&self.models_dir, &device)?,
            Chosen::File(arch, weights) => {
                Sequential::load_file(ModelSpec::resolve(&arch)?, &weights, &device)?
            }
        };
        let kind = self.dataset()?;
        let input = model.spec().input;
        if input != kind.image_shape() {
            return Err(Error::Mismatch(format!(
                "the model takes {input:?} inputs but {kind} images are {:?}",
                kind.image_shape()
            )));
        }
        Ok((device, model))
    }
}
