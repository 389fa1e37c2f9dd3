//! Classification losses.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Cross-entropy of each sample, `[n]`, from logits `[n, classes]` and labels `[n]`.
pub fn cross_entropy_per_sample(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let n = labels.dims()[0];
    let log_probs = log_softmax(logits, 1);
    log_probs
        .gather(1, labels.reshape([n, 1]))
        .reshape([n])
        .neg()
}

/// Mean cross-entropy over the batch, `[1]` (as PyTorch's `nn.CrossEntropyLoss()`).
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    cross_entropy_per_sample(logits, labels).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn matches_hand_computed_values() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 0.0, 2.0, 0.0], [2, 2]),
            &device,
        );
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &device);
        let losses = cross_entropy_per_sample(logits, labels)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let expected = [2f32.ln(), (1.0 + (-2f32).exp()).ln()];
        for (got, want) in losses.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
