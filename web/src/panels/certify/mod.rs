//! The certify panel: IBP or CROWN-IBP bounds of every logit over the ε-ball around the shown
//! image, whether they prove its class, and the largest ε they prove, found by a batched search.

mod smoothing_curve;

use std::future::Future;
use std::rc::Rc;

use perturb::attack::{Norm, ThreatModel};
use perturb::certify::{
    BoundMethod, RadiusSearch, RadiusSearchConfig, SmoothedCertificate, SmoothingConfig,
    bound_logits, largest_verified_radius, worst_margin_bounds,
};
use perturb::data::{Dataset, DatasetKind};
use perturb::model::{Classifier, Sequential};
use perturb::runtime::readback::read_all_f32;
use yew::prelude::*;

use super::{PanelProps, apply_edit};
use crate::components::{NumberField, form_error, selected};
use crate::platform::Backend;
use crate::state::CertifySettings;
use crate::state::certify::{MAX_SMOOTHING_SAMPLES, PAGE_BOUND_METHODS};
use crate::state::checks;
use smoothing_curve::SmoothingCurve;

/// Largest radius the search tries.
const MAX_RADIUS: f32 = 0.5;

/// Properties of the panel.
pub type CertifyProps = PanelProps<CertifySettings>;

/// A certificate for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// The settings it was computed with.
    pub settings: CertifySettings,
    /// Lower bound of every logit over the ball.
    pub lower: Vec<f32>,
    /// Upper bound of every logit over the ball.
    pub upper: Vec<f32>,
    /// The logits of the clean image.
    pub logits: Vec<f32>,
    /// The lower bound of the worst margin `z_label − z_j` (verified when positive).
    pub worst_margin: f32,
    /// The largest radius the method proves.
    pub search: RadiusSearch,
}

async fn certify_image(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    index: usize,
    settings: CertifySettings,
) -> Result<Certificate, String> {
    let text = |e: perturb::Error| e.to_string();
    let (image, _) = data.batch(&[index], &backend.device).map_err(text)?;
    let label = usize::from(data.labels()[index]);
    let method = settings.method;
    let threat = ThreatModel::new(Norm::Linf, settings.eps).map_err(text)?;
    let (lower, upper) = bound_logits(&model, image.clone(), &threat, method).map_err(text)?;
    let logits = model.logits(image.clone());
    let worst = worst_margin_bounds(
        &model,
        method,
        image.clone(),
        label,
        &[settings.eps],
        (0.0, 1.0),
    )
    .map_err(text)?;
    // One round trip for the bounds, the clean logits and the worst margin.
    let mut read = read_all_f32(vec![
        lower.flatten(0, 1),
        upper.flatten(0, 1),
        logits.flatten(0, 1),
        worst,
    ])
    .await
    .map_err(text)?;
    let (worst, logits, upper, lower) = (
        read.remove(3),
        read.remove(2),
        read.remove(1),
        read.remove(0),
    );
    let config = RadiusSearchConfig::new(method, MAX_RADIUS);
    let search = largest_verified_radius(&model, image, label, &config)
        .await
        .map_err(text)?;
    Ok(Certificate {
        settings,
        lower,
        upper,
        logits,
        worst_margin: worst[0],
        search,
    })
}

/// Cohen's CERTIFY on the shown image (n₀ = 100 selection samples, α = 0.001, seed 0).
async fn smooth_image(
    model: Rc<Sequential>,
    backend: Rc<Backend>,
    data: Rc<Dataset>,
    index: usize,
    settings: CertifySettings,
) -> Result<(CertifySettings, SmoothedCertificate), String> {
    let (image, _) = data
        .batch(&[index], &backend.device)
        .map_err(|e| e.to_string())?;
    let config = SmoothingConfig {
        samples: settings.samples,
        batch_size: super::sampling_batch(&data),
        ..SmoothingConfig::new(settings.sigma)
    };
    perturb::certify::certify(model.as_ref(), image, &config)
        .await
        .map(|c| (settings, c))
        .map_err(|e| e.to_string())
}

/// Messages of [`CertifyPanel`].
pub enum CertMsg {
    /// Change the bound method.
    Method(String),
    /// New ε text from the form.
    Eps(String),
    /// Compute the certificate.
    Run,
    /// The certificate (or why there is none).
    Done(Result<Certificate, String>),
    /// New smoothing σ text.
    Sigma(String),
    /// New smoothing sample count text.
    Samples(String),
    /// Run randomized smoothing's CERTIFY.
    Smooth,
    /// Its answer.
    Smoothed(Result<(CertifySettings, SmoothedCertificate), String>),
}

/// The certify panel.
pub struct CertifyPanel {
    settings: CertifySettings,
    form_error: Option<String>,
    running: bool,
    result: Option<Result<Certificate, String>>,
    smoothing: bool,
    smoothed: Option<Result<(CertifySettings, SmoothedCertificate), String>>,
}

/// How the page names a bound method.
fn method_title(method: BoundMethod) -> &'static str {
    match method {
        BoundMethod::Ibp => "IBP",
        BoundMethod::CrownIbp => "CROWN-IBP",
        BoundMethod::Crown => "CROWN",
    }
}

/// One row per class: the interval `[lower, upper]` on a shared axis, with the clean logit marked.
fn bound_bars(c: &Certificate, classes: &[&str], label: usize) -> Html {
    let lo = c.lower.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = c.upper.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = (hi - lo).max(1e-6);
    let at = |v: f32| 100.0 * (v - lo) / span;
    html! {
        <ol class="bounds" id="cert-bounds" data-min={format!("{lo:.3}")} data-max={format!("{hi:.3}")}>
        { for (0..c.lower.len()).map(|j| html! {
            <li class={classes!((j == label).then_some("best"))}
                data-lower={c.lower[j].to_string()} data-upper={c.upper[j].to_string()}
                data-logit={c.logits[j].to_string()}>
                <span class="name">{ classes[j] }</span>
                <span class="axis-track">
                    <span class="range" style={format!("left: {:.2}%; width: {:.2}%", at(c.lower[j]), (at(c.upper[j]) - at(c.lower[j])).max(0.3))} />
                    <span class="tick" style={format!("left: {:.2}%", at(c.logits[j]))} />
                </span>
                <span class="value">{ format!("[{:.2}, {:.2}]", c.lower[j], c.upper[j]) }</span>
            </li>
        }) }
        </ol>
    }
}

impl CertifyPanel {
    fn view_result(&self, ctx: &Context<Self>) -> Html {
        let props = ctx.props();
        let classes = props.data.kind.class_names();
        let label = usize::from(props.data.labels()[props.index]);
        let c = match &self.result {
            None => return html! {},
            Some(Err(e)) => {
                return html! { <p id="cert-result" class="error" data-ready="error">{ e }</p> };
            }
            Some(Ok(c)) => c,
        };
        let name = method_title(c.settings.method);
        let eps = c.settings.eps;
        let verified = c.worst_margin > 0.0;
        let radius = c.search.verified;
        let search = match (radius, c.search.refuted) {
            (None, _) => format!("The model misclassifies this image, so {name} proves no radius."),
            (Some(r), Some(h)) => format!(
                "Largest ε {name} proves: {r:.4} (fails at {h:.4}; {} radii bounded).",
                c.search.evaluations
            ),
            (Some(r), None) => format!("{name} proves every ε up to {r} tried."),
        };
        html! {
            <>
            <p id="cert-result" data-ready="true" data-verified={verified.to_string()}
                data-margin={c.worst_margin.to_string()}
                data-radius={radius.map_or("none".to_string(), |r| r.to_string())}>
                { if verified {
                    format!("Verified at ε = {eps}: {name} proves every image in the ball is classified {} (worst margin ≥ {:.3}).",
                        classes[label], c.worst_margin)
                } else {
                    format!("Not verified at ε = {eps}: {name}'s worst margin bound is {:.3}. That is no attack — a tighter bound might still prove it.",
                        c.worst_margin)
                } }
            </p>
            <p id="cert-radius">{ search }</p>
            { bound_bars(c, classes, label) }
            <p class="note">{ "Bars: each logit's bounds over the ball; the tick is the clean image's logit." }</p>
            </>
        }
    }
}

impl CertifyPanel {
    /// Start `job` on the shown image with the current settings; its answer comes back as `done`.
    fn spawn<R: 'static, Fut: Future<Output = R> + 'static>(
        &self,
        ctx: &Context<Self>,
        job: impl FnOnce(Rc<Sequential>, Rc<Backend>, Rc<Dataset>, usize, CertifySettings) -> Fut,
        done: fn(R) -> CertMsg,
    ) {
        let p = ctx.props();
        let fut = job(
            p.model.clone(),
            p.backend.clone(),
            p.data.clone(),
            p.index,
            self.settings,
        );
        ctx.link().send_future(async move { done(fut.await) });
    }

    /// Apply a checked form value and tell the page (share link), or show why it was refused.
    fn edit<T>(
        &mut self,
        ctx: &Context<Self>,
        checked: Result<T, String>,
        apply: impl FnOnce(&mut CertifySettings, T),
    ) {
        apply_edit(
            &mut self.settings,
            &mut self.form_error,
            &ctx.props().on_change,
            |s| {
                apply(s, checked?);
                Ok(())
            },
        );
    }

    fn view_smoothed(&self, ctx: &Context<Self>) -> Html {
        let classes = ctx.props().data.kind.class_names();
        match &self.smoothed {
            None => html! {},
            Some(Err(e)) => {
                html! { <p id="smooth-result" class="error" data-ready="error">{ e }</p> }
            }
            Some(Ok((s, c))) => html! {
                <p id="smooth-result" data-ready="true"
                    data-class={c.class.map_or("abstain".to_string(), |k| k.to_string())}
                    data-radius={c.radius.to_string()} data-pa={c.p_a_lower.to_string()}
                    data-sigma={s.sigma.to_string()}>
                    { match c.class {
                        Some(k) => format!(
                            "Certified: the smoothed model says {} everywhere in the L2 ball of radius {:.3} (p̲A ≥ {:.4}, {} of {} votes, σ = {}).",
                            classes[k], c.radius, c.p_a_lower, c.top_votes, s.samples, s.sigma),
                        None => format!(
                            "Abstains: the top class {} has p̲A ≥ {:.4} < ½ ({} of {} votes, σ = {}).",
                            classes[c.top_class], c.p_a_lower, c.top_votes, s.samples, s.sigma),
                    } }
                </p>
            },
        }
    }
}

impl Component for CertifyPanel {
    type Message = CertMsg;
    type Properties = CertifyProps;

    fn create(ctx: &Context<Self>) -> Self {
        Self {
            settings: ctx.props().initial,
            form_error: None,
            running: false,
            result: None,
            smoothing: false,
            smoothed: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if ctx.props().subject_changed(old) {
            self.result = None;
            self.smoothed = None;
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            CertMsg::Method(id) => {
                match PAGE_BOUND_METHODS.into_iter().find(|m| m.id() == id) {
                    Some(m) => self.settings.method = m,
                    None => return false,
                }
                ctx.props().on_change.emit(self.settings);
            }
            CertMsg::Eps(raw) => {
                self.edit(ctx, checks::eps(&raw), |s, e| s.eps = e);
            }
            CertMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.result = None;
                self.spawn(ctx, certify_image, CertMsg::Done);
            }
            CertMsg::Done(result) => {
                self.running = false;
                self.result = Some(result);
            }
            CertMsg::Sigma(raw) => {
                self.edit(ctx, checks::unit(&raw, "σ"), |s, sigma| s.sigma = sigma);
            }
            CertMsg::Samples(raw) => {
                let n = checks::count(&raw, "n", MAX_SMOOTHING_SAMPLES);
                self.edit(ctx, n, |s, n| s.samples = n);
            }
            CertMsg::Smooth => {
                if self.smoothing || self.form_error.is_some() {
                    return false;
                }
                self.smoothing = true;
                self.smoothed = None;
                self.spawn(ctx, smooth_image, CertMsg::Smoothed);
            }
            CertMsg::Smoothed(result) => {
                self.smoothing = false;
                self.smoothed = Some(result);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = self.settings;
        let photos = ctx.props().data.kind == DatasetKind::ImageNet;
        let cost = ctx.props().forward_ms.map(|ms| {
            format!(
                "CERTIFY here costs about {} (n₀ + n = {} forward passes at about {ms:.0} ms each on this backend).",
                super::estimate(100 + s.samples, ms),
                100 + s.samples
            )
        });
        html! {
            <section id="certify" class="panel">
                <h2>{ "Certify" }</h2>
                <p class="note">{ "A certificate proves that no perturbation in the ε-ball changes the class — \
                    for every attack, not just the ones tried (the paper's Eq. 13)." }</p>
                { if photos { html! {
                    <p id="ibp-unavailable" class="note">{ "IBP and CROWN-IBP are not offered for this ImageNet \
                        network: it was trained without them, and through its sixteen blocks of batch norm and \
                        ReLU6 the interval bounds loosen until they prove nothing — IBP verifies none of the \
                        sample photos even at ε = 1/255 (perturb certify --model imagenet-efficientnet-lite0 \
                        --method ibp). Randomized smoothing below still gives a sound L2 certificate." }</p>
                } } else { html! { <>
                    <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); CertMsg::Run })}>
                        <label>{ "Bounds " }
                            <select id="cert-method" onchange={link.callback(|e| CertMsg::Method(selected(e)))}>
                            { for PAGE_BOUND_METHODS.iter().map(|m| html! {
                                <option value={m.id()} selected={*m == s.method}>{ method_title(*m) }</option>
                            }) }
                            </select>
                        </label>
                        <NumberField id="cert-eps" label="ε " value={s.eps.to_string()} min="0" max="1" decimal=true
                            onchange={link.callback(CertMsg::Eps)} />
                        <button id="cert-run" type="submit" disabled={self.running}>{ "Certify" }</button>
                    </form>
                    { form_error("cert", &self.form_error) }
                    <div role="status" aria-live="polite">
                    { if self.running { html! { <p id="cert-status">{ "Bounding…" }</p> } } else { html! {} } }
                    { self.view_result(ctx) }
                    </div>
                </> } } }
                <h3>{ "Randomized smoothing (Cohen et al.)" }</h3>
                <p class="note">{ "The smoothed classifier votes over Gaussian noise; CERTIFY bounds the top class's \
                    probability p̲A from below (Clopper–Pearson, α = 0.001) and proves an L2 radius σ·Φ⁻¹(p̲A). \
                    Pick a noise-trained model for σ to match its training." }</p>
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); CertMsg::Smooth })}>
                    <NumberField id="smooth-sigma" label="σ " value={s.sigma.to_string()} min="0" max="1" decimal=true
                        onchange={link.callback(CertMsg::Sigma)} />
                    <NumberField id="smooth-n" label="n " value={s.samples.to_string()} min="1"
                        max={MAX_SMOOTHING_SAMPLES.to_string()} onchange={link.callback(CertMsg::Samples)} />
                    <button id="smooth-run" type="submit" disabled={self.smoothing}>{ "Smooth and certify" }</button>
                </form>
                { for cost.map(|c| html! { <p id="smooth-estimate" class="note">{ c }{ if photos { " Try n = 100 first." } else { "" } }</p> }) }
                <div role="status" aria-live="polite">
                { if self.smoothing { html! { <p id="smooth-status">{ "Sampling…" }</p> } } else { html! {} } }
                { self.view_smoothed(ctx) }
                </div>
                { if photos { html! {
                    <p class="note" id="smoothing-curve-unavailable">{ "The certified-accuracy curve over many test images is left to the command line for ImageNet (perturb certify --method smoothing)." }</p>
                } } else { html! {
                <SmoothingCurve backend={ctx.props().backend.clone()} model={ctx.props().model.clone()}
                    data={ctx.props().data.clone()} sigma={s.sigma} samples={s.samples} />
                } } }
            </section>
        }
    }
}
