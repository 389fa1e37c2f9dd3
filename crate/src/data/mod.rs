//! Datasets: IDX and CSV loaders, the in-memory [`Dataset`], the test subsets shipped in the
//! repository so the page and the tests work without fetching anything, and (natively) image
//! folders on disk prepared by torchvision's evaluation transform.

pub mod csv;
mod dataset;
mod decode;
#[cfg(not(target_arch = "wasm32"))]
mod folder;
pub mod idx;
pub mod imagenet;
pub mod preprocess;
mod shipped;
mod source;
pub mod transform;

pub use dataset::{Dataset, DatasetKind, Split};
pub use decode::{MAX_IMAGE_SIDE, decode, decode_within};
#[cfg(not(target_arch = "wasm32"))]
pub use folder::{BadImages, ImageFolder, decode_file};
pub use shipped::{SHIPPED_LEN, shipped_test_subset, subset_files};
pub use source::ImageSource;
#[cfg(not(target_arch = "wasm32"))]
pub use source::TestImages;
pub use transform::{EvalTransform, RgbImage};
