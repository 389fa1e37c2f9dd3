//! The defences panel: defensive input quantization (the paper's Eq. 12) seems to stop PGD, because
//! rounding has a zero gradient; BPDA (Athalye et al., Eq. 16) breaks it by passing gradients
//! straight through the rounding. A randomized defence (Gaussian noise and random shifts) seems to
//! stop PGD because one draw's gradient is noise; EOT averages gradients over draws. Robust
//! accuracy over a test slice, three ways, and the gradient-masking audit of the same defence.

use std::cell::Cell;
use std::rc::Rc;

use perturb::attack::{
    Adaptive, Attack, AuditConfig, AuditReport, AuditTarget, Norm, PgdConfig, Verdict, audit,
    robustness_curve,
};
use perturb::data::Dataset;
use perturb::defense::{Quantized, RandomizedInput};
use perturb::model::{Classifier, Sequential};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::backend::Backend;
use crate::browser::yield_now;
use crate::settings::AttackSettings;

/// Most images per run.
const MAX_IMAGES: usize = 1000;
/// Most quantization levels.
const MAX_LEVELS: usize = 256;
/// Most images the audit takes (one batch).
const MAX_AUDIT_IMAGES: usize = 200;
/// Random shift of the noise defence, in pixels.
const NOISE_SHIFT: usize = 2;
/// Draws per gradient of the EOT attack.
const EOT_DRAWS: usize = 16;

/// Which defence the panel puts in front of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Defense {
    /// Round inputs to this many levels (Eq. 12).
    Quantize(u32),
    /// Add N(0, σ²) noise and shift by up to two pixels, fresh on every pass.
    Noise(f32),
}

impl Defense {
    /// The deployed model behind the defence.
    fn wrap<'a>(self, model: &'a Sequential) -> Result<Box<dyn Classifier + 'a>, String> {
        let text = |e: perturb::Error| e.to_string();
        Ok(match self {
            Self::Quantize(levels) => Box::new(Quantized::new(model, levels).map_err(text)?),
            Self::Noise(sigma) => {
                Box::new(RandomizedInput::new(model, sigma, NOISE_SHIFT, 0).map_err(text)?)
            }
        })
    }

    /// The adaptive attacker's view: BPDA's straight-through gradients, or fresh draws for EOT.
    fn adaptive<'a>(self, model: &'a Sequential) -> Result<Box<dyn Classifier + 'a>, String> {
        let text = |e: perturb::Error| e.to_string();
        Ok(match self {
            Self::Quantize(levels) => Box::new(Quantized::new(model, levels).map_err(text)?.bpda()),
            Self::Noise(sigma) => {
                Box::new(RandomizedInput::new(model, sigma, NOISE_SHIFT, 1).map_err(text)?)
            }
        })
    }

    /// The adaptive attack's name and EOT draws per gradient.
    fn adaptive_attack(self) -> (&'static str, usize) {
        match self {
            Self::Quantize(_) => ("BPDA", 1),
            Self::Noise(_) => ("EOT", EOT_DRAWS),
        }
    }
}

/// Properties of [`DefensePanel`].
#[derive(Properties)]
pub struct DefenseProps {
    /// Where the attacks run.
    pub backend: Rc<Backend>,
    /// The model behind the defence.
    pub model: Rc<Sequential>,
    /// The test images.
    pub data: Rc<Dataset>,
}

impl PartialEq for DefenseProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend)
            && Rc::ptr_eq(&self.model, &other.model)
            && Rc::ptr_eq(&self.data, &other.data)
    }
}

/// One attacked configuration and its robust accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct DefenseRow {
    /// Short id for tests.
    pub id: &'static str,
    /// What was attacked, how.
    pub title: &'static str,
    /// Clean accuracy of the deployed model.
    pub clean: f64,
    /// Robust accuracy under the attack.
    pub robust: f64,
}

/// Messages of [`DefensePanel`].
pub enum DefenseMsg {
    /// Quantization or noise.
    Kind(String),
    /// New level count text.
    Levels(String),
    /// New noise σ text.
    Sigma(String),
    /// New ε text.
    Eps(String),
    /// New image count text.
    Images(String),
    /// Start.
    Run,
    /// Stop after the current batch.
    Stop,
    /// One configuration done.
    Row(DefenseRow),
    /// All done, or failed.
    Finished(Result<(), String>),
    /// Run the gradient-masking audit.
    Audit,
    /// The audit's report.
    Audited(Result<AuditReport, String>),
}

/// The defences panel.
pub struct DefensePanel {
    noise: bool,
    levels: u32,
    sigma: f32,
    eps: f32,
    images: usize,
    form_error: Option<String>,
    running: bool,
    stop: Rc<Cell<bool>>,
    rows: Vec<DefenseRow>,
    error: Option<String>,
    auditing: bool,
    audit: Option<Result<AuditReport, String>>,
}

/// Clean and robust accuracy of `attacker` (the deployed model, or the adaptive view of it,
/// which has the same outputs) under PGD-20 with `eot` draws per gradient.
async fn robust(
    attacker: &impl Classifier,
    data: &Dataset,
    backend: &Backend,
    (eps, eot): (f32, usize),
    stop: &Cell<bool>,
) -> Result<(f64, f64), String> {
    let curve = robustness_curve(
        attacker,
        data,
        &backend.device,
        50,
        Norm::Linf,
        &[eps],
        |threat| {
            Attack::Pgd(PgdConfig {
                seed: 0,
                eot_samples: eot,
                ..PgdConfig::pgd(threat, 20)
            })
        },
        |_| !stop.get(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let point = curve.first().ok_or("stopped")?;
    Ok((point.summary.clean_accuracy, point.summary.robust_accuracy))
}

/// Undefended PGD, PGD against the defence, and the adaptive attack, one after the other.
async fn run_defenses(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    (defense, eps, images): (Defense, f32, usize),
    stop: Rc<Cell<bool>>,
    on_row: Callback<DefenseRow>,
) -> Result<(), String> {
    let slice = data.take(images);
    let model = model.as_ref();
    let (clean, r) = robust(&model, &slice, &backend, (eps, 1), &stop).await?;
    on_row.emit(DefenseRow {
        id: "none",
        title: "No defence, PGD",
        clean,
        robust: r,
    });
    let deployed = defense.wrap(model)?;
    let (clean, r) = robust(&deployed, &slice, &backend, (eps, 1), &stop).await?;
    on_row.emit(DefenseRow {
        id: "defended",
        title: match defense {
            Defense::Quantize(_) => "Quantized input, PGD (gradients through the rounding: zero)",
            Defense::Noise(_) => "Noisy input, PGD (each gradient from one random draw)",
        },
        clean,
        robust: r,
    });
    let (name, draws) = defense.adaptive_attack();
    let (clean, r) = robust(
        &defense.adaptive(model)?,
        &slice,
        &backend,
        (eps, draws),
        &stop,
    )
    .await?;
    on_row.emit(DefenseRow {
        id: if name == "BPDA" { "bpda" } else { "eot" },
        title: match defense {
            Defense::Quantize(_) => "Quantized input, BPDA (straight-through gradients)",
            Defense::Noise(_) => "Noisy input, EOT (gradients averaged over 16 draws)",
        },
        clean,
        robust: r,
    });
    Ok(())
}

/// The gradient-masking audit of the defended model, with the undefended one as transfer
/// surrogate and BPDA or EOT as the adaptive attack.
async fn run_audit(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    (defense, eps, images): (Defense, f32, usize),
) -> Result<AuditReport, String> {
    // Let the page show that the audit started: on the CPU backend it runs in one go.
    yield_now().await;
    let text = |e: perturb::Error| e.to_string();
    let slice = data.take(images.min(MAX_AUDIT_IMAGES));
    let indices: Vec<usize> = (0..slice.len()).collect();
    let (batch, _) = slice.batch(&indices, &backend.device).map_err(text)?;
    let deployed = defense.wrap(&model)?;
    let view = defense.adaptive(&model)?;
    let (name, eot_samples) = defense.adaptive_attack();
    let target = AuditTarget {
        model: &deployed,
        surrogate: Some(model.as_ref()),
        adaptive: Some(Adaptive {
            name,
            gradients: &view,
            eot_samples,
        }),
    };
    let config = AuditConfig {
        epsilon: eps,
        steps: 20,
        restarts: 1,
        seed: 0,
    };
    audit(target, batch, &slice.class_labels(), &config, |_| {})
        .await
        .map_err(text)
}

impl DefensePanel {
    fn defense(&self) -> Defense {
        if self.noise {
            Defense::Noise(self.sigma)
        } else {
            Defense::Quantize(self.levels)
        }
    }

    fn view_audit(&self) -> Html {
        match &self.audit {
            None => html! {},
            Some(Err(e)) => html! { <p class="error" id="audit-error">{ e }</p> },
            Some(Ok(report)) => html! {
                <>
                <p id="audit-summary" data-flagged={report.flagged.to_string()}>
                    { format!("{} of {} checks flagged on {} images at ε = {} (clean accuracy behind the defence {:.1}%). \
                        A flag does not prove the defence broken; it says its robustness cannot be trusted until an adaptive attack has been tried.",
                        report.flagged, report.checks.len(), report.samples, report.epsilon, report.clean_accuracy * 100.0) }
                </p>
                <table id="audit-checks" class="audit">
                    { for report.checks.iter().map(|c| {
                        let flag = c.verdict == Verdict::Flag;
                        html! {
                            <tr data-check={c.name.clone()} data-verdict={if flag { "flag" } else { "pass" }}>
                                <td class={if flag { "flag" } else { "pass" }}>{ if flag { "FLAG" } else { "pass" } }</td>
                                <td class="name">{ c.name.clone() }</td>
                                <td>{ c.detail.clone() }</td>
                            </tr>
                        }
                    }) }
                </table>
                </>
            },
        }
    }
}

impl Component for DefensePanel {
    type Message = DefenseMsg;
    type Properties = DefenseProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Self {
            noise: false,
            levels: 8,
            sigma: 0.3,
            eps: 0.2,
            images: 100,
            form_error: None,
            running: false,
            stop: Rc::new(Cell::new(false)),
            rows: Vec::new(),
            error: None,
            auditing: false,
            audit: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if !Rc::ptr_eq(&ctx.props().model, &old.model) {
            self.stop.set(true);
            self.rows.clear();
            self.audit = None;
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            DefenseMsg::Kind(raw) => {
                self.noise = raw == "noise";
                self.rows.clear();
                self.audit = None;
            }
            DefenseMsg::Sigma(raw) => match AttackSettings::check_eps(&raw) {
                Ok(s) => {
                    self.sigma = s;
                    self.form_error = None;
                }
                Err(e) => self.form_error = Some(e.replace('ε', "σ")),
            },
            DefenseMsg::Levels(raw) => {
                match AttackSettings::check_count(&raw, "levels", MAX_LEVELS) {
                    Ok(n) if n >= 2 => {
                        self.levels = n as u32;
                        self.form_error = None;
                    }
                    _ => {
                        self.form_error = Some(format!(
                            "levels must be a whole number from 2 to {MAX_LEVELS}"
                        ))
                    }
                }
            }
            DefenseMsg::Eps(raw) => match AttackSettings::check_eps(&raw) {
                Ok(e) => {
                    self.eps = e;
                    self.form_error = None;
                }
                Err(e) => self.form_error = Some(e),
            },
            DefenseMsg::Images(raw) => {
                match AttackSettings::check_count(&raw, "images", MAX_IMAGES) {
                    Ok(n) => {
                        self.images = n;
                        self.form_error = None;
                    }
                    Err(e) => self.form_error = Some(e),
                }
            }
            DefenseMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.rows.clear();
                self.error = None;
                self.stop = Rc::new(Cell::new(false));
                let p = ctx.props();
                let fut = run_defenses(
                    p.model.clone(),
                    p.backend.clone(),
                    p.data.clone(),
                    (self.defense(), self.eps, self.images),
                    self.stop.clone(),
                    ctx.link().callback(DefenseMsg::Row),
                );
                ctx.link()
                    .send_future(async move { DefenseMsg::Finished(fut.await) });
            }
            DefenseMsg::Stop => self.stop.set(true),
            DefenseMsg::Row(row) => self.rows.push(row),
            DefenseMsg::Audit => {
                if self.auditing || self.form_error.is_some() {
                    return false;
                }
                self.auditing = true;
                self.audit = None;
                let p = ctx.props();
                let fut = run_audit(
                    p.model.clone(),
                    p.backend.clone(),
                    p.data.clone(),
                    (self.defense(), self.eps, self.images),
                );
                ctx.link()
                    .send_future(async move { DefenseMsg::Audited(fut.await) });
            }
            DefenseMsg::Audited(report) => {
                self.auditing = false;
                self.audit = Some(report);
            }
            DefenseMsg::Finished(result) => {
                self.running = false;
                self.error = result.err();
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let value = |e: Event| e.target_unchecked_into::<HtmlInputElement>().value();
        let select = |e: Event| e.target_unchecked_into::<HtmlSelectElement>().value();
        let done = !self.running && self.rows.len() == 3;
        html! {
            <section id="defenses" class="panel">
                <h2>{ "Defences, gradient masking and adaptive attacks" }</h2>
                <p class="note">{ "Rounding the input to a few levels (Eq. 12) makes the gradient zero, so plain PGD \
                    finds nothing and the defence looks strong. BPDA (Eq. 16) keeps the rounding on the forward pass \
                    and treats it as the identity on the backward pass — and the accuracy falls back. A randomized \
                    defence (fresh Gaussian noise and a random shift of up to two pixels on every pass) hides the \
                    gradient behind noise instead; EOT averages the gradient over many draws. The audit runs the \
                    sanity checks of Carlini et al. and AutoAttack's flags on the same defence." }</p>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); DefenseMsg::Run })}>
                    <label>{ "defence " }
                        <select id="defense-kind" onchange={link.callback(move |e: Event| DefenseMsg::Kind(select(e)))}>
                            <option value="quantize" selected={!self.noise}>{ "input quantization" }</option>
                            <option value="noise" selected={self.noise}>{ "random noise + shift" }</option>
                        </select>
                    </label>
                    { if self.noise { html! {
                        <label>{ "σ " }
                            <input id="defense-sigma" type="number" min="0" max="1" step="any"
                                value={self.sigma.to_string()} onchange={link.callback(move |e: Event| DefenseMsg::Sigma(value(e)))} />
                        </label>
                    } } else { html! {
                        <label>{ "levels " }
                            <input id="defense-levels" type="number" min="2" max={MAX_LEVELS.to_string()}
                                value={self.levels.to_string()} onchange={link.callback(move |e: Event| DefenseMsg::Levels(value(e)))} />
                        </label>
                    } } }
                    <label>{ "ε " }
                        <input id="defense-eps" type="number" min="0" max="1" step="any"
                            value={self.eps.to_string()} onchange={link.callback(move |e: Event| DefenseMsg::Eps(value(e)))} />
                    </label>
                    <label>{ "images " }
                        <input id="defense-images" type="number" min="1" max={MAX_IMAGES.to_string()}
                            value={self.images.to_string()} onchange={link.callback(move |e: Event| DefenseMsg::Images(value(e)))} />
                    </label>
                    <button id="defense-run" type="submit" disabled={self.running}>{ "Attack the defence" }</button>
                    <button id="defense-stop" type="button" disabled={!self.running}
                        onclick={link.callback(|_| DefenseMsg::Stop)}>{ "Stop" }</button>
                    <button id="defense-audit" type="button" disabled={self.auditing}
                        onclick={link.callback(|_| DefenseMsg::Audit)}>{ "Audit for gradient masking" }</button>
                </form>
                { for self.form_error.as_ref().map(|e| html! { <p class="warning" id="defense-form-error">{ e }</p> }) }
                { for self.error.as_ref().map(|e| html! { <p class="error">{ e }</p> }) }
                { if self.running { html! { <p id="defense-status">{ format!("Attacking… {} of 3 done", self.rows.len()) }</p> } } else { html! {} } }
                <ol class="bars" id="defense-rows" data-ready={done.to_string()}>
                { for self.rows.iter().map(|r| html! {
                    <li data-id={r.id} data-robust={r.robust.to_string()} data-clean={r.clean.to_string()}>
                        <span class="name">{ r.title }</span>
                        <span class="bar" style={format!("width: {:.1}%", r.robust * 100.0)} />
                        <span class="value">{ format!("{:.1}%", r.robust * 100.0) }</span>
                    </li>
                }) }
                </ol>
                { if done { html! { <p class="note">{ format!(
                    "Robust accuracy at ε = {} over {} images (PGD-20, one random start; clean accuracy behind the defence {:.1}%).",
                    self.eps, self.images, self.rows[1].clean * 100.0) }</p> } } else { html! {} } }
                { if self.auditing { html! { <p id="audit-status">{ format!("Auditing {} images…", self.images.min(MAX_AUDIT_IMAGES)) }</p> } } else { html! {} } }
                { self.view_audit() }
            </section>
        }
    }
}
