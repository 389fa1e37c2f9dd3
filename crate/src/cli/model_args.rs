//! Arguments shared by the commands that evaluate a model on a test set: the architecture (the
//! default CNN or a bring-your-own layer spec), its weights, the data and the device.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use clap::Args;
use perturb::data::{Dataset, DatasetKind, Split, shipped_test_subset};
use perturb::model::{ModelSpec, Sequential};
use perturb::{Error, Result};

use super::DeviceArg;

/// Which model, which test images, which device.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A zoo architecture (`small-cnn`, the shipped default; `mlp`, `lenet5`, `strided-cnn`) or a
    /// JSON layer spec (see `perturb::model::ModelSpec`).
    #[arg(long, default_value = "small-cnn")]
    pub arch: String,
    /// SafeTensors weights (PyTorch state-dict names and layouts).
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

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The layer spec named by `arch`: a zoo architecture or a JSON file.
pub(crate) fn spec(arch: &str) -> Result<ModelSpec> {
    if ModelSpec::ZOO.contains(&arch) {
        return ModelSpec::named(arch);
    }
    let text = String::from_utf8(read(Path::new(arch))?)
        .map_err(|_| Error::InvalidArgument(format!("{arch} is not UTF-8 text")))?;
    ModelSpec::from_json(&text)
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

    /// The device and the model loaded onto it; the model's input must fit the dataset's images.
    pub fn model(&self) -> Result<(Device, Sequential)> {
        let spec = spec(&self.arch)?;
        let kind = DatasetKind::from_id(&self.dataset)?;
        let (h, w) = (28, 28);
        if spec.input != [1, h, w] {
            return Err(Error::Mismatch(format!(
                "the model takes {:?} inputs but {} images are [1, {h}, {w}]",
                spec.input,
                kind.id()
            )));
        }
        let bytes = read(&self.weights)?;
        let device = self.device.init()?;
        let model = Sequential::from_safetensors(spec, &bytes, &device)?;
        Ok((device, model))
    }
}
