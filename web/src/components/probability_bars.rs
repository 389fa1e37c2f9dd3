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

/// Classes shown at most: every class of a 10-class dataset, the top five of ImageNet's 1,000.
const SHOWN: usize = 10;

/// The classes a bar list shows: all of them in order when there are few, else the five most
/// probable, most probable first.
pub fn shown_classes(probs: &[f32]) -> Vec<usize> {
    if probs.len() <= SHOWN {
        return (0..probs.len()).collect();
    }
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    order.truncate(5);
    order
}

/// One bar per class (the top five when there are many), `highlight` marked; `id` names the list
/// for tests and styling.
pub fn probability_bars(id: &str, probs: &[f32], classes: &[&str], highlight: usize) -> Html {
    let label = if probs.len() > SHOWN {
        "top-5 class probabilities"
    } else {
        "class probabilities"
    };
    html! {
        <ol class="bars" id={id.to_string()} aria-label={label}>
        { for shown_classes(probs).into_iter().map(|c| (c, probs[c])).map(|(c, p)| html! {
            <li class={classes!((c == highlight).then_some("best"))} data-class={c.to_string()}>
                <span class="name">{ classes[c] }</span>
                <span class="bar" style={format!("width: {:.1}%", p * 100.0)} />
                <span class="value">{ format!("{:.1}%", p * 100.0) }</span>
            </li>
        }) }
        </ol>
    }
}
