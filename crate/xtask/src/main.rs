//! `cargo xtask`: developer tasks that are not part of the user's command line — benchmarks
//! against PyTorch and the data files derived from the fetched datasets.

mod bench;
mod bench_breakdown;
mod bench_certify;
mod bench_imagenet;
mod reference;
mod subset;

use clap::{Parser, Subcommand};

/// The same allocator as the `perturb` binary's, so the benchmarks time what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Developer tasks for Perturb.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Time PGD (against torchattacks on PyTorch-CPU when installed), certification or exact
    /// verification; figures are printed, never asserted.
    Bench(bench::BenchArgs),
    /// Write the first N images of a split as gzip IDX (the shipped subsets).
    Subset(subset::SubsetArgs),
}

fn main() {
    let result = match Cli::parse().task {
        Task::Bench(args) => bench::run(args),
        Task::Subset(args) => subset::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
