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
