//! `perturb data`: check the fetched datasets.

use std::path::PathBuf;

use clap::Subcommand;
use perturb::Result;
use perturb::data::{Dataset, DatasetKind, Split};

/// What to do with the data.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Load every split of both datasets and check image counts and labels.
    Verify {
        /// The folder scripts/fetch-data.sh fills.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
    },
}

/// Run the data command.
pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Verify { dir } => {
            for kind in DatasetKind::SHIPPED {
                for split in Split::ALL {
                    let d = Dataset::load_dir(kind, split, &dir)?;
                    let mut counts = [0usize; 10];
                    d.labels().iter().for_each(|&l| counts[l as usize] += 1);
                    println!("{kind} {split}: {} images, per class {counts:?}", d.len());
                }
            }
            Ok(())
        }
    }
}
