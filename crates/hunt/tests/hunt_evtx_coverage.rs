//! The EVTX detections of `data/detections/evtx-*.toml` over the shared evidence: the one
//! class the shared recordings hold (a transport agent install, which failed) is reported as
//! an attempt; every other recording and the benign IIS logs give none of them.
//! See: issue 11 (deliver 4).

use std::path::{Path, PathBuf};

use seawall_hunt::{HuntOptions, hunt, spray::SprayConfig};
use seawall_model::{Location, Severity};
use seawall_rules::RuleSet;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/logs")
}

fn options(paths: Vec<PathBuf>) -> HuntOptions {
    HuntOptions {
        paths,
        from: None,
        to: None,
        threads: Some(2),
        max_evtx_bytes: 1 << 28,
        spray: SprayConfig::embedded().expect("spray config"),
        stage_times: false,
    }
}

/// Ids of the rules shipped in `data/detections/evtx-*.toml`.
fn evtx_coverage_ids() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/detections");
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).expect("detections") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if name.starts_with("evtx-") && name.ends_with(".toml") {
            let file: seawall_rules::RuleFile =
                toml::from_str(&std::fs::read_to_string(&path).expect("reads")).expect("rule file");
            ids.extend(file.rule.into_iter().map(|r| r.id));
        }
    }
    ids
}

#[test]
fn evtx_coverage_rules_fire_on_their_class_only() {
    let ids = evtx_coverage_ids();
    assert_eq!(ids.len(), 13, "{ids:?}");
    let rules = RuleSet::embedded().expect("rules");
    for id in &ids {
        assert!(rules.rules().iter().any(|r| &r.spec.id == id), "{id} is not embedded");
    }
    let result = hunt(&options(vec![corpus()]), &rules);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let ours: Vec<(String, String, Severity, Option<String>)> = result
        .findings
        .iter()
        .filter(|f| ids.contains(&f.rule.id))
        .map(|f| {
            let file = match &f.location {
                Location::File { path, .. } => path.rsplit('/').next().unwrap_or_default().to_owned(),
                Location::Host { host, .. } => host.clone(),
            };
            (f.rule.id.clone(), file, f.severity, f.outcome.clone())
        })
        .collect();
    // Install-TransportAgent and Enable-TransportAgent, twice each, all failed (event 6): one
    // source within the hour, so the four hits fold into one finding that counts them.
    assert_eq!(ours.len(), 1, "{ours:#?}");
    let folded = result.findings.iter().find(|f| ids.contains(&f.rule.id)).expect("the finding");
    assert!(folded.evidence.iter().any(|e| e.display_text().starts_with("4 hits")), "{:?}", folded.evidence);
    for (id, file, severity, outcome) in &ours {
        assert_eq!(id, "SW-LOG-TRANSPORT-AGENT-INSTALL");
        assert!(file.contains("Failed_to_install_an_Exchange_transport_agent"), "{file}");
        assert_eq!((*severity, outcome.as_deref()), (Severity::Medium, Some("attempt")));
    }
}

#[test]
fn benign_iis_logs_give_nothing_at_high_or_above() {
    let rules = RuleSet::embedded().expect("rules");
    let benign: Vec<PathBuf> = [
        "elastic-beats_access-full.log",
        "elastic-beats_test-iis-7.5.log",
        "elastic-integrations_test-iis10-access.log",
    ]
    .iter()
    .map(|n| corpus().join("iis_w3c").join(n))
    .collect();
    let result = hunt(&options(benign), &rules);
    assert!(result.stats.events > 0);
    let loud: Vec<_> = result.findings.iter().filter(|f| f.severity >= Severity::High).collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

/// Every record of these rules' positive fixtures fires on its own (the fixture test only needs one).
#[test]
fn every_record_of_an_evtx_coverage_positive_fixture_fires() {
    use seawall_sources::Record;
    let rules = RuleSet::embedded().expect("rules");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    let mut silent = Vec::new();
    for id in evtx_coverage_ids() {
        let index = rules.rules().iter().position(|r| r.spec.id == id).expect("embedded");
        let text = std::fs::read_to_string(fixtures.join(format!("{id}.positive.jsonl"))).expect("fixture");
        let mut candidates = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let event = seawall_sources::evtx::EvtxEvent::from_json(n as u64 + 1, &value);
            rules.candidates("evtx", &event.raw(), &mut candidates);
            if !(candidates.contains(&index) && rules.rule(index).matches(&event)) {
                silent.push(format!("{id} line {}", n + 1));
            }
        }
    }
    assert!(silent.is_empty(), "{silent:?}");
}

/// A day of an Exchange server's ordinary events, written from the event documentation (OWA
/// forms logons, Outlook NTLM/Kerberos, ASP.NET compilation, worker crashes, PowerShell host
/// pipes, the anti-spam agents' install script, routine administration, domain controller and
/// Azure AD Connect replication): the EVTX coverage rules and the shared Sigma rules,
/// correlations included, give nothing at high or above. (SW-LOG-WEBSERVER-SHELL of
/// post-exploitation.toml lists csc.exe as a shell and fires on the compilation: reported.)
#[test]
fn an_ordinary_exchange_day_gives_nothing_at_high_or_above() {
    let ours = evtx_coverage_ids();
    use seawall_sigma::{SigmaEngine, SigmaScratch};
    use seawall_sources::Record;
    let rules = RuleSet::embedded().expect("rules");
    let (sigma, report) = SigmaEngine::load_paths(&[corpus().join("../rules/sigma")]).expect("sigma mappings");
    assert_eq!(report.correlations, 9);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx-clean/exchange-ordinary-day.jsonl"),
    )
    .expect("fixture");
    let mut loud = Vec::new();
    let mut candidates = Vec::new();
    let mut scratch = SigmaScratch::default();
    scratch.set_origin("exchange-ordinary-day.jsonl");
    let mut hits = Vec::new();
    let mut events = 0;
    for (n, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let event = seawall_sources::evtx::EvtxEvent::from_json(n as u64 + 1, &value);
        events += 1;
        rules.candidates("evtx", &event.raw(), &mut candidates);
        for &index in &candidates {
            let rule = rules.rule(index);
            if ours.contains(&rule.spec.id)
                && rule.matches(&event)
                && rule.severity_for(rule.outcome(&event)) >= Severity::High
            {
                loud.push(format!("{} on line {}", rule.spec.id, n + 1));
            }
        }
        hits.clear();
        sigma.scan_evtx(&event, &mut scratch, &mut hits);
        for hit in &hits {
            if sigma.rule(hit.rule).severity() >= Severity::High {
                loud.push(format!("sigma {} on line {}", sigma.rule(hit.rule).title, n + 1));
            }
        }
    }
    assert!(events > 1_000);
    let correlations = sigma.finish(scratch.take_correlation());
    assert!(
        correlations.stats.observed > 0,
        "the failed logons and explicit-credential logons feed SigmaHQ's aggregations"
    );
    for hit in correlations.hits.iter().filter(|h| sigma.rule(h.rule).severity() >= Severity::High) {
        loud.push(format!("sigma correlation {}", sigma.rule(hit.rule).title));
    }
    // SigmaHQ's "different accounts from one source" has no timeframe: a day of OWA typos
    // (Windows names the Exchange server as their workstation) reaches its "> 3" at medium.
    let medium: Vec<&str> = correlations.hits.iter().map(|h| sigma.rule(h.rule).title.as_str()).collect();
    assert_eq!(medium, vec!["Failed Logins with Different Accounts from Single Source System"]);
    assert!(loud.is_empty(), "{loud:#?}");
}
