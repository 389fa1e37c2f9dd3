//! The first 1,000 test images of MNIST and Fashion-MNIST, compiled into the binary with the
//! `mnist-subset` and `fashion-subset` features (both on by default). The page leaves both out and
//! fetches the same files ([`subset_files`]) beside itself.

use super::{Dataset, DatasetKind};
use crate::error::{Error, Result};

/// How many test images are shipped per dataset.
pub const SHIPPED_LEN: usize = 1000;

/// The files of `kind`'s shipped subset under `crate/assets/` (images, labels: gzip IDX), for a
/// build that fetches them instead of compiling them in; `None` for ImageNet.
pub fn subset_files(kind: DatasetKind) -> Option<[&'static str; 2]> {
    match kind {
        DatasetKind::Mnist => Some([
            "mnist-test-1k-images-idx3-ubyte.gz",
            "mnist-test-1k-labels-idx1-ubyte.gz",
        ]),
        DatasetKind::FashionMnist => Some([
            "fashion-mnist-test-1k-images-idx3-ubyte.gz",
            "fashion-mnist-test-1k-labels-idx1-ubyte.gz",
        ]),
        DatasetKind::ImageNet => None,
    }
}

/// The shipped test subset of `kind` (gzip IDX under `crate/assets/`, made by
/// `cargo xtask subset`).
pub fn shipped_test_subset(kind: DatasetKind) -> Result<Dataset> {
    let (images, labels) = compiled_in(kind)?;
    Dataset::from_idx(kind, images, labels)
}

/// The bytes of `kind`'s subset in this build: images and labels.
fn compiled_in(kind: DatasetKind) -> Result<(&'static [u8], &'static [u8])> {
    match kind {
        #[cfg(feature = "mnist-subset")]
        DatasetKind::Mnist => Ok((
            include_bytes!("../../assets/mnist-test-1k-images-idx3-ubyte.gz"),
            include_bytes!("../../assets/mnist-test-1k-labels-idx1-ubyte.gz"),
        )),
        #[cfg(feature = "fashion-subset")]
        DatasetKind::FashionMnist => Ok((
            include_bytes!("../../assets/fashion-mnist-test-1k-images-idx3-ubyte.gz"),
            include_bytes!("../../assets/fashion-mnist-test-1k-labels-idx1-ubyte.gz"),
        )),
        DatasetKind::ImageNet => Err(Error::InvalidArgument(
            "no ImageNet images ship with the library; read a folder of them".into(),
        )),
        #[cfg(not(feature = "mnist-subset"))]
        DatasetKind::Mnist => Err(left_out(kind, "mnist-subset")),
        #[cfg(not(feature = "fashion-subset"))]
        DatasetKind::FashionMnist => Err(left_out(kind, "fashion-subset")),
    }
}

/// Why a build without `kind`'s subset `feature` cannot hand it out, and where the files are.
#[cfg(not(all(feature = "mnist-subset", feature = "fashion-subset")))]
fn left_out(kind: DatasetKind, feature: &str) -> Error {
    Error::InvalidArgument(format!(
        "this build leaves out the {} test subset (feature `{feature}`); read {:?} from \
         crate/assets with Dataset::from_idx",
        kind.id(),
        subset_files(kind).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(feature = "mnist-subset", feature = "fashion-subset"))]
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

    #[test]
    fn subset_files_name_files_that_exist() {
        let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        for kind in DatasetKind::SHIPPED {
            for file in subset_files(kind).unwrap() {
                assert!(assets.join(file).is_file(), "{file} is not in crate/assets");
            }
        }
        assert!(subset_files(DatasetKind::ImageNet).is_none());
    }
}
