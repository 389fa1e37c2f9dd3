//! Turning an attack's final batch into per-sample results, with one device round trip.

use burn::tensor::{Bool, Tensor};

use super::project::{l2_norm, linf_norm};
use super::result::{AttackOutcome, SampleResult, TraceStep};
use crate::error::Result;
use crate::model::Classifier;
use crate::runtime::readback::read_all_f32;

/// What an attack knows about its final batch, still on the device.
pub(crate) struct Final {
    /// Clean images.
    pub clean: Tensor<4>,
    /// Adversarial images.
    pub adversarial: Tensor<4>,
    /// Whether each clean image was classified correctly.
    pub clean_correct: Tensor<1, Bool>,
    /// Whether each adversarial meets the goal.
    pub success: Tensor<1, Bool>,
    /// The attack objective at each adversarial.
    pub value: Tensor<1>,
    /// Steps each sample took.
    pub steps: Tensor<1>,
}

impl Final {
    /// The attack's outcome: these adversarials, their per-sample results (one round trip), the
    /// trace, and whether the attack was cancelled.
    pub(crate) async fn outcome(
        self,
        model: &impl Classifier,
        trace: Vec<TraceStep>,
        cancelled: bool,
    ) -> Result<AttackOutcome> {
        let adversarial = self.adversarial.clone();
        let samples = sample_results(model, self).await?;
        Ok(AttackOutcome {
            adversarial,
            samples,
            trace,
            cancelled,
        })
    }
}

/// Read back the per-sample results of `last`.
async fn sample_results(model: &impl Classifier, last: Final) -> Result<Vec<SampleResult>> {
    let n = last.clean.dims()[0];
    let predicted = model
        .logits(last.adversarial.clone())
        .without_autodiff()
        .argmax(1)
        .reshape([n])
        .float();
    let delta = last.adversarial - last.clean;
    let columns = read_all_f32(vec![
        last.clean_correct.float(),
        last.success.float(),
        predicted,
        last.value,
        linf_norm(delta.clone()),
        l2_norm(delta).reshape([n]),
        last.steps,
    ])
    .await?;
    Ok((0..n)
        .map(|i| SampleResult {
            clean_correct: columns[0][i] > 0.5,
            success: columns[1][i] > 0.5,
            predicted: columns[2][i] as usize,
            final_loss: columns[3][i],
            linf: columns[4][i],
            l2: columns[5][i],
            steps: columns[6][i] as usize,
            queries: None,
        })
        .collect())
}
