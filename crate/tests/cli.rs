//! The native CLI end to end: JSON reports, and clear errors (non-zero exit) on bad input.

use std::process::{Command, Output};

fn perturb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perturb"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("the perturb binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn attack_reports_json_with_the_documented_fields() {
    let out = perturb(&[
        "attack", "--eps", "0.1,0.3", "--steps", "5", "--count", "40", "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let clean = report["clean_accuracy"].as_f64().unwrap();
    let robust = report["robust_accuracy"].as_f64().unwrap();
    assert!(clean > 0.9 && robust <= clean);
    assert!(report["attack_success_rate"].as_f64().is_some());
    let per_eps = report["per_epsilon"].as_array().unwrap();
    assert_eq!(per_eps.len(), 2);
    let r = |i: usize| per_eps[i]["robust_accuracy"].as_f64().unwrap();
    assert!(r(1) <= r(0), "robust accuracy must not rise with ε");
    assert_eq!(report["images"], 40);
}

#[test]
fn bad_budgets_are_refused_with_a_message() {
    for eps in ["0", "-0.1", "nan"] {
        let out = perturb(&["attack", "--eps", eps, "--count", "4"]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("--eps values must be numbers > 0"),
            "{eps}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn corrupt_or_missing_weights_are_refused_with_a_message() {
    let dir = std::env::temp_dir().join(format!("perturb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let corrupt = dir.join("corrupt.safetensors");
    let mut bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/mnist-small-cnn.safetensors"
    ))
    .unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&corrupt, &bytes).unwrap();
    let out = perturb(&["eval", "--weights", corrupt.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid weights"), "{}", stderr(&out));
    let out = perturb(&[
        "eval",
        "--weights",
        dir.join("absent.safetensors").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}
