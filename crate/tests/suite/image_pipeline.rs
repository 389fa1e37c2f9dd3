//! Images prepared as torchvision prepares them (`tests/golden/gen_image_pipeline.py`): the
//! evaluation transform on synthetic PNGs (lossless, so only resampling and cropping are
//! compared) byte for byte; on the 20 ImageNet sample JPEGs, whose decoders differ (Pillow's
//! libjpeg-turbo, Perturb's zune-jpeg), the pixel differences at 2,000 shared positions are
//! held to the README's bounds (at most 2 levels, mean ≤ 0.3). Unreadable files are skipped
//! with a count or refused, never a panic.

use std::path::Path;

use perturb::data::{
    BadImages, DatasetKind, EvalTransform, ImageFolder, ImageSource, decode, decode_file,
};
use serde_json::Value;

const GOLDEN: &str = include_str!("../../../tests/golden/image_pipeline.json");

#[test]
fn synthetic_pngs_match_torchvision_byte_for_byte() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    for (i, case) in golden["synthetic"].as_array().unwrap().iter().enumerate() {
        let image = decode(&crate::common::base64(case["png_base64"].as_str().unwrap())).unwrap();
        let transform = EvalTransform {
            resize: case["resize"].as_u64().unwrap() as usize,
            crop: case["crop"].as_u64().unwrap() as usize,
        };
        let got = transform.prepare(&image).pixels;
        let want = crate::common::base64(case["expected_base64"].as_str().unwrap());
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert_eq!(got.len(), want.len(), "case {i}");
        assert_eq!(
            worst, 0,
            "case {i} ({}×{}): off by {worst}",
            image.width, image.height
        );
    }
}

#[test]
#[ignore = "needs the fetched data (scripts/fetch-data.sh)"]
fn sample_jpegs_are_within_a_decoder_difference_of_pil() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let positions: Vec<usize> = golden["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let dir = crate::common::data_dir().join("imagenet/samples");
    let transform = EvalTransform::for_side(224);
    let (mut worst, mut total, mut count, mut worst_mean) = (0u8, 0u64, 0u64, 0f64);
    for case in golden["jpeg"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let prepared = transform.prepare(&decode_file(&dir.join(file)).unwrap());
        for (k, &p) in positions.iter().enumerate() {
            let want = case["values"][k].as_u64().unwrap() as u8;
            let gap = prepared.pixels[p].abs_diff(want);
            worst = worst.max(gap);
            total += u64::from(gap);
            count += 1;
        }
        for c in 0..3 {
            let mean = prepared
                .pixels
                .iter()
                .skip(c)
                .step_by(3)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / (224.0 * 224.0);
            let want = case["channel_means"][c].as_f64().unwrap();
            worst_mean = worst_mean.max((mean - want).abs());
        }
    }
    let mean = total as f64 / count as f64;
    println!(
        "20 JPEGs vs PIL: pixel difference max {worst}, mean {mean:.3} (of 255); channel means \
         within {worst_mean:.3}"
    );
    // The README's figures: within 2 levels of 255, mean at most 0.3 (measured 0.196).
    assert!(worst <= 2, "largest pixel difference {worst} levels");
    assert!(mean <= 0.3, "mean pixel difference {mean}");
    assert!(worst_mean < 0.5, "channel means off by {worst_mean}");
}

#[test]
fn folders_skip_or_refuse_unreadable_files() {
    let root = std::env::temp_dir().join(format!("perturb-folder-{}", std::process::id()));
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let png = crate::common::base64(golden["synthetic"][0]["png_base64"].as_str().unwrap());
    // an ImageFolder tree named by WordNet ids, with a text file and a truncated PNG among them
    for (wnid, files) in [
        (
            "n01440764",
            vec![("a.png", png.clone()), ("notes.txt", b"hello".to_vec())],
        ),
        (
            "n03594945",
            vec![
                ("b.png", png.clone()),
                ("c.png", png[..png.len() / 2].to_vec()),
            ],
        ),
    ] {
        std::fs::create_dir_all(root.join("tree").join(wnid)).unwrap();
        for (name, bytes) in files {
            std::fs::write(root.join("tree").join(wnid).join(name), bytes).unwrap();
        }
    }
    let tree = root.join("tree");
    let transform = EvalTransform::for_side(32);
    let folder = ImageFolder::open(
        DatasetKind::ImageNet,
        &tree,
        None,
        transform,
        BadImages::Skip,
    )
    .unwrap();
    assert_eq!(folder.len(), 3);
    assert_eq!(folder.class_labels(), vec![0, 609, 609]); // tench, jeep
    assert_eq!(folder.skipped().len(), 1, "{:?}", folder.skipped()); // notes.txt
    let device = crate::common::device();
    let (x, y) = folder.batch(&[0, 1], &device).unwrap();
    assert_eq!(x.dims(), [2, 3, 32, 32]);
    assert_eq!(y.dims(), [2]);
    let err = folder.batch(&[2], &device).unwrap_err().to_string();
    assert!(err.contains("c.png"), "{err}");
    let err = ImageFolder::open(
        DatasetKind::ImageNet,
        &tree,
        None,
        transform,
        BadImages::Fail,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("notes.txt"), "{err}");
    // the truncated PNG passes the header probe; decoding it is an error naming the file
    std::fs::remove_file(tree.join("n01440764/notes.txt")).unwrap();
    let labels = root.join("labels.txt");
    std::fs::write(&labels, "b n03594945\nc 609\n").unwrap();
    let flat = ImageFolder::open(
        DatasetKind::ImageNet,
        &tree.join("n03594945"),
        Some(&labels),
        transform,
        BadImages::Skip,
    )
    .unwrap();
    assert_eq!(flat.class_labels(), vec![609, 609]);
    let err = flat.batch(&[0, 1], &device).unwrap_err().to_string();
    assert!(err.contains("c.png"), "{err}");
    // a non-image file handed to the decoder
    assert!(decode(b"GIF89a not really").is_err());
    assert!(decode_file(Path::new("/nonexistent.jpg")).is_err());
    std::fs::remove_dir_all(&root).ok();
}
