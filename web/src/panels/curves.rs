//! The batch view: robust accuracy against ε over a test slice for several zoo models at once,
//! under L∞ PGD on the page's backend, drawn as one curve per model; and the transfer success
//! matrix across the same models (adversarials crafted on each, scored on every other).

use std::rc::Rc;

use perturb::attack::{
    AttackSettings, CurvePoint, Norm, ThreatModel, robustness_curve, transfer_matrix,
};
use perturb::data::Dataset;
use perturb::model::{Classifier, Sequential};
use perturb::zoo::{self, ZooEntry};
use yew::prelude::*;

use crate::components::line_chart::{Frame, Series, accuracy_chart};
use crate::components::{ExportBar, Job, NumberField, form_error};
use crate::platform::Backend;
use crate::platform::zoo::load;
use crate::state::CurveSettings;
use crate::state::checks;
use crate::state::curves::{MAX_BATCH_STEPS, MAX_IMAGES};

/// The budgets of every curve.
pub const EPSILONS: [f32; 6] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3];

/// PGD with `steps` steps from a random start, seed 0: the attack of every curve and row.
fn pgd(steps: usize) -> AttackSettings {
    AttackSettings {
        steps,
        ..AttackSettings::default()
    }
}

/// Properties of [`BatchView`].
#[derive(Properties)]
pub struct BatchProps {
    /// Where the attacks run.
    pub backend: Rc<Backend>,
    /// The test images.
    pub data: Rc<Dataset>,
    /// Parameters to start from (from the URL).
    pub initial: CurveSettings,
    /// Told whenever the parameters change, so the share link follows.
    pub on_change: Callback<CurveSettings>,
}

impl PartialEq for BatchProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend) && Rc::ptr_eq(&self.data, &other.data)
    }
}

/// Messages of [`BatchView`].
pub enum BatchMsg {
    /// Tick or untick a model.
    Toggle(&'static str),
    /// New image count text.
    Images(String),
    /// New step count text.
    Steps(String),
    /// Start.
    Run,
    /// Stop after the current batch.
    Stop,
    /// Batches done of all, over every model.
    Progress(usize, usize),
    /// One model's curve (or why it failed).
    Curve(ZooEntry, Result<Vec<CurvePoint>, String>),
    /// Every selected model is done (or the run was stopped).
    Finished,
    /// New transfer ε text.
    TransferEps(String),
    /// Compute the transfer matrix.
    Transfer,
    /// The target models of the matrix being computed.
    Targets(Vec<&'static str>),
    /// One surrogate's row: success rate on each target.
    Row(&'static str, Vec<f64>),
    /// The matrix is done (or stopped, or failed).
    TransferDone(Result<(), String>),
}

/// The batch view panel.
pub struct BatchView {
    chosen: Vec<&'static str>,
    images: usize,
    steps: usize,
    form_error: Option<String>,
    running: bool,
    job: Job,
    progress: (usize, usize),
    curves: Vec<(ZooEntry, Result<Vec<CurvePoint>, String>)>,
    transfer_eps: f32,
    transferring: bool,
    targets: Vec<&'static str>,
    rows: Vec<(&'static str, Vec<f64>)>,
    transfer_error: Option<String>,
}

/// What one run of the batch view computes.
struct CurveJob {
    entries: Vec<ZooEntry>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    images: usize,
    steps: usize,
    job: Job,
}

async fn run_curves(
    job: CurveJob,
    on_progress: Callback<(usize, usize)>,
    on_curve: Callback<(ZooEntry, Result<Vec<CurvePoint>, String>)>,
) {
    let CurveJob {
        entries,
        backend,
        data,
        images,
        steps,
        job,
    } = job;
    let slice = data.take(images);
    let batch = 50;
    let per_model = slice.len().div_ceil(batch) * EPSILONS.len();
    let total = per_model * entries.len();
    for (m, entry) in entries.into_iter().enumerate() {
        if job.stopped() {
            break;
        }
        let curve: Result<Vec<CurvePoint>, String> = async {
            let (model, _) = load(entry, &backend.device, |_, _| {}).await?;
            robustness_curve(
                &model,
                &slice,
                &backend.device,
                batch,
                Norm::Linf,
                &EPSILONS,
                |threat| pgd(steps).attack(threat),
                |p| {
                    on_progress.emit((m * per_model + p.done, total));
                    job.go_on()
                },
            )
            .await
            .map_err(|e| e.to_string())
        }
        .await;
        // A stopped curve is partial: keep only finished ones.
        if curve.as_ref().is_ok_and(|c| c.len() < EPSILONS.len()) {
            break;
        }
        on_curve.emit((entry, curve));
    }
}

/// The models ticked at first: the first three of the dataset's zoo (standard, PGD-trained,
/// IBP-trained for MNIST).
fn default_choice(kind: perturb::data::DatasetKind) -> Vec<&'static str> {
    zoo::for_dataset(kind).take(3).map(|e| e.id).collect()
}

/// The models the URL ticks that belong to this dataset, else the default choice.
fn initial_choice(props: &BatchProps) -> Vec<&'static str> {
    let kind = props.data.kind;
    match &props.initial.models {
        Some(ids) => ids
            .iter()
            .copied()
            .filter(|id| zoo::find(id).is_some_and(|e| e.dataset == kind))
            .collect(),
        None => default_choice(kind),
    }
}

/// Adversarials crafted on each of `entries` (PGD, seed 0) and scored on every one of them, one
/// surrogate row at a time with the browser handed control in between.
async fn run_transfer(
    job: CurveJob,
    eps: f32,
    on_targets: Callback<Vec<&'static str>>,
    on_row: Callback<(&'static str, Vec<f64>)>,
) -> Result<(), String> {
    let text = |e: perturb::Error| e.to_string();
    let slice = job.data.take(job.images);
    let mut models: Vec<(&'static str, Sequential)> = Vec::new();
    for entry in &job.entries {
        models.push((
            entry.id,
            load(*entry, &job.backend.device, |_, _| {}).await?.0,
        ));
    }
    let targets: Vec<(&str, &dyn Classifier)> = models
        .iter()
        .map(|(id, m)| (*id, m as &dyn Classifier))
        .collect();
    on_targets.emit(models.iter().map(|(id, _)| *id).collect());
    let threat = ThreatModel::new(Norm::Linf, eps).map_err(text)?;
    let attack = pgd(job.steps).attack(&threat);
    for (surrogate, (id, _)) in targets.iter().zip(&models) {
        if job.job.stopped() {
            break;
        }
        let matrix = transfer_matrix(
            std::slice::from_ref(surrogate),
            &targets,
            &slice,
            &job.backend.device,
            50,
            &threat,
            &attack,
            |_, _| true,
        )
        .await
        .map_err(text)?;
        on_row.emit((*id, matrix.success[0].clone()));
    }
    Ok(())
}

impl BatchView {
    /// The ticked models (in zoo order, whatever order they were ticked in) and the form's
    /// settings.
    fn job(&self, ctx: &Context<Self>) -> CurveJob {
        let p = ctx.props();
        CurveJob {
            entries: zoo::for_dataset(p.data.kind)
                .filter(|e| self.chosen.contains(&e.id))
                .collect(),
            backend: p.backend.clone(),
            data: p.data.clone(),
            images: self.images,
            steps: self.steps,
            job: self.job.clone(),
        }
    }

    /// The transfer matrix as a heat-map table: rows craft, columns are attacked.
    fn view_matrix(&self) -> Html {
        if self.targets.is_empty() {
            return html! {};
        }
        let short = |id: &str| id.trim_start_matches("mnist-").to_string();
        let complete = !self.transferring && self.rows.len() == self.targets.len();
        html! {
            <>
            <table id="transfer-matrix" class="matrix" data-ready={complete.to_string()}>
                <caption>{ format!("Transfer success at ε = {} (rows craft PGD-{} adversarials on {} images; columns are attacked;                     the share of the images a column classifies correctly that the row's adversarials fool)",
                    self.transfer_eps, self.steps, self.images) }</caption>
                <tr><th>{ "crafted on ↓ / attacked →" }</th>
                    { for self.targets.iter().map(|t| html! { <th scope="col">{ short(t) }</th> }) }</tr>
                { for self.rows.iter().map(|(s, values)| html! {
                    <tr data-surrogate={*s}>
                        <th scope="row">{ short(s) }</th>
                        { for values.iter().zip(&self.targets).map(|(v, t)| html! {
                            <td data-target={*t} data-value={v.to_string()}
                                title={format!("crafted on {}, attacking {}: {:.1}% fooled", short(s), short(t), v * 100.0)}
                                class={classes!((*s == *t).then_some("white-box"))}
                                style={format!("background: rgba(217, 72, 15, {:.2})", v * 0.85)}>
                                { format!("{:.0}%", v * 100.0) }
                            </td>
                        }) }
                    </tr>
                }) }
            </table>
            { if complete { html! { <ExportBar name="transfer-matrix" csv={self.matrix_csv()} /> } } else { html! {} } }
            </>
        }
    }

    /// The transfer matrix as CSV: one row per (crafted on, attacked) pair.
    fn matrix_csv(&self) -> String {
        let mut csv = String::from("crafted_on,attacked,eps,steps,images,fooled\n");
        for (s, values) in &self.rows {
            for (v, t) in values.iter().zip(&self.targets) {
                csv.push_str(&format!(
                    "{s},{t},{},{},{},{v}\n",
                    self.transfer_eps, self.steps, self.images
                ));
            }
        }
        csv
    }

    fn plot(&self) -> Html {
        let series: Vec<Series> = self
            .curves
            .iter()
            .filter_map(|(entry, curve)| {
                let curve = curve.as_ref().ok()?;
                Some(Series {
                    id: entry.id.to_string(),
                    label: entry.id.trim_start_matches("mnist-").to_string(),
                    points: curve
                        .iter()
                        .map(|p| (p.epsilon, p.cumulative_robust_accuracy))
                        .collect(),
                })
            })
            .collect();
        let frame = Frame {
            id: "batch-plot",
            aria: "robust accuracy against epsilon, one curve per model",
            x_max: EPSILONS[EPSILONS.len() - 1],
            x_ticks: EPSILONS.to_vec(),
            caption: "ε (L∞) → robust accuracy",
            x_name: "ε (L∞)",
        };
        accuracy_chart(&frame, &series)
    }
}

impl Component for BatchView {
    type Message = BatchMsg;
    type Properties = BatchProps;

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        let kind = ctx.props().data.kind;
        if kind != old.data.kind {
            self.job.stop();
            self.chosen = default_choice(kind);
            self.curves.clear();
            self.targets.clear();
            self.rows.clear();
        }
        true
    }

    fn create(ctx: &Context<Self>) -> Self {
        Self {
            chosen: initial_choice(ctx.props()),
            images: ctx.props().initial.images,
            steps: ctx.props().initial.steps,
            form_error: None,
            running: false,
            job: Job::new(),
            progress: (0, 0),
            curves: Vec::new(),
            transfer_eps: ctx.props().initial.transfer_eps,
            transferring: false,
            targets: Vec::new(),
            rows: Vec::new(),
            transfer_error: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        let edit = matches!(
            msg,
            BatchMsg::Toggle(_)
                | BatchMsg::Images(_)
                | BatchMsg::Steps(_)
                | BatchMsg::TransferEps(_)
        );
        let shown = self.update_state(ctx, msg);
        if edit && self.form_error.is_none() {
            ctx.props().on_change.emit(CurveSettings {
                models: Some(self.chosen.clone()),
                images: self.images,
                steps: self.steps,
                transfer_eps: self.transfer_eps,
            });
        }
        shown
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        self.view_panel(ctx)
    }
}

impl BatchView {
    /// Apply one message.
    fn update_state(&mut self, ctx: &Context<Self>, msg: BatchMsg) -> bool {
        match msg {
            BatchMsg::Toggle(id) => {
                if let Some(i) = self.chosen.iter().position(|c| *c == id) {
                    self.chosen.remove(i);
                } else {
                    self.chosen.push(id);
                }
            }
            BatchMsg::Images(raw) => match checks::count(&raw, "images", MAX_IMAGES) {
                Ok(n) => {
                    self.images = n;
                    self.form_error = None;
                }
                Err(e) => self.form_error = Some(e),
            },
            BatchMsg::Steps(raw) => match checks::count(&raw, "steps", MAX_BATCH_STEPS) {
                Ok(n) => {
                    self.steps = n;
                    self.form_error = None;
                }
                Err(e) => self.form_error = Some(e),
            },
            BatchMsg::TransferEps(raw) => match checks::eps(&raw) {
                Ok(e) => {
                    self.transfer_eps = e;
                    self.form_error = None;
                }
                Err(e) => self.form_error = Some(e),
            },
            BatchMsg::Transfer => {
                if self.running || self.transferring || self.form_error.is_some() {
                    return false;
                }
                if self.chosen.is_empty() {
                    self.form_error = Some("tick at least one model".into());
                    return true;
                }
                self.transferring = true;
                self.targets.clear();
                self.rows.clear();
                self.transfer_error = None;
                self.job = Job::new();
                let fut = run_transfer(
                    self.job(ctx),
                    self.transfer_eps,
                    ctx.link().callback(BatchMsg::Targets),
                    ctx.link().callback(|(s, r)| BatchMsg::Row(s, r)),
                );
                ctx.link()
                    .send_future(async move { BatchMsg::TransferDone(fut.await) });
            }
            BatchMsg::Targets(targets) => self.targets = targets,
            BatchMsg::Row(surrogate, row) => self.rows.push((surrogate, row)),
            BatchMsg::TransferDone(result) => {
                self.transferring = false;
                self.transfer_error = result.err();
            }
            BatchMsg::Run => {
                if self.running || self.transferring || self.form_error.is_some() {
                    return false;
                }
                if self.chosen.is_empty() {
                    self.form_error = Some("tick at least one model".into());
                    return true;
                }
                self.running = true;
                self.curves.clear();
                self.progress = (0, 0);
                self.job = Job::new();
                let fut = run_curves(
                    self.job(ctx),
                    ctx.link().callback(|(d, t)| BatchMsg::Progress(d, t)),
                    ctx.link().callback(|(e, c)| BatchMsg::Curve(e, c)),
                );
                ctx.link().send_future(async move {
                    fut.await;
                    BatchMsg::Finished
                });
            }
            BatchMsg::Stop => self.job.stop(),
            BatchMsg::Progress(done, total) => self.progress = (done, total),
            BatchMsg::Curve(entry, curve) => self.curves.push((entry, curve)),
            BatchMsg::Finished => self.running = false,
        }
        true
    }

    fn view_panel(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let done = !self.running && !self.curves.is_empty();
        html! {
            <section id="batch" class="panel">
                <h2>{ "Robustness curves and transfer" }</h2>
                <p class="note">{ "Robust accuracy against ε over the first test images, L∞ PGD from a random start. \
                    An image counts as robust at ε only if no attack at this or any smaller ε broke it \
                    (the smaller balls lie inside the larger), so every curve falls or stays flat." }</p>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); BatchMsg::Run })}>
                    <fieldset class="models">
                    { for zoo::for_dataset(ctx.props().data.kind).map(|m| {
                        let id = m.id;
                        html! {
                            <label><input type="checkbox" class="batch-model" value={id}
                                checked={self.chosen.contains(&id)}
                                onchange={link.callback(move |_| BatchMsg::Toggle(id))} />{ format!(" {}", m.title) }</label>
                        }
                    }) }
                    </fieldset>
                    <NumberField id="batch-images" label="images " value={self.images.to_string()} min="1"
                        max={MAX_IMAGES.to_string()} onchange={link.callback(BatchMsg::Images)} />
                    <NumberField id="batch-steps" label="PGD steps " value={self.steps.to_string()} min="1"
                        max={MAX_BATCH_STEPS.to_string()} onchange={link.callback(BatchMsg::Steps)} />
                    <button id="batch-run" type="submit" disabled={self.running || self.transferring}>{ "Run curves" }</button>
                    <NumberField id="transfer-eps" label="transfer ε " value={self.transfer_eps.to_string()} min="0"
                        max="1" decimal=true onchange={link.callback(BatchMsg::TransferEps)} />
                    <button id="transfer-run" type="button" disabled={self.running || self.transferring}
                        onclick={link.callback(|_| BatchMsg::Transfer)}>{ "Transfer matrix" }</button>
                    <button id="batch-stop" type="button" disabled={!(self.running || self.transferring)}
                        onclick={link.callback(|_| BatchMsg::Stop)}>{ "Stop" }</button>
                </form>
                { form_error("batch", &self.form_error) }
                { if self.running {
                    html! { <p id="batch-status">{ format!("Attacking… batch {} of {}", self.progress.0, self.progress.1) }</p> }
                } else if done {
                    html! { <p id="batch-status" data-ready="true">{ format!("{} curve(s) over {} images, PGD-{}", self.curves.len(), self.images, self.steps) }</p> }
                } else { html! {} } }
                { for self.curves.iter().filter_map(|(e, c)| c.as_ref().err().map(|err| html! {
                    <p class="error">{ format!("{}: {err}", e.id) }</p>
                })) }
                { self.plot() }
                { if self.transferring { html! { <p id="transfer-status">{ format!("Transfer: {} of {} rows", self.rows.len(), self.targets.len().max(self.chosen.len())) }</p> } } else { html! {} } }
                { for self.transfer_error.as_ref().map(|e| html! { <p class="error">{ e }</p> }) }
                { self.view_matrix() }
            </section>
        }
    }
}
