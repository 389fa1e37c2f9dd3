//! The one error type of the core: every fallible operation reports through it.

use thiserror::Error;

/// What went wrong in the core, phrased for the person who has to fix it.
#[derive(Debug, Error)]
pub enum Error {
    /// A data file could not be read from disk.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that failed.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A data file is not in the format it claims to be, or is cut short.
    #[error("malformed {what}: {detail}")]
    Format {
        /// Which kind of file (e.g. "IDX images").
        what: &'static str,
        /// What exactly is wrong.
        detail: String,
    },
    /// Two inputs that must agree do not (image and label counts, weight shapes, ...).
    #[error("mismatch: {0}")]
    Mismatch(String),
    /// Model weights are missing, corrupt or do not fit the architecture.
    #[error("invalid weights: {0}")]
    Weights(String),
    /// A parameter is outside its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The compute device failed (lost device, failed readback).
    #[error("device error: {0}")]
    Device(String),
}

/// Shorthand for results carrying [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A malformed file or text: `what` it should have been and what is wrong.
    pub fn format(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Format {
            what,
            detail: detail.into(),
        }
    }
}
