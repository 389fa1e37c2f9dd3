//! Blocking helpers for native callers. The core's functions are asynchronous because the
//! browser cannot block on the GPU; natively they resolve on any executor, and these wrappers
//! drive them on the current thread.

use std::future::Future;

use burn::tensor::{Bool, Device, Tensor};

use crate::attack::{AttackOutcome, AttackSettings, ThreatModel};
use crate::certify::{SmoothedCertificate, SmoothingConfig};
use crate::data::ImageSource;
use crate::error::Result;
use crate::eval::{EvalSettings, Evaluation};
use crate::model::{Classifier, Sequential};
use crate::runtime::readback::read_f32;

/// Run `future` to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

/// Run the attack `settings` describe on one batch against `threat`.
pub fn attack(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    settings: &AttackSettings,
) -> Result<AttackOutcome> {
    settings.validate()?;
    block_on(
        settings
            .attack(threat)
            .run(model, images, labels, threat, |_| true),
    )
}

/// Clean, PGD-robust and IBP-verified accuracy (see [`crate::eval::evaluate`]).
pub fn evaluate(
    model: &Sequential,
    data: &dyn ImageSource,
    device: &Device,
    settings: &EvalSettings,
) -> Result<Evaluation> {
    block_on(crate::eval::evaluate(
        model,
        data,
        device,
        settings,
        |_, _| {},
    ))
}

/// Randomized smoothing's CERTIFY on one image `[1, c, h, w]` (see [`crate::certify::certify`]).
pub fn certify_smoothed(
    model: &impl Classifier,
    image: Tensor<4>,
    config: &SmoothingConfig,
) -> Result<SmoothedCertificate> {
    block_on(crate::certify::certify(model, image, config))
}

/// A tensor's values as `f32`s.
pub fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    block_on(read_f32(tensor))
}

/// A boolean tensor's values.
pub fn read_bools(tensor: Tensor<1, Bool>) -> Result<Vec<bool>> {
    Ok(read(tensor.float())?.into_iter().map(|v| v > 0.5).collect())
}
