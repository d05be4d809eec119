//! Every built-in rule fires on a true positive and stays silent on a near
//! miss: the cases are data (`data/rule-cases.json.gz.b64`), one per line of
//! the decoded JSON array.

use std::collections::BTreeSet;
use std::io::Read as _;

use base64::Engine as _;
use flate2::read::GzDecoder;
use serde_json::Value;

use crate::{TempDir, builtin_scanner};

struct Case {
    rule: String,
    expect: bool,
    name: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let encoded: String = include_str!("../data/rule-cases.json.gz.b64").split_whitespace().collect();
    let gz = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let mut json = String::new();
    GzDecoder::new(gz.as_slice()).read_to_string(&mut json).expect("gzip");
    let values: Vec<Value> = serde_json::from_str(&json).expect("json");
    values
        .iter()
        .map(|v| {
            let text = v["text"].as_str().expect("text");
            // Code points up to U+00FF stand for raw bytes (binary fixtures); `wide` is UTF-16LE.
            let bytes = if v["wide"].as_bool() == Some(true) {
                text.encode_utf16().flat_map(u16::to_le_bytes).collect()
            } else if text.chars().all(|c| u32::from(c) <= 0xFF) {
                text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
            } else {
                text.as_bytes().to_vec()
            };
            Case {
                rule: v["rule"].as_str().expect("rule").to_owned(),
                expect: v["expect"].as_bool().expect("expect"),
                name: v["name"].as_str().expect("name").to_owned(),
                bytes,
            }
        })
        .collect()
}

#[test]
fn every_builtin_rule_fires_on_its_case_and_not_on_its_near_miss() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("rules");
    let mut failures = Vec::new();
    let mut covered_tp = BTreeSet::new();
    let mut covered_nm = BTreeSet::new();
    for (index, case) in cases().iter().enumerate() {
        let path = dir.write(&format!("site/{index}/{}", case.name), &case.bytes);
        let outcome = scanner.scan_file(&path, &format!("C:\\inetpub\\wwwroot\\site\\{}", case.name));
        let fired: Vec<&str> = outcome.findings.iter().map(|f| f.rule.id.as_str()).collect();
        let hit = fired.contains(&case.rule.as_str());
        if hit != case.expect {
            failures
                .push(format!("case {index} ({} {}): expected {}, fired {fired:?}", case.rule, case.name, case.expect));
        }
        if case.expect {
            covered_tp.insert(case.rule.clone());
        } else {
            covered_nm.insert(case.rule.clone());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every built-in rule with an id has both kinds of case.
    let sources = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/yara")).expect("data/yara");
    let mut ids = BTreeSet::new();
    for entry in sources.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("id = \"") {
                ids.insert(rest.trim_end_matches('"').to_owned());
            }
        }
    }
    let missing_tp: Vec<_> = ids.difference(&covered_tp).collect();
    let missing_nm: Vec<_> = ids.difference(&covered_nm).collect();
    assert!(
        missing_tp.is_empty() && missing_nm.is_empty(),
        "rules without cases: tp {missing_tp:?}, near miss {missing_nm:?}"
    );
}

#[test]
fn builtin_findings_carry_rule_metadata() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("meta");
    let case = cases().into_iter().find(|c| c.rule == "SW-YARA-SECCHECKER-1" && c.expect).expect("case");
    let path = dir.write("x.aspx", &case.bytes);
    let outcome = scanner.scan_file(&path, "x.aspx");
    let finding = outcome.findings.iter().find(|f| f.rule.id == "SW-YARA-SECCHECKER-1").expect("finding");
    assert_eq!(finding.rule.source, seawall_model::RuleSource::Yara);
    assert_eq!(finding.severity, seawall_model::Severity::High);
    assert_eq!(finding.actors, vec!["HAFNIUM".to_owned()], "the rule is tied to HAFNIUM");
    assert!(!finding.references.is_empty());
    assert!(finding.evidence.iter().any(|e| e.source.starts_with("offset ")));
}
