//! Defences wrapped around any [`Classifier`](crate::model::Classifier).

mod quantization;

pub use quantization::{GradientPath, Quantized};
