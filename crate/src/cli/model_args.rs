//! Arguments shared by the commands that evaluate a weights file on a test set.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::Args;
use perturb::data::{Dataset, DatasetKind, Split, shipped_test_subset};
use perturb::model::SmallCnn;
use perturb::{Error, Result};

use super::DeviceArg;

/// Which model, which test images, which device.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// SafeTensors weights (PyTorch names and layout).
    #[arg(long, default_value = "models/mnist-small-cnn.safetensors")]
    pub weights: PathBuf,
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
    /// Full test split from this folder instead of the shipped 1,000 images.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
}

impl ModelArgs {
    /// The test images.
    pub fn test_set(&self) -> Result<Dataset> {
        let kind = DatasetKind::from_id(&self.dataset)?;
        match &self.data_dir {
            Some(dir) => Dataset::load_dir(kind, Split::Test, dir),
            None => shipped_test_subset(kind),
        }
    }

    /// The device and the model loaded onto it.
    pub fn model(&self) -> Result<(Device, SmallCnn)> {
        let bytes = std::fs::read(&self.weights).map_err(|source| Error::Io {
            path: self.weights.display().to_string(),
            source,
        })?;
        let device = self.device.init()?;
        let model = SmallCnn::from_safetensors(&bytes, &device)?;
        Ok((device, model))
    }
}
