//! The Perturb playground: a Yew front-end that renders and dispatches to the `perturb` core.

pub mod app;
pub mod attack_lab;
pub mod backend;
pub mod batch_view;
pub mod browser;
pub mod certify_panel;
pub mod defense_panel;
pub mod digit;
pub mod inference;
pub mod line_chart;
pub mod panel;
pub mod probability_bars;
pub mod recovery;
pub mod settings;
pub mod sketch;
pub mod smoothing_curve;
pub mod tour;
pub mod train_panel;
pub mod zoo;

/// Mount the application on the page body.
pub fn start() {
    recovery::install_panic_hook();
    // The core's long loops hand control back to the browser every few tens of milliseconds.
    perturb::pace::set_pause_hook(Some(std::rc::Rc::new(
        || Box::pin(browser::yield_if_busy()),
    )));
    yew::Renderer::<app::App>::new().render();
}
