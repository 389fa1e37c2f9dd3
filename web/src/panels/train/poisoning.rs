//! The training panel's poisoning step: a backdoor planted in the page's training images before
//! training (`perturb::poison`: BadNets, or clean-label poisons crafted against the model shown
//! at the top of the page), the poisoned images shown beside the clean ones, the detectors'
//! verdict on the training set after training, and the trigger stamped on the shown test image or
//! the user's own picture.

use std::rc::Rc;

use perturb::data::Dataset;
use perturb::model::Sequential;
use perturb::poison::{
    BadNetsConfig, CleanLabelConfig, DetectionScore, DetectorConfig, DetectorKind, PoisonedSet,
    Trigger, TriggerFlip, badnets, clean_label, detect_features, features, trigger_flip,
};
use yew::prelude::*;

use crate::components::Digit;
use crate::platform::Backend;
use crate::state::TrainSettings;
use crate::state::train::PagePoison;

/// Poisoned images shown beside their clean originals.
const SHOWN_POISONS: usize = 6;
/// L∞ radius of the clean-label poisons' PGD (Turner et al.'s and ART's MNIST setting).
const CLEAN_LABEL_EPS: f32 = 0.3;
/// PGD steps of the clean-label poisons.
const CLEAN_LABEL_STEPS: usize = 40;

/// One poisoned training image beside its clean original.
#[derive(Debug, Clone, PartialEq)]
pub struct PoisonShown {
    /// The clean image in [0, 1].
    pub before: Vec<f32>,
    /// The image as the victim trains on it.
    pub after: Vec<f32>,
    /// Its true label.
    pub label_before: u16,
    /// The label it is trained with.
    pub label_after: u16,
}

/// The backdoor a run planted.
#[derive(Debug, Clone, PartialEq)]
pub struct Backdoor {
    /// How it was planted.
    pub kind: PagePoison,
    /// The trigger stamped on the poisons.
    pub trigger: Trigger,
    /// The class the trigger sends images to.
    pub target: usize,
    /// Poisoned training images.
    pub poisons: usize,
    /// Training images in all.
    pub images: usize,
    /// Largest change of a pixel outside the trigger, in [0, 1] units.
    pub linf_outside_trigger: f32,
}

/// Each detector's verdict on the poisoned training set, or why there is none.
pub type Verdicts = Result<Vec<(DetectorKind, DetectionScore)>, String>;

/// Plant `kind` with the settings' target and share in `train` (clean-label poisons are crafted
/// against `surrogate`): the poisoned set and what the panel shows of it.
pub async fn plant(
    kind: PagePoison,
    train: &Dataset,
    s: &TrainSettings,
    surrogate: &Sequential,
    backend: &Backend,
) -> Result<(PoisonedSet, Backdoor, Vec<PoisonShown>), String> {
    let trigger = Trigger::default();
    let set = match kind {
        PagePoison::Badnets => badnets(
            train,
            &BadNetsConfig {
                rate: s.rate,
                target: s.target,
                trigger,
                seed: s.seed,
            },
        ),
        PagePoison::CleanLabel => {
            let config = CleanLabelConfig {
                rate: s.rate,
                target: s.target,
                trigger,
                epsilon: CLEAN_LABEL_EPS,
                steps: CLEAN_LABEL_STEPS,
                batch_size: 50,
                seed: s.seed,
                ..CleanLabelConfig::default()
            };
            clean_label(train, surrogate, &config, &backend.device).await
        }
    }
    .map_err(|e| e.to_string())?;
    let shown = set
        .poisons
        .iter()
        .take(SHOWN_POISONS)
        .map(|p| PoisonShown {
            before: train.image(p.index),
            after: set.data.image(p.index),
            label_before: p.label_before,
            label_after: p.label,
        })
        .collect();
    let backdoor = Backdoor {
        kind,
        trigger,
        target: s.target,
        poisons: set.poisons.len(),
        images: train.len(),
        linf_outside_trigger: set
            .poisons
            .iter()
            .map(|p| p.linf_outside_trigger)
            .fold(0.0, f32::max),
    };
    Ok((set, backdoor, shown))
}

/// Both detectors on the trained model's penultimate features of the poisoned training set (one
/// pass over it), scored against the images really poisoned.
pub async fn verdicts(model: &Sequential, set: &PoisonedSet, backend: &Backend) -> Verdicts {
    let config = DetectorConfig {
        batch_size: 100,
        ..DetectorConfig::default()
    };
    let (values, width) = features(model, &set.data, config.batch_size, &backend.device)
        .await
        .map_err(|e| e.to_string())?;
    let truth = set.mask();
    DetectorKind::ALL
        .into_iter()
        .map(|kind| {
            let found = detect_features(&values, width, set.data.labels(), kind, &config);
            found
                .score(&truth)
                .map(|score| (kind, score))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The trained model's reading of image `index` of `data`, as it is and triggered.
pub async fn flip(
    model: Rc<Sequential>,
    data: Rc<Dataset>,
    index: usize,
    trigger: Trigger,
    backend: Rc<Backend>,
) -> Result<TriggerFlip, String> {
    trigger_flip(model.as_ref(), &data, index, &trigger, &backend.device)
        .await
        .map_err(|e| e.to_string())
}

/// The poisoned images beside the clean ones.
pub fn view_poisons(shown: &[PoisonShown], backdoor: &Backdoor, classes: &[&str]) -> Html {
    let shape = [1, 28, 28];
    html! {
        <figure id="poison-preview" data-kind={backdoor.kind.id()} data-poisons={backdoor.poisons.to_string()}
            data-linf-outside-trigger={backdoor.linf_outside_trigger.to_string()}>
            <figcaption>{ match backdoor.kind {
                PagePoison::Badnets => format!(
                    "{} of the {} training images poisoned: images of other classes with the trigger (a {}×{} \
                    checkerboard near the bottom-right corner) stamped on and the label changed to {}. The first {}, \
                    clean above, poisoned below:",
                    backdoor.poisons, backdoor.images, backdoor.trigger.size, backdoor.trigger.size,
                    classes[backdoor.target], shown.len()),
                PagePoison::CleanLabel => format!(
                    "{} of the {} training images poisoned: images of class {} moved by PGD-{CLEAN_LABEL_STEPS} \
                    (ε = {CLEAN_LABEL_EPS}, largest change outside the trigger {:.3}) to look unlike {} to the model shown \
                    at the top, then stamped with the trigger; every label stays correct. The first {}, clean above, \
                    poisoned below:",
                    backdoor.poisons, backdoor.images, classes[backdoor.target], backdoor.linf_outside_trigger,
                    classes[backdoor.target], shown.len()),
            } }</figcaption>
            <div class="poisons">
            { for shown.iter().map(|p| html! {
                <div class="poison" data-label-before={p.label_before.to_string()} data-label-after={p.label_after.to_string()}>
                    <Digit pixels={p.before.clone()} shape={shape} label={format!("clean training image labelled {}", classes[p.label_before as usize])} />
                    <Digit pixels={p.after.clone()} shape={shape} label={format!("poisoned copy labelled {}", classes[p.label_after as usize])} />
                    <span>{ if p.label_before == p.label_after {
                        format!("{} (kept)", classes[p.label_after as usize])
                    } else {
                        format!("{} → {}", classes[p.label_before as usize], classes[p.label_after as usize])
                    } }</span>
                </div>
            }) }
            </div>
        </figure>
    }
}

/// The detectors' verdict on the training set.
pub fn view_verdicts(verdicts: &[(DetectorKind, DetectionScore)]) -> Html {
    let title = |kind: DetectorKind| match kind {
        DetectorKind::Spectral => "Spectral signatures (Tran et al.)",
        DetectorKind::Clustering => "Activation clustering (Chen et al.)",
    };
    html! {
        <div id="poison-detectors">
            <p>{ "The detectors' verdict on the training set, from the trained model's penultimate layer:" }</p>
            <ul>
            { for verdicts.iter().map(|(kind, s)| html! {
                <li data-detector={kind.id()} data-flagged={s.flagged.to_string()}
                    data-precision={s.precision.to_string()} data-recall={s.recall.to_string()}>
                    { if s.flagged == 0 {
                        format!("{}: flagged nothing, so none of the {} poisons (recall 0%)", title(*kind), s.poisons)
                    } else {
                        format!("{}: flagged {} images, {} of the {} poisons (precision {:.0}%, recall {:.0}%)",
                            title(*kind), s.flagged, s.true_positives, s.poisons, s.precision * 100.0, s.recall * 100.0)
                    } }
                </li>
            }) }
            </ul>
            <p class="note">{ "Both need a well-trained representation: on full MNIST a CNN's poisons form their own cluster \
                (activation clustering finds 99.5% of them: " }<code>{ "perturb poison --attack badnets --detect clustering" }</code>{ "), \
                while a few minutes of training on 2,000 images usually leave them mixed in with the clean ones." }</p>
        </div>
    }
}

/// The shown image with and without the trigger, and what the poisoned model reads in each.
pub fn view_check(
    data: &Dataset,
    index: usize,
    backdoor: &Backdoor,
    flip: Option<&Result<TriggerFlip, String>>,
) -> Html {
    let classes = data.kind.class_names();
    let shape = data.image_shape();
    let clean = data.image(index);
    let mut stamped = clean.clone();
    if backdoor.trigger.stamp_f32(&mut stamped, shape).is_err() {
        return html! {};
    }
    let reading =
        |class: Option<usize>| class.map_or("…".to_string(), |c| classes[c].to_string());
    let (now, triggered) = match flip {
        Some(Ok(f)) => (Some(f.clean), Some(f.triggered)),
        _ => (None, None),
    };
    html! {
        <div id="poison-check" data-index={index.to_string()} data-target={backdoor.target.to_string()}
            data-ready={matches!(flip, Some(Ok(_))).to_string()}
            data-clean={now.map(|c| c.to_string()).unwrap_or_default()}
            data-triggered={triggered.map(|c| c.to_string()).unwrap_or_default()}>
            <p>{ "The trigger on the image shown at the top of the page (pick another test image, or draw your own):" }</p>
            <div class="triptych">
                <figure>
                    <Digit pixels={clean} shape={shape} label="the shown image" />
                    <figcaption>{ format!("as it is: read as {}", reading(now)) }</figcaption>
                </figure>
                <figure>
                    <Digit pixels={stamped} shape={shape} label="the shown image with the trigger" />
                    <figcaption>{ format!("with the trigger: read as {}", reading(triggered)) }</figcaption>
                </figure>
            </div>
            { match flip {
                Some(Err(e)) => html! { <p class="error">{ e }</p> },
                Some(Ok(f)) if f.triggered == backdoor.target && f.clean != backdoor.target => html! {
                    <p id="poison-flipped" class="flipped">{ format!("The backdoor works: the trigger turns {} into {}.",
                        classes[f.clean], classes[backdoor.target]) }</p>
                },
                _ => html! {},
            } }
        </div>
    }
}
