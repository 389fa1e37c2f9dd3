//! Randomized smoothing (Cohen, Rosenfeld & Kolter 2019): the smoothed classifier
//! g(x) = argmax_c P(f(x + N(0, σ²I)) = c), its PREDICT with abstention, and CERTIFY, which
//! proves g constant on the L2 ball of radius R = σ·Φ⁻¹(p̲A) with probability 1 − α.
//!
//! Votes are counted on the device and read back once per image; noise comes from the seeded host
//! generator of [`RandomizedInput`], so a run is reproducible on every backend.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::stats::{binomial_test_half, clopper_pearson_lower, normal_quantile};
use crate::attack::BatchProgress;
use crate::defense::RandomizedInput;
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::one_hot::one_hot_float;
use crate::runtime::readback::read_all_f32;

/// Parameters of PREDICT and CERTIFY.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmoothingConfig {
    /// Noise level σ of the smoothing distribution.
    pub sigma: f32,
    /// Noise samples that select the top class (Cohen's n₀).
    pub selection_samples: usize,
    /// Noise samples that estimate its probability (Cohen's n).
    pub samples: usize,
    /// Failure probability α of the certificate (and of PREDICT's test).
    pub alpha: f64,
    /// Noisy copies per forward pass.
    pub batch_size: usize,
    /// Seed of the noise; image `i` of a dataset run uses `seed + i`.
    pub seed: u64,
}

impl SmoothingConfig {
    /// Cohen's settings at noise `sigma`: n₀ = 100, n = 10,000 (Cohen uses 100,000), α = 0.001.
    pub fn new(sigma: f32) -> Self {
        Self {
            sigma,
            selection_samples: 100,
            samples: 10_000,
            alpha: 0.001,
            batch_size: 1_000,
            seed: 0,
        }
    }

    /// Refuse settings that cannot give a meaningful answer.
    pub fn validate(&self) -> Result<()> {
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "smoothing σ must be finite and > 0, got {}",
                self.sigma
            )));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::InvalidArgument(format!(
                "alpha must lie strictly between 0 and 1, got {}",
                self.alpha
            )));
        }
        if self.selection_samples == 0 || self.samples == 0 || self.batch_size == 0 {
            return Err(Error::InvalidArgument(
                "smoothing needs at least one selection sample, one estimation sample and a \
                 positive batch size"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The answer of CERTIFY for one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmoothedCertificate {
    /// The certified class, or `None` when CERTIFY abstains (p̲A < ½).
    pub class: Option<usize>,
    /// Certified L2 radius σ·Φ⁻¹(p̲A); 0 on abstention.
    pub radius: f64,
    /// The class the selection samples voted for.
    pub top_class: usize,
    /// Estimation votes for `top_class`, out of `samples`.
    pub top_votes: u64,
    /// One-sided Clopper–Pearson lower bound on its probability.
    pub p_a_lower: f64,
}

/// The answer of PREDICT for one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmoothedPrediction {
    /// The predicted class, or `None` when the binomial test cannot separate the top two.
    pub class: Option<usize>,
    /// Votes for every class.
    pub votes: Vec<u64>,
    /// Two-sided p-value of the top two vote counts under p = ½.
    pub p_value: f64,
}

/// Certified radius σ·Φ⁻¹(p̲A), or `None` (abstain) when p̲A < ½.
pub fn certified_radius(sigma: f64, p_a_lower: f64) -> Result<Option<f64>> {
    if p_a_lower < 0.5 {
        return Ok(None);
    }
    if p_a_lower >= 1.0 {
        return Err(Error::InvalidArgument(
            "a probability bound of 1 gives an infinite radius; Clopper–Pearson never returns it"
                .into(),
        ));
    }
    Ok(Some(sigma * normal_quantile(p_a_lower)?))
}

/// Vote tensors `[classes]` of the base classifier under noise, one per entry of `counts`, each
/// counted on the device from its own draws.
async fn vote_tensors<M: Classifier>(
    noisy: &RandomizedInput<M>,
    image: &Tensor<4>,
    counts: &[usize],
    batch_size: usize,
) -> Result<Vec<Tensor<1>>> {
    let mut out = Vec::with_capacity(counts.len());
    for &count in counts {
        let mut votes: Option<Tensor<1>> = None;
        let mut left = count;
        while left > 0 {
            crate::runtime::pace::pause().await;
            let b = left.min(batch_size);
            left -= b;
            let logits = noisy.logits(image.clone().repeat_dim(0, b));
            let classes = logits.dims()[1];
            let batch_votes = one_hot_float::<1, 2>(logits.argmax(1).reshape([b]), classes)
                .sum_dim(0)
                .reshape([classes]);
            votes = Some(match votes {
                Some(v) => v + batch_votes,
                None => batch_votes,
            });
        }
        out.push(votes.expect("counts are positive"));
    }
    Ok(out)
}

fn single(image: Tensor<4>) -> Result<Tensor<4>> {
    if image.dims()[0] != 1 {
        return Err(Error::Mismatch(format!(
            "smoothing takes one image [1, c, h, w], got a batch of {}",
            image.dims()[0]
        )));
    }
    Ok(image)
}

fn to_counts(votes: Vec<f32>) -> Vec<u64> {
    // Sums of one-hot rows: exact integers in f32 below 2²⁴ samples.
    votes.into_iter().map(|v| v.round() as u64).collect()
}

fn top_class(votes: &[u64]) -> usize {
    // Lowest index among ties, as numpy's argmax.
    let best = votes.iter().copied().max().unwrap_or(0);
    votes.iter().position(|&v| v == best).unwrap_or(0)
}

/// Cohen's PREDICT: the smoothed classifier's class at `image` `[1, c, h, w]` from
/// `config.samples` noisy votes, or abstention when a two-sided binomial test of the top two
/// counts gives a p-value above `config.alpha`.
pub async fn predict<M: Classifier>(
    model: &M,
    image: Tensor<4>,
    config: &SmoothingConfig,
) -> Result<SmoothedPrediction> {
    config.validate()?;
    let image = single(image)?;
    crate::runtime::readback::check_finite(&image).await?;
    let noisy = RandomizedInput::new(model, config.sigma, 0, config.seed)?;
    let tensors = vote_tensors(&noisy, &image, &[config.samples], config.batch_size).await?;
    let votes = to_counts(read_all_f32(tensors).await?.remove(0));
    let mut sorted = votes.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let (n_a, n_b) = (sorted[0], sorted.get(1).copied().unwrap_or(0));
    let p_value = binomial_test_half(n_a, n_a + n_b)?;
    Ok(SmoothedPrediction {
        class: (p_value <= config.alpha).then(|| top_class(&votes)),
        votes,
        p_value,
    })
}

/// Cohen's CERTIFY at `image` `[1, c, h, w]`: pick the top class from `selection_samples` votes,
/// bound its probability from below with `samples` fresh votes at confidence 1 − α, and certify
/// the radius σ·Φ⁻¹(p̲A), or abstain when p̲A < ½.
pub async fn certify<M: Classifier>(
    model: &M,
    image: Tensor<4>,
    config: &SmoothingConfig,
) -> Result<SmoothedCertificate> {
    config.validate()?;
    let image = single(image)?;
    crate::runtime::readback::check_finite(&image).await?;
    let noisy = RandomizedInput::new(model, config.sigma, 0, config.seed)?;
    let tensors = vote_tensors(
        &noisy,
        &image,
        &[config.selection_samples, config.samples],
        config.batch_size,
    )
    .await?;
    let mut read = read_all_f32(tensors).await?.into_iter().map(to_counts);
    let (selection, estimation) = (read.next().unwrap(), read.next().unwrap());
    let top = top_class(&selection);
    let top_votes = estimation[top];
    let p_a_lower = clopper_pearson_lower(top_votes, config.samples as u64, config.alpha)?;
    let radius = certified_radius(f64::from(config.sigma), p_a_lower)?;
    Ok(SmoothedCertificate {
        class: radius.map(|_| top),
        radius: radius.unwrap_or(0.0),
        top_class: top,
        top_votes,
        p_a_lower,
    })
}

/// CERTIFY for every image of `images` `[n, c, h, w]`, image `i` with seed `config.seed + i`.
/// `on_progress` sees each finished image and returns `false` to stop early.
pub async fn certify_all<M: Classifier>(
    model: &M,
    images: Tensor<4>,
    config: &SmoothingConfig,
    mut on_progress: impl FnMut(BatchProgress) -> bool,
) -> Result<Vec<SmoothedCertificate>> {
    let total = images.dims()[0];
    let mut out = Vec::with_capacity(total);
    for i in 0..total {
        let config = SmoothingConfig {
            seed: config.seed.wrapping_add(i as u64),
            ..config.clone()
        };
        out.push(certify(model, images.clone().narrow(0, i, 1), &config).await?);
        if !on_progress(BatchProgress {
            done: i + 1,
            total,
            images: i + 1,
        }) {
            break;
        }
    }
    Ok(out)
}

/// Certified accuracy at each radius: the fraction of inputs whose certified class is their
/// label with a radius of at least `r` (Cohen's Figure 7 curve).
pub fn certified_accuracy_curve(
    certificates: &[SmoothedCertificate],
    labels: &[usize],
    radii: &[f64],
) -> Result<Vec<(f64, f64)>> {
    if certificates.len() != labels.len() || labels.is_empty() {
        return Err(Error::Mismatch(format!(
            "{} certificates for {} labels",
            certificates.len(),
            labels.len()
        )));
    }
    Ok(radii
        .iter()
        .map(|&r| {
            let hits = certificates
                .iter()
                .zip(labels)
                .filter(|(c, y)| c.class == Some(**y) && c.radius >= r)
                .count();
            (r, hits as f64 / labels.len() as f64)
        })
        .collect())
}
