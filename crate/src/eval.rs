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
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// Evaluate `model` on `data`: clean accuracy and, at ε, PGD-robust accuracy (Madry's PGD with
/// random restarts) and IBP-verified accuracy. `on_batch(done, total)` follows the images attacked.
pub async fn evaluate(
    model: &crate::model::Sequential,
    data: &dyn ImageSource,
    device: &Device,
    settings: &EvalSettings,
    mut on_batch: impl FnMut(usize, usize),
) -> Result<Evaluation> {
    let EvalSettings {
        batch_size,
        epsilon,
        pgd_steps,
        restarts,
    } = *settings;
    use crate::attack::{Attack, AttackSummary, Norm, PgdConfig, ThreatModel, attack_dataset};
    use crate::certify::{input_box, verified};
    use crate::runtime::readback::read_f32;

    if data.is_empty() || batch_size == 0 {
        return Err(Error::InvalidArgument(
            "evaluation needs data and a positive batch size".into(),
        ));
    }
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut clean = 0.0;
    let mut proved = 0.0;
    for batch in indices.chunks(batch_size) {
        crate::runtime::pace::pause().await;
        let (images, labels) = data.batch(batch, device)?;
        let hits = model
            .logits(images.clone())
            .argmax(1)
            .flatten::<1>(0, 1)
            .equal(labels.clone())
            .float()
            .sum();
        clean += read_f32(hits).await?[0];
        if let Some(eps) = epsilon {
            let input = input_box(images, eps, (0.0, 1.0))?;
            proved += read_f32(verified(model, input, labels).float().sum()).await?[0];
        }
    }
    let n = data.len() as f64;
    let (robust_accuracy, verified_accuracy) = match epsilon {
        Some(eps) => {
            let threat = ThreatModel::new(Norm::Linf, eps)?;
            let attack = Attack::Pgd(PgdConfig {
                restarts: restarts.max(1),
                seed: 1,
                ..PgdConfig::pgd(&threat, pgd_steps)
            });
            let mut done = 0;
            let samples =
                attack_dataset(model, data, device, batch_size, &threat, &attack, |b, _| {
                    done += b.len();
                    on_batch(done, data.len());
                    true
                })
                .await?;
            let summary = AttackSummary::from_samples(&samples, &data.class_labels());
            (Some(summary.robust_accuracy), Some(f64::from(proved) / n))
        }
        None => (None, None),
    };
    Ok(Evaluation {
        images: data.len(),
        clean_accuracy: f64::from(clean) / n,
        epsilon,
        pgd_steps,
        restarts,
        robust_accuracy,
        verified_accuracy,
    })
}
