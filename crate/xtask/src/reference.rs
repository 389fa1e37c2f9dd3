//! The reference scripts (PyTorch, torchattacks, auto_LiRPA in `tests/bench/`) that the
//! benchmarks run beside Perturb, with the CPU backend's thread count.

use std::process::Command;

/// The CPU backend's thread count, given to every reference.
pub(crate) fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// Run `tests/bench/{script}` with `python`, `--threads` and `args`; its standard output, or
/// `None` (saying why, as the `what` reference skipped) when it cannot run or fails.
pub(crate) fn run(python: &str, script: &str, args: &[String], what: &str) -> Option<String> {
    let path = format!("{}/../../tests/bench/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python)
        .arg(path)
        .args(["--threads".to_string(), threads().to_string()])
        .args(args)
        .output();
    match out {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.lines().last().unwrap_or("failed");
            println!("{what} reference skipped: {why}");
            None
        }
        Err(e) => {
            println!("{what} reference skipped: {python}: {e}");
            None
        }
    }
}

/// The `row<TAB>field<TAB>…` lines a reference script prints, split into fields.
pub(crate) fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .filter_map(|line| Some(line.strip_prefix("row\t")?.split('\t').collect()))
        .collect()
}

/// `text` without its `row` lines (what a person reads).
pub(crate) fn prose(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("row\t"))
        .map(|l| format!("{l}\n"))
        .collect()
}
