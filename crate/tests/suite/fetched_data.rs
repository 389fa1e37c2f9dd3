//! The full datasets fetched by `scripts/fetch-data.sh` load with their published sizes, and the
//! shipped subsets are exactly their first 1,000 test images.

use perturb::data::{Dataset, DatasetKind, SHIPPED_LEN, Split, shipped_test_subset};

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn full_splits_have_published_sizes_and_shipped_subsets_match() {
    let dir = crate::common::data_dir();
    for kind in DatasetKind::SHIPPED {
        let train = Dataset::load_dir(kind, Split::Train, &dir).unwrap();
        assert_eq!(train.len(), 60_000);
        let test = Dataset::load_dir(kind, Split::Test, &dir).unwrap();
        assert_eq!(test.len(), 10_000);
        assert_eq!(shipped_test_subset(kind).unwrap(), test.take(SHIPPED_LEN));
        let classes: std::collections::BTreeSet<u16> = test.labels().iter().copied().collect();
        assert_eq!(classes.len(), 10);
    }
}
