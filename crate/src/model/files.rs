//! Models from files on disk (native only): an architecture named or described by a JSON spec,
//! and weights files as users have them.

use std::path::Path;

use burn::tensor::Device;

use super::sequential::{Sequential, WeightMap, read_safetensors};
use super::spec::ModelSpec;
use crate::error::{Error, Result};

/// The bytes of `path`, with the path in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

impl ModelSpec {
    /// `arch` as a named architecture ([`ModelSpec::named`]) or, failing that, the path of a
    /// JSON layer spec.
    pub fn resolve(arch: &str) -> Result<Self> {
        if Self::is_named(arch) {
            return Self::named(arch);
        }
        let path = Path::new(arch);
        if !path.exists() {
            // Neither: say both.
            return Self::named(arch).map_err(|e| {
                Error::InvalidArgument(format!("{e}; nor is {arch:?} a JSON spec file"))
            });
        }
        let text = String::from_utf8(read_file(path)?)
            .map_err(|_| Error::format("model spec", format!("{arch} is not UTF-8 text")))?;
        Self::from_json(&text)
    }
}

/// The named tensors of a weights file, whatever its format.
pub fn read_weights_file(path: &Path) -> Result<WeightMap> {
    let bytes = read_file(path)?;
    read_safetensors(&bytes).map_err(|e| match e {
        Error::Weights(why) => Error::Weights(format!("{}: {why}", path.display())),
        other => other,
    })
}

impl Sequential {
    /// `spec` with the weights of the file at `path` on `device`.
    pub fn load_file(spec: ModelSpec, path: &Path, device: &Device) -> Result<Self> {
        Self::from_weights(spec, read_weights_file(path)?, device).map_err(|e| match e {
            Error::Weights(why) if !why.starts_with(&path.display().to_string()) => {
                Error::Weights(format!("{}: {why}", path.display()))
            }
            other => other,
        })
    }
}
