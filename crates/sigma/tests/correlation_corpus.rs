//! SigmaHQ's v1 aggregation rules (the 9 of `unsupported/`) over the shared attack recordings:
//! each hit is checked against a count made directly from the events, and every recording
//! that is not about failed logons stays silent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use seawall_sigma::{CorrelationReport, CorrelationState, SigmaEngine, SigmaScratch};
use seawall_sources::evtx::{EvtxEvent, read_events};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

fn events_of(path: &Path) -> Vec<EvtxEvent> {
    let bytes = std::fs::read(path).expect("sample reads");
    let mut events = Vec::new();
    let mut errors = Vec::new();
    read_events(bytes, |e| events.push(e), |e| errors.push(e));
    assert!(errors.is_empty(), "{errors:?}");
    events
}

/// Every recording under logs/evtx, one state per file, merged as a hunt does.
fn run_corpus(engine: &SigmaEngine) -> CorrelationReport {
    let mut merged = CorrelationState::default();
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(shared().join("logs/evtx")).expect("dir").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    for path in paths {
        let mut scratch = SigmaScratch::default();
        scratch.set_origin(&path.file_name().expect("name").to_string_lossy());
        let mut hits = Vec::new();
        for event in events_of(&path) {
            engine.scan_evtx(&event, &mut scratch, &mut hits);
        }
        engine.merge(&mut merged, scratch.take_correlation());
    }
    engine.finish(merged)
}

fn field<'e>(event: &'e EvtxEvent, name: &str) -> Option<&'e str> {
    event.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Distinct `counted` per `group` over the events `keep` selects (the whole recording spans
/// minutes, inside every rule's timeframe).
fn distinct_by(
    events: &[EvtxEvent],
    keep: impl Fn(&EvtxEvent) -> bool,
    group: &str,
    counted: &str,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for event in events.iter().filter(|e| keep(e)) {
        let (Some(g), Some(c)) = (field(event, group), field(event, counted)) else { continue };
        out.entry(g.to_owned()).or_default().insert(c.to_owned());
    }
    out
}

#[test]
fn sigmahq_aggregations_fire_on_the_spraying_and_enumeration_recordings() {
    let (engine, report) = SigmaEngine::load_paths(&[shared().join("rules/sigma")]).expect("mappings");
    assert_eq!((report.loaded, report.correlations), (116, 9));
    let found = run_corpus(&engine);
    assert_eq!(found.stats.dropped_events + found.stats.dropped_groups + found.stats.untimed, 0, "{:?}", found.stats);
    let by_title: Vec<(&str, &seawall_sigma::CorrelationHit)> =
        found.hits.iter().map(|h| (engine.rule(h.rule).title.as_str(), h)).collect();
    let titles: Vec<&str> = by_title.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        titles,
        vec![
            "Password Spraying via Explicit Credentials",
            "Disabled Users Failing To Authenticate From Source Using Kerberos",
            "Valid Users Failing to Authenticate From Single Source Using Kerberos",
        ]
    );

    // DeepBlueCLI's spray: 4648 explicit credentials by one account to many accounts.
    let spray = events_of(&shared().join("logs/evtx/Yamato__DeepBlueCLI__password-spray.evtx"));
    let expected = distinct_by(
        &spray,
        |e| field(e, "EventID") == Some("4648") && !field(e, "SubjectUserName").unwrap_or("").ends_with('$'),
        "SubjectUserName",
        "TargetUserName",
    );
    let hit = by_title[0].1;
    let (subject, targets) = expected.iter().next().expect("one subject");
    assert_eq!(expected.len(), 1);
    assert_eq!(hit.group, vec![("SubjectUserName".to_owned(), Some(subject.clone()))]);
    assert_eq!(hit.distinct_values, Some(targets.len() as u64));
    assert!(targets.len() > 10);
    assert_eq!(hit.samples[0].origin, "Yamato__DeepBlueCLI__password-spray.evtx");
    assert!(hit.first < hit.last);
    // As a finding: at the first sample, timed at the first match, count and window in evidence.
    let finding = engine.correlation_finding(hit);
    assert_eq!(finding.rule.title, "Password Spraying via Explicit Credentials");
    assert_eq!(finding.severity, seawall_model::Severity::Medium);
    assert_eq!(finding.time.as_deref(), Some(hit.first.to_string().as_str()));
    assert!(
        matches!(&finding.location, seawall_model::Location::File { record: Some(_), path, .. } if path.ends_with("password-spray.evtx"))
    );
    let text: Vec<String> = finding.evidence.iter().map(|e| format!("{}: {}", e.source, e.display_text())).collect();
    let correlation = &text[0];
    assert!(correlation.contains(&format!("{} distinct values", targets.len())), "{correlation}");
    assert!(correlation.contains("within 1h"), "{correlation}");
    assert!(correlation.contains(&format!("SubjectUserName={subject}")), "{correlation}");
    assert!(text[1].starts_with("samples: Yamato__DeepBlueCLI__password-spray.evtx#"), "{}", text[1]);
    assert_eq!(finding.id, engine.correlation_finding(hit).id, "stable id");

    // Kerbrute: 4768 with status 0x12 (account disabled) and 4771 with 0x18 (bad password)
    // for many accounts from one address.
    let kerbrute = events_of(&shared().join(
        "logs/evtx/Yamato__EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID4768-4771-Kerberos_user_enumeration_Kerbrute.evtx",
    ));
    for (title, event_id, status) in [
        ("Disabled Users Failing To Authenticate From Source Using Kerberos", "4768", "0x12"),
        ("Valid Users Failing to Authenticate From Single Source Using Kerberos", "4771", "0x18"),
    ] {
        let hit = by_title.iter().find(|(t, _)| *t == title).expect("fired").1;
        let expected = distinct_by(
            &kerbrute,
            |e| {
                field(e, "EventID") == Some(event_id)
                    && field(e, "Status") == Some(status)
                    && !field(e, "TargetUserName").unwrap_or("").ends_with('$')
            },
            "IpAddress",
            "TargetUserName",
        );
        assert_eq!(expected.len(), 1, "{title}: {expected:?}");
        let (ip, users) = expected.iter().next().expect("one address");
        assert_eq!(hit.group, vec![("IpAddress".to_owned(), Some(ip.clone()))], "{title}");
        assert_eq!(hit.distinct_values, Some(users.len() as u64), "{title}");
        assert_eq!(hit.count, users.len() as u64, "{title}: one failure per account");
    }
    // Unknown users (4768 0x6) are not in this recording: that rule stays silent.
    assert!(!kerbrute.iter().any(|e| field(e, "EventID") == Some("4768") && field(e, "Status") == Some("0x6")));

    // The 4771 spray recording has 9 pre-authentication failures: under the rule's "> 10".
    let spray_4771 = events_of(&shared().join("logs/evtx/sbouss__Credential_Access__kerberos_pwd_spray_4771.evtx"));
    let failures = distinct_by(
        &spray_4771,
        |e| field(e, "EventID") == Some("4771") && field(e, "Status") == Some("0x18"),
        "IpAddress",
        "TargetUserName",
    );
    assert!(failures.values().all(|users| users.len() <= 10), "{failures:?}");
}
