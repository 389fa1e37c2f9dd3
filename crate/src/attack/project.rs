//! Projection onto the threat model's feasible set: the ε-ball around the clean images,
//! intersected with the pixel range.

use burn::tensor::Tensor;

use super::threat::{Norm, ThreatModel};

/// Guards divisions by a norm that may be zero.
pub(crate) const TINY: f32 = 1e-12;

/// Per-sample Euclidean norm of `x`, shaped `[n, 1, 1, 1]` for broadcasting.
pub(crate) fn l2_norm(x: Tensor<4>) -> Tensor<4> {
    let [n, ..] = x.dims();
    x.square()
        .reshape([n as i64, -1])
        .sum_dim(1)
        .sqrt()
        .reshape([n, 1, 1, 1])
}

/// Per-sample largest absolute value of `x`, shaped `[n]`.
pub(crate) fn linf_norm(x: Tensor<4>) -> Tensor<1> {
    let [n, ..] = x.dims();
    x.abs().reshape([n as i64, -1]).max_dim(1).reshape([n])
}

/// The point of the feasible set nearest to `x` (for L2, the radial projection followed by the
/// pixel clamp, which never leaves the ball since the clean images lie in the pixel box).
pub fn project(x: Tensor<4>, clean: &Tensor<4>, threat: &ThreatModel) -> Tensor<4> {
    let eps = threat.epsilon();
    let (low, high) = threat.pixel_range();
    let projected = match threat.norm() {
        Norm::Linf => x
            .max_pair(clean.clone() - eps)
            .min_pair(clean.clone() + eps),
        Norm::L2 => {
            let delta = x - clean.clone();
            let scale = (l2_norm(delta.clone()) + TINY)
                .recip()
                .mul_scalar(eps)
                .clamp_max(1.0);
            clean.clone() + delta * scale
        }
    };
    projected.clamp(low, high)
}

/// The feasible set around fixed clean images, with the L∞ box bounds computed once so each
/// projection of an iterative attack costs two element-wise operations.
pub(crate) struct Feasible<'a> {
    clean: &'a Tensor<4>,
    threat: &'a ThreatModel,
    /// L∞: per-pixel `[max(clean − ε, low), min(clean + ε, high)]`.
    bounds: Option<(Tensor<4>, Tensor<4>)>,
}

impl<'a> Feasible<'a> {
    pub(crate) fn new(clean: &'a Tensor<4>, threat: &'a ThreatModel) -> Self {
        let bounds = (threat.norm() == Norm::Linf).then(|| {
            let (low, high) = threat.pixel_range();
            let eps = threat.epsilon();
            (
                (clean.clone() - eps).clamp_min(low),
                (clean.clone() + eps).clamp_max(high),
            )
        });
        Self {
            clean,
            threat,
            bounds,
        }
    }

    /// Same result as [`project`].
    pub(crate) fn project(&self, x: Tensor<4>) -> Tensor<4> {
        match &self.bounds {
            Some((lower, upper)) => x.max_pair(lower.clone()).min_pair(upper.clone()),
            None => project(x, self.clean, self.threat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(values: Vec<f32>, device: &Device) -> Tensor<4> {
        let n = values.len();
        Tensor::from_data(TensorData::new(values, [1, 1, 1, n]), device)
    }

    #[test]
    fn linf_clips_each_pixel_and_the_range() {
        let d = Device::flex();
        let clean = t(vec![0.5, 0.95, 0.02], &d);
        let x = t(vec![0.9, 1.2, -0.3], &d);
        let threat = ThreatModel::new(Norm::Linf, 0.1).unwrap();
        let p = project(x, &clean, &threat)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let want = [0.6, 1.0, 0.0];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{p:?}");
        }
    }

    #[test]
    fn l2_scales_back_onto_the_sphere() {
        let d = Device::flex();
        let clean = t(vec![0.5, 0.5], &d);
        let x = t(vec![0.5 + 0.3, 0.5 + 0.4], &d); // ‖δ‖ = 0.5
        let threat = ThreatModel::new(Norm::L2, 0.25).unwrap();
        let p = project(x, &clean, &threat)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        assert!(
            (p[0] - 0.65).abs() < 1e-6 && (p[1] - 0.7).abs() < 1e-6,
            "{p:?}"
        );
        // Inside the ball: unchanged.
        let inside = t(vec![0.55, 0.5], &d);
        let p = project(inside, &clean, &threat)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        assert!((p[0] - 0.55).abs() < 1e-7);
    }

    #[test]
    fn precomputed_bounds_project_exactly_like_project() {
        let d = Device::flex();
        let clean = t(vec![0.5, 0.95, 0.02, 0.3], &d);
        let x = t(vec![0.9, 1.2, -0.3, 0.31], &d);
        let threat = ThreatModel::new(Norm::Linf, 0.1).unwrap();
        let a = project(x.clone(), &clean, &threat)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let b = Feasible::new(&clean, &threat)
            .project(x)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn zero_budget_returns_the_clean_image_exactly() {
        let d = Device::flex();
        let clean = t(vec![0.1, 0.2, 0.3], &d);
        for norm in [Norm::Linf, Norm::L2] {
            let threat = ThreatModel::new(norm, 0.0).unwrap();
            let p = project(t(vec![0.9, 0.0, 0.31], &d), &clean, &threat);
            assert_eq!(
                p.into_data().try_into_vec_as::<f32>().unwrap(),
                vec![0.1, 0.2, 0.3]
            );
        }
    }
}
