//! The Perturb playground: a Yew front-end that renders and dispatches to the `perturb` core.
//!
//! - [`state`]: one settings type per panel and the URL codec (pure, tested natively);
//! - [`panels`]: the panels, named as in the URL;
//! - [`components`]: reusable pieces (fields, run controls, charts, images, pickers);
//! - [`platform`]: browser glue (backend choice, device-loss recovery, fetching);
//! - [`app`]: the root component that holds the selection and the URL.

pub mod app;
pub mod components;
pub mod panels;
pub mod platform;
pub mod state;

/// Mount the application on the page body.
pub fn start() {
    platform::recovery::install_panic_hook();
    // The core's long loops hand control back to the browser every few tens of milliseconds.
    perturb::runtime::pace::set_pause_hook(Some(std::rc::Rc::new(|| {
        Box::pin(platform::browser::yield_if_busy())
    })));
    yew::Renderer::<app::App>::new().render();
}
