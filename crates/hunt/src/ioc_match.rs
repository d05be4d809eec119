//! IPs and user agents of the IOC lists matched in web logs. A literal
//! automaton over every indicator (user agents in both the logged `+` form and
//! with spaces) picks the lines; the fields are then compared exactly.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use seawall_kb::{Ioc, IocKind, IocSet};
use seawall_model::{Evidence, Finding, Location};
use seawall_sources::{Record, RecordSource};

use crate::detectors::catalog::{CATALOG, DetectorId};

/// The indicators a log line can carry, and a cheap test for them.
#[derive(Debug)]
pub struct LogIocs {
    set: IocSet,
    prefilter: Option<AhoCorasick>,
    /// The prefilter's literals (matched ignoring ASCII case).
    literals: Vec<String>,
}

impl LogIocs {
    pub fn new(set: &IocSet) -> LogIocs {
        let mut literals = Vec::new();
        for ioc in set.iter() {
            match ioc.kind {
                IocKind::Ip => literals.push(ioc.value.clone()),
                IocKind::UserAgent => {
                    literals.push(ioc.value.clone());
                    literals.push(ioc.value.replace(' ', "+"));
                }
                _ => {}
            }
        }
        let prefilter = (!literals.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&literals)
                    .ok()
            })
            .flatten();
        LogIocs { set: set.clone(), prefilter, literals }
    }

    pub(crate) fn literals(&self) -> &[String] {
        &self.literals
    }

    pub(crate) fn may_match(&self, raw: &[u8]) -> bool {
        self.prefilter.as_ref().is_some_and(|ac| ac.is_match(raw))
    }

    /// Indicators in the record's client address and user agent fields.
    pub(crate) fn matches<'a>(&'a self, record: &dyn Record) -> Vec<(&'a Ioc, String)> {
        let mut found = Vec::new();
        for field in ["c-ip", "ClientIpAddress", "IP address"] {
            if let Some(ip) = record.field(field) {
                found.extend(self.set.ioc_for_ip(&ip).into_iter().map(|ioc| (ioc, ip.to_string())));
            }
        }
        for field in ["cs(User-Agent)", "UserAgent"] {
            if let Some(ua) = record.field(field) {
                found.extend(self.set.ioc_for_user_agent(&ua).into_iter().map(|ioc| (ioc, ua.to_string())));
            }
        }
        found
    }
}

/// Per file, one finding per indicator: its first occurrence, and how many lines carried it.
#[derive(Debug, Default)]
pub(crate) struct IocHits {
    first: BTreeMap<(String, String), (Finding, u64)>,
}

impl IocHits {
    pub(crate) fn record(&mut self, ioc: &Ioc, seen: &str, record: &dyn Record, path: &str) {
        let key = (ioc.kind.as_str().to_owned(), ioc.value.clone());
        if let Some((_, count)) = self.first.get_mut(&key) {
            *count += 1;
            return;
        }
        let (line, number) = match record.source() {
            RecordSource::Line(n) => (Some(n), None),
            RecordSource::EvtxRecord(n) => (None, Some(n)),
        };
        let location = Location::File { path: path.to_owned(), line, record: number };
        let id = match ioc.kind {
            IocKind::Ip => DetectorId::IocIp,
            _ => DetectorId::IocUserAgent,
        };
        let actor = ioc.actor.as_deref().unwrap_or("no group named");
        let mut finding = CATALOG.describe(id, &[], &[("actor", actor)]).finding(
            &location,
            vec![
                Evidence::bytes(location.key(), &record.raw()),
                Evidence::text("indicator", &format!("{seen} = {}", ioc.describe())),
            ],
            &[&ioc.value],
        );
        finding.time = record.time().map(|t| t.to_string());
        finding.actors = ioc.actor.iter().cloned().collect();
        // The indicator's own publication, not the detector's.
        finding.references = ioc.reference.iter().cloned().collect();
        self.first.insert(key, (finding, 1));
    }

    pub(crate) fn into_findings(self) -> Vec<Finding> {
        self.first
            .into_values()
            .map(|(mut finding, count)| {
                if count > 1 {
                    finding
                        .evidence
                        .push(Evidence::text("occurrences", &format!("{count} lines of this file carry it")));
                }
                finding
            })
            .collect()
    }
}
