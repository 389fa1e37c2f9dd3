//! Saving and loading module weights as SafeTensors with PyTorch names and layouts.

use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use crate::error::{Error, Result};

/// Serialise `module` to SafeTensors bytes in PyTorch layout (Linear weights `[out, in]`).
pub fn to_safetensors<M: Module>(module: &M) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None).with_to_adapter(BurnToPyTorchAdapter);
    module
        .save_into(&mut store)
        .map_err(|e| Error::Weights(format!("cannot serialise: {e}")))?;
    store
        .get_bytes()
        .map_err(|e| Error::Weights(format!("cannot serialise: {e}")))
}

/// Load SafeTensors bytes in PyTorch layout into `module`, requiring every tensor to be present,
/// of the right shape, and no extra tensors to be left over.
pub fn load_safetensors<M: Module>(module: &mut M, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 {
        return Err(Error::Weights(format!(
            "file is {} bytes, too short for SafeTensors",
            bytes.len()
        )));
    }
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()))
        .with_from_adapter(PyTorchToBurnAdapter)
        .validate(true)
        .allow_partial(false);
    let result = module
        .load_from(&mut store)
        .map_err(|e| Error::Weights(e.to_string()))?;
    if !result.errors.is_empty() {
        let errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        return Err(Error::Weights(errors.join("; ")));
    }
    if !result.missing.is_empty() {
        let missing: Vec<&str> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
        return Err(Error::Weights(format!(
            "missing tensors: {}",
            missing.join(", ")
        )));
    }
    if !result.unused.is_empty() {
        return Err(Error::Weights(format!(
            "tensors not in this architecture: {}",
            result.unused.join(", ")
        )));
    }
    Ok(())
}
