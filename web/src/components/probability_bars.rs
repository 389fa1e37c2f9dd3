//! Class probabilities as a bar list, and the top class.

use yew::prelude::*;

/// Index of the largest value (the first among ties; 0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// One bar per class, `highlight` marked; `id` names the list for tests and styling.
pub fn probability_bars(id: &str, probs: &[f32], classes: &[&str], highlight: usize) -> Html {
    html! {
        <ol class="bars" id={id.to_string()} aria-label="class probabilities">
        { for probs.iter().enumerate().map(|(c, p)| html! {
            <li class={classes!((c == highlight).then_some("best"))}>
                <span class="name">{ classes[c] }</span>
                <span class="bar" style={format!("width: {:.1}%", p * 100.0)} />
                <span class="value">{ format!("{:.1}%", p * 100.0) }</span>
            </li>
        }) }
        </ol>
    }
}
