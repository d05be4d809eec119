//! Password spraying and brute force: a code detector over authentication
//! attempts gathered from every log, with thresholds in `data/detections/spray.toml`.

use std::collections::BTreeMap;

use seawall_model::{Confidence, Evidence, Finding, Location, RuleRef, RuleSource, Severity};
use seawall_sources::Record;
use serde::Deserialize;

use crate::detector::{Detector, FileDetector, Found, Subject};

const EMBEDDED: &str = include_str!("../../../data/detections/spray.toml");

/// Thresholds and endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SprayConfig {
    pub endpoints: Vec<String>,
    pub window_minutes: i64,
    pub spray_accounts: usize,
    pub brute_force_failures: usize,
    pub success_after_failures: usize,
    pub tool_user_agents: Vec<String>,
}

impl SprayConfig {
    pub fn embedded() -> Result<SprayConfig, String> {
        toml::from_str(EMBEDDED).map_err(|e| format!("data/detections/spray.toml: {e}"))
    }

    /// A cheap test on a raw log line: can it be an authentication attempt?
    pub(crate) fn prefilter(&self) -> Prefilter {
        let automaton =
            aho_corasick::AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&self.endpoints).ok();
        Prefilter { automaton }
    }
}

/// The authentication detector for the record loop: gathers attempts per file;
/// [`detect`] judges them once every file is read.
pub(crate) struct AuthDetector<'a> {
    config: &'a SprayConfig,
    endpoints: Prefilter,
}

impl<'a> AuthDetector<'a> {
    /// Built once per run: the endpoint automaton serves every file.
    pub(crate) fn new(config: &'a SprayConfig) -> AuthDetector<'a> {
        AuthDetector { config, endpoints: config.prefilter() }
    }
}

impl Detector for AuthDetector<'_> {
    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>> {
        matches!(family, "iis" | "evtx" | "entra").then(|| {
            Box::new(AuthInFile {
                detector: self,
                web: family == "iis",
                path: path.to_owned(),
                log: AuthLog::default(),
            }) as Box<dyn FileDetector + 'd>
        })
    }
}

struct AuthInFile<'a> {
    detector: &'a AuthDetector<'a>,
    /// An IIS log: only lines naming an authentication endpoint are attempts.
    web: bool,
    path: String,
    log: AuthLog,
}

impl FileDetector for AuthInFile<'_> {
    fn wants(&mut self, raw: &[u8]) -> bool {
        // Successes only matter once a source has failed: skip them until then.
        !self.web || (self.detector.endpoints.is_match(raw) && (self.log.has_failures() || may_be_failure(raw)))
    }

    fn check(&mut self, subject: Subject<'_>, _found: &mut Found) {
        let event = match subject {
            Subject::Line(record) => auth_event_from_iis(record, &self.path, self.detector.config),
            Subject::Evtx(event) => auth_event_from_evtx(event, &self.path),
            Subject::SignIn(sign_in) => Some(AuthEvent {
                time: sign_in.time,
                source_ip: sign_in.ip.clone(),
                account: sign_in.user.clone(),
                success: sign_in.success,
                user_agent: sign_in.user_agent.clone(),
                path: self.path.clone(),
                position: format!("line {}", sign_in.position),
            }),
        };
        if let Some(event) = event {
            self.log.push(event);
        }
    }

    fn finish(self: Box<Self>, found: &mut Found) {
        found.auth.extend(self.log);
    }
}

/// One automaton over the authentication endpoints.
pub(crate) struct Prefilter {
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl Prefilter {
    pub(crate) fn is_match(&self, line: &[u8]) -> bool {
        self.automaton.as_ref().is_some_and(|a| a.is_match(line))
    }
}

/// A cheap test on a raw IIS line: can it be a failed logon (a 401, or OWA's `reason=2` redirect)?
pub(crate) fn may_be_failure(line: &[u8]) -> bool {
    memchr::memmem::find(line, b" 401 ").is_some() || memchr::memmem::find(line, b"reason=2").is_some()
}

/// Failures kept per file: far beyond any spray; past it, attempts are counted, not kept.
const MAX_FAILURES: usize = 200_000;
/// Distinct (source, account) pairs whose successes are kept per file.
const MAX_SUCCESS_PAIRS: usize = 100_000;

/// Authentication attempts in bounded memory: every failure (up to a cap), and
/// of the successes only those from a source that already failed in the same
/// file, the latest per source and account. That is all the detector needs (a
/// success after failures), and it keeps a server's millions of ordinary logons
/// out of memory. A success in another file than its failures is not seen.
#[derive(Debug, Default)]
pub(crate) struct AuthLog {
    failures: Vec<AuthEvent>,
    failing_sources: std::collections::HashSet<String>,
    successes: std::collections::HashMap<(String, Option<String>), AuthEvent>,
    pub(crate) dropped: u64,
}

impl AuthLog {
    /// An attempt read from the file this log belongs to, in file order.
    pub(crate) fn push(&mut self, event: AuthEvent) {
        if event.success {
            if self.failing_sources.contains(&event.source_ip) {
                self.keep_success(event);
            }
            return;
        }
        if self.failures.len() < MAX_FAILURES {
            self.failing_sources.insert(event.source_ip.clone());
            self.failures.push(event);
        } else {
            self.dropped += 1;
        }
    }

    /// Whether any source failed so far: until one has, successes are not kept and
    /// lines that cannot be failures need not be parsed.
    pub(crate) fn has_failures(&self) -> bool {
        !self.failing_sources.is_empty()
    }

    fn keep_success(&mut self, event: AuthEvent) {
        let later = |a: &AuthEvent, b: &AuthEvent| (a.time, &a.path, &a.position) > (b.time, &b.path, &b.position);
        let room = self.successes.len() < MAX_SUCCESS_PAIRS;
        match self.successes.entry((event.source_ip.clone(), event.account.clone())) {
            std::collections::hash_map::Entry::Occupied(mut kept) => {
                if later(&event, kept.get()) {
                    kept.insert(event);
                }
            }
            std::collections::hash_map::Entry::Vacant(slot) if room => {
                slot.insert(event);
            }
            std::collections::hash_map::Entry::Vacant(_) => self.dropped += 1,
        }
    }

    /// Join another file's log (or another piece's): its successes were already chosen.
    pub(crate) fn extend(&mut self, other: AuthLog) {
        self.dropped += other.dropped;
        for event in other.failures {
            self.push(event);
        }
        for event in other.successes.into_values() {
            self.keep_success(event);
        }
    }

    pub(crate) fn into_events(self) -> Vec<AuthEvent> {
        let mut events = self.failures;
        events.extend(self.successes.into_values());
        events
    }
}

/// One authentication attempt.
#[derive(Debug, Clone)]
pub struct AuthEvent {
    pub time: jiff::Timestamp,
    pub source_ip: String,
    pub account: Option<String>,
    pub success: bool,
    pub user_agent: Option<String>,
    pub path: String,
    pub position: String,
}

/// From an IIS line: 401 on an auth endpoint is a failure, OWA's `reason=2` redirect is a
/// failed forms logon, a 200 with a user name is a success.
pub(crate) fn auth_event_from_iis(record: &dyn Record, path: &str, config: &SprayConfig) -> Option<AuthEvent> {
    let stem = record.field("cs-uri-stem")?.to_ascii_lowercase();
    if !config.endpoints.iter().any(|e| stem.starts_with(e.as_str())) {
        return None;
    }
    let status = record.field("sc-status")?;
    let query = record.field("cs-uri-query").map(|q| q.to_ascii_lowercase()).unwrap_or_default();
    let user = record.field("cs-username").map(|u| u.to_ascii_lowercase()).or_else(|| activesync_user(&query));
    let failed_forms_logon = stem == "/owa/auth/logon.aspx" && query.contains("reason=2");
    let (success, relevant) = match status.as_ref() {
        "401" => (false, true),
        _ if failed_forms_logon => (false, true),
        "200" if user.is_some() => (true, true),
        _ => (false, false),
    };
    if !relevant {
        return None;
    }
    Some(AuthEvent {
        time: record.time()?,
        source_ip: record.field("c-ip")?.into_owned(),
        account: user,
        success,
        user_agent: record.field("cs(User-Agent)").map(|u| u.into_owned()),
        path: path.to_owned(),
        position: match record.source() {
            seawall_sources::RecordSource::Line(n) => format!("line {n}"),
            seawall_sources::RecordSource::EvtxRecord(n) => format!("record {n}"),
        },
    })
}

fn activesync_user(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| pair.strip_prefix("user=")).filter(|u| !u.is_empty()).map(str::to_owned)
}

/// From Security events: 4625 (failed logon), 4771 (Kerberos pre-authentication
/// failed), 4768 with a failure status, 4648 (logon with explicit credentials, the
/// trace of spraying from a compromised host) and 4624 network logons (success).
pub(crate) fn auth_event_from_evtx(record: &dyn Record, path: &str) -> Option<AuthEvent> {
    let id = record.field("EventID")?;
    let success = match id.as_ref() {
        "4625" | "4771" | "4648" => false,
        "4768" => {
            let status = record.field("Status").map(|s| s.to_ascii_lowercase()).unwrap_or_default();
            if status.is_empty() || status == "0x0" {
                return None;
            }
            false
        }
        "4624" => {
            if record.field("LogonType").as_deref() != Some("3") {
                return None;
            }
            true
        }
        _ => return None,
    };
    let ip = record.field("IpAddress").map(|ip| ip.trim_start_matches("::ffff:").to_owned());
    let source = match ip.as_deref() {
        Some(ip) if !matches!(ip, "-" | "127.0.0.1" | "::1" | "") => ip.to_owned(),
        // 4648 from a local process: the spraying host is this one, named by its account.
        _ if id.as_ref() == "4648" => format!("local process of {}", record.field("SubjectUserName")?),
        _ => return None,
    };
    Some(AuthEvent {
        time: record.time()?,
        source_ip: source,
        account: record.field("TargetUserName").map(|u| u.to_ascii_lowercase()),
        success,
        user_agent: None,
        path: path.to_owned(),
        position: match record.source() {
            seawall_sources::RecordSource::EvtxRecord(n) => format!("record {n}"),
            seawall_sources::RecordSource::Line(n) => format!("line {n}"),
        },
    })
}

fn finding(
    id: &str,
    title: String,
    severity: Severity,
    confidence: Confidence,
    first: &AuthEvent,
    evidence: Vec<Evidence>,
) -> Finding {
    let line = first.position.strip_prefix("line ").and_then(|n| n.parse().ok());
    let record = first.position.strip_prefix("record ").and_then(|n| n.parse().ok());
    let mut f = Finding::new(
        RuleRef { id: id.into(), title, source: RuleSource::Native },
        severity,
        confidence,
        Location::File { path: first.path.clone(), line, record },
        evidence,
        &[&first.source_ip, &first.time.to_string()],
    );
    f.time = Some(first.time.to_string());
    f.references = vec!["data/detections/spray.toml".into()];
    f
}

/// Findings from all attempts (sorted here by source and time).
pub fn detect(events: &mut [AuthEvent], config: &SprayConfig) -> Vec<Finding> {
    events.sort_by(|a, b| {
        (&a.source_ip, a.time, &a.path, &a.position).cmp(&(&b.source_ip, b.time, &b.path, &b.position))
    });
    let window = jiff::SignedDuration::from_mins(config.window_minutes);
    let mut findings = Vec::new();
    let mut by_source: BTreeMap<&str, Vec<&AuthEvent>> = BTreeMap::new();
    for event in events.iter() {
        by_source.entry(event.source_ip.as_str()).or_default().push(event);
    }
    for (source, attempts) in by_source {
        let failures: Vec<&AuthEvent> = attempts.iter().copied().filter(|e| !e.success).collect();
        // Sliding window over failures.
        let mut start = 0;
        let mut reported_until: Option<jiff::Timestamp> = None;
        for end in 0..failures.len() {
            while failures[end].time.duration_since(failures[start].time) > window {
                start += 1;
            }
            if reported_until.is_some_and(|until| failures[end].time <= until) {
                continue;
            }
            let slice = &failures[start..=end];
            let mut accounts: Vec<&str> = slice.iter().filter_map(|e| e.account.as_deref()).collect();
            accounts.sort_unstable();
            accounts.dedup();
            let first = slice[0];
            let describe = |kind: &str| {
                Evidence::text(
                    format!("{} from {source}", kind),
                    &format!(
                        "{} failed logons between {} and {}; accounts: {}",
                        slice.len(),
                        first.time,
                        failures[end].time,
                        if accounts.is_empty() {
                            "not logged".to_owned()
                        } else {
                            accounts.iter().take(20).copied().collect::<Vec<_>>().join(", ")
                        }
                    ),
                )
            };
            if accounts.len() >= config.spray_accounts {
                findings.push(finding(
                    "SW-LOG-PASSWORD-SPRAY",
                    format!(
                        "Password spraying from {source}: {} accounts failed within {} minutes",
                        accounts.len(),
                        config.window_minutes
                    ),
                    Severity::High,
                    Confidence::High,
                    first,
                    vec![describe("spray")],
                ));
                reported_until = Some(first.time.checked_add(window).unwrap_or(first.time));
            } else if slice.len() >= config.brute_force_failures {
                findings.push(finding(
                    "SW-LOG-BRUTE-FORCE",
                    format!(
                        "Brute force from {source}: {} failed logons within {} minutes",
                        slice.len(),
                        config.window_minutes
                    ),
                    Severity::Medium,
                    Confidence::Medium,
                    first,
                    vec![describe("brute force")],
                ));
                reported_until = Some(first.time.checked_add(window).unwrap_or(first.time));
            }
        }
        // A success after enough failures from the same source: the password was found.
        for success in attempts.iter().filter(|e| e.success) {
            let before = failures.iter().filter(|f| f.time <= success.time).count();
            if before >= config.success_after_failures {
                let mut f = finding(
                    "SW-LOG-SUCCESS-AFTER-FAILURES",
                    format!(
                        "Logon of {} from {source} succeeded after {before} failures (likely compromised account)",
                        success.account.as_deref().unwrap_or("an account")
                    ),
                    Severity::Critical,
                    Confidence::Medium,
                    success,
                    vec![Evidence::text(
                        format!("{} {}", success.path, success.position),
                        &format!("success at {}", success.time),
                    )],
                );
                f.outcome = Some("success".into());
                f.remediation =
                    Some("Reset the account's password, revoke its sessions and review its mailbox rules".into());
                findings.push(f);
                break;
            }
        }
        // Known spraying tools.
        if let Some(tool) = attempts.iter().find(|e| {
            e.user_agent
                .as_deref()
                .is_some_and(|ua| config.tool_user_agents.iter().any(|t| ua.to_ascii_lowercase().contains(t)))
        }) {
            findings.push(finding(
                "SW-LOG-SPRAY-TOOL-AGENT",
                format!("Authentication attempts from {source} with a spraying tool's user agent"),
                Severity::Medium,
                Confidence::High,
                tool,
                vec![Evidence::text("user agent", tool.user_agent.as_deref().unwrap_or_default())],
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(minute: i64, ip: &str, account: &str, success: bool) -> AuthEvent {
        let base: jiff::Timestamp = "2025-01-10T10:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        AuthEvent {
            time: base.checked_add(jiff::SignedDuration::from_mins(minute)).unwrap_or(base),
            source_ip: ip.into(),
            account: Some(account.into()),
            success,
            user_agent: Some("fasthttp".into()),
            path: "u_ex.log".into(),
            position: format!("line {minute}"),
        }
    }

    fn config() -> SprayConfig {
        SprayConfig::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn many_accounts_from_one_source_is_a_spray_and_a_late_success_is_flagged() {
        let mut events: Vec<AuthEvent> =
            (0..12).map(|i| attempt(i / 3, "203.0.113.9", &format!("user{i}"), false)).collect();
        events.push(attempt(8, "203.0.113.9", "user3", true));
        let findings = detect(&mut events, &config());
        let ids: Vec<&str> = findings.iter().map(|f| f.rule.id.as_str()).collect();
        assert_eq!(ids.iter().filter(|i| **i == "SW-LOG-PASSWORD-SPRAY").count(), 1, "{ids:?}");
        assert!(ids.contains(&"SW-LOG-SUCCESS-AFTER-FAILURES"));
        assert!(ids.contains(&"SW-LOG-SPRAY-TOOL-AGENT"));
    }

    #[test]
    fn failures_spread_over_hours_are_not_a_spray() {
        let mut events: Vec<AuthEvent> = (0..12)
            .map(|i| AuthEvent { user_agent: None, ..attempt(i * 30, "203.0.113.9", &format!("user{i}"), false) })
            .collect();
        assert!(detect(&mut events, &config()).is_empty());
    }
}
