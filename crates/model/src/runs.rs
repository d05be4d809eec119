//! Runs as stored and compared: a run, its sessions and its results as one value, from a
//! results store or from a JSONL file, in one canonical order so that two runs (or a store
//! and a file) compare with `==`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::digest::Fingerprint;
use crate::{ErrorRecord, Finding, Record, RunEnd, RunStart, Service};

/// `--shard I/N` of a session (`0/1` for a whole scan and for hunts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShardSpec {
    pub index: u64,
    pub count: u64,
}

impl ShardSpec {
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub name: String,
    /// `scan` or `hunt`.
    pub command: String,
    /// The permutation seed every session of the run uses.
    pub seed: u64,
    /// Identity of the target space (targets, ports, exclusions, in order) or of the hunted paths.
    pub targets_digest: String,
    /// Identity of the options that change results (opt-in checks, rules).
    pub config_digest: String,
    /// RFC 3339 UTC.
    pub created: String,
}

/// How a session ended. A session killed outright (SIGKILL, power loss) stays `running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Running,
    Finished,
    /// Stopped early (Ctrl-C), or found still `running` when a later session resumed its shard.
    Interrupted,
    Failed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Running => "running",
            SessionStatus::Finished => "finished",
            SessionStatus::Interrupted => "interrupted",
            SessionStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<SessionStatus> {
        match text {
            "running" => Some(SessionStatus::Running),
            "finished" => Some(SessionStatus::Finished),
            "interrupted" => Some(SessionStatus::Interrupted),
            "failed" => Some(SessionStatus::Failed),
            _ => None,
        }
    }
}

/// One process that wrote to a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    pub id: i64,
    pub run_id: i64,
    /// The command line, summarised (`scan -iL targets.txt --shard 0/3 --seed 42`).
    pub args: String,
    pub shard: ShardSpec,
    pub resumed: bool,
    pub tool_version: String,
    pub started: String,
    pub ended: Option<String>,
    pub status: SessionStatus,
    /// The session's `run_end` counts, when it ended.
    pub stats: Option<RunEnd>,
}

/// Services, findings and errors of one run, deduplicated as a store keys them and sorted:
/// services by (host, port), findings by (location, rule, id), errors by (source, message,
/// position).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunResults {
    /// How the run is named in output: its name in the store, or the file it was read from.
    pub label: String,
    /// The stored run, when it came from a store.
    pub run: Option<RunInfo>,
    pub sessions: Vec<SessionInfo>,
    /// The `run_start` records of a JSONL file.
    pub starts: Vec<RunStart>,
    /// Endpoints marked done (stored scans only).
    pub endpoints_done: u64,
    pub services: Vec<Service>,
    pub findings: Vec<Finding>,
    pub errors: Vec<ErrorRecord>,
}

impl RunResults {
    /// Results read from records (a JSONL file): a service seen twice on one host and port
    /// counts once (the last), as do a finding id and an error.
    pub fn from_records(label: impl Into<String>, records: impl IntoIterator<Item = Record>) -> RunResults {
        let mut services = BTreeMap::new();
        let mut findings = BTreeMap::new();
        let mut errors = BTreeMap::new();
        let mut starts = Vec::new();
        for record in records {
            match record {
                Record::Service(service) => {
                    services.insert((service.host.clone(), service.port), service);
                }
                Record::Finding(finding) => {
                    findings.insert(finding.id.clone(), finding);
                }
                Record::Error(error) => {
                    errors.insert(error_key(&error), error);
                }
                Record::RunStart(start) => starts.push(start),
                Record::RunEnd(_) => {}
            }
        }
        let mut results = RunResults {
            label: label.into(),
            starts,
            services: services.into_values().collect(),
            findings: findings.into_values().collect(),
            errors: errors.into_values().collect(),
            ..RunResults::default()
        };
        results.sort();
        results
    }

    /// Put services, findings and errors in canonical order (independent of database collation).
    pub fn sort(&mut self) {
        self.services.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        self.findings.sort_by_cached_key(|f| (f.location.key(), f.rule.id.clone(), f.id.clone()));
        self.errors.sort_by(|a, b| (&a.source, &a.message, &a.position).cmp(&(&b.source, &b.message, &b.position)));
        self.sessions.sort_by_key(|s| s.id);
    }

    /// The results as records (services, findings, errors), e.g. for a report.
    pub fn records(&self) -> Vec<Record> {
        let services = self.services.iter().cloned().map(Record::Service);
        let findings = self.findings.iter().cloned().map(Record::Finding);
        let errors = self.errors.iter().cloned().map(Record::Error);
        services.chain(findings).chain(errors).collect()
    }
}

/// The key an error row is stored under: its source, message and position (one row per distinct
/// error: the same unreachable host reported by two shards is one error).
pub fn error_key(error: &ErrorRecord) -> String {
    Fingerprint::new().text(&error.source).text(&error.message).text(error.position.as_deref().unwrap_or("")).finish()
}
