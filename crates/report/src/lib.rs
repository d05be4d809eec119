//! Where findings go. Engines hand [`Record`]s to a [`FindingSink`]; one sink
//! owns the output stream. Every string that came from the network or from
//! evidence is escaped for the medium: control sequences never reach a
//! terminal, formulas never reach a spreadsheet. Runs (from JSONL files or the results store of
//! `seawall-store`) are compared with [`diff`].

mod csv_sink;
pub mod diff;
mod diff_output;
pub mod escape;
pub mod html;
mod jsonl;
pub mod jsonl_reader;
mod text;
mod timesketch;

use seawall_model::Record;

pub use csv_sink::{COLUMNS as CSV_COLUMNS, CsvProfile, CsvSink, ProfileError};
pub use html::HtmlSink;
pub use jsonl::JsonlSink;
pub use text::TextSink;
pub use timesketch::TimesketchSink;

/// A failure to write output (a closed pipe, a full disk).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("encoding a record: {0}")]
    Encode(String),
}

/// Receives every record of a run, in order, and writes it somewhere.
pub trait FindingSink {
    fn record(&mut self, record: &Record) -> Result<(), SinkError>;

    /// Flush whatever is buffered; called once after the last record.
    fn finish(&mut self) -> Result<(), SinkError>;
}
