//! Agreement with torchattacks' FAB on the shipped default model: the runs in
//! `tests/golden/fab.json` come from `tests/golden/gen_fab.py` (torchattacks 3.5.1, run by hand),
//! untargeted FAB at L∞ and L2 and FAB-T at L∞, one restart from the clean image (no random
//! draw on either side). Held: the same images fooled, and per image the minimum norm FAB found
//! within 5% of torchattacks' (measured: see the test's output). FAB's norms shrink step by step,
//! so the same check on a FAB with half the steps must fail: the tolerance can tell a weaker FAB.

use perturb::attack::{FabConfig, Norm, ThreatModel, fab};
use serde_json::Value;

use crate::common::{default_model, device, mnist_batch};

const GOLDEN: &str = include_str!("../../../tests/golden/fab.json");
/// Relative tolerance on each image's minimum norm.
const TOLERANCE: f32 = 0.05;

/// Run one golden run with `steps` steps; the mismatches with torchattacks, and the largest
/// relative difference of the norms.
fn compare(golden: &Value, run: &Value, steps: usize) -> (Vec<String>, f32) {
    let device = device();
    let model = default_model(&device);
    let want_labels: Vec<usize> = golden["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let (images, labels) = mnist_batch(want_labels.len(), &device);
    assert_eq!(
        labels, want_labels,
        "the golden file was made on other images"
    );
    let name = run["name"].as_str().unwrap();
    let norm: Norm = run["norm"].as_str().unwrap().parse().unwrap();
    let threat = ThreatModel::new(norm, run["eps"].as_f64().unwrap() as f32).unwrap();
    let config = FabConfig {
        steps,
        targets: run["targets"].as_u64().unwrap() as usize,
        ..FabConfig::default()
    };
    let out = pollster::block_on(fab(&model, images, &labels, &threat, &config, |_| true)).unwrap();
    let mut failures = Vec::new();
    let mut worst = 0f32;
    for (i, s) in out.samples.iter().enumerate() {
        let fooled = run["fooled"][i].as_bool().unwrap();
        if s.success != fooled {
            failures.push(format!(
                "{name} image {i}: fooled {} vs {fooled}",
                s.success
            ));
            continue;
        }
        if !fooled {
            continue;
        }
        let want = run["min_norm"][i].as_f64().unwrap() as f32;
        let got = if norm == Norm::Linf { s.linf } else { s.l2 };
        let relative = (got - want).abs() / want;
        worst = worst.max(relative);
        if relative > TOLERANCE {
            failures.push(format!(
                "{name} image {i}: norm {got} vs torchattacks' {want}"
            ));
        }
    }
    (failures, worst)
}

#[test]
fn fab_matches_torchattacks_and_a_weaker_fab_does_not() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let steps = golden["steps"].as_u64().unwrap() as usize;
    let mut failures = Vec::new();
    for run in golden["runs"].as_array().unwrap() {
        let name = run["name"].as_str().unwrap();
        let (mismatches, worst) = compare(&golden, run, steps);
        println!("{name}: largest relative norm difference {worst:.4}");
        failures.extend(mismatches);
        let (weak, weak_worst) = compare(&golden, run, steps / 2);
        println!(
            "{name} at half the steps: {weak_worst:.4}, {} mismatches",
            weak.len()
        );
        if weak.is_empty() {
            failures.push(format!(
                "{name}: FAB with half the steps passes the same check"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
