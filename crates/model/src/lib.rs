//! The one findings model of seawall.
//!
//! Scan and hunt both produce [`Record`]s: `service` observations, `finding`s,
//! non-fatal `error`s and the `run_start` / `run_end` bookends. Every record is
//! written as one JSONL line `{"type": T, "v": 1, "data": {...}}` (see
//! `docs/output-format.md`). Runs as a results store keeps them ([`runs`]) and the digests
//! that identify things across runs ([`digest`]) live here too, and the schema of the code
//! detectors' catalogs ([`catalog`]). This crate does no I/O.

pub mod catalog;
pub mod digest;
mod envelope;
mod evidence;
mod finding;
mod id;
mod run;
pub mod runs;
mod service;
mod severity;

pub use envelope::{ENVELOPE_VERSION, EnvelopeError, Record};
pub use evidence::{EXCERPT_LIMIT, Evidence};
pub use finding::{Finding, Location, RuleRef, RuleSource};
pub use id::FindingId;
pub use run::{ErrorRecord, RunEnd, RunStart};
pub use runs::{RunInfo, RunResults, SessionInfo, SessionStatus, ShardSpec};
pub use service::{Certificate, Service, TlsInfo};
pub use severity::{Confidence, Severity, UnknownSeverity};
