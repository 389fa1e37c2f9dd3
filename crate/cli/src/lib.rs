//! The `perturb` command line over the Perturb core: it parses arguments, calls the library and
//! renders its reports (JSON, tables, SVG charts, progress bars). The developer tool `xtask`
//! reuses its device choice and charts.

pub mod commands;
pub mod device;
pub mod model_args;
pub mod plot;
pub mod progress;
pub mod shard_args;

use std::path::Path;

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
    /// Check the datasets fetched by scripts/fetch-data.sh.
    Data {
        #[command(subcommand)]
        command: commands::data::DataCommand,
    },
    /// Run FGSM, PGD, APGD (EOT/BPDA), C&W, Square or HopSkipJump over a test slice at one or more budgets.
    Attack(commands::attack::AttackArgs),
    /// AutoAttack: APGD-CE, APGD-T, FAB-T and Square (or the rand version with EOT), each on what is left robust.
    Autoattack(commands::autoattack::AutoAttackArgs),
    /// Gradient-masking sanity checks (Carlini et al.; Square and AutoAttack against PGD) on a model and defence.
    Audit(commands::audit::AuditArgs),
    /// Verified accuracy by IBP, CROWN or exact search, or randomized smoothing certificates (JSON, SVG).
    Certify(commands::certify::CertifyArgs),
    /// Poison a training set (BadNets, clean-label, feature collision, gradient matching, optimal), train, measure, detect.
    Poison(commands::poison::PoisonArgs),
    /// Transfer success matrix: PGD adversarials crafted on each model, scored on every model.
    Transfer(commands::transfer::TransferArgs),
    /// Train a zoo architecture (standard, PGD, IBP or noise objective); weights, model card, curves.
    Train(commands::train::TrainArgs),
    /// Clean, PGD-robust and IBP-verified accuracy of a model on a test set, as JSON.
    Eval(commands::eval::EvalArgs),
    /// Check a weights file (.pth or SafeTensors) against an architecture; write SafeTensors (f32/f16).
    Convert(commands::convert::ConvertArgs),
    /// Put the partial reports of a sharded run (--shard I/N --out FILE) together into its report.
    Merge(commands::merge::MergeArgs),
}

/// Run the parsed command.
pub fn run(cli: Cli) -> perturb::Result<()> {
    match cli.command {
        Command::Attack(args) => commands::attack::run(args),
        Command::Audit(args) => commands::audit::run(args),
        Command::Autoattack(args) => commands::autoattack::run(args),
        Command::Certify(args) => commands::certify::run(args),
        Command::Data { command } => commands::data::run(command),
        Command::Poison(args) => commands::poison::run(args),
        Command::Train(args) => commands::train::train(args),
        Command::Transfer(args) => commands::transfer::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Convert(args) => commands::convert::run(args),
        Command::Merge(args) => commands::merge::run(args),
    }
}

/// The settings a run's partial reports carry, as the command that wrote them reads them.
pub fn plan_of<T: serde::de::DeserializeOwned>(
    journal: &perturb::shard::Journal,
) -> perturb::Result<T> {
    let header = journal.header();
    serde_json::from_value(header.settings.clone()).map_err(|e| perturb::Error::Format {
        what: "partial report",
        detail: format!(
            "the settings of this {} run do not parse: {e}",
            header.command
        ),
    })
}

/// Print a report as pretty JSON on standard output.
pub fn print_json(report: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(report).expect("reports serialise")
    );
}

/// Write `bytes` to `path`, creating its folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> perturb::Result<()> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| perturb::Error::Io { path, source }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}
