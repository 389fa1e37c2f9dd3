//! The attack lab: FGSM, PGD, APGD or C&W, or the query-only Square and HopSkipJump, on the shown
//! image, on the page's backend, with a live per-step plot (the loss; Square's margin;
//! HopSkipJump's distance) and query counter, a Stop button, and original / perturbation /
//! adversarial side by side with class probabilities before and after.

use std::rc::Rc;

use perturb::attack::{AttackMethod, AttackProgress, AttackSettings, FabConfig, Norm, TraceStep};
use perturb::data::Dataset;
use perturb::eval::probabilities;
use perturb::model::Sequential;
use perturb::runtime::readback::read_all_f32;
use yew::prelude::*;

use super::{PanelProps, apply_edit};
use crate::components::probability_bars::{argmax, probability_bars};
use crate::components::{Digit, ExportBar, Job, NumberField, RunStop, form_error, selected};
use crate::platform::{Backend, BackendKind};
use crate::state::attack::{MAX_QUERIES, MAX_RESTARTS, MAX_STEPS, for_run};
use crate::state::checks::{self, MAX_L2};

/// Properties of the panel.
pub type AttackLabProps = PanelProps<AttackSettings>;

/// What an attack run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct LabResult {
    /// The adversarial image.
    pub adversarial: Vec<f32>,
    /// Adversarial minus original.
    pub perturbation: Vec<f32>,
    /// Class probabilities of the original.
    pub before: Vec<f32>,
    /// Class probabilities of the adversarial.
    pub after: Vec<f32>,
    /// The run was stopped before its last step.
    pub stopped: bool,
    /// Model queries the run spent (query-only attacks).
    pub queries: Option<usize>,
}

impl LabResult {
    /// The perturbation's L∞ and L2 norms.
    fn norms(&self) -> (f32, f32) {
        let linf = self.perturbation.iter().fold(0.0f32, |m, d| m.max(d.abs()));
        let l2 = self.perturbation.iter().map(|d| d * d).sum::<f32>().sqrt();
        (linf, l2)
    }
}

/// Messages of [`AttackLab`].
pub enum LabMsg {
    /// Change the method.
    Method(String),
    /// Change the norm.
    Norm(String),
    /// New ε text from the form.
    Eps(String),
    /// New step count text from the form.
    Steps(String),
    /// New step size text (empty: the default).
    StepSize(String),
    /// New restart count text from the form.
    Restarts(String),
    /// New query budget text from the form.
    Queries(String),
    /// New target class (empty: untargeted).
    Target(String),
    /// Start a run.
    Run,
    /// Ask the running attack to stop after its current step.
    Stop,
    /// Progress: trace points read (loss and success rate per step), queries spent so far,
    /// steps done.
    Step(Vec<TraceStep>, Option<usize>, usize),
    /// The run ended.
    Done(Result<LabResult, String>),
}

/// The attack lab panel.
pub struct AttackLab {
    settings: AttackSettings,
    form_error: Option<String>,
    running: bool,
    job: Job,
    trace: Vec<TraceStep>,
    /// The settings of the run shown.
    ran: Option<AttackSettings>,
    result: Option<Result<LabResult, String>>,
    /// When the running attack started (ms since the epoch).
    started: f64,
    /// Milliseconds per step measured on the last run on this backend.
    step_ms: Option<f64>,
    /// Queries the running (or last) query-only attack has spent.
    queries: Option<usize>,
    /// Steps the running (or last) attack has taken.
    done: usize,
}

/// Run the attack `settings` describe on the shown image.
async fn run_attack(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    index: usize,
    settings: AttackSettings,
    job: Job,
    on_step: Callback<(Vec<TraceStep>, Option<usize>, usize)>,
) -> Result<LabResult, String> {
    let device = &backend.device;
    let text = |e: perturb::Error| e.to_string();
    let (images, _) = data.batch(&[index], device).map_err(text)?;
    let label = usize::from(data.labels()[index]);
    if settings.target == Some(label) {
        return Err(format!(
            "the target class {label} is the true class; pick another"
        ));
    }
    let settings = for_run(settings, backend.kind == BackendKind::WebGpu);
    settings.validate().map_err(text)?;
    let threat = settings.threat(settings.epsilon, 1).map_err(text)?;
    let model = model.as_ref();
    let on_progress = |p: AttackProgress| {
        on_step.emit((p.trace, p.queries, p.done));
        job.go_on()
    };
    let outcome = settings
        .attack(&threat)
        .run(model, images.clone(), &[label], &threat, on_progress)
        .await
        .map_err(text)?;
    // One round trip for both probability rows and the adversarial image.
    let mut read = read_all_f32(vec![
        probabilities(model, images).flatten(0, 1),
        probabilities(model, outcome.adversarial.clone()).flatten(0, 1),
        outcome.adversarial.flatten(0, 3),
    ])
    .await
    .map_err(text)?;
    let (adversarial, after, before) = (read.remove(2), read.remove(1), read.remove(0));
    let original = data.image(index);
    let perturbation = adversarial
        .iter()
        .zip(&original)
        .map(|(a, o)| a - o)
        .collect();
    Ok(LabResult {
        adversarial,
        perturbation,
        before,
        after,
        stopped: outcome.cancelled,
        queries: outcome.samples[0].queries,
    })
}

impl AttackLab {
    /// The running attack's step, and once a step has run, the time left at its pace.
    fn status(&self, classes: usize) -> String {
        let done = self.done;
        let total =
            self.settings.steps * self.settings.restarts.max(1) * self.runs_per_restart(classes);
        if let Some(q) = self.queries {
            return format!("Running… {q} of {} queries", self.settings.queries);
        }
        let paced = matches!(
            self.settings.method,
            AttackMethod::Pgd | AttackMethod::Apgd | AttackMethod::Fab | AttackMethod::FabT
        );
        if done == 0 || !paced {
            return format!("Running… step {done}");
        }
        let per_step = (js_sys::Date::now() - self.started) / done as f64;
        let left = total.saturating_sub(done);
        format!(
            "Running… step {done} of {total}, about {} left",
            super::estimate(left, per_step)
        )
    }

    /// What a run will cost on this backend, when a step is slow enough to matter, with an
    /// offer of fewer steps.
    fn view_cost(&self, ctx: &Context<Self>) -> Html {
        let Some(ms) = ctx.props().forward_ms else {
            return html! {};
        };
        let s = self.settings;
        // A step is a forward and a backward pass: at least three forward passes until a run has
        // measured it (in the browser's CPU backend the backward pass costs far more).
        // FAB differentiates every class's logit at each step: one forward and backward pass of
        // the image repeated once per class.
        let classes = ctx.props().data.kind.class_names().len() as f64;
        let (step_ms, measured) = match self.step_ms {
            Some(step) => (step, true),
            None if s.method == AttackMethod::Fab => (3.0 * ms * classes, false),
            None => (3.0 * ms, false),
        };
        if step_ms < 200.0 || s.method == AttackMethod::Fgsm || s.method.is_query_only() {
            return html! {};
        }
        let steps = s.steps * s.restarts.max(1) * self.runs_per_restart(classes as usize);
        let fewer = (s.steps > 5).then(|| {
            html! {
                <button id="attack-fewer" type="button"
                    onclick={ctx.link().callback(|_| LabMsg::Steps("5".into()))}>{ "Use 5 steps" }</button>
            }
        });
        html! {
            <p id="attack-cost" class="note">
                { format!("One step costs {} {:.1} s on this backend (a forward and a backward pass{}); \
                    this run: {} {}. ",
                    if measured { "about" } else { "at least" },
                    step_ms / 1000.0,
                    if measured { ", measured on the last run" } else { "" },
                    if measured { "about" } else { "at least" },
                    super::estimate(steps, step_ms)) }
                { for fewer }
            </p>
        }
    }
}

impl AttackLab {
    /// FAB-T runs once per target class (the most likely wrong ones); the others once.
    fn runs_per_restart(&self, classes: usize) -> usize {
        if self.settings.method == AttackMethod::FabT {
            FabConfig::T_TARGETS.min(classes.saturating_sub(1)).max(1)
        } else {
            1
        }
    }
}

/// A small SVG line chart of the mean loss per step (`what`: the axis label).
fn loss_plot(trace: &[TraceStep], what: &str) -> Html {
    let (w, h) = (320.0f32, 120.0f32);
    if trace.is_empty() {
        return html! { <svg id="loss-plot" class="plot" width={w.to_string()} height={h.to_string()} viewBox={format!("0 0 {w} {h}")} data-points="0" /> };
    }
    let (lo, hi) = trace.iter().fold((f32::MAX, f32::MIN), |(lo, hi), t| {
        (lo.min(t.mean_loss), hi.max(t.mean_loss))
    });
    let span = (hi - lo).max(1e-6);
    let n = trace.len().max(2) - 1;
    let coords: Vec<(f32, f32)> = trace
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let x = 30.0 + (w - 40.0) * i as f32 / n as f32;
            let y = 10.0 + (h - 30.0) * (1.0 - (t.mean_loss - lo) / span);
            (x, y)
        })
        .collect();
    let points: Vec<String> = coords
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    html! {
        <svg id="loss-plot" class="plot" width={w.to_string()} height={h.to_string()} viewBox={format!("0 0 {w} {h}")}
            data-points={trace.len().to_string()} data-first={trace[0].mean_loss.to_string()}
            data-last={trace[trace.len() - 1].mean_loss.to_string()} role="img" aria-label={what.to_string()}>
            <text x="2" y="14" class="axis">{ format!("{hi:.2}") }</text>
            <text x="2" y={(h - 20.0).to_string()} class="axis">{ format!("{lo:.2}") }</text>
            <text x={(w / 2.0 - 40.0).to_string()} y={(h - 4.0).to_string()} class="axis">{ what }</text>
            <polyline class="trace" points={points.join(" ")} fill="none" stroke-width="2" />
            // A read-out per step on hover while the points are few enough to aim at.
            { for (trace.len() <= 200).then(|| html! { <>{ for trace.iter().zip(&coords).map(|(t, (x, y))| {
                html! {
                    <circle class="point trace-point" cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="3">
                        <title>{ format!("restart {} step {}: {:.4}", t.restart + 1, t.step, t.mean_loss) }</title>
                    </circle>
                }
            }) }</> }) }
        </svg>
    }
}

/// The trace as CSV: one row per step.
fn trace_csv(trace: &[TraceStep]) -> String {
    let mut csv = String::from("restart,step,mean_loss,success_rate\n");
    for t in trace {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            t.restart, t.step, t.mean_loss, t.success_rate
        ));
    }
    csv
}

impl AttackLab {
    /// The run shown as JSON: its settings, the image, the probabilities before and after, the
    /// perturbation's norms and the trace.
    fn result_json(&self, ctx: &Context<Self>) -> Option<String> {
        let (Some(Ok(r)), Some(ran)) = (&self.result, self.ran) else {
            return None;
        };
        let props = ctx.props();
        let (linf, l2) = r.norms();
        let value = serde_json::json!({
            "dataset": props.data.kind.id(),
            "image": props.index,
            "true_class": props.data.labels()[props.index],
            "settings": ran,
            "class_before": argmax(&r.before),
            "class_after": argmax(&r.after),
            "probabilities_before": r.before,
            "probabilities_after": r.after,
            "linf": linf,
            "l2": l2,
            "stopped": r.stopped,
            "queries": r.queries,
            "trace": self.trace.iter().map(|t| serde_json::json!({
                "restart": t.restart, "step": t.step, "mean_loss": t.mean_loss, "success_rate": t.success_rate,
            })).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&value).ok()
    }

    /// Apply a checked form edit; a refused value leaves the settings as they were.
    fn edit(
        &mut self,
        ctx: &Context<Self>,
        apply: impl FnOnce(&mut AttackSettings) -> Result<(), String>,
    ) {
        apply_edit(
            &mut self.settings,
            &mut self.form_error,
            &ctx.props().on_change,
            apply,
        );
    }

    /// The run's outcome in words (announced to screen readers) and, after a run, the original,
    /// perturbation and adversarial side by side; before one, what a run will show.
    fn view_result(&self, ctx: &Context<Self>) -> (Html, Html) {
        let props = ctx.props();
        let classes = props.data.kind.class_names();
        let label = usize::from(props.data.labels()[props.index]);
        match &self.result {
            None if self.running => (html! {}, html! {}),
            None => (
                html! {},
                html! {
                    <p id="attack-empty" class="empty">
                        { "Run an attack: the original, the perturbation and the adversarial image appear here, \
                           with the class probabilities before and after." }
                    </p>
                },
            ),
            Some(Err(e)) => (
                html! { <p id="attack-result" class="error" data-ready="error">{ e }</p> },
                html! {},
            ),
            Some(Ok(r)) => {
                let (was, now) = (argmax(&r.before), argmax(&r.after));
                let (linf, l2) = r.norms();
                let target = self.ran.and_then(|s| s.target);
                if target.is_none() && was != label {
                    return (
                        html! {
                            <p id="attack-result" data-ready="true" data-success="already" data-class={was.to_string()}>
                                { format!("Nothing to attack: the model already reads this {} as {}.", classes[label], classes[was]) }
                            </p>
                        },
                        html! {},
                    );
                }
                let success = match target {
                    Some(target) => now == target,
                    None => now != label,
                };
                let shape = props.data.image_shape();
                let photo = shape[0] == 3;
                let summary = html! {
                    <>
                    <p id="attack-result" data-ready="true" data-success={success.to_string()}
                        data-class={now.to_string()} data-linf={format!("{linf:.4}")} data-l2={format!("{l2:.4}")}>
                        { match (success, self.ran.and_then(|s| s.target)) {
                            (true, _) => format!("Fooled: {} → {}", classes[was], classes[now]),
                            (false, Some(t)) => format!("Not {} — the targeted attack failed (now {})", classes[t], classes[now]),
                            (false, None) => format!("Still {} — the attack failed at this budget", classes[now]),
                        } }
                        { format!("  (‖δ‖∞ = {linf:.3}, ‖δ‖₂ = {l2:.2}{})", if r.stopped { ", stopped early" } else { "" }) }
                    </p>
                    { match r.queries {
                        Some(q) => html! {
                            <p id="attack-spent" data-queries={q.to_string()}>
                                { format!("{q} queries to the model, no gradients") }
                            </p>
                        },
                        None => html! {},
                    } }
                    </>
                };
                let figures = html! {
                    <div class="triptych">
                        <figure>
                            <Digit pixels={props.data.image(props.index)} shape={shape} label="original image" />
                            <figcaption>{ "original" }</figcaption>
                            { probability_bars("probs-before", &r.before, classes, was) }
                        </figure>
                        <figure>
                            <Digit pixels={r.perturbation.clone()} shape={shape} signed={Some(linf.max(1e-6))}
                                label={if photo { "perturbation, amplified" } else { "perturbation, blue negative, red positive" }} />
                            <figcaption>{ if photo {
                                format!("perturbation ×{:.0} (±{linf:.4} → full range)", 0.5 / linf.max(1e-6))
                            } else {
                                format!("perturbation (±{linf:.3} → blue/red)")
                            } }</figcaption>
                        </figure>
                        <figure>
                            <Digit pixels={r.adversarial.clone()} shape={shape} label="adversarial image" />
                            <figcaption>{ "adversarial" }</figcaption>
                            { probability_bars("probs-after", &r.after, classes, now) }
                        </figure>
                    </div>
                };
                (summary, figures)
            }
        }
    }
}

impl Component for AttackLab {
    type Message = LabMsg;
    type Properties = AttackLabProps;

    fn create(ctx: &Context<Self>) -> Self {
        Self {
            settings: ctx.props().initial,
            form_error: None,
            running: false,
            job: Job::new(),
            trace: Vec::new(),
            ran: None,
            result: None,
            started: 0.0,
            step_ms: None,
            queries: None,
            done: 0,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if ctx.props().subject_changed(old) {
            self.job.stop();
            self.result = None;
            self.trace.clear();
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            LabMsg::Method(raw) => self.edit(ctx, |s| {
                s.method = raw.parse::<AttackMethod>().map_err(|e| e.to_string())?;
                if matches!(s.method, AttackMethod::Hsj | AttackMethod::FabT) {
                    s.target = None;
                }
                if s.method == AttackMethod::Cw && s.norm != Norm::L2 {
                    s.norm = Norm::L2;
                    s.epsilon = s.epsilon.max(2.0);
                    s.step_size = None;
                }
                Ok(())
            }),
            LabMsg::Norm(raw) => self.edit(ctx, |s| {
                let norm = raw.parse::<Norm>().map_err(|e| e.to_string())?;
                if norm != s.norm {
                    if s.method == AttackMethod::Cw {
                        return Err("C&W is an L2 attack".into());
                    }
                    // Keep the budget meaningful in the new norm.
                    s.epsilon = if norm == Norm::L2 { 2.0 } else { 0.15 };
                    s.step_size = None;
                    s.norm = norm;
                }
                Ok(())
            }),
            LabMsg::Eps(raw) => self.edit(ctx, |s| {
                s.epsilon = checks::radius(&raw, s.norm)?;
                Ok(())
            }),
            LabMsg::Steps(raw) => self.edit(ctx, |s| {
                s.steps = checks::count(&raw, "steps", MAX_STEPS)?;
                Ok(())
            }),
            LabMsg::StepSize(raw) => self.edit(ctx, |s| {
                s.step_size = checks::step_size(&raw, s.norm)?;
                Ok(())
            }),
            LabMsg::Restarts(raw) => self.edit(ctx, |s| {
                s.restarts = checks::count(&raw, "restarts", MAX_RESTARTS)?;
                Ok(())
            }),
            LabMsg::Queries(raw) => self.edit(ctx, |s| {
                s.queries = checks::count_from(&raw, "queries", 2, MAX_QUERIES)?;
                Ok(())
            }),
            LabMsg::Target(raw) => {
                let classes = ctx.props().data.kind.classes();
                self.edit(ctx, |s| {
                    s.target = checks::target(&raw, classes)?;
                    Ok(())
                })
            }
            LabMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.started = js_sys::Date::now();
                self.trace.clear();
                self.done = 0;
                self.queries = self.settings.method.is_query_only().then_some(0);
                self.result = None;
                self.ran = Some(self.settings);
                self.job = Job::new();
                let props = ctx.props();
                let fut = run_attack(
                    props.model.clone(),
                    props.backend.clone(),
                    props.data.clone(),
                    props.index,
                    self.settings,
                    self.job.clone(),
                    ctx.link()
                        .callback(|(points, queries, done)| LabMsg::Step(points, queries, done)),
                );
                ctx.link()
                    .send_future(async move { LabMsg::Done(fut.await) });
            }
            LabMsg::Stop => self.job.stop(),
            LabMsg::Step(points, queries, done) => {
                if self.running {
                    self.trace.extend(points);
                    self.done = done;
                    if queries.is_some() {
                        self.queries = queries;
                    }
                }
            }
            LabMsg::Done(result) => {
                self.running = false;
                if self.done >= 2 {
                    self.step_ms = Some((js_sys::Date::now() - self.started) / self.done as f64);
                }
                self.queries = None;
                self.result = Some(result);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = self.settings;
        let pgd = s.method == AttackMethod::Pgd;
        let cw = s.method == AttackMethod::Cw;
        let apgd = s.method == AttackMethod::Apgd;
        let hsj = s.method == AttackMethod::Hsj;
        let fab = matches!(s.method, AttackMethod::Fab | AttackMethod::FabT);
        let query_only = s.method.is_query_only();
        let plotted = match s.method {
            AttackMethod::Square => "iteration → margin",
            AttackMethod::Hsj => "iteration → distance",
            _ => "step → loss",
        };
        let classes = ctx.props().data.kind.class_names();
        let (summary, figures) = self.view_result(ctx);
        let alpha = |e: Event| {
            e.target_unchecked_into::<web_sys::HtmlInputElement>()
                .value()
        };
        html! {
            <section id="attack-lab" class="panel">
                <h2>{ "Attack lab" }</h2>
                <div class="lab">
                <div class="lab-controls">
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); LabMsg::Run })}>
                    <label>{ "Attack " }
                        <select id="attack-method" onchange={link.callback(|e| LabMsg::Method(selected(e)))}>
                            <option value="fgsm" selected={s.method == AttackMethod::Fgsm}>{ "FGSM / FGM" }</option>
                            <option value="pgd" selected={pgd}>{ "PGD" }</option>
                            <option value="cw" selected={cw}>{ "C&W (L2)" }</option>
                            <option value="apgd" selected={apgd}>{ "APGD" }</option>
                            <option value="fab" selected={s.method == AttackMethod::Fab}>{ "FAB (minimum norm)" }</option>
                            <option value="fab-t" selected={s.method == AttackMethod::FabT}>{ "FAB-T (minimum norm, 9 targets)" }</option>
                            <option value="square" selected={s.method == AttackMethod::Square}>{ "Square (black box: scores)" }</option>
                            <option value="hsj" selected={hsj}>{ "HopSkipJump (black box: labels)" }</option>
                        </select>
                    </label>
                    <label>{ "norm " }
                        <select id="attack-norm" disabled={cw} onchange={link.callback(|e| LabMsg::Norm(selected(e)))}>
                            <option value="linf" selected={s.norm == Norm::Linf}>{ "L∞" }</option>
                            <option value="l2" selected={s.norm == Norm::L2}>{ "L2" }</option>
                        </select>
                    </label>
                    <NumberField id="attack-eps" label="ε " value={s.epsilon.to_string()} min="0" decimal=true
                        max={if s.norm == Norm::L2 { MAX_L2.to_string() } else { "1".into() }}
                        title={if s.method.is_minimum_norm() { "largest norm counted as a success" } else { "budget" }}
                        onchange={link.callback(LabMsg::Eps)} />
                    <NumberField id="attack-steps" label="steps " value={s.steps.to_string()} min="1"
                        max={MAX_STEPS.to_string()} disabled={!(pgd || cw || apgd || hsj || fab)} onchange={link.callback(LabMsg::Steps)} />
                    <label title="empty: 2.5·ε/steps">{ "step size " }
                        <input id="attack-alpha" type="text" inputmode="decimal" placeholder="2.5·ε/steps" size="8"
                            value={s.step_size.map(|a| a.to_string()).unwrap_or_default()} disabled={!pgd}
                            onchange={link.callback(move |e: Event| LabMsg::StepSize(alpha(e)))} />
                    </label>
                    <NumberField id="attack-restarts" label="restarts " value={s.restarts.to_string()} min="1"
                        max={MAX_RESTARTS.to_string()} disabled={!(pgd || apgd || fab)} onchange={link.callback(LabMsg::Restarts)} />
                    <NumberField id="attack-queries" label="queries " value={s.queries.to_string()} min="2"
                        max={MAX_QUERIES.to_string()} disabled={!query_only} title="queries each image may cost at most"
                        onchange={link.callback(LabMsg::Queries)} />
                    <label>{ "target " }
                        <select id="attack-target" disabled={hsj || s.method == AttackMethod::FabT} onchange={link.callback(|e| LabMsg::Target(selected(e)))}>
                            <option value="none" selected={s.target.is_none()}>{ "any wrong class" }</option>
                            { for classes.iter().enumerate().map(|(c, name)| html! {
                                <option value={c.to_string()} selected={s.target == Some(c)}>{ *name }</option>
                            }) }
                        </select>
                    </label>
                    <RunStop run_id="attack-run" run_label="Run attack" stop_id="attack-stop" running={self.running}
                        on_stop={link.callback(|_| LabMsg::Stop)} />
                </form>
                { form_error("attack", &self.form_error) }
                { self.view_cost(ctx) }
                // FAB records no loss per step: no empty chart for it.
                { if fab { html! {} } else { loss_plot(&self.trace, plotted) } }
                { if self.trace.is_empty() && self.result.is_none() { html! {} } else { html! {
                    <ExportBar name="attack" chart={(!self.trace.is_empty()).then_some(AttrValue::from("loss-plot"))}
                        csv={(!self.trace.is_empty()).then(|| AttrValue::from(trace_csv(&self.trace)))}
                        json={self.result_json(ctx).map(AttrValue::from)} />
                } } }
                </div>
                <div class="lab-result">
                    <div role="status" aria-live="polite">
                        { if self.running { html! {
                            <p id="attack-status" data-queries={self.queries.map(|q| q.to_string()).unwrap_or_default()}>{ self.status(classes.len()) }</p>
                        } } else { html! {} } }
                        { summary }
                    </div>
                    { figures }
                </div>
                </div>
            </section>
        }
    }
}
