//! A record of evidence as detections see it: named fields, a time, and where it came from.

use std::borrow::Cow;

/// Where a record was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSource {
    /// A line of a text log (1-based).
    Line(u64),
    /// An EVTX record id.
    EvtxRecord(u64),
}

/// A field's name and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// What every reader produces. Field names are those of the format
/// (`cs-uri-stem`, `AnchorMailbox`, `CommandLine`), matched case-insensitively.
pub trait Record {
    /// The value of a field; `None` when the format has no such field or it is `-`.
    fn field(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Event time as RFC 3339 UTC, when the record carries one.
    fn time(&self) -> Option<jiff::Timestamp>;
    fn source(&self) -> RecordSource;
    /// The record as it was stored, for evidence.
    fn raw(&self) -> Cow<'_, [u8]>;
}
