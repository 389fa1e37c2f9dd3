//! `perturb`: the native command-line tool over the Perturb core.

use clap::Parser;

fn main() {
    let args = perturb_cli::Cli::parse();
    if let Err(err) = perturb_cli::run(args) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
