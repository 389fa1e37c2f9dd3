//! The defences panel: defensive input quantization (the paper's Eq. 12) seems to stop PGD, because
//! rounding has a zero gradient; BPDA (Athalye et al., Eq. 16) breaks it by passing gradients
//! straight through the rounding. A randomized defence (Gaussian noise and random shifts) seems to
//! stop PGD because one draw's gradient is noise; EOT averages gradients over draws. Robust
//! accuracy over a test slice, three ways, and the gradient-masking audit of the same defence.

use std::rc::Rc;

use perturb::attack::{
    AttackSettings, AuditConfig, AuditReport, AuditTarget, Norm, Verdict, audit, robustness_curve,
};
use perturb::data::Dataset;
use perturb::defense::DefenseSpec;
use perturb::model::{Classifier, Sequential};
use yew::prelude::*;

use crate::components::{ExportBar, Job, NumberField, RunStop, form_error, selected};
use crate::platform::Backend;
use crate::platform::browser::yield_now;
use crate::state::DefenseSettings;
use crate::state::checks;
use crate::state::defenses::{MAX_AUDIT_IMAGES, MAX_IMAGES, MAX_LEVELS};

/// The attack of every row: PGD-20 from a random start, seed 0.
const PGD_STEPS: usize = 20;
/// Square's queries per image in the audit's black-box check (AutoAttack is left to the command
/// line: its ten gradient runs would take minutes in a tab).
const BLACK_BOX_QUERIES: usize = 300;

/// Properties of [`DefensePanel`].
#[derive(Properties)]
pub struct DefenseProps {
    /// Where the attacks run.
    pub backend: Rc<Backend>,
    /// The model behind the defence.
    pub model: Rc<Sequential>,
    /// The test images.
    pub data: Rc<Dataset>,
    /// Parameters to start from (from the URL).
    pub initial: DefenseSettings,
    /// Told whenever the parameters change, so the share link follows.
    pub on_change: Callback<DefenseSettings>,
}

impl PartialEq for DefenseProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend)
            && Rc::ptr_eq(&self.model, &other.model)
            && Rc::ptr_eq(&self.data, &other.data)
            && self.initial == other.initial
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
    /// Images of the current configuration attacked so far.
    Batch(usize),
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
    settings: DefenseSettings,
    form_error: Option<String>,
    running: bool,
    job: Job,
    rows: Vec<DefenseRow>,
    /// Images of the row in progress attacked so far.
    row_images: usize,
    error: Option<String>,
    auditing: bool,
    audit: Option<Result<AuditReport, String>>,
}

/// Clean and robust accuracy of `attacker` (the deployed model, or the adaptive view of it,
/// which has the same outputs) under PGD-20 with `eot` draws per gradient; `on_batch` hears the
/// images done after every batch.
async fn robust(
    attacker: &dyn Classifier,
    data: &Dataset,
    backend: &Backend,
    (eps, eot): (f32, usize),
    job: &Job,
    on_batch: &Callback<usize>,
) -> Result<(f64, f64), String> {
    let settings = AttackSettings {
        steps: PGD_STEPS,
        eot_samples: eot,
        ..AttackSettings::default()
    };
    let curve = robustness_curve(
        &attacker,
        data,
        &backend.device,
        50,
        Norm::Linf,
        &[eps],
        |threat| settings.attack(threat),
        |progress| {
            on_batch.emit(progress.images);
            job.go_on()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let point = curve.first().ok_or("stopped")?;
    Ok((point.summary.clean_accuracy, point.summary.robust_accuracy))
}

/// What each row attacks and how the page describes it.
fn row_title(spec: DefenseSpec, adaptive: bool) -> &'static str {
    match (spec, adaptive) {
        (DefenseSpec::Quantize { .. }, false) => {
            "Quantized input, PGD (gradients through the rounding: zero)"
        }
        (DefenseSpec::Quantize { .. }, true) => {
            "Quantized input, BPDA (straight-through gradients)"
        }
        (_, false) => "Noisy input, PGD (each gradient from one random draw)",
        (_, true) => "Noisy input, EOT (gradients averaged over 16 draws)",
    }
}

/// Undefended PGD, PGD against the defence, and the adaptive attack, one after the other.
async fn run_defenses(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    settings: DefenseSettings,
    job: Job,
    on_batch: Callback<usize>,
    on_row: Callback<DefenseRow>,
) -> Result<(), String> {
    let text = |e: perturb::Error| e.to_string();
    let (spec, eps) = (settings.spec(), settings.eps);
    let slice = data.take(settings.images);
    let model = model.as_ref();
    let (clean, r) = robust(&model, &slice, &backend, (eps, 1), &job, &on_batch).await?;
    on_row.emit(DefenseRow {
        id: "none",
        title: "No defence, PGD",
        clean,
        robust: r,
    });
    let deployed = spec.deploy(model, 0).map_err(text)?;
    let (clean, r) = robust(
        deployed.as_ref(),
        &slice,
        &backend,
        (eps, 1),
        &job,
        &on_batch,
    )
    .await?;
    on_row.emit(DefenseRow {
        id: "defended",
        title: row_title(spec, false),
        clean,
        robust: r,
    });
    let view = spec
        .adaptive(model, 0)
        .map_err(text)?
        .ok_or("this defence has no adaptive attack")?;
    let (clean, r) = robust(
        view.model.as_ref(),
        &slice,
        &backend,
        (eps, view.eot_samples),
        &job,
        &on_batch,
    )
    .await?;
    on_row.emit(DefenseRow {
        id: view.attack.id(),
        title: row_title(spec, true),
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
    settings: DefenseSettings,
) -> Result<AuditReport, String> {
    // Let the page show that the audit started: on the CPU backend it runs in one go.
    yield_now().await;
    let text = |e: perturb::Error| e.to_string();
    let spec = settings.spec();
    let slice = data.take(settings.images.min(MAX_AUDIT_IMAGES));
    let indices: Vec<usize> = (0..slice.len()).collect();
    let (batch, _) = slice.batch(&indices, &backend.device).map_err(text)?;
    let deployed = spec.deploy(model.as_ref(), 0).map_err(text)?;
    let target = AuditTarget {
        model: deployed.as_ref(),
        surrogate: Some(model.as_ref()),
        adaptive: spec.adaptive(model.as_ref(), 0).map_err(text)?,
    };
    let config = AuditConfig {
        epsilon: settings.eps,
        steps: PGD_STEPS,
        restarts: 1,
        seed: 0,
        black_box_queries: BLACK_BOX_QUERIES,
        autoattack: false,
    };
    audit(target, batch, &slice.class_labels(), &config, |_| {})
        .await
        .map_err(text)
}

impl DefensePanel {
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

impl DefensePanel {
    /// Apply a checked form edit; a refused value leaves the settings as they were.
    fn edit(
        &mut self,
        ctx: &Context<Self>,
        apply: impl FnOnce(&mut DefenseSettings) -> Result<(), String>,
    ) {
        super::apply_edit(
            &mut self.settings,
            &mut self.form_error,
            &ctx.props().on_change,
            apply,
        );
    }
}

impl DefensePanel {
    /// The rows as CSV: the attack, clean and robust accuracy, with the settings they ran at.
    fn rows_csv(&self) -> String {
        let s = self.settings;
        let defence = if s.noise {
            format!("noise sigma={}", s.sigma)
        } else {
            format!("quantize levels={}", s.levels)
        };
        let mut csv = String::from("row,defence,eps,images,clean,robust\n");
        for r in &self.rows {
            csv.push_str(&format!(
                "{},{defence},{},{},{},{}\n",
                r.id, s.eps, s.images, r.clean, r.robust
            ));
        }
        csv
    }
}

impl Component for DefensePanel {
    type Message = DefenseMsg;
    type Properties = DefenseProps;

    fn create(ctx: &Context<Self>) -> Self {
        Self {
            settings: ctx.props().initial,
            form_error: None,
            running: false,
            job: Job::new(),
            rows: Vec::new(),
            row_images: 0,
            error: None,
            auditing: false,
            audit: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if !Rc::ptr_eq(&ctx.props().model, &old.model) {
            self.job.stop();
            self.rows.clear();
            self.audit = None;
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            DefenseMsg::Kind(raw) => {
                self.settings.noise = raw == "noise";
                self.rows.clear();
                self.audit = None;
                ctx.props().on_change.emit(self.settings);
            }
            DefenseMsg::Sigma(raw) => self.edit(ctx, |s| {
                s.sigma = checks::unit(&raw, "σ")?;
                Ok(())
            }),
            DefenseMsg::Levels(raw) => self.edit(ctx, |s| {
                s.levels = checks::count_from(&raw, "levels", 2, MAX_LEVELS)? as u32;
                Ok(())
            }),
            DefenseMsg::Eps(raw) => self.edit(ctx, |s| {
                s.eps = checks::eps(&raw)?;
                Ok(())
            }),
            DefenseMsg::Images(raw) => self.edit(ctx, |s| {
                s.images = checks::count(&raw, "images", MAX_IMAGES)?;
                Ok(())
            }),
            DefenseMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.rows.clear();
                self.row_images = 0;
                self.error = None;
                self.job = Job::new();
                let p = ctx.props();
                let fut = run_defenses(
                    p.model.clone(),
                    p.backend.clone(),
                    p.data.clone(),
                    self.settings,
                    self.job.clone(),
                    ctx.link().callback(DefenseMsg::Batch),
                    ctx.link().callback(DefenseMsg::Row),
                );
                ctx.link()
                    .send_future(async move { DefenseMsg::Finished(fut.await) });
            }
            DefenseMsg::Stop => self.job.stop(),
            DefenseMsg::Batch(images) => self.row_images = images,
            DefenseMsg::Row(row) => {
                self.rows.push(row);
                self.row_images = 0;
            }
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
                    self.settings,
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
        let s = self.settings;
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
                        <select id="defense-kind" onchange={link.callback(|e| DefenseMsg::Kind(selected(e)))}>
                            <option value="quantize" selected={!s.noise}>{ "input quantization" }</option>
                            <option value="noise" selected={s.noise}>{ "random noise + shift" }</option>
                        </select>
                    </label>
                    { if s.noise { html! {
                        <NumberField id="defense-sigma" label="σ " value={s.sigma.to_string()} min="0" max="1"
                            decimal=true onchange={link.callback(DefenseMsg::Sigma)} />
                    } } else { html! {
                        <NumberField id="defense-levels" label="levels " value={s.levels.to_string()} min="2"
                            max={MAX_LEVELS.to_string()} onchange={link.callback(DefenseMsg::Levels)} />
                    } } }
                    <NumberField id="defense-eps" label="ε " value={s.eps.to_string()} min="0" max="1"
                        decimal=true onchange={link.callback(DefenseMsg::Eps)} />
                    <NumberField id="defense-images" label="images " value={s.images.to_string()} min="1"
                        max={MAX_IMAGES.to_string()} onchange={link.callback(DefenseMsg::Images)} />
                    <RunStop run_id="defense-run" run_label="Attack the defence" stop_id="defense-stop"
                        running={self.running} on_stop={link.callback(|_| DefenseMsg::Stop)} />
                    <button id="defense-audit" type="button" disabled={self.auditing}
                        onclick={link.callback(|_| DefenseMsg::Audit)}>{ "Audit for gradient masking" }</button>
                </form>
                { form_error("defense", &self.form_error) }
                { for self.error.as_ref().map(|e| html! { <p class="error">{ e }</p> }) }
                { if self.running { html! {
                    <p id="defense-status" data-row={self.rows.len().to_string()} data-images={self.row_images.to_string()}>
                        { format!("Attacking… {} of 3 done; the next: {} of {} images", self.rows.len(), self.row_images, s.images) }
                    </p>
                } } else { html! {} } }
                <ol class="bars" id="defense-rows" data-ready={done.to_string()}>
                { for self.rows.iter().map(|r| html! {
                    <li data-id={r.id} data-robust={r.robust.to_string()} data-clean={r.clean.to_string()}>
                        <span class="name">{ r.title }</span>
                        <span class="bar" style={format!("width: {:.1}%", r.robust * 100.0)} />
                        <span class="value">{ format!("{:.1}%", r.robust * 100.0) }</span>
                    </li>
                }) }
                </ol>
                { if done { html! { <>
                    <p class="note" role="status">{ format!(
                    "Robust accuracy at ε = {} over {} images (PGD-20, one random start; clean accuracy behind the defence {:.1}%).",
                    s.eps, s.images, self.rows[1].clean * 100.0) }</p>
                    <ExportBar name="defenses" csv={self.rows_csv()} />
                </> } } else { html! {} } }
                { if self.auditing { html! { <p id="audit-status">{ format!("Auditing {} images…", s.images.min(MAX_AUDIT_IMAGES)) }</p> } } else { html! {} } }
                { self.view_audit() }
            </section>
        }
    }
}
