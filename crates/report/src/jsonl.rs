use std::io::Write;

use seawall_model::Record;

use crate::{FindingSink, SinkError};

/// One JSON envelope per line (`docs/output-format.md`). JSON escaping makes
/// attacker strings inert; nothing else is changed.
#[derive(Debug)]
pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> FindingSink for JsonlSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        serde_json::to_writer(&mut self.out, record).map_err(|e| SinkError::Encode(e.to_string()))?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}
