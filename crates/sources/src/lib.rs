//! Readers of evidence: every format an Exchange server leaves behind, read as
//! a stream with bounded memory, tolerant of truncated tails, CRLF, non-UTF-8
//! bytes and huge lines. Readers produce records with provenance (file, line
//! or record number); they never run detections. [`walk`] is the one policy every walk of
//! a file tree follows (evidence and rule folders).

pub mod archive;
pub mod classify;
pub mod collection;
pub mod csvlog;
pub mod entra;
pub mod evtx;
pub mod lines;
pub mod open;
pub mod record;
pub mod w3c;
pub mod walk;

pub use classify::{LogKind, classify};
pub use record::{Field, Record, RecordSource};
