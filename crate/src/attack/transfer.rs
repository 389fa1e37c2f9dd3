//! Transfer attacks: adversarials crafted on surrogate models, scored on target models.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::method::Attack;
use super::sweep::attack_batch;
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

/// Craft adversarials on every surrogate and score them on every target, a batch of
/// `batch_size` images at a time ([`transfer_batch`]); `on_progress(batches done, batches)` stops
/// the run (the matrix then covers the batches done) when it returns `false`. The threat model
/// must be untargeted.
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
    if surrogates.is_empty() || targets.is_empty() {
        return Err(Error::InvalidArgument(
            "need at least one surrogate and one target".into(),
        ));
    }
    let indices: Vec<usize> = (0..data.len()).collect();
    let batches: Vec<&[usize]> = indices.chunks(batch_size.max(1)).collect();
    let mut records = Vec::with_capacity(batches.len());
    for (done, batch) in batches.iter().enumerate() {
        records
            .push(transfer_batch(surrogates, targets, data, device, batch, threat, attack).await?);
        if !on_progress(done + 1, batches.len()) {
            break;
        }
    }
    let names = |models: &[(&str, &dyn Classifier)]| -> Vec<String> {
        models.iter().map(|(n, _)| n.to_string()).collect()
    };
    TransferMatrix::from_records(&names(surrogates), &names(targets), &records)
}

/// Per target: among the images it classifies correctly (`clean_ok[t]`), the fraction `fooled[t]`
/// marks.
fn success_rates(clean_ok: &[Vec<bool>], fooled: &[Vec<bool>]) -> Vec<f64> {
    clean_ok
        .iter()
        .zip(fooled)
        .map(|(clean, fooled)| {
            let correct = clean.iter().filter(|&&c| c).count();
            let hit = clean.iter().zip(fooled).filter(|(c, f)| **c && **f).count();
            if correct == 0 {
                0.0
            } else {
                hit as f64 / correct as f64
            }
        })
        .collect()
}

fn clean_accuracies(clean_ok: &[Vec<bool>]) -> Vec<f64> {
    clean_ok
        .iter()
        .map(|c| c.iter().filter(|&&x| x).count() as f64 / c.len().max(1) as f64)
        .collect()
}

/// One batch of the transfer matrix, per image: the records a sharded `transfer` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// `clean_ok[t][i]`: target `t` classifies image `i` correctly.
    pub clean_ok: Vec<Vec<bool>>,
    /// `fooled[s][t][i]`: the adversarial crafted on surrogate `s` fools target `t`.
    pub fooled: Vec<Vec<Vec<bool>>>,
}

/// Craft adversarials for images `indices` of `data` on every surrogate and score them on every
/// target: one batch of [`transfer_matrix`].
#[allow(clippy::too_many_arguments)]
pub async fn transfer_batch(
    surrogates: &[(&str, &dyn Classifier)],
    targets: &[(&str, &dyn Classifier)],
    data: &dyn ImageSource,
    device: &Device,
    indices: &[usize],
    threat: &ThreatModel,
    attack: &Attack,
) -> Result<TransferRecord> {
    if *threat.goal() != Goal::Untargeted {
        return Err(Error::InvalidArgument(
            "the transfer matrix scores untargeted attacks".into(),
        ));
    }
    let labels = data.class_labels();
    let (images, _) = data.batch(indices, device)?;
    let mut clean_ok = Vec::with_capacity(targets.len());
    for (_, target) in targets {
        let predicted = predict(*target, images.clone()).await?;
        clean_ok.push(
            indices
                .iter()
                .zip(predicted)
                .map(|(&i, p)| p == labels[i])
                .collect(),
        );
    }
    let mut fooled = Vec::with_capacity(surrogates.len());
    for (_, surrogate) in surrogates {
        let outcome = attack_batch(surrogate, data, device, indices, threat, attack).await?;
        let mut row = Vec::with_capacity(targets.len());
        for (_, target) in targets {
            let predicted = predict(*target, outcome.adversarial.clone()).await?;
            row.push(
                indices
                    .iter()
                    .zip(predicted)
                    .map(|(&i, p)| p != labels[i])
                    .collect(),
            );
        }
        fooled.push(row);
    }
    Ok(TransferRecord { clean_ok, fooled })
}

impl TransferMatrix {
    /// The matrix over every batch's records (in order) for the named surrogates and targets.
    pub fn from_records(
        surrogates: &[String],
        targets: &[String],
        records: &[TransferRecord],
    ) -> Result<TransferMatrix> {
        let shape_ok = records.iter().all(|r| {
            r.clean_ok.len() == targets.len()
                && r.fooled.len() == surrogates.len()
                && r.fooled.iter().all(|row| row.len() == targets.len())
        });
        if !shape_ok {
            return Err(Error::Mismatch(format!(
                "transfer records do not have {} surrogates × {} targets",
                surrogates.len(),
                targets.len()
            )));
        }
        let join = |pick: &dyn Fn(&TransferRecord) -> &Vec<bool>| -> Vec<bool> {
            records
                .iter()
                .flat_map(|r| pick(r).iter().copied())
                .collect()
        };
        let clean_ok: Vec<Vec<bool>> = (0..targets.len())
            .map(|t| join(&|r| &r.clean_ok[t]))
            .collect();
        let success = (0..surrogates.len())
            .map(|s| {
                let fooled: Vec<Vec<bool>> = (0..targets.len())
                    .map(|t| join(&|r| &r.fooled[s][t]))
                    .collect();
                success_rates(&clean_ok, &fooled)
            })
            .collect();
        Ok(TransferMatrix {
            surrogates: surrogates.to_vec(),
            targets: targets.to_vec(),
            success,
            target_clean_accuracy: clean_accuracies(&clean_ok),
        })
    }
}
