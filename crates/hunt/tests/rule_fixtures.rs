//! Every shipped detection fires on its true-positive fixture and stays silent
//! on its near miss. A case is a file: `fixtures/rules/<RULE-ID>.{positive,near-miss}.{log,jsonl}`
//! (`.log` files go through the whole hunt, classification included; `.jsonl`
//! holds EVTX records as the evtx crate renders them, one per line).

use std::path::{Path, PathBuf};

use seawall_hunt::{HuntOptions, hunt, spray::SprayConfig};
use seawall_rules::RuleSet;
use seawall_sources::Record;
use seawall_sources::evtx::EvtxEvent;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn options(path: PathBuf) -> HuntOptions {
    HuntOptions {
        paths: vec![path],
        from: None,
        to: None,
        threads: Some(1),
        max_evtx_bytes: 1 << 26,
        spray: SprayConfig::embedded().expect("spray config"),
        stage_times: false,
    }
}

/// Whether `rule` fires on the fixture file.
fn fires(rules: &RuleSet, index: usize, path: &Path) -> bool {
    let rule = rules.rule(index);
    if path.extension().is_some_and(|e| e == "jsonl") {
        let text = std::fs::read_to_string(path).expect("fixture reads");
        let mut candidates = Vec::new();
        return text.lines().enumerate().any(|(n, line)| {
            let value: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
            let event = EvtxEvent::from_json(n as u64 + 1, &value);
            rules.candidates("evtx", &event.raw(), &mut candidates);
            candidates.contains(&index) && rule.matches(&event)
        });
    }
    let result = hunt(&options(path.to_owned()), rules);
    assert!(result.errors.is_empty(), "{}: {:?}", path.display(), result.errors);
    result.findings.iter().any(|f| f.rule.id == rule.spec.id)
}

#[test]
fn every_rule_fires_on_its_positive_and_not_on_its_near_miss() {
    let rules = RuleSet::embedded().expect("embedded rules compile");
    let mut failures = Vec::new();
    for (index, rule) in rules.rules().iter().enumerate() {
        let id = &rule.spec.id;
        let ext = if rule.spec.logs.contains(&seawall_rules::LogFamily::Evtx) { "jsonl" } else { "log" };
        let positive = fixtures().join(format!("{id}.positive.{ext}"));
        let near_miss = fixtures().join(format!("{id}.near-miss.{ext}"));
        if !positive.exists() || !near_miss.exists() {
            failures.push(format!("{id}: missing fixture {} or {}", positive.display(), near_miss.display()));
            continue;
        }
        if !fires(&rules, index, &positive) {
            failures.push(format!("{id}: silent on its true positive"));
        }
        if fires(&rules, index, &near_miss) {
            failures.push(format!("{id}: fires on its near miss"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn outcome_tells_attempt_from_success() {
    let rules = RuleSet::embedded().expect("rules");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("u_ex210303.log");
    std::fs::write(
        &log,
        "#Software: Microsoft Internet Information Services 10.0\n\
         #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n\
         2021-08-10 10:00:00 10.0.0.5 GET /autodiscover/autodiscover.json @x.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@x.com 443 - 203.0.113.5 python - 401 0 0 3\n\
         2021-08-10 10:00:05 10.0.0.5 GET /autodiscover/autodiscover.json @x.com/powershell/?X-Rps-CAT=abc&Email=autodiscover/autodiscover.json%3f@x.com 443 - 203.0.113.5 python - 200 0 0 3\n",
    )
    .expect("write");
    let result = hunt(&options(log), &rules);
    let outcomes: Vec<(Option<&str>, seawall_model::Severity)> =
        result.findings.iter().map(|f| (f.outcome.as_deref(), f.severity)).collect();
    assert_eq!(
        outcomes,
        vec![(Some("attempt"), seawall_model::Severity::Medium), (Some("success"), seawall_model::Severity::Critical)]
    );
    assert_eq!(result.findings[0].time.as_deref(), Some("2021-08-10T10:00:00Z"));
}

// See: issue 11 (the ProxyNotShell check request was called ProxyShell; a GET answered 200
// by a script in aspnet_client was not reported).
#[test]
fn a_request_matching_several_clusters_is_named_once_by_the_most_specific() {
    let rules = RuleSet::embedded().expect("rules");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("u_ex221001.log");
    std::fs::write(
        &log,
        "#Software: Microsoft Internet Information Services 10.0\n\
         #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n\
         2022-10-01 10:00:00 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/owa/&Email=autodiscover/autodiscover.json%3f@evil.com&Protocol=XYZ&FooProtocol=Powershell 443 - 203.0.113.5 Mozilla/5.0+zgrab/0.x - 302 0 0 3\n\
         2022-10-01 10:00:05 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/owa/&Email=autodiscover/autodiscover.json%3f@evil.com&Protocol=XYZ&FooProtocol=Powershell 443 CORP\\eve 203.0.113.5 python-requests - 200 0 0 3\n\
         2022-10-01 10:01:00 10.0.0.5 GET /aspnet_client/discover.aspx - 443 - 203.0.113.5 python-requests - 200 0 0 3\n\
         2022-10-01 10:01:05 10.0.0.5 POST /aspnet_client/discover.aspx - 443 - 203.0.113.5 python-requests - 200 0 0 3\n",
    )
    .expect("write");
    let result = hunt(&options(log), &rules);
    let seen: Vec<(&str, Option<&str>, seawall_model::Severity)> =
        result.findings.iter().map(|f| (f.rule.id.as_str(), f.outcome.as_deref(), f.severity)).collect();
    use seawall_model::Severity::{Critical, High, Low};
    assert_eq!(
        seen,
        vec![
            ("SW-LOG-PROXYNOTSHELL-CHECK", Some("attempt"), Low),
            ("SW-LOG-PROXYNOTSHELL", Some("success"), Critical),
            ("SW-LOG-WEBSHELL-EXISTS", None, High),
            ("SW-LOG-WEBSHELL-POST", Some("success"), Critical),
        ]
    );
    let check = &result.findings[0];
    let evidence: Vec<String> =
        check.evidence.iter().map(|e| format!("{}={}", e.source, e.excerpt.as_deref().unwrap_or_default())).collect();
    assert!(evidence.iter().any(|e| e == "cluster=ProxyNotShell"), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.starts_with("status=302: the URL rewrite mitigation")), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.starts_with("also matches=SW-LOG-PROXYSHELL (ProxyShell)")), "{evidence:?}");
}
