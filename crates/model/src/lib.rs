//! The one findings model of seawall.
//!
//! Scan and hunt both produce [`Record`]s: `service` observations, `finding`s,
//! non-fatal `error`s and the `run_start` / `run_end` bookends. Every record is
//! written as one JSONL line `{"type": T, "v": 1, "data": {...}}` (see
//! `docs/output-format.md`). This crate does no I/O.

mod envelope;
mod evidence;
mod finding;
mod id;
mod run;
mod service;
mod severity;

pub use envelope::{ENVELOPE_VERSION, EnvelopeError, Record};
pub use evidence::{EXCERPT_LIMIT, Evidence};
pub use finding::{Finding, Location, RuleRef, RuleSource};
pub use id::FindingId;
pub use run::{ErrorRecord, RunEnd, RunStart};
pub use service::{Certificate, Service, TlsInfo};
pub use severity::{Confidence, Severity};
