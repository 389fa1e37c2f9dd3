//! What an attack returns: the adversarial batch, per-sample results and a per-step trace.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The outcome for one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleResult {
    /// The clean image was classified correctly.
    pub clean_correct: bool,
    /// The adversarial meets the goal (misclassified, or classified as the target).
    pub success: bool,
    /// Class predicted on the adversarial.
    pub predicted: usize,
    /// The attack objective at the adversarial.
    pub final_loss: f32,
    /// L∞ norm of the perturbation.
    pub linf: f32,
    /// L2 norm of the perturbation.
    pub l2: f32,
    /// Steps taken before the sample was frozen (early stop) or the run ended, best restart.
    pub steps: usize,
    /// Model queries this sample cost, for query-only (black-box) attacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<usize>,
}

/// One point of the live trace: batch means after a step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Restart, from 0.
    pub restart: usize,
    /// Step within the restart, from 1.
    pub step: usize,
    /// Mean attack objective over the batch.
    pub mean_loss: f32,
    /// Fraction of the batch meeting the goal.
    pub success_rate: f32,
}

/// Where a running attack is, for progress bars and the Stop button.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackProgress {
    /// Steps done over all restarts.
    pub done: usize,
    /// Steps the whole attack will take at most.
    pub total: usize,
    /// The trace points read since the last report, when tracing is on: one per step, or
    /// PGD's `trace_every` of them at once (each read is a round trip to the device).
    pub trace: Vec<TraceStep>,
    /// Model queries spent so far, for query-only (black-box) attacks.
    pub queries: Option<usize>,
}

/// An attack's output.
#[derive(Debug, Clone)]
pub struct AttackOutcome {
    /// The adversarial images, `[n, c, h, w]`, inside the ε-ball and the pixel range.
    pub adversarial: Tensor<4>,
    /// One result per sample.
    pub samples: Vec<SampleResult>,
    /// Batch means per step (empty unless tracing was asked for).
    pub trace: Vec<TraceStep>,
    /// The progress hook stopped the attack early.
    pub cancelled: bool,
}

/// Aggregate figures over many samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackSummary {
    /// Samples evaluated.
    pub samples: usize,
    /// Fraction classified correctly when clean.
    pub clean_accuracy: f64,
    /// Fraction still classified correctly under attack (a clean error counts as not robust).
    pub robust_accuracy: f64,
    /// Among the clean-correct samples, the fraction the attack turned into a success.
    pub attack_success_rate: f64,
    /// Median L∞ norm of the perturbations of successful attacks (0 when none succeeded).
    pub median_linf: f32,
    /// Median L2 norm of the perturbations of successful attacks (0 when none succeeded).
    pub median_l2: f32,
    /// Query-only attacks: median queries of the successful attacks (0 when none succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_queries: Option<f32>,
    /// Query-only attacks: mean queries per sample, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_queries: Option<f64>,
}

fn median(mut values: Vec<f32>) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

impl AttackSummary {
    /// Summarise per-sample results of an untargeted or targeted attack.
    pub fn from_samples(samples: &[SampleResult], labels: &[usize]) -> Self {
        let n = samples.len().max(1) as f64;
        let clean = samples.iter().filter(|s| s.clean_correct).count();
        let robust = samples
            .iter()
            .zip(labels)
            .filter(|(s, l)| s.clean_correct && s.predicted == **l)
            .count();
        let flipped = samples
            .iter()
            .filter(|s| s.clean_correct && s.success)
            .count();
        let won: Vec<&SampleResult> = samples.iter().filter(|s| s.success).collect();
        Self {
            samples: samples.len(),
            clean_accuracy: clean as f64 / n,
            robust_accuracy: robust as f64 / n,
            attack_success_rate: if clean == 0 {
                0.0
            } else {
                flipped as f64 / clean as f64
            },
            median_linf: median(won.iter().map(|s| s.linf).collect()),
            median_l2: median(won.iter().map(|s| s.l2).collect()),
            median_queries: samples.iter().all(|s| s.queries.is_some()).then(|| {
                median(
                    won.iter()
                        .filter_map(|s| s.queries)
                        .map(|q| q as f32)
                        .collect(),
                )
            }),
            mean_queries: samples
                .iter()
                .all(|s| s.queries.is_some())
                .then(|| samples.iter().filter_map(|s| s.queries).sum::<usize>() as f64 / n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(clean_correct: bool, success: bool, predicted: usize, linf: f32) -> SampleResult {
        SampleResult {
            clean_correct,
            success,
            predicted,
            final_loss: 0.0,
            linf,
            l2: linf * 2.0,
            steps: 1,
            queries: None,
        }
    }

    #[test]
    fn summary_counts_by_hand() {
        let samples = [
            sample(true, true, 3, 0.1),  // label 1, flipped
            sample(true, false, 2, 0.3), // label 2, robust
            sample(false, true, 5, 0.2), // label 4, wrong from the start
            sample(true, true, 0, 0.3),  // label 7, flipped
        ];
        let s = AttackSummary::from_samples(&samples, &[1, 2, 4, 7]);
        assert_eq!(s.clean_accuracy, 0.75);
        assert_eq!(s.robust_accuracy, 0.25);
        assert!((s.attack_success_rate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.median_linf, 0.2);
        assert_eq!(s.median_l2, 0.4);
    }
}
