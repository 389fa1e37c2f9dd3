//! The defences panel: defensive input quantization (the paper's Eq. 12) seems to stop PGD, because
//! rounding has a zero gradient; BPDA (Athalye et al., Eq. 16) breaks it by passing gradients
//! straight through the rounding. Robust accuracy over a test slice, three ways.

use std::cell::Cell;
use std::rc::Rc;

use perturb::attack::{Attack, Norm, PgdConfig, robustness_curve};
use perturb::data::Dataset;
use perturb::defense::Quantized;
use perturb::model::{Classifier, Sequential};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend::Backend;
use crate::settings::AttackSettings;

/// Most images per run.
const MAX_IMAGES: usize = 1000;
/// Most quantization levels.
const MAX_LEVELS: usize = 256;

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
    /// New level count text.
    Levels(String),
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
}

/// The defences panel.
pub struct DefensePanel {
    levels: u32,
    eps: f32,
    images: usize,
    form_error: Option<String>,
    running: bool,
    stop: Rc<Cell<bool>>,
    rows: Vec<DefenseRow>,
    error: Option<String>,
}

/// Robust accuracy of `deployed` under PGD-20 whose gradients come from `attacker`.
async fn robust(
    attacker: &impl Classifier,
    data: &Dataset,
    backend: &Backend,
    eps: f32,
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

/// Undefended PGD, PGD through the rounding, and BPDA, one after the other.
async fn run_defenses(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    (levels, eps, images): (u32, f32, usize),
    stop: Rc<Cell<bool>>,
    on_row: Callback<DefenseRow>,
) -> Result<(), String> {
    let slice = data.take(images);
    let model = model.as_ref();
    let (clean, r) = robust(&model, &slice, &backend, eps, &stop).await?;
    on_row.emit(DefenseRow {
        id: "none",
        title: "No defence, PGD",
        clean,
        robust: r,
    });
    let quantized = Quantized::new(model, levels).map_err(|e| e.to_string())?;
    let (clean, r) = robust(&quantized, &slice, &backend, eps, &stop).await?;
    on_row.emit(DefenseRow {
        id: "quantized",
        title: "Quantized input, PGD (gradients through the rounding: zero)",
        clean,
        robust: r,
    });
    let (clean, r) = robust(&quantized.bpda(), &slice, &backend, eps, &stop).await?;
    on_row.emit(DefenseRow {
        id: "bpda",
        title: "Quantized input, BPDA (straight-through gradients)",
        clean,
        robust: r,
    });
    Ok(())
}

impl Component for DefensePanel {
    type Message = DefenseMsg;
    type Properties = DefenseProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Self {
            levels: 8,
            eps: 0.2,
            images: 100,
            form_error: None,
            running: false,
            stop: Rc::new(Cell::new(false)),
            rows: Vec::new(),
            error: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if !Rc::ptr_eq(&ctx.props().model, &old.model) {
            self.stop.set(true);
            self.rows.clear();
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
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
                    (self.levels, self.eps, self.images),
                    self.stop.clone(),
                    ctx.link().callback(DefenseMsg::Row),
                );
                ctx.link()
                    .send_future(async move { DefenseMsg::Finished(fut.await) });
            }
            DefenseMsg::Stop => self.stop.set(true),
            DefenseMsg::Row(row) => self.rows.push(row),
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
        let done = !self.running && self.rows.len() == 3;
        html! {
            <section id="defenses" class="panel">
                <h2>{ "Defences: quantization and BPDA" }</h2>
                <p class="note">{ "Rounding the input to a few levels (Eq. 12) makes the gradient zero, so plain PGD \
                    finds nothing and the defence looks strong. BPDA (Eq. 16) keeps the rounding on the forward pass \
                    and treats it as the identity on the backward pass — and the accuracy falls back." }</p>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); DefenseMsg::Run })}>
                    <label>{ "levels " }
                        <input id="defense-levels" type="number" min="2" max={MAX_LEVELS.to_string()}
                            value={self.levels.to_string()} onchange={link.callback(move |e: Event| DefenseMsg::Levels(value(e)))} />
                    </label>
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
            </section>
        }
    }
}
