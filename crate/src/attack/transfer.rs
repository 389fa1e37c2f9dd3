//! Transfer attacks: adversarials crafted on surrogate models, scored on target models.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::method::Attack;
use super::sweep::attack_dataset;
use super::threat::{Goal, ThreatModel};
use crate::data::ImageSource;
use crate::error::{Error, Result};
use crate::eval::predictions;
use crate::model::Classifier;
use crate::runtime::readback::read_f32;

/// Success rates of adversarials crafted on each surrogate (rows) against each target (columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferMatrix {
    /// Surrogate names, one per row.
    pub surrogates: Vec<String>,
    /// Target names, one per column.
    pub targets: Vec<String>,
    /// `success[i][j]`: among the images target `j` classifies correctly, the fraction that the
    /// adversarials crafted on surrogate `i` fool (white-box where the two are the same model).
    pub success: Vec<Vec<f64>>,
    /// Clean accuracy of each target on the slice.
    pub target_clean_accuracy: Vec<f64>,
}

/// Predicted classes of `model` on `images`, read back.
async fn predict(model: &dyn Classifier, images: burn::tensor::Tensor<4>) -> Result<Vec<usize>> {
    let classes = predictions(&model, images, 1).float();
    Ok(read_f32(classes)
        .await?
        .into_iter()
        .map(|c| c as usize)
        .collect())
}

/// Craft adversarials on every surrogate and score them on every target. The threat model must be
/// untargeted.
#[allow(clippy::too_many_arguments)]
pub async fn transfer_matrix(
    surrogates: &[(&str, &dyn Classifier)],
    targets: &[(&str, &dyn Classifier)],
    data: &dyn ImageSource,
    device: &Device,
    batch_size: usize,
    threat: &ThreatModel,
    attack: &Attack,
    mut on_progress: impl FnMut(usize, usize) -> bool,
) -> Result<TransferMatrix> {
    if *threat.goal() != Goal::Untargeted {
        return Err(Error::InvalidArgument(
            "the transfer matrix scores untargeted attacks".into(),
        ));
    }
    if surrogates.is_empty() || targets.is_empty() {
        return Err(Error::InvalidArgument(
            "need at least one surrogate and one target".into(),
        ));
    }
    let labels = data.class_labels();
    let n = labels.len();
    // Clean predictions of every target.
    let mut clean_ok = vec![vec![false; n]; targets.len()];
    let indices: Vec<usize> = (0..n).collect();
    for batch in indices.chunks(batch_size.max(1)) {
        let (images, _) = data.batch(batch, device)?;
        for (t, (_, target)) in targets.iter().enumerate() {
            for (&i, p) in batch.iter().zip(predict(*target, images.clone()).await?) {
                clean_ok[t][i] = p == labels[i];
            }
        }
    }
    let total = surrogates.len();
    let mut success = Vec::with_capacity(total);
    for (s, (_, surrogate)) in surrogates.iter().enumerate() {
        let mut fooled = vec![vec![false; n]; targets.len()];
        let mut adversarials = Vec::new();
        attack_dataset(
            surrogate,
            data,
            device,
            batch_size,
            threat,
            attack,
            |batch, outcome| {
                adversarials.push((batch.to_vec(), outcome.adversarial.clone()));
                true
            },
        )
        .await?;
        for (batch, adversarial) in adversarials {
            for (t, (_, target)) in targets.iter().enumerate() {
                for (&i, p) in batch
                    .iter()
                    .zip(predict(*target, adversarial.clone()).await?)
                {
                    fooled[t][i] = p != labels[i];
                }
            }
        }
        success.push(
            (0..targets.len())
                .map(|t| {
                    let correct = clean_ok[t].iter().filter(|&&c| c).count();
                    let hit = (0..n).filter(|&i| clean_ok[t][i] && fooled[t][i]).count();
                    if correct == 0 {
                        0.0
                    } else {
                        hit as f64 / correct as f64
                    }
                })
                .collect(),
        );
        if !on_progress(s + 1, total) {
            break;
        }
    }
    Ok(TransferMatrix {
        surrogates: surrogates.iter().map(|(n, _)| n.to_string()).collect(),
        targets: targets.iter().map(|(n, _)| n.to_string()).collect(),
        success,
        target_clean_accuracy: clean_ok
            .iter()
            .map(|c| c.iter().filter(|&&x| x).count() as f64 / n.max(1) as f64)
            .collect(),
    })
}
