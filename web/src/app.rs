//! The root component: boots a backend, loads the default model and shows its prediction for a
//! test image.

use std::rc::Rc;

use burn::tensor::Device;
use perturb::data::{Dataset, DatasetKind, SHIPPED_LEN};
use perturb::eval::probabilities;
use perturb::model::{Classifier, Sequential};
use perturb::runtime::readback::read_f32;
use perturb::zoo;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::components::pickers::{TRAINED, dataset_title};
use crate::components::probability_bars::{argmax, probability_bars};
use crate::components::sketch::Sketch;
use crate::components::{Digit, Gallery, Photo, Pickers};
use crate::panels::attack::AttackLab;
use crate::panels::certify::CertifyPanel;
use crate::panels::curves::BatchView;
use crate::panels::defenses::DefensePanel;
use crate::panels::tour;
use crate::panels::train::TrainPanel;
use crate::platform::cache::Source;
use crate::platform::{Backend, BackendKind, backend, recovery, samples, scroll_spy};
use crate::state::checks::truncate;
use crate::state::{
    CertifySettings, CurveSettings, DefenseSettings, Panel, TrainSettings, UrlSettings,
};
use perturb::attack::AttackSettings;

/// Class probabilities of `model` for image `index` of `data`, read back asynchronously.
async fn predict(
    model: &impl Classifier,
    data: &Dataset,
    index: usize,
    device: &Device,
) -> Result<Vec<f32>, String> {
    let (images, _) = data.batch(&[index], device).map_err(|e| e.to_string())?;
    read_f32(probabilities(model, images))
        .await
        .map_err(|e| e.to_string())
}

/// One blank image of `kind`, standing in until its test images arrive ([`samples::test_images`]).
fn placeholder(kind: DatasetKind) -> Dataset {
    let shape = kind.image_shape();
    Dataset::with_shape(kind, shape, vec![0; shape.iter().product()], vec![0])
        .expect("one blank image")
}

/// Fetch and prepare `kind`'s test images; [`Msg::Samples`] brings them.
fn request_samples(ctx: &Context<App>, kind: DatasetKind) {
    ctx.link()
        .send_future(async move { Msg::Samples(kind, samples::test_images(kind).await) });
}

/// The page's address without query or fragment.
fn page_base() -> String {
    web_sys::window()
        .map(|w| w.location())
        .and_then(|l| Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?)))
        .unwrap_or_default()
}

/// Forward the page's device-lost event ([`recovery::watch_device_loss`]) to the app.
fn listen_for_device_loss(ctx: &Context<App>) {
    let link = ctx.link().clone();
    let on_lost = Closure::<dyn Fn(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        link.send_message(Msg::DeviceLost(e.detail().as_string().unwrap_or_default()));
    });
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback(
            recovery::DEVICE_LOST_EVENT,
            on_lost.as_ref().unchecked_ref(),
        );
    }
    // The page lives as long as the listener.
    on_lost.forget();
}

/// Messages driving [`App`].
pub enum Msg {
    /// The backend is ready.
    Booted(Backend),
    /// Switch to another zoo model.
    PickModel(String),
    /// Switch to the other dataset (its test images and its default model).
    PickDataset(String),
    /// A model finished loading (or failed), for the pick numbered `.0`, with where large
    /// weights came from.
    Loaded(u32, Result<(Rc<Sequential>, Option<Source>), String>),
    /// Bytes of the picked model's weights downloaded so far, of the total if known.
    LoadProgress(u32, u64, Option<u64>),
    /// A fetched dataset's test images arrived (or failed).
    Samples(DatasetKind, Result<Dataset, String>),
    /// The certify panel's parameters changed.
    Certify(CertifySettings),
    /// Show another test image.
    Select(usize),
    /// A prediction for image `.0` came back, with the milliseconds it took.
    Predicted(usize, Result<Vec<f32>, String>, f64),
    /// The attack lab's parameters changed.
    Attack(AttackSettings),
    /// The training panel's parameters changed.
    Train(TrainSettings),
    /// The batch view's parameters changed.
    Curves(CurveSettings),
    /// The defences panel's parameters changed.
    Defenses(DefenseSettings),
    /// Use the model trained in this tab, with its title.
    UseTrained(Rc<Sequential>, String),
    /// The WebGPU device was lost (the browser's reason).
    DeviceLost(String),
    /// The page scrolled: the panel bar marks the panel now being read (`None` before it exists).
    Reading(Option<String>),
    /// A drawn or uploaded picture, prepared (or why not).
    Picture(Result<Vec<u8>, String>),
    /// The model's reading of the picture, which becomes its first label.
    PictureRead(Vec<u8>, Result<Vec<f32>, String>),
    /// The user relabels the picture.
    Relabel(u16),
}

/// The playground page.
pub struct App {
    /// The shipped test images.
    shipped: Rc<Dataset>,
    /// The shipped images plus the user's picture, if any (last).
    data: Rc<Dataset>,
    /// The user's drawn or uploaded picture (bytes of the dataset's shape) and its label.
    picture: Option<(Vec<u8>, u16)>,
    picture_error: Option<String>,
    settings: UrlSettings,
    backend: Option<Rc<Backend>>,
    model: Option<Rc<Sequential>>,
    /// The model trained in this tab and its title, once there is one.
    trained: Option<(Rc<Sequential>, String)>,
    /// Counts model picks, so a slow load cannot replace a newer pick.
    pick: u32,
    index: usize,
    prediction: Option<Result<Vec<f32>, String>>,
    warmed_up: bool,
    /// Download progress of the picked model's weights (bytes, total).
    progress: Option<(u64, Option<u64>)>,
    /// Where the shown model's weights came from, for large ones.
    weights_source: Option<Source>,
    /// The shown dataset's test images are still on their way (every dataset's are fetched).
    samples_pending: bool,
    /// Why the shown dataset's test images could not be had (nothing to predict or attack then).
    samples_error: Option<String>,
    /// How long the last prediction (one forward pass) took, in milliseconds.
    forward_ms: Option<f64>,
    /// The tour's panel has been scrolled into view.
    scrolled: bool,
    /// The panel being read, marked `aria-current` in the panel bar.
    reading: Option<String>,
    /// The panel in view has been looked up since the panels appeared.
    spied: bool,
    error: Option<String>,
}

impl App {
    /// Whether the panels are on the page: they need the backend, the model and the images.
    fn panels_shown(&self) -> bool {
        self.backend.is_some() && self.model.is_some() && self.samples_in()
    }

    /// Whether the shown dataset's test images are here.
    fn samples_in(&self) -> bool {
        !self.samples_pending && self.samples_error.is_none()
    }

    fn request_prediction(&self, ctx: &Context<Self>) {
        let (Some(backend), Some(model)) = (&self.backend, &self.model) else {
            return;
        };
        if !self.samples_in() {
            return;
        }
        let (device, model, data, index) = (
            backend.device.clone(),
            model.clone(),
            self.data.clone(),
            self.index,
        );
        ctx.link().send_future(async move {
            let started = js_sys::Date::now();
            let result = predict(model.as_ref(), &data, index, &device).await;
            Msg::Predicted(index, result, js_sys::Date::now() - started)
        });
    }

    /// The model's reading of the shown image (a live region: screen readers hear each new one)
    /// and its class probabilities.
    fn view_prediction(&self) -> Html {
        let classes = self.data.kind.class_names();
        let (line, bars) = match &self.prediction {
            None if !self.warmed_up && self.backend.is_some() => (
                html! { <p id="prediction" data-ready="false">{ "Warming up shaders…" }</p> },
                html! {},
            ),
            None => (
                html! { <p id="prediction" data-ready="false">{ "Predicting…" }</p> },
                html! {},
            ),
            Some(Err(e)) => (
                html! { <p id="prediction" class="error" data-ready="error">{ e }</p> },
                html! {},
            ),
            Some(Ok(probs)) => {
                let best = argmax(probs);
                (
                    html! {
                        <p id="prediction" data-ready="true" data-class={best.to_string()}>
                            { format!("Prediction: {} ({:.1}%)", classes[best], probs[best] * 100.0) }
                        </p>
                    },
                    probability_bars("probs", probs, classes, best),
                )
            }
        };
        html! {
            <>
            <div role="status" aria-live="polite">{ line }</div>
            { bars }
            </>
        }
    }
}

impl App {
    /// Put the user's picture after the shipped images and show it.
    fn show_picture(&mut self, ctx: &Context<Self>) {
        let Some((pixels, label)) = &self.picture else {
            return;
        };
        match self.shipped.appended(pixels, *label) {
            Ok(data) => {
                self.data = Rc::new(data);
                ctx.link().send_message(Msg::Select(self.shipped.len()));
            }
            Err(e) => self.picture_error = Some(e.to_string()),
        }
    }

    /// The caption of the shown image: which test image, or the user's picture and its label.
    fn view_label(&self, ctx: &Context<Self>) -> Html {
        let label = self.data.labels()[self.index];
        let classes = self.data.kind.class_names();
        if self.index < self.shipped.len() {
            return html! {
                <p id="label" data-class={label.to_string()} data-index={self.index.to_string()}>
                    { format!("{} test image {} of {} — true label {}", dataset_title(self.data.kind), self.index, self.shipped.len(), classes[label as usize]) }
                </p>
            };
        }
        html! {
            <p id="label" data-class={label.to_string()} data-drawn="true">
                { "Your picture — it shows " }
                <select id="picture-label" onchange={ctx.link().callback(|e: Event| {
                    Msg::Relabel(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0))
                })}>
                { for classes.iter().enumerate().map(|(c, name)| html! { <option value={c.to_string()} selected={c == usize::from(label)}>{ *name }</option> }) }
                </select>
                <span class="note">{ " (first set to the model's reading; the attacks and certificates treat it as the true class)" }</span>
            </p>
        }
    }

    /// Load the model the settings name, on the current backend.
    fn load_model(&mut self, ctx: &Context<Self>) {
        let Some(backend) = self.backend.clone() else {
            return;
        };
        self.pick += 1;
        self.progress = None;
        self.weights_source = None;
        let (pick, entry) = (self.pick, self.settings.model);
        let link = ctx.link().clone();
        ctx.link().send_future(async move {
            let on_progress = |done, total| link.send_message(Msg::LoadProgress(pick, done, total));
            Msg::Loaded(
                pick,
                crate::platform::zoo::load(entry, &backend.device, on_progress)
                    .await
                    .map(|(model, source)| (Rc::new(model), source)),
            )
        });
    }

    /// Put the current state in the address bar (without reloading), so it is the share link.
    fn update_url(&self) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&self.settings.to_query()),
            );
        }
    }
}

impl App {
    /// The attack lab, the defences, the certify panel and the robustness curves, or the one panel
    /// embed mode names.
    fn view_panels(&self, ctx: &Context<Self>) -> Html {
        let (Some(backend), Some(model)) = (&self.backend, &self.model) else {
            return html! {};
        };
        if !self.samples_in() {
            return html! {};
        }
        let photos = self.settings.dataset == DatasetKind::ImageNet;
        let attack = html! {
            <AttackLab backend={backend.clone()} model={model.clone()} data={self.data.clone()}
                index={self.index} initial={self.settings.attack}
                on_change={ctx.link().callback(Msg::Attack)} forward_ms={self.forward_ms} />
        };
        let certify = html! {
            <CertifyPanel backend={backend.clone()} model={model.clone()} data={self.data.clone()}
                index={self.index} initial={self.settings.certify}
                on_change={ctx.link().callback(Msg::Certify)} forward_ms={self.forward_ms} />
        };
        let unavailable = |id: &str, title: &str, why: &str| {
            html! {
                <section id={id.to_string()} class="panel">
                    <h2>{ title.to_string() }</h2>
                    <p class="note" id={format!("{id}-unavailable")}>{ why.to_string() }</p>
                </section>
            }
        };
        let curves = if photos {
            unavailable(
                "curves",
                "Robustness curves",
                "Curves over many ImageNet images take hours in a tab; \
                run them with the command line (perturb attack --eps …, perturb transfer) on your own GPU.",
            )
        } else {
            html! {
                <BatchView backend={backend.clone()} data={self.shipped.clone()} initial={self.settings.curves.clone()}
                    on_change={ctx.link().callback(Msg::Curves)} />
            }
        };
        let train = if self.settings.dataset == DatasetKind::Mnist {
            html! {
                <TrainPanel backend={backend.clone()} data={self.shipped.clone()} model={model.clone()} initial={self.settings.train}
                    shown={self.data.clone()} index={self.index}
                    on_change={ctx.link().callback(Msg::Train)}
                    on_use={ctx.link().callback(|(m, t)| Msg::UseTrained(m, t))} />
            }
        } else {
            html! {
                <section id="train" class="panel">
                    <h2>{ "Train in the tab" }</h2>
                    <p class="note" id="train-unavailable">{ "The page ships training images for MNIST only; \
                        switch the dataset to MNIST to train a model here." }</p>
                </section>
            }
        };
        // On ImageNet the defences are attacked on the shown photo alone: twenty PGD-20 runs
        // on a 224×224 network would take many minutes in a tab.
        let defended = if photos {
            Rc::new(self.data.range(self.index, self.index + 1))
        } else {
            self.shipped.clone()
        };
        let defenses = html! {
            <DefensePanel backend={backend.clone()} model={model.clone()} data={defended}
                initial={self.settings.defenses} on_change={ctx.link().callback(Msg::Defenses)} />
        };
        match self.settings.embed {
            None => html! { <>{ attack }{ defenses }{ train }{ certify }{ curves }</> },
            Some(Panel::Train) => train,
            Some(Panel::Defenses) => defenses,
            Some(Panel::Attack) => attack,
            Some(Panel::Certify) => certify,
            Some(Panel::Curves) => curves,
        }
    }

    /// `aria-current` of the panel bar's link to `panel`.
    fn current_mark(&self, panel: &str) -> Option<&'static str> {
        (self.reading.as_deref() == Some(panel)).then_some("true")
    }

    /// Links to each panel, kept at the top of the panels' column as it scrolls.
    fn view_nav(&self) -> Html {
        let curves_run = self.settings.dataset != DatasetKind::ImageNet;
        html! {
            <nav id="panel-nav" aria-label="panels">
                { for Panel::ALL.iter().map(|p| html! {
                    <a href={format!("#{}", p.element_id(curves_run))} data-panel={p.id()}
                        aria-current={self.current_mark(p.id())}>{ p.title() }</a>
                }) }
                <a href="#embed" data-panel="embed" aria-current={self.current_mark("embed")}>{ "Embed" }</a>
            </nav>
        }
    }

    /// Outside embed mode, copy-paste iframe snippets for each panel in the current state; inside
    /// it, a link to the full page.
    fn view_embed_help(&self) -> Html {
        let base = page_base();
        let with_embed = |embed| {
            UrlSettings {
                embed,
                tour: None,
                warnings: Vec::new(),
                ..self.settings.clone()
            }
            .to_query()
        };
        if self.settings.embed.is_some() {
            return html! {
                <p class="note"><a id="open-full" href={format!("{base}{}", with_embed(None))}
                    target="_blank" rel="noopener">{ "Open in Perturb ↗" }</a></p>
            };
        }
        html! {
            <details id="embed" class="panel">
                <summary>{ "Embed a panel in course material" }</summary>
                <p class="note">{ "Paste into a page; it opens on this model, image and these settings, with minimal chrome. \
                    The second form adds a one-line listener: the panel then tells the page its height as it changes, \
                    so the frame never needs a guessed height or a scroll bar (one listener serves every Perturb frame on the page)." }</p>
                { for Panel::ALL.iter().map(|p| {
                    let frame = format!(
                        r#"<iframe src="{base}{}" width="760" height="720" style="border:0" title="Perturb: {}"></iframe>"#,
                        with_embed(Some(*p)),
                        p.id()
                    );
                    let sized = format!("{frame}{}", crate::platform::embed::LISTENER);
                    html! {
                        <div class="snippet">
                            <label>{ format!("{} (fixed height)", p.id()) }
                                <textarea id={format!("embed-{}", p.id())} readonly=true rows="3" value={frame} />
                            </label>
                            <label>{ format!("{} (sizes itself)", p.id()) }
                                <textarea id={format!("embed-{}-sized", p.id())} readonly=true rows="4" value={sized} />
                            </label>
                        </div>
                    }
                }) }
            </details>
        }
    }
}

/// What [`App::update`] does for each message that needs more than a line.
impl App {
    /// A panel's settings changed: keep them and the share link.
    fn set(&mut self, apply: impl FnOnce(&mut UrlSettings)) {
        apply(&mut self.settings);
        self.update_url();
    }

    fn pick_model(&mut self, ctx: &Context<Self>, id: &str) -> bool {
        if id == TRAINED {
            let Some((model, _)) = &self.trained else {
                return false;
            };
            self.pick += 1;
            self.settings.use_trained = true;
            let (pick, model) = (self.pick, model.clone());
            ctx.link()
                .send_message(Msg::Loaded(pick, Ok((model, None))));
        } else {
            let Some(entry) = zoo::find(id) else {
                return false;
            };
            self.settings.model = entry;
            self.settings.use_trained = false;
            self.load_model(ctx);
        }
        self.update_url();
        true
    }

    fn pick_dataset(&mut self, ctx: &Context<Self>, id: &str) -> bool {
        let Some((kind, default)) = id
            .parse::<DatasetKind>()
            .ok()
            .and_then(|kind| Some((kind, zoo::default_for(kind)?)))
        else {
            return false;
        };
        if kind == self.settings.dataset {
            return false;
        }
        let data = placeholder(kind);
        self.settings.dataset = kind;
        self.settings.model = default;
        self.settings.use_trained = false;
        self.settings.drawn = false;
        self.settings.image = 0;
        self.shipped = Rc::new(data.clone());
        self.data = Rc::new(data);
        self.picture = None;
        self.index = 0;
        self.error = None;
        self.model = None;
        self.prediction = None;
        self.load_samples(ctx);
        self.load_model(ctx);
        self.update_url();
        true
    }

    /// A fetched dataset's images are here: show the image the URL names among them.
    fn samples_arrived(
        &mut self,
        ctx: &Context<Self>,
        kind: DatasetKind,
        result: Result<Dataset, String>,
    ) -> bool {
        if self.settings.dataset != kind {
            return false;
        }
        self.samples_pending = false;
        match result {
            Ok(data) => {
                let data = Rc::new(data);
                self.shipped = data.clone();
                self.data = data;
                self.picture = None;
                self.index = self.settings.image.min(self.data.len() - 1);
                self.prediction = None;
                self.request_prediction(ctx);
            }
            Err(e) => {
                self.samples_error = Some(format!(
                    "the {} test images are unreadable: {e}",
                    dataset_title(kind)
                ))
            }
        }
        true
    }

    /// Fetch and prepare the shown dataset's test images.
    fn load_samples(&mut self, ctx: &Context<Self>) {
        self.samples_pending = true;
        self.samples_error = None;
        request_samples(ctx, self.settings.dataset);
    }

    /// The WebGPU device was lost: move to the CPU backend in place, keeping every setting.
    fn device_lost(&mut self, ctx: &Context<Self>, reason: &str) -> bool {
        if !self
            .backend
            .as_ref()
            .is_some_and(|b| b.kind == BackendKind::WebGpu)
        {
            return false;
        }
        recovery::set_on_webgpu(false);
        self.backend = Some(Rc::new(Backend::cpu(format!(
            "the WebGPU device was lost ({}), so the page moved to the CPU backend and kept your settings",
            truncate(reason)
        ))));
        // A model trained in the tab lived on the lost device.
        if self.trained.take().is_some() && self.settings.use_trained {
            self.settings.use_trained = false;
            self.error =
                Some("the model trained in the tab was on the lost GPU; train it again".into());
        }
        self.model = None;
        self.prediction = None;
        self.load_model(ctx);
        self.update_url();
        true
    }

    fn loaded(
        &mut self,
        ctx: &Context<Self>,
        pick: u32,
        result: Result<(Rc<Sequential>, Option<Source>), String>,
    ) -> bool {
        if pick != self.pick {
            return false;
        }
        self.progress = None;
        match result {
            Ok((model, source)) => {
                self.model = Some(model);
                self.weights_source = source;
                self.error = None;
                self.prediction = None;
                self.request_prediction(ctx);
            }
            Err(e) => self.error = Some(e),
        }
        true
    }

    /// Label a drawn or uploaded picture with the model's reading, then show it.
    fn read_picture(&mut self, ctx: &Context<Self>, pixels: Vec<u8>) {
        self.picture_error = None;
        let (Some(model), Some(device)) = (
            self.model.clone(),
            self.backend.as_ref().map(|b| b.device.clone()),
        ) else {
            return;
        };
        let probe = match self.shipped.appended(&pixels, 0) {
            Ok(d) => d,
            Err(e) => {
                self.picture_error = Some(e.to_string());
                return;
            }
        };
        let index = probe.len() - 1;
        ctx.link().send_future(async move {
            let read = predict(model.as_ref(), &probe, index, &device).await;
            Msg::PictureRead(pixels, read)
        });
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let query = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        let mut settings = UrlSettings::parse(&query, SHIPPED_LEN);
        if settings.dataset == DatasetKind::ImageNet {
            settings = UrlSettings::parse(&query, samples::COUNT);
        }
        let data = placeholder(settings.dataset);
        crate::platform::zoo::prefetch(settings.model);
        request_samples(ctx, settings.dataset);
        listen_for_device_loss(ctx);
        let link = ctx.link().clone();
        scroll_spy::watch(move || link.send_message(Msg::Reading(scroll_spy::current_panel())));
        let force_cpu = settings.force_cpu;
        ctx.link()
            .send_future(async move { Msg::Booted(backend::init(force_cpu).await) });
        Self {
            // The images arrive later; the URL's image is shown then.
            index: 0,
            shipped: Rc::new(data.clone()),
            data: Rc::new(data),
            picture: None,
            picture_error: None,
            settings,
            backend: None,
            model: None,
            trained: None,
            pick: 0,
            prediction: None,
            warmed_up: false,
            progress: None,
            weights_source: None,
            samples_pending: true,
            samples_error: None,
            forward_ms: None,
            scrolled: false,
            reading: None,
            spied: false,
            error: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            Msg::Booted(backend) => {
                self.backend = Some(Rc::new(backend));
                self.load_model(ctx);
            }
            Msg::PickModel(id) => return self.pick_model(ctx, &id),
            Msg::PickDataset(id) => return self.pick_dataset(ctx, &id),
            Msg::UseTrained(model, title) => {
                self.trained = Some((model, title));
                ctx.link().send_message(Msg::PickModel(TRAINED.into()));
            }
            Msg::DeviceLost(reason) => return self.device_lost(ctx, &reason),
            Msg::Reading(panel) => {
                if panel == self.reading {
                    return false;
                }
                self.reading = panel;
            }
            Msg::Loaded(pick, result) => return self.loaded(ctx, pick, result),
            Msg::LoadProgress(pick, done, total) => {
                if pick != self.pick {
                    return false;
                }
                self.progress = Some((done, total));
            }
            Msg::Samples(kind, result) => return self.samples_arrived(ctx, kind, result),
            Msg::Picture(Err(e)) => self.picture_error = Some(e),
            Msg::Picture(Ok(pixels)) => self.read_picture(ctx, pixels),
            Msg::PictureRead(pixels, read) => match read {
                Ok(probs) => {
                    self.picture = Some((pixels, argmax(&probs) as u16));
                    self.show_picture(ctx);
                }
                Err(e) => self.picture_error = Some(e),
            },
            Msg::Relabel(label) => {
                if let Some((_, l)) = &mut self.picture {
                    *l = label;
                    self.show_picture(ctx);
                }
            }
            Msg::Select(index) => {
                self.index = index % self.data.len();
                self.settings.image = self.index;
                self.settings.drawn = self.index >= self.shipped.len();
                self.prediction = None;
                self.request_prediction(ctx);
                self.update_url();
            }
            Msg::Predicted(index, result, ms) => {
                if index != self.index {
                    return false;
                }
                // The first pass on WebGPU also compiles shaders: an upper bound until the next.
                self.forward_ms = Some(ms);
                self.warmed_up = true;
                self.prediction = Some(result);
            }
            Msg::Attack(attack) => self.set(|s| s.attack = attack),
            Msg::Defenses(defenses) => self.set(|s| s.defenses = defenses),
            Msg::Certify(certify) => self.set(|s| s.certify = certify),
            Msg::Train(train) => self.set(|s| s.train = train),
            Msg::Curves(curves) => self.set(|s| s.curves = curves),
        }
        true
    }

    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        if first_render && let Some(panel) = self.settings.embed {
            crate::platform::embed::report_height(panel.id());
        }
        // Mark the panel in view once the panels exist (model and images); scrolling keeps the mark
        // up to date. Not on every render: reading positions forces a layout, and a run renders
        // every step.
        if !self.spied && self.panels_shown() {
            self.spied = true;
            ctx.link()
                .send_message(Msg::Reading(scroll_spy::current_panel()));
        }
        // The panels appear only once the model and the images are in, after the browser gave up
        // on the fragment: scroll the tour's panel into view then, once.
        if self.scrolled || !self.panels_shown() {
            return;
        }
        self.scrolled = true;
        let Some(step) = self.settings.tour else {
            return;
        };
        if let Some(panel) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(tour::STEPS[step - 1].panel))
        {
            panel.scroll_into_view();
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let label = self.data.labels()[self.index];
        let classes = self.data.kind.class_names();
        let index = self.index;
        let prev = ctx
            .link()
            .callback(move |_| Msg::Select(index.saturating_sub(1)));
        let next = ctx.link().callback(move |_| Msg::Select(index + 1));
        let embed = self.settings.embed.is_some();
        html! {
            <main class={classes!(embed.then_some("embed"))}>
                { if embed { html! {} } else { html! {
                    <header>
                        <h1>{ "Perturb" }</h1>
                        <p class="tagline">{ "Adversarial machine learning on your own GPU" }</p>
                    </header>
                } } }
                { match &self.backend {
                    None => html! { <p id="backend" data-kind="pending">{ "Starting compute backend…" }</p> },
                    Some(b) => html! {
                        <p id="backend" data-kind={ if b.kind == BackendKind::WebGpu { "webgpu" } else { "cpu" } }>
                            { format!("Backend: {}", b.label()) }
                            { for b.fallback_reason.as_ref().map(|r| html! { <span class="note">{ format!(" ({r})") }</span> }) }
                        </p>
                    },
                } }
                { match (embed, self.settings.tour) {
                    (true, _) => html! {},
                    (false, Some(step)) => tour::view(&page_base(), step - 1),
                    (false, None) => tour::invitation(&page_base()),
                } }
                { for self.settings.warnings.iter().map(|w| html! { <p class="warning">{ w }</p> }) }
                { for self.samples_error.as_ref().or(self.error.as_ref()).map(|e| html! { <p id="error" class="error">{ e }</p> }) }
                <div class="workspace">
                <aside class="selection" aria-label="dataset, model and image">
                { if embed { html! {} } else { html! {
                    <Pickers dataset={self.settings.dataset} model={self.settings.model.id}
                        use_trained={self.settings.use_trained} trained={self.trained.as_ref().map(|(_, t)| t.clone())}
                        loading={self.model.is_none() && self.backend.is_some()}
                        progress={self.progress} source={self.weights_source.map(Source::id)}
                        on_dataset={ctx.link().callback(Msg::PickDataset)} on_model={ctx.link().callback(Msg::PickModel)} />
                } } }
                { if self.samples_pending { html! {
                    <p id="samples-loading" class="note">{ format!("Fetching the {} test images…", dataset_title(self.settings.dataset)) }</p>
                } } else if self.samples_error.is_some() { html! {} } else { html! {
                <section class="sample">
                    <Digit pixels={self.data.image(self.index)} shape={self.data.image_shape()}
                        label={format!("test image {} of class {}", self.index, classes[label as usize])} />
                    <div class="details">
                        { self.view_label(ctx) }
                        <div class="nav">
                            <button id="prev" onclick={prev} disabled={index == 0}>{ "◀ Previous" }</button>
                            <button id="next" onclick={next}>{ "Next ▶" }</button>
                        </div>
                        <Gallery data={self.shipped.clone()} index={self.index} on_select={ctx.link().callback(Msg::Select)} />
                        { self.view_prediction() }
                    </div>
                </section>
                } } }
                { match (embed, self.settings.dataset) {
                    (true, _) => html! {},
                    (false, DatasetKind::ImageNet) => html! {
                        <Photo side={samples::SIDE} on_picture={ctx.link().callback(Msg::Picture)} />
                    },
                    (false, _) => html! { <Sketch on_picture={ctx.link().callback(Msg::Picture)} /> },
                } }
                { for self.picture_error.as_ref().map(|e| html! { <p id="picture-error" class="error">{ e }</p> }) }
                </aside>
                <div class="panels">
                    { if embed { html! {} } else { self.view_nav() } }
                    { self.view_panels(ctx) }
                    { self.view_embed_help() }
                </div>
                </div>
            </main>
        }
    }
}
