//! The Perturb playground: a Yew front-end that renders and dispatches to the `perturb` core.

pub mod app;
pub mod backend;
pub mod digit;
pub mod inference;

/// Mount the application on the page body.
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
