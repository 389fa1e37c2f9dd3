//! The selection always at hand: the dataset and the model the panels work on.

use perturb::data::DatasetKind;
use perturb::zoo;
use yew::prelude::*;

use super::number_field::selected;

/// The model picker's value for the model trained in this tab.
pub const TRAINED: &str = "trained";

/// How the page names a dataset.
pub fn dataset_title(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Mnist => "MNIST",
        DatasetKind::FashionMnist => "Fashion-MNIST",
        DatasetKind::ImageNet => "ImageNet",
    }
}

/// Properties of [`Pickers`].
#[derive(Properties, PartialEq)]
pub struct PickersProps {
    /// The dataset shown.
    pub dataset: DatasetKind,
    /// The zoo model picked.
    pub model: &'static str,
    /// The model trained in the tab is picked instead.
    pub use_trained: bool,
    /// The title of the model trained in the tab, once there is one.
    pub trained: Option<String>,
    /// The picked model is still loading.
    pub loading: bool,
    /// Bytes of its weights downloaded so far, of the total when known.
    #[prop_or_default]
    pub progress: Option<(u64, Option<u64>)>,
    /// Where its weights came from, for large ones ("network" or "cache").
    #[prop_or_default]
    pub source: Option<&'static str>,
    /// Told a dataset id.
    pub on_dataset: Callback<String>,
    /// Told a zoo id, or [`TRAINED`].
    pub on_model: Callback<String>,
}

/// The dataset and model selects.
#[function_component(Pickers)]
pub fn pickers(props: &PickersProps) -> Html {
    html! {
        <div class="pickers">
            <label class="picker">{ "Dataset " }
                <select id="dataset" onchange={props.on_dataset.reform(selected)}>
                { for DatasetKind::ALL.iter().map(|k| html! {
                    <option value={k.id()} selected={*k == props.dataset}>{ dataset_title(*k) }</option>
                }) }
                </select>
            </label>
            <label class="picker">{ "Model " }
                <select id="model" onchange={props.on_model.reform(selected)}>
                { for zoo::for_dataset(props.dataset).map(|m| html! {
                    <option value={m.id} selected={!props.use_trained && m.id == props.model}>{ m.title }</option>
                }) }
                { for props.trained.as_ref().map(|title| html! {
                    <option value={TRAINED} selected={props.use_trained}>{ title.clone() }</option>
                }) }
                </select>
                { match (props.loading, props.progress, props.source) {
                    (true, Some((done, total)), _) => {
                        let mb = |b: u64| b as f64 / 1e6;
                        html! {
                            <span class="note" id="model-progress-text">
                                <progress id="model-progress" value={done.to_string()}
                                    max={total.unwrap_or(done.max(1)).to_string()} />
                                { match total {
                                    Some(t) => format!(" downloading {:.1} of {:.1} MB…", mb(done), mb(t)),
                                    None => format!(" downloading {:.1} MB…", mb(done)),
                                } }
                            </span>
                        }
                    }
                    (true, None, _) => html! { <span class="note">{ " loading…" }</span> },
                    (false, _, Some(source)) => html! {
                        <span class="note" id="weights-source" data-source={source}>{ match source {
                            "cache" => " weights from this browser's cache",
                            _ => " weights downloaded (kept in this browser's cache for next time)",
                        } }</span>
                    },
                    (false, _, None) => html! {},
                } }
            </label>
        </div>
    }
}
