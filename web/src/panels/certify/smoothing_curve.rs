//! Randomized smoothing over a test slice: CERTIFY on each image (seed 0 + image index), then
//! the certified accuracy at every L2 radius (Cohen et al.'s curve: the fraction of images whose
//! certified class is their label with at least that radius).

use std::rc::Rc;

use perturb::certify::{SmoothedCertificate, SmoothingConfig, certified_accuracy_curve, certify};
use perturb::data::Dataset;
use perturb::model::Sequential;
use yew::prelude::*;

use crate::components::line_chart::{Frame, Series, accuracy_chart};
use crate::components::{Job, NumberField, RunStop, form_error};
use crate::platform::Backend;
use crate::state::checks;

/// Most images per curve.
const MAX_IMAGES: usize = 500;
/// Radii the curve is read at.
const POINTS: usize = 25;

/// Properties of [`SmoothingCurve`].
#[derive(Properties)]
pub struct SmoothingCurveProps {
    /// Where the votes are counted.
    pub backend: Rc<Backend>,
    /// The base classifier.
    pub model: Rc<Sequential>,
    /// The test images.
    pub data: Rc<Dataset>,
    /// Noise σ.
    pub sigma: f32,
    /// Estimation samples per image (Cohen's n).
    pub samples: usize,
}

impl PartialEq for SmoothingCurveProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend)
            && Rc::ptr_eq(&self.model, &other.model)
            && Rc::ptr_eq(&self.data, &other.data)
            && self.sigma == other.sigma
            && self.samples == other.samples
    }
}

/// The certificates of one run, with the σ and n they used.
#[derive(Debug, Clone)]
pub struct SliceCertificates {
    /// Noise σ.
    pub sigma: f32,
    /// Estimation samples per image.
    pub samples: usize,
    /// One per image, in order from image 0.
    pub certificates: Vec<SmoothedCertificate>,
}

/// Messages of [`SmoothingCurve`].
pub enum CurveMsg {
    /// New image count text.
    Images(String),
    /// Start.
    Run,
    /// Stop after the current image.
    Stop,
    /// Images certified so far.
    Progress(usize),
    /// Every certificate (or why not).
    Done(Result<SliceCertificates, String>),
}

/// Certified accuracy against radius for the first N test images.
pub struct SmoothingCurve {
    images: usize,
    form_error: Option<String>,
    running: bool,
    job: Job,
    done: usize,
    result: Option<Result<SliceCertificates, String>>,
}

async fn certify_slice(
    props: (Rc<Backend>, Rc<Sequential>, Rc<Dataset>),
    (sigma, samples, images): (f32, usize, usize),
    job: Job,
    on_progress: Callback<usize>,
) -> Result<SliceCertificates, String> {
    let (backend, model, data) = props;
    let mut out = Vec::with_capacity(images);
    for index in 0..images.min(data.len()) {
        if job.stopped() {
            break;
        }
        let (image, _) = data
            .batch(&[index], &backend.device)
            .map_err(|e| e.to_string())?;
        let config = SmoothingConfig {
            samples,
            batch_size: 500,
            seed: index as u64,
            ..SmoothingConfig::new(sigma)
        };
        let c = certify(model.as_ref(), image, &config)
            .await
            .map_err(|e| e.to_string())?;
        out.push(c);
        on_progress.emit(out.len());
    }
    Ok(SliceCertificates {
        sigma,
        samples,
        certificates: out,
    })
}

impl SmoothingCurve {
    fn view_curve(&self, ctx: &Context<Self>) -> Html {
        let Some(Ok(SliceCertificates {
            sigma,
            samples,
            certificates: certs,
        })) = &self.result
        else {
            return html! {};
        };
        if certs.is_empty() {
            return html! { <p class="note">{ "No image was certified before Stop." }</p> };
        }
        let labels: Vec<usize> = ctx.props().data.labels()[..certs.len()]
            .iter()
            .map(|&l| usize::from(l))
            .collect();
        let largest = certs.iter().map(|c| c.radius).fold(0.0f64, f64::max);
        let x_max = ((largest * 20.0).ceil() / 20.0).max(0.1);
        let radii: Vec<f64> = (0..POINTS)
            .map(|i| x_max * i as f64 / (POINTS - 1) as f64)
            .collect();
        let curve = match certified_accuracy_curve(certs, &labels, &radii) {
            Ok(c) => c,
            Err(e) => return html! { <p class="error">{ e.to_string() }</p> },
        };
        let series = [Series {
            id: "smoothing".into(),
            label: format!("σ={sigma}, n={samples}"),
            points: curve.iter().map(|(r, a)| (*r as f32, *a)).collect(),
        }];
        let ticks = (0..=4)
            .map(|i| (x_max * f64::from(i) / 4.0) as f32)
            .collect();
        let frame = Frame {
            id: "smooth-curve",
            aria: "certified accuracy against L2 radius",
            x_max: x_max as f32,
            x_ticks: ticks,
            caption: "L2 radius → certified accuracy",
            x_name: "L2 radius",
        };
        let abstained = certs.iter().filter(|c| c.class.is_none()).count();
        html! {
            <>
            { accuracy_chart(&frame, &series) }
            <p class="note" id="smooth-curve-summary" data-images={certs.len().to_string()}
                data-abstained={abstained.to_string()} data-largest={largest.to_string()}>
                { format!("{} images: certified accuracy {:.1}% at radius 0 (correct and not abstaining), \
                    {abstained} abstentions; the largest radius n = {samples} can certify is σ·Φ⁻¹(α^(1/n)).",
                    certs.len(), curve[0].1 * 100.0) }
            </p>
            </>
        }
    }
}

impl Component for SmoothingCurve {
    type Message = CurveMsg;
    type Properties = SmoothingCurveProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Self {
            images: 50,
            form_error: None,
            running: false,
            job: Job::new(),
            done: 0,
            result: None,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        if !Rc::ptr_eq(&ctx.props().model, &old.model) {
            self.job.stop();
            self.result = None;
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            CurveMsg::Images(raw) => match checks::count(&raw, "images", MAX_IMAGES) {
                Ok(n) => {
                    self.images = n;
                    self.form_error = None;
                }
                Err(e) => self.form_error = Some(e),
            },
            CurveMsg::Run => {
                if self.running || self.form_error.is_some() {
                    return false;
                }
                self.running = true;
                self.done = 0;
                self.result = None;
                self.job = Job::new();
                let p = ctx.props();
                let fut = certify_slice(
                    (p.backend.clone(), p.model.clone(), p.data.clone()),
                    (p.sigma, p.samples, self.images),
                    self.job.clone(),
                    ctx.link().callback(CurveMsg::Progress),
                );
                ctx.link()
                    .send_future(async move { CurveMsg::Done(fut.await) });
            }
            CurveMsg::Stop => self.job.stop(),
            CurveMsg::Progress(done) => self.done = done,
            CurveMsg::Done(result) => {
                self.running = false;
                self.result = Some(result);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        html! {
            <div id="smooth-curve-panel">
                <form class="controls" novalidate=true onsubmit={link.callback(|e: SubmitEvent| { e.prevent_default(); CurveMsg::Run })}>
                    <NumberField id="smooth-curve-images" label="images " value={self.images.to_string()} min="1"
                        max={MAX_IMAGES.to_string()} onchange={link.callback(CurveMsg::Images)} />
                    <RunStop run_id="smooth-curve-run" run_label="Certified accuracy vs radius" stop_id="smooth-curve-stop"
                        running={self.running} on_stop={link.callback(|_| CurveMsg::Stop)} />
                </form>
                { form_error("smooth-curve", &self.form_error) }
                { if self.running { html! { <p id="smooth-curve-status">{ format!("Certifying… {} of {}", self.done, self.images) }</p> } } else { html! {} } }
                { match &self.result { Some(Err(e)) => html! { <p class="error">{ e }</p> }, _ => html! {} } }
                { self.view_curve(ctx) }
            </div>
        }
    }
}
