//! Poison detectors on the penultimate layer, class by class (each class as the training set
//! labels it): spectral signatures (Tran et al., 2018) and activation clustering (Chen et al.,
//! 2018). Both flag training images; [`Detection::score`] measures them against the truth.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::linalg::{centred, principal_directions, project, silhouette, two_means};
use super::metrics::features;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Sequential;

/// Which detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    /// Tran et al.: the outliers along each class's top singular direction.
    Spectral,
    /// Chen et al.: two-means on each class's principal components; a small, well separated
    /// cluster is the poison.
    Clustering,
}

impl DetectorKind {
    /// Every detector.
    pub const ALL: [Self; 2] = [Self::Spectral, Self::Clustering];

    /// Name as written on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::Spectral => "spectral",
            Self::Clustering => "clustering",
        }
    }
}

crate::names::named_enum!(DetectorKind, "detector");

/// Settings of the detectors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Spectral signatures: the largest fraction of a class expected to be poisoned (Tran et al.'s
    /// ε); the `1.5·ε` highest-scoring images of every class are flagged.
    pub expected_rate: f32,
    /// Activation clustering: principal components kept (Chen et al. reduce to 10).
    pub components: usize,
    /// Activation clustering: a cluster holding at most this fraction of its class is suspect.
    pub size_threshold: f32,
    /// Activation clustering: and it is flagged only if the split's silhouette is at least this
    /// (a clean class cut in two scores low).
    pub min_silhouette: f32,
    /// Images per forward pass when reading features.
    pub batch_size: usize,
    /// Seed of the power iterations, the clustering's start and the silhouette's sample.
    pub seed: u64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            expected_rate: 0.1,
            components: 10,
            size_threshold: 0.35,
            min_silhouette: 0.3,
            batch_size: 500,
            seed: 1,
        }
    }
}

impl DetectorConfig {
    /// Refuse settings that cannot detect.
    pub fn validate(&self) -> Result<()> {
        let fraction = |v: f32| v.is_finite() && v > 0.0 && v <= 1.0;
        if !fraction(self.expected_rate) || !fraction(self.size_threshold) {
            return Err(Error::InvalidArgument(
                "the expected poison rate and the cluster size threshold must be in (0, 1]".into(),
            ));
        }
        if self.components == 0 || !(-1.0..=1.0).contains(&self.min_silhouette) {
            return Err(Error::InvalidArgument(
                "activation clustering needs at least one component and a silhouette in [-1, 1]"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// One class's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassVerdict {
    /// The class (as labelled in the training set).
    pub class: usize,
    /// Its training images.
    pub images: usize,
    /// How many of them were flagged.
    pub flagged: usize,
    /// Activation clustering: the smaller cluster's share of the class.
    pub smaller_cluster: Option<f64>,
    /// Activation clustering: the split's mean silhouette.
    pub silhouette: Option<f64>,
}

/// Which training images a detector flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The detector.
    pub detector: DetectorKind,
    /// For every training image, whether it is flagged.
    pub flagged: Vec<bool>,
    /// Class by class.
    pub classes: Vec<ClassVerdict>,
}

/// A detection measured against the images really poisoned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectionScore {
    /// Images flagged.
    pub flagged: usize,
    /// Images poisoned.
    pub poisons: usize,
    /// Poisons flagged.
    pub true_positives: usize,
    /// Fraction of the flagged that are poisons (1 when nothing is flagged).
    pub precision: f64,
    /// Fraction of the poisons flagged (1 when there are none).
    pub recall: f64,
}

impl Detection {
    /// Precision and recall against `poisoned` (one flag per training image).
    pub fn score(&self, poisoned: &[bool]) -> Result<DetectionScore> {
        if poisoned.len() != self.flagged.len() {
            return Err(Error::Mismatch(format!(
                "{} truths for {} flags",
                poisoned.len(),
                self.flagged.len()
            )));
        }
        let flagged = self.flagged.iter().filter(|&&f| f).count();
        let poisons = poisoned.iter().filter(|&&p| p).count();
        let true_positives = self
            .flagged
            .iter()
            .zip(poisoned)
            .filter(|(f, p)| **f && **p)
            .count();
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        Ok(DetectionScore {
            flagged,
            poisons,
            true_positives,
            precision: ratio(true_positives, flagged),
            recall: ratio(true_positives, poisons),
        })
    }
}

/// Run `detector` with `model`'s penultimate features on the training set `data`.
pub async fn detect(
    model: &Sequential,
    data: &Dataset,
    detector: DetectorKind,
    config: &DetectorConfig,
    device: &Device,
) -> Result<Detection> {
    config.validate()?;
    let (values, width) = features(model, data, config.batch_size, device).await?;
    Ok(detect_features(
        &values,
        width,
        data.labels(),
        detector,
        config,
    ))
}

/// [`detect`] on features already read (`values`: `width` per image, one label each).
pub fn detect_features(
    values: &[f32],
    width: usize,
    labels: &[u16],
    detector: DetectorKind,
    config: &DetectorConfig,
) -> Detection {
    let mut flagged = vec![false; labels.len()];
    let mut classes = Vec::new();
    let top = labels.iter().copied().max().map_or(0, usize::from);
    for class in 0..=top {
        let members: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == class)
            .collect();
        if members.is_empty() {
            continue;
        }
        let rows: Vec<Vec<f64>> = members
            .iter()
            .map(|&i| {
                values[i * width..(i + 1) * width]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect()
            })
            .collect();
        let rows = centred(&rows);
        let seed = config.seed ^ (class as u64).wrapping_mul(0x9e37_79b9);
        let mut verdict = ClassVerdict {
            class,
            images: members.len(),
            flagged: 0,
            smaller_cluster: None,
            silhouette: None,
        };
        let chosen: Vec<usize> = match detector {
            DetectorKind::Spectral => {
                let direction = principal_directions(&rows, 1, seed);
                let scores: Vec<f64> = project(&rows, &direction)
                    .into_iter()
                    .map(|p| p[0] * p[0])
                    .collect();
                let remove =
                    ((1.5 * f64::from(config.expected_rate) * members.len() as f64).round()
                        as usize)
                        .min(members.len());
                let mut order: Vec<usize> = (0..members.len()).collect();
                order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
                order.truncate(remove);
                order
            }
            DetectorKind::Clustering => {
                let directions = principal_directions(&rows, config.components, seed);
                let reduced = project(&rows, &directions);
                let assign = two_means(&reduced, seed);
                let ones = assign.iter().filter(|&&a| a == 1).count();
                let small = usize::from(ones * 2 < assign.len());
                let share =
                    assign.iter().filter(|&&a| a == small).count() as f64 / assign.len() as f64;
                let score = silhouette(&reduced, &assign, 1000, seed);
                verdict.smaller_cluster = Some(share);
                verdict.silhouette = Some(score);
                if share <= f64::from(config.size_threshold)
                    && score >= f64::from(config.min_silhouette)
                {
                    (0..assign.len()).filter(|&i| assign[i] == small).collect()
                } else {
                    Vec::new()
                }
            }
        };
        for k in chosen {
            flagged[members[k]] = true;
            verdict.flagged += 1;
        }
        classes.push(verdict);
    }
    Detection {
        detector,
        flagged,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::rng::SplitMix64;

    /// Class 0: 200 images around one point, 30 of them (the "poisons") around a far one;
    /// class 1: 200 clean images.
    fn planted() -> (Vec<f32>, Vec<u16>, Vec<bool>) {
        let mut rng = SplitMix64::new(9);
        let mut values = Vec::new();
        let mut labels = Vec::new();
        let mut truth = Vec::new();
        for i in 0..400 {
            let poison = i < 30;
            let shift = if poison { 6.0 } else { 0.0 };
            for k in 0..8 {
                let centre = if k == 0 { shift } else { 0.0 };
                values.push(centre + rng.next_gaussian());
            }
            labels.push(u16::from(i >= 200));
            truth.push(poison);
        }
        (values, labels, truth)
    }

    #[test]
    fn both_detectors_find_a_planted_cluster() {
        let (values, labels, truth) = planted();
        let config = DetectorConfig::default();
        let spectral = detect_features(&values, 8, &labels, DetectorKind::Spectral, &config);
        // 1.5 · 10% of each class: 30 per class.
        assert_eq!(spectral.flagged.iter().filter(|&&f| f).count(), 60);
        let score = spectral.score(&truth).unwrap();
        assert!(score.recall >= 0.95, "{score:?}");
        let clustering = detect_features(&values, 8, &labels, DetectorKind::Clustering, &config);
        let score = clustering.score(&truth).unwrap();
        assert!(score.recall >= 0.95 && score.precision >= 0.9, "{score:?}");
        // The clean class is one blob: nothing flagged there.
        assert_eq!(clustering.classes[1].flagged, 0, "{:?}", clustering.classes);
    }

    #[test]
    fn bad_settings_are_refused() {
        for config in [
            DetectorConfig {
                expected_rate: 0.0,
                ..DetectorConfig::default()
            },
            DetectorConfig {
                size_threshold: f32::NAN,
                ..DetectorConfig::default()
            },
            DetectorConfig {
                components: 0,
                ..DetectorConfig::default()
            },
        ] {
            assert!(config.validate().is_err());
        }
    }
}
