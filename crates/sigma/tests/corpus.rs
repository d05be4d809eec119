//! The shared SigmaHQ rules (../shared/corpus/rules/sigma) load or are listed with a reason,
//! and the SigmaHQ regression samples shipped with them match as their `info.yml` says.

use std::path::{Path, PathBuf};

use seawall_sigma::{LoadReport, SigmaEngine, SigmaRuleInfo, SigmaRuleKind, SigmaScratch, UnsupportedKind};
use seawall_sources::evtx::read_events;

fn sigma_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/rules/sigma")
}

fn load_shared() -> (SigmaEngine, LoadReport) {
    SigmaEngine::load_paths(&[sigma_dir()]).expect("embedded mappings")
}

#[test]
fn every_shared_rule_loads_or_is_listed_with_a_reason() {
    let (engine, report) = load_shared();
    let listed: Vec<String> = report.unsupported.iter().map(ToString::to_string).collect();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // 128 YAML files: two regression `info.yml` (not rules), 126 rule files.
    assert_eq!(report.files, 128);
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    assert!(report.skipped.iter().all(|(path, _)| path.ends_with("info.yml")));
    // 116 detection rules and SigmaHQ's 9 v1 aggregations (`unsupported/`), run as correlations.
    assert_eq!(report.loaded, 116, "{listed:#?}");
    assert_eq!(report.correlations, 9, "{listed:#?}");
    assert_eq!(report.loaded + report.correlations + report.unsupported.len() + report.skipped.len(), report.files);
    let counts = report.counts();
    assert_eq!(counts.get(&UnsupportedKind::LogSource), Some(&1), "{listed:#?}");
    assert_eq!(counts.values().sum::<usize>(), 1, "{listed:#?}");
    // Every refusal names the rule and says why.
    for u in &report.unsupported {
        assert!(u.title.is_some() && u.id.is_some() && !u.reason.is_empty(), "{u}");
    }
    let antivirus = report.unsupported.iter().find(|u| u.kind == UnsupportedKind::LogSource).expect("listed");
    assert!(antivirus.origin.ends_with("av_webshell.yml"));
    assert!(antivirus.reason.contains("category=antivirus"), "{}", antivirus.reason);
    // The aggregations are exactly SigmaHQ's own `unsupported/` folder; each runs as a
    // correlation over a detection half that is no finding alone.
    let aggregations: Vec<&SigmaRuleInfo> =
        engine.rules().filter(|r| matches!(r.kind, SigmaRuleKind::Correlation { legacy: true, .. })).collect();
    assert_eq!(aggregations.len(), 9);
    for rule in &aggregations {
        assert!(rule.origin.contains("/unsupported/"), "{}", rule.origin);
        let SigmaRuleKind::Correlation { condition, measure, .. } = &rule.kind else { unreachable!() };
        assert!(condition.starts_with("count(TargetUserName) by "), "{condition}");
        assert_eq!(measure, "value_count");
    }
    let quiet: Vec<&SigmaRuleInfo> = engine.rules().filter(|r| !r.standalone).collect();
    assert_eq!(quiet.len(), 9);
    assert!(quiet.iter().all(|r| r.kind == SigmaRuleKind::Detection && r.origin.contains("/unsupported/")));
    // The window is the rule's `timeframe`; without one, the whole evidence.
    let windows: Vec<Option<&str>> = aggregations
        .iter()
        .map(|r| match &r.kind {
            SigmaRuleKind::Correlation { timespan, .. } => timespan.as_deref(),
            SigmaRuleKind::Detection => unreachable!(),
        })
        .collect();
    assert_eq!(windows.iter().filter(|w| w.is_none()).count(), 1, "{windows:?}");
    assert_eq!(windows.iter().filter(|w| **w == Some("24h")).count(), 7, "{windows:?}");
    assert_eq!(windows.iter().filter(|w| **w == Some("1h")).count(), 1, "{windows:?}");
    // Every web rule reads both IIS and the HttpProxy logs.
    assert!(report.partial.is_empty(), "{:?}", report.partial);
    assert!(engine.reads("iis") && engine.reads("httpproxy") && engine.reads("evtx"));
}

/// `regression_tests_info` of an `info.yml`: rule id, sample path, expected match count.
fn regression_cases() -> Vec<(String, PathBuf, usize)> {
    let mut cases = Vec::new();
    let (texts, errors) = seawall_sigma::read_rule_files(&[sigma_dir().join("regression_data")]);
    assert!(errors.is_empty(), "{errors:?}");
    for info in texts.iter().filter(|t| t.origin.ends_with("info.yml")) {
        let field = |key: &str| {
            info.text
                .lines()
                .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix(key).map(|v| v.trim().to_owned()))
        };
        let rule_id = field("id: ").and_then(|_| {
            // The rule's id is the one under rule_metadata.
            let after = info.text.split("rule_metadata:").nth(1)?;
            after.lines().find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("id: ").map(str::to_owned))
        });
        let path = field("path: ").expect("path");
        let count: usize = field("match_count: ").and_then(|c| c.parse().ok()).expect("match_count");
        cases.push((rule_id.expect("rule id"), sigma_dir().join(path), count));
    }
    cases.sort();
    cases
}

#[test]
fn sigmahq_regression_samples_match_as_their_test_data_says() {
    let (engine, _) = load_shared();
    let cases = regression_cases();
    assert_eq!(cases.len(), 2);
    for (rule_id, sample, expected) in cases {
        let bytes = std::fs::read(&sample).expect("sample reads");
        let mut scratch = SigmaScratch::default();
        let mut hits = Vec::new();
        let mut errors = Vec::new();
        read_events(bytes, |event| engine.scan_evtx(&event, &mut scratch, &mut hits), |e| errors.push(e));
        assert!(errors.is_empty(), "{errors:?}");
        let of_rule = hits.iter().filter(|h| engine.rule(h.rule).id == rule_id).count();
        assert_eq!(of_rule, expected, "{rule_id} on {}", sample.display());
        // Nothing else in the shared set fires on these single-event samples.
        let others: Vec<&str> = hits
            .iter()
            .filter(|h| engine.rule(h.rule).id != rule_id)
            .map(|h| engine.rule(h.rule).title.as_str())
            .collect();
        assert!(others.is_empty() || others.iter().all(|t| t.contains("LSASS")), "{others:?}");
    }
}

#[test]
fn regression_samples_match_through_the_json_rendering_too() {
    // The `.json` beside each sample is the same event as SigmaHQ's tooling renders it.
    let (engine, _) = load_shared();
    for (rule_id, sample, expected) in regression_cases() {
        let json = std::fs::read_to_string(sample.with_extension("json")).expect("json sample");
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        // The evtx crate writes attributes as `#attributes`; the reader accepts both renderings.
        let event = seawall_sources::evtx::EvtxEvent::from_json(1, &value);
        let mut scratch = SigmaScratch::default();
        let mut hits = Vec::new();
        engine.scan_evtx(&event, &mut scratch, &mut hits);
        assert_eq!(hits.iter().filter(|h| engine.rule(h.rule).id == rule_id).count(), expected, "{rule_id}");
    }
}
