//! The attack lab: FGSM or PGD on the shown image, on the page's backend, with a live per-step
//! loss plot, a Stop button, and original / perturbation / adversarial side by side with class
//! probabilities before and after.

use std::cell::Cell;
use std::rc::Rc;

use perturb::attack::{
    AttackProgress, CwConfig, Norm, PgdConfig, ThreatModel, TraceStep, carlini_wagner, pgd,
};
use perturb::data::Dataset;
use perturb::eval::probabilities;
use perturb::model::Sequential;
use perturb::readback::read_all_f32;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::backend::Backend;
use crate::digit::Digit;
use crate::panel::{PanelProps, apply_edit};
use crate::probability_bars::{argmax, probability_bars};
use crate::settings::{AttackMethod, AttackSettings, MAX_L2, MAX_RESTARTS, MAX_STEPS};

/// Properties of the panel.
pub type AttackLabProps = PanelProps<AttackSettings>;

/// Rounds of C&W's binary search on c in the page.
const CW_ROUNDS: usize = 5;

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
    /// New target class (empty: untargeted).
    Target(String),
    /// Start a run.
    Run,
    /// Ask the running attack to stop after its current step.
    Stop,
    /// One step done (loss and success rate).
    Step(TraceStep),
    /// The run ended.
    Done(Result<LabResult, String>),
}

/// The attack lab panel.
pub struct AttackLab {
    settings: AttackSettings,
    form_error: Option<String>,
    running: bool,
    stop: Rc<Cell<bool>>,
    trace: Vec<TraceStep>,
    /// The settings of the run shown.
    ran: Option<AttackSettings>,
    result: Option<Result<LabResult, String>>,
}

async fn run_attack(
    props_model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    index: usize,
    settings: AttackSettings,
    stop: Rc<Cell<bool>>,
    on_step: Callback<TraceStep>,
) -> Result<LabResult, String> {
    let device = &backend.device;
    let text = |e: perturb::Error| e.to_string();
    let (images, _) = data.batch(&[index], device).map_err(text)?;
    let label = usize::from(data.labels()[index]);
    let mut threat = ThreatModel::new(settings.norm, settings.eps).map_err(text)?;
    if let Some(target) = settings.target {
        if target == label {
            return Err(format!(
                "the target class {target} is the true class; pick another"
            ));
        }
        threat = threat.targeted(vec![target]);
    }
    let model = props_model.as_ref();
    let on_progress = |p: AttackProgress| {
        if let Some(point) = p.trace {
            on_step.emit(point);
        }
        !stop.get()
    };
    let outcome = match settings.method {
        AttackMethod::Cw => {
            let config = CwConfig {
                steps: settings.steps,
                binary_search_steps: CW_ROUNDS,
                initial_const: 1.0,
                learning_rate: 0.05,
                trace: true,
                ..CwConfig::default()
            };
            carlini_wagner(
                model,
                images.clone(),
                &[label],
                &threat,
                &config,
                on_progress,
            )
            .await
        }
        AttackMethod::Fgsm | AttackMethod::Pgd => {
            let base = if settings.method == AttackMethod::Fgsm {
                PgdConfig::fgsm(&threat)
            } else {
                PgdConfig {
                    restarts: settings.restarts,
                    seed: settings.seed,
                    ..PgdConfig::pgd(&threat, settings.steps)
                }
            };
            let config = PgdConfig {
                trace: true,
                step_size: match (settings.method, settings.step_size) {
                    (AttackMethod::Pgd, Some(alpha)) => alpha,
                    _ => base.step_size,
                },
                ..base
            };
            pgd(
                model,
                images.clone(),
                &[label],
                &threat,
                &config,
                on_progress,
            )
            .await
        }
    }
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
    })
}

/// A small SVG line chart of the mean loss per step.
fn loss_plot(trace: &[TraceStep]) -> Html {
    let (w, h) = (320.0f32, 120.0f32);
    if trace.is_empty() {
        return html! { <svg id="loss-plot" class="plot" width={w.to_string()} height={h.to_string()} data-points="0" /> };
    }
    let (lo, hi) = trace.iter().fold((f32::MAX, f32::MIN), |(lo, hi), t| {
        (lo.min(t.mean_loss), hi.max(t.mean_loss))
    });
    let span = (hi - lo).max(1e-6);
    let n = trace.len().max(2) - 1;
    let points: Vec<String> = trace
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let x = 30.0 + (w - 40.0) * i as f32 / n as f32;
            let y = 10.0 + (h - 30.0) * (1.0 - (t.mean_loss - lo) / span);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    html! {
        <svg id="loss-plot" class="plot" width={w.to_string()} height={h.to_string()}
            data-points={trace.len().to_string()} role="img" aria-label="attack loss per step">
            <text x="2" y="14" class="axis">{ format!("{hi:.2}") }</text>
            <text x="2" y={(h - 20.0).to_string()} class="axis">{ format!("{lo:.2}") }</text>
            <text x={(w / 2.0 - 40.0).to_string()} y={(h - 4.0).to_string()} class="axis">{ "step → loss" }</text>
            <polyline points={points.join(" ")} fill="none" stroke="#2f6fde" stroke-width="2" />
        </svg>
    }
}

impl AttackLab {
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

    fn view_result(&self, ctx: &Context<Self>) -> Html {
        let props = ctx.props();
        let classes = props.data.kind.class_names();
        let label = usize::from(props.data.labels()[props.index]);
        match &self.result {
            None => html! {},
            Some(Err(e)) => {
                html! { <p id="attack-result" class="error" data-ready="error">{ e }</p> }
            }
            Some(Ok(r)) => {
                let (was, now) = (argmax(&r.before), argmax(&r.after));
                let linf = r.perturbation.iter().fold(0.0f32, |m, d| m.max(d.abs()));
                let l2 = r.perturbation.iter().map(|d| d * d).sum::<f32>().sqrt();
                let target = self.ran.and_then(|s| s.target);
                if target.is_none() && was != label {
                    return html! {
                        <p id="attack-result" data-ready="true" data-success="already" data-class={was.to_string()}>
                            { format!("Nothing to attack: the model already reads this {} as {}.", classes[label], classes[was]) }
                        </p>
                    };
                }
                let success = match target {
                    Some(target) => now == target,
                    None => now != label,
                };
                let size = props.data.image_size();
                html! {
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
                    <div class="triptych">
                        <figure>
                            <Digit pixels={props.data.image(props.index)} size={size} label="original image" />
                            <figcaption>{ "original" }</figcaption>
                            { probability_bars("probs-before", &r.before, &classes, was) }
                        </figure>
                        <figure>
                            <Digit pixels={r.perturbation.clone()} size={size} signed={Some(linf.max(1e-6))}
                                label="perturbation, blue negative, red positive" />
                            <figcaption>{ format!("perturbation (±{linf:.3} → blue/red)") }</figcaption>
                        </figure>
                        <figure>
                            <Digit pixels={r.adversarial.clone()} size={size} label="adversarial image" />
                            <figcaption>{ "adversarial" }</figcaption>
                            { probability_bars("probs-after", &r.after, &classes, now) }
                        </figure>
                    </div>
                    </>
                }
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
            stop: Rc::new(Cell::new(false)),
            trace: Vec::new(),
            ran: None,
            result: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if ctx.props().subject_changed(old) {
            self.stop.set(true);
            self.result = None;
            self.trace.clear();
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            LabMsg::Method(raw) => self.edit(ctx, |s| {
                s.method = AttackMethod::ALL
                    .into_iter()
                    .find(|m| m.id() == raw)
                    .ok_or("unknown attack")?;
                if s.method == AttackMethod::Cw && s.norm != Norm::L2 {
                    s.norm = Norm::L2;
                    s.eps = s.eps.max(2.0);
                    s.step_size = None;
                }
                Ok(())
            }),
            LabMsg::Norm(raw) => self.edit(ctx, |s| {
                let norm = Norm::from_id(&raw).map_err(|e| e.to_string())?;
                if norm != s.norm {
                    if s.method == AttackMethod::Cw {
                        return Err("C&W is an L2 attack".into());
                    }
                    // Keep the budget meaningful in the new norm.
                    s.eps = if norm == Norm::L2 { 2.0 } else { 0.15 };
                    s.step_size = None;
                    s.norm = norm;
                }
                Ok(())
            }),
            LabMsg::Eps(raw) => self.edit(ctx, |s| {
                s.eps = AttackSettings::check_radius(&raw, s.norm)?;
                Ok(())
            }),
            LabMsg::Steps(raw) => self.edit(ctx, |s| {
                s.steps = AttackSettings::check_count(&raw, "steps", MAX_STEPS)?;
                Ok(())
            }),
            LabMsg::StepSize(raw) => self.edit(ctx, |s| {
                s.step_size = AttackSettings::check_step_size(&raw, s.norm)?;
                Ok(())
            }),
            LabMsg::Restarts(raw) => self.edit(ctx, |s| {
                s.restarts = AttackSettings::check_count(&raw, "restarts", MAX_RESTARTS)?;
                Ok(())
            }),
            LabMsg::Target(raw) => self.edit(ctx, |s| {
                s.target = AttackSettings::check_target(&raw)?;
                Ok(())
            }),
            LabMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.trace.clear();
                self.result = None;
                self.ran = Some(self.settings);
                self.stop = Rc::new(Cell::new(false));
                let props = ctx.props();
                let fut = run_attack(
                    props.model.clone(),
                    props.backend.clone(),
                    props.data.clone(),
                    props.index,
                    self.settings,
                    self.stop.clone(),
                    ctx.link().callback(LabMsg::Step),
                );
                ctx.link()
                    .send_future(async move { LabMsg::Done(fut.await) });
            }
            LabMsg::Stop => self.stop.set(true),
            LabMsg::Step(point) => {
                if self.running {
                    self.trace.push(point);
                }
            }
            LabMsg::Done(result) => {
                self.running = false;
                self.result = Some(result);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = self.settings;
        let value = |e: Event| e.target_unchecked_into::<HtmlInputElement>().value();
        let select = |e: Event| e.target_unchecked_into::<HtmlSelectElement>().value();
        let pgd = s.method == AttackMethod::Pgd;
        let cw = s.method == AttackMethod::Cw;
        let classes = ctx.props().data.kind.class_names();
        html! {
            <section id="attack-lab" class="panel">
                <h2>{ "Attack lab" }</h2>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); LabMsg::Run })}>
                    <label>{ "Attack " }
                        <select id="attack-method" onchange={link.callback(move |e: Event| LabMsg::Method(select(e)))}>
                            <option value="fgsm" selected={s.method == AttackMethod::Fgsm}>{ "FGSM / FGM" }</option>
                            <option value="pgd" selected={pgd}>{ "PGD" }</option>
                            <option value="cw" selected={cw}>{ "C&W (L2)" }</option>
                        </select>
                    </label>
                    <label>{ "norm " }
                        <select id="attack-norm" disabled={cw} onchange={link.callback(move |e: Event| LabMsg::Norm(select(e)))}>
                            <option value="linf" selected={s.norm == Norm::Linf}>{ "L∞" }</option>
                            <option value="l2" selected={s.norm == Norm::L2}>{ "L2" }</option>
                        </select>
                    </label>
                    <label title={if cw { "largest L2 norm counted as a success" } else { "budget" }}>{ "ε " }
                        <input id="attack-eps" type="number" min="0" max={if s.norm == Norm::L2 { MAX_L2.to_string() } else { "1".into() }} step="any"
                            value={s.eps.to_string()} onchange={link.callback(move |e: Event| LabMsg::Eps(value(e)))} />
                    </label>
                    <label>{ "steps " }
                        <input id="attack-steps" type="number" min="1" max={MAX_STEPS.to_string()}
                            value={s.steps.to_string()} disabled={!(pgd || cw)} onchange={link.callback(move |e: Event| LabMsg::Steps(value(e)))} />
                    </label>
                    <label title="empty: 2.5·ε/steps">{ "step size " }
                        <input id="attack-alpha" type="text" inputmode="decimal" placeholder="2.5·ε/steps" size="8"
                            value={s.step_size.map(|a| a.to_string()).unwrap_or_default()} disabled={!pgd}
                            onchange={link.callback(move |e: Event| LabMsg::StepSize(value(e)))} />
                    </label>
                    <label>{ "restarts " }
                        <input id="attack-restarts" type="number" min="1" max={MAX_RESTARTS.to_string()}
                            value={s.restarts.to_string()} disabled={!pgd} onchange={link.callback(move |e: Event| LabMsg::Restarts(value(e)))} />
                    </label>
                    <label>{ "target " }
                        <select id="attack-target" onchange={link.callback(move |e: Event| LabMsg::Target(select(e)))}>
                            <option value="none" selected={s.target.is_none()}>{ "any wrong class" }</option>
                            { for (0..10).map(|c| html! {
                                <option value={c.to_string()} selected={s.target == Some(c)}>{ classes[c] }</option>
                            }) }
                        </select>
                    </label>
                    <button id="attack-run" type="submit" disabled={self.running}>{ "Run attack" }</button>
                    <button id="attack-stop" type="button" disabled={!self.running}
                        onclick={link.callback(|_| LabMsg::Stop)}>{ "Stop" }</button>
                </form>
                { for self.form_error.as_ref().map(|e| html! { <p class="warning" id="attack-form-error">{ e }</p> }) }
                { if self.running { html! { <p id="attack-status">{ format!("Running… step {}", self.trace.len()) }</p> } } else { html! {} } }
                { loss_plot(&self.trace) }
                { self.view_result(ctx) }
            </section>
        }
    }
}
