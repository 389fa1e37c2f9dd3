//! Training in the tab: a small run (standard, Madry PGD, IBP or Gaussian-noise training) on
//! 2,000 MNIST training images, one batch at a time on the page's backend with the browser
//! handed control between steps, live clean / PGD-robust / IBP-verified accuracy on held-out test
//! images, Stop, and the trained model then usable in every other panel (and downloadable).
//! With the poisoning step on, a backdoor (BadNets or clean-label) is planted first ([`poisoning`]): the chart
//! adds the trigger's success rate, and the result the detectors' verdict and the trigger stamped
//! on the shown image.

mod poisoning;

use std::rc::Rc;

use burn::module::Module;
use perturb::data::{Dataset, DatasetKind};
use perturb::eval::{EvalSettings, evaluate};
use perturb::model::{ModelSpec, Sequential, TrainableNet, write_safetensors};
use perturb::poison::{TriggerFlip, attack_success_rate, triggered};
use perturb::train::{ObjectiveKind, Trainer, quick_config};
use yew::prelude::*;

use super::apply_edit;
use crate::components::line_chart::{Frame, Series, accuracy_chart};
use crate::components::{Job, NumberField, RunStop, form_error, selected};
use crate::platform::Backend;
use crate::platform::browser::{fetch_bytes, object_url};
use crate::state::TrainSettings;
use crate::state::checks;
use crate::state::train::{MAX_POISON_RATE, MAX_TRAIN_EPOCHS, PagePoison, poison_rate};
use poisoning::{Backdoor, PoisonShown, Verdicts};

/// The page's training images (first 2,000 of MNIST's training split; `cargo xtask subset`).
const TRAIN_IMAGES: &str = "data/mnist-train-2k-images-idx3-ubyte.gz";
const TRAIN_LABELS: &str = "data/mnist-train-2k-labels-idx1-ubyte.gz";
/// Held-out test images measured during the run (the last 200 of the shipped 1,000, which the
/// other panels show least).
const EVAL_IMAGES: usize = 200;
/// Steps between evaluations.
const EVAL_EVERY: usize = 20;
/// PGD steps of the robust figure.
const EVAL_PGD_STEPS: usize = 10;

/// Properties of [`TrainPanel`].
#[derive(Properties)]
pub struct TrainProps {
    /// Where training runs.
    pub backend: Rc<Backend>,
    /// The shipped test images (the evaluation slice comes from them).
    pub data: Rc<Dataset>,
    /// The model shown at the top of the page: the surrogate clean-label poisons are crafted
    /// against.
    pub model: Rc<Sequential>,
    /// The images the page shows (the shipped ones and the user's picture, if any), for the
    /// trigger check.
    pub shown: Rc<Dataset>,
    /// The image shown at the top of the page.
    pub index: usize,
    /// Parameters to start from (from the URL).
    pub initial: TrainSettings,
    /// Told whenever the parameters change, so the share link follows.
    pub on_change: Callback<TrainSettings>,
    /// Told when the user puts the trained model to use, with its title.
    pub on_use: Callback<(Rc<Sequential>, String)>,
}

impl PartialEq for TrainProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend)
            && Rc::ptr_eq(&self.data, &other.data)
            && Rc::ptr_eq(&self.model, &other.model)
            && Rc::ptr_eq(&self.shown, &other.shown)
            && self.index == other.index
            && self.initial == other.initial
    }
}

/// Accuracies measured at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainPoint {
    /// Steps done.
    pub step: usize,
    /// Clean accuracy.
    pub clean: f64,
    /// Accuracy under PGD at the evaluation radius.
    pub robust: f64,
    /// Fraction IBP proves at the evaluation radius.
    pub verified: f64,
    /// With a backdoor: the share of triggered images of other classes read as its target.
    pub attack_success: Option<f64>,
}

/// The model a run produced.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The network, on the page's device.
    pub model: Rc<Sequential>,
    /// What the model picker calls it.
    pub title: String,
    /// Object URL of its SafeTensors weights.
    pub download: Option<String>,
    /// The run was stopped early.
    pub stopped: bool,
    /// The backdoor planted in its training images, and the detectors' verdict on them.
    pub backdoor: Option<(Backdoor, Verdicts)>,
}

/// Messages of [`TrainPanel`].
pub enum TrainMsg {
    /// Architecture picked.
    Arch(String),
    /// Objective picked.
    Objective(String),
    /// New ε / σ text.
    Eps(String),
    /// New epoch count text.
    Epochs(String),
    /// New seed text.
    Seed(String),
    /// Poisoning step picked (`none`, `badnets` or `clean-label`).
    Poison(String),
    /// New backdoor target text.
    Target(String),
    /// New poison rate text.
    Rate(String),
    /// The backdoor was planted: the first poisoned images beside their originals.
    Poisoned(Vec<PoisonShown>, Backdoor),
    /// The trained model's reading of the shown image with and without the trigger, for the
    /// request numbered `.0`.
    Flip(u32, Result<TriggerFlip, String>),
    /// Start.
    Run,
    /// Stop after the current step.
    Stop,
    /// Steps done of all, and the latest loss read back.
    Progress(usize, usize, Option<f32>),
    /// An evaluation came back.
    Point(TrainPoint),
    /// The run ended.
    Done(Result<Trained, String>),
    /// Put the trained model to use.
    Use,
}

/// The training panel.
pub struct TrainPanel {
    settings: TrainSettings,
    form_error: Option<String>,
    running: bool,
    job: Job,
    progress: (usize, usize),
    losses: Vec<(usize, f32)>,
    points: Vec<TrainPoint>,
    result: Option<Result<Trained, String>>,
    in_use: bool,
    /// The planted backdoor's first poisons, shown while and after training.
    poisons: Option<(Vec<PoisonShown>, Backdoor)>,
    /// Numbers trigger checks, so a slow one cannot replace a newer one.
    flip_request: u32,
    flip: Option<Result<TriggerFlip, String>>,
}

/// Clean, PGD-robust and IBP-verified accuracy of the model so far, and with a backdoor the
/// share of `triggered` images read as its target (the core's pause hook keeps the page
/// responsive between its batches).
async fn measure(
    trainer: &Trainer,
    data: &Dataset,
    triggered: Option<(&Dataset, usize)>,
    backend: &Backend,
    eps: f32,
    step: usize,
) -> Result<TrainPoint, String> {
    let frozen = trainer.model().valid().sequential();
    let settings = EvalSettings {
        batch_size: 25,
        epsilon: Some(eps),
        pgd_steps: EVAL_PGD_STEPS,
        restarts: 1,
    };
    let e = evaluate(&frozen, data, &backend.device, &settings, |_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    let attack_success = match triggered {
        Some((images, target)) => Some(
            attack_success_rate(&frozen, images, target, 25, &backend.device)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    Ok(TrainPoint {
        step,
        clean: e.clean_accuracy,
        robust: e.robust_accuracy.unwrap_or(0.0),
        verified: e.verified_accuracy.unwrap_or(0.0),
        attack_success,
    })
}

/// Everything a run needs.
struct TrainJob {
    settings: TrainSettings,
    backend: Rc<Backend>,
    surrogate: Rc<Sequential>,
    eval_set: Dataset,
    job: Job,
    on_progress: Callback<(usize, usize, Option<f32>)>,
    on_point: Callback<TrainPoint>,
    on_poisoned: Callback<(Vec<PoisonShown>, Backdoor)>,
}

async fn run_training(job: TrainJob) -> Result<Trained, String> {
    let text = |e: perturb::Error| e.to_string();
    let s = job.settings;
    let (images, labels) = (
        fetch_bytes(TRAIN_IMAGES).await?,
        fetch_bytes(TRAIN_LABELS).await?,
    );
    let clean_set = Dataset::from_idx(DatasetKind::Mnist, &images, &labels)
        .map_err(|e| format!("the training images are unreadable: {e}"))?;
    let planted = if let Some(kind) = s.poison {
        let (set, backdoor, shown) =
            poisoning::plant(kind, &clean_set, &s, &job.surrogate, &job.backend).await?;
        job.on_poisoned.emit((shown, backdoor.clone()));
        let stamped = triggered(&job.eval_set, &backdoor.trigger, backdoor.target).map_err(text)?;
        Some((set, backdoor, stamped))
    } else {
        None
    };
    let train_set = planted.as_ref().map_or(&clean_set, |(set, _, _)| &set.data);
    let stamped = planted.as_ref().map(|(_, b, images)| (images, b.target));
    let device = &job.backend.device;
    device.seed(s.seed);
    let ad_device = device.clone().autodiff();
    let spec = ModelSpec::named(s.arch).map_err(text)?;
    let model = TrainableNet::init(spec.clone(), s.seed, &ad_device).map_err(text)?;
    let config = quick_config(s.objective, s.eps, s.epochs, s.seed).map_err(text)?;
    let mut trainer = Trainer::new(model, train_set.len(), config).map_err(text)?;
    let eps = s.eval_eps();
    job.on_point
        .emit(measure(&trainer, &job.eval_set, stamped, &job.backend, eps, 0).await?);
    let mut stopped = false;
    while !trainer.finished() {
        if job.job.stopped() {
            stopped = true;
            break;
        }
        let report = trainer.step(train_set, &ad_device).await.map_err(text)?;
        job.on_progress
            .emit((report.step, report.total_steps, report.loss));
        if report.step % EVAL_EVERY == 0 || trainer.finished() {
            job.on_point.emit(
                measure(
                    &trainer,
                    &job.eval_set,
                    stamped,
                    &job.backend,
                    eps,
                    report.step,
                )
                .await?,
            );
        }
    }
    let steps = trainer.steps_done();
    let net = trainer.into_model().valid();
    let download = write_safetensors(&net.weights().await.map_err(text)?)
        .map_err(text)
        .and_then(|bytes| object_url(&bytes, "application/octet-stream"))
        .ok();
    let title = format!(
        "Trained in this tab — {} {}{} seed {}, {steps} steps{}",
        s.arch,
        s.objective.id(),
        match s.objective {
            ObjectiveKind::Standard => String::new(),
            ObjectiveKind::Noise => format!(" σ={}", s.eps),
            _ => format!(" ε={}", s.eps),
        },
        s.seed,
        match s.poison {
            Some(p) => format!(", {} → {} on {}%", p.title(), s.target, s.rate * 100.0),
            None => String::new(),
        }
    );
    let model = Rc::new(net.sequential());
    let backdoor = match planted {
        Some((set, backdoor, _)) => Some((
            backdoor,
            poisoning::verdicts(&model, &set, &job.backend).await,
        )),
        None => None,
    };
    Ok(Trained {
        model,
        title,
        download,
        stopped,
        backdoor,
    })
}

impl TrainPanel {
    /// Apply a checked form edit; a refused value leaves the settings as they were.
    fn edit(
        &mut self,
        ctx: &Context<Self>,
        apply: impl FnOnce(&mut TrainSettings) -> Result<(), String>,
    ) {
        apply_edit(
            &mut self.settings,
            &mut self.form_error,
            &ctx.props().on_change,
            apply,
        );
    }

    /// Ask the trained model (if it carries a backdoor) about the shown image, with and without
    /// the trigger.
    fn check_trigger(&mut self, ctx: &Context<Self>) {
        let Some(Ok(Trained {
            model,
            backdoor: Some((backdoor, _)),
            ..
        })) = &self.result
        else {
            return;
        };
        let p = ctx.props();
        if p.index >= p.shown.len() {
            return;
        }
        self.flip_request += 1;
        self.flip = None;
        let request = self.flip_request;
        let flip = poisoning::flip(
            model.clone(),
            p.shown.clone(),
            p.index,
            backdoor.trigger,
            p.backend.clone(),
        );
        ctx.link()
            .send_future(async move { TrainMsg::Flip(request, flip.await) });
    }

    fn chart(&self) -> Html {
        let total = self.progress.1.max(1) as f32;
        let eps = self.settings.eval_eps();
        let line = |id: &str, label: String, f: fn(&TrainPoint) -> f64| Series {
            id: id.to_string(),
            label,
            points: self.points.iter().map(|p| (p.step as f32, f(p))).collect(),
        };
        let mut series = vec![
            line("clean", "clean".into(), |p| p.clean),
            line("robust", format!("PGD-{EVAL_PGD_STEPS} ε={eps}"), |p| {
                p.robust
            }),
            line("verified", format!("IBP ε={eps}"), |p| p.verified),
        ];
        if self.points.iter().any(|p| p.attack_success.is_some()) {
            series.push(line("backdoor", "trigger → target".into(), |p| {
                p.attack_success.unwrap_or(0.0)
            }));
        }
        let ticks = (0..=4).map(|i| (total * i as f32 / 4.0).round()).collect();
        let frame = Frame {
            id: "train-plot",
            aria: "clean, robust and verified accuracy against training steps",
            x_max: total,
            x_ticks: ticks,
            caption: "training steps → accuracy on held-out test images",
            x_name: "training step",
        };
        accuracy_chart(&frame, &series)
    }
}

impl Component for TrainPanel {
    type Message = TrainMsg;
    type Properties = TrainProps;

    fn create(ctx: &Context<Self>) -> Self {
        Self {
            settings: ctx.props().initial,
            form_error: None,
            running: false,
            job: Job::new(),
            progress: (0, 0),
            losses: Vec::new(),
            points: Vec::new(),
            result: None,
            in_use: false,
            poisons: None,
            flip_request: 0,
            flip: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        let p = ctx.props();
        if !Rc::ptr_eq(&p.shown, &old.shown) || p.index != old.index {
            self.check_trigger(ctx);
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            TrainMsg::Arch(raw) => self.edit(ctx, |s| {
                s.arch = ModelSpec::ZOO
                    .into_iter()
                    .find(|a| *a == raw)
                    .ok_or("unknown architecture")?;
                Ok(())
            }),
            TrainMsg::Objective(raw) => self.edit(ctx, |s| {
                s.objective = raw.parse().map_err(|e: perturb::Error| e.to_string())?;
                Ok(())
            }),
            TrainMsg::Eps(raw) => self.edit(ctx, |s| {
                s.eps = checks::eps(&raw)?;
                Ok(())
            }),
            TrainMsg::Epochs(raw) => self.edit(ctx, |s| {
                s.epochs = checks::count(&raw, "epochs", MAX_TRAIN_EPOCHS)?;
                Ok(())
            }),
            TrainMsg::Seed(raw) => self.edit(ctx, |s| {
                s.seed = checks::seed(&raw, "the seed")?;
                Ok(())
            }),
            TrainMsg::Poison(raw) => self.edit(ctx, |s| {
                s.poison = PagePoison::parse(&raw)?;
                Ok(())
            }),
            TrainMsg::Target(raw) => self.edit(ctx, |s| {
                s.target = checks::count_from(&raw, "the target class", 0, 9)?;
                Ok(())
            }),
            TrainMsg::Rate(raw) => self.edit(ctx, |s| {
                s.rate = poison_rate(&raw)?;
                Ok(())
            }),
            TrainMsg::Poisoned(shown, backdoor) => self.poisons = Some((shown, backdoor)),
            TrainMsg::Flip(request, result) => {
                if request != self.flip_request {
                    return false;
                }
                self.flip = Some(result);
            }
            TrainMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.in_use = false;
                self.progress = (0, 0);
                self.losses.clear();
                self.points.clear();
                self.result = None;
                self.poisons = None;
                self.flip = None;
                self.job = Job::new();
                let p = ctx.props();
                let held_out = p.data.len().saturating_sub(EVAL_IMAGES);
                // (The shipped test images: a drawn picture is never among them.)
                let job = TrainJob {
                    settings: self.settings,
                    backend: p.backend.clone(),
                    surrogate: p.model.clone(),
                    eval_set: p.data.range(held_out, p.data.len()),
                    job: self.job.clone(),
                    on_progress: ctx.link().callback(|(d, t, l)| TrainMsg::Progress(d, t, l)),
                    on_point: ctx.link().callback(TrainMsg::Point),
                    on_poisoned: ctx
                        .link()
                        .callback(|(shown, backdoor)| TrainMsg::Poisoned(shown, backdoor)),
                };
                ctx.link()
                    .send_future(async move { TrainMsg::Done(run_training(job).await) });
            }
            TrainMsg::Stop => self.job.stop(),
            TrainMsg::Progress(done, total, loss) => {
                self.progress = (done, total);
                if let Some(loss) = loss {
                    self.losses.push((done, loss));
                }
            }
            TrainMsg::Point(point) => self.points.push(point),
            TrainMsg::Done(result) => {
                self.running = false;
                self.result = Some(result);
                self.check_trigger(ctx);
            }
            TrainMsg::Use => {
                if let Some(Ok(trained)) = &self.result {
                    self.in_use = true;
                    ctx.props()
                        .on_use
                        .emit((trained.model.clone(), trained.title.clone()));
                }
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = &self.settings;
        let radius = if s.objective.radius_is_sigma() {
            "σ "
        } else {
            "ε "
        };
        let (first_loss, last_loss) = (self.losses.first(), self.losses.last());
        html! {
            <section id="train" class="panel">
                <h2>{ "Train in the tab" }</h2>
                <p class="note">{ "A small run on 2,000 MNIST training images (batches of 50, Adam 1e-3) on this page's backend. \
                    Every 20 steps the model so far is measured on 200 held-out test images: clean accuracy, accuracy under \
                    PGD-10, and the fraction IBP proves. Adversarial training trades clean accuracy for robustness (Eq. 14); \
                    IBP training makes the certificate hold. Turn on the poisoning step to plant a backdoor \
                    (the paper's §IV) in the training images first and watch whether the trigger takes." }</p>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); TrainMsg::Run })}>
                    <label>{ "architecture " }
                        <select id="train-arch" onchange={link.callback(|e| TrainMsg::Arch(selected(e)))}>
                        { for ModelSpec::ZOO.iter().map(|a| html! { <option value={*a} selected={*a == s.arch}>{ *a }</option> }) }
                        </select>
                    </label>
                    <label>{ "objective " }
                        <select id="train-objective" onchange={link.callback(|e| TrainMsg::Objective(selected(e)))}>
                        { for ObjectiveKind::ALL.iter().map(|o| html! { <option value={o.id()} selected={*o == s.objective}>{ o.title() }</option> }) }
                        </select>
                    </label>
                    <NumberField id="train-eps" label={radius} value={s.eps.to_string()} min="0" max="1" decimal=true
                        onchange={link.callback(TrainMsg::Eps)} />
                    <NumberField id="train-epochs" label="epochs " value={s.epochs.to_string()} min="1"
                        max={MAX_TRAIN_EPOCHS.to_string()} onchange={link.callback(TrainMsg::Epochs)} />
                    <NumberField id="train-seed" label="seed " value={s.seed.to_string()} min="0"
                        onchange={link.callback(TrainMsg::Seed)} />
                    <label>{ "poisoning " }
                        <select id="train-poison" onchange={link.callback(|e| TrainMsg::Poison(selected(e)))}>
                            <option value="none" selected={s.poison.is_none()}>{ "none" }</option>
                            { for PagePoison::ALL.iter().map(|p| html! {
                                <option value={p.id()} selected={s.poison == Some(*p)}>{ p.title() }</option>
                            }) }
                        </select>
                    </label>
                    { if s.poison.is_some() { html! { <>
                        <NumberField id="train-target" label="target class " value={s.target.to_string()} min="0" max="9"
                            onchange={link.callback(TrainMsg::Target)} />
                        <NumberField id="train-rate" label="poisoned share " value={s.rate.to_string()} min="0"
                            max={MAX_POISON_RATE.to_string()} decimal=true onchange={link.callback(TrainMsg::Rate)} />
                    </> } } else { html! {} } }
                    <RunStop run_id="train-run" run_label="Train" stop_id="train-stop" running={self.running}
                        on_stop={link.callback(|_| TrainMsg::Stop)} />
                </form>
                { form_error("train", &self.form_error) }
                { if self.running || !self.points.is_empty() { html! {
                    <p id="train-status" data-step={self.progress.0.to_string()}
                        data-first-loss={first_loss.map(|l| l.1.to_string()).unwrap_or_default()}
                        data-last-loss={last_loss.map(|l| l.1.to_string()).unwrap_or_default()}>
                        { if self.progress.1 == 0 { "Loading the training images…".to_string() } else {
                            format!("step {} of {}{}", self.progress.0, self.progress.1,
                                last_loss.map(|l| format!(", loss {:.3}", l.1)).unwrap_or_default())
                        } }
                    </p>
                    } } else { html! {} } }
                { for self.poisons.as_ref().map(|(shown, backdoor)| {
                    poisoning::view_poisons(shown, backdoor, DatasetKind::Mnist.class_names())
                }) }
                { if self.points.is_empty() { html! {} } else { self.chart() } }
                { match &self.result {
                    None => html! {},
                    Some(Err(e)) => html! { <p class="error" id="train-error">{ e }</p> },
                    Some(Ok(t)) => html! {
                        <div id="train-result" data-ready="true" data-stopped={t.stopped.to_string()}>
                            <p>{ format!("{}{}", t.title, if t.stopped { " (stopped early)" } else { "" }) }</p>
                            <button id="train-use" onclick={link.callback(|_| TrainMsg::Use)} disabled={self.in_use}>
                                { if self.in_use { "In use in the other panels" } else { "Use this model in the other panels" } }
                            </button>
                            { for t.download.as_ref().map(|url| html! {
                                <a id="train-download" class="download" href={url.clone()} download="perturb-trained.safetensors">
                                    { " Download weights (SafeTensors)" }</a>
                            }) }
                            { for t.backdoor.as_ref().map(|(backdoor, verdicts)| html! { <>
                                { match verdicts {
                                    Ok(v) => poisoning::view_verdicts(v),
                                    Err(e) => html! { <p class="error" id="poison-detectors-error">{ e }</p> },
                                } }
                                { if ctx.props().index < ctx.props().shown.len() {
                                    poisoning::view_check(&ctx.props().shown, ctx.props().index, backdoor, self.flip.as_ref())
                                } else { html! {} } }
                            </> }) }
                        </div>
                    },
                } }
            </section>
        }
    }
}
