//! The first 1,000 test images of MNIST and Fashion-MNIST, compiled into the binary.

use super::{Dataset, DatasetKind};
use crate::error::Result;

/// How many test images are shipped per dataset.
pub const SHIPPED_LEN: usize = 1000;

/// The shipped test subset of `kind` (gzip IDX under `crate/assets/`, made by
/// `cargo xtask subset`).
pub fn shipped_test_subset(kind: DatasetKind) -> Result<Dataset> {
    let (images, labels): (&[u8], &[u8]) = match kind {
        DatasetKind::Mnist => (
            include_bytes!("../../assets/mnist-test-1k-images-idx3-ubyte.gz"),
            include_bytes!("../../assets/mnist-test-1k-labels-idx1-ubyte.gz"),
        ),
        DatasetKind::FashionMnist => (
            include_bytes!("../../assets/fashion-mnist-test-1k-images-idx3-ubyte.gz"),
            include_bytes!("../../assets/fashion-mnist-test-1k-labels-idx1-ubyte.gz"),
        ),
        DatasetKind::ImageNet => {
            return Err(crate::error::Error::InvalidArgument(
                "no ImageNet images ship with the library; read a folder of them".into(),
            ));
        }
    };
    Dataset::from_idx(kind, images, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_subsets_decode_with_all_classes() {
        for kind in DatasetKind::SHIPPED {
            let d = shipped_test_subset(kind).unwrap();
            assert_eq!(d.len(), SHIPPED_LEN);
            assert_eq!(d.image_size(), (28, 28));
            for class in 0..10u16 {
                assert!(d.labels().contains(&class), "{kind:?} lacks class {class}");
            }
        }
    }
}
