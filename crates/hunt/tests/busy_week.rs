//! A week of clean traffic from a busy Exchange server (scripts/gen-busy-week.py) stays
//! quiet at high and above, and every attack class still fires when mixed into it.
//! See: issue 11 (critical "likely compromised" findings on clean servers from NTLM
//! handshakes; scanner noise burying real findings).

use std::path::{Path, PathBuf};
use std::process::Command;

use seawall_hunt::{HuntOptions, HuntResult, hunt, spray::SprayConfig};
use seawall_model::{Location, Severity};
use seawall_rules::RuleSet;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(paths: Vec<PathBuf>) -> HuntResult {
    let options = HuntOptions {
        paths,
        from: None,
        to: None,
        threads: Some(2),
        max_evtx_bytes: 1 << 26,
        spray: SprayConfig::embedded().expect("spray config"),
        stage_times: false,
    };
    hunt(&options, &RuleSet::embedded().expect("rules"))
}

fn generate(dir: &Path) {
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen-busy-week.py"))
        .arg(dir)
        .args(["--users", "20", "--days", "7", "--attacks"])
        .status()
        .expect("python3 runs scripts/gen-busy-week.py");
    assert!(status.success());
}

fn path_of(location: &Location) -> &str {
    match location {
        Location::File { path, .. } => path,
        Location::Host { host, .. } => host,
    }
}

// The medium count and the rules that fired are printed for the record (`--nocapture`).
#[allow(clippy::print_stdout)]
#[test]
fn a_clean_busy_week_gives_nothing_at_high_and_every_attack_class_fires_in_it() {
    let dir = tempfile::tempdir().expect("dir");
    generate(dir.path());
    let clean = run(vec![dir.path().join("clean")]);
    let loud: Vec<String> = clean
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .map(|f| format!("{} {} {:?}", f.rule.id, f.rule.title, f.location))
        .collect();
    assert!(loud.is_empty(), "high or above on clean traffic: {loud:#?}");
    let medium = clean.findings.iter().filter(|f| f.severity == Severity::Medium).count();
    println!(
        "clean busy week: {} events, {} findings ({} medium), {} hits",
        clean.stats.events,
        clean.findings.len(),
        medium,
        clean.stats.finding_hits
    );
    let mut by_rule = std::collections::BTreeMap::new();
    for f in &clean.findings {
        *by_rule.entry((f.severity, f.rule.id.clone())).or_insert(0u64) += 1;
    }
    for ((severity, rule), count) in by_rule.iter().rev() {
        println!("  {severity:?} {rule}: {count}");
    }
    assert!(clean.stats.events > 50_000, "the generator wrote a busy week");

    // The rule fixtures' true positives, mixed into the same tree.
    let fixtures = dir.path().join("clean/fixtures");
    std::fs::create_dir_all(&fixtures).expect("dir");
    let mut fixture_rules = Vec::new();
    for entry in std::fs::read_dir(repo().join("crates/hunt/tests/fixtures/rules")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if let Some(rule) = name.strip_suffix(".positive.log") {
            std::fs::copy(&path, fixtures.join(&name)).expect("copy");
            fixture_rules.push(rule.to_owned());
        }
    }
    let mixed = run(vec![dir.path().join("clean"), dir.path().join("attacks")]);
    let mut missed = Vec::new();
    for rule in &fixture_rules {
        if !mixed.findings.iter().any(|f| &f.rule.id == rule && path_of(&f.location).ends_with(".positive.log")) {
            missed.push(format!("fixture {rule}"));
        }
    }
    let expected = std::fs::read_to_string(dir.path().join("expected.tsv")).expect("manifest");
    for row in expected.lines() {
        let cells: Vec<&str> = row.split('\t').collect();
        let (class, rule, outcome) = (cells[0], cells[1], cells.get(2).copied().unwrap_or_default());
        let found = mixed.findings.iter().any(|f| {
            f.rule.id == rule
                && path_of(&f.location).contains(&format!("attacks/{class}/"))
                && (outcome.is_empty() || f.outcome.as_deref() == Some(outcome))
        });
        if !found {
            missed.push(format!("{class}: {rule} {outcome}"));
        }
    }
    assert!(missed.is_empty(), "missed when mixed into clean traffic: {missed:#?}");
}
