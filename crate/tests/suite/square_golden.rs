//! Square Attack against torchattacks' (AutoAttack's implementation), from
//! `tests/golden/square.json` (`tests/golden/gen_square.py`, torch 2.5.1 CPU, torchattacks 3.5.1;
//! run by hand). A random search cannot be matched draw for draw, so a seeded run is compared by
//! its statistics on the same 97 correctly classified images with the same budget of iterations:
//! the images fooled may differ by at most 12 (about two standard deviations of the difference
//! of two independent runs at torchattacks' rate), the median queries of the fooled images by at
//! most a factor of 2, and no image may spend more than the budget.

use perturb::attack::{Attack, Norm, SquareConfig, ThreatModel};
use perturb::data::{DatasetKind, shipped_test_subset};
use serde_json::Value;

use crate::common::{default_model, device};

const GOLDEN: &str = include_str!("../../../tests/golden/square.json");

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[test]
fn square_fools_as_often_and_as_fast_as_torchattacks() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let device = device();
    let model = default_model(&device);
    let indices: Vec<usize> = golden["attacked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let (images, _) = data.batch(&indices, &device).unwrap();
    let labels: Vec<usize> = indices.iter().map(|&i| data.labels()[i] as usize).collect();
    for run in golden["runs"].as_array().unwrap() {
        let name = run["name"].as_str().unwrap();
        let norm: Norm = run["norm"].as_str().unwrap().parse().unwrap();
        let threat = ThreatModel::new(norm, run["eps"].as_f64().unwrap() as f32).unwrap();
        let iterations = run["queries"].as_u64().unwrap() as usize;
        // torchattacks: the first point plus one query per iteration. Perturb's budget also
        // counts the clean classification.
        let attack = Attack::Square(SquareConfig {
            queries: iterations + 2,
            ..SquareConfig::default()
        });
        let out =
            pollster::block_on(attack.run(&model, images.clone(), &labels, &threat, |_| true))
                .unwrap();
        let theirs_fooled: Vec<bool> = run["fooled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        let theirs_spent: Vec<f64> = run["spent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() + 1.0)
            .collect();
        let theirs = theirs_fooled.iter().filter(|f| **f).count();
        let ours = out.samples.iter().filter(|s| s.success).count();
        let theirs_median = median(
            theirs_spent
                .iter()
                .zip(&theirs_fooled)
                .filter(|(_, f)| **f)
                .map(|(q, _)| *q)
                .collect(),
        );
        let ours_median = median(
            out.samples
                .iter()
                .filter(|s| s.success)
                .map(|s| s.queries.unwrap() as f64)
                .collect(),
        );
        println!(
            "square {name}: fooled {ours} (torchattacks {theirs}) of {}, median queries {ours_median} ({theirs_median})",
            labels.len()
        );
        assert!(
            ours.abs_diff(theirs) <= 12,
            "{name}: fooled {ours} vs {theirs}"
        );
        assert!(
            ours_median <= 2.0 * theirs_median && theirs_median <= 2.0 * ours_median,
            "{name}: median queries {ours_median} vs {theirs_median}"
        );
        assert!(
            out.samples
                .iter()
                .all(|s| s.queries.unwrap() <= iterations + 2)
        );
    }
}
