//! Robust accuracy over a test slice, and its curve against ε, in one call.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::method::Attack;
use super::result::{AttackOutcome, AttackSummary, SampleResult};
use super::threat::{Norm, ThreatModel};
use crate::data::ImageSource;
use crate::error::{Error, Result};
use crate::model::Classifier;

/// Where a run over many batches is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    /// Batches done (over every ε of a sweep).
    pub done: usize,
    /// Batches in all.
    pub total: usize,
    /// Images done (over every ε of a sweep), for rates in images per second.
    pub images: usize,
}

/// One point of a robustness curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// The budget.
    pub epsilon: f32,
    /// Figures at this budget.
    #[serde(flatten)]
    pub summary: AttackSummary,
    /// Fraction classified correctly and not broken at this or any smaller budget of the sweep:
    /// an adversarial inside a smaller ball lies inside this one too, so this is the tighter
    /// robust accuracy, and it never rises with ε.
    pub cumulative_robust_accuracy: f64,
}

/// Attack every image of `data` in batches of `batch_size`, calling `on_batch` with each batch's
/// indices and outcome; it cancels the rest by returning `false`.
pub async fn attack_dataset(
    model: &impl Classifier,
    data: &dyn ImageSource,
    device: &Device,
    batch_size: usize,
    threat: &ThreatModel,
    attack: &Attack,
    mut on_batch: impl FnMut(&[usize], &AttackOutcome) -> bool,
) -> Result<Vec<SampleResult>> {
    if batch_size == 0 || data.is_empty() {
        return Err(Error::InvalidArgument(
            "need a batch size ≥ 1 and at least one image".into(),
        ));
    }
    let mut samples = Vec::with_capacity(data.len());
    let indices: Vec<usize> = (0..data.len()).collect();
    for batch in indices.chunks(batch_size) {
        crate::runtime::pace::pause().await;
        let outcome = attack_batch(model, data, device, batch, threat, attack).await?;
        let go_on = on_batch(batch, &outcome);
        samples.extend(outcome.samples);
        if !go_on {
            break;
        }
    }
    Ok(samples)
}

/// Attack images `indices` of `data` as one batch.
pub async fn attack_batch(
    model: &impl Classifier,
    data: &dyn ImageSource,
    device: &Device,
    indices: &[usize],
    threat: &ThreatModel,
    attack: &Attack,
) -> Result<AttackOutcome> {
    let labels = data.class_labels();
    let (images, _) = data.batch(indices, device)?;
    let batch_labels: Vec<usize> = indices.iter().map(|&i| labels[i]).collect();
    attack
        .run(model, images, &batch_labels, threat, |_| true)
        .await
}

/// The curve from each budget's per-image results (`per_epsilon[k]` for `epsilons[k]`, every
/// image of `labels` in order): the figures at each budget, and the cumulative robust accuracy.
pub fn curve_from_samples(
    epsilons: &[f32],
    per_epsilon: &[Vec<SampleResult>],
    labels: &[usize],
) -> Vec<CurvePoint> {
    let broken: Vec<Vec<bool>> = per_epsilon
        .iter()
        .map(|samples| {
            samples
                .iter()
                .zip(labels)
                .map(|(s, l)| !s.clean_correct || s.predicted != *l)
                .collect()
        })
        .collect();
    let mut curve: Vec<CurvePoint> = epsilons
        .iter()
        .zip(per_epsilon)
        .map(|(&epsilon, samples)| CurvePoint {
            epsilon,
            summary: AttackSummary::from_samples(samples, labels),
            cumulative_robust_accuracy: 0.0,
        })
        .collect();
    let n = labels.len().max(1) as f64;
    for i in 0..curve.len() {
        let eps = curve[i].epsilon;
        let survivors = (0..labels.len())
            .filter(|&k| {
                (0..curve.len())
                    .filter(|&j| curve[j].epsilon <= eps)
                    .all(|j| !broken[j][k])
            })
            .count();
        curve[i].cumulative_robust_accuracy = survivors as f64 / n;
    }
    curve
}

/// Robust accuracy (and the other summary figures) at each budget in `epsilons`, with the attack
/// `configure` builds for each threat model (e.g. PGD whose step size follows ε).
#[allow(clippy::too_many_arguments)]
pub async fn robustness_curve(
    model: &impl Classifier,
    data: &dyn ImageSource,
    device: &Device,
    batch_size: usize,
    norm: Norm,
    epsilons: &[f32],
    configure: impl Fn(&ThreatModel) -> Attack,
    mut on_progress: impl FnMut(BatchProgress) -> bool,
) -> Result<Vec<CurvePoint>> {
    if epsilons.is_empty() {
        return Err(Error::InvalidArgument("no budgets to sweep".into()));
    }
    let labels = data.class_labels();
    let per_eps = data.len().div_ceil(batch_size.max(1));
    let total = per_eps * epsilons.len();
    let (mut done, mut images) = (0, 0);
    let mut cancelled = false;
    let mut per_epsilon = Vec::with_capacity(epsilons.len());
    let mut swept = Vec::with_capacity(epsilons.len());
    for &epsilon in epsilons {
        let threat = ThreatModel::new(norm, epsilon)?;
        let attack = configure(&threat);
        let samples = attack_dataset(
            model,
            data,
            device,
            batch_size,
            &threat,
            &attack,
            |batch, _| {
                done += 1;
                images += batch.len();
                cancelled = !on_progress(BatchProgress {
                    done,
                    total,
                    images,
                });
                !cancelled
            },
        )
        .await?;
        if cancelled {
            break;
        }
        per_epsilon.push(samples);
        swept.push(epsilon);
    }
    let curve = curve_from_samples(&swept, &per_epsilon, &labels);
    Ok(curve)
}
