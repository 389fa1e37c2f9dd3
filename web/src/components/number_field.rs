//! Form inputs with the page's conventions: a labelled field that hands its raw text to the
//! panel (which checks it with `state::checks`), and the warning that names a refused value.

use yew::prelude::*;

/// Properties of [`NumberField`].
#[derive(Properties, PartialEq)]
pub struct NumberFieldProps {
    /// Element id.
    pub id: AttrValue,
    /// The label before the field.
    pub label: AttrValue,
    /// Current value.
    pub value: AttrValue,
    /// Smallest value the browser's spinner offers.
    #[prop_or_default]
    pub min: Option<AttrValue>,
    /// Largest value the browser's spinner offers.
    #[prop_or_default]
    pub max: Option<AttrValue>,
    /// Any value, not just steps of one.
    #[prop_or_default]
    pub decimal: bool,
    /// Greyed out.
    #[prop_or_default]
    pub disabled: bool,
    /// Tooltip.
    #[prop_or_default]
    pub title: Option<AttrValue>,
    /// Told the new text on change.
    pub onchange: Callback<String>,
}

/// `<label>LABEL <input type="number" …></label>`.
#[function_component(NumberField)]
pub fn number_field(props: &NumberFieldProps) -> Html {
    let onchange = props.onchange.reform(|e: Event| {
        e.target_unchecked_into::<web_sys::HtmlInputElement>()
            .value()
    });
    html! {
        <label title={props.title.clone()}>{ props.label.clone() }
            <input id={props.id.clone()} type="number" min={props.min.clone()} max={props.max.clone()}
                step={props.decimal.then_some("any")} value={props.value.clone()}
                disabled={props.disabled} {onchange} />
        </label>
    }
}

/// The warning under a form when a value was refused (element id `{prefix}-form-error`).
pub fn form_error(prefix: &str, error: &Option<String>) -> Html {
    match error {
        Some(e) => {
            html! { <p class="warning" role="alert" id={format!("{prefix}-form-error")}>{ e.clone() }</p> }
        }
        None => html! {},
    }
}

/// A select's value from its change event.
pub fn selected(e: Event) -> String {
    e.target_unchecked_into::<web_sys::HtmlSelectElement>()
        .value()
}
