//! # Perturb core
//!
//! Adversarial machine learning on any Burn [`Device`](burn::tensor::Device): the pure-Rust CPU
//! backend (`Device::flex()`, also in WebAssembly), wgpu (Vulkan, Metal, WebGPU in the browser),
//! with gradients through `device.autodiff()`. Nothing here knows about the browser: the web
//! front-end and the native CLI both call into this crate.

pub mod attack;
pub mod certify;
pub mod data;
pub mod defense;
pub mod error;
pub mod eval;
pub mod gradient;
pub mod loss;
pub mod model;
pub mod one_hot;
pub mod pace;
pub mod readback;
pub mod reference;
pub mod rng;
pub mod train;

pub use error::{Error, Result};
