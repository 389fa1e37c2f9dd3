//! Glue to the browser: choosing the backend, surviving a lost GPU, fetching files and handing
//! control back to the event loop, loading zoo models.

pub mod backend;
pub mod browser;
pub mod cache;
pub mod embed;
pub mod export;
pub mod recovery;
pub mod samples;
pub mod scroll_spy;
pub mod zoo;

pub use backend::{Backend, BackendKind};
