//! `perturb data`: verify the fetched datasets and derive the shipped test subsets.

use std::path::PathBuf;

use clap::Subcommand;
use perturb::Result;
use perturb::data::{Dataset, DatasetKind, Split};

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Load every split of both datasets and check image counts and labels.
    Verify {
        /// The folder scripts/fetch-data.sh fills.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
    },
    /// Write the first N images of a split of each dataset as gzip IDX files (the shipped test
    /// subsets in `crate/assets`, the page's training subsets in `web/data`).
    Subset {
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        #[arg(long, default_value = "crate/assets")]
        out: PathBuf,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// `test` or `train`.
        #[arg(long, default_value = "test")]
        split: String,
    },
}

pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Verify { dir } => {
            for kind in DatasetKind::ALL {
                for split in [Split::Train, Split::Test] {
                    let d = Dataset::load_dir(kind, split, &dir)?;
                    let mut counts = [0usize; 10];
                    d.labels().iter().for_each(|&l| counts[l as usize] += 1);
                    println!(
                        "{} {split:?}: {} images, per class {counts:?}",
                        kind.id(),
                        d.len()
                    );
                }
            }
            Ok(())
        }
        DataCommand::Subset {
            dir,
            out,
            count,
            split,
        } => {
            let split = match split.as_str() {
                "test" => Split::Test,
                "train" => Split::Train,
                other => {
                    return Err(perturb::Error::InvalidArgument(format!(
                        "--split must be test or train, got {other:?}"
                    )));
                }
            };
            for kind in DatasetKind::ALL {
                let subset = Dataset::load_dir(kind, split, &dir)?.take(count);
                let (images, labels) = subset.to_idx_gz();
                let name = if split == Split::Test {
                    "test"
                } else {
                    "train"
                };
                let stem = format!("{}-{name}-{}k", kind.id(), count / 1000);
                super::write_file(&out.join(format!("{stem}-images-idx3-ubyte.gz")), &images)?;
                super::write_file(&out.join(format!("{stem}-labels-idx1-ubyte.gz")), &labels)?;
                println!(
                    "{}: wrote {} images to {}",
                    kind.id(),
                    subset.len(),
                    out.display()
                );
            }
            Ok(())
        }
    }
}
