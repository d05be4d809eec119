//! What changed between two runs (A, then B): newly exposed services, newly vulnerable and
//! newly compromised endpoints, what was fixed and what is gone. Runs come from a store or
//! from JSONL files ([`RunResults`]); findings are matched by their stable id, services by
//! host and port. An *endpoint* is a `host:port`; it *answered* in a run when the run has a
//! service record for it.

use std::collections::BTreeSet;
use std::io::BufRead;

use seawall_model::{Finding, Location, RuleSource, Service, Severity};
use serde::Serialize;

use crate::html::shows_compromise;
use crate::jsonl_reader::{BadLines, JsonlReader};
use seawall_model::RunResults;

pub use crate::diff_output::{write_jsonl, write_text};

/// The kinds of change, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A service in B on an endpoint that did not answer in A.
    NewlyExposed,
    /// A vulnerability finding new in B on an endpoint that answered in A (a downgrade, a
    /// newly published CVE, a build that moved to an older line, an active check that now succeeds).
    NewlyVulnerable,
    /// A sign of compromise new in B: a webshell path that answers, an exploitation success
    /// in evidence.
    NewlyCompromised,
    /// A finding of A (low severity or above) absent in B, on an endpoint that still answers
    /// in B, or in evidence B hunted again.
    Fixed,
    /// A service of A whose endpoint did not answer in B.
    Gone,
}

impl Change {
    pub const ALL: [Change; 5] =
        [Change::NewlyExposed, Change::NewlyVulnerable, Change::NewlyCompromised, Change::Fixed, Change::Gone];

    /// The JSONL name: `newly_exposed`, `newly_vulnerable`, `newly_compromised`, `fixed`, `gone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewlyExposed => "newly_exposed",
            Change::NewlyVulnerable => "newly_vulnerable",
            Change::NewlyCompromised => "newly_compromised",
            Change::Fixed => "fixed",
            Change::Gone => "gone",
        }
    }

    /// The heading of the text output.
    pub fn title(self) -> &'static str {
        match self {
            Change::NewlyExposed => "newly exposed",
            Change::NewlyVulnerable => "newly vulnerable",
            Change::NewlyCompromised => "newly compromised",
            Change::Fixed => "fixed",
            Change::Gone => "gone",
        }
    }
}

/// One change: a service (exposed, gone) or a finding (vulnerable, compromised, fixed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffEntry {
    pub change: Change,
    /// `host:port`, or the evidence path of a hunt finding.
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
}

/// The changes from run A to run B, grouped by [`Change`] in [`Change::ALL`] order, each group
/// sorted by location, then rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub a: String,
    pub b: String,
    pub entries: Vec<DiffEntry>,
}

type Endpoint = (String, u16);

fn endpoints(services: &[Service]) -> BTreeSet<Endpoint> {
    services.iter().map(|s| (s.host.clone(), s.port)).collect()
}

fn endpoint_of(finding: &Finding) -> Option<Endpoint> {
    match &finding.location {
        Location::Host { host, port } => Some((host.clone(), *port)),
        Location::File { .. } => None,
    }
}

/// A finding that says the endpoint can be attacked: a knowledge-base verdict above
/// information, or a probe that confirmed a CVE.
fn is_vulnerability(finding: &Finding) -> bool {
    match finding.rule.source {
        RuleSource::Kb => finding.severity > Severity::Info,
        RuleSource::Probe => !finding.cves.is_empty(),
        _ => false,
    }
}

/// Whether a run read evidence files (a hunt), so that a file finding absent from it is fixed.
fn reads_evidence(run: &RunResults) -> bool {
    run.run.as_ref().is_some_and(|r| r.command == "hunt")
        || run.starts.iter().any(|s| s.command == "hunt")
        || run.findings.iter().any(|f| matches!(f.location, Location::File { .. }))
}

impl Diff {
    pub fn between(a: &RunResults, b: &RunResults) -> Diff {
        let answered_a = endpoints(&a.services);
        let answered_b = endpoints(&b.services);
        let ids_a: BTreeSet<&str> = a.findings.iter().map(|f| f.id.as_str()).collect();
        let ids_b: BTreeSet<&str> = b.findings.iter().map(|f| f.id.as_str()).collect();
        let mut entries = Vec::new();
        let service_entry = |change, service: &Service| DiffEntry {
            change,
            location: format!("{}:{}", service.host, service.port),
            service: Some(service.clone()),
            finding: None,
        };
        let finding_entry = |change, finding: &Finding| DiffEntry {
            change,
            location: finding.location.key(),
            service: None,
            finding: Some(finding.clone()),
        };
        for service in &b.services {
            if !answered_a.contains(&(service.host.clone(), service.port)) {
                entries.push(service_entry(Change::NewlyExposed, service));
            }
        }
        for finding in b.findings.iter().filter(|f| !ids_a.contains(f.id.as_str())) {
            if shows_compromise(finding) {
                entries.push(finding_entry(Change::NewlyCompromised, finding));
            } else if is_vulnerability(finding) && endpoint_of(finding).is_some_and(|e| answered_a.contains(&e)) {
                entries.push(finding_entry(Change::NewlyVulnerable, finding));
            }
        }
        let b_reads_evidence = reads_evidence(b);
        for finding in a.findings.iter().filter(|f| !ids_b.contains(f.id.as_str())) {
            let still_observed = match endpoint_of(finding) {
                Some(endpoint) => answered_b.contains(&endpoint),
                None => b_reads_evidence,
            };
            if finding.severity > Severity::Info && still_observed {
                entries.push(finding_entry(Change::Fixed, finding));
            }
        }
        for service in &a.services {
            if !answered_b.contains(&(service.host.clone(), service.port)) {
                entries.push(service_entry(Change::Gone, service));
            }
        }
        entries.sort_by(|x, y| {
            let rule = |e: &DiffEntry| e.finding.as_ref().map(|f| (f.rule.id.clone(), f.id.clone()));
            (x.change, &x.location, rule(x)).cmp(&(y.change, &y.location, rule(y)))
        });
        Diff { a: a.label.clone(), b: b.label.clone(), entries }
    }

    pub fn count(&self, change: Change) -> usize {
        self.entries.iter().filter(|e| e.change == change).count()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A run from a JSONL file of `scan` or `hunt`: the results and the lines that were not
/// seawall records (too long, not JSON, another envelope version).
pub fn read_jsonl(label: &str, reader: impl BufRead) -> std::io::Result<(RunResults, BadLines)> {
    let mut records = Vec::new();
    let mut bad = BadLines::default();
    let mut reader = JsonlReader::new(reader);
    while let Some(item) = reader.next_record()? {
        match item {
            Ok(record) => records.push(record),
            Err(line) => bad.push(line),
        }
    }
    Ok((RunResults::from_records(label, records), bad))
}
