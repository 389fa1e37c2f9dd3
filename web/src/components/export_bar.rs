//! Buttons that save a chart (SVG, PNG) with its data (CSV), or a result (JSON, CSV).

use yew::prelude::*;

use crate::platform::export;

/// Properties of [`ExportBar`].
#[derive(Properties, PartialEq)]
pub struct ExportBarProps {
    /// File name stem, and the prefix of the buttons' ids (`{name}-svg`, `-png`, `-csv`, `-json`).
    pub name: AttrValue,
    /// Element id of the chart to save as SVG and PNG, if any.
    #[prop_or_default]
    pub chart: Option<AttrValue>,
    /// The data as CSV, if any.
    #[prop_or_default]
    pub csv: Option<AttrValue>,
    /// The result as JSON, if any.
    #[prop_or_default]
    pub json: Option<AttrValue>,
}

/// "Save: SVG PNG CSV JSON", each button present when there is something to save in that form.
#[function_component(ExportBar)]
pub fn export_bar(props: &ExportBarProps) -> Html {
    let error = use_state(|| None::<String>);
    let name = props.name.clone();
    let report = {
        let error = error.clone();
        move |r: Result<(), String>| error.set(r.err())
    };
    let button = |kind: &'static str, label: &'static str, onclick: Callback<MouseEvent>| {
        html! {
            <button type="button" id={format!("{name}-{kind}")} aria-label={format!("save {label}")}
                title={format!("save as {name}.{kind}")} {onclick}>{ label }</button>
        }
    };
    let chart_buttons = props.chart.clone().map(|chart| {
        let (svg_chart, svg_name, svg_report) = (chart.clone(), name.clone(), report.clone());
        let svg = Callback::from(move |_| {
            svg_report(export::save_svg(&svg_chart, &format!("{svg_name}.svg")))
        });
        let (png_name, png_report) = (name.clone(), report.clone());
        let png = Callback::from(move |_| {
            let (chart, name, report) = (chart.clone(), png_name.clone(), png_report.clone());
            wasm_bindgen_futures::spawn_local(async move {
                report(export::save_png(&chart, &format!("{name}.png")).await)
            });
        });
        html! { <>{ button("svg", "SVG", svg) }{ button("png", "PNG", png) }</> }
    });
    let text_button = |kind: &'static str, mime: &'static str, text: &Option<AttrValue>| {
        text.clone().map(|text| {
            let (name, report) = (name.clone(), report.clone());
            button(
                kind,
                if kind == "csv" { "CSV" } else { "JSON" },
                Callback::from(move |_| {
                    report(export::save_text(&format!("{name}.{kind}"), mime, &text))
                }),
            )
        })
    };
    html! {
        <div class="export" role="group" aria-label={format!("save {}", props.name)}>
            <span class="note">{ "Save" }</span>
            { for chart_buttons }
            { for text_button("csv", "text/csv", &props.csv) }
            { for text_button("json", "application/json", &props.json) }
            { for (*error).clone().map(|e| html! { <span class="error" role="alert">{ e }</span> }) }
        </div>
    }
}
