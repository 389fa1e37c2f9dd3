//! FAB, the fast adaptive boundary attack (Croce & Hein, 2019): a minimum-norm attack. Each step
//! linearises the classifier around the current point, takes the closest linearised decision
//! boundary, projects both the current point and the clean image onto it (inside the pixel box),
//! and moves to a convex combination of the two projections, biased towards the clean image;
//! once a point is adversarial it steps back towards the clean image by β. The smallest
//! adversarial perturbation found counts as a success when its norm is within ε.
//!
//! FAB-T (`targets > 0`, AutoAttack's member) aims each run at one of the most likely wrong
//! classes of the clean image (ranks 2, 3, …) and counts any misclassification, like APGD-T.
//! With a targeted threat model FAB linearises the target's logit against the label's and counts
//! only the target as a success (the references have no such mode). FAB records no trace, and
//! against a randomized model each linearisation sees other draws: attack those with EOT
//! (PGD, APGD) instead.
//!
//! The schedule follows the reference implementations (AutoAttack's `fab_pt`, torchattacks'
//! `FAB`, which share their projections): the gradients come from the device, the projections
//! onto a hyperplane ∩ box run on the host, row by row, in the reference's order of operations.

use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::finish::Final;
use super::objective::{AttackLoss, Setup, objective};
use super::result::{AttackOutcome, AttackProgress};
use super::threat::{Goal, Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::readback::read_f32;
use crate::runtime::rng::SplitMix64;

/// Untargeted FAB's Jacobian holds one gradient per class and sample: beyond this many classes
/// (ImageNet's 1,000) only FAB-T is offered.
const MAX_UNTARGETED_CLASSES: usize = 100;
/// Images in one forward/backward pass of the Jacobian (the batch repeated for some classes).
const JACOBIAN_IMAGES: usize = 2048;

/// Settings of a FAB run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FabConfig {
    /// Iterations per run (AutoAttack: 100; torchattacks: 10).
    pub steps: usize,
    /// Runs per target; the first starts at the clean image, later ones at a random point at
    /// distance ε/2. An image keeps the first adversarial found within ε.
    pub restarts: usize,
    /// FAB-T: aim at each of this many most likely wrong classes in turn (AutoAttack: 9; at
    /// most the model's wrong classes); 0 is untargeted FAB, which steps towards the nearest
    /// linearised boundary of every class.
    pub targets: usize,
    /// Largest weight of the clean image's projection in a step (α_max).
    pub alpha_max: f32,
    /// Extrapolation of each projection step (η).
    pub eta: f32,
    /// Backward step towards the clean image once adversarial (β).
    pub beta: f32,
    /// Seed of the random starts.
    pub seed: u64,
}

impl Default for FabConfig {
    /// Untargeted FAB as AutoAttack configures it: 100 steps, α_max 0.1, η 1.05, β 0.9.
    fn default() -> Self {
        Self {
            steps: 100,
            restarts: 1,
            targets: 0,
            alpha_max: 0.1,
            eta: 1.05,
            beta: 0.9,
            seed: 0,
        }
    }
}

impl FabConfig {
    /// FAB-T's target classes in AutoAttack's standard version.
    pub const T_TARGETS: usize = 9;

    fn validate(&self, threat: &ThreatModel, classes: usize) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidArgument(why));
        if self.steps == 0 || self.restarts == 0 {
            return bad("FAB needs at least 1 step and 1 restart".into());
        }
        for (name, value, low, high) in [
            ("alpha_max", self.alpha_max, 0.0, 1.0),
            ("beta", self.beta, 0.0, 1.0),
        ] {
            if !(value.is_finite() && value > low && value <= high) {
                return bad(format!("FAB's {name} must lie in (0, 1], got {value}"));
            }
        }
        if !(self.eta.is_finite() && self.eta >= 1.0) {
            return bad(format!("FAB's eta must be a number ≥ 1, got {}", self.eta));
        }
        if self.targets > 0 && !matches!(threat.goal(), Goal::Untargeted) {
            return bad("FAB-T picks its own targets: use an untargeted threat model".into());
        }
        let untargeted = self.targets == 0 && matches!(threat.goal(), Goal::Untargeted);
        if untargeted && classes > MAX_UNTARGETED_CLASSES {
            return bad(format!(
                "untargeted FAB differentiates all {classes} logits at every step: use FAB-T \
                 (targets), as AutoAttack does beyond {MAX_UNTARGETED_CLASSES} classes"
            ));
        }
        Ok(())
    }
}

/// The logit differences a step linearises: per sample, `[rows]` values and `[rows, D]`
/// gradients (rows = classes untargeted, 1 targeted).
struct Linearised {
    rows: usize,
    values: Vec<f32>,
    gradients: Vec<f32>,
}

/// What one run aims at, per sample.
#[derive(Clone, Copy)]
enum Aim {
    /// Away from the label, over every class's boundary.
    Untargeted,
    /// At this class; success means predicting it (`exact`) or any wrong class (FAB-T).
    Class { target: usize, exact: bool },
}

/// Run FAB on `images` with true `labels`; `on_progress` after every step, `false` cancels.
///
/// A sample succeeds when an adversarial with norm ≤ ε was found; the outcome holds the smallest
/// one found by the run that first succeeded (the clean image otherwise), so the reported
/// norms are FAB's minimum norms.
pub async fn fab(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &FabConfig,
    mut on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    crate::runtime::readback::check_finite(&images).await?;
    let Setup {
        clean,
        clean_logits,
        clean_correct,
        targeted,
        class,
    } = Setup::new(model, images, labels, threat)?;
    let [n, classes] = clean_logits.dims();
    config.validate(threat, classes)?;
    let dims = clean.dims();
    let size = dims[1] * dims[2] * dims[3];
    let device = clean.device();

    let x0 = read_f32(clean.clone()).await?;
    let scores = read_f32(clean_logits).await?;
    let goal_classes: Vec<usize> = match threat.goal() {
        Goal::Untargeted => labels.to_vec(),
        Goal::Targeted(targets) => targets.clone(),
    };
    // Attacked: classified correctly (targeted: not already the target).
    let mut open: Vec<bool> = (0..n)
        .map(|i| {
            let predicted = argmax(&scores[i * classes..(i + 1) * classes]);
            predicted == labels[i] && (!targeted || predicted != goal_classes[i])
        })
        .collect();
    let mut adversarial = x0.clone();
    let mut success = vec![false; n];
    let mut steps_used = vec![0f32; n];

    let aims: Vec<Option<usize>> = if config.targets == 0 {
        vec![None]
    } else {
        (2..=config.targets.min(classes - 1) + 1)
            .map(Some)
            .collect()
    };
    let total = config.steps * config.restarts * aims.len();
    let mut done = 0;
    let mut cancelled = false;
    let mut rng = SplitMix64::new(config.seed);
    let run = Run {
        model,
        threat,
        config,
        shape: [dims[1], dims[2], dims[3]],
        size,
        classes,
        device: &device,
    };
    'runs: for rank in &aims {
        for restart in 0..config.restarts {
            let active: Vec<usize> = (0..n).filter(|&i| open[i]).collect();
            if active.is_empty() {
                break 'runs;
            }
            let aim: Vec<Aim> = active
                .iter()
                .map(|&i| match (rank, targeted) {
                    (Some(k), _) => Aim::Class {
                        target: ranked_class(&scores[i * classes..(i + 1) * classes], *k),
                        exact: false,
                    },
                    (None, true) => Aim::Class {
                        target: goal_classes[i],
                        exact: true,
                    },
                    (None, false) => Aim::Untargeted,
                })
                .collect();
            let start: Vec<f32> = active
                .iter()
                .flat_map(|&i| x0[i * size..(i + 1) * size].iter().copied())
                .collect();
            let labels: Vec<usize> = active.iter().map(|&i| labels[i]).collect();
            let (found, stopped) = run
                .single(&start, &labels, &aim, restart > 0, &mut rng, |_| {
                    done += 1;
                    on_progress(AttackProgress {
                        done,
                        total,
                        trace: Vec::new(),
                        queries: None,
                    })
                })
                .await?;
            for (j, &i) in active.iter().enumerate() {
                steps_used[i] += found.steps as f32;
                if found.norm[j] <= threat.epsilon() {
                    success[i] = true;
                    open[i] = false;
                    adversarial[i * size..(i + 1) * size]
                        .copy_from_slice(&found.points[j * size..(j + 1) * size]);
                }
            }
            if stopped {
                cancelled = true;
                break 'runs;
            }
        }
    }

    let adversarial = Tensor::<4>::from_data(TensorData::new(adversarial, dims), &device);
    let logits = model.logits(adversarial.clone()).without_autodiff();
    let value = objective(logits, class, targeted, AttackLoss::Margin);
    let success = Tensor::from_data(TensorData::new(success, [n]), &device);
    let steps = Tensor::from_data(TensorData::new(steps_used, [n]), &device);
    Final {
        clean,
        adversarial,
        clean_correct,
        success,
        value,
        steps,
    }
    .outcome(model, Vec::new(), cancelled)
    .await
}

/// One run's result per sample: its smallest adversarial (the start where none was found), and
/// that adversarial's norm (∞ where none was found).
struct Found {
    points: Vec<f32>,
    norm: Vec<f32>,
    steps: usize,
}

/// What every run of one attack shares.
struct Run<'a, M> {
    model: &'a M,
    threat: &'a ThreatModel,
    config: &'a FabConfig,
    shape: [usize; 3],
    size: usize,
    classes: usize,
    device: &'a burn::tensor::Device,
}

impl<M: Classifier> Run<'_, M> {
    /// One FAB run from `clean` (`[bs·D]`) or from a random point at distance ε/2 around it.
    /// Returns whether `on_step` cancelled it.
    async fn single(
        &self,
        clean: &[f32],
        labels: &[usize],
        aim: &[Aim],
        random_start: bool,
        rng: &mut SplitMix64,
        mut on_step: impl FnMut(usize) -> bool,
    ) -> Result<(Found, bool)> {
        let (size, bs) = (self.size, labels.len());
        let (low, high) = self.threat.pixel_range();
        let norm = self.threat.norm();
        let mut x = clean.to_vec();
        if random_start {
            self.random_start(&mut x, clean, rng);
        }
        let mut found = Found {
            points: clean.to_vec(),
            norm: vec![f32::INFINITY; bs],
            steps: 0,
        };
        for step in 1..=self.config.steps {
            crate::runtime::pace::pause().await;
            let lin = self.linearise(&x, labels, aim).await?;
            // Per sample, the nearest linearised boundary (the plane w·z = b), and the shortest
            // steps onto it inside the box from the current point (d1) and the clean image (d2).
            let mut d1 = vec![0f32; bs * size];
            let mut d2 = vec![0f32; bs * size];
            for (i, ((xi, ci), (s1, s2))) in x
                .chunks(size)
                .zip(clean.chunks(size))
                .zip(d1.chunks_mut(size).zip(d2.chunks_mut(size)))
                .enumerate()
            {
                let values = &lin.values[i * lin.rows..(i + 1) * lin.rows];
                let grads = &lin.gradients[i * lin.rows * size..(i + 1) * lin.rows * size];
                let (w, value) = nearest_boundary(norm, values, grads, size);
                let b = -value + dot(w, xi);
                self.project_in_box(xi, w, b, s1);
                self.project_in_box(ci, w, b, s2);
            }
            let (eta, alpha_max) = (self.config.eta, self.config.alpha_max);
            for ((xi, ci), (s1, s2)) in x
                .chunks_mut(size)
                .zip(clean.chunks(size))
                .zip(d1.chunks(size).zip(d2.chunks(size)))
            {
                let a1 = norm_of(norm, s1).max(1e-8);
                let a2 = norm_of(norm, s2).max(1e-8);
                let alpha = (a1 / (a1 + a2)).clamp(0.0, alpha_max);
                for (((v, c), u1), u2) in xi.iter_mut().zip(ci).zip(s1).zip(s2) {
                    let moved = (*v + eta * u1) * (1.0 - alpha) + (c + u2 * eta) * alpha;
                    *v = moved.clamp(low, high);
                }
            }
            // Adversarial points: keep the smallest, then step back towards the clean image.
            let predicted = self.predict(&x, bs).await?;
            for (i, (xi, ci)) in x.chunks_mut(size).zip(clean.chunks(size)).enumerate() {
                let fooled = match aim[i] {
                    Aim::Class {
                        target,
                        exact: true,
                    } => predicted[i] == target,
                    _ => predicted[i] != labels[i],
                };
                if !fooled {
                    continue;
                }
                let distance = norm_of(
                    norm,
                    &xi.iter().zip(ci).map(|(a, c)| a - c).collect::<Vec<_>>(),
                );
                if distance < found.norm[i] {
                    found.norm[i] = distance;
                    found.points[i * size..(i + 1) * size].copy_from_slice(xi);
                }
                for (v, c) in xi.iter_mut().zip(ci) {
                    *v = c + (*v - c) * self.config.beta;
                }
            }
            found.steps = step;
            if !on_step(step) {
                return Ok((found, true));
            }
        }
        Ok((found, false))
    }

    /// The shortest step `d` from `t` onto the plane `w·z = b` inside the pixel box (the
    /// reference projections work in the unit box: z = low + scale·u turns the plane into
    /// (scale·w)·u = b − low·Σw).
    fn project_in_box(&self, t: &[f32], w: &[f32], b: f32, d: &mut [f32]) {
        let (low, high) = self.threat.pixel_range();
        let scale = high - low;
        let t: Vec<f32> = t.iter().map(|v| (v - low) / scale).collect();
        let w_unit: Vec<f32> = w.iter().map(|v| v * scale).collect();
        let b = b - low * w.iter().sum::<f32>();
        match self.threat.norm() {
            Norm::Linf => project_linf(&t, &w_unit, b, d),
            Norm::L2 => project_l2(&t, &w_unit, b, d),
        }
        for v in d.iter_mut() {
            *v *= scale;
        }
    }

    /// A start at distance ε/2 from the clean image in a random direction (L∞: a uniform draw
    /// scaled to max-norm ε/2; L2: a Gaussian scaled to length ε/2), in the pixel range.
    fn random_start(&self, x: &mut [f32], clean: &[f32], rng: &mut SplitMix64) {
        let (low, high) = self.threat.pixel_range();
        let half = 0.5 * self.threat.epsilon();
        for (xi, ci) in x.chunks_mut(self.size).zip(clean.chunks(self.size)) {
            let draw: Vec<f32> = match self.threat.norm() {
                Norm::Linf => (0..self.size).map(|_| 2.0 * rng.next_f32() - 1.0).collect(),
                Norm::L2 => (0..self.size).map(|_| rng.next_gaussian()).collect(),
            };
            let length = norm_of(self.threat.norm(), &draw).max(1e-12);
            for p in 0..self.size {
                xi[p] = (ci[p] + half * draw[p] / length).clamp(low, high);
            }
        }
    }

    /// The logit differences at `x` and their input gradients: untargeted, `z_k − z_label` for
    /// every class k (the label's own row set to 1e10, so it is never the nearest); aimed,
    /// `z_target − z_label`.
    async fn linearise(&self, x: &[f32], labels: &[usize], aim: &[Aim]) -> Result<Linearised> {
        let (size, bs) = (self.size, labels.len());
        let [c, h, w] = self.shape;
        if let Aim::Untargeted = aim[0] {
            let k = self.classes;
            // The batch repeated once per class (copy-major), each copy differentiating its
            // class's logit, so one backward pass gives the Jacobian of as many classes as fit
            // in JACOBIAN_IMAGES images; the rows of all passes, in order, are class-major.
            let copies = (JACOBIAN_IMAGES / bs).clamp(1, k);
            let mut logits = Vec::new();
            let mut jacobian = Vec::with_capacity(k * bs * size);
            for first in (0..k).step_by(copies) {
                let count = copies.min(k - first);
                let images = self.upload(x, bs).repeat_dim(0, count);
                let images = images.detach().autodiff().require_grad();
                let scores = self.model.logits(images.clone());
                let mut picks = vec![0f32; count * bs * k];
                for r in 0..count * bs {
                    picks[r * k + first + r / bs] = 1.0;
                }
                let picks =
                    Tensor::<2>::from_data(TensorData::new(picks, [count * bs, k]), self.device);
                let grads = (scores.clone() * picks.autodiff()).sum().backward();
                let gradient = images
                    .grad(&grads)
                    .expect("the images require a gradient, so backward yields one");
                if first == 0 {
                    logits = read_f32(scores.without_autodiff().slice([0..bs, 0..k])).await?;
                }
                jacobian.extend(read_f32(gradient.reshape([count * bs, c * h * w])).await?);
            }
            let mut values = vec![0f32; bs * k];
            let mut gradients = vec![0f32; bs * k * size];
            for i in 0..bs {
                let own = logits[i * k + labels[i]];
                let own_grad =
                    &jacobian[(labels[i] * bs + i) * size..(labels[i] * bs + i + 1) * size];
                for j in 0..k {
                    values[i * k + j] = if j == labels[i] {
                        1e10
                    } else {
                        logits[i * k + j] - own
                    };
                    let row = &jacobian[(j * bs + i) * size..(j * bs + i + 1) * size];
                    let out = &mut gradients[(i * k + j) * size..(i * k + j + 1) * size];
                    for p in 0..size {
                        out[p] = row[p] - own_grad[p];
                    }
                }
            }
            return Ok(Linearised {
                rows: k,
                values,
                gradients,
            });
        }
        let targets: Vec<usize> = aim
            .iter()
            .map(|a| match a {
                Aim::Class { target, .. } => *target,
                Aim::Untargeted => unreachable!("a run aims every sample alike"),
            })
            .collect();
        let k = self.classes;
        let mut signs = vec![0f32; bs * k];
        for i in 0..bs {
            signs[i * k + targets[i]] = 1.0;
            signs[i * k + labels[i]] = -1.0;
        }
        let signs = Tensor::<2>::from_data(TensorData::new(signs, [bs, k]), self.device);
        let images = self.upload(x, bs).detach().autodiff().require_grad();
        let difference = (self.model.logits(images.clone()) * signs.autodiff()).sum_dim(1);
        let grads = difference.clone().sum().backward();
        let gradient = images
            .grad(&grads)
            .expect("the images require a gradient, so backward yields one");
        Ok(Linearised {
            rows: 1,
            values: read_f32(difference.without_autodiff()).await?,
            gradients: read_f32(gradient).await?,
        })
    }

    /// The classes predicted at `x`.
    async fn predict(&self, x: &[f32], bs: usize) -> Result<Vec<usize>> {
        let logits = self.model.logits(self.upload(x, bs)).without_autodiff();
        let classes: Tensor<1, Int> = logits.argmax(1).reshape([bs]);
        Ok(read_f32(classes.float())
            .await?
            .into_iter()
            .map(|v| v as usize)
            .collect())
    }

    fn upload(&self, x: &[f32], bs: usize) -> Tensor<4> {
        let [c, h, w] = self.shape;
        Tensor::from_data(TensorData::new(x.to_vec(), [bs, c, h, w]), self.device)
    }
}

/// The linearised boundary nearest in `norm` (distance |value| / dual norm of the gradient):
/// its gradient and value, among `values.len()` rows of `size`-long `gradients`.
fn nearest_boundary<'a>(
    norm: Norm,
    values: &[f32],
    gradients: &'a [f32],
    size: usize,
) -> (&'a [f32], f32) {
    let mut nearest = (f32::INFINITY, 0);
    for (r, (value, g)) in values.iter().zip(gradients.chunks(size)).enumerate() {
        let dual = match norm {
            Norm::Linf => g.iter().map(|v| v.abs()).sum::<f32>(),
            Norm::L2 => g.iter().map(|v| v * v).sum::<f32>().sqrt(),
        };
        let distance = value.abs() / (1e-12 + dual);
        if distance < nearest.0 {
            nearest = (distance, r);
        }
    }
    let r = nearest.1;
    (&gradients[r * size..(r + 1) * size], values[r])
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm_of(norm: Norm, v: &[f32]) -> f32 {
    match norm {
        Norm::Linf => v.iter().fold(0f32, |m, x| m.max(x.abs())),
        Norm::L2 => v.iter().map(|x| x * x).sum::<f32>().sqrt(),
    }
}

/// The first index of the largest value.
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// The class with the `rank`-th largest score (1 = the prediction).
fn ranked_class(scores: &[f32], rank: usize) -> usize {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order[scores.len() - rank]
}

/// Indices sorting `keys` ascending (stable: ties keep index order).
fn argsort(keys: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    order
}

/// Binary-search iterations of the reference projections: ⌈log2 D⌉.
fn search_steps(size: usize) -> usize {
    (size as f32).log2().ceil() as usize
}

/// The smallest L∞ step `d` from `t` onto the plane `w·z = b` inside the unit box (the box
/// corner's step where the plane is out of reach), as AutoAttack's `projection_linf`.
pub(crate) fn project_linf(t: &[f32], w: &[f32], b: f32, d: &mut [f32]) {
    let size = t.len();
    let sign = if dot(w, t) - b >= 0.0 { 1.0 } else { -1.0 };
    let w: Vec<f32> = w.iter().map(|v| v * sign).collect();
    let b = b * sign;
    let a: Vec<f32> = w.iter().map(|&v| if v < 0.0 { 1.0 } else { 0.0 }).collect();
    for p in 0..size {
        d[p] = if w[p] != 0.0 { a[p] - t[p] } else { 0.0 };
    }
    let room: Vec<f32> = (0..size)
        .map(|p| a[p] - t[p] * (2.0 * a[p] - 1.0))
        .collect();
    let order = argsort(&room);
    let needed = b - dot(&w, t);
    let at_corner = dot(&w, d);
    // Coordinates by decreasing room: cumulative |w| and the plane value with each capped.
    let mut s = Vec::with_capacity(size);
    let mut sb = Vec::with_capacity(size);
    let (mut s_acc, mut sb_acc) = (0f32, at_corner);
    for &p in order.iter().rev() {
        s_acc += w[p].abs();
        sb_acc += -w[p] * d[p];
        s.push(s_acc);
        sb.push(sb_acc);
    }
    let last = size - 1;
    let all_capped = sb[last] - s[last] * room[order[0]];
    let uniform = needed - all_capped > 0.0;
    let search = needed - at_corner > 0.0 && !uniform;
    if uniform {
        let lambda = ((needed - sb[last]) / -s[last]).max(0.0);
        for p in 0..size {
            d[p] = (2.0 * a[p] - 1.0) * lambda;
        }
    } else if search {
        let (mut lb, mut ub) = (0f32, last as f32);
        for _ in 0..search_steps(size) {
            let mid = ((lb + ub) / 2.0).floor();
            let k = mid as usize;
            let value = sb[k] - s[k] * room[order[last - k]];
            if needed - value > 0.0 {
                lb = mid;
            } else {
                ub = mid;
            }
        }
        let k = lb as usize;
        let lambda = ((needed - sb[k]) / -s[k]).max(0.0);
        for p in 0..size {
            d[p] = lambda.min(d[p]) * a[p] + (-lambda).max(d[p]) * (1.0 - a[p]);
        }
    }
    for p in 0..size {
        if w[p] == 0.0 {
            d[p] = 0.0;
        }
    }
}

/// The smallest L2 step `d` from `t` onto the plane `w·z = b` inside the unit box (the box
/// corner's step where the plane is out of reach), as AutoAttack's `projection_l2`.
pub(crate) fn project_l2(t: &[f32], w: &[f32], b: f32, d: &mut [f32]) {
    const BIG: f32 = 1e12;
    let size = t.len();
    let c = dot(w, t) - b;
    let sign = if c >= 0.0 { 1.0 } else { -1.0 };
    let w: Vec<f32> = w.iter().map(|v| v * sign).collect();
    let c = c * sign;
    let tiny = |v: f32| v.abs() < 1e-8;
    // How far along −w each coordinate can go before it leaves the box.
    let r: Vec<f32> = (0..size)
        .map(|p| {
            if tiny(w[p]) {
                return BIG;
            }
            let v = (t[p] / w[p]).max((t[p] - 1.0) / w[p]).clamp(-BIG, BIG);
            if v == -BIG { BIG } else { v }
        })
        .collect();
    let order = argsort(&r);
    let sorted: Vec<f32> = order.iter().map(|&p| r[p]).collect();
    let zero_big = |v: f32| if v == BIG { 0.0 } else { v };
    let rs: Vec<f32> = sorted.iter().map(|&v| zero_big(v)).collect();
    let rs2: Vec<f32> = (0..size)
        .map(|j| {
            if j + 1 < size {
                zero_big(sorted[j + 1])
            } else {
                0.0
            }
        })
        .collect();
    let w_sq: Vec<f32> = order.iter().map(|&p| w[p] * w[p]).collect();
    let total: f32 = w_sq.iter().sum();
    let mut ws = Vec::with_capacity(size);
    let mut acc = 0f32;
    for v in &w_sq {
        acc += v;
        ws.push(total - acc);
    }
    for p in 0..size {
        d[p] = if tiny(w[p]) { 0.0 } else { -(r[p] * w[p]) };
    }
    let mut s = Vec::with_capacity(size + 1);
    s.push(-total * rs[0]);
    let mut acc = 0f32;
    for j in 0..size {
        acc += (-rs2[j] + rs[j]) * ws[j];
        s.push(acc - total * rs[0]);
    }
    let inside = s[0] + c < 0.0;
    let unreachable = dot(d, &w) + c > 0.0;
    if inside {
        let alpha = c / total;
        for p in 0..size {
            d[p] = -alpha * w[p];
        }
    } else if !unreachable {
        let (mut lb, mut ub) = (0f32, (size - 1) as f32);
        for _ in 0..search_steps(size) {
            let mid = ((lb + ub) / 2.0).floor();
            if s[mid as usize] + c > 0.0 {
                lb = mid;
            } else {
                ub = mid;
            }
        }
        let k = lb as usize;
        let alpha = if ws[k] == 0.0 {
            0.0
        } else {
            (s[k] + c) / ws[k] + rs[k]
        };
        for p in 0..size {
            if alpha <= r[p] {
                d[p] = -alpha * w[p];
            }
        }
    }
    for p in 0..size {
        if tiny(w[p]) {
            d[p] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the plane is reachable inside the box, the step lands on it.
    #[test]
    fn projections_land_on_the_plane() {
        let mut rng = SplitMix64::new(3);
        for trial in 0..200 {
            let size = 1 + trial % 17;
            let t: Vec<f32> = (0..size).map(|_| rng.next_f32()).collect();
            let w: Vec<f32> = (0..size).map(|_| rng.next_gaussian()).collect();
            // A plane through a point of the box: always reachable.
            let z: Vec<f32> = (0..size).map(|_| rng.next_f32()).collect();
            let b = dot(&w, &z);
            for linf in [true, false] {
                let mut d = vec![0f32; size];
                if linf {
                    project_linf(&t, &w, b, &mut d);
                } else {
                    project_l2(&t, &w, b, &mut d);
                }
                let moved: Vec<f32> = t.iter().zip(&d).map(|(a, b)| a + b).collect();
                assert!(
                    moved.iter().all(|v| (-1e-5..=1.0 + 1e-5).contains(v)),
                    "{moved:?}"
                );
                let scale = w.iter().map(|v| v.abs()).sum::<f32>().max(1.0);
                assert!(
                    (dot(&w, &moved) - b).abs() <= 1e-4 * scale,
                    "linf {linf}: w·(t+d) = {} ≠ {b}",
                    dot(&w, &moved)
                );
                // No shorter step reaches the plane: the distance is at most the segment to z.
                let to_z: Vec<f32> = z.iter().zip(&t).map(|(a, b)| a - b).collect();
                let norm = if linf { Norm::Linf } else { Norm::L2 };
                assert!(norm_of(norm, &d) <= norm_of(norm, &to_z) + 1e-4);
            }
        }
    }

    /// Without the box, the L2 step is the orthogonal projection and the L∞ one moves every
    /// coordinate by the same amount against the sign of w.
    #[test]
    fn projections_match_the_closed_forms_inside_the_box() {
        let t = [0.5f32, 0.5, 0.5];
        let w = [1.0f32, -2.0, 0.5];
        let b = dot(&w, &t) - 0.1;
        let mut d = [0f32; 3];
        project_l2(&t, &w, b, &mut d);
        let w2 = dot(&w, &w);
        for p in 0..3 {
            assert!((d[p] - (-0.1 * w[p] / w2)).abs() < 1e-6, "{d:?}");
        }
        project_linf(&t, &w, b, &mut d);
        let l1: f32 = w.iter().map(|v| v.abs()).sum();
        for p in 0..3 {
            assert!((d[p] + w[p].signum() * 0.1 / l1).abs() < 1e-6, "{d:?}");
        }
    }
}
