//! The spec's residual blocks and grouped convolutions compute what PyTorch's do: a block adds its
//! input back, a grouped convolution is one convolution per group; and malformed specs are refused
//! with the layer named.

use burn::tensor::{Device, Tensor, TensorData};
use perturb::model::{Classifier, ModelSpec, Sequential, WeightMap};
use perturb::runtime::rng::SplitMix64;

fn images(seed: u64, shape: [usize; 4], device: &Device) -> Tensor<4> {
    let mut rng = SplitMix64::new(seed);
    let values: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.next_f32())
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn max_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    (a - b).abs().max().into_scalar()
}

fn model(json: &str, weights: WeightMap, device: &Device) -> Sequential {
    Sequential::from_weights(ModelSpec::from_json(json).unwrap(), weights, device).unwrap()
}

#[test]
fn a_residual_block_adds_its_input_back() {
    let device = crate::common::device();
    let conv = r#"{"type": "conv2d", "name": "c", "in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": 1}"#;
    let plain = format!(r#"{{"input": [2, 5, 5], "layers": [{conv}, {{"type": "flatten"}}]}}"#);
    let block = format!(
        r#"{{"input": [2, 5, 5], "layers": [{{"type": "skip"}}, {conv}, {{"type": "add_skip"}}, {{"type": "flatten"}}]}}"#
    );
    let spec = ModelSpec::from_json(&plain).unwrap();
    let weights = Sequential::random_weights(&spec, 4).unwrap();
    let x = images(1, [3, 2, 5, 5], &device);
    let want = model(&plain, weights.clone(), &device).logits(x.clone()) + x.clone().flatten(1, 3);
    let got = model(&block, weights, &device).logits(x);
    assert!(max_diff(got, want) < 1e-6);
}

#[test]
fn a_grouped_convolution_is_one_convolution_per_group() {
    let device = crate::common::device();
    let grouped = r#"{"input": [2, 6, 6], "layers": [{"type": "conv2d", "name": "c", "in_channels": 2,
        "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 2}, {"type": "flatten"}]}"#;
    let single = r#"{"input": [1, 6, 6], "layers": [{"type": "conv2d", "name": "c", "in_channels": 1,
        "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1}, {"type": "flatten"}]}"#;
    let weights = Sequential::random_weights(&ModelSpec::from_json(grouped).unwrap(), 9).unwrap();
    let (w_shape, w) = &weights["c.weight"];
    assert_eq!(
        w_shape,
        &vec![4, 1, 3, 3],
        "PyTorch's layout: [out, in / groups, k, k]"
    );
    let (_, b) = &weights["c.bias"];
    let x = images(2, [2, 2, 6, 6], &device);
    let got = model(grouped, weights.clone(), &device).logits(x.clone());
    // Group g sees input channel g and owns output channels 2g and 2g + 1.
    let per_group: Vec<Tensor<2>> = (0..2)
        .map(|g| {
            let mut part = WeightMap::new();
            part.insert(
                "c.weight".into(),
                (vec![2, 1, 3, 3], w[g * 18..(g + 1) * 18].to_vec()),
            );
            part.insert("c.bias".into(), (vec![2], b[g * 2..(g + 1) * 2].to_vec()));
            model(single, part, &device).logits(x.clone().narrow(1, g, 1))
        })
        .collect();
    let want = Tensor::cat(per_group, 1);
    assert!(max_diff(got, want) < 1e-6);
}

#[test]
fn the_new_zoo_families_chain() {
    for (arch, params) in [("resnet-small", 16_000), ("mobilenet-small", 9_000)] {
        let spec = ModelSpec::named(arch).unwrap();
        assert_eq!(spec.classes().unwrap(), 10);
        let weights = Sequential::random_weights(&spec, 1).unwrap();
        let count: usize = weights.values().map(|(_, v)| v.len()).sum();
        assert!(
            count > params / 2 && count < params * 2,
            "{arch}: {count} parameters"
        );
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            ModelSpec::from_json(&json).unwrap(),
            spec,
            "{arch} round-trips"
        );
    }
    // A plain conv keeps its JSON free of `groups`, so older specs and cards read the same.
    let json = serde_json::to_string(&ModelSpec::small_cnn()).unwrap();
    assert!(!json.contains("groups"));
}

#[test]
fn malformed_blocks_and_groups_are_refused_with_the_layer_named() {
    let cases = [
        (
            r#"[{"type": "skip"}, {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
                {"type": "add_skip"}, {"type": "flatten"}]"#,
            "layer 2",
        ),
        (
            r#"[{"type": "add_skip"}, {"type": "flatten"}]"#,
            "without a skip",
        ),
        (
            r#"[{"type": "skip"}, {"type": "flatten"}]"#,
            "layer 0: skip without",
        ),
        (
            r#"[{"type": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": 1, "groups": 2},
                {"type": "flatten"}]"#,
            "groups",
        ),
    ];
    for (layers, want) in cases {
        let json = format!(r#"{{"input": [1, 4, 4], "layers": {layers}}}"#);
        let err = ModelSpec::from_json(&json).unwrap_err().to_string();
        assert!(err.contains(want), "{json}: {err}");
    }
}

/// The depthwise-separable net of the soundness tests' shape, with every grouped convolution
/// either grouped or expanded to the equivalent dense one (zero weights across groups).
fn depthwise_pair(device: &Device) -> (Sequential, Sequential) {
    let layers = |g1: usize, g2: usize| {
        format!(
            r#"{{"input": [1, 6, 6], "layers": [
            {{"type": "conv2d", "name": "a", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1}},
            {{"type": "relu"}},
            {{"type": "conv2d", "name": "b", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1, "groups": {g1}}},
            {{"type": "relu"}},
            {{"type": "conv2d", "name": "c", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "groups": {g2}}},
            {{"type": "relu"}}, {{"type": "flatten"}},
            {{"type": "linear", "name": "d", "in_features": 54, "out_features": 4}}]}}"#
        )
    };
    let grouped_spec = ModelSpec::from_json(&layers(4, 2)).unwrap();
    let weights = Sequential::random_weights(&grouped_spec, 5).unwrap();
    let mut dense = weights.clone();
    for (name, groups, cin, cout) in [("b", 4, 4, 4), ("c", 2, 4, 6)] {
        let (_, w) = &weights[&format!("{name}.weight")];
        let (per_in, per_out) = (cin / groups, cout / groups);
        let mut full = vec![0.0; cout * cin * 9];
        for o in 0..cout {
            let g = o / per_out;
            for i in 0..per_in {
                for k in 0..9 {
                    full[(o * cin + g * per_in + i) * 9 + k] = w[(o * per_in + i) * 9 + k];
                }
            }
        }
        dense.insert(format!("{name}.weight"), (vec![cout, cin, 3, 3], full));
    }
    (
        Sequential::from_weights(grouped_spec, weights, device).unwrap(),
        model(&layers(1, 1), dense, device),
    )
}

#[test]
fn crown_through_a_grouped_convolution_equals_crown_through_its_dense_form() {
    use perturb::certify::{CrownConfig, crown_logit_bounds, input_box, logit_bounds};
    let device = crate::common::device();
    let (grouped, dense) = depthwise_pair(&device);
    let x = images(3, [3, 1, 6, 6], &device);
    assert!(max_diff(grouped.logits(x.clone()), dense.logits(x.clone())) < 1e-5);
    let input = input_box(x, 0.05, (0.0, 1.0)).unwrap();
    let (gl, gu) = crown_logit_bounds(&grouped, input.clone(), &CrownConfig::default()).unwrap();
    let (dl, du) = crown_logit_bounds(&dense, input.clone(), &CrownConfig::default()).unwrap();
    assert!(max_diff(gl.clone(), dl) < 1e-4 && max_diff(gu.clone(), du) < 1e-4);
    // And CROWN is at least as tight as IBP here.
    let (il, iu) = logit_bounds(&grouped, input);
    let looser: f32 = (il - gl).clamp_min(0.0).max().into_scalar();
    let looser_up: f32 = (gu - iu).clamp_min(0.0).max().into_scalar();
    assert!(looser < 1e-4 && looser_up < 1e-4, "{looser} {looser_up}");
}
