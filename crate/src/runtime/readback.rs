//! Asynchronous reads from the device to the host. The browser cannot block on GPU readback, so
//! every read in the core goes through here; natively the futures resolve with any executor.

use burn::tensor::{Tensor, Transaction};

use crate::error::{Error, Result};

/// Read one tensor back as `f32`s.
pub async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| Error::Device(format!("readback failed: {e}")))?;
    data.try_into_vec_as::<f32>()
        .map_err(|e| Error::Device(format!("unexpected tensor data: {e:?}")))
}

/// Read several tensors back with one transaction (one device round trip).
pub async fn read_all_f32(tensors: Vec<Tensor<1>>) -> Result<Vec<Vec<f32>>> {
    let transaction = tensors
        .into_iter()
        .fold(Transaction::default(), |t, x| t.register(x));
    let data = transaction
        .execute_async()
        .await
        .map_err(|e| Error::Device(format!("readback failed: {e}")))?;
    data.into_iter()
        .map(|d| {
            d.try_into_vec_as::<f32>()
                .map_err(|e| Error::Device(format!("unexpected tensor data: {e:?}")))
        })
        .collect()
}
