//! Defences wrapped around any [`Classifier`](crate::model::Classifier).

mod quantization;
mod randomized;

pub use quantization::{GradientPath, Quantized};
pub use randomized::RandomizedInput;
