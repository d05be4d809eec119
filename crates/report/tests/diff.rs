//! `diff` between constructed runs: every category, and only what belongs in it.

use seawall_model::RunResults;
use seawall_model::{
    Confidence, Evidence, Finding, Location, Record, RuleRef, RuleSource, RunStart, Service, Severity,
};
use seawall_report::diff::{Change, Diff, write_jsonl, write_text};

fn service(host: &str, build: &str) -> Record {
    Record::Service(Service {
        host: host.into(),
        port: 443,
        protocol: "https".into(),
        product: Some("exchange".into()),
        version: Some(build.into()),
        ..Service::default()
    })
}

fn at(host: &str, rule: &str, source: RuleSource, severity: Severity, key: &str) -> Finding {
    Finding::new(
        RuleRef { id: rule.into(), title: format!("{rule} \u{1b}[2Jtitle"), source },
        severity,
        Confidence::High,
        Location::Host { host: host.into(), port: 443 },
        vec![Evidence::text("probe", key)],
        &[key],
    )
}

fn kb(host: &str, rule: &str, severity: Severity, build: &str) -> Record {
    Record::Finding(at(host, rule, RuleSource::Kb, severity, build))
}

fn in_file(path: &str, rule: &str, outcome: &str) -> Record {
    let mut f = Finding::new(
        RuleRef { id: rule.into(), title: rule.into(), source: RuleSource::Native },
        Severity::High,
        Confidence::High,
        Location::File { path: path.into(), line: Some(7), record: None },
        vec![],
        &[outcome],
    );
    f.outcome = Some(outcome.into());
    Record::Finding(f)
}

fn start(command: &str) -> Record {
    Record::RunStart(RunStart {
        tool: "seawall".into(),
        version: "0".into(),
        command: command.into(),
        started: "2026-01-01T00:00:00Z".into(),
        kb: None,
    })
}

fn week1() -> RunResults {
    RunResults::from_records(
        "week1",
        vec![
            start("scan"),
            service("h1", "15.2.858.5"),
            service("h2", "15.1.2507.16"),
            service("h3", "15.0.1497.2"),
            kb("h1", "SW-EXCH-PROXYSHELL", Severity::Critical, "15.2.858.5"),
            kb("h2", "SW-EXCH-DETECTED", Severity::Info, "15.1.2507.16"),
            kb("h2", "SW-EXCH-END-OF-SUPPORT", Severity::High, "Exchange 2016"),
            kb("h3", "SW-EXCH-OPEN-CVES", Severity::Medium, "15.0.1497.2"),
        ],
    )
}

fn week2() -> RunResults {
    let mut active = at("h2", "SW-ACTIVE-PROXYSHELL", RuleSource::Probe, Severity::Critical, "mapi answered");
    active.cves = vec!["CVE-2021-34473".into()];
    RunResults::from_records(
        "week2",
        vec![
            start("scan"),
            service("h1", "15.2.1118.40"),
            service("h2", "15.1.2507.16"),
            service("h4", "15.0.1497.2"),
            kb("h2", "SW-EXCH-END-OF-SUPPORT", Severity::High, "Exchange 2016"),
            kb("h1", "SW-EXCH-OPEN-CVES", Severity::Medium, "15.2.1118.40"),
            kb("h1", "SW-EXCH-DETECTED", Severity::Info, "15.2.1118.40"),
            kb("h4", "SW-EXCH-PROXYLOGON", Severity::Critical, "15.0.1497.2"),
            Record::Finding(at(
                "h2",
                "SW-EXCH-WEBSHELL-PATH",
                RuleSource::Probe,
                Severity::Critical,
                "/aspnet_client/s.aspx",
            )),
            Record::Finding(active),
            Record::Finding(at("h2", "SW-HTTP-INTERNAL-NAME", RuleSource::Probe, Severity::Low, "EX01")),
        ],
    )
}

fn listed(diff: &Diff, change: Change) -> Vec<String> {
    diff.entries
        .iter()
        .filter(|e| e.change == change)
        .map(|e| match &e.finding {
            Some(f) => format!("{} {}", e.location, f.rule.id),
            None => e.location.clone(),
        })
        .collect()
}

#[test]
fn every_category_holds_what_it_says() {
    let diff = Diff::between(&week1(), &week2());
    assert_eq!(listed(&diff, Change::NewlyExposed), vec!["h4:443"]);
    // h1 moved to a build with other open CVEs; h2 now fails an active check. h4's findings are
    // part of its exposure, an internal name is no vulnerability, info is no change.
    assert_eq!(listed(&diff, Change::NewlyVulnerable), vec!["h1:443 SW-EXCH-OPEN-CVES", "h2:443 SW-ACTIVE-PROXYSHELL"]);
    assert_eq!(listed(&diff, Change::NewlyCompromised), vec!["h2:443 SW-EXCH-WEBSHELL-PATH"]);
    // h3 is gone, not fixed; the info detection of h2 is no fix either.
    assert_eq!(listed(&diff, Change::Fixed), vec!["h1:443 SW-EXCH-PROXYSHELL"]);
    assert_eq!(listed(&diff, Change::Gone), vec!["h3:443"]);
    assert_eq!(diff.a, "week1");
    assert_eq!(diff.b, "week2");
}

#[test]
fn a_run_against_itself_has_no_changes() {
    assert!(Diff::between(&week2(), &week2()).is_empty());
}

#[test]
fn hunts_compare_evidence() {
    let a = RunResults::from_records(
        "hunt-a",
        vec![
            start("hunt"),
            in_file("/logs/u_ex1.log", "SW-LOG-PROXYSHELL", "attempt"),
            in_file("/logs/old.log", "SW-LOG-WEBSHELL", "success"),
        ],
    );
    let b = RunResults::from_records(
        "hunt-b",
        vec![
            start("hunt"),
            in_file("/logs/u_ex1.log", "SW-LOG-PROXYSHELL", "attempt"),
            in_file("/logs/u_ex2.log", "SW-LOG-PROXYLOGON", "success"),
            in_file("/logs/u_ex2.log", "SW-LOG-OWASSRF", "attempt"),
        ],
    );
    let diff = Diff::between(&a, &b);
    assert_eq!(listed(&diff, Change::NewlyCompromised), vec!["/logs/u_ex2.log:7 SW-LOG-PROXYLOGON"]);
    assert_eq!(listed(&diff, Change::Fixed), vec!["/logs/old.log:7 SW-LOG-WEBSHELL"]);
    assert!(listed(&diff, Change::NewlyVulnerable).is_empty());
    // A scan says nothing about evidence: hunt findings are not "fixed" by it.
    let scan = RunResults::from_records("scan", vec![start("scan"), service("h1", "15.2.858.5")]);
    assert!(listed(&Diff::between(&a, &scan), Change::Fixed).is_empty());
}

#[test]
fn jsonl_has_one_documented_line_per_change_and_a_summary() {
    let diff = Diff::between(&week1(), &week2());
    let mut out = Vec::new();
    write_jsonl(&diff, &mut out).expect("write");
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), diff.entries.len() + 1);
    for line in &lines[..lines.len() - 1] {
        assert_eq!(line["type"], "diff");
        assert_eq!(line["v"], 1);
        let data = &line["data"];
        assert!(data["location"].is_string());
        let change = data["change"].as_str().expect("change");
        match change {
            "newly_exposed" | "gone" => assert_eq!(data["service"]["port"], 443),
            "newly_vulnerable" | "newly_compromised" | "fixed" => assert!(data["finding"]["id"].is_string()),
            other => panic!("unknown change {other}"),
        }
    }
    let end = &lines[lines.len() - 1];
    assert_eq!(end["type"], "diff_end");
    assert_eq!((end["data"]["a"].as_str(), end["data"]["b"].as_str()), (Some("week1"), Some("week2")));
    assert_eq!(end["data"]["counts"]["newly_vulnerable"], 2);
    assert_eq!(end["data"]["counts"]["gone"], 1);
}

#[test]
fn text_is_grouped_and_carries_no_control_characters() {
    let diff = Diff::between(&week1(), &week2());
    let mut out = Vec::new();
    write_text(&diff, &mut out).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.lines().all(|l| !l.chars().any(char::is_control)), "{text}");
    assert!(text.contains("newly exposed (1)\n  + h4:443  https  exchange 15.0.1497.2"), "{text}");
    assert!(text.contains("newly compromised (1)\n  ! h2:443  [CRITICAL] SW-EXCH-WEBSHELL-PATH"), "{text}");
    assert!(text.contains("gone (1)\n  - h3:443"), "{text}");
    assert!(text.ends_with("summary: 1 newly exposed, 2 newly vulnerable, 1 newly compromised, 1 fixed, 1 gone\n"));
}
