//! Models from files on disk (native only): an architecture named or described by a JSON spec,
//! and weights files as users have them.

use std::path::Path;

use burn::tensor::{DType, Device};

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

/// The first bytes of a SafeTensors file: an 8-byte little-endian header length, then `{`.
fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && bytes[8] == b'{'
}

/// Wrappers checkpoints put around a state dict (`{"state_dict": …}`, `nn.DataParallel`'s
/// `module.`), stripped when every tensor carries one.
const WRAPPERS: [&str; 4] = ["state_dict.", "model_state_dict.", "model.", "module."];

/// The float tensors of a PyTorch checkpoint (`torch.save` of a state dict: the zip format of
/// PyTorch ≥ 1.6, or the legacy pickle stream of 0.1.10–1.5), read without executing anything.
/// Integer tensors (batch norm's `num_batches_tracked`) are dropped; other non-float tensors are
/// refused by name.
fn read_pytorch(path: &Path) -> Result<WeightMap> {
    use pytorch_reader::{DType as Pt, PytorchReader};
    let reader = PytorchReader::new(path).map_err(|e| {
        Error::Weights(format!(
            "{}: not a readable PyTorch state dict ({e})",
            path.display()
        ))
    })?;
    let mut tensors: Vec<(String, pytorch_reader::Tensor)> =
        reader.into_tensors().into_iter().collect();
    while let Some(wrapper) = WRAPPERS
        .iter()
        .find(|w| !tensors.is_empty() && tensors.iter().all(|(n, _)| n.starts_with(**w)))
    {
        for (name, _) in &mut tensors {
            *name = name[wrapper.len()..].to_string();
        }
    }
    let mut map = WeightMap::new();
    for (name, tensor) in tensors {
        let dtype = match tensor.dtype() {
            Pt::F32 => DType::F32,
            Pt::F64 => DType::F64,
            Pt::F16 => DType::F16,
            Pt::BF16 => DType::BF16,
            _ if name.ends_with("num_batches_tracked") => continue,
            other => {
                return Err(Error::Weights(format!(
                    "{}: {name} holds {other:?} values, not floats",
                    path.display()
                )));
            }
        };
        let bytes = tensor
            .read()
            .map_err(|e| Error::Weights(format!("{}: {name}: {e}", path.display())))?;
        let shape = tensor.shape().to_vec();
        let values = super::sequential::to_f32_values(bytes, &shape, dtype, &name)?;
        map.insert(name, (shape, values));
    }
    Ok(map)
}

/// The named tensors of a weights file: SafeTensors or a PyTorch
/// `.pt`/`.pth` state dict. A corrupt, truncated or foreign file is an error naming the file.
pub fn read_weights_file(path: &Path) -> Result<WeightMap> {
    let bytes = read_file(path)?;
    let named = |e: Error| match e {
        Error::Weights(why) if !why.starts_with(&path.display().to_string()) => {
            Error::Weights(format!("{}: {why}", path.display()))
        }
        other => other,
    };
    if looks_like_safetensors(&bytes) {
        return read_safetensors(&bytes).map_err(named);
    }
    drop(bytes);
    read_pytorch(path).map_err(named)
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
