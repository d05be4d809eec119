//! Folding: repeated hits of one rule from one source (client address, else account,
//! else the file; on one page or with one command line) within one window become one finding with the count, the first
//! and last time and a bounded sample of line references. Low and info findings
//! (probes, public scanners' checks: every internet-facing server gets them from
//! thousands of addresses) fold per file and window, with a sample of the addresses. A file keeps at most
//! [`MAX_FINDINGS_PER_FILE`] findings; past that, further hits of a rule fold into
//! one finding per rule for the rest of the file. Nothing is dropped: every hit is
//! counted in a finding's evidence and in `run_end`.

use std::collections::HashMap;

use seawall_model::{Evidence, Finding, Severity};
use seawall_sources::Record;

/// Hits of one rule from one source within this window fold together (fixed windows
/// aligned on the epoch, so pieces of a file read in parallel fold the same way).
pub(crate) const FOLD_WINDOW_SECONDS: i64 = 3600;
/// Low and info hits fold per file over a day (a day's log file gives one per rule).
pub(crate) const LOW_FOLD_WINDOW_SECONDS: i64 = 86_400;
/// Line references kept per folded finding.
pub(crate) const SAMPLE_LINES: usize = 10;
/// Findings kept per file before hits fold per rule.
pub(crate) const MAX_FINDINGS_PER_FILE: usize = 10_000;

/// Fields that name where a request or event came from, in order of preference.
const SOURCE_FIELDS: &[&str] = &[
    "c-ip",
    "ClientIpAddress",
    "IpAddress",
    "IP address",
    "cs-username",
    "AuthenticatedUser",
    "SubjectUserName",
    "TargetUserName",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FoldKey {
    rule: String,
    outcome: Option<String>,
    severity: Severity,
    source: String,
    window: i64,
}

#[derive(Debug)]
struct Group {
    finding: Finding,
    /// The source the hits came from, as shown in evidence.
    source: String,
    /// For hits folded per file: a sample of the sources, and whether there were more.
    sources: Vec<String>,
    more_sources: bool,
    hits: u64,
    first: Option<jiff::Timestamp>,
    last: Option<jiff::Timestamp>,
    sample: Vec<String>,
}

impl Group {
    fn new(finding: Finding, time: Option<jiff::Timestamp>, origin: Option<String>) -> Group {
        let sample = vec![finding.location.key()];
        Group {
            finding,
            source: String::new(),
            sources: origin.into_iter().collect(),
            more_sources: false,
            hits: 1,
            first: time,
            last: time,
            sample,
        }
    }

    fn merge(&mut self, later: Group) {
        self.hits += later.hits;
        self.first = match (self.first, later.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, later.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let room = SAMPLE_LINES.saturating_sub(self.sample.len());
        self.sample.extend(later.sample.into_iter().take(room));
        self.more_sources |= later.more_sources;
        for source in later.sources {
            if self.sources.contains(&source) {
                continue;
            }
            if self.sources.len() < SAMPLE_LINES {
                self.sources.push(source);
            } else {
                self.more_sources = true;
            }
        }
    }

    fn into_finding(mut self, overflow: bool) -> Finding {
        if self.hits > 1 || overflow {
            let span = match (self.first, self.last) {
                (Some(first), Some(last)) => format!(" between {first} and {last}"),
                _ => String::new(),
            };
            let what = if overflow {
                format!("{} hits of this rule in this file after its first {MAX_FINDINGS_PER_FILE} findings", self.hits)
            } else {
                format!("{} hits of this rule from {}", self.hits, self.source)
            };
            let from = if self.sources.is_empty() {
                String::new()
            } else {
                format!("; sources: {}{}", self.sources.join(", "), if self.more_sources { ", ..." } else { "" })
            };
            self.finding
                .evidence
                .push(Evidence::text("folded", &format!("{what}{span}; lines: {}{from}", self.sample.join(", "))));
        }
        self.finding
    }
}

/// Findings of one file, folded as they are found.
#[derive(Debug, Default)]
pub(crate) struct Folder {
    groups: Vec<Group>,
    index: HashMap<FoldKey, usize>,
    /// Per rule, the hits that came after the file's findings reached the cap.
    overflow: Vec<(String, Group)>,
    hits: u64,
}

fn source_of(record: &dyn Record) -> Option<String> {
    SOURCE_FIELDS.iter().find_map(|name| record.field(name).map(|v| format!("{name} {}", v.trim())))
}

/// What a hit acted on: the page a web request asked for, the command a process ran. Hits
/// on two pages (two webshells) or two commands from one source stay two findings.
fn target_of(record: &dyn Record) -> Option<String> {
    ["cs-uri-stem", "UrlStem", "CommandLine"]
        .iter()
        .find_map(|name| record.field(name).map(|v| v.trim().chars().take(512).collect::<String>().to_lowercase()))
}

impl Folder {
    /// A finding about `record` (or about the file, when `None`: never folded).
    pub(crate) fn push(&mut self, finding: Finding, record: Option<&dyn Record>) {
        self.hits += 1;
        let time = record.and_then(|r| r.time());
        let origin = record.and_then(source_of);
        let per_file = finding.severity <= Severity::Low;
        let (source, origin) = match record {
            Some(_) if per_file => ("this file".to_owned(), origin),
            Some(record) => {
                let from = origin.unwrap_or_else(|| "this file".to_owned());
                match target_of(record) {
                    Some(target) => (format!("{from} to {target}"), None),
                    None => (from, None),
                }
            }
            // Findings about a file (webshell content, IOC totals) stand alone.
            None => (format!("finding {}", finding.id), None),
        };
        let key = FoldKey {
            rule: finding.rule.id.clone(),
            outcome: finding.outcome.clone(),
            severity: finding.severity,
            window: time.map_or(0, |t| {
                t.as_second().div_euclid(if per_file { LOW_FOLD_WINDOW_SECONDS } else { FOLD_WINDOW_SECONDS })
            }),
            source,
        };
        self.add(key, Group::new(finding, time, origin));
    }

    fn add(&mut self, key: FoldKey, group: Group) {
        if let Some(&at) = self.index.get(&key) {
            self.groups[at].merge(group);
            return;
        }
        if self.groups.len() < MAX_FINDINGS_PER_FILE {
            let mut group = group;
            group.source = key.source.clone();
            self.index.insert(key, self.groups.len());
            self.groups.push(group);
            return;
        }
        match self.overflow.iter_mut().find(|(rule, _)| *rule == key.rule) {
            Some((_, kept)) => kept.merge(group),
            None => self.overflow.push((key.rule, group)),
        }
    }

    /// Join the findings of a later piece of the same file, in file order.
    pub(crate) fn absorb(&mut self, later: Folder) {
        self.hits += later.hits;
        let mut keys: Vec<(usize, FoldKey)> = later.index.into_iter().map(|(key, at)| (at, key)).collect();
        keys.sort_by_key(|(at, _)| *at);
        let mut groups: Vec<Option<Group>> = later.groups.into_iter().map(Some).collect();
        for (at, key) in keys {
            if let Some(group) = groups[at].take() {
                self.add(key, group);
            }
        }
        for (rule, group) in later.overflow {
            match self.overflow.iter_mut().find(|(kept, _)| *kept == rule) {
                Some((_, kept)) => kept.merge(group),
                None => self.overflow.push((rule, group)),
            }
        }
    }

    /// Every hit pushed, folded or not.
    pub(crate) fn hits(&self) -> u64 {
        self.hits
    }

    pub(crate) fn into_findings(self) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self.groups.into_iter().map(|g| g.into_finding(false)).collect();
        findings.extend(self.overflow.into_iter().map(|(_, g)| g.into_finding(true)));
        findings
    }
}
