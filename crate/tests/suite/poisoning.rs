//! Poisoning: the backdoor takes at a 1% budget and the detector finds it (full MNIST); clean-label
//! poisons keep their labels and their ε-ball; feature collision closes the feature gap and flips
//! its target in a seeded transfer-learning run; gradient matching raises its alignment; optimal
//! poisoning of a convex learner beats random label flips, its gradient checked against finite
//! differences on MNIST; bad settings are refused; the page's poisoning step (2,000 images, an
//! MLP) takes and flips a triggered digit.

use burn::module::Module;
use perturb::blocking::block_on;
use perturb::data::{Dataset, DatasetKind, Split, shipped_test_subset};
use perturb::model::{ModelSpec, TrainableNet};
use perturb::poison::{
    BadNetsConfig, BinaryTask, CleanLabelConfig, DetectorConfig, DetectorKind, ExperimentConfig,
    FeatureCollisionConfig, GradientMatchingConfig, LogisticRegression, OptimalPoisoningConfig,
    PoisonAttack, Trigger, TriggerFlip, VictimTraining, accuracy, attack_success_rate, badnets,
    clean_label, feature_collision, gradient_matching, optimal_poisoning, poison_gradient, predict,
    random_flips, run_experiment, trigger_flip, triggered,
};
use perturb::train::{ObjectiveKind, TrainConfig, quick_config, train};

fn full(kind: DatasetKind) -> (Dataset, Dataset) {
    let dir = crate::common::data_dir();
    (
        Dataset::load_dir(kind, Split::Train, &dir).unwrap(),
        Dataset::load_dir(kind, Split::Test, &dir).unwrap(),
    )
}

fn experiment(attack: PoisonAttack, train: TrainConfig) -> ExperimentConfig {
    ExperimentConfig {
        attack,
        spec: ModelSpec::small_cnn(),
        train,
        victim: VictimTraining::Scratch,
        detector: None,
        detector_config: DetectorConfig::default(),
        batch_size: 500,
    }
}

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh); trains three models on 60,000 images"]
fn badnets_at_one_percent_takes_and_activation_clustering_undoes_it() {
    let (train, test) = full(DatasetKind::Mnist);
    let mut config = experiment(
        PoisonAttack::Badnets(BadNetsConfig {
            rate: 0.01,
            target: 0,
            trigger: Trigger::default(),
            seed: 1,
        }),
        TrainConfig {
            epochs: 4,
            batch_size: 128,
            learning_rate: 2e-3,
            seed: 1,
            ..TrainConfig::default()
        },
    );
    config.detector = Some(DetectorKind::Clustering);
    let device = crate::common::device();
    let report = block_on(run_experiment(
        &train,
        &test,
        &config,
        None,
        &device,
        |_| {},
        |_, _| {},
    ))
    .unwrap();
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.poisons, 600);
    let (clean, poisoned) = (report.clean_model, report.poisoned_model);
    let asr = |o: perturb::poison::ModelOutcome| o.attack_success_rate.unwrap();
    assert!(
        asr(clean) < 0.02,
        "the trigger alone does little: {clean:?}"
    );
    assert!(asr(poisoned) >= 0.95, "the backdoor takes: {poisoned:?}");
    assert!(
        poisoned.clean_accuracy >= clean.clean_accuracy - 0.01,
        "at most 1 pp of clean accuracy lost: {clean:?} vs {poisoned:?}"
    );
    let defense = report.defense.unwrap();
    assert!(
        defense.score.recall >= 0.9 && defense.score.precision >= 0.9,
        "{:?}",
        defense.score
    );
    assert!(
        asr(defense.retrained) <= 0.02
            && defense.retrained.clean_accuracy >= clean.clean_accuracy - 0.01,
        "retraining without the flagged images restores the clean behaviour: {:?}",
        defense.retrained
    );
}

#[test]
fn clean_label_poisons_keep_their_labels_and_their_ball() {
    let device = crate::common::device();
    let surrogate = crate::common::default_model(&device);
    let train = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let config = CleanLabelConfig {
        rate: 0.05,
        target: 0,
        epsilon: 0.2,
        steps: 10,
        ..CleanLabelConfig::default()
    };
    let set = block_on(clean_label(&train, &surrogate, &config, &device)).unwrap();
    assert_eq!(set.poisons.len(), 50);
    let covered = config.trigger.covers(train.image_shape()).unwrap();
    for p in &set.poisons {
        assert_eq!((p.label_before, p.label), (0, 0), "labels are kept");
        assert!(p.linf_outside_trigger <= 0.2 + 1e-6, "{p:?}");
        assert!(p.linf_outside_trigger > 0.1, "PGD moved the image: {p:?}");
        let (before, after) = (train.image_bytes(p.index), set.data.image_bytes(p.index));
        for k in 0..before.len() {
            if !covered[k] {
                assert!(
                    before[k].abs_diff(after[k]) <= 51,
                    "pixel {k} of {}",
                    p.index
                );
            }
        }
    }
    // The perturbation makes the surrogate's own class hard: fewer poisons than clean images of
    // the class are still classified 0 (the trigger is on both sides of the comparison).
    let indices = set.indices();
    let stamped = {
        let mut pixels = train.subset(&indices).unwrap().pixels().to_vec();
        for image in pixels.chunks_mut(784) {
            config.trigger.stamp(image, [1, 28, 28]).unwrap();
        }
        Dataset::with_shape(DatasetKind::Mnist, [1, 28, 28], pixels, vec![0; 50]).unwrap()
    };
    let right = |d: &Dataset| {
        block_on(predict(&surrogate, d, 100, &device))
            .unwrap()
            .iter()
            .filter(|&&c| c == 0)
            .count()
    };
    let poisons = set.data.subset(&indices).unwrap();
    assert!(
        right(&poisons) + 20 < right(&stamped),
        "{} poisons vs {} stamped clean images still classified 0",
        right(&poisons),
        right(&stamped)
    );
}

#[test]
fn feature_collision_closes_the_feature_gap_with_correctly_labelled_poisons() {
    let device = crate::common::device();
    let surrogate = crate::common::default_model(&device);
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let train = data.range(0, 900);
    let config = FeatureCollisionConfig {
        base_class: 3,
        poisons: 20,
        steps: 100,
        ..FeatureCollisionConfig::default()
    };
    let target = data.image_bytes(950);
    let (set, report) = block_on(feature_collision(
        &train, &surrogate, target, &config, &device,
    ))
    .unwrap();
    assert!(
        report.end_distance < 0.3 * report.start_distance,
        "{} → {}",
        report.start_distance,
        report.end_distance
    );
    assert!(
        set.poisons
            .iter()
            .all(|p| p.label == 3 && p.label_before == 3)
    );
}

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn feature_collision_flips_its_target_in_a_seeded_transfer_learning_run() {
    let (train, test) = full(DatasetKind::Mnist);
    let mut config = experiment(
        PoisonAttack::FeatureCollision {
            config: FeatureCollisionConfig {
                base_class: 3,
                poisons: 100,
                steps: 400,
                ..FeatureCollisionConfig::default()
            },
            target_index: 1,
        },
        TrainConfig {
            epochs: 3,
            learning_rate: 1e-2,
            seed: 1,
            ..TrainConfig::default()
        },
    );
    config.victim = VictimTraining::LastLayer;
    let device = crate::common::device();
    let report = block_on(run_experiment(
        &train.take(10_000),
        &test.take(1_000),
        &config,
        None,
        &device,
        |_| {},
        |_, _| {},
    ))
    .unwrap();
    assert_eq!(test.labels()[1], 2);
    assert_eq!(report.clean_model.target_prediction, Some(2), "{report:?}");
    assert_eq!(
        report.poisoned_model.target_prediction,
        Some(3),
        "{report:?}"
    );
    assert!(report.poisoned_model.clean_accuracy > 0.9, "{report:?}");
}

#[test]
fn gradient_matching_raises_the_alignment_within_its_ball() {
    let device = crate::common::device();
    let surrogate = crate::common::default_model(&device);
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let config = GradientMatchingConfig {
        adversarial_class: 3,
        poisons: 20,
        epsilon: 0.1,
        steps: 30,
        restarts: 2,
        ..GradientMatchingConfig::default()
    };
    let (set, report) = block_on(gradient_matching(
        &data.range(0, 900),
        &surrogate,
        data.image_bytes(950),
        &config,
        &device,
    ))
    .unwrap();
    assert!(
        report.end_alignment > report.start_alignment + 0.2,
        "{report:?}"
    );
    assert_eq!(report.restarts.len(), 2);
    for p in &set.poisons {
        assert!(
            p.linf <= 0.1 + 1e-6 && p.label == 3 && p.label_before == 3,
            "{p:?}"
        );
    }
}

#[test]
#[ignore = "needs data/ (scripts/fetch-data.sh)"]
fn optimal_poisoning_beats_random_flips_and_its_gradient_matches_finite_differences() {
    let (train, test) = full(DatasetKind::Mnist);
    let fit = BinaryTask::from_dataset(&train, [1, 7], 0, 100).unwrap();
    let validation = BinaryTask::from_dataset(&train, [1, 7], 30_000, 500).unwrap();
    let test = BinaryTask::from_dataset(&test, [1, 7], 0, 1_000).unwrap();
    let config = OptimalPoisoningConfig {
        poisons: 5,
        steps: 20,
        ..OptimalPoisoningConfig::default()
    };
    // The implicit gradient at a real poison, against central differences on six pixels.
    let poison = random_flips(&fit, 1, 9).remove(0);
    let set = fit.with(std::slice::from_ref(&poison));
    let model = LogisticRegression::fit(&set, config.lambda, None).unwrap();
    let analytic = poison_gradient(&model, &set, &validation, set.len() - 1);
    for k in [100, 300, 350, 406, 500, 650] {
        let at = |delta: f64| {
            let mut x = poison.0.clone();
            x[k] += delta;
            LogisticRegression::fit(
                &fit.with(&[(x, poison.1)]),
                config.lambda,
                Some(&model.theta),
            )
            .unwrap()
            .loss(&validation)
        };
        let numeric = (at(1e-4) - at(-1e-4)) / 2e-4;
        assert!(
            (numeric - analytic[k]).abs() <= 1e-7 + 1e-3 * numeric.abs(),
            "pixel {k}: finite differences {numeric}, implicit {}",
            analytic[k]
        );
    }
    let result = optimal_poisoning(&fit, &validation, &config, |_, _, _| {}).unwrap();
    assert!(result.validation_loss.windows(2).all(|w| w[1] >= w[0]));
    let accuracy = |extra: &[(Vec<f64>, f64)]| {
        LogisticRegression::fit(&fit.with(extra), config.lambda, None)
            .unwrap()
            .accuracy(&test)
    };
    let clean = accuracy(&[]);
    let optimal = accuracy(&result.poisons);
    let random = accuracy(&random_flips(&fit, 5, 2));
    eprintln!("clean {clean}, optimal {optimal}, random flips {random}");
    assert!(
        optimal < random - 0.03,
        "optimal {optimal} vs random {random}"
    );
    assert!(optimal < clean - 0.03, "optimal {optimal} vs clean {clean}");
}

#[test]
fn bad_poisoning_settings_are_refused() {
    let device = crate::common::device();
    let surrogate = crate::common::default_model(&device);
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let err = |r: perturb::Result<perturb::poison::PoisonedSet>| r.unwrap_err().to_string();
    let e = err(block_on(clean_label(
        &data,
        &surrogate,
        &CleanLabelConfig {
            epsilon: f32::NAN,
            ..CleanLabelConfig::default()
        },
        &device,
    )));
    assert!(e.contains("ε must be in (0, 1]"), "{e}");
    let e = err(block_on(clean_label(
        &data,
        &surrogate,
        &CleanLabelConfig {
            rate: 0.5,
            ..CleanLabelConfig::default()
        },
        &device,
    )));
    assert!(e.contains("images of the target class"), "{e}");
    let e = block_on(gradient_matching(
        &data,
        &surrogate,
        &[0u8; 10],
        &GradientMatchingConfig::default(),
        &device,
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("a target of 10 values"), "{e}");
    let e = block_on(feature_collision(
        &data,
        &surrogate,
        data.image_bytes(0),
        &FeatureCollisionConfig {
            base_class: 12,
            ..FeatureCollisionConfig::default()
        },
        &device,
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("base class 12 is outside"), "{e}");
    let mut config = experiment(
        PoisonAttack::FeatureCollision {
            config: FeatureCollisionConfig::default(),
            target_index: 5_000,
        },
        TrainConfig::default(),
    );
    config.victim = VictimTraining::LastLayer;
    let e = block_on(run_experiment(
        &data,
        &data,
        &config,
        None,
        &device,
        |_| {},
        |_, _| {},
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("target image 5000 is outside"), "{e}");
}

/// The page's training images (`web/data`, the first 2,000 of MNIST's training split).
fn page_training_set() -> Dataset {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/data");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    Dataset::from_idx(
        DatasetKind::Mnist,
        &read("mnist-train-2k-images-idx3-ubyte.gz"),
        &read("mnist-train-2k-labels-idx1-ubyte.gz"),
    )
    .unwrap()
}

/// An MLP trained as the page's training panel trains it (its quick settings, 3 epochs).
fn page_model(data: &Dataset, device: &burn::tensor::Device) -> perturb::model::Sequential {
    let config = quick_config(ObjectiveKind::Standard, 0.1, 3, 0).unwrap();
    let ad = device.clone().autodiff();
    device.seed(0);
    let net = TrainableNet::init(ModelSpec::named("mlp").unwrap(), 0, &ad).unwrap();
    let net = block_on(train(net, data, &config, &ad, |_, _| Ok(true))).unwrap();
    net.valid().sequential()
}

#[test]
fn badnets_takes_at_the_pages_scale_and_flips_a_triggered_digit() {
    // The page's default poisoning step: 5% of its 2,000 training images, target 0, the default
    // trigger, an MLP trained for 3 epochs; measured on the page's 200 held-out test images.
    let device = crate::common::device();
    let train_set = page_training_set();
    let config = BadNetsConfig {
        rate: 0.05,
        target: 0,
        trigger: Trigger::default(),
        seed: 0,
    };
    let poisoned = badnets(&train_set, &config).unwrap();
    assert_eq!(poisoned.poisons.len(), 100);

    let shipped = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let held_out = shipped.range(shipped.len() - 200, shipped.len());
    let stamped = triggered(&held_out, &config.trigger, 0).unwrap();
    let asr = |model: &perturb::model::Sequential| {
        block_on(attack_success_rate(model, &stamped, 0, 100, &device)).unwrap()
    };
    let clean_model = page_model(&train_set, &device);
    let victim = page_model(&poisoned.data, &device);
    let clean_accuracy = |model: &perturb::model::Sequential| {
        accuracy(
            &block_on(predict(model, &held_out, 100, &device)).unwrap(),
            &held_out,
        )
    };
    let (clean_asr, victim_asr) = (asr(&clean_model), asr(&victim));
    let (clean_acc, victim_acc) = (clean_accuracy(&clean_model), clean_accuracy(&victim));
    eprintln!(
        "clean model: accuracy {clean_acc}, attack success {clean_asr}; poisoned: accuracy \
         {victim_acc}, attack success {victim_asr}"
    );
    assert!(
        clean_asr < 0.1,
        "the trigger alone does little: {clean_asr}"
    );
    assert!(victim_asr >= 0.9, "the backdoor takes: {victim_asr}");
    assert!(
        victim_acc >= clean_acc - 0.03,
        "{victim_acc} vs {clean_acc}"
    );
    // Test image 0 is a 7: read as a 7 as it is, as the target with the trigger.
    let flip = block_on(trigger_flip(&victim, &shipped, 0, &config.trigger, &device)).unwrap();
    assert_eq!(
        flip,
        TriggerFlip {
            clean: 7,
            triggered: 0
        }
    );
    let same = block_on(trigger_flip(
        &clean_model,
        &shipped,
        0,
        &config.trigger,
        &device,
    ))
    .unwrap();
    assert_eq!(
        same,
        TriggerFlip {
            clean: 7,
            triggered: 7
        }
    );
}
