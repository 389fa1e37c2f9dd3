//! Square Attack (Andriushchenko et al., 2020): a score-based black-box attack by random search.
//! Each iteration changes one square window of the perturbation (L∞: to ±ε per channel; L2: moves
//! mass between two windows, keeping ‖δ‖₂ = ε) and keeps it when the logit margin falls. The
//! square's area shrinks on AutoAttack's schedule (p_init halved at 10, 50, 200, 500, 1k, 2k,
//! 4k, 6k, 8k of 10k iterations, rescaled to the budget). It runs through [`BlackBox`]: it never
//! sees a gradient, and every query is counted.
//!
//! Differences from AutoAttack's `square.py`, on purpose: the budget counts every query an image
//! costs, its first (clean) classification included, so no image ever exceeds it; each image
//! draws its own windows from its own generator (AutoAttack shares one window across the batch),
//! so an image is attacked alike in any batch; the targeted version climbs the margin to the
//! target, as the untargeted one does, instead of cross-entropy.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::blackbox::{BlackBox, Opened, argmax, margin};
use super::result::{AttackOutcome, AttackProgress, SampleResult, TraceStep};
use super::threat::{Goal, Norm, ThreatModel};
use crate::error::{Error, Result};
use crate::model::Classifier;
use crate::runtime::rng::SplitMix64;

/// Settings of a Square Attack run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SquareConfig {
    /// Queries each image may cost at most, its clean classification included (AutoAttack: 5,000).
    pub queries: usize,
    /// Fraction of the image the first squares cover (AutoAttack: 0.8).
    pub p_init: f32,
    /// Seed of the random search.
    pub seed: u64,
}

impl Default for SquareConfig {
    /// AutoAttack's standard settings: 5,000 queries, p_init = 0.8.
    fn default() -> Self {
        Self {
            queries: 5000,
            p_init: 0.8,
            seed: 0,
        }
    }
}

impl SquareConfig {
    fn validate(&self) -> Result<()> {
        if self.queries < 2 {
            return Err(Error::InvalidArgument(format!(
                "Square needs a budget of at least 2 queries per image, got {}",
                self.queries
            )));
        }
        if !(self.p_init.is_finite() && self.p_init > 0.0 && self.p_init <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "p_init must lie in (0, 1], got {}",
                self.p_init
            )));
        }
        Ok(())
    }

    /// The fraction of pixels the square covers at iteration `it` (AutoAttack's `p_selection`
    /// with its schedule rescaled to `iterations`).
    fn fraction(&self, it: usize, iterations: usize) -> f32 {
        let it = (it as f64 / iterations as f64 * 10_000.0) as usize;
        let halvings = match it {
            0..=10 => 0,
            11..=50 => 1,
            51..=200 => 2,
            201..=500 => 3,
            501..=1000 => 4,
            1001..=2000 => 5,
            2001..=4000 => 6,
            4001..=6000 => 7,
            6001..=8000 => 8,
            _ => 9,
        };
        self.p_init / (1u32 << halvings) as f32
    }
}

/// Per-image state of the search, on the host.
struct Search {
    clean: Vec<f32>,
    best: Vec<f32>,
    margin: Vec<f32>,
    predicted: Vec<usize>,
    queries: Vec<usize>,
    iterations: Vec<usize>,
}

/// Run the Square Attack on `images` with true `labels`. `on_progress` is called after every
/// iteration (with the queries spent) and cancels the search when it returns `false`.
pub async fn square(
    model: &impl Classifier,
    images: Tensor<4>,
    labels: &[usize],
    threat: &ThreatModel,
    config: &SquareConfig,
    mut on_progress: impl FnMut(AttackProgress) -> bool,
) -> Result<AttackOutcome> {
    crate::runtime::readback::check_finite(&images).await?;
    config.validate()?;
    let dims = images.dims();
    let [n, c, h, w] = dims;
    let device = images.device();
    let Opened {
        clean,
        mut oracle,
        scores,
        classes,
    } = BlackBox::open(model, images, labels, threat).await?;
    let (targeted, aim): (bool, Vec<usize>) = match threat.goal() {
        Goal::Untargeted => (false, labels.to_vec()),
        Goal::Targeted(t) => (true, t.clone()),
    };
    let size = c * h * w;
    let rows: Vec<&[f32]> = scores.chunks(classes).collect();
    let clean_correct: Vec<bool> = (0..n).map(|i| argmax(rows[i]) == labels[i]).collect();
    let met = |i: usize, row: &[f32]| {
        let m = margin(row, aim[i], targeted);
        (m, if targeted { m < 0.0 } else { m <= 0.0 })
    };
    let mut s = Search {
        clean: clean.clone(),
        best: clean.clone(),
        margin: (0..n).map(|i| met(i, rows[i]).0).collect(),
        predicted: rows.iter().map(|r| argmax(r)).collect(),
        queries: vec![1; n],
        iterations: vec![0; n],
    };
    // Each image searches with its own generator (its windows and signs), so it is attacked the
    // same whatever batch it is in: AutoAttack's Square on the survivors matches a full run.
    let mut streams = SplitMix64::per_image(&clean, size, config.seed);
    let mut trace = Vec::new();
    let mut cancelled = false;
    let iterations = config.queries - 2;

    // The first point: vertical stripes of ±ε (L∞) or a grid of ±ε-normalised windows (L2).
    let mut open: Vec<usize> = (0..n).filter(|&i| s.margin[i] > 0.0).collect();
    if !open.is_empty() {
        let starts = first_points(&s, &open, threat, [c, h, w], &mut streams);
        query_and_keep(
            &mut oracle,
            &mut s,
            &open,
            starts,
            size,
            classes,
            &met,
            true,
        )
        .await?;
    }
    for it in 0..iterations {
        crate::runtime::pace::pause().await;
        open.retain(|&i| s.margin[i] > 0.0);
        if open.is_empty() {
            break;
        }
        let p = config.fraction(it, iterations);
        let candidates = match threat.norm() {
            Norm::Linf => linf_step(&s, &open, threat, [c, h, w], p, &mut streams),
            Norm::L2 => l2_step(&s, &open, threat, [c, h, w], p, &mut streams),
        };
        query_and_keep(
            &mut oracle,
            &mut s,
            &open,
            candidates,
            size,
            classes,
            &met,
            false,
        )
        .await?;
        for &i in &open {
            s.iterations[i] = it + 1;
        }
        let fooled = s.margin.iter().filter(|&&m| m <= 0.0).count();
        let point = TraceStep {
            restart: 0,
            step: it + 1,
            mean_loss: s.margin.iter().sum::<f32>() / n as f32,
            success_rate: fooled as f32 / n as f32,
        };
        trace.push(point);
        if !on_progress(AttackProgress {
            done: it + 1,
            total: iterations,
            trace: vec![point],
            queries: Some(oracle.queries()),
        }) {
            cancelled = true;
            break;
        }
    }
    let samples = (0..n)
        .map(|i| {
            let (linf, l2) = norms(
                &s.best[i * size..(i + 1) * size],
                &clean[i * size..(i + 1) * size],
            );
            let success = if targeted {
                s.predicted[i] == aim[i]
            } else {
                s.predicted[i] != labels[i]
            };
            SampleResult {
                clean_correct: clean_correct[i],
                success,
                predicted: s.predicted[i],
                final_loss: -s.margin[i],
                linf,
                l2,
                steps: s.iterations[i],
                queries: Some(s.queries[i]),
            }
        })
        .collect();
    Ok(AttackOutcome {
        adversarial: host_batch(s.best, dims, &device),
        samples,
        trace,
        cancelled,
    })
}

/// A host batch as a device tensor.
pub(crate) fn host_batch(values: Vec<f32>, dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(values, dims), device)
}

/// L∞ and L2 norms of `a − b`.
pub(crate) fn norms(a: &[f32], b: &[f32]) -> (f32, f32) {
    let (inf, sq) = a.iter().zip(b).fold((0.0f32, 0.0f32), |(inf, sq), (x, y)| {
        let d = (x - y).abs();
        (inf.max(d), sq + d * d)
    });
    (inf, sq.sqrt())
}

/// Query `candidates` (one image per entry of `open`) and keep each that lowers the margin or
/// meets the goal (`always`: keep them all, for the first point).
#[allow(clippy::too_many_arguments)]
async fn query_and_keep<M: Classifier>(
    oracle: &mut BlackBox<'_, M>,
    s: &mut Search,
    open: &[usize],
    candidates: Vec<f32>,
    size: usize,
    classes: usize,
    met: &impl Fn(usize, &[f32]) -> (f32, bool),
    always: bool,
) -> Result<()> {
    let (scores, _) = oracle.scores(&candidates).await?;
    for (k, &i) in open.iter().enumerate() {
        let row = &scores[k * classes..(k + 1) * classes];
        let (m, hit) = met(i, row);
        s.queries[i] += 1;
        if always || m < s.margin[i] || hit {
            s.margin[i] = m;
            s.predicted[i] = argmax(row);
            s.best[i * size..(i + 1) * size].copy_from_slice(&candidates[k * size..(k + 1) * size]);
        }
    }
    Ok(())
}

/// ±1 with equal probability.
fn sign(rng: &mut SplitMix64) -> f32 {
    if rng.next_f32() < 0.5 { -1.0 } else { 1.0 }
}

/// The square's side for fraction `p` of `features` pixels over `c` channels, at least `least`,
/// at most the image's smaller side.
fn side(p: f32, features: usize, c: usize, least: usize, [h, w]: [usize; 2]) -> usize {
    let s = ((p * features as f32 / c as f32).sqrt().round() as usize).max(least);
    s.min(h.min(w))
}

/// The first point of each open image.
fn first_points(
    s: &Search,
    open: &[usize],
    threat: &ThreatModel,
    [c, h, w]: [usize; 3],
    streams: &mut [SplitMix64],
) -> Vec<f32> {
    let size = c * h * w;
    let eps = threat.epsilon();
    let (low, high) = threat.pixel_range();
    let mut out = Vec::with_capacity(open.len() * size);
    for &i in open {
        let rng = &mut streams[i];
        let x = &s.clean[i * size..(i + 1) * size];
        match threat.norm() {
            Norm::Linf => {
                let stripes: Vec<f32> = (0..c * w).map(|_| sign(rng) * eps).collect();
                for ch in 0..c {
                    for r in 0..h {
                        for col in 0..w {
                            let v = x[(ch * h + r) * w + col] + stripes[ch * w + col];
                            out.push(v.clamp(low, high));
                        }
                    }
                }
            }
            Norm::L2 => {
                let block = (h / 5).max(1);
                let offset = h.saturating_sub(block * 5) / 2;
                let mut delta = vec![0.0f32; size];
                for bh in 0..h / block {
                    for bw in 0..w / block {
                        let pattern = eta(block, rng);
                        let corner = (offset + bh * block, offset + bw * block);
                        for ch in 0..c {
                            let sg = sign(rng);
                            add_window(&mut delta, [c, h, w], ch, corner, block, |a, b| {
                                pattern[a * block + b] * sg
                            });
                        }
                    }
                }
                out.extend(at_radius(x, &delta, eps, (low, high)));
            }
        }
    }
    out
}

/// Add `value(row, col)` to the `side`×`side` window at `(top, left)` of channel `ch`, clipped
/// to the image.
fn add_window(
    image: &mut [f32],
    [_, h, w]: [usize; 3],
    ch: usize,
    (top, left): (usize, usize),
    side: usize,
    value: impl Fn(usize, usize) -> f32,
) {
    for a in 0..side.min(h.saturating_sub(top)) {
        for b in 0..side.min(w.saturating_sub(left)) {
            image[(ch * h + top + a) * w + left + b] += value(a, b);
        }
    }
}

pub(crate) fn l2(values: &[f32]) -> f32 {
    values.iter().map(|v| v * v).sum::<f32>().sqrt()
}

/// `x` plus `delta` rescaled to L2 length `eps`, clamped to the pixel range.
fn at_radius<'a>(
    x: &'a [f32],
    delta: &'a [f32],
    eps: f32,
    (low, high): (f32, f32),
) -> impl Iterator<Item = f32> + 'a {
    let scale = eps / (l2(delta) + 1e-12);
    x.iter()
        .zip(delta)
        .map(move |(x, d)| (x + d * scale).clamp(low, high))
}

/// A random top-left corner for a window of `side` (AutoAttack draws from `0..h − side`).
fn corner(rng: &mut SplitMix64, [h, w]: [usize; 2], side: usize) -> (usize, usize) {
    let draw = |rng: &mut SplitMix64, extent: usize| {
        if extent > side {
            rng.below(extent - side)
        } else {
            0
        }
    };
    let top = draw(rng, h);
    (top, draw(rng, w))
}

/// L∞ iteration: one window per image, set to ±ε per channel around the clean image.
fn linf_step(
    s: &Search,
    open: &[usize],
    threat: &ThreatModel,
    [c, h, w]: [usize; 3],
    p: f32,
    streams: &mut [SplitMix64],
) -> Vec<f32> {
    let size = c * h * w;
    let eps = threat.epsilon();
    let (low, high) = threat.pixel_range();
    let side = side(p, size, c, 1, [h, w]);
    let mut out = Vec::with_capacity(open.len() * size);
    for &i in open {
        let rng = &mut streams[i];
        let (top, left) = corner(rng, [h, w], side);
        let start = out.len();
        out.extend_from_slice(&s.best[i * size..(i + 1) * size]);
        let x = &s.clean[i * size..(i + 1) * size];
        for ch in 0..c {
            let sg = sign(rng);
            for a in 0..side {
                for b in 0..side {
                    let k = (ch * h + top + a) * w + left + b;
                    out[start + k] = (x[k] + sg * eps).clamp(low, high);
                }
            }
        }
    }
    out
}

/// AutoAttack's `eta_rectangles`: concentric rectangles weighted 1/(k+1)², unit L2 norm.
fn rectangles(x: usize, y: usize) -> Vec<f32> {
    let mut delta = vec![0.0f32; x * y];
    let (xc, yc) = (x / 2 + 1, y / 2 + 1);
    let (mut c0, mut c1) = (xc as isize - 1, yc as isize - 1);
    for k in 0..xc.max(yc) {
        let weight = 1.0 / ((k + 1) * (k + 1)) as f32;
        let span = 2 * k as isize + 1;
        for a in c0.max(0)..(c0 + span).min(x as isize) {
            for b in c1.max(0)..(c1 + span).min(y as isize) {
                delta[a as usize * y + b as usize] += weight;
            }
        }
        c0 -= 1;
        c1 -= 1;
    }
    let norm = l2(&delta);
    delta.iter().map(|v| v / norm).collect()
}

/// AutoAttack's `eta`: two opposite rectangle patterns stacked (randomly transposed), unit L2.
fn eta(side: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let upper = side / 2;
    let mut delta = vec![0.0f32; side * side];
    if upper > 0 {
        delta[..upper * side].copy_from_slice(&rectangles(upper, side));
    }
    let lower = rectangles(side - upper, side);
    for (d, v) in delta[upper * side..].iter_mut().zip(lower) {
        *d = -v;
    }
    let norm = l2(&delta) + 1e-12;
    let delta: Vec<f32> = delta.iter().map(|v| v / norm).collect();
    if rng.next_f32() > 0.5 {
        (0..side * side)
            .map(|k| delta[(k % side) * side + k / side])
            .collect()
    } else {
        delta
    }
}

/// L2 iteration: move the perturbation's mass out of a second window into a first one, redrawn
/// with a fresh ±pattern, then rescale the whole perturbation to ‖δ‖₂ = ε.
fn l2_step(
    s: &Search,
    open: &[usize],
    threat: &ThreatModel,
    [c, h, w]: [usize; 3],
    p: f32,
    streams: &mut [SplitMix64],
) -> Vec<f32> {
    let size = c * h * w;
    let eps = threat.epsilon();
    let (low, high) = threat.pixel_range();
    let mut side = side(p, size, c, 3, [usize::MAX, usize::MAX]);
    if side.is_multiple_of(2) {
        side += 1;
    }
    let side = side.min(h.min(w));
    let inside = |(top, left): (usize, usize), r: usize, col: usize| {
        r >= top && r < top + side && col >= left && col < left + side
    };
    let mut out = Vec::with_capacity(open.len() * size);
    for &i in open {
        let rng = &mut streams[i];
        let first = corner(rng, [h, w], side);
        let second = corner(rng, [h, w], side);
        let pattern = eta(side, rng);
        let x = &s.clean[i * size..(i + 1) * size];
        let mut delta: Vec<f32> = s.best[i * size..(i + 1) * size]
            .iter()
            .zip(x)
            .map(|(b, x)| b - x)
            .collect();
        let image_norm = l2(&delta);
        for ch in 0..c {
            let at = |r: usize, col: usize| (ch * h + r) * w + col;
            let (mut window_sq, mut union_sq) = (0.0f32, 0.0f32);
            for r in 0..h {
                for col in 0..w {
                    let d = delta[at(r, col)];
                    if inside(first, r, col) {
                        window_sq += d * d;
                    }
                    if inside(first, r, col) || inside(second, r, col) {
                        union_sq += d * d;
                    }
                }
            }
            let window_norm = window_sq.sqrt() + 1e-12;
            let sg = sign(rng);
            let mut fresh: Vec<f32> = (0..side * side)
                .map(|k| {
                    let (a, b) = (k / side, k % side);
                    pattern[k] * sg + delta[at(first.0 + a, first.1 + b)] / window_norm
                })
                .collect();
            let target =
                ((eps * eps - image_norm * image_norm).max(0.0) / c as f32 + union_sq).sqrt();
            let scale = target / (l2(&fresh) + 1e-12);
            fresh.iter_mut().for_each(|v| *v *= scale);
            for a in 0..side {
                for b in 0..side {
                    delta[at(second.0 + a, second.1 + b)] = 0.0;
                }
            }
            for a in 0..side {
                for b in 0..side {
                    delta[at(first.0 + a, first.1 + b)] = fresh[a * side + b];
                }
            }
        }
        out.extend(at_radius(x, &delta, eps, (low, high)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_halves_p_at_autoattacks_points() {
        let c = SquareConfig::default();
        assert_eq!(c.fraction(0, 10_000), 0.8);
        assert_eq!(c.fraction(11, 10_000), 0.4);
        assert_eq!(c.fraction(9_000, 10_000), 0.8 / 512.0);
        // Rescaled to a 1,000-iteration budget: iteration 100 is the 10k schedule's 1,000.
        assert_eq!(c.fraction(100, 1_000), 0.8 / 16.0);
    }

    #[test]
    fn l2_patterns_have_unit_norm_and_opposite_halves() {
        let mut rng = SplitMix64::new(1);
        for side in [3, 5, 8] {
            let e = eta(side, &mut rng);
            assert!((l2(&e) - 1.0).abs() < 1e-5);
            let sum: f32 = e.iter().sum();
            assert!(sum.abs() < 0.5, "{sum}");
        }
    }
}
