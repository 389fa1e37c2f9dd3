//! Every parser of untrusted bytes, fed seeded mutations of a valid file (bytes flipped, cut,
//! inserted, and 4- and 8-byte windows overwritten with lengths that claim far more than the
//! file holds): each returns a value or an error and never panics; headers that claim terabytes
//! fail fast, without allocating what they claim. Weights in half precision read exactly, and
//! non-finite weights are refused.

use std::panic::{AssertUnwindSafe, catch_unwind};

use perturb::data::{Dataset, DatasetKind, decode, shipped_test_subset};
use perturb::model::{
    ModelSpec, Sequential, read_safetensors, read_weights_file, write_safetensors,
};
use perturb::runtime::rng::SplitMix64;

/// `count` seeded mutations of `valid`.
fn mutations(valid: &[u8], seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64::new(seed);
    let huge: [u64; 4] = [u64::MAX, 1 << 40, u64::from(u32::MAX), 1 << 31];
    (0..count)
        .map(|k| {
            let mut bytes = valid.to_vec();
            let at = |rng: &mut SplitMix64, len: usize| rng.below(len.max(1));
            match k % 5 {
                0 => {
                    for _ in 0..1 + rng.below(8) {
                        let i = at(&mut rng, bytes.len());
                        if let Some(b) = bytes.get_mut(i) {
                            *b ^= 1 << rng.below(8);
                        }
                    }
                }
                1 => bytes.truncate(at(&mut rng, bytes.len())),
                2 => {
                    let i = at(&mut rng, bytes.len());
                    let extra: Vec<u8> = (0..1 + rng.below(16))
                        .map(|_| rng.next_u64() as u8)
                        .collect();
                    bytes.splice(i..i, extra);
                }
                3 => {
                    // A little-endian 8-byte length (SafeTensors, pickles, zip).
                    let value = huge[rng.below(4)].to_le_bytes();
                    let i = at(&mut rng, bytes.len().saturating_sub(8));
                    let end = (i + 8).min(bytes.len());
                    bytes[i..end].copy_from_slice(&value[..end - i]);
                }
                _ => {
                    // A big-endian 4-byte count (IDX, PNG).
                    let value = (huge[rng.below(4)] as u32).to_be_bytes();
                    let i = at(&mut rng, bytes.len().saturating_sub(4));
                    let end = (i + 4).min(bytes.len());
                    bytes[i..end].copy_from_slice(&value[..end - i]);
                }
            }
            bytes
        })
        .collect()
}

/// Run `parse` on every input; fail naming the inputs that panicked.
fn never_panics(what: &str, inputs: &[Vec<u8>], parse: impl Fn(&[u8])) {
    let panicked: Vec<usize> = inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| catch_unwind(AssertUnwindSafe(|| parse(input))).is_err())
        .map(|(i, _)| i)
        .collect();
    assert!(
        panicked.is_empty(),
        "{what}: mutations {panicked:?} of {} panicked",
        inputs.len()
    );
}

#[test]
fn safetensors_never_panic_and_a_terabyte_header_fails_fast() {
    let spec = ModelSpec::small_cnn();
    let valid = write_safetensors(&Sequential::random_weights(&spec, 1).unwrap()).unwrap();
    never_panics("SafeTensors", &mutations(&valid, 1, 400), |b| {
        let _ = read_safetensors(b);
    });
    for claimed in [1u64 << 40, u64::MAX, valid.len() as u64] {
        let mut bytes = valid.clone();
        bytes[..8].copy_from_slice(&claimed.to_le_bytes());
        let started = std::time::Instant::now();
        let err = read_safetensors(&bytes).unwrap_err().to_string();
        assert!(err.contains("not a SafeTensors file"), "{claimed}: {err}");
        assert!(started.elapsed().as_secs() < 1);
    }
}

#[test]
fn pytorch_files_never_panic() {
    let dir = std::env::temp_dir().join(format!("perturb-fuzz-pth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (n, name) in ["tiny.pth", "tiny-legacy.pth"].into_iter().enumerate() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/golden/pth")
            .join(name);
        let valid = std::fs::read(fixture).unwrap();
        let path = dir.join(name);
        never_panics(name, &mutations(&valid, 10 + n as u64, 200), |b| {
            std::fs::write(&path, b).unwrap();
            let _ = read_weights_file(&path);
        });
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn layer_specs_never_panic() {
    let valid = serde_json::to_vec(&ModelSpec::small_cnn()).unwrap();
    never_panics("layer spec", &mutations(&valid, 3, 400), |b| {
        let _ = ModelSpec::from_json(&String::from_utf8_lossy(b));
    });
}

/// 28×28 `data` as raw IDX image and label files: a big-endian magic and dimensions, then the
/// bytes.
fn raw_idx(data: &Dataset) -> (Vec<u8>, Vec<u8>) {
    let count = data.len() as u32;
    let mut images = Vec::new();
    for v in [0x803u32, count, 28, 28] {
        images.extend_from_slice(&v.to_be_bytes());
    }
    images.extend_from_slice(data.pixels());
    let mut labels = Vec::new();
    for v in [0x801u32, count] {
        labels.extend_from_slice(&v.to_be_bytes());
    }
    labels.extend(data.labels().iter().map(|&l| l as u8));
    (images, labels)
}

#[test]
fn idx_and_csv_never_panic_and_implausible_counts_are_refused() {
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap().take(20);
    let (images, labels) = data.to_idx_gz().unwrap();
    let (images_raw, labels_raw) = raw_idx(&data);
    assert_eq!(
        Dataset::from_idx(DatasetKind::Mnist, &images_raw, &labels_raw).unwrap(),
        data
    );
    never_panics("IDX images", &mutations(&images_raw, 4, 300), |b| {
        let _ = Dataset::from_idx(DatasetKind::Mnist, b, &labels_raw);
    });
    never_panics("IDX labels", &mutations(&labels_raw, 5, 300), |b| {
        let _ = Dataset::from_idx(DatasetKind::Mnist, &images_raw, b);
    });
    never_panics("gzip IDX", &mutations(&images, 6, 200), |b| {
        let _ = Dataset::from_idx(DatasetKind::Mnist, b, &labels);
    });
    // 2³¹ images of 28×28 claimed by a 16-byte header.
    let mut claim = images_raw[..16].to_vec();
    claim[4..8].copy_from_slice(&(1u32 << 31).to_be_bytes());
    let err = Dataset::from_idx(DatasetKind::Mnist, &claim, &labels_raw)
        .unwrap_err()
        .to_string();
    assert!(err.contains("implausible size"), "{err}");

    let mut csv = String::new();
    for i in 0..5 {
        csv += &data.labels()[i].to_string();
        for p in data.image_bytes(i) {
            csv += &format!(",{p}");
        }
        csv += "\n";
    }
    assert_eq!(
        Dataset::from_csv(DatasetKind::Mnist, &csv).unwrap().len(),
        5
    );
    never_panics("CSV", &mutations(csv.as_bytes(), 7, 300), |b| {
        let _ = Dataset::from_csv(DatasetKind::Mnist, &String::from_utf8_lossy(b));
    });
}

/// `bytes` gzip-compressed, then `zeros` more zero bytes in the same stream.
fn gzip_with_zeros(bytes: &[u8], zeros: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn gzip_bombs_behind_small_idx_headers_are_refused_at_the_header_size() {
    // A valid 20-image file (15,696 bytes) followed by 256 MiB of zeros in one gzip stream, about
    // 250 kB on disk: inflated no further than the header describes, plus one byte.
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap().take(20);
    let (images, labels) = raw_idx(&data);
    let (images_gz, labels_gz) = (gzip_with_zeros(&images, 0), gzip_with_zeros(&labels, 0));
    assert_eq!(
        Dataset::from_idx(DatasetKind::Mnist, &images_gz, &labels_gz).unwrap(),
        data
    );
    let bomb = gzip_with_zeros(&images, 256 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let err = Dataset::from_idx(DatasetKind::Mnist, &bomb, &labels_gz)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("inflates past the 15696 bytes its header describes"),
        "{err}"
    );
    let bomb = gzip_with_zeros(&labels, 64 << 20);
    let err = Dataset::from_idx(DatasetKind::Mnist, &images_gz, &bomb)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("inflates past the 28 bytes its header describes"),
        "{err}"
    );
}

#[test]
fn images_never_panic_and_a_huge_canvas_is_refused() {
    let mut png = Vec::new();
    image::RgbImage::from_fn(16, 12, |x, y| {
        image::Rgb([(x * 15) as u8, (y * 20) as u8, 99])
    })
    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
    .unwrap();
    assert_eq!(decode(&png).unwrap().width, 16);
    never_panics("PNG", &mutations(&png, 8, 300), |b| {
        let _ = decode(b);
    });
    // The IHDR chunk's width and height (bytes 16..24) claim 100,000 × 100,000 pixels.
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(decode(&huge).is_err());
    never_panics("text", &[b"not an image".to_vec(), Vec::new()], |b| {
        assert!(decode(b).is_err());
    });
}

/// A SafeTensors file holding one tensor `w` of `dtype` with the given raw little-endian bytes.
fn safetensors_of(dtype: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let header = format!(
        r#"{{"w":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn half_precision_weights_read_exactly_and_non_finite_weights_are_refused() {
    // 1.0, −2.5 and 0.15625 are exact in both half formats.
    let f16: Vec<u8> = [0x3c00u16, 0xc100, 0x3100]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bf16: Vec<u8> = [0x3f80u16, 0xc020, 0x3e20]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for (dtype, data) in [("F16", &f16), ("BF16", &bf16)] {
        let weights = read_safetensors(&safetensors_of(dtype, &[3], data)).unwrap();
        assert_eq!(weights["w"], (vec![3], vec![1.0, -2.5, 0.15625]), "{dtype}");
    }
    let f32_nan: Vec<u8> = [1.0f32, f32::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let f16_inf: Vec<u8> = [0x3c00u16, 0x7c00]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bf16_neg_inf: Vec<u8> = [0xff80u16, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for (dtype, data) in [
        ("F32", &f32_nan),
        ("F16", &f16_inf),
        ("BF16", &bf16_neg_inf),
    ] {
        let err = read_safetensors(&safetensors_of(dtype, &[2], data))
            .unwrap_err()
            .to_string();
        assert!(err.contains("w holds a non-finite value"), "{dtype}: {err}");
    }
    let ints: Vec<u8> = [1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let err = read_safetensors(&safetensors_of("I32", &[2], &ints))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a float type"), "{err}");
}
