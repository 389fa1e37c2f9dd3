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

/// Refuse `images` holding a NaN or an infinite value, with one readback (their sum, which
/// carries either through).
pub async fn check_finite<const D: usize>(images: &Tensor<D>) -> Result<()> {
    let sum = read_f32(images.clone().sum()).await?;
    if sum.first().is_some_and(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(
            "an image holds a non-finite pixel (NaN or ±∞); pixels must be numbers in the \
             image range"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn non_finite_values_are_found() {
        let device = Device::flex();
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut v = vec![0.5f32; 2 * 784];
            v[300] = bad;
            let t = Tensor::<4>::from_data(TensorData::new(v, [2, 1, 28, 28]), &device);
            assert!(pollster::block_on(check_finite(&t)).is_err(), "{bad}");
        }
        let ok = Tensor::<4>::from_data(TensorData::new(vec![0.5f32; 4], [1, 1, 2, 2]), &device);
        assert!(pollster::block_on(check_finite(&ok)).is_ok());
    }
}
