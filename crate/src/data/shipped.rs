//! The first 1,000 test images of MNIST and Fashion-MNIST, compiled into the binary (Fashion-MNIST
//! only with the `fashion-subset` feature, on by default).

use super::{Dataset, DatasetKind};
use crate::error::Result;

/// How many test images are shipped per dataset.
pub const SHIPPED_LEN: usize = 1000;

/// The files of the Fashion-MNIST subset under `crate/assets/` (images, labels), for a build
/// that fetches them instead of compiling them in.
pub const FASHION_SUBSET_FILES: [&str; 2] = [
    "fashion-mnist-test-1k-images-idx3-ubyte.gz",
    "fashion-mnist-test-1k-labels-idx1-ubyte.gz",
];

/// The shipped test subset of `kind` (gzip IDX under `crate/assets/`, made by
/// `cargo xtask subset`).
pub fn shipped_test_subset(kind: DatasetKind) -> Result<Dataset> {
    let (images, labels): (&[u8], &[u8]) = match kind {
        DatasetKind::Mnist => (
            include_bytes!("../../assets/mnist-test-1k-images-idx3-ubyte.gz"),
            include_bytes!("../../assets/mnist-test-1k-labels-idx1-ubyte.gz"),
        ),
        #[cfg(feature = "fashion-subset")]
        DatasetKind::FashionMnist => (
            include_bytes!("../../assets/fashion-mnist-test-1k-images-idx3-ubyte.gz"),
            include_bytes!("../../assets/fashion-mnist-test-1k-labels-idx1-ubyte.gz"),
        ),
        #[cfg(not(feature = "fashion-subset"))]
        DatasetKind::FashionMnist => {
            return Err(crate::error::Error::InvalidArgument(format!(
                "this build leaves out the Fashion-MNIST subset (feature `fashion-subset`); read \
                 {FASHION_SUBSET_FILES:?} from crate/assets with Dataset::from_idx"
            )));
        }
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
    #[cfg(feature = "fashion-subset")]
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
