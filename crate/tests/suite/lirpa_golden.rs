//! Agreement with auto_LiRPA 0.3 (the reference for bound propagation): the logit bounds in
//! `tests/golden/auto_lirpa.json` come from `tests/golden/gen_auto_lirpa.py` (run by hand, torch
//! 2.5.1). IBP must match on every net (a residual one with nested identity shortcuts and a
//! depthwise-separable one among them), the default model included; CROWN must match on the nets
//! without max pooling, whose relaxation is not standardised between tools, and without grouped
//! convolutions, on which auto_LiRPA 0.3's CROWN fails; CROWN-IBP (interval intermediate bounds)
//! must match on those and on the residual net. Full CROWN on the residual net is not compared:
//! its intermediate bounds differ between the tools by up to 1e-3 (see the generator). A bound counts as
//! equal within 1e-5 of max(1, |bound|): both sides compute in f32 with different summation orders
//! (measured worst: 3.5e-6, IBP on the default model at ε = 0.02; the CROWN cases agree closer).

use burn::tensor::{Device, Tensor, TensorData};
use perturb::certify::{
    CrownConfig, IntermediateBounds, crown_logit_bounds, input_box, logit_bounds,
};
use perturb::model::{Classifier, ModelSpec, Sequential, WeightMap};
use serde::Deserialize;

const GOLDEN: &str = include_str!("../../../tests/golden/auto_lirpa.json");

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Weight {
    shape: Vec<usize>,
    values: Vec<f32>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// `None` for the shipped default model.
    spec: Option<serde_json::Value>,
    weights: Option<std::collections::BTreeMap<String, Weight>>,
    images: Vec<f32>,
    shape: [usize; 4],
    eps: f32,
    logits: Vec<f32>,
    ibp_lower: Vec<f32>,
    ibp_upper: Vec<f32>,
    crown_lower: Option<Vec<f32>>,
    crown_upper: Option<Vec<f32>>,
    crown_ibp_lower: Option<Vec<f32>>,
    crown_ibp_upper: Option<Vec<f32>>,
}

fn model(case: &Case, device: &Device) -> Sequential {
    match (&case.spec, &case.weights) {
        (Some(spec), Some(weights)) => {
            let spec = ModelSpec::from_json(&spec.to_string()).unwrap();
            let weights: WeightMap = weights
                .iter()
                .map(|(k, w)| (k.clone(), (w.shape.clone(), w.values.clone())))
                .collect();
            Sequential::from_weights(spec, weights, device).unwrap()
        }
        _ => perturb::zoo::default_model(device).unwrap(),
    }
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// The largest difference, relative to max(1, |want|), with its index.
fn worst(got: &[f32], want: &[f32]) -> (f32, usize) {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .enumerate()
        .fold(
            (0.0, 0),
            |(m, i), (j, d)| if d > m { (d, j) } else { (m, i) },
        )
}

fn check(what: &str, case: &Case, got: Tensor<2>, want: &[f32]) {
    let got = values(got);
    let (diff, at) = worst(&got, want);
    assert!(
        diff <= 1e-5,
        "{what}, {}: {} vs auto_LiRPA {} at {at} (relative difference {diff:e})",
        case.name,
        got[at],
        want[at]
    );
}

#[test]
fn bounds_equal_auto_lirpa() {
    let golden: Golden = serde_json::from_str(GOLDEN).unwrap();
    let device = crate::common::device();
    let (mut crown_cases, mut crown_ibp_cases) = (0, 0);
    for case in &golden.cases {
        let model = model(case, &device);
        let images =
            Tensor::<4>::from_data(TensorData::new(case.images.clone(), case.shape), &device);
        // The weights were read as PyTorch has them.
        check("logits", case, model.logits(images.clone()), &case.logits);
        let input = input_box(images, case.eps, (0.0, 1.0)).unwrap();
        let (lower, upper) = logit_bounds(&model, input.clone());
        check("IBP lower", case, lower, &case.ibp_lower);
        check("IBP upper", case, upper, &case.ibp_upper);
        if let (Some(want_lower), Some(want_upper)) = (&case.crown_ibp_lower, &case.crown_ibp_upper)
        {
            let config = CrownConfig {
                intermediate: IntermediateBounds::Ibp,
                ..CrownConfig::default()
            };
            let (lower, upper) = crown_logit_bounds(&model, input.clone(), &config).unwrap();
            check("CROWN-IBP lower", case, lower, want_lower);
            check("CROWN-IBP upper", case, upper, want_upper);
            crown_ibp_cases += 1;
        }
        if let (Some(want_lower), Some(want_upper)) = (&case.crown_lower, &case.crown_upper) {
            let (lower, upper) =
                crown_logit_bounds(&model, input.clone(), &CrownConfig::default()).unwrap();
            check("CROWN lower", case, lower, want_lower);
            check("CROWN upper", case, upper, want_upper);
            crown_cases += 1;
        }
    }
    assert_eq!(golden.cases.len(), 12);
    assert_eq!(crown_cases, 4);
    assert_eq!(crown_ibp_cases, 6);
}
