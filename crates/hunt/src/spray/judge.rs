//! Judging the attempts of a whole run: sliding windows per source.
//!
//! - spraying: at least `spray_accounts` distinct accounts failing (or used with explicit
//!   credentials) from one source within `window_minutes`;
//! - brute force: at least `brute_force_failures` failures from one source within the window;
//! - success after failures: an account's success from a source after at least
//!   `success_after_failures` failures of that same account from that same source within
//!   `success_lookback_minutes` (one is enough while that source is spraying or brute
//!   forcing). Severity follows the evidence: critical only when the source
//!   was spraying or brute forcing and the success came from the same client.
//!
//! A run of overlapping windows that keep the condition true is one episode and one finding.

use std::collections::HashMap;

use rayon::prelude::*;

use seawall_model::catalog::Described;
use seawall_model::{Evidence, Finding, Location};

use super::{AttemptKind, AuthEvent, SprayConfig};
use crate::detectors::catalog::{CATALOG, DetectorId};

/// A stretch of attempts from one source where a window's condition held.
struct Episode {
    first: usize,
    last: usize,
}

impl Episode {
    fn overlaps(&self, events: &[&AuthEvent], from: jiff::Timestamp, to: jiff::Timestamp) -> bool {
        events[self.first].time <= to && events[self.last].time >= from
    }
}

/// Episodes where `holds(accounts in window, attempts in window)` is true over a sliding window.
fn episodes(events: &[&AuthEvent], window: jiff::SignedDuration, holds: impl Fn(usize, usize) -> bool) -> Vec<Episode> {
    let mut found: Vec<Episode> = Vec::new();
    let mut accounts: HashMap<Option<&str>, usize> = HashMap::new();
    let mut start = 0;
    for end in 0..events.len() {
        *accounts.entry(events[end].account.as_deref()).or_default() += 1;
        while events[end].time.duration_since(events[start].time) > window {
            let key = events[start].account.as_deref();
            if let Some(count) = accounts.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    accounts.remove(&key);
                }
            }
            start += 1;
        }
        let named = accounts.keys().filter(|k| k.is_some()).count();
        if !holds(named, end - start + 1) {
            continue;
        }
        match found.last_mut() {
            // Still inside the episode (or within a window of its end): extend it.
            Some(episode) if events[end].time.duration_since(events[episode.last].time) <= window => {
                episode.last = end;
            }
            _ => found.push(Episode { first: start, last: end }),
        }
    }
    found
}

fn location(first: &AuthEvent) -> Location {
    let line = first.position.strip_prefix("line ").and_then(|n| n.parse().ok());
    let record = first.position.strip_prefix("record ").and_then(|n| n.parse().ok());
    Location::File { path: first.path.clone(), line, record }
}

/// The finding `described` of attempts starting with `first` (its place, time and key).
fn finding(described: Described, first: &AuthEvent, evidence: Vec<Evidence>) -> Finding {
    let mut f = described.finding(&location(first), evidence, &[&first.source_ip, &first.time.to_string()]);
    f.time = Some(first.time.to_string());
    f
}

fn accounts_of(slice: &[&AuthEvent]) -> Vec<String> {
    let mut accounts: Vec<String> = slice.iter().filter_map(|e| e.account.clone()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    accounts
}

fn episode_evidence(kind: &str, source: &str, slice: &[&AuthEvent]) -> Vec<Evidence> {
    let accounts = accounts_of(slice);
    let first = slice[0];
    let last = slice[slice.len() - 1];
    let mut reasons: Vec<&str> = slice.iter().map(|e| e.reason.as_str()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    vec![
        Evidence::text(
            format!("{kind} from {source}"),
            &format!(
                "{} attempts between {} and {}; {} accounts: {}{}",
                slice.len(),
                first.time,
                last.time,
                accounts.len(),
                if accounts.is_empty() {
                    "not logged".to_owned()
                } else {
                    accounts.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                },
                if accounts.len() > 20 { ", ..." } else { "" }
            ),
        ),
        Evidence::text("counted as failures", &reasons.into_iter().take(10).collect::<Vec<_>>().join("; ")),
        Evidence::text(
            "first and last",
            &format!("{} {} .. {} {}", first.path, first.position, last.path, last.position),
        ),
    ]
}

/// One source's attempts and the attack episodes found in them.
struct Attacks<'a> {
    tries: &'a [&'a AuthEvent],
    failures: &'a [&'a AuthEvent],
    sprays: &'a [Episode],
    brute: &'a [Episode],
}

impl Attacks<'_> {
    /// Whether the source was spraying or brute forcing between `from` and `to`.
    fn during(&self, from: jiff::Timestamp, to: jiff::Timestamp) -> bool {
        self.sprays.iter().any(|s| s.overlaps(self.tries, from, to))
            || self.brute.iter().any(|b| b.overlaps(self.failures, from, to))
    }
}

/// Account, detector and situation (the catalog variant, which sets the severity) of a success verdict.
type VerdictKey<'a> = (Option<&'a str>, DetectorId, Option<&'static str>);

/// Successes of an account from `source` after failures of that account from that source,
/// one finding per account and verdict (later ones are counted in it).
fn successes_after_failures(
    source: &str,
    attempts: &[&AuthEvent],
    attacks: &Attacks<'_>,
    config: &SprayConfig,
) -> Vec<Finding> {
    let lookback = jiff::SignedDuration::from_mins(config.success_lookback_minutes);
    // Each account's failures from this source, in time order.
    let mut by_account: HashMap<Option<&str>, Vec<&AuthEvent>> = HashMap::new();
    for failure in attacks.failures {
        by_account.entry(failure.account.as_deref()).or_default().push(failure);
    }
    let mut findings: Vec<Finding> = Vec::new();
    // Per account, rule and severity: the finding's index, how many successes, the last one.
    let mut verdicts: HashMap<VerdictKey<'_>, (usize, u64, jiff::Timestamp)> = HashMap::new();
    for success in attempts.iter().filter(|e| e.is_success()) {
        let since = success.time.checked_sub(lookback).unwrap_or(success.time);
        let of_account = by_account.get(&success.account.as_deref()).map(Vec::as_slice).unwrap_or_default();
        let from = of_account.partition_point(|f| f.time < since);
        let to = of_account.partition_point(|f| f.time <= success.time);
        let before = &of_account[from..to.max(from)];
        if before.is_empty() {
            continue;
        }
        // During a spray or brute force from this source one failure of the account is
        // enough (sprays try each account a few times); otherwise it takes several.
        let attacked = before.len() >= config.brute_force_failures || attacks.during(since, success.time);
        if !attacked && before.len() < config.success_after_failures {
            continue;
        }
        // A device with an old password keeps failing while the user's other client succeeds:
        // failures from another client than the success's are not that success's guesses.
        let same_client = before.iter().any(|f| f.user_agent == success.user_agent);
        let account = success.account.as_deref().unwrap_or("an account");
        let (id, variant) = match (attacked, same_client) {
            (true, true) => (DetectorId::SuccessAfterFailures, None),
            (true, false) => (DetectorId::SuccessAfterFailures, Some("other-client")),
            (false, true) => (DetectorId::SuccessAfterFailures, Some("no-attack")),
            (false, false) => (DetectorId::StaleClientFailures, None),
        };
        let key = (success.account.as_deref(), id, variant);
        if let Some((_, count, last)) = verdicts.get_mut(&key) {
            *count += 1;
            *last = success.time;
            continue;
        }
        verdicts.insert(key, (findings.len(), 1, success.time));
        let failures = before.len().to_string();
        let described = CATALOG.describe(
            id,
            variant.as_slice(),
            &[("account", account), ("source", source), ("failures", &failures)],
        );
        let mut f = finding(
            described,
            success,
            vec![
                Evidence::text(
                    format!("{} {}", success.path, success.position),
                    &format!(
                        "{} at {} ({})",
                        success.reason,
                        success.time,
                        success.user_agent.as_deref().unwrap_or("no user agent")
                    ),
                ),
                Evidence::text(
                    "failures before it",
                    &format!(
                        "{} failures of {account} from {source} between {} and {}: {}",
                        before.len(),
                        before[0].time,
                        before[before.len() - 1].time,
                        before
                            .iter()
                            .take(5)
                            .map(|f| format!("{} {}", f.path, f.position))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            ],
        );
        if id == DetectorId::SuccessAfterFailures {
            f.outcome = Some("success".into());
        }
        findings.push(f);
    }
    for (at, count, last) in verdicts.into_values() {
        if count > 1 {
            findings[at].evidence.push(Evidence::text(
                "folded",
                &format!("{count} such successes from this source, the last at {last}"),
            ));
        }
    }
    findings
}

/// Findings from all attempts (sorted here by source and time).
pub fn detect(events: &mut [AuthEvent], config: &SprayConfig) -> Vec<Finding> {
    // Sorted and judged on the caller's rayon pool: this runs once every file is read, when
    // one core alone would leave the other idle.
    events.par_sort_by(|a, b| {
        (&a.source_ip, a.time, &a.path, &a.position).cmp(&(&b.source_ip, b.time, &b.path, &b.position))
    });
    let sources: Vec<&[AuthEvent]> = events.chunk_by(|a, b| a.source_ip == b.source_ip).collect();
    let judged: Vec<Vec<Finding>> = sources.par_iter().map(|events| judge_source(events, config)).collect();
    judged.into_iter().flatten().collect()
}

/// Every finding about one source address; `events` are its events in time order.
fn judge_source(events: &[AuthEvent], config: &SprayConfig) -> Vec<Finding> {
    let window = jiff::SignedDuration::from_mins(config.window_minutes);
    let lookback = jiff::SignedDuration::from_mins(config.success_lookback_minutes);
    let minutes = config.window_minutes.to_string();
    let mut findings = Vec::new();
    let source = events[0].source_ip.as_str();
    let attempts: Vec<&AuthEvent> = events.iter().collect();
    // Failures and explicit-credential uses both show one source trying many accounts.
    let tries: Vec<&AuthEvent> = attempts.iter().copied().filter(|e| e.kind != AttemptKind::Success).collect();
    let failures: Vec<&AuthEvent> = attempts.iter().copied().filter(|e| e.is_failure()).collect();
    let sprays = episodes(&tries, window, |accounts, _| accounts >= config.spray_accounts);
    // `success` when an account tried in the episode then logged on from this source.
    let outcome = |slice: &[&AuthEvent]| {
        let (first, last) = (slice[0].time, slice[slice.len() - 1].time);
        let until = last.checked_add(lookback).unwrap_or(last);
        let tried = accounts_of(slice);
        let found = attempts.iter().any(|s| {
            s.is_success()
                && s.time >= first
                && s.time <= until
                && s.account.as_ref().is_some_and(|a| tried.binary_search(a).is_ok())
        });
        Some(if found { "success" } else { "attempt" }.to_owned())
    };
    // An episode's finding: at its first attempt, with its attempts as evidence and its outcome.
    let episode_finding = |detector: DetectorId, values: &[(&str, &str)], what: &str, slice: &[&AuthEvent]| {
        let mut found =
            finding(CATALOG.describe(detector, &[], values), slice[0], episode_evidence(what, source, slice));
        found.outcome = outcome(slice);
        found
    };
    for episode in &sprays {
        let slice = &tries[episode.first..=episode.last];
        let accounts = accounts_of(slice).len().to_string();
        let values = [("source", source), ("accounts", accounts.as_str()), ("minutes", minutes.as_str())];
        findings.push(episode_finding(DetectorId::PasswordSpray, &values, "spray", slice));
    }
    let brute = episodes(&failures, window, |accounts, attempts| {
        attempts >= config.brute_force_failures && accounts < config.spray_accounts
    });
    for episode in &brute {
        let slice = &failures[episode.first..=episode.last];
        let covered = sprays.iter().any(|s| s.overlaps(&tries, slice[0].time, slice[slice.len() - 1].time));
        if covered {
            continue;
        }
        let accounts = accounts_of(slice);
        let whom = match accounts.as_slice() {
            [one] => format!("of {one} "),
            _ => String::new(),
        };
        let failures = slice.len().to_string();
        let values = [("whom", whom.as_str()), ("source", source), ("failures", &failures), ("minutes", &minutes)];
        findings.push(episode_finding(DetectorId::BruteForce, &values, "brute force", slice));
    }
    let attacks = Attacks { tries: &tries, failures: &failures, sprays: &sprays, brute: &brute };
    findings.extend(successes_after_failures(source, &attempts, &attacks, config));
    // Known spraying tools.
    if let Some(tool) = attempts.iter().find(|e| {
        e.user_agent
            .as_deref()
            .is_some_and(|ua| config.tool_user_agents.iter().any(|t| ua.to_ascii_lowercase().contains(t)))
    }) {
        findings.push(finding(
            CATALOG.describe(DetectorId::SprayToolAgent, &[], &[("source", source)]),
            tool,
            vec![Evidence::text("user agent", tool.user_agent.as_deref().unwrap_or_default())],
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use seawall_model::Severity;

    use super::*;

    fn attempt(second: i64, ip: &str, account: &str, kind: AttemptKind, agent: &str) -> AuthEvent {
        let base: jiff::Timestamp = "2025-01-10T10:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        AuthEvent {
            time: base.checked_add(jiff::SignedDuration::from_secs(second)).unwrap_or(base),
            source_ip: ip.into(),
            account: Some(account.into()),
            kind,
            reason: "test".into(),
            user_agent: Some(agent.into()),
            path: "u_ex.log".into(),
            position: format!("line {second}"),
        }
    }

    fn config() -> SprayConfig {
        SprayConfig::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    fn severities(findings: &[Finding]) -> Vec<(String, Severity)> {
        findings.iter().map(|f| (f.rule.id.clone(), f.severity)).collect()
    }

    #[test]
    fn many_accounts_from_one_source_is_one_spray_and_a_guessed_password_is_critical() {
        let mut events: Vec<AuthEvent> = (0..40)
            .map(|i| attempt(i * 20, "203.0.113.9", &format!("user{}", i % 15), AttemptKind::Failure, "fasthttp"))
            .collect();
        events.push(attempt(801, "203.0.113.9", "user3", AttemptKind::Success, "fasthttp"));
        let findings = detect(&mut events, &config());
        let found = severities(&findings);
        assert_eq!(found.iter().filter(|(id, _)| id == "SW-LOG-PASSWORD-SPRAY").count(), 1, "one episode: {found:?}");
        assert!(found.contains(&("SW-LOG-SUCCESS-AFTER-FAILURES".into(), Severity::Critical)), "{found:?}");
        let spray = findings.iter().find(|f| f.rule.id == "SW-LOG-PASSWORD-SPRAY").map(|f| f.outcome.as_deref());
        assert_eq!(spray, Some(Some("success")), "an account tried in the spray logged on");
        let success = findings.iter().find(|f| f.rule.id == "SW-LOG-SUCCESS-AFTER-FAILURES").expect("a success");
        assert_eq!(
            success.remediation.as_deref(),
            Some("Reset the account's password, revoke its sessions and review its mailbox rules")
        );
        assert_eq!(success.references, ["data/detections/spray.toml", "docs/detections.md#authentication-semantics"]);
        assert!(
            success.rule.title.starts_with("Logon of user3 from 203.0.113.9 succeeded after "),
            "{}",
            success.rule.title
        );
        assert!(found.iter().any(|(id, _)| id == "SW-LOG-SPRAY-TOOL-AGENT"));
    }

    #[test]
    fn failures_spread_over_hours_are_not_a_spray() {
        let mut events: Vec<AuthEvent> = (0..12)
            .map(|i| attempt(i * 1800, "203.0.113.9", &format!("user{i}"), AttemptKind::Failure, "Mozilla/5.0"))
            .collect();
        assert!(detect(&mut events, &config()).is_empty());
    }

    #[test]
    fn a_user_mistyping_twice_is_not_reported() {
        let mut events = vec![
            attempt(0, "10.1.2.3", "alice", AttemptKind::Failure, "Mozilla/5.0"),
            attempt(20, "10.1.2.3", "alice", AttemptKind::Failure, "Mozilla/5.0"),
            attempt(40, "10.1.2.3", "alice", AttemptKind::Success, "Mozilla/5.0"),
        ];
        let findings = detect(&mut events, &config());
        assert!(findings.iter().all(|f| f.severity <= Severity::Low), "{:?}", severities(&findings));
    }

    #[test]
    fn a_device_with_an_old_password_beside_a_working_client_is_low() {
        // A phone retries every five minutes with the old password; Outlook on the same
        // address (NAT) logs on with the new one.
        let mut events: Vec<AuthEvent> = (0..36)
            .map(|i| attempt(i * 300, "198.51.100.20", "bob", AttemptKind::Failure, "Apple-iPhone15C2/2104.63"))
            .collect();
        events.push(attempt(3 * 3600, "198.51.100.20", "bob", AttemptKind::Success, "Microsoft Office/16.0"));
        let findings = detect(&mut events, &config());
        let found = severities(&findings);
        assert_eq!(found, vec![("SW-LOG-STALE-CLIENT-FAILURES".to_owned(), Severity::Low)]);
    }

    #[test]
    fn a_local_brute_force_is_keyed_by_the_host() {
        let mut events: Vec<AuthEvent> = (0..45)
            .map(|i| attempt(i * 5, "workstation ex01", "administrator", AttemptKind::Failure, ""))
            .map(|e| AuthEvent { user_agent: None, ..e })
            .collect();
        let findings = detect(&mut events, &config());
        assert_eq!(findings.len(), 1, "{:?}", severities(&findings));
        assert_eq!(findings[0].rule.id, "SW-LOG-BRUTE-FORCE");
        assert_eq!(findings[0].outcome.as_deref(), Some("attempt"));
        assert!(
            findings[0].rule.title.contains("of administrator from workstation ex01"),
            "{}",
            findings[0].rule.title
        );
    }
}
