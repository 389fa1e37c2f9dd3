//! Agreement with torchattacks' APGD and APGDT on the shipped default model: the runs in
//! `tests/golden/apgd.json` come from `tests/golden/gen_apgd.py` (torch 2.5.1 CPU, torchattacks
//! 3.5.1; run by hand), which fixes the random start's draw so both sides start from the same
//! point (Perturb through `apgd_from`). Held exactly: which images each run fools and the class
//! predicted on every returned point. Held per image: the highest loss of each image never fooled
//! (to 1e-4), and the pixels of its returned point (98% within 1e-5). As for PGD (see
//! `torchattacks_golden.rs`), a pixel whose gradient is at float rounding level can take the other
//! sign, and APGD's first steps are 2ε long, so along L∞ steps an image's trajectory can part
//! from torchattacks' and end at another point of similar loss: there at least half of the unfooled
//! images must agree (measured here: 3 of 6, 5 of 6 and 5 of 6 on the three L∞ runs), and along L2
//! steps, which take no signs, every one (3 of 3).

use burn::tensor::{Tensor, TensorData};
use perturb::attack::{ApgdConfig, AttackLoss, Norm, ThreatModel, apgd_from};
use serde_json::Value;

use crate::common::{default_model, device, mnist_batch, values};

const GOLDEN: &str = include_str!("../../../tests/golden/apgd.json");

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn apgd_and_apgdt_match_torchattacks() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let device = device();
    let model = default_model(&device);
    let golden_labels: Vec<usize> = golden["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let count = golden_labels.len();
    let (images, labels) = mnist_batch(count, &device);
    assert_eq!(
        labels, golden_labels,
        "the golden file was made on other images"
    );
    let dims = images.dims();
    let mut failures = Vec::new();
    for run in golden["runs"].as_array().unwrap() {
        let name = run["name"].as_str().unwrap();
        let norm: Norm = run["norm"].as_str().unwrap().parse().unwrap();
        let threat = ThreatModel::new(norm, run["eps"].as_f64().unwrap() as f32).unwrap();
        let config = ApgdConfig {
            steps: golden["steps"].as_u64().unwrap() as usize,
            loss: match run["loss"].as_str().unwrap() {
                "ce" => AttackLoss::CrossEntropy,
                _ => AttackLoss::Dlr,
            },
            aim: run["aim"].as_u64().map(|k| k as usize),
            ..ApgdConfig::default()
        };
        let start = Tensor::<4>::from_data(TensorData::new(floats(&run["start"]), dims), &device);
        let out = pollster::block_on(apgd_from(
            &model,
            images.clone(),
            &labels,
            &threat,
            &config,
            start,
            |_| true,
        ))
        .unwrap();
        let fooled: Vec<bool> = run["fooled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        let ours: Vec<bool> = out.samples.iter().map(|s| s.success).collect();
        if ours != fooled {
            failures.push(format!("{name}: fooled {ours:?} vs {fooled:?}"));
        }
        let predicted: Vec<usize> = out.samples.iter().map(|s| s.predicted).collect();
        let want_predicted: Vec<usize> = run["predicted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        if predicted != want_predicted {
            failures.push(format!(
                "{name}: predicted {predicted:?} vs {want_predicted:?}"
            ));
        }

        // An image never fooled returns its highest-loss point, so its loss is the best loss.
        // Along L2 steps every image must agree; along L∞ steps (signs) at least half, and the
        // rest are reported (a rounding-level gradient took the other sign and the two
        // trajectories parted).
        let best = floats(&run["loss_best"]);
        let size = dims[1] * dims[2] * dims[3];
        let got = values(out.adversarial);
        let want = floats(&run["adversarial"]);
        let (mut agree, mut unfooled, mut far, mut compared) = (0usize, 0usize, 0usize, 0usize);
        for (i, s) in out.samples.iter().enumerate().filter(|(_, s)| !s.success) {
            unfooled += 1;
            let same = (s.final_loss - best[i]).abs() <= 1e-4 * (1.0 + best[i].abs());
            println!(
                "{name} image {i}: best loss {} vs torchattacks' {}{}",
                s.final_loss,
                best[i],
                if same { "" } else { " (parted)" }
            );
            if same {
                agree += 1;
                let pixels = i * size..(i + 1) * size;
                compared += size;
                far += got[pixels.clone()]
                    .iter()
                    .zip(&want[pixels])
                    .filter(|(a, b)| (*a - *b).abs() > 1e-5)
                    .count();
            }
        }
        let needed = if norm == Norm::L2 {
            unfooled
        } else {
            unfooled.div_ceil(2)
        };
        if agree < needed {
            failures.push(format!(
                "{name}: {agree} of {unfooled} unfooled images agree"
            ));
        }
        println!(
            "{name}: {far} of {compared} pixels of the agreeing images differ by more than 1e-5"
        );
        if far * 50 > compared {
            failures.push(format!("{name}: {far} of {compared} pixels differ"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
