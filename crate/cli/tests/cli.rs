//! The native CLI end to end: JSON reports, and clear errors (non-zero exit) on bad input.

use std::process::{Command, Output};

fn perturb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perturb"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
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
        "/../../models/mnist-small-cnn.safetensors"
    ))
    .unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&corrupt, &bytes).unwrap();
    let out = perturb(&[
        "eval",
        "--arch",
        "small-cnn",
        "--weights",
        corrupt.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid weights"), "{}", stderr(&out));
    let out = perturb(&[
        "eval",
        "--arch",
        "small-cnn",
        "--weights",
        dir.join("absent.safetensors").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn audit_flags_quantization_in_json() {
    let out = perturb(&[
        "audit",
        "--defense",
        "quantize:8",
        "--count",
        "32",
        "--steps",
        "10",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let verdict = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))["verdict"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(verdict("nonzero-gradients"), "flag");
    assert_eq!(verdict("adaptive-attack-adds-nothing"), "flag");
    assert!(report["flagged"].as_u64().unwrap() >= 4);
    let out = perturb(&["audit", "--defense", "blur:3"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown defence"), "{}", stderr(&out));
}

#[test]
fn query_only_attacks_report_their_queries_and_refuse_gradient_flags() {
    let out = perturb(&[
        "attack",
        "--attack",
        "square",
        "--eps",
        "0.3",
        "--queries",
        "300",
        "--count",
        "16",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let point = &report["per_epsilon"][0];
    let mean = point["mean_queries"].as_f64().unwrap();
    assert!(mean > 1.0 && mean <= 300.0, "{point}");
    assert!(point["robust_accuracy"].as_f64().unwrap() < 0.5, "{point}");
    for (args, message) in [
        (vec!["--attack", "square", "--steps", "10"], "use --queries"),
        (
            vec!["--attack", "pgd", "--queries", "10"],
            "applies to square and hsj",
        ),
        (
            vec!["--attack", "square", "--step-size", "0.1"],
            "gradient attacks",
        ),
        (
            vec!["--attack", "hsj", "--bpda", "--defense", "quantize:8"],
            "BPDA",
        ),
        (vec!["--attack", "square", "--queries", "1"], "at least 2"),
    ] {
        let mut all = vec!["attack", "--count", "2"];
        all.extend(args.iter().copied());
        let out = perturb(&all);
        assert!(!out.status.success(), "{args:?} ran");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn autoattack_prints_each_members_robust_accuracy() {
    let out = perturb(&[
        "autoattack",
        "--eps",
        "0.1",
        "--count",
        "16",
        "--steps",
        "10",
        "--targets",
        "2",
        "--queries",
        "100",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members = report["members"].as_array().unwrap();
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["attack"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "apgd-ce",
            "apgd-t (target 1)",
            "apgd-t (target 2)",
            "fab-t",
            "square"
        ]
    );
    let last = members.last().unwrap()["robust_accuracy"].as_f64().unwrap();
    assert_eq!(report["robust_accuracy"].as_f64().unwrap(), last);
    assert!(last <= report["clean_accuracy"].as_f64().unwrap());
    let out = perturb(&["autoattack", "--version", "rand", "--count", "2"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("randomized defences"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pytorch_style_spec_runs_the_default_weights_and_bad_specs_are_refused() {
    let dir = std::env::temp_dir().join(format!("perturb-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("cnn.json");
    std::fs::write(
        &spec,
        r#"{"input": [1, 28, 28], "layers": [
        {"type": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 8, "kernel_size": 3},
        {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2},
        {"type": "conv2d", "name": "conv2", "in_channels": 8, "out_channels": 16, "kernel_size": 3},
        {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 2}, {"type": "flatten"},
        {"type": "linear", "name": "fc1", "in_features": 400, "out_features": 64}, {"type": "relu"},
        {"type": "linear", "name": "fc2", "in_features": 64, "out_features": 10}]}"#,
    )
    .unwrap();
    let out = perturb(&[
        "eval",
        "--arch",
        spec.to_str().unwrap(),
        "--weights",
        "models/mnist-small-cnn.safetensors",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["evaluation"]["clean_accuracy"].as_f64().unwrap() > 0.97);

    let wrong = dir.join("wrong.json");
    std::fs::write(
        &wrong,
        r#"{"input": [1, 28, 28], "layers": [{"type": "flatten"},
        {"type": "linear", "name": "fc1", "in_features": 784, "out_features": 10}]}"#,
    )
    .unwrap();
    let out = perturb(&[
        "eval",
        "--arch",
        wrong.to_str().unwrap(),
        "--weights",
        "models/mnist-small-cnn.safetensors",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("fc1.weight has shape [64, 400], the spec needs [10, 784]"),
        "{}",
        stderr(&out)
    );

    let out = perturb(&[
        "attack",
        "--attack",
        "cw",
        "--norm",
        "l2",
        "--eps",
        "3",
        "--steps",
        "50",
        "--count",
        "8",
        "--cw-c",
        "1",
        "--cw-search",
        "3",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["config"]["method"], "carlini-wagner");
    assert!(report["attack_success_rate"].as_f64().unwrap() > 0.5);
}

#[test]
fn certify_reports_ibp_verified_accuracy_that_falls_with_the_budget() {
    let out = perturb(&["certify", "--eps", "0,0.005,0.02", "--count", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v: Vec<f64> = report["per_epsilon"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ibp"]["verified_accuracy"].as_f64().unwrap())
        .collect();
    assert!(
        v[0] > 0.95,
        "at ε = 0 every correct prediction is verified: {v:?}"
    );
    assert!(v[1] <= v[0] && v[2] <= v[1], "{v:?}");
    let out = perturb(&["certify", "--method", "zonotope"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid value"), "{}", stderr(&out));
}

#[test]
fn certify_compare_shows_crown_at_least_as_tight_and_plots_both() {
    let dir = std::env::temp_dir().join(format!("perturb-compare-{}", std::process::id()));
    let plot = dir.join("compare.svg");
    let out = perturb(&[
        "certify",
        "--method",
        "compare",
        "--eps",
        "0.01",
        "--count",
        "20",
        "--batch-size",
        "20",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = &report["per_epsilon"][0];
    let ibp = at["ibp"]["verified_accuracy"].as_f64().unwrap();
    let crown = at["crown"]["verified_accuracy"].as_f64().unwrap();
    assert!(crown >= ibp && crown > 0.5, "IBP {ibp}, CROWN {crown}");
    assert!(at["crown_tighter_fraction"].as_f64().unwrap() > 0.5, "{at}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 2);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn certify_crown_neurons_are_chosen_reported_and_refused_elsewhere() {
    // How much CROWN's margin bounds gain on IBP's, bounding `neurons`.
    let gain = |neurons: &str| {
        let out = perturb(&[
            "certify",
            "--method",
            "compare",
            "--crown-neurons",
            neurons,
            "--eps",
            "0.03",
            "--count",
            "6",
            "--batch-size",
            "6",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["crown_neurons"], neurons, "{report}");
        report["per_epsilon"][0]["mean_margin_bound_gain"]
            .as_f64()
            .unwrap()
    };
    // Behind the default CNN's max pools, auto_LiRPA's choice is looser (up to 2.0 on a margin).
    let (needed, unstable) = (gain("needed"), gain("unstable"));
    assert!(
        needed > unstable + 1e-3,
        "needed {needed}, unstable {unstable}"
    );
    let out = perturb(&["certify", "--method", "ibp", "--crown-neurons", "all"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--crown-neurons applies to full CROWN"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn certify_smoothing_reports_a_falling_curve_and_refuses_bad_sigma() {
    let out = perturb(&[
        "certify",
        "--method",
        "smoothing",
        "--count",
        "6",
        "--samples",
        "500",
        "--sigma",
        "0.25",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let curve: Vec<f64> = report["curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["certified_accuracy"].as_f64().unwrap())
        .collect();
    assert!(curve.windows(2).all(|w| w[1] <= w[0]), "{curve:?}");
    assert!(curve[0] >= 0.5, "{report}");
    assert_eq!(report["certified_clean_accuracy"].as_f64(), Some(curve[0]));
    for bad in ["-1", "0", "nan"] {
        let out = perturb(&[
            "certify",
            "--method",
            "smoothing",
            "--count",
            "1",
            "--sigma",
            bad,
        ]);
        assert!(!out.status.success(), "σ = {bad} accepted");
        assert!(stderr(&out).contains("σ"), "{}", stderr(&out));
    }
}

/// On the zoo's trained MLP (98% clean), so that "exact ≥ CROWN ≥ 0" is not met by a model that
/// gets everything wrong: at ε = 0 the exact verifier must verify what is classified correctly.
#[test]
fn certify_exact_decides_every_image_of_an_mlp_and_refuses_a_cnn() {
    let out = perturb(&[
        "certify",
        "--method",
        "exact",
        "--model",
        "mnist-mlp",
        "--eps",
        "0,0.005",
        "--count",
        "10",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let clean = report["per_epsilon"][0]["verified_accuracy"]
        .as_f64()
        .unwrap();
    assert!(clean >= 0.9, "the trained MLP verifies {clean} at ε = 0");
    for at in report["per_epsilon"].as_array().unwrap() {
        let exact = at["verified_accuracy"].as_f64().unwrap();
        let refuted = at["counterexamples"].as_u64().unwrap();
        assert_eq!(at["timeouts"].as_u64(), Some(0), "{at}");
        assert!((exact * 10.0).round() as u64 + refuted == 10, "{at}");
        assert!(
            exact >= at["crown_verified_accuracy"].as_f64().unwrap(),
            "{at}"
        );
        assert!(
            exact >= at["ibp_verified_accuracy"].as_f64().unwrap(),
            "{at}"
        );
    }
    let out = perturb(&["certify", "--method", "exact", "--count", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("linear and relu"), "{}", stderr(&out));
}

/// The fetched datasets (`scripts/fetch-data.sh`); the tests that need them are ignored by
/// default and run by `scripts/test.sh` with `--include-ignored`.
fn fetched_data() -> std::path::PathBuf {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    assert!(
        data.join("mnist").exists(),
        "data/ is missing: run scripts/fetch-data.sh"
    );
    data
}

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn train_writes_weights_a_card_and_curves_that_eval_reproduces() {
    let data = fetched_data();
    let dir = std::env::temp_dir().join(format!("perturb-train-{}", std::process::id()));
    let weights = dir.join("tiny.safetensors");
    let plot = dir.join("tiny.svg");
    let out = perturb(&[
        "train",
        "--data-dir",
        data.to_str().unwrap(),
        "--arch",
        "small-cnn",
        "--objective",
        "pgd",
        "--eps",
        "0.1",
        "--pgd-steps",
        "2",
        "--epochs",
        "2",
        "--limit",
        "512",
        "--batch-size",
        "64",
        "--eval-count",
        "100",
        "--test-limit",
        "200",
        "--final-pgd-steps",
        "5",
        "--out",
        weights.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(weights.with_extension("json")).unwrap()).unwrap();
    assert_eq!(card["history"].as_array().unwrap().len(), 2);
    assert_eq!(card["config"]["objective"]["kind"], "adversarial");
    assert!(
        card["command"]
            .as_str()
            .unwrap()
            .starts_with("perturb train")
    );
    let bytes = std::fs::read(&weights).unwrap();
    assert_eq!(
        card["weights_bytes"].as_u64().unwrap() as usize,
        bytes.len()
    );
    let metrics = &card["metrics"];
    assert_eq!(metrics["images"], 200);
    let robust = metrics["robust_accuracy"].as_f64().unwrap();
    let verified = metrics["verified_accuracy"].as_f64().unwrap();
    assert!(verified <= robust && robust <= metrics["clean_accuracy"].as_f64().unwrap());
    assert!(
        std::fs::read_to_string(&plot)
            .unwrap()
            .contains("PGD ε=0.1")
    );

    // The weights load through the inference path.
    let out = perturb(&[
        "eval",
        "--arch",
        "small-cnn",
        "--weights",
        weights.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["evaluation"]["images"], 10_000);

    let out = perturb(&[
        "train",
        "--objective",
        "pgd",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("needs an ε"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn a_run_stopped_and_resumed_ends_with_the_uninterrupted_runs_weights() {
    let data = fetched_data();
    let dir = std::env::temp_dir().join(format!("perturb-resume-{}", std::process::id()));
    let train = |out: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data-dir",
            data.to_str().unwrap(),
            "--epochs",
            "2",
            "--limit",
            "256",
            "--batch-size",
            "64",
            "--schedule",
            "cosine",
            "--eval-count",
            "50",
            "--test-limit",
            "50",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        perturb(&args)
    };
    let whole = dir.join("whole.safetensors");
    assert!(train(&whole, &[]).status.success());
    let sliced = dir.join("sliced.safetensors");
    let out = train(&sliced, &["--stop-after", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    assert!(
        !sliced.with_extension("json").exists(),
        "no card for a stopped run"
    );
    // Other settings cannot resume this run.
    let out = train(&sliced, &["--resume", "--lr", "0.01"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("other settings"), "{}", stderr(&out));
    let out = train(&sliced, &["--resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&sliced).unwrap(),
        std::fs::read(&whole).unwrap(),
        "resumed weights equal the uninterrupted run's"
    );
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sliced.with_extension("json")).unwrap()).unwrap();
    assert_eq!(card["history"].as_array().unwrap().len(), 2);
}

#[test]
fn transfer_scores_every_pair_and_needs_an_architecture() {
    let out = perturb(&[
        "transfer",
        "--models",
        "models/mnist-small-cnn.safetensors=small-cnn,models/mnist-lenet5.safetensors",
        "--count",
        "60",
        "--eps",
        "0.2",
        "--steps",
        "10",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let success = report["matrix"]["success"].as_array().unwrap();
    assert_eq!(success.len(), 2);
    for (i, row) in success.iter().enumerate() {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(row.len(), 2);
        assert!(row.iter().all(|s| (0.0..=1.0).contains(s)));
        // White-box PGD at ε = 0.2 fools an undefended model almost always.
        assert!(row[i] >= 0.8, "diagonal {row:?}");
    }
    assert!(
        report["markdown"]
            .as_str()
            .unwrap()
            .contains("| mnist-lenet5 |")
    );

    // Without a card beside the weights, the architecture must be given.
    let dir = std::env::temp_dir().join(format!("perturb-transfer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lone = dir.join("lone.safetensors");
    std::fs::copy("../../models/mnist-lenet5.safetensors", &lone).unwrap();
    let out = perturb(&["transfer", "--models", lone.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lone.json"), "{}", stderr(&out));
}

/// A report without its wall-clock timings (`ms_…` keys), which no two runs share.
fn without_timings(report: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match report {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !k.starts_with("ms_"))
                .map(|(k, v)| (k, without_timings(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_timings).collect()),
        other => other,
    }
}

fn shard_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("perturb-shards-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run `args` whole, then as `n` shards and `perturb merge`: the merged report must be the whole
/// run's, timings aside (JSON), or byte for byte (`exact`, for tables).
fn assert_shards_merge_to_the_whole_run(test: &str, args: &[&str], n: usize, merge: &[&str]) {
    let dir = shard_dir(test);
    let whole = perturb(args);
    assert!(whole.status.success(), "{test}: {}", stderr(&whole));
    let mut parts = Vec::new();
    for i in 0..n {
        let part = dir.join(format!("part-{i}.jsonl"));
        let shard = format!("{i}/{n}");
        let mut sharded = args.to_vec();
        sharded.extend(["--shard", &shard, "--out", part.to_str().unwrap()]);
        let out = perturb(&sharded);
        assert!(
            out.status.success(),
            "{test} shard {shard}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{test}: a shard prints no report");
        parts.push(part.to_str().unwrap().to_string());
    }
    let mut merge_args = vec!["merge"];
    merge_args.extend(parts.iter().rev().map(String::as_str));
    merge_args.extend(merge);
    let merged = perturb(&merge_args);
    assert!(merged.status.success(), "{test} merge: {}", stderr(&merged));
    match serde_json::from_slice::<serde_json::Value>(&whole.stdout) {
        Ok(report) => {
            let merged: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
            assert_eq!(without_timings(merged), without_timings(report), "{test}");
        }
        Err(_) => assert_eq!(
            String::from_utf8_lossy(&merged.stdout),
            String::from_utf8_lossy(&whole.stdout),
            "{test}"
        ),
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_command_sharded_and_merged_prints_the_unsharded_report() {
    let attack = [
        "attack",
        "--count",
        "90",
        "--batch-size",
        "20",
        "--steps",
        "5",
        "--eps",
        "0.05,0.1",
    ];
    assert_shards_merge_to_the_whole_run("attack-table", &attack, 3, &[]);
    let mut json = attack.to_vec();
    json.push("--json");
    assert_shards_merge_to_the_whole_run("attack-json", &json, 4, &["--json"]);
    assert_shards_merge_to_the_whole_run(
        "attack-noise-eot",
        &[
            "attack",
            "--count",
            "24",
            "--batch-size",
            "8",
            "--steps",
            "3",
            "--eot",
            "2",
            "--defense",
            "noise:0.2",
            "--json",
        ],
        2,
        &["--json"],
    );
    assert_shards_merge_to_the_whole_run(
        "eval",
        &[
            "eval",
            "--eps",
            "0.1",
            "--pgd-steps",
            "3",
            "--batch-size",
            "250",
        ],
        3,
        &[],
    );
    assert_shards_merge_to_the_whole_run(
        "transfer",
        &[
            "transfer",
            "--models",
            "mnist-small-cnn,mnist-lenet5",
            "--count",
            "40",
            "--batch-size",
            "10",
            "--steps",
            "3",
        ],
        2,
        &[],
    );
    assert_shards_merge_to_the_whole_run(
        "audit",
        &[
            "audit",
            "--count",
            "24",
            "--batch-size",
            "8",
            "--steps",
            "3",
            "--queries",
            "20",
            "--defense",
            "quantize:4",
            "--json",
        ],
        3,
        &["--json"],
    );
    assert_shards_merge_to_the_whole_run(
        "certify-ibp",
        &[
            "certify",
            "--method",
            "ibp",
            "--eps",
            "0.01,0.03",
            "--count",
            "60",
            "--batch-size",
            "20",
        ],
        2,
        &[],
    );
    assert_shards_merge_to_the_whole_run(
        "certify-compare",
        &[
            "certify",
            "--method",
            "compare",
            "--eps",
            "0.01",
            "--count",
            "6",
            "--batch-size",
            "2",
        ],
        3,
        &[],
    );
    assert_shards_merge_to_the_whole_run(
        "certify-smoothing",
        &[
            "certify",
            "--method",
            "smoothing",
            "--count",
            "5",
            "--samples",
            "200",
            "--selection-samples",
            "20",
            "--batch-size",
            "100",
        ],
        2,
        &[],
    );
    let mlp = [
        "certify",
        "--method",
        "exact",
        "--model",
        "mnist-mlp",
        "--eps",
        "0,0.002",
        "--count",
        "4",
    ];
    assert_shards_merge_to_the_whole_run("certify-exact", &mlp, 2, &[]);
}

#[test]
fn merge_names_the_shard_that_does_not_belong() {
    let dir = shard_dir("refuse");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let shard = |i: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "attack",
            "--count",
            "20",
            "--batch-size",
            "5",
            "--steps",
            "2",
        ];
        args.extend(extra);
        let out_path = path(out);
        args.extend(["--shard", i, "--out", &out_path]);
        let out = perturb(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    shard("0/2", "a0.jsonl", &[]);
    shard("1/2", "a1.jsonl", &[]);
    shard("1/2", "eps.jsonl", &["--eps", "0.2"]);
    shard("1/2", "lenet.jsonl", &["--model", "mnist-lenet5"]);
    // The same weights path with other contents (retrained between shards).
    let weights = path("w.safetensors");
    let with_weights = ["--arch", "small-cnn", "--weights", weights.as_str()];
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/mnist-small-cnn.safetensors"
        ),
        &weights,
    )
    .unwrap();
    shard("0/2", "w0.jsonl", &with_weights);
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/mnist-small-cnn-pgd0.3.safetensors"
        ),
        &weights,
    )
    .unwrap();
    shard("1/2", "w1.jsonl", &with_weights);
    shard("1/3", "three.jsonl", &[]);
    let merge = |parts: &[&str]| {
        let mut args = vec!["merge".to_string()];
        args.extend(parts.iter().map(|p| path(p)));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = perturb(&args);
        assert!(!out.status.success(), "{parts:?} must be refused");
        stderr(&out)
    };
    let err = merge(&["a0.jsonl", "eps.jsonl"]);
    assert!(
        err.contains("eps.jsonl") && err.contains("settings.config.step_size (0.125 vs 0.25)"),
        "{err}"
    );
    let err = merge(&["a0.jsonl", "lenet.jsonl"]);
    assert!(
        err.contains("lenet.jsonl") && err.contains(r#"settings.arch ("small-cnn" vs "lenet5")"#),
        "{err}"
    );
    let err = merge(&["w0.jsonl", "w1.jsonl"]);
    assert!(
        err.contains("w1.jsonl") && err.contains("weights (SHA-256"),
        "{err}"
    );
    let err = merge(&["a0.jsonl", "three.jsonl"]);
    assert!(err.contains("three.jsonl"), "{err}");
    let err = merge(&["a0.jsonl", "a0.jsonl"]);
    assert!(err.contains("both shard 0/2"), "{err}");
    let err = merge(&["a1.jsonl"]);
    assert!(err.contains("shard 0/2 of this run is missing"), "{err}");
    // A shard cut back to its header (killed before its first batch) is unfinished.
    let text = std::fs::read_to_string(path("a1.jsonl")).unwrap();
    std::fs::write(
        path("cut.jsonl"),
        text.lines().next().unwrap().to_string() + "\n",
    )
    .unwrap();
    let err = merge(&["a0.jsonl", "cut.jsonl"]);
    assert!(
        err.contains("cut.jsonl (shard 1/2) is unfinished: 0 of 2"),
        "{err}"
    );
    std::fs::write(path("image.jsonl"), b"\x89PNG\r\n").unwrap();
    let err = merge(&["a0.jsonl", "image.jsonl"]);
    assert!(err.contains("not a perturb partial report"), "{err}");
    // A partial report of other settings is not resumed, and not overwritten.
    let before = std::fs::read(path("a0.jsonl")).unwrap();
    let out = perturb(&[
        "attack",
        "--count",
        "20",
        "--batch-size",
        "5",
        "--steps",
        "3",
        "--shard",
        "0/2",
        "--out",
        &path("a0.jsonl"),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("holds another run: settings.config"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(path("a0.jsonl")).unwrap(), before);
    for bad in ["2/2", "1/0", "one/two"] {
        let out = perturb(&["attack", "--shard", bad, "--out", &path("x.jsonl")]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("I/N"), "{bad}: {}", stderr(&out));
    }
    let out = perturb(&["attack", "--shard", "0/2"]);
    assert!(!out.status.success(), "a shard needs --out");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_killed_run_resumes_from_its_partial_report_to_the_same_report() {
    let dir = shard_dir("kill");
    let part = dir.join("run.jsonl");
    let args = [
        "attack",
        "--count",
        "100",
        "--batch-size",
        "5",
        "--steps",
        "100",
        "--json",
    ];
    let whole = perturb(&args);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let mut with_out = args.to_vec();
    with_out.extend(["--out", part.to_str().unwrap()]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_perturb"))
        .args(&with_out)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = || {
        std::fs::read_to_string(&part)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    while lines() < 4 && started.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(child.try_wait().unwrap().is_none(), "killed while running");
    child.kill().unwrap();
    child.wait().unwrap();
    let done = lines() - 1;
    assert!(
        (3..20).contains(&done),
        "{done} of 20 batches before the kill"
    );
    // A kill in the middle of a write leaves a torn line.
    let mut text = std::fs::read_to_string(&part).unwrap();
    text.push_str("{\"unit\":19,\"record\":{\"labels\":[7,2");
    std::fs::write(&part, text).unwrap();
    let resumed = perturb(&with_out);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let err = stderr(&resumed);
    assert!(err.contains("dropped a last line cut short"), "{err}");
    assert!(
        err.contains(&format!("resuming, {done} of 20 units")),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&resumed.stdout),
        String::from_utf8_lossy(&whole.stdout),
        "the resumed run's report is the uninterrupted run's"
    );
    let merged = perturb(&["merge", part.to_str().unwrap(), "--json"]);
    assert_eq!(merged.stdout, whole.stdout);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn poison_reports_the_backdoor_and_the_detector_and_refuses_bad_settings_before_training() {
    let data = fetched_data();
    let data = data.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("perturb-poison-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("poison.svg");
    let out = perturb(&[
        "poison",
        "--attack",
        "badnets",
        "--data-dir",
        data,
        "--limit",
        "3000",
        "--test-limit",
        "500",
        "--rate",
        "0.05",
        "--target",
        "2",
        "--detect",
        "spectral",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["poisons"], 150);
    assert_eq!(report["relabelled"], 150);
    assert_eq!(report["attack"]["target"], 2);
    let asr = report["poisoned_model"]["attack_success_rate"]
        .as_f64()
        .unwrap();
    let clean_asr = report["clean_model"]["attack_success_rate"]
        .as_f64()
        .unwrap();
    assert!(asr > clean_asr, "{report}");
    let score = &report["defense"]["score"];
    assert_eq!(score["poisons"], 150);
    // Spectral signatures flag 1.5 · 10% of every class.
    let flagged = score["flagged"].as_u64().unwrap();
    assert!((430..=470).contains(&flagged), "{score}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("attack success") && svg.contains("retrained"));

    let out = perturb(&[
        "poison",
        "--attack",
        "optimal",
        "--data-dir",
        data,
        "--poisons",
        "2",
        "--steps",
        "3",
        "--validation-size",
        "100",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["optimal_test_accuracy"].as_array().unwrap().len(), 3);
    assert_eq!(
        report["random_flip_test_accuracy"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    for (args, message) in [
        (&["--rate", "0"][..], "poison rate must be in (0, 1]"),
        (&["--target", "10"][..], "target class 10 is outside"),
        (&["--trigger-size", "30"][..], "does not fit 28×28"),
        (
            &["--eps", "0.1"][..],
            "--eps applies to clean-label and gradient-matching",
        ),
        (&["--rate", "0.99"][..], "only"),
    ] {
        let started = std::time::Instant::now();
        let mut all = vec!["poison", "--attack", "badnets", "--data-dir", data];
        all.extend_from_slice(args);
        let out = perturb(&all);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        // Refused before any model trains (a clean model on 60,000 images takes far longer).
        assert!(started.elapsed().as_secs() < 10, "{args:?}");
    }
    let out = perturb(&[
        "poison",
        "--attack",
        "clean-label",
        "--data-dir",
        data,
        "--eps",
        "nan",
    ]);
    assert!(
        stderr(&out).contains("ε must be in (0, 1]"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(dir).ok();
}
