//! The numbers at the top of a report, computed from the records.

use std::collections::BTreeMap;

use seawall_model::{Finding, Location, Record, Severity};

/// One Exchange server and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRow {
    pub endpoint: String,
    pub version: String,
    pub version_name: String,
    /// `vulnerable` (an exploited CVE is open), `outdated` (other findings), `current`.
    pub status: &'static str,
    pub install: Option<String>,
}

/// Exploitation attempts and successes in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourBucket {
    pub hour: String,
    pub attempts: u64,
    pub successes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub commands: Vec<String>,
    pub endpoints_scanned: u64,
    pub services: usize,
    pub exchange: Vec<ExchangeRow>,
    /// Exchange servers per version name.
    pub by_version: Vec<(String, u64)>,
    /// Open known-exploited CVEs and how many servers have each.
    pub exploited_cves: Vec<(String, u64)>,
    /// Hosts or evidence files that show compromise, with what shows it (rule titles, counted).
    pub compromised: Vec<(String, String)>,
    pub by_severity: BTreeMap<Severity, u64>,
    pub timeline: Vec<HourBucket>,
    /// Rule, title, worst severity, count.
    pub top_rules: Vec<(String, String, Severity, u64)>,
    pub errors: u64,
    pub files: u64,
    /// Run starts, compromise findings and timed findings beyond what the page shows.
    pub commands_not_shown: u64,
    pub compromise_not_shown: u64,
    pub timeline_not_shown: u64,
}

const EXPLOITED_RULES: [&str; 6] = [
    "SW-EXCH-PROXYLOGON",
    "SW-EXCH-PROXYSHELL",
    "SW-EXCH-PROXYNOTSHELL",
    "SW-EXCH-OWASSRF",
    "SW-EXCH-PROXYTOKEN",
    "SW-EXCH-EXPLOITED-CVES",
];

/// A finding that shows the attacker got in, not just an open door or an attempt:
/// a webshell that answers, a confirmed exploit, or evidence of a success.
pub fn shows_compromise(f: &Finding) -> bool {
    if f.rule.id == "SW-EXCH-WEBSHELL-PATH" {
        return true;
    }
    match f.location {
        Location::File { .. } => match f.outcome.as_deref() {
            Some(outcome) => outcome == "success" && f.severity >= Severity::High,
            None => f.severity >= Severity::Critical,
        },
        Location::Host { .. } => false,
    }
}

/// Where a compromise shows: the host, or the evidence file (not each line).
fn place(f: &Finding) -> String {
    match &f.location {
        Location::File { path, .. } => path.clone(),
        Location::Host { host, port } => format!("{host}:{port}"),
    }
}

/// Most run-start lines, hours charted and places listed as compromised: what a page can
/// show; the rest is counted (`*_not_shown`).
const MAX_COMMANDS: usize = 50;
const MAX_HOURS: usize = 10_000;
const MAX_PLACES: usize = 1_000;

/// What the findings of one scanned endpoint say about it.
#[derive(Debug, Default)]
struct EndpointFacts {
    exploited: bool,
    medium_or_worse: bool,
    exploited_cves: Vec<String>,
    install: Option<String>,
}

/// Builds a [`Summary`] one record at a time, keeping aggregates only: memory grows with
/// rules, endpoints and hours seen (each capped), never with the number of records.
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    summary: Summary,
    rules: BTreeMap<String, (String, Severity, u64)>,
    hours: BTreeMap<String, (u64, u64)>,
    endpoints: BTreeMap<String, EndpointFacts>,
    exchange: Vec<(String, String, String)>,
    compromise: BTreeMap<String, BTreeMap<String, u64>>,
}

impl SummaryBuilder {
    pub fn add(&mut self, record: &Record) {
        let s = &mut self.summary;
        match record {
            Record::RunStart(start) => {
                if s.commands.len() < MAX_COMMANDS {
                    s.commands.push(format!("{} {}", start.command, start.started));
                } else {
                    s.commands_not_shown += 1;
                }
            }
            Record::RunEnd(end) => {
                s.endpoints_scanned += end.stats.get("endpoints_done").copied().unwrap_or(0);
                s.files += end.files.unwrap_or(0);
            }
            Record::Error(_) => s.errors += 1,
            Record::Service(service) => {
                s.services += 1;
                if service.product.as_deref() == Some("exchange") {
                    self.exchange.push((
                        format!("{}:{}", service.host, service.port),
                        service.version.clone().unwrap_or_default(),
                        service.version_name.clone().unwrap_or_else(|| "Exchange (version unknown)".into()),
                    ));
                }
            }
            Record::Finding(f) => self.add_finding(f),
        }
    }

    fn add_finding(&mut self, f: &Finding) {
        let s = &mut self.summary;
        *s.by_severity.entry(f.severity).or_default() += 1;
        let entry = self.rules.entry(f.rule.id.clone()).or_insert((f.rule.title.clone(), f.severity, 0));
        entry.1 = entry.1.max(f.severity);
        entry.2 += 1;
        if let Location::Host { host, port } = &f.location {
            let facts = self.endpoints.entry(format!("{host}:{port}")).or_default();
            if EXPLOITED_RULES.contains(&f.rule.id.as_str()) {
                facts.exploited = true;
                for cve in &f.cves {
                    if !facts.exploited_cves.contains(cve) {
                        facts.exploited_cves.push(cve.clone());
                    }
                }
            }
            facts.medium_or_worse |= f.severity >= Severity::Medium;
            if facts.install.is_none() {
                facts.install = f.remediation.clone().filter(|r| r.starts_with("Install") || r.starts_with("Move"));
            }
        }
        if shows_compromise(f) {
            let place = place(f);
            if self.compromise.len() < MAX_PLACES || self.compromise.contains_key(&place) {
                *self.compromise.entry(place).or_default().entry(f.rule.title.clone()).or_default() += 1;
            } else {
                s.compromise_not_shown += 1;
            }
        }
        if let (Some(time), Some(outcome)) = (&f.time, &f.outcome)
            && let Ok(t) = time.parse::<jiff::Timestamp>()
        {
            let hour = t.strftime("%Y-%m-%d %H:00").to_string();
            if self.hours.len() < MAX_HOURS || self.hours.contains_key(&hour) {
                let bucket = self.hours.entry(hour).or_default();
                if outcome == "success" {
                    bucket.1 += 1;
                } else {
                    bucket.0 += 1;
                }
            } else {
                s.timeline_not_shown += 1;
            }
        }
    }

    pub fn finish(self) -> Summary {
        let mut s = self.summary;
        let mut versions: BTreeMap<String, u64> = BTreeMap::new();
        let mut exploited: BTreeMap<String, u64> = BTreeMap::new();
        let none = EndpointFacts::default();
        for (endpoint, version, name) in self.exchange {
            let facts = self.endpoints.get(&endpoint).unwrap_or(&none);
            for cve in &facts.exploited_cves {
                *exploited.entry(cve.clone()).or_default() += 1;
            }
            let status = if facts.exploited {
                "vulnerable"
            } else if facts.medium_or_worse {
                "outdated"
            } else {
                "current"
            };
            *versions.entry(name.clone()).or_default() += 1;
            s.exchange.push(ExchangeRow {
                endpoint,
                version,
                version_name: name,
                status,
                install: facts.install.clone(),
            });
        }
        s.by_version = versions.into_iter().collect();
        s.by_version.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.exploited_cves = exploited.into_iter().collect();
        s.exploited_cves.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.timeline = self
            .hours
            .into_iter()
            .map(|(hour, (attempts, successes))| HourBucket { hour, attempts, successes })
            .collect();
        s.top_rules = self.rules.into_iter().map(|(id, (title, sev, n))| (id, title, sev, n)).collect();
        s.top_rules.sort_by(|a, b| b.2.cmp(&a.2).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
        s.top_rules.truncate(10);
        s.compromised = self
            .compromise
            .into_iter()
            .map(|(place, titles)| {
                let what: Vec<String> =
                    titles.into_iter().map(|(title, n)| if n > 1 { format!("{title} ×{n}") } else { title }).collect();
                (place, what.join("; "))
            })
            .collect();
        s
    }
}

impl Summary {
    pub fn from_records(records: &[Record]) -> Summary {
        let mut builder = SummaryBuilder::default();
        for record in records {
            builder.add(record);
        }
        builder.finish()
    }
}
