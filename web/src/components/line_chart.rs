//! An SVG chart of accuracies (0–100 %) against a non-negative x: the robustness curves, the
//! training curves and smoothing's certified accuracy against radius share it. Each point reads
//! out its values on hover (and to screen readers); the chart saves as SVG, PNG and CSV.

use yew::prelude::*;

use super::ExportBar;

/// How many series colours the style sheet defines (`--series-0` … `--series-7`, Okabe–Ito:
/// colour-blind safe, with lighter variants in dark mode).
pub const COLOURS: usize = 8;

/// The CSS colour of series `i`.
pub fn colour(i: usize) -> String {
    format!("var(--series-{})", i % COLOURS)
}

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `data-id` of its polyline, for tests.
    pub id: String,
    /// Legend text.
    pub label: String,
    /// Points (x, accuracy in [0, 1]).
    pub points: Vec<(f32, f64)>,
}

/// The chart's frame: element id, x range and ticks, axis caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<'a> {
    /// Element id.
    pub id: &'a str,
    /// What a screen reader says.
    pub aria: &'a str,
    /// Right end of the x axis (the left end is 0).
    pub x_max: f32,
    /// x values labelled under the axis.
    pub x_ticks: Vec<f32>,
    /// Caption under the axis.
    pub caption: &'a str,
    /// What x is, with its unit: the CSV column and the hover read-out.
    pub x_name: &'a str,
}

/// The chart's data as CSV: one row per point (`series,{x_name},accuracy`).
pub fn series_csv(x_name: &str, series: &[Series]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = format!("series,{},accuracy\n", quote(x_name));
    for s in series {
        for (x, a) in &s.points {
            csv.push_str(&format!("{},{x},{a:.6}\n", quote(&s.label)));
        }
    }
    csv
}

/// Draw `series` in `frame`; each polyline carries its accuracies in `data-values`. Below the
/// chart, buttons save it.
pub fn accuracy_chart(frame: &Frame, series: &[Series]) -> Html {
    html! {
        <div class="chart">
            { chart_svg(frame, series) }
            <ExportBar name={frame.id.to_string()} chart={frame.id.to_string()}
                csv={series_csv(frame.x_name, series)} />
        </div>
    }
}

fn chart_svg(frame: &Frame, series: &[Series]) -> Html {
    let (w, h) = (460.0f32, 240.0f32);
    let (left, right, top, bottom) = (40.0, 150.0, 10.0, 30.0);
    let x_max = frame.x_max.max(f32::MIN_POSITIVE);
    let x = |v: f32| left + (w - left - right) * v / x_max;
    let y = |a: f64| top + (h - top - bottom) * (1.0 - a as f32);
    html! {
        <svg id={frame.id.to_string()} class="plot" width={w.to_string()} height={h.to_string()}
            viewBox={format!("0 0 {w} {h}")}
            data-curves={series.len().to_string()} role="img" aria-label={frame.aria.to_string()}>
            { for [0.0, 0.5, 1.0].iter().map(|a| html! {
                <>
                <line x1={left.to_string()} x2={(w - right).to_string()} y1={y(*a).to_string()} y2={y(*a).to_string()} class="grid" />
                <text x="4" y={(y(*a) + 4.0).to_string()} class="axis">{ format!("{:.0}%", a * 100.0) }</text>
                </>
            }) }
            { for frame.x_ticks.iter().map(|t| html! {
                <text x={(x(*t) - 8.0).to_string()} y={(h - 14.0).to_string()} class="axis">{ t.to_string() }</text>
            }) }
            <text x={(left + 60.0).to_string()} y={(h - 2.0).to_string()} class="axis">{ frame.caption }</text>
            { for series.iter().enumerate().map(|(i, s)| {
                let colour = colour(i);
                let points: Vec<String> = s.points.iter()
                    .map(|(px, a)| format!("{:.1},{:.1}", x(*px), y(*a)))
                    .collect();
                let values: Vec<String> = s.points.iter().map(|(_, a)| format!("{a:.4}")).collect();
                html! {
                    <>
                    <polyline class="curve" data-id={s.id.clone()} data-values={values.join(",")}
                        points={points.join(" ")} fill="none" stroke={colour.clone()} stroke-width="2" />
                    <text x={(w - right + 8.0).to_string()} y={(top + 12.0 + 14.0 * i as f32).to_string()}
                        class="axis" style={format!("fill: {colour}")}>{ s.label.clone() }</text>
                    { for s.points.iter().map(|(px, a)| html! {
                        <circle class="point" cx={format!("{:.1}", x(*px))} cy={format!("{:.1}", y(*a))} r="3.5"
                            fill={colour.clone()}>
                            <title>{ format!("{}: {} {px} → {:.1}%", s.label, frame.x_name, a * 100.0) }</title>
                        </circle>
                    }) }
                    </>
                }
            }) }
        </svg>
    }
}
