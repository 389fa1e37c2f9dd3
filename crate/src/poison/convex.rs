//! Optimal poisoning of a convex learner (Biggio et al., 2012; Koh & Liang's influence functions):
//! poison points added to the training set of an L2-regularised logistic regression, moved by
//! gradient ascent on the learner's validation loss. The gradient runs through the learner's
//! optimum by implicit differentiation: at θ* the training gradient vanishes, so
//! `dθ*/dx_c = −H⁻¹ ∂²ℓ_c/∂θ∂x_c` with `H` the training objective's Hessian (solved by conjugate
//! gradients, never formed). Host `f64` throughout: the sizes are small (Biggio et al. train on
//! 100 points) and the exactness is what the finite-difference check needs.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::runtime::rng::SplitMix64;

/// Labelled points of a two-class problem: `x` row-major with a trailing 1 (the bias input),
/// `y` in {−1, +1}.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryTask {
    /// Inputs per point (without the bias input).
    pub width: usize,
    /// Rows of `width + 1` values.
    pub x: Vec<f64>,
    /// Labels in {−1, +1}.
    pub y: Vec<f64>,
}

impl BinaryTask {
    /// The images of `classes[0]` (label −1) and `classes[1]` (+1) among images `start..` of
    /// `data`, the first `count` of them, pixels scaled to [0, 1].
    pub fn from_dataset(
        data: &Dataset,
        classes: [usize; 2],
        start: usize,
        count: usize,
    ) -> Result<Self> {
        if classes[0] == classes[1] || classes.iter().any(|&c| c >= data.kind.classes()) {
            return Err(Error::InvalidArgument(format!(
                "the two classes must differ and lie in 0..{}, got {} and {}",
                data.kind.classes(),
                classes[0],
                classes[1]
            )));
        }
        let width = data.image_shape().iter().product::<usize>();
        let mut task = Self {
            width,
            x: Vec::new(),
            y: Vec::new(),
        };
        for i in start..data.len() {
            if task.len() == count {
                break;
            }
            let label = usize::from(data.labels()[i]);
            let Some(side) = classes.iter().position(|&c| c == label) else {
                continue;
            };
            task.push(
                &data
                    .image(i)
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect::<Vec<_>>(),
                if side == 0 { -1.0 } else { 1.0 },
            );
        }
        if task.len() < count {
            return Err(Error::InvalidArgument(format!(
                "only {} images of classes {} and {} from index {start}, {count} needed",
                task.len(),
                classes[0],
                classes[1]
            )));
        }
        Ok(task)
    }

    /// Points held.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// No points.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Add a point (`width` inputs) with label ±1.
    pub fn push(&mut self, input: &[f64], label: f64) {
        debug_assert_eq!(input.len(), self.width);
        self.x.extend_from_slice(input);
        self.x.push(1.0);
        self.y.push(label);
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * (self.width + 1)..(i + 1) * (self.width + 1)]
    }

    /// This task with `extra` points appended.
    pub fn with(&self, extra: &[(Vec<f64>, f64)]) -> Self {
        let mut out = self.clone();
        for (x, y) in extra {
            out.push(x, *y);
        }
        out
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `log(1 + e^{−m})`, stably.
fn softplus_neg(m: f64) -> f64 {
    if m > 0.0 {
        (-m).exp().ln_1p()
    } else {
        -m + m.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// An L2-regularised logistic regression: `θ` minimises `Σ log(1 + e^{−y θ·x}) + λ/2 ‖θ‖²`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Weights, then the bias.
    pub theta: Vec<f64>,
    /// The regularisation λ.
    pub lambda: f64,
}

impl LogisticRegression {
    /// Fit on `task` by Newton's method with conjugate-gradient steps, from `start` (zeros when
    /// `None`) until the gradient's norm is below `1e-10·(1 + n)`.
    pub fn fit(task: &BinaryTask, lambda: f64, start: Option<&[f64]>) -> Result<Self> {
        if !(lambda.is_finite() && lambda > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the regularisation λ must be positive, got {lambda}"
            )));
        }
        if task.is_empty() {
            return Err(Error::InvalidArgument("the training set is empty".into()));
        }
        let mut model = Self {
            theta: start.map_or_else(|| vec![0.0; task.width + 1], <[f64]>::to_vec),
            lambda,
        };
        let tolerance = 1e-10 * (1.0 + task.len() as f64);
        for _ in 0..100 {
            let gradient = model.gradient(task);
            if dot(&gradient, &gradient).sqrt() < tolerance {
                break;
            }
            let minus: Vec<f64> = gradient.iter().map(|g| -g).collect();
            let step = model.solve(task, &minus);
            // Backtracking keeps every Newton step a descent step.
            let before = model.objective(task);
            let mut t = 1.0;
            loop {
                let trial = Self {
                    theta: model
                        .theta
                        .iter()
                        .zip(&step)
                        .map(|(a, s)| a + t * s)
                        .collect(),
                    lambda,
                };
                if trial.objective(task) <= before || t < 1e-8 {
                    model = trial;
                    break;
                }
                t /= 2.0;
            }
        }
        Ok(model)
    }

    fn margin(&self, task: &BinaryTask, i: usize) -> f64 {
        task.y[i] * dot(&self.theta, task.row(i))
    }

    /// The training objective on `task`.
    pub fn objective(&self, task: &BinaryTask) -> f64 {
        (0..task.len())
            .map(|i| softplus_neg(self.margin(task, i)))
            .sum::<f64>()
            + 0.5 * self.lambda * dot(&self.theta, &self.theta)
    }

    /// Mean logistic loss on `task` (no regularisation): the attacker's objective on validation
    /// points.
    pub fn loss(&self, task: &BinaryTask) -> f64 {
        (0..task.len())
            .map(|i| softplus_neg(self.margin(task, i)))
            .sum::<f64>()
            / task.len().max(1) as f64
    }

    /// Fraction of `task` classified correctly.
    pub fn accuracy(&self, task: &BinaryTask) -> f64 {
        let right = (0..task.len())
            .filter(|&i| self.margin(task, i) > 0.0)
            .count();
        right as f64 / task.len().max(1) as f64
    }

    /// ∇θ of the training objective.
    fn gradient(&self, task: &BinaryTask) -> Vec<f64> {
        let mut g: Vec<f64> = self.theta.iter().map(|t| self.lambda * t).collect();
        for i in 0..task.len() {
            let coeff = -task.y[i] * sigmoid(-self.margin(task, i));
            for (gk, xk) in g.iter_mut().zip(task.row(i)) {
                *gk += coeff * xk;
            }
        }
        g
    }

    /// ∇θ of the mean loss on `task`.
    fn loss_gradient(&self, task: &BinaryTask) -> Vec<f64> {
        let mut g = vec![0.0; self.theta.len()];
        let n = task.len().max(1) as f64;
        for i in 0..task.len() {
            let coeff = -task.y[i] * sigmoid(-self.margin(task, i)) / n;
            for (gk, xk) in g.iter_mut().zip(task.row(i)) {
                *gk += coeff * xk;
            }
        }
        g
    }

    /// `H v` for the training objective's Hessian `H = Σ σ(m)σ(−m) x xᵀ + λ I`.
    fn hessian_times(&self, task: &BinaryTask, curvature: &[f64], v: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = v.iter().map(|x| self.lambda * x).collect();
        for (i, c) in curvature.iter().enumerate() {
            let row = task.row(i);
            let s = c * dot(row, v);
            for (o, xk) in out.iter_mut().zip(row) {
                *o += s * xk;
            }
        }
        out
    }

    /// `H⁻¹ b` by conjugate gradients (H is positive definite: λ > 0).
    fn solve(&self, task: &BinaryTask, b: &[f64]) -> Vec<f64> {
        let curvature: Vec<f64> = (0..task.len())
            .map(|i| {
                let m = self.margin(task, i);
                sigmoid(m) * sigmoid(-m)
            })
            .collect();
        let mut x = vec![0.0; b.len()];
        let mut r = b.to_vec();
        let mut p = r.clone();
        let mut rr = dot(&r, &r);
        let stop = 1e-24 * dot(b, b).max(f64::MIN_POSITIVE);
        for _ in 0..(4 * b.len()).max(50) {
            if rr <= stop {
                break;
            }
            let hp = self.hessian_times(task, &curvature, &p);
            let alpha = rr / dot(&p, &hp);
            for k in 0..x.len() {
                x[k] += alpha * p[k];
                r[k] -= alpha * hp[k];
            }
            let next = dot(&r, &r);
            let beta = next / rr;
            rr = next;
            for k in 0..p.len() {
                p[k] = r[k] + beta * p[k];
            }
        }
        x
    }
}

/// The gradient of the validation loss at the optimum of `train` (which holds the poison as
/// its point `poison`) with respect to that point's inputs, by implicit differentiation.
pub fn poison_gradient(
    model: &LogisticRegression,
    train: &BinaryTask,
    validation: &BinaryTask,
    poison: usize,
) -> Vec<f64> {
    let v = model.solve(train, &model.loss_gradient(validation));
    let width = train.width;
    let row = train.row(poison);
    let y = train.y[poison];
    let m = y * dot(&model.theta, row);
    let first = -sigmoid(-m);
    let second = sigmoid(m) * sigmoid(-m);
    let along = dot(row, &v);
    // dL/dx = −(∂∇θℓ/∂x)ᵀ v with ∂∇θℓ/∂x = ℓ'' x̃ wᵀ + ℓ' y [I; 0].
    (0..width)
        .map(|k| -(second * along * model.theta[k] + first * y * v[k]))
        .collect()
}

/// Settings of [`optimal_poisoning`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimalPoisoningConfig {
    /// Poison points added, one after another.
    pub poisons: usize,
    /// Gradient-ascent steps per poison.
    pub steps: usize,
    /// Step length (L2, in pixel units) of the first ascent step; halved whenever a step does
    /// not raise the validation loss.
    pub step_size: f64,
    /// The learner's regularisation λ.
    pub lambda: f64,
    /// Seed of the poisons' starting points.
    pub seed: u64,
}

impl Default for OptimalPoisoningConfig {
    fn default() -> Self {
        Self {
            poisons: 10,
            steps: 30,
            step_size: 2.0,
            lambda: 1.0,
            seed: 1,
        }
    }
}

/// The poison points and the validation loss they reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalPoisoning {
    /// Each poison's inputs (in [0, 1]) and label.
    pub poisons: Vec<(Vec<f64>, f64)>,
    /// The validation loss of the learner trained with the poisons so far, after each poison
    /// (the first value: no poison).
    pub validation_loss: Vec<f64>,
}

/// Copies of `count` points of `train` drawn by `seed`, with their labels flipped: the baseline
/// an optimal poison must beat, and its starting points.
pub fn random_flips(train: &BinaryTask, count: usize, seed: u64) -> Vec<(Vec<f64>, f64)> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let i = rng.below(train.len());
            (train.row(i)[..train.width].to_vec(), -train.y[i])
        })
        .collect()
}

/// Biggio et al.'s attack: each poison starts as a label-flipped copy of a training point and
/// climbs the validation loss by projected gradient ascent (inputs kept in [0, 1]).
pub fn optimal_poisoning(
    train: &BinaryTask,
    validation: &BinaryTask,
    config: &OptimalPoisoningConfig,
    mut on_step: impl FnMut(usize, usize, f64),
) -> Result<OptimalPoisoning> {
    if config.poisons == 0 || !(config.step_size.is_finite() && config.step_size > 0.0) {
        return Err(Error::InvalidArgument(
            "optimal poisoning needs at least one poison and a positive step".into(),
        ));
    }
    if validation.is_empty() || validation.width != train.width {
        return Err(Error::Mismatch(
            "the validation points must be non-empty and as wide as the training points".into(),
        ));
    }
    let starts = random_flips(train, config.poisons, config.seed);
    let mut poisons: Vec<(Vec<f64>, f64)> = Vec::new();
    let mut model = LogisticRegression::fit(train, config.lambda, None)?;
    let mut losses = vec![model.loss(validation)];
    for (k, (start, label)) in starts.into_iter().enumerate() {
        let mut point = start;
        let mut set = train.with(&poisons).with(&[(point.clone(), label)]);
        model = LogisticRegression::fit(&set, config.lambda, Some(&model.theta))?;
        let mut loss = model.loss(validation);
        let mut step = config.step_size;
        for s in 0..config.steps {
            let gradient = poison_gradient(&model, &set, validation, set.len() - 1);
            let norm = dot(&gradient, &gradient).sqrt();
            if norm == 0.0 {
                break;
            }
            let trial: Vec<f64> = point
                .iter()
                .zip(&gradient)
                .map(|(x, g)| (x + step * g / norm).clamp(0.0, 1.0))
                .collect();
            let trial_set = train.with(&poisons).with(&[(trial.clone(), label)]);
            let trial_model =
                LogisticRegression::fit(&trial_set, config.lambda, Some(&model.theta))?;
            let trial_loss = trial_model.loss(validation);
            if trial_loss > loss {
                point = trial;
                set = trial_set;
                model = trial_model;
                loss = trial_loss;
            } else {
                step /= 2.0;
            }
            on_step(k, s, loss);
        }
        poisons.push((point, label));
        losses.push(loss);
    }
    Ok(OptimalPoisoning {
        poisons,
        validation_loss: losses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussian clouds in 5 dimensions, inputs in [0, 1].
    fn clouds(n: usize, seed: u64) -> BinaryTask {
        let mut rng = SplitMix64::new(seed);
        let mut task = BinaryTask {
            width: 5,
            x: Vec::new(),
            y: Vec::new(),
        };
        for i in 0..n {
            let y = if i % 2 == 0 { 1.0 } else { -1.0 };
            let x: Vec<f64> = (0..5)
                .map(|k| {
                    let centre = if k < 2 { 0.5 + 0.15 * y } else { 0.5 };
                    (centre + 0.1 * f64::from(rng.next_gaussian())).clamp(0.0, 1.0)
                })
                .collect();
            task.push(&x, y);
        }
        task
    }

    #[test]
    fn fit_reaches_a_vanishing_gradient() {
        let task = clouds(60, 1);
        let model = LogisticRegression::fit(&task, 0.1, None).unwrap();
        let g = model.gradient(&task);
        assert!(dot(&g, &g).sqrt() < 1e-8, "{g:?}");
        assert!(model.accuracy(&task) > 0.8);
    }

    #[test]
    fn implicit_gradient_matches_finite_differences() {
        let train = clouds(40, 2);
        let validation = clouds(80, 3);
        let poison = (vec![0.3, 0.6, 0.5, 0.4, 0.55], -1.0);
        let set = train.with(std::slice::from_ref(&poison));
        let model = LogisticRegression::fit(&set, 0.5, None).unwrap();
        let analytic = poison_gradient(&model, &set, &validation, set.len() - 1);
        let h = 1e-5;
        for k in 0..5 {
            let at = |delta: f64| {
                let mut x = poison.0.clone();
                x[k] += delta;
                let moved = train.with(&[(x, poison.1)]);
                LogisticRegression::fit(&moved, 0.5, Some(&model.theta))
                    .unwrap()
                    .loss(&validation)
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (numeric - analytic[k]).abs() <= 1e-6 + 1e-4 * numeric.abs(),
                "input {k}: finite differences {numeric}, implicit {}",
                analytic[k]
            );
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let task = clouds(10, 1);
        assert!(LogisticRegression::fit(&task, 0.0, None).is_err());
        let config = OptimalPoisoningConfig {
            poisons: 0,
            ..OptimalPoisoningConfig::default()
        };
        assert!(optimal_poisoning(&task, &task, &config, |_, _, _| {}).is_err());
    }
}
