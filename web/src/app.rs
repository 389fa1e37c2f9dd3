//! The root component: boots a backend, loads the default model and shows its prediction for a
//! test image.

use std::rc::Rc;

use perturb::data::{Dataset, DatasetKind, shipped_test_subset};
use perturb::model::SmallCnn;
use yew::prelude::*;

use crate::attack_lab::AttackLab;
use crate::backend::{self, Backend, BackendKind};
use crate::digit::Digit;
use crate::inference::predict;
use crate::settings::{AttackSettings, UrlSettings};

/// Messages driving [`App`].
pub enum Msg {
    /// The backend and the model on it are ready (or the model failed to load).
    Booted(Backend, Result<Rc<SmallCnn>, String>),
    /// Show another test image.
    Select(usize),
    /// A prediction for image `.0` came back.
    Predicted(usize, Result<Vec<f32>, String>),
    /// The attack lab's parameters changed.
    Attack(AttackSettings),
}

/// The playground page.
pub struct App {
    data: Rc<Dataset>,
    settings: UrlSettings,
    backend: Option<Rc<Backend>>,
    model: Option<Rc<SmallCnn>>,
    index: usize,
    prediction: Option<Result<Vec<f32>, String>>,
    warmed_up: bool,
    error: Option<String>,
}

impl App {
    fn request_prediction(&self, ctx: &Context<Self>) {
        let (Some(backend), Some(model)) = (&self.backend, &self.model) else {
            return;
        };
        let (device, model, data, index) = (
            backend.device.clone(),
            model.clone(),
            self.data.clone(),
            self.index,
        );
        ctx.link().send_future(async move {
            Msg::Predicted(index, predict(model.as_ref(), &data, index, &device).await)
        });
    }

    fn view_prediction(&self) -> Html {
        let classes = self.data.kind.class_names();
        match &self.prediction {
            None if !self.warmed_up && self.backend.is_some() => html! {
                <p id="prediction" data-ready="false">{ "Warming up shaders…" }</p>
            },
            None => html! { <p id="prediction" data-ready="false">{ "Predicting…" }</p> },
            Some(Err(e)) => html! { <p id="prediction" class="error" data-ready="error">{ e }</p> },
            Some(Ok(probs)) => {
                let best = argmax(probs);
                html! {
                    <>
                    <p id="prediction" data-ready="true" data-class={best.to_string()}>
                        { format!("Prediction: {} ({:.1}%)", classes[best], probs[best] * 100.0) }
                    </p>
                    <ol class="bars" aria-label="class probabilities">
                    { for probs.iter().enumerate().map(|(c, p)| html! {
                        <li class={classes!((c == best).then_some("best"))}>
                            <span class="name">{ classes[c] }</span>
                            <span class="bar" style={format!("width: {:.1}%", p * 100.0)} />
                            <span class="value">{ format!("{:.1}%", p * 100.0) }</span>
                        </li>
                    }) }
                    </ol>
                    </>
                }
            }
        }
    }
}

impl App {
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

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (data, error) = match shipped_test_subset(DatasetKind::Mnist) {
            Ok(d) => (d, None),
            Err(e) => (
                Dataset::new(DatasetKind::Mnist, 28, 28, vec![0; 784], vec![0])
                    .expect("one blank image"),
                Some(format!("shipped test images are unreadable: {e}")),
            ),
        };
        let query = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        let settings = UrlSettings::parse(&query, data.len());
        let force_cpu = settings.force_cpu;
        ctx.link().send_future(async move {
            let backend = backend::init(force_cpu).await;
            let model = SmallCnn::default_mnist(&backend.device)
                .map(Rc::new)
                .map_err(|e| format!("default model failed to load: {e}"));
            Msg::Booted(backend, model)
        });
        Self {
            index: settings.image,
            data: Rc::new(data),
            settings,
            backend: None,
            model: None,
            prediction: None,
            warmed_up: false,
            error,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            Msg::Booted(backend, model) => {
                self.backend = Some(Rc::new(backend));
                match model {
                    Ok(model) => self.model = Some(model),
                    Err(e) => self.error = Some(e),
                }
                self.request_prediction(ctx);
            }
            Msg::Select(index) => {
                self.index = index % self.data.len();
                self.settings.image = self.index;
                self.prediction = None;
                self.request_prediction(ctx);
                self.update_url();
            }
            Msg::Attack(attack) => {
                self.settings.attack = attack;
                self.update_url();
            }
            Msg::Predicted(index, result) => {
                if index != self.index {
                    return false;
                }
                self.warmed_up = true;
                self.prediction = Some(result);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let n = self.data.len();
        let label = self.data.labels()[self.index];
        let classes = self.data.kind.class_names();
        let index = self.index;
        let prev = ctx
            .link()
            .callback(move |_| Msg::Select(index.saturating_sub(1)));
        let next = ctx.link().callback(move |_| Msg::Select(index + 1));
        html! {
            <main>
                <header>
                    <h1>{ "Perturb" }</h1>
                    <p class="tagline">{ "Adversarial machine learning on your own GPU" }</p>
                </header>
                { match &self.backend {
                    None => html! { <p id="backend" data-kind="pending">{ "Starting compute backend…" }</p> },
                    Some(b) => html! {
                        <p id="backend" data-kind={ if b.kind == BackendKind::WebGpu { "webgpu" } else { "cpu" } }>
                            { format!("Backend: {}", b.label()) }
                            { for b.fallback_reason.as_ref().map(|r| html! { <span class="note">{ format!(" ({r})") }</span> }) }
                        </p>
                    },
                } }
                { for self.settings.warnings.iter().map(|w| html! { <p class="warning">{ w }</p> }) }
                { for self.error.as_ref().map(|e| html! { <p id="error" class="error">{ e }</p> }) }
                <section class="sample">
                    <Digit pixels={self.data.image(self.index)} size={self.data.image_size()}
                        label={format!("test image {} of class {}", self.index, classes[label as usize])} />
                    <div class="details">
                        <p id="label" data-class={label.to_string()}>
                            { format!("MNIST test image {} of {n} — true label {}", self.index, classes[label as usize]) }
                        </p>
                        <div class="nav">
                            <button id="prev" onclick={prev} disabled={index == 0}>{ "◀ Previous" }</button>
                            <button id="next" onclick={next}>{ "Next ▶" }</button>
                        </div>
                        { self.view_prediction() }
                    </div>
                </section>
                { match (&self.backend, &self.model) {
                    (Some(backend), Some(model)) => html! {
                        <AttackLab backend={backend.clone()} model={model.clone()} data={self.data.clone()}
                            index={self.index} initial={self.settings.attack}
                            on_change={ctx.link().callback(Msg::Attack)} />
                    },
                    _ => html! {},
                } }
            </main>
        }
    }
}
