//! The full datasets fetched by `scripts/fetch-data.sh` load with their published sizes, and the
//! shipped subsets are exactly their first 1,000 test images.

use std::path::PathBuf;

use perturb::data::{Dataset, DatasetKind, SHIPPED_LEN, Split, shipped_test_subset};

/// The data folder, or `None` when it was not fetched and the environment does not demand it.
fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data");
    if dir.join("mnist").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("PERTURB_REQUIRE_DATA").is_none(),
        "PERTURB_REQUIRE_DATA is set but {} is missing: run scripts/fetch-data.sh",
        dir.display()
    );
    eprintln!("skipping: {} not fetched", dir.display());
    None
}

#[test]
fn full_splits_have_published_sizes_and_shipped_subsets_match() {
    let Some(dir) = data_dir() else { return };
    for kind in DatasetKind::ALL {
        let train = Dataset::load_dir(kind, Split::Train, &dir).unwrap();
        assert_eq!(train.len(), 60_000);
        let test = Dataset::load_dir(kind, Split::Test, &dir).unwrap();
        assert_eq!(test.len(), 10_000);
        assert_eq!(shipped_test_subset(kind).unwrap(), test.take(SHIPPED_LEN));
        let classes: std::collections::BTreeSet<u8> = test.labels().iter().copied().collect();
        assert_eq!(classes.len(), 10);
    }
}
