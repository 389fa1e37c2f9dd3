//! Training in the core, on tiny budgets (CI): every objective lowers its loss; adversarial
//! training raises PGD-robust accuracy and IBP training raises IBP-verified accuracy over a
//! standard run of the same budget; runs are deterministic by seed; trained weights export in
//! PyTorch names that the inference paths load unchanged; bad settings are refused.

use std::sync::Mutex;

use burn::module::Module;
use perturb::data::{Dataset, DatasetKind, shipped_test_subset};
use perturb::eval::{EvalSettings, Evaluation, evaluate};
use perturb::model::{Classifier, ModelSpec, Sequential, TrainableNet, write_safetensors};
use perturb::train::{Objective, StepReport, TrainConfig, Trainer, train};

/// The first 800 shipped test images to train on, the last 200 to evaluate.
fn split() -> (Dataset, Dataset) {
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    (data.range(0, 800), data.range(800, 1000))
}

fn config(objective: Objective, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        learning_rate: 2e-3,
        objective,
        seed: 7,
        report_every: 5,
        ..TrainConfig::default()
    }
}

/// Held while a test draws from the device's random generator: the tests of this binary run in
/// parallel threads on the one flex device, whose generator they share, so a run is reproducible
/// from its seed only while no other run draws in between.
static DEVICE_RNG: Mutex<()> = Mutex::new(());

/// Train `arch` from seed 3 and return the model plus every loss read back.
fn run(arch: &str, config: &TrainConfig, data: &Dataset) -> (TrainableNet, Vec<f32>) {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = crate::common::device().autodiff();
    device.seed(3);
    let model = TrainableNet::init(ModelSpec::named(arch).unwrap(), 3, &device).unwrap();
    let mut losses = Vec::new();
    let model = pollster::block_on(train(model, data, config, &device, |report, _| {
        losses.extend(report.loss);
        Ok(true)
    }))
    .unwrap();
    (model, losses)
}

fn mean(values: &[f32]) -> f32 {
    values.iter().sum::<f32>() / values.len() as f32
}

/// The first and last fifth of the losses, averaged: the loss must fall.
fn assert_loss_falls(what: &str, losses: &[f32]) {
    let k = (losses.len() / 5).max(1);
    let (first, last) = (mean(&losses[..k]), mean(&losses[losses.len() - k..]));
    assert!(
        last < 0.8 * first,
        "{what}: loss {first} → {last} over {} reports",
        losses.len()
    );
}

fn eval(model: &TrainableNet, data: &Dataset, epsilon: f32) -> Evaluation {
    let device = crate::common::device();
    let frozen = model.valid().sequential();
    let settings = EvalSettings {
        batch_size: 100,
        epsilon: Some(epsilon),
        pgd_steps: 10,
        restarts: 1,
    };
    pollster::block_on(evaluate(&frozen, data, &device, &settings, |_, _| {})).unwrap()
}

#[test]
fn adversarial_training_raises_robust_accuracy() {
    let (train_set, test_set) = split();
    let eps = 0.15;
    let (standard, losses) = run("small-cnn", &config(Objective::Standard, 6), &train_set);
    assert_loss_falls("standard", &losses);
    let pgd = Objective::Adversarial {
        epsilon: eps,
        steps: 5,
        step_size: 2.5 * eps / 5.0,
        ramp: 0.0,
    };
    let (robust, losses) = run("small-cnn", &config(pgd, 6), &train_set);
    assert_loss_falls("PGD", &losses);
    let (standard, robust) = (
        eval(&standard, &test_set, eps),
        eval(&robust, &test_set, eps),
    );
    let gain = robust.robust_accuracy.unwrap() - standard.robust_accuracy.unwrap();
    assert!(
        gain >= 0.1,
        "PGD-robust accuracy at ε={eps}: standard {standard:?}, adversarial {robust:?}"
    );
    assert!(robust.clean_accuracy >= 0.6, "{robust:?}");
}

#[test]
fn ibp_training_raises_verified_accuracy() {
    let (train_set, test_set) = split();
    let eps = 0.05;
    let (standard, _) = run("strided-cnn", &config(Objective::Standard, 4), &train_set);
    let ibp = Objective::Ibp {
        epsilon: eps,
        warmup: 0.1,
        ramp: 0.5,
        kappa_end: 0.5,
    };
    let (certified, losses) = run("strided-cnn", &config(ibp, 4), &train_set);
    // The ramp raises the loss while ε grows, so compare the warm-up with the end only loosely.
    assert!(losses.iter().all(|l| l.is_finite()));
    let (standard, certified) = (
        eval(&standard, &test_set, eps),
        eval(&certified, &test_set, eps),
    );
    let gain = certified.verified_accuracy.unwrap() - standard.verified_accuracy.unwrap();
    assert!(
        gain >= 0.2,
        "IBP-verified accuracy at ε={eps}: standard {standard:?}, IBP-trained {certified:?}"
    );
    // Verified never exceeds robust, which never exceeds clean: the figures are consistent.
    assert!(certified.verified_accuracy <= certified.robust_accuracy);
    assert!(certified.robust_accuracy.unwrap() <= certified.clean_accuracy);
}

#[test]
fn noise_training_and_the_mlp_learn() {
    let (train_set, _) = split();
    let (_, losses) = run(
        "small-cnn",
        &config(Objective::Noise { sigma: 0.5 }, 3),
        &train_set,
    );
    assert_loss_falls("noise", &losses);
    let (_, losses) = run("mlp", &config(Objective::Standard, 3), &train_set);
    assert_loss_falls("mlp", &losses);
}

#[test]
fn the_residual_and_depthwise_families_learn() {
    let (train_set, test_set) = split();
    // The depthwise net (no batch norm) starts slowly: it gets the rate its zoo model used.
    for (arch, rate, epochs) in [("resnet-small", 2e-3, 3), ("mobilenet-small", 3e-3, 6)] {
        let cfg = TrainConfig {
            learning_rate: rate,
            ..config(Objective::Standard, epochs)
        };
        let (model, losses) = run(arch, &cfg, &train_set);
        assert_loss_falls(arch, &losses);
        let e = eval(&model, &test_set, 0.01);
        assert!(e.clean_accuracy >= 0.6, "{arch}: {e:?}");
    }
}

#[test]
fn runs_are_deterministic_and_weights_export_to_the_inference_paths() {
    let (train_set, test_set) = split();
    let small = train_set.take(128);
    let pgd = Objective::Adversarial {
        epsilon: 0.2,
        steps: 2,
        step_size: 0.1,
        ramp: 0.5,
    };
    let (a, _) = run("small-cnn", &config(pgd, 1), &small);
    let (b, _) = run("small-cnn", &config(pgd, 1), &small);
    let wa = pollster::block_on(a.weights()).unwrap();
    let wb = pollster::block_on(b.weights()).unwrap();
    assert_eq!(wa, wb, "same seed, same weights");

    // The export loads as the layer-by-layer model and as the zoo's default architecture, and
    // both give the trained net's logits.
    let device = crate::common::device();
    let bytes = write_safetensors(&wa).unwrap();
    let sequential = Sequential::from_safetensors(ModelSpec::small_cnn(), &bytes, &device).unwrap();
    let zoo_default = perturb::zoo::ZOO[0].load(&bytes, &device).unwrap();
    let (images, _) = test_set.batch(&[0, 1, 2, 3], &device).unwrap();
    let want = a.valid().logits(images.clone());
    for got in [
        sequential.logits(images.clone()),
        zoo_default.logits(images),
    ] {
        let diff: f32 = (got - want.clone()).abs().max().into_scalar();
        assert!(diff < 1e-5, "exported logits differ by {diff}");
    }
}

#[test]
fn stopping_early_and_bad_settings() {
    let (train_set, _) = split();
    let device = crate::common::device().autodiff();
    let model = TrainableNet::init(ModelSpec::mlp(), 1, &device).unwrap();
    let mut seen: Vec<StepReport> = Vec::new();
    let cfg = config(Objective::Standard, 2);
    let trained = pollster::block_on(train(model, &train_set, &cfg, &device, |report, _| {
        seen.push(*report);
        Ok(report.step < 3)
    }))
    .unwrap();
    assert_eq!(seen.len(), 3, "the hook's false stops the run");
    assert_eq!(seen[2].total_steps, 2 * 800 / 32);
    assert!(trained.num_params() > 0);

    let fresh = || TrainableNet::init(ModelSpec::mlp(), 1, &device).unwrap();
    let bad = |cfg: TrainConfig| Trainer::new(fresh(), train_set.len(), cfg).is_err();
    assert!(bad(TrainConfig {
        batch_size: 0,
        ..cfg.clone()
    }));
    assert!(bad(TrainConfig {
        learning_rate: f64::NAN,
        ..cfg.clone()
    }));
    assert!(bad(config(Objective::Noise { sigma: 0.0 }, 1)));
    assert!(Trainer::new(fresh(), 0, cfg.clone()).is_err());
    // Training needs gradients.
    let plain = TrainableNet::init(ModelSpec::mlp(), 1, &crate::common::device()).unwrap();
    let mut trainer = Trainer::new(plain, train_set.len(), cfg.clone()).unwrap();
    assert!(pollster::block_on(trainer.step(&train_set, &crate::common::device())).is_err());
    // Batch norm has no training mode here.
    let with_bn = ModelSpec::from_json(
        r#"{"input": [1, 28, 28], "layers": [{"type": "flatten"},
            {"type": "linear", "in_features": 784, "out_features": 8},
            {"type": "batch_norm", "num_features": 8}, {"type": "relu"},
            {"type": "linear", "in_features": 8, "out_features": 10}]}"#,
    )
    .unwrap();
    let err = TrainableNet::init(with_bn, 1, &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("batch norm"), "{err}");
}

#[test]
fn a_run_resumed_from_a_checkpoint_ends_where_an_uninterrupted_one_does() {
    use perturb::model::read_safetensors;
    use perturb::train::{Checkpoint, Schedule};
    let (train_set, _) = split();
    let data = train_set.take(256);
    let cfg = TrainConfig {
        epochs: 3,
        schedule: Schedule::Cosine,
        ..config(Objective::Standard, 3)
    };
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = crate::common::device().autodiff();
    let fresh = || TrainableNet::init(ModelSpec::small_cnn(), 3, &device).unwrap();
    let finish = |mut trainer: Trainer| {
        while !trainer.finished() {
            pollster::block_on(trainer.step(&data, &device)).unwrap();
        }
        pollster::block_on(trainer.model().weights()).unwrap()
    };
    let want = finish(Trainer::new(fresh(), data.len(), cfg.clone()).unwrap());

    // Stop after the first epoch (8 steps of 32), keeping only files' bytes.
    let mut first = Trainer::new(fresh(), data.len(), cfg.clone()).unwrap();
    for _ in 0..8 {
        pollster::block_on(first.step(&data, &device)).unwrap();
    }
    let saved = Checkpoint::from_bytes(&first.checkpoint().unwrap().to_bytes().unwrap()).unwrap();
    let weights = write_safetensors(&pollster::block_on(first.model().weights()).unwrap()).unwrap();
    // A checkpoint mid-epoch is refused.
    pollster::block_on(first.step(&data, &device)).unwrap();
    assert!(first.checkpoint().is_err());
    drop(first);

    let restored = || {
        TrainableNet::from_weights(
            ModelSpec::small_cnn(),
            read_safetensors(&weights).unwrap(),
            &device,
        )
        .unwrap()
    };
    let got = finish(Trainer::resume(restored(), data.len(), &saved).unwrap());
    assert_eq!(
        got, want,
        "the resumed run ends with the uninterrupted run's weights"
    );

    // Restarting from the weights alone (no optimiser state, schedule from the start) does not.
    let restart = TrainConfig {
        epochs: 2,
        ..cfg.clone()
    };
    assert_ne!(
        finish(Trainer::new(restored(), data.len(), restart).unwrap()),
        want
    );

    // Mismatched or damaged checkpoints are refused.
    assert!(Trainer::resume(restored(), 128, &saved).is_err());
    let mlp = TrainableNet::init(ModelSpec::mlp(), 3, &device).unwrap();
    assert!(Trainer::resume(mlp, data.len(), &saved).is_err());
    let bytes = saved.to_bytes().unwrap();
    assert!(Checkpoint::from_bytes(&bytes[..20]).is_err());
    assert!(Checkpoint::from_bytes(b"not a checkpoint").is_err());
}
