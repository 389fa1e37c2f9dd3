//! Exact (complete) verification of small ReLU networks by branch and bound over ReLU phases.
//!
//! Each node fixes some ReLUs active or inactive. Its pre-activation bounds come from CROWN on the
//! host (in f64, respecting the fixed phases); classes whose margin CROWN already proves are done.
//! For the rest a linear program — exact for stable and fixed ReLUs, the triangle relaxation for
//! the others — gives the least margin and a point reaching it. If the network misclassifies that
//! point it is a counterexample; if not, the node splits on its loosest ReLU. A node whose
//! ReLUs are all decided has an exact program, so the search is complete; it is also exponential
//! in the number of undecided ReLUs, the O((2n)^L) of the paper's §VII.B.

use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{Layer, Sequential};
use crate::runtime::readback::read_f32;

/// Margins at or below this count as not proven (the LP solver's feasibility tolerance is 1e-7).
const PROOF_MARGIN: f64 = 1e-6;

/// One affine layer on the host: `out × in` row-major weights and a bias.
#[derive(Debug, Clone)]
struct Dense {
    weight: Vec<f64>,
    bias: Vec<f64>,
    inputs: usize,
}

impl Dense {
    fn outputs(&self) -> usize {
        self.bias.len()
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.weight[i * self.inputs..(i + 1) * self.inputs]
    }

    fn apply(&self, x: &[f64]) -> Vec<f64> {
        (0..self.outputs())
            .map(|i| self.bias[i] + self.row(i).iter().zip(x).map(|(w, v)| w * v).sum::<f64>())
            .collect()
    }
}

/// A ReLU network `Linear → ReLU → … → Linear` held on the host in f64.
#[derive(Debug, Clone)]
pub struct TinyNet {
    layers: Vec<Dense>,
}

impl TinyNet {
    /// The network of a [`Sequential`] made of `flatten`, `linear` and `relu` layers (ReLU after
    /// every linear layer but the last), read back from the device.
    pub async fn from_sequential(model: &Sequential) -> Result<Self> {
        let mut layers = Vec::new();
        let mut expect_relu = false;
        for layer in model.layers() {
            match layer {
                Layer::Flatten => {}
                Layer::Relu if expect_relu => expect_relu = false,
                Layer::Linear { weight, bias } => {
                    if expect_relu {
                        return Err(unsupported("two linear layers without a ReLU between"));
                    }
                    let [inputs, outputs] = weight.dims();
                    // Burn holds [in, out]; the host layer wants rows per output.
                    let weight = read_f32(weight.clone().transpose()).await?;
                    let bias = match bias {
                        Some(b) => read_f32(b.clone()).await?,
                        None => vec![0.0; outputs],
                    };
                    layers.push(Dense {
                        weight: weight.into_iter().map(f64::from).collect(),
                        bias: bias.into_iter().map(f64::from).collect(),
                        inputs,
                    });
                    expect_relu = true;
                }
                _ => {
                    return Err(unsupported(
                        "exact verification takes flatten, linear and relu layers only",
                    ));
                }
            }
        }
        if layers.is_empty() || !expect_relu {
            return Err(unsupported("the network must end with a linear layer"));
        }
        Ok(Self { layers })
    }

    /// Input size.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Widths of the hidden (ReLU) layers.
    pub fn hidden_widths(&self) -> Vec<usize> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .map(Dense::outputs)
            .collect()
    }

    /// Logits at `x`.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        let (last, hidden) = self.layers.split_last().expect("at least one layer");
        let h = hidden.iter().fold(x.to_vec(), |h, layer| {
            layer.apply(&h).into_iter().map(|v| v.max(0.0)).collect()
        });
        last.apply(&h)
    }
}

fn unsupported(why: &str) -> Error {
    Error::InvalidArgument(format!("exact verification: {why}"))
}

/// A ReLU's phase in a branch-and-bound node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Free,
    Active,
    Inactive,
}

/// What the exact verifier concluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ExactOutcome {
    /// Every point of the box is classified as the label.
    Verified,
    /// A point of the box that the network does not classify as the label.
    Counterexample {
        /// The point, flattened.
        input: Vec<f64>,
        /// The network's logits there.
        logits: Vec<f64>,
    },
    /// The node budget ran out, or the caller stopped the search.
    Timeout,
}

/// Work done by one exact verification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExactStats {
    /// Branch-and-bound nodes visited (1 when the root decides).
    pub nodes: usize,
    /// Linear programs solved.
    pub linear_programs: usize,
    /// ReLUs undecided by CROWN at the root.
    pub unstable_at_root: usize,
}

/// Pre-activation bounds of every hidden layer at one node.
struct NodeBounds {
    pre: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Relaxation planes of one ReLU: (lower slope, upper slope, upper intercept).
fn planes(l: f64, u: f64, phase: Phase) -> (f64, f64, f64) {
    if phase == Phase::Active || l >= 0.0 {
        (1.0, 1.0, 0.0)
    } else if phase == Phase::Inactive || u <= 0.0 {
        (0.0, 0.0, 0.0)
    } else {
        let slope = u / (u - l);
        (if u > -l { 1.0 } else { 0.0 }, slope, -l * slope)
    }
}

impl TinyNet {
    /// CROWN lower bound over the box of `row · h_k + constant`, where `h_k` is the output of
    /// hidden layer `k − 1` (the input when `k = 0`).
    fn lower(
        &self,
        k: usize,
        mut row: Vec<f64>,
        mut constant: f64,
        bounds: &[(Vec<f64>, Vec<f64>)],
        phases: &[Vec<Phase>],
        (lo, hi): (&[f64], &[f64]),
    ) -> f64 {
        for j in (0..k).rev() {
            let (l, u) = &bounds[j];
            let layer = &self.layers[j];
            // Through ReLU j: each coefficient takes the plane that bounds its term from below.
            for (i, a) in row.iter_mut().enumerate() {
                let (lower, upper, intercept) = planes(l[i], u[i], phases[j][i]);
                if *a >= 0.0 {
                    *a *= lower;
                } else {
                    constant += *a * intercept;
                    *a *= upper;
                }
            }
            // Through the affine layer j.
            let mut next = vec![0.0; layer.inputs];
            for (i, a) in row.iter().enumerate() {
                constant += a * layer.bias[i];
                for (n, w) in next.iter_mut().zip(layer.row(i)) {
                    *n += a * w;
                }
            }
            row = next;
        }
        constant
            + row
                .iter()
                .enumerate()
                .map(|(i, a)| if *a >= 0.0 { a * lo[i] } else { a * hi[i] })
                .sum::<f64>()
    }

    /// Bounds at a node, or `None` when its phases contradict the bounds (an empty region).
    fn bound(&self, phases: &[Vec<Phase>], region: (&[f64], &[f64])) -> Option<NodeBounds> {
        let mut pre: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        for (k, layer) in self.layers[..self.layers.len() - 1].iter().enumerate() {
            let (mut l, mut u) = (Vec::new(), Vec::new());
            for i in 0..layer.outputs() {
                let row = layer.row(i).to_vec();
                let low = self.lower(k, row.clone(), layer.bias[i], &pre, phases, region);
                let neg: Vec<f64> = row.iter().map(|v| -v).collect();
                let high = -self.lower(k, neg, -layer.bias[i], &pre, phases, region);
                let (low, high) = match phases[k][i] {
                    Phase::Active => (low.max(0.0), high),
                    Phase::Inactive => (low, high.min(0.0)),
                    Phase::Free => (low, high),
                };
                if low > high {
                    return None;
                }
                l.push(low);
                u.push(high);
            }
            pre.push((l, u));
        }
        Some(NodeBounds { pre })
    }

    /// The margin `z_label − z_class` as weights on the last hidden layer and a constant.
    fn margin_row(&self, label: usize, class: usize) -> (Vec<f64>, f64) {
        let last = self.layers.last().expect("at least one layer");
        let row = last
            .row(label)
            .iter()
            .zip(last.row(class))
            .map(|(a, b)| a - b)
            .collect();
        (row, last.bias[label] - last.bias[class])
    }

    /// CROWN lower bound of the margin `z_label − z_class` at a node.
    fn margin_lower(
        &self,
        label: usize,
        class: usize,
        node: &NodeBounds,
        phases: &[Vec<Phase>],
        region: (&[f64], &[f64]),
    ) -> f64 {
        let (row, constant) = self.margin_row(label, class);
        self.lower(
            self.layers.len() - 1,
            row,
            constant,
            &node.pre,
            phases,
            region,
        )
    }

    /// The least margin `z_label − z_class` over the node's region under the triangle relaxation
    /// (exact when no ReLU is left free), and the input reaching it; `None` if the region is empty.
    fn solve(
        &self,
        label: usize,
        class: usize,
        node: &NodeBounds,
        phases: &[Vec<Phase>],
        (lo, hi): (&[f64], &[f64]),
    ) -> Result<Option<(f64, Vec<f64>)>> {
        let (objective, offset) = self.margin_row(label, class);
        let hidden = self.layers.len() - 1;
        let mut lp = Problem::new(OptimizationDirection::Minimize);
        let coefficient = |k: usize, i: usize| if k + 1 == hidden { objective[i] } else { 0.0 };
        let inputs: Vec<Variable> = (0..self.inputs())
            .map(|i| lp.add_var(if hidden == 0 { objective[i] } else { 0.0 }, (lo[i], hi[i])))
            .collect();
        let mut previous: Vec<Option<Variable>> = inputs.iter().copied().map(Some).collect();
        for (k, layer) in self.layers[..hidden].iter().enumerate() {
            let (l, u) = &node.pre[k];
            let mut current = Vec::with_capacity(layer.outputs());
            for i in 0..layer.outputs() {
                let (lower, upper, intercept) = planes(l[i], u[i], phases[k][i]);
                let active = lower == 1.0 && upper == 1.0;
                let z = lp.add_var(if active { coefficient(k, i) } else { 0.0 }, (l[i], u[i]));
                let mut terms = vec![(z, 1.0)];
                terms.extend(
                    previous
                        .iter()
                        .zip(layer.row(i))
                        .filter_map(|(v, w)| v.map(|v| (v, -w))),
                );
                lp.add_constraint(terms.as_slice(), ComparisonOp::Eq, layer.bias[i]);
                current.push(if active {
                    Some(z)
                } else if upper == 0.0 {
                    None
                } else {
                    let a = lp.add_var(coefficient(k, i), (0.0, u[i]));
                    lp.add_constraint([(a, 1.0), (z, -1.0)], ComparisonOp::Ge, 0.0);
                    lp.add_constraint([(a, 1.0), (z, -upper)], ComparisonOp::Le, intercept);
                    Some(a)
                });
            }
            previous = current;
        }
        match lp.solve() {
            Ok(outcome) => {
                let solution = outcome
                    .into_solution()
                    .map_err(|_| Error::Device("linear program interrupted".into()))?;
                let x = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| solution.var_value(v).clamp(lo[i], hi[i]))
                    .collect();
                let value = solution.objective() + offset;
                Ok(Some((value, x)))
            }
            Err(microlp::Error::Infeasible) => Ok(None),
            Err(e) => Err(Error::Device(format!("linear program failed: {e}"))),
        }
    }
}

/// Limits of one exact verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactConfig {
    /// Most branch-and-bound nodes before giving up.
    pub max_nodes: usize,
}

impl Default for ExactConfig {
    fn default() -> Self {
        Self { max_nodes: 100_000 }
    }
}

/// Decide whether `net` classifies every point of the L∞ ball of radius `epsilon` around `x`
/// (clipped to `pixel_range`) as `label`. `keep_going` sees the work so far at every node and
/// returns `false` to stop (a wall-clock limit, a Stop button).
pub fn verify_exact(
    net: &TinyNet,
    x: &[f64],
    label: usize,
    epsilon: f64,
    pixel_range: (f64, f64),
    config: &ExactConfig,
    mut keep_going: impl FnMut(&ExactStats) -> bool,
) -> Result<(ExactOutcome, ExactStats)> {
    if x.len() != net.inputs() {
        return Err(Error::Mismatch(format!(
            "the network takes {} inputs, got {}",
            net.inputs(),
            x.len()
        )));
    }
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "epsilon must be a finite number ≥ 0, got {epsilon}"
        )));
    }
    let classes = net.layers.last().map(Dense::outputs).unwrap_or(0);
    if label >= classes {
        return Err(Error::InvalidArgument(format!(
            "label {label} out of range for {classes} classes"
        )));
    }
    let lo: Vec<f64> = x.iter().map(|v| (v - epsilon).max(pixel_range.0)).collect();
    let hi: Vec<f64> = x.iter().map(|v| (v + epsilon).min(pixel_range.1)).collect();
    let region = (lo.as_slice(), hi.as_slice());
    let mut stats = ExactStats::default();
    let root: Vec<Vec<Phase>> = net
        .hidden_widths()
        .iter()
        .map(|&w| vec![Phase::Free; w])
        .collect();
    let mut stack = vec![root];
    while let Some(phases) = stack.pop() {
        if stats.nodes >= config.max_nodes || !keep_going(&stats) {
            return Ok((ExactOutcome::Timeout, stats));
        }
        stats.nodes += 1;
        let Some(node) = net.bound(&phases, region) else {
            continue;
        };
        if stats.nodes == 1 {
            stats.unstable_at_root = node
                .pre
                .iter()
                .flat_map(|(l, u)| l.iter().zip(u))
                .filter(|(l, u)| **l < 0.0 && **u > 0.0)
                .count();
        }
        let mut split = false;
        for class in (0..classes).filter(|&c| c != label) {
            if net.margin_lower(label, class, &node, &phases, region) > PROOF_MARGIN {
                continue;
            }
            stats.linear_programs += 1;
            let Some((value, point)) = net.solve(label, class, &node, &phases, region)? else {
                break; // Empty region: nothing to prove here.
            };
            if value > PROOF_MARGIN {
                continue;
            }
            let logits = net.forward(&point);
            if (0..classes).any(|c| c != label && logits[c] >= logits[label]) {
                return Ok((
                    ExactOutcome::Counterexample {
                        input: point,
                        logits,
                    },
                    stats,
                ));
            }
            split = true;
            break;
        }
        if !split {
            continue;
        }
        match loosest_relu(&node, &phases) {
            Some((k, i)) => {
                for phase in [Phase::Inactive, Phase::Active] {
                    let mut child = phases.clone();
                    child[k][i] = phase;
                    stack.push(child);
                }
            }
            // Every ReLU decided and the exact program still finds no misclassified point
            // beyond the tolerance: a tie on the decision boundary, not provably robust.
            None => return Ok((ExactOutcome::Timeout, stats)),
        }
    }
    Ok((ExactOutcome::Verified, stats))
}

/// The free unstable ReLU with the tallest triangle relaxation, `−l·u / (u − l)`.
fn loosest_relu(node: &NodeBounds, phases: &[Vec<Phase>]) -> Option<(usize, usize)> {
    let mut best = None;
    let mut height = 0.0;
    for (k, (l, u)) in node.pre.iter().enumerate() {
        for i in 0..l.len() {
            if phases[k][i] == Phase::Free && l[i] < 0.0 && u[i] > 0.0 {
                let h = -l[i] * u[i] / (u[i] - l[i]);
                if h > height {
                    height = h;
                    best = Some((k, i));
                }
            }
        }
    }
    best
}
