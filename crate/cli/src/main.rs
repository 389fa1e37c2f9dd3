//! `perturb`: the native command-line tool over the Perturb core.

use clap::Parser;

/// Burn's CPU backend allocates and frees tensors of tens of MB every step: glibc's allocator maps
/// and unmaps each one (page faults, zeroed pages, TLB shootdowns across threads), mimalloc keeps
/// and reuses them (`cargo xtask bench`: PGD-40 at batch 256 1.6× and full CROWN 2.7× faster).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = perturb_cli::Cli::parse();
    if let Err(err) = perturb_cli::run(args) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
