//! # Perturb
//!
//! Adversarial machine learning on any Burn [`Device`](burn::tensor::Device): the pure-Rust CPU
//! backend (`Device::flex()`, also in WebAssembly), wgpu (Vulkan, Metal, WebGPU in the browser),
//! with gradients through `device.autodiff()`. The browser playground and the `perturb` command
//! line both call into this crate; nothing here knows about either.
//!
//! The domain modules follow the paper's taxonomy: [`attack`] (evasion, the threat model, the
//! gradient-masking audit), [`defense`], [`certify`] (IBP, CROWN, exact search, randomized
//! smoothing), [`train`] (standard, adversarial, certified and noise training), with [`model`],
//! [`data`], [`zoo`] and [`eval`] beside them. [`runtime`] holds the plumbing.
//!
//! ```
//! use burn::tensor::Device;
//! use perturb::attack::{AttackSettings, Norm, ThreatModel};
//! use perturb::certify::{BoundMethod, verify};
//! use perturb::data::{DatasetKind, shipped_test_subset};
//!
//! # fn main() -> perturb::Result<()> {
//! let device = Device::flex();
//! let model = perturb::zoo::default_model(&device)?;
//! let data = shipped_test_subset(DatasetKind::Mnist)?;
//! let (images, labels) = data.batch(&[0, 1, 2, 3], &device)?;
//! let truth = data.class_labels()[..4].to_vec();
//!
//! // PGD-20 inside the L∞ ball of radius 0.1.
//! let settings = AttackSettings { epsilon: 0.1, steps: 20, ..AttackSettings::default() };
//! let threat = ThreatModel::new(Norm::Linf, settings.epsilon)?;
//! let outcome = perturb::blocking::attack(&model, images.clone(), &truth, &threat, &settings)?;
//! assert!(outcome.samples.iter().all(|s| s.linf <= 0.1 + 1e-6));
//!
//! // Interval bounds over the same ball: a proof for every image they verify.
//! let proved = verify(&model, images, labels, &threat, BoundMethod::Ibp)?;
//! let proved = perturb::blocking::read_bools(proved)?;
//! for (sample, proved) in outcome.samples.iter().zip(proved) {
//!     // What IBP proves, no attack can break.
//!     assert!(!(proved && sample.success));
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod attack;
#[cfg(not(target_arch = "wasm32"))]
pub mod blocking;
pub mod certify;
pub mod data;
pub mod defense;
mod error;
pub mod eval;
pub mod gradient;
pub mod loss;
pub mod model;
mod names;
pub mod poison;
#[cfg(feature = "reference")]
pub mod reference;
pub mod runtime;
#[cfg(not(target_arch = "wasm32"))]
pub mod shard;
pub mod train;
pub mod zoo;

pub use error::{Error, Result};
