//! The batch view: robust accuracy against ε over a test slice for several zoo models at once,
//! under L∞ PGD on the page's backend, drawn as one curve per model.

use std::cell::Cell;
use std::rc::Rc;

use perturb::attack::{Attack, CurvePoint, Norm, PgdConfig, robustness_curve};
use perturb::data::Dataset;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend::Backend;
use crate::line_chart::{Frame, Series, accuracy_chart};
use crate::settings::AttackSettings;
use crate::zoo::{self, ZOO, ZooEntry};

/// The budgets of every curve.
pub const EPSILONS: [f32; 6] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3];
/// Most test images per curve.
pub const MAX_IMAGES: usize = 1000;
/// Most PGD steps per budget.
pub const MAX_BATCH_STEPS: usize = 100;

/// Properties of [`BatchView`].
#[derive(Properties)]
pub struct BatchProps {
    /// Where the attacks run.
    pub backend: Rc<Backend>,
    /// The test images.
    pub data: Rc<Dataset>,
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
}

/// The batch view panel.
pub struct BatchView {
    chosen: Vec<&'static str>,
    images: usize,
    steps: usize,
    form_error: Option<String>,
    running: bool,
    stop: Rc<Cell<bool>>,
    progress: (usize, usize),
    curves: Vec<(ZooEntry, Result<Vec<CurvePoint>, String>)>,
}

/// What one run of the batch view computes.
struct CurveJob {
    entries: Vec<ZooEntry>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    images: usize,
    steps: usize,
    stop: Rc<Cell<bool>>,
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
        stop,
    } = job;
    let slice = data.take(images);
    let batch = 50;
    let per_model = slice.len().div_ceil(batch) * EPSILONS.len();
    let total = per_model * entries.len();
    for (m, entry) in entries.into_iter().enumerate() {
        if stop.get() {
            break;
        }
        let curve: Result<Vec<CurvePoint>, String> = async {
            let model = zoo::load(entry, &backend.device).await?;
            robustness_curve(
                &model,
                &slice,
                &backend.device,
                batch,
                Norm::Linf,
                &EPSILONS,
                |threat| {
                    Attack::Pgd(PgdConfig {
                        seed: 0,
                        ..PgdConfig::pgd(threat, steps)
                    })
                },
                |p| {
                    on_progress.emit((m * per_model + p.done, total));
                    !stop.get()
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

impl BatchView {
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
        };
        accuracy_chart(&frame, &series)
    }
}

impl Component for BatchView {
    type Message = BatchMsg;
    type Properties = BatchProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Self {
            chosen: vec![ZOO[0].id, ZOO[1].id, ZOO[2].id],
            images: 100,
            steps: 10,
            form_error: None,
            running: false,
            stop: Rc::new(Cell::new(false)),
            progress: (0, 0),
            curves: Vec::new(),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            BatchMsg::Toggle(id) => {
                if let Some(i) = self.chosen.iter().position(|c| *c == id) {
                    self.chosen.remove(i);
                } else {
                    self.chosen.push(id);
                }
            }
            BatchMsg::Images(raw) => {
                match AttackSettings::check_count(&raw, "images", MAX_IMAGES) {
                    Ok(n) => {
                        self.images = n;
                        self.form_error = None;
                    }
                    Err(e) => self.form_error = Some(e),
                }
            }
            BatchMsg::Steps(raw) => {
                match AttackSettings::check_count(&raw, "steps", MAX_BATCH_STEPS) {
                    Ok(n) => {
                        self.steps = n;
                        self.form_error = None;
                    }
                    Err(e) => self.form_error = Some(e),
                }
            }
            BatchMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                if self.chosen.is_empty() {
                    self.form_error = Some("tick at least one model".into());
                    return true;
                }
                self.running = true;
                self.curves.clear();
                self.progress = (0, 0);
                self.stop = Rc::new(Cell::new(false));
                // Zoo order, whatever order they were ticked in.
                let entries: Vec<ZooEntry> = ZOO
                    .iter()
                    .copied()
                    .filter(|e| self.chosen.contains(&e.id))
                    .collect();
                let p = ctx.props();
                let job = CurveJob {
                    entries,
                    backend: p.backend.clone(),
                    data: p.data.clone(),
                    images: self.images,
                    steps: self.steps,
                    stop: self.stop.clone(),
                };
                let fut = run_curves(
                    job,
                    ctx.link().callback(|(d, t)| BatchMsg::Progress(d, t)),
                    ctx.link().callback(|(e, c)| BatchMsg::Curve(e, c)),
                );
                ctx.link().send_future(async move {
                    fut.await;
                    BatchMsg::Finished
                });
            }
            BatchMsg::Stop => self.stop.set(true),
            BatchMsg::Progress(done, total) => self.progress = (done, total),
            BatchMsg::Curve(entry, curve) => self.curves.push((entry, curve)),
            BatchMsg::Finished => self.running = false,
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let value = |e: Event| e.target_unchecked_into::<HtmlInputElement>().value();
        let done = !self.running && !self.curves.is_empty();
        html! {
            <section id="batch" class="panel">
                <h2>{ "Robustness curves" }</h2>
                <p class="note">{ "Robust accuracy against ε over the first test images, L∞ PGD from a random start. \
                    An image counts as robust at ε only if no attack at this or any smaller ε broke it \
                    (the smaller balls lie inside the larger), so every curve falls or stays flat." }</p>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); BatchMsg::Run })}>
                    <fieldset class="models">
                    { for ZOO.iter().map(|m| {
                        let id = m.id;
                        html! {
                            <label><input type="checkbox" class="batch-model" value={id}
                                checked={self.chosen.contains(&id)}
                                onchange={link.callback(move |_| BatchMsg::Toggle(id))} />{ format!(" {}", m.title) }</label>
                        }
                    }) }
                    </fieldset>
                    <label>{ "images " }
                        <input id="batch-images" type="number" min="1" max={MAX_IMAGES.to_string()}
                            value={self.images.to_string()} onchange={link.callback(move |e: Event| BatchMsg::Images(value(e)))} />
                    </label>
                    <label>{ "PGD steps " }
                        <input id="batch-steps" type="number" min="1" max={MAX_BATCH_STEPS.to_string()}
                            value={self.steps.to_string()} onchange={link.callback(move |e: Event| BatchMsg::Steps(value(e)))} />
                    </label>
                    <button id="batch-run" type="submit" disabled={self.running}>{ "Run curves" }</button>
                    <button id="batch-stop" type="button" disabled={!self.running}
                        onclick={link.callback(|_| BatchMsg::Stop)}>{ "Stop" }</button>
                </form>
                { for self.form_error.as_ref().map(|e| html! { <p class="warning" id="batch-form-error">{ e }</p> }) }
                { if self.running {
                    html! { <p id="batch-status">{ format!("Attacking… batch {} of {}", self.progress.0, self.progress.1) }</p> }
                } else if done {
                    html! { <p id="batch-status" data-ready="true">{ format!("{} curve(s) over {} images, PGD-{}", self.curves.len(), self.images, self.steps) }</p> }
                } else { html! {} } }
                { for self.curves.iter().filter_map(|(e, c)| c.as_ref().err().map(|err| html! {
                    <p class="error">{ format!("{}: {err}", e.id) }</p>
                })) }
                { self.plot() }
            </section>
        }
    }
}
