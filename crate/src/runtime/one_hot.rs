//! One-hot encoding computed on the device. Burn's `one_hot` and `one_hot_fill` read the indices
//! back to the host synchronously, which panics on WebGPU; this compares against a range instead.

use burn::tensor::{Bool, Int, Tensor};

/// `mask[.., k]` is true where `indices[..] == k`, for `k < classes`: shape `indices` + `[classes]`.
pub fn one_hot_mask<const D: usize, const D2: usize>(
    indices: Tensor<D, Int>,
    classes: usize,
) -> Tensor<D2, Bool> {
    debug_assert_eq!(
        D + 1,
        D2,
        "the one-hot mask has one more axis than the indices"
    );
    let device = indices.device();
    let mut shape = [classes; D2];
    shape[..D].copy_from_slice(&indices.dims());
    let mut range_shape = [1; D2];
    range_shape[D] = classes;
    let range = Tensor::<1, Int>::arange(0..classes as i64, &device).reshape(range_shape);
    indices
        .unsqueeze_dim::<D2>(D)
        .expand(shape)
        .equal(range.expand(shape))
}

/// [`one_hot_mask`] as 1.0 / 0.0 floats.
pub fn one_hot_float<const D: usize, const D2: usize>(
    indices: Tensor<D, Int>,
    classes: usize,
) -> Tensor<D2> {
    one_hot_mask::<D, D2>(indices, classes).float()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn matches_burns_one_hot() {
        let device = Device::flex();
        let labels =
            Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0, 9, 4], [4]), &device);
        let ours = one_hot_float::<1, 2>(labels.clone(), 10).into_data();
        let burns = labels.one_hot::<2>(10).float().into_data();
        assert_eq!(
            ours.try_to_vec::<f32>().unwrap(),
            burns.try_to_vec::<f32>().unwrap()
        );
        let grid = Tensor::<3, Int>::from_data(
            TensorData::new(vec![0i64, 3, 1, 2, 3, 0], [1, 2, 3]),
            &device,
        );
        let ours = one_hot_float::<3, 4>(grid.clone(), 4).into_data();
        let burns = grid.one_hot::<4>(4).float().into_data();
        assert_eq!(
            ours.try_to_vec::<f32>().unwrap(),
            burns.try_to_vec::<f32>().unwrap()
        );
    }
}
