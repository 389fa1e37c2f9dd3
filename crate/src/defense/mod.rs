//! Defences wrapped around any [`Classifier`](crate::model::Classifier): input quantization (the
//! paper's Eq. 12) and randomized inputs, named by a [`DefenseSpec`] that also knows the adaptive
//! attack answering each (BPDA, EOT; Eq. 16).

mod quantization;
mod randomized;
mod spec;

pub use quantization::{GradientPath, Quantized};
pub use randomized::RandomizedInput;
pub use spec::{AdaptiveAttack, AdaptiveView, DEFAULT_NOISE_SHIFT, DefenseSpec, EOT_SAMPLES};
