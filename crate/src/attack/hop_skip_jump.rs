//! HopSkipJump (Chen, Jordan & Wainwright, 2020): a decision-based attack that sees only the
//! predicted label. From a misclassified start it walks along the decision boundary: it estimates
//! the boundary's normal from the labels of random points around the current one (Monte Carlo,
//! with baseline subtraction), steps along it with a geometric step-size search, and binary-
//! searches back to the boundary. It minimises the L2 or L∞ distance; a sample counts as a
//! success only when its smallest adversarial lies within ε, and otherwise its smallest
//! adversarial is projected onto the ε-ball (a point inside the threat model, not adversarial).
//! Untargeted only. The constants follow the authors' reference code (γ = 1, θ = γ/d^{3/2} for L2
//! and γ/d² for L∞, 100·√t evaluations at iteration t, up to 10,000).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::blackbox::{BlackBox, Opened, argmax};
use super::result::{AttackOutcome, AttackProgress, SampleResult, TraceStep};
use super::square::{host_batch, l2, norms};
use super::threat::{Goal, Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::readback::read_f32;
use crate::runtime::rng::SplitMix64;

/// Settings of a HopSkipJump run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HopSkipJumpConfig {
    /// Boundary iterations per image at most.
    pub iterations: usize,
    /// Queries each image may cost at most, its clean classification included.
    pub queries: usize,
    /// Label queries of the first gradient estimate (grows as √t).
    pub initial_evals: usize,
    /// Label queries of one gradient estimate at most.
    pub max_evals: usize,
    /// Random draws tried for a misclassified starting point.
    pub start_tries: usize,
    /// Seed of the random draws.
    pub seed: u64,
}

impl Default for HopSkipJumpConfig {
    /// 40 iterations (the reference code's default), 25,000 queries, 100 → 10,000 evaluations.
    fn default() -> Self {
        Self {
            iterations: 40,
            queries: 25_000,
            initial_evals: 100,
            max_evals: 10_000,
            start_tries: 1_000,
            seed: 0,
        }
    }
}

impl HopSkipJumpConfig {
    fn validate(&self, threat: &ThreatModel) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidArgument(why));
        if self.iterations == 0 || self.initial_evals == 0 || self.start_tries == 0 {
            return bad("iterations, evaluations and start tries must be at least 1".into());
        }
        if self.max_evals < self.initial_evals {
            return bad(format!(
                "max evaluations ({}) below the initial ones ({})",
                self.max_evals, self.initial_evals
            ));
        }
        if self.queries < 2 {
            return bad(format!(
                "HopSkipJump needs a budget of at least 2 queries per image, got {}",
                self.queries
            ));
        }
        if !matches!(threat.goal(), Goal::Untargeted) {
            return bad("HopSkipJump here is untargeted: it needs no target class".into());
        }
        Ok(())
    }
}

/// One image's walk along the boundary.
struct Walk<'a, 'm, M: Classifier> {
    oracle: &'a mut BlackBox<'m, M>,
    clean: &'a [f32],
    label: usize,
    norm: Norm,
    range: (f32, f32),
    /// Queries left for this image.
    left: usize,
}

/// The walk's budget ran out.
struct Spent;

impl<M: Classifier> Walk<'_, '_, M> {
    /// Whether each image of `batch` is misclassified; `Err(Spent)` when the budget cannot pay.
    async fn adversarial(
        &mut self,
        batch: &[f32],
    ) -> Result<std::result::Result<Vec<bool>, Spent>> {
        let count = batch.len() / self.clean.len();
        if count > self.left {
            return Ok(Err(Spent));
        }
        self.left -= count;
        let labels = self.oracle.decisions(batch).await?;
        Ok(Ok(labels.into_iter().map(|l| l != self.label).collect()))
    }

    fn clip(&self, x: &mut [f32]) {
        x.iter_mut()
            .for_each(|v| *v = v.clamp(self.range.0, self.range.1));
    }

    fn distance(&self, x: &[f32]) -> f32 {
        let (inf, two) = norms(x, self.clean);
        match self.norm {
            Norm::Linf => inf,
            Norm::L2 => two,
        }
    }

    /// The point a fraction `alpha` of the way from the clean image to `x` (L2: blending; L∞:
    /// clipping to the box of radius `alpha`).
    fn towards(&self, x: &[f32], alpha: f32) -> Vec<f32> {
        match self.norm {
            Norm::L2 => self
                .clean
                .iter()
                .zip(x)
                .map(|(c, x)| (1.0 - alpha) * c + alpha * x)
                .collect(),
            Norm::Linf => self
                .clean
                .iter()
                .zip(x)
                .map(|(c, x)| x.clamp(c - alpha, c + alpha))
                .collect(),
        }
    }

    /// Binary search between the clean image and the adversarial `x` down to `theta` (or until
    /// the budget runs out); returns the boundary point (adversarial side) and the distance of
    /// `x` before the search.
    async fn boundary(&mut self, x: &[f32], theta: f32) -> Result<(Vec<f32>, f32)> {
        let before = self.distance(x);
        let (mut low, mut high, threshold) = match self.norm {
            Norm::Linf => (0.0f32, before, (before * theta).min(theta)),
            Norm::L2 => (0.0, 1.0, theta),
        };
        while (high - low) / threshold > 1.0 {
            let mid = (high + low) / 2.0;
            let point = self.towards(x, mid);
            match self.adversarial(&point).await? {
                Ok(hit) if hit[0] => high = mid,
                Ok(_) => low = mid,
                Err(Spent) => break,
            }
        }
        Ok((self.towards(x, high), before))
    }
}

/// Run HopSkipJump on `images` with true `labels`, image by image. `on_progress` is called after
/// every iteration (the trace's loss is the mean current distance over the batch).
pub async fn hop_skip_jump(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &HopSkipJumpConfig,
    mut on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    crate::runtime::readback::check_finite(&images).await?;
    config.validate(threat)?;
    let dims = images.dims();
    let [n, c, h, w] = dims;
    let device = images.device();
    let Opened {
        clean,
        mut oracle,
        scores,
        classes,
    } = BlackBox::open(model, images, labels, threat).await?;
    let clean_labels: Vec<usize> = scores.chunks(classes).map(argmax).collect();
    let size = c * h * w;
    let d = size as f32;
    let theta = match threat.norm() {
        Norm::L2 => 1.0 / (d * d.sqrt()),
        Norm::Linf => 1.0 / (d * d),
    };
    let range = threat.pixel_range();
    let eps = threat.epsilon();
    let mut streams = SplitMix64::per_image(&clean, size, config.seed);
    let mut output = clean.clone();
    let mut samples = Vec::with_capacity(n);
    let mut distances = vec![f32::INFINITY; n];
    let total = n * config.iterations;
    let mut trace = Vec::new();
    let mut cancelled = false;

    for i in 0..n {
        let rng = &mut streams[i];
        let x = &clean[i * size..(i + 1) * size];
        let mut walk = Walk {
            oracle: &mut oracle,
            clean: x,
            label: labels[i],
            norm: threat.norm(),
            range,
            left: config.queries - 1,
        };
        let mut best: Option<Vec<f32>> = None;
        let mut iterations = 0;
        if clean_labels[i] != labels[i] {
            best = Some(x.to_vec());
        } else if let Some(start) = random_start(&mut walk, config.start_tries, rng).await? {
            let (mut current, _) = walk.boundary(&start, theta).await?;
            let mut dist_before = walk.distance(&current);
            best = Some(current.clone());
            for t in 1..=config.iterations {
                crate::runtime::pace::pause().await;
                let Some(next) =
                    iterate(&mut walk, &current, dist_before, t, theta, config, rng).await?
                else {
                    break;
                };
                (current, dist_before) = next;
                best = Some(current.clone());
                iterations = t;
                distances[i] = walk.distance(&current);
                let point = TraceStep {
                    restart: i,
                    step: t,
                    mean_loss: distances[i],
                    success_rate: distances[..=i].iter().filter(|&&d| d <= eps).count() as f32
                        / n as f32,
                };
                trace.push(point);
                if !on_progress(AttackProgress {
                    done: i * config.iterations + t,
                    total,
                    trace: vec![point],
                    queries: Some(walk.oracle.queries()),
                }) {
                    cancelled = true;
                    break;
                }
            }
        }
        let spent = config.queries - walk.left;
        let found = best.map(|b| (walk.distance(&b), b));
        let (distance, point) = match found {
            Some((dist, b)) => (dist, b),
            None => (f32::INFINITY, x.to_vec()),
        };
        distances[i] = distance;
        let success = distance <= eps;
        let returned = if success {
            point
        } else if distance.is_finite() {
            project(&point, x, threat)
        } else {
            x.to_vec()
        };
        let (linf, l2) = norms(&returned, x);
        output[i * size..(i + 1) * size].copy_from_slice(&returned);
        samples.push(SampleResult {
            clean_correct: clean_labels[i] == labels[i],
            success,
            predicted: labels[i],
            final_loss: distance,
            linf,
            l2,
            steps: iterations,
            queries: Some(spent),
        });
        if cancelled {
            break;
        }
    }
    // What the model predicts on the returned points (bookkeeping, not counted as queries).
    let returned = host_batch(output.clone(), dims, &device);
    let predicted = model
        .logits(returned.clone())
        .without_autodiff()
        .argmax(1)
        .reshape([n])
        .float();
    let predicted = read_f32(predicted).await?;
    for ((s, p), label) in samples.iter_mut().zip(predicted).zip(labels) {
        s.predicted = p as usize;
        s.success &= s.predicted != *label;
    }
    while samples.len() < n {
        let i = samples.len();
        samples.push(SampleResult {
            clean_correct: clean_labels[i] == labels[i],
            success: false,
            predicted: clean_labels[i],
            final_loss: f32::INFINITY,
            linf: 0.0,
            l2: 0.0,
            steps: 0,
            queries: Some(0),
        });
    }
    Ok(AttackOutcome {
        adversarial: returned,
        samples,
        trace,
        cancelled,
    })
}

/// `x` moved onto the ε-ball around `clean` (and the pixel range).
fn project(x: &[f32], clean: &[f32], threat: &ThreatModel) -> Vec<f32> {
    let eps = threat.epsilon();
    let (low, high) = threat.pixel_range();
    match threat.norm() {
        Norm::Linf => x
            .iter()
            .zip(clean)
            .map(|(v, c)| v.clamp(c - eps, c + eps).clamp(low, high))
            .collect(),
        Norm::L2 => {
            let delta: Vec<f32> = x.iter().zip(clean).map(|(v, c)| v - c).collect();
            let scale = (eps / (l2(&delta) + 1e-12)).min(1.0);
            clean
                .iter()
                .zip(delta)
                .map(|(c, d)| (c + d * scale).clamp(low, high))
                .collect()
        }
    }
}

/// A misclassified point: uniform noise over the pixel range, then the blend nearest the clean
/// image that stays misclassified (to 0.001).
async fn random_start<M: Classifier>(
    walk: &mut Walk<'_, '_, M>,
    tries: usize,
    rng: &mut SplitMix64,
) -> Result<Option<Vec<f32>>> {
    let (low, high) = walk.range;
    for _ in 0..tries {
        let noise: Vec<f32> = (0..walk.clean.len())
            .map(|_| low + (high - low) * rng.next_f32())
            .collect();
        match walk.adversarial(&noise).await? {
            Err(Spent) => return Ok(None),
            Ok(hit) if hit[0] => {
                let (mut lo, mut hi) = (0.0f32, 1.0f32);
                while hi - lo > 0.001 {
                    let mid = (hi + lo) / 2.0;
                    let blend = blend(walk.clean, &noise, mid);
                    match walk.adversarial(&blend).await? {
                        Ok(h) if h[0] => hi = mid,
                        Ok(_) => lo = mid,
                        Err(Spent) => break,
                    }
                }
                return Ok(Some(blend(walk.clean, &noise, hi)));
            }
            Ok(_) => {}
        }
    }
    Ok(None)
}

fn blend(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(a, b)| (1.0 - t) * a + t * b)
        .collect()
}

/// One HopSkipJump iteration from the boundary point `x`: estimate the normal, step, return to
/// the boundary. `None` when the budget cannot pay for it.
async fn iterate<M: Classifier>(
    walk: &mut Walk<'_, '_, M>,
    x: &[f32],
    dist_before: f32,
    t: usize,
    theta: f32,
    config: &HopSkipJumpConfig,
    rng: &mut SplitMix64,
) -> Result<Option<(Vec<f32>, f32)>> {
    let size = x.len();
    let d = size as f32;
    let (low, high) = walk.range;
    let delta = if t == 1 {
        0.1 * (high - low)
    } else {
        match walk.norm {
            Norm::L2 => d.sqrt() * theta * dist_before,
            Norm::Linf => d * theta * dist_before,
        }
    };
    let evals = ((config.initial_evals as f32 * (t as f32).sqrt()) as usize).min(config.max_evals);
    // Random unit directions (Gaussian for L2, uniform for L∞), clipped to the pixel range.
    let mut probes = Vec::with_capacity(evals * size);
    let mut directions = Vec::with_capacity(evals * size);
    for _ in 0..evals {
        let v: Vec<f32> = match walk.norm {
            Norm::L2 => (0..size).map(|_| rng.next_gaussian()).collect(),
            Norm::Linf => (0..size).map(|_| 2.0 * rng.next_f32() - 1.0).collect(),
        };
        let norm = l2(&v) + 1e-12;
        let mut p: Vec<f32> = x
            .iter()
            .zip(&v)
            .map(|(x, v)| x + delta * v / norm)
            .collect();
        walk.clip(&mut p);
        directions.extend(p.iter().zip(x).map(|(p, x)| (p - x) / delta));
        probes.extend(p);
    }
    let decisions = match walk.adversarial(&probes).await? {
        Ok(d) => d,
        Err(Spent) => return Ok(None),
    };
    let f: Vec<f32> = decisions
        .iter()
        .map(|&b| if b { 1.0 } else { -1.0 })
        .collect();
    let mean = f.iter().sum::<f32>() / evals as f32;
    let baseline = if mean.abs() == 1.0 { 0.0 } else { mean };
    let mut gradient = vec![0.0f32; size];
    for (k, fk) in f.iter().enumerate() {
        let weight = (fk - baseline) / evals as f32;
        for (g, v) in gradient
            .iter_mut()
            .zip(&directions[k * size..(k + 1) * size])
        {
            *g += weight * v;
        }
    }
    let norm = l2(&gradient) + 1e-12;
    let update: Vec<f32> = match walk.norm {
        Norm::L2 => gradient.iter().map(|g| g / norm).collect(),
        Norm::Linf => gradient
            .iter()
            .map(|&g| if g == 0.0 { 0.0 } else { g.signum() })
            .collect(),
    };
    // Geometric step-size search: halve until the step stays adversarial.
    let distance = walk.distance(x);
    let mut step = distance / (t as f32).sqrt();
    let mut moved = None;
    for _ in 0..32 {
        let mut candidate: Vec<f32> = x.iter().zip(&update).map(|(x, u)| x + step * u).collect();
        walk.clip(&mut candidate);
        match walk.adversarial(&candidate).await? {
            Ok(hit) if hit[0] => {
                moved = Some(candidate);
                break;
            }
            Ok(_) => step /= 2.0,
            Err(Spent) => return Ok(None),
        }
    }
    let Some(moved) = moved else {
        return Ok(Some((x.to_vec(), dist_before)));
    };
    Ok(Some(walk.boundary(&moved, theta).await?))
}
