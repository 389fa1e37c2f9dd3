//! Reusable pieces of the page: form fields and run controls, charts and bars, images, the
//! gallery, the pickers and the drawing pad.

pub mod digit;
pub mod export_bar;
pub mod gallery;
pub mod line_chart;
pub mod number_field;
pub mod photo;
pub mod pickers;
pub mod probability_bars;
pub mod run_control;
pub mod sketch;

pub use digit::Digit;
pub use export_bar::ExportBar;
pub use gallery::Gallery;
pub use number_field::{NumberField, form_error, selected};
pub use photo::Photo;
pub use pickers::Pickers;
pub use run_control::{Job, RunStop};
