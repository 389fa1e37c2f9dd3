//! The zoo's registry agrees with the files in `models/`: every entry has weights that load into
//! its architecture and a card that parses, names the same architecture and dataset, and whose
//! checksum and size are those of the weights file.

use perturb::zoo::{ModelCard, ZOO};
use sha2::Digest;

fn models_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

#[test]
fn every_zoo_model_has_matching_weights_and_card() {
    let device = crate::common::device();
    for entry in ZOO {
        let dir = models_dir();
        let card_text = std::fs::read_to_string(dir.join(entry.card_file())).unwrap();
        let card = ModelCard::from_json(&card_text).unwrap_or_else(|e| panic!("{}: {e}", entry.id));
        assert_eq!(card.name, entry.id);
        assert_eq!(card.architecture, entry.arch, "{}", entry.id);
        assert_eq!(card.dataset, entry.dataset, "{}", entry.id);
        assert_eq!(card.spec, entry.spec().unwrap(), "{}", entry.id);
        assert_eq!(card.weights_file, entry.weights_file());
        let bytes = std::fs::read(dir.join(&card.weights_file)).unwrap();
        assert_eq!(bytes.len(), card.weights_bytes, "{}", entry.id);
        let sha: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            sha, card.weights_sha256,
            "{}: weights differ from the card",
            entry.id
        );
        entry
            .load_from_dir(&dir, &device)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.id));
        // A card written back is the card read.
        assert_eq!(ModelCard::from_json(&card.to_json()).unwrap(), card);
    }
    if let Some(bytes) = ZOO[0].embedded_weights() {
        assert_eq!(
            bytes,
            std::fs::read(models_dir().join(ZOO[0].weights_file())).unwrap()
        );
    }
}

/// Every deterministic figure a card publishes — clean accuracy on the full test split, and the
/// IBP-verified accuracy at its ε — recomputed here on the fetched data (in the cards' batches of
/// 250) and equal to the card's to the image. The PGD-robust figures are stochastic and costly;
/// models/README.md names them as measured once by `scripts/zoo-report.sh`.
#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn every_card_figure_is_what_the_full_test_split_gives() {
    use perturb::certify::{input_box, verified};
    use perturb::data::{Dataset, DatasetKind, Split};
    use perturb::model::Classifier;

    let device = crate::common::device();
    let dir = crate::common::data_dir();
    let mut checked = 0;
    for entry in ZOO {
        if !DatasetKind::SHIPPED.contains(&entry.dataset) {
            continue;
        }
        let card = ModelCard::from_json(
            &std::fs::read_to_string(models_dir().join(entry.card_file())).unwrap(),
        )
        .unwrap();
        let test = Dataset::load_dir(entry.dataset, Split::Test, &dir).unwrap();
        assert_eq!(card.metrics.images, test.len(), "{}", entry.id);
        let model = entry.load_from_dir(&models_dir(), &device).unwrap();
        let (mut clean, mut proved) = (0usize, 0usize);
        for start in (0..test.len()).step_by(250) {
            let indices: Vec<usize> = (start..(start + 250).min(test.len())).collect();
            let (images, labels) = test.batch(&indices, &device).unwrap();
            let hits = model
                .logits(images.clone())
                .argmax(1)
                .flatten::<1>(0, 1)
                .equal(labels.clone());
            clean += crate::common::values(hits.float())
                .iter()
                .filter(|&&v| v > 0.5)
                .count();
            if let (Some(eps), Some(_)) = (card.metrics.epsilon, card.metrics.verified_accuracy) {
                let input = input_box(images, eps, (0.0, 1.0)).unwrap();
                proved += crate::common::values(verified(&model, input, labels).float())
                    .iter()
                    .filter(|&&v| v > 0.5)
                    .count();
            }
        }
        let count = |fraction: f64| (fraction * test.len() as f64).round() as usize;
        assert_eq!(
            clean,
            count(card.metrics.clean_accuracy),
            "{}: clean accuracy",
            entry.id
        );
        if let Some(v) = card.metrics.verified_accuracy {
            assert_eq!(proved, count(v), "{}: IBP-verified accuracy", entry.id);
        }
        checked += 1;
    }
    assert!(checked >= 14, "{checked} cards checked");
}
