use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Severity;

/// The first record of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStart {
    pub tool: String,
    pub version: String,
    /// `scan`, `hunt`, `kb`, `demo`.
    pub command: String,
    /// RFC 3339 UTC.
    pub started: String,
    /// Which knowledge base answered: `embedded` or the `--kb` directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb: Option<String>,
}

/// A non-fatal problem: the run went on without this host or file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The path or host the error belongs to.
    pub source: String,
    pub message: String,
    /// Line, byte offset or record number, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

/// The last record of a run: counts and duration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<u64>,
    pub findings: BTreeMap<Severity, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub errors: u64,
    pub duration_ms: u64,
    /// Extra counters of one command (files by kind, events, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
}

impl RunEnd {
    pub fn count_finding(&mut self, severity: Severity) {
        *self.findings.entry(severity).or_default() += 1;
    }
}
