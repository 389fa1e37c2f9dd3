//! Evaluation: predictions and accuracy over a dataset.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};

use crate::data::ImageSource;
use crate::error::{Error, Result};
use crate::model::Classifier;

/// Class probabilities `[n, classes]` of `model` on `images`.
pub fn probabilities(model: &impl Classifier, images: Tensor<4>) -> Tensor<2> {
    softmax(model.logits(images), 1)
}

/// Predicted classes `[n]` of `model` on `images`, by its logits averaged over `draws` forward
/// passes (one for a deterministic model; several for a randomized one, whose prediction is an
/// expectation).
pub fn predictions(model: &impl Classifier, images: Tensor<4>, draws: usize) -> Tensor<1, Int> {
    let n = images.dims()[0];
    let draws = draws.max(1);
    let batch = if draws > 1 {
        images.repeat_dim(0, draws)
    } else {
        images
    };
    let logits = model.logits(batch);
    let classes = logits.dims()[1];
    let mean = logits
        .reshape([draws, n, classes])
        .mean_dim(0)
        .reshape([n, classes]);
    mean.argmax(1).reshape([n])
}

/// Clean, PGD-robust and IBP-verified accuracy of one model at one L∞ radius.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Test images used.
    pub images: usize,
    /// Fraction classified correctly.
    pub clean_accuracy: f64,
    /// The L∞ radius of the robust figures (none: clean only).
    pub epsilon: Option<f32>,
    /// PGD steps (step 2.5·ε/steps, random start) per restart.
    pub pgd_steps: usize,
    /// PGD restarts; a sample counts as robust only if every restart fails.
    pub restarts: usize,
    /// Fraction still correct under PGD.
    pub robust_accuracy: Option<f64>,
    /// Fraction IBP proves robust on the whole ball.
    pub verified_accuracy: Option<f64>,
}

/// What [`evaluate`] measures.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalSettings {
    /// Images per batch.
    pub batch_size: usize,
    /// L∞ radius of the robust figures; `None` measures clean accuracy only.
    pub epsilon: Option<f32>,
    /// PGD steps per restart.
    pub pgd_steps: usize,
    /// PGD random restarts.
    pub restarts: usize,
}

/// One batch's evaluation, per image: the records a sharded `eval` writes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalRecord {
    /// Classified correctly.
    pub clean: Vec<bool>,
    /// Proved robust by IBP at ε (when an ε is set).
    pub verified: Option<Vec<bool>>,
    /// Still correct under PGD at ε (when an ε is set).
    pub robust: Option<Vec<bool>>,
}

/// Evaluate images `indices` of `data` as one batch.
pub async fn evaluate_batch(
    model: &crate::model::Sequential,
    data: &dyn ImageSource,
    device: &Device,
    indices: &[usize],
    settings: &EvalSettings,
) -> Result<EvalRecord> {
    use crate::attack::{Attack, Norm, PgdConfig, ThreatModel, attack_batch};
    use crate::certify::{input_box, verified};
    use crate::runtime::readback::read_f32;

    let mask = |values: Vec<f32>| values.into_iter().map(|v| v > 0.5).collect::<Vec<bool>>();
    let (images, labels) = data.batch(indices, device)?;
    let hits = model
        .logits(images.clone())
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(labels.clone())
        .float();
    let clean = mask(read_f32(hits).await?);
    let Some(eps) = settings.epsilon else {
        return Ok(EvalRecord {
            clean,
            verified: None,
            robust: None,
        });
    };
    let input = input_box(images, eps, (0.0, 1.0))?;
    let proved = mask(read_f32(verified(model, input, labels).float()).await?);
    let threat = ThreatModel::new(Norm::Linf, eps)?;
    let attack = Attack::Pgd(PgdConfig {
        restarts: settings.restarts.max(1),
        seed: 1,
        ..PgdConfig::pgd(&threat, settings.pgd_steps)
    });
    let outcome = attack_batch(model, data, device, indices, &threat, &attack).await?;
    let truth = data.class_labels();
    let robust = outcome
        .samples
        .iter()
        .zip(indices)
        .map(|(s, &i)| s.clean_correct && s.predicted == truth[i])
        .collect();
    Ok(EvalRecord {
        clean,
        verified: Some(proved),
        robust: Some(robust),
    })
}

impl Evaluation {
    /// The evaluation of every image in `records` (batches in order) under `settings`.
    pub fn from_records(settings: &EvalSettings, records: &[EvalRecord]) -> Evaluation {
        let images: usize = records.iter().map(|r| r.clean.len()).sum();
        let n = images.max(1) as f64;
        let fraction = |pick: &dyn Fn(&EvalRecord) -> Option<&Vec<bool>>| -> Option<f64> {
            let mut hits = 0;
            for r in records {
                hits += pick(r)?.iter().filter(|&&b| b).count();
            }
            Some(hits as f64 / n)
        };
        let with_eps = settings.epsilon.is_some();
        Evaluation {
            images,
            clean_accuracy: fraction(&|r| Some(&r.clean)).unwrap_or(0.0),
            epsilon: settings.epsilon,
            pgd_steps: settings.pgd_steps,
            restarts: settings.restarts,
            robust_accuracy: fraction(&|r| r.robust.as_ref()).filter(|_| with_eps),
            verified_accuracy: fraction(&|r| r.verified.as_ref()).filter(|_| with_eps),
        }
    }
}

/// Evaluate `model` on `data`: clean accuracy and, at ε, PGD-robust accuracy (Madry's PGD with
/// random restarts) and IBP-verified accuracy. `on_batch(done, total)` follows the images attacked.
pub async fn evaluate(
    model: &crate::model::Sequential,
    data: &dyn ImageSource,
    device: &Device,
    settings: &EvalSettings,
    mut on_batch: impl FnMut(usize, usize),
) -> Result<Evaluation> {
    if data.is_empty() || settings.batch_size == 0 {
        return Err(Error::InvalidArgument(
            "evaluation needs data and a positive batch size".into(),
        ));
    }
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut records = Vec::new();
    let mut done = 0;
    for batch in indices.chunks(settings.batch_size) {
        crate::runtime::pace::pause().await;
        records.push(evaluate_batch(model, data, device, batch, settings).await?);
        done += batch.len();
        on_batch(done, data.len());
    }
    Ok(Evaluation::from_records(settings, &records))
}
