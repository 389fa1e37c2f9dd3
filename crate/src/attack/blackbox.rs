//! Query access (the paper's black-box threat model): a classifier seen only through its outputs,
//! with an exact count of the images it was asked about.
//!
//! [`BlackBox`] takes images as host numbers and returns host numbers (scores, or labels only),
//! so an attack that holds one has no tensor to differentiate: gradient access is impossible by
//! construction, not by convention.

use burn::tensor::{Device, Tensor, TensorData};

use super::threat::ThreatModel;
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::readback::read_f32;

/// A classifier behind a query interface that counts every image it classifies.
pub struct BlackBox<'m, M: Classifier> {
    model: &'m M,
    device: Device,
    shape: [usize; 3],
    queries: usize,
}

impl<'m, M: Classifier> BlackBox<'m, M> {
    /// Query access to `model` for images of `shape` (`[channels, height, width]`) on `device`.
    pub fn new(model: &'m M, device: Device, shape: [usize; 3]) -> Self {
        Self {
            model,
            device,
            shape,
            queries: 0,
        }
    }

    /// Read `images` (`[n, c, h, w]`) to the host, classify them once (the first query of each)
    /// and check them and `labels` against `threat`: where every query-only attack starts.
    pub(crate) async fn open(
        model: &'m M,
        images: Tensor<4>,
        labels: &[usize],
        threat: &ThreatModel,
    ) -> Result<Opened<'m, M>> {
        let dims = images.dims();
        let device = images.device();
        let clean = read_f32(images.without_autodiff()).await?;
        let mut oracle = Self::new(model, device, [dims[1], dims[2], dims[3]]);
        let (scores, classes) = oracle.scores(&clean).await?;
        threat.check_batch(dims, labels, classes)?;
        Ok(Opened {
            clean,
            oracle,
            scores,
            classes,
        })
    }

    /// Images queried so far (one per image, however they were batched).
    pub fn queries(&self) -> usize {
        self.queries
    }

    /// The image shape `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Scores (logits) `[count × classes]`, row-major, for `images` (`count` images, row-major
    /// `[count, c, h, w]`).
    pub async fn scores(&mut self, images: &[f32]) -> Result<(Vec<f32>, usize)> {
        let [c, h, w] = self.shape;
        let size = c * h * w;
        if size == 0 || !images.len().is_multiple_of(size) || images.is_empty() {
            return Err(Error::Mismatch(format!(
                "{} numbers are not whole images of {c}×{h}×{w}",
                images.len()
            )));
        }
        if images.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(
                "a queried image has a non-finite pixel".into(),
            ));
        }
        let count = images.len() / size;
        let batch = Tensor::<4>::from_data(
            TensorData::new(images.to_vec(), [count, c, h, w]),
            &self.device,
        );
        let logits = self.model.logits(batch).without_autodiff();
        let classes = logits.dims()[1];
        self.queries += count;
        Ok((read_f32(logits).await?, classes))
    }

    /// The predicted class of each image (decision-based access: labels only).
    pub async fn decisions(&mut self, images: &[f32]) -> Result<Vec<usize>> {
        let (scores, classes) = self.scores(images).await?;
        Ok(scores.chunks(classes).map(argmax).collect())
    }
}

/// A batch opened for query-only attack: the clean pixels, the oracle (one query per image
/// spent), the clean scores and the class count.
pub(crate) struct Opened<'m, M: Classifier> {
    pub clean: Vec<f32>,
    pub oracle: BlackBox<'m, M>,
    pub scores: Vec<f32>,
    pub classes: usize,
}

/// Index of the largest value (the first of equals).
pub(crate) fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}

/// The logit margin of `row` for `class`: its logit minus the best other (untargeted: positive
/// while still correct), or the best other minus the target's (targeted: positive until reached).
pub(crate) fn margin(row: &[f32], class: usize, targeted: bool) -> f32 {
    let other = row
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != class)
        .map(|(_, &v)| v)
        .fold(f32::NEG_INFINITY, f32::max);
    if targeted {
        other - row[class]
    } else {
        row[class] - other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_and_argmax_by_hand() {
        let row = [-5.0, -2.0, -3.0];
        assert_eq!(argmax(&row), 1);
        assert_eq!(margin(&row, 0, false), -3.0);
        assert_eq!(margin(&row, 1, false), 1.0);
        assert_eq!(margin(&row, 2, true), 1.0);
    }
}
