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

impl Summary {
    pub fn from_records(records: &[Record]) -> Summary {
        let mut s = Summary::default();
        let mut versions: BTreeMap<String, u64> = BTreeMap::new();
        let mut exploited: BTreeMap<String, u64> = BTreeMap::new();
        let mut rules: BTreeMap<String, (String, Severity, u64)> = BTreeMap::new();
        let mut hours: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut findings_by_endpoint: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
        let mut compromise: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for record in records {
            match record {
                Record::RunStart(start) => s.commands.push(format!("{} {}", start.command, start.started)),
                Record::RunEnd(end) => {
                    s.endpoints_scanned += end.stats.get("endpoints_done").copied().unwrap_or(0);
                    s.files += end.files.unwrap_or(0);
                }
                Record::Error(_) => s.errors += 1,
                Record::Service(_) => s.services += 1,
                Record::Finding(f) => {
                    *s.by_severity.entry(f.severity).or_default() += 1;
                    let entry = rules.entry(f.rule.id.clone()).or_insert((f.rule.title.clone(), f.severity, 0));
                    entry.1 = entry.1.max(f.severity);
                    entry.2 += 1;
                    findings_by_endpoint.entry(f.location.key()).or_default().push(f);
                    if shows_compromise(f) {
                        *compromise.entry(place(f)).or_default().entry(f.rule.title.clone()).or_default() += 1;
                    }
                    if let (Some(time), Some(outcome)) = (&f.time, &f.outcome)
                        && let Ok(t) = time.parse::<jiff::Timestamp>()
                    {
                        let hour = t.strftime("%Y-%m-%d %H:00").to_string();
                        let bucket = hours.entry(hour).or_default();
                        if outcome == "success" {
                            bucket.1 += 1;
                        } else {
                            bucket.0 += 1;
                        }
                    }
                }
            }
        }
        for record in records {
            let Record::Service(service) = record else { continue };
            if service.product.as_deref() != Some("exchange") {
                continue;
            }
            let endpoint = format!("{}:{}", service.host, service.port);
            let findings = findings_by_endpoint.get(&endpoint).map(Vec::as_slice).unwrap_or_default();
            let vulnerable = findings.iter().any(|f| EXPLOITED_RULES.contains(&f.rule.id.as_str()));
            for f in findings.iter().filter(|f| EXPLOITED_RULES.contains(&f.rule.id.as_str())) {
                for cve in &f.cves {
                    *exploited.entry(cve.clone()).or_default() += 1;
                }
            }
            let status = if vulnerable {
                "vulnerable"
            } else if findings.iter().any(|f| f.severity >= Severity::Medium) {
                "outdated"
            } else {
                "current"
            };
            let name = service.version_name.clone().unwrap_or_else(|| "Exchange (version unknown)".into());
            *versions.entry(name.clone()).or_default() += 1;
            s.exchange.push(ExchangeRow {
                endpoint,
                version: service.version.clone().unwrap_or_default(),
                version_name: name,
                status,
                install: findings
                    .iter()
                    .find_map(|f| f.remediation.clone().filter(|r| r.starts_with("Install") || r.starts_with("Move"))),
            });
        }
        s.by_version = versions.into_iter().collect();
        s.by_version.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.exploited_cves = exploited.into_iter().collect();
        s.exploited_cves.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.timeline =
            hours.into_iter().map(|(hour, (attempts, successes))| HourBucket { hour, attempts, successes }).collect();
        s.top_rules = rules.into_iter().map(|(id, (title, sev, n))| (id, title, sev, n)).collect();
        s.top_rules.sort_by(|a, b| b.2.cmp(&a.2).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
        s.top_rules.truncate(10);
        s.compromised = compromise
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
