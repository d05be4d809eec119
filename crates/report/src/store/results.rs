//! A run's results as one value, from a store or from a JSONL file, in one canonical order so
//! that two runs (or a store and a file) compare with `==`.

use std::collections::BTreeMap;

use seawall_model::{ErrorRecord, Finding, Record, RunStart, Service};

use super::rows::error_key;
use super::{RunInfo, SessionInfo};

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
