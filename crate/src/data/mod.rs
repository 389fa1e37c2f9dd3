//! Datasets: IDX and CSV loaders, the in-memory [`Dataset`], and the test subsets shipped in the
//! repository so the page and the tests work without fetching anything.

pub mod csv;
mod dataset;
pub mod idx;
pub mod preprocess;
mod shipped;

pub use dataset::{Dataset, DatasetKind, Split};
pub use shipped::{SHIPPED_LEN, shipped_test_subset};
