//! The guided tour's box: the current step's story and links on (the steps themselves are page
//! state, in `state::tour`).

use yew::prelude::*;

pub use crate::state::tour::{STEPS, TourStep, step_href};

/// The tour box for step `index` (from 0): the story so far, and links on.
pub fn view(base: &str, index: usize) -> Html {
    let step = &STEPS[index];
    html! {
        <nav id="tour" class="panel tour" data-step={(index + 1).to_string()} aria-label="guided tour">
            <p class="note">{ format!("Guided tour — step {} of {}", index + 1, STEPS.len()) }</p>
            <h2>{ step.title }</h2>
            <p>{ step.text }</p>
            <p class="nav">
                { if index > 0 { html! { <a id="tour-prev" href={step_href(base, index - 1)}>{ "◀ Back" }</a> } } else { html! {} } }
                <a id="tour-here" href={format!("#{}", step.panel)}>{ " Go to the panel " }</a>
                { if index + 1 < STEPS.len() {
                    html! { <a id="tour-next" href={step_href(base, index + 1)}>{ "Next step ▶" }</a> }
                } else {
                    html! { <a id="tour-end" href={base.to_string()}>{ "End the tour" }</a> }
                } }
            </p>
        </nav>
    }
}

/// The invitation shown when no tour is running.
pub fn invitation(base: &str) -> Html {
    html! {
        <p id="tour-start" class="note">
            { "New to adversarial examples? " }
            <a href={step_href(base, 0)}>{ "Take the guided tour" }</a>
            { format!(" ({} steps: attack, a broken defence, BPDA, adversarial training, certification, poisoning).", STEPS.len()) }
        </p>
    }
}
