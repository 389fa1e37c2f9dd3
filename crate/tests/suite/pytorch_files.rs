//! PyTorch checkpoints read directly (`tests/golden/gen_pth.py`): the zip format, the legacy
//! pickle stream and a wrapped float64 training checkpoint give PyTorch's logits; wrong names and
//! shapes, truncated and foreign files are errors that name the file or the tensor.

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use perturb::model::{ModelSpec, Sequential, read_weights_file};
use perturb::reference::closed_form_uniform;

const SPEC: &str = r#"{"input": [3, 8, 8], "layers": [
    {"type": "conv2d", "name": "features.0", "in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batch_norm", "name": "features.1", "num_features": 4}, {"type": "relu"},
    {"type": "adaptive_avg_pool2d", "output_size": [1, 1]}, {"type": "flatten"},
    {"type": "linear", "name": "classifier", "in_features": 4, "out_features": 3}]}"#;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden/pth")
        .join(name)
}

fn want_logits() -> Vec<f32> {
    let text = std::fs::read_to_string(fixture("tiny.json")).unwrap();
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    golden["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn every_checkpoint_format_gives_pytorchs_logits() {
    let device = crate::common::device();
    let images = closed_form_uniform("images", 2 * 3 * 8 * 8);
    let images = Tensor::<4>::from_data(TensorData::new(images, [2, 3, 8, 8]), &device);
    let want = want_logits();
    for file in ["tiny.pth", "tiny-legacy.pth", "tiny-wrapped.pth"] {
        let spec = ModelSpec::from_json(SPEC).unwrap();
        let model = Sequential::load_file(spec, &fixture(file), &device)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = crate::common::values(perturb::model::Classifier::logits(&model, images.clone()));
        let gap = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(gap < 1e-5, "{file}: logits off by {gap}");
    }
    // batch norm's integer `num_batches_tracked` is left out, not refused
    let weights = read_weights_file(&fixture("tiny-legacy.pth")).unwrap();
    assert!(weights.contains_key("features.1.running_var"));
    assert!(!weights.keys().any(|k| k.ends_with("num_batches_tracked")));
}

#[test]
fn mismatched_truncated_and_foreign_files_are_clear_errors() {
    let device = crate::common::device();
    // a spec whose conv has 5 outputs: the error names the tensor and both shapes
    let wider = SPEC
        .replace(r#""out_channels": 4"#, r#""out_channels": 5"#)
        .replace(r#""num_features": 4"#, r#""num_features": 5"#)
        .replace(r#""in_features": 4"#, r#""in_features": 5"#);
    let spec = ModelSpec::from_json(&wider).unwrap();
    let err = Sequential::load_file(spec, &fixture("tiny.pth"), &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("features.0.weight"), "{err}");
    // a spec naming a tensor the file lacks
    let renamed = SPEC.replace("\"classifier\"", "\"fc\"");
    let spec = ModelSpec::from_json(&renamed).unwrap();
    let err = Sequential::load_file(spec, &fixture("tiny.pth"), &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fc.weight"), "{err}");

    let dir = std::env::temp_dir().join(format!("perturb-pth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for source in ["tiny.pth", "tiny-legacy.pth"] {
        let bytes = std::fs::read(fixture(source)).unwrap();
        for cut in [bytes.len() / 3, bytes.len() - 10] {
            let path = dir.join(format!("cut-{cut}-{source}"));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let spec = ModelSpec::from_json(SPEC).unwrap();
            let err = Sequential::load_file(spec, &path, &device)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&path.display().to_string()),
                "{source} cut at {cut}: {err}"
            );
        }
    }
    let junk = dir.join("photo.pth");
    std::fs::write(&junk, b"\xff\xd8\xff\xe0 not a checkpoint at all").unwrap();
    let err = read_weights_file(&junk).unwrap_err().to_string();
    assert!(err.contains("photo.pth"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
