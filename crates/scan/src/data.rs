//! Errors of the data files the scanner loads (`data/probes/*.toml`): which file, what is wrong.

use thiserror::Error;

/// A data file that does not load: a TOML error or a rule the loader refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}: {message}")]
pub struct DataError {
    pub file: &'static str,
    pub message: String,
}

impl DataError {
    pub fn new(file: &'static str, message: impl Into<String>) -> DataError {
        DataError { file, message: message.into() }
    }
}
