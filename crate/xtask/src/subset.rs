//! `cargo xtask subset`: derive the shipped test subsets (`crate/assets`) and the page's
//! training subset (`web/data`) from the fetched datasets.

use std::path::PathBuf;

use perturb::Result;
use perturb::data::{Dataset, DatasetKind, Split};
use perturb_cli::write_file;

/// Arguments of `cargo xtask subset`.
#[derive(Debug, clap::Args)]
pub struct SubsetArgs {
    /// The folder scripts/fetch-data.sh fills.
    #[arg(long, default_value = "data")]
    dir: PathBuf,
    /// Where the gzip IDX files go.
    #[arg(long, default_value = "crate/assets")]
    out: PathBuf,
    /// Images per dataset.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// The split to take them from.
    #[arg(long, value_enum, default_value = "test")]
    split: Split,
}

/// Write the first `count` images of a split of each dataset as gzip IDX files.
pub fn run(args: SubsetArgs) -> Result<()> {
    let SubsetArgs {
        dir,
        out,
        count,
        split,
    } = args;
    for kind in DatasetKind::SHIPPED {
        let subset = Dataset::load_dir(kind, split, &dir)?.take(count);
        let (images, labels) = subset.to_idx_gz()?;
        let stem = format!("{kind}-{split}-{}k", count / 1000);
        write_file(&out.join(format!("{stem}-images-idx3-ubyte.gz")), &images)?;
        write_file(&out.join(format!("{stem}-labels-idx1-ubyte.gz")), &labels)?;
        println!("{kind}: wrote {} images to {}", subset.len(), out.display());
    }
    Ok(())
}
