//! Command-line interface: argument types and dispatch to the subcommands.

mod attack_cmd;
mod audit_cmd;
mod bench_certify;
mod bench_cmd;
mod certify_cmd;
mod data_cmd;
mod defense_arg;
mod device;
mod golden;
mod model_args;
mod plot;
mod train_cmd;
mod transfer_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use device::DeviceArg;

/// Adversarial machine learning from the command line.
#[derive(Debug, Parser)]
#[command(name = "perturb", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check or derive the datasets fetched by scripts/fetch-data.sh.
    Data {
        #[command(subcommand)]
        command: data_cmd::DataCommand,
    },
    /// Run FGSM, PGD (EOT/BPDA) or C&W over a test slice at one or more budgets.
    Attack(attack_cmd::AttackArgs),
    /// Gradient-masking sanity checks (Carlini et al., AutoAttack flags) on a model and defence.
    Audit(audit_cmd::AuditArgs),
    /// Verified accuracy by IBP, CROWN or exact search, or randomized smoothing certificates (JSON, SVG).
    Certify(certify_cmd::CertifyArgs),
    /// Transfer success matrix: PGD adversarials crafted on each model, scored on every model.
    Transfer(transfer_cmd::TransferArgs),
    /// Time PGD on a batch of test images (CPU or wgpu) and print the figures.
    Bench(bench_cmd::BenchArgs),
    /// Train a zoo architecture (standard, PGD, IBP or noise objective); weights, model card, curves.
    Train(train_cmd::TrainArgs),
    /// Clean, PGD-robust and IBP-verified accuracy of a weights file on a test set, as JSON.
    Eval(train_cmd::EvalArgs),
    /// Regenerate golden reference files used by the tests.
    Golden {
        /// Where to write the input-gradient reference.
        #[arg(long, default_value = "tests/golden/input_gradient.json")]
        out: PathBuf,
    },
}

/// Run the parsed command.
pub fn run(cli: Cli) -> perturb::Result<()> {
    match cli.command {
        Command::Attack(args) => attack_cmd::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Certify(args) => certify_cmd::run(args),
        Command::Data { command } => data_cmd::run(command),
        Command::Train(args) => train_cmd::train(args),
        Command::Transfer(args) => transfer_cmd::run(args),
        Command::Eval(args) => train_cmd::eval(args),
        Command::Golden { out } => golden::write_input_gradient(&out),
    }
}

/// Print a report as pretty JSON on standard output.
pub(crate) fn print_json(report: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(report).expect("reports serialise")
    );
}

pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> perturb::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| perturb::Error::Io {
            path: parent.display().to_string(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| perturb::Error::Io {
        path: path.display().to_string(),
        source,
    })
}
