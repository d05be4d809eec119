//! `seawall rules list` shows every built-in log rule, every code detector of the scan, the hunt
//! and the webshell scanner, and the rule engines' counts;
//! `seawall rules lint DIR` names each problem of rule files with its code and exits 1.

use std::process::Command;

use serde_json::Value;

fn seawall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seawall"))
}

fn jsonl(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes).lines().map(|l| serde_json::from_str(l).expect("JSONL")).collect()
}

#[test]
fn list_shows_every_built_in_rule_and_the_engines() {
    let out = seawall().args(["rules", "list", "--format", "jsonl"]).output().expect("rules list");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = jsonl(&out.stdout);
    let built_in = seawall_rules::RuleSet::embedded().expect("embedded rules").rules().len();
    let listed: Vec<&Value> = lines.iter().filter(|l| l["type"] == "rule" && l["data"]["engine"] == "log").collect();
    assert_eq!(listed.len(), built_in);
    assert!(listed.iter().all(|r| r["data"]["source"].as_str().is_some_and(|s| !s.is_empty())));
    let yara = lines.iter().find(|l| l["data"]["engine"] == "yara-builtin").expect("yara engine");
    assert!(yara["data"]["rules"].as_u64().is_some_and(|n| n > 10), "{yara}");
}

#[test]
fn list_shows_every_code_detector_of_the_scan() {
    let catalog = seawall_scan::detectors::embedded().expect("scan detector catalog");
    let out = seawall().args(["rules", "list", "--format", "jsonl"]).output().expect("rules list");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = jsonl(&out.stdout);
    let scan: Vec<&Value> = lines.iter().filter(|l| l["type"] == "rule" && l["data"]["engine"] == "scan").collect();
    let listed: Vec<&str> = scan.iter().filter_map(|l| l["data"]["id"].as_str()).collect();
    for id in seawall_scan::detectors::DetectorId::ALL {
        assert!(listed.contains(&id.as_str()), "{} not listed: {listed:?}", id.as_str());
    }
    assert_eq!(listed.len(), catalog.detector.len(), "each catalog entry once");
    for line in &scan {
        let entry = catalog.get(line["data"]["id"].as_str().unwrap_or_default()).expect("a catalog entry");
        assert_eq!(line["data"]["severity"], entry.severity.as_str());
        assert_eq!(line["data"]["title"], entry.title.as_str());
        assert!(line["data"]["source"].as_str().is_some_and(|s| s.contains("http") || s.contains("data/")), "{line}");
    }

    let text = seawall().args(["rules", "list", "--format", "text"]).output().expect("rules list");
    let text = String::from_utf8_lossy(&text.stdout);
    let tls = text.lines().find(|l| l.starts_with("SW-TLS-LEGACY-VERSION ")).expect("a text line per detector");
    assert!(tls.contains(" medium ") && tls.contains(" scan "), "{tls}");
}

#[test]
fn list_shows_every_code_detector_of_the_hunt_and_the_webshell_scanner() {
    let out = seawall().args(["rules", "list", "--format", "jsonl"]).output().expect("rules list");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = jsonl(&out.stdout);
    let catalogs = [
        ("hunt", seawall_hunt::catalog::CATALOG.load().expect("hunt catalog"), seawall_hunt::catalog::CATALOG.file()),
        (
            "webshell",
            seawall_webshell::detectors::CATALOG.load().expect("webshell catalog"),
            seawall_webshell::detectors::CATALOG.file(),
        ),
    ];
    for (engine, catalog, file) in catalogs {
        let listed: Vec<&Value> =
            lines.iter().filter(|l| l["type"] == "rule" && l["data"]["engine"] == engine).collect();
        assert_eq!(listed.len(), catalog.detector.len(), "{engine}: each catalog entry once");
        for line in &listed {
            let entry = catalog.get(line["data"]["id"].as_str().unwrap_or_default()).expect("a catalog entry");
            assert_eq!(line["data"]["title"], entry.title.as_str());
            assert_eq!(line["data"]["severity"], entry.severity.as_str());
            assert_eq!(line["data"]["file"], file);
        }
    }
    let ids: Vec<&str> = lines.iter().filter_map(|l| l["data"]["id"].as_str()).collect();
    for id in
        ["SW-LOG-PASSWORD-SPRAY", "SW-IOC-USER-AGENT", "SW-FILE-EXCHANGE-AUTH-NONSTOCK", "SW-WEBSHELL-CAPABILITIES"]
    {
        assert!(ids.contains(&id), "{id} not listed");
    }
}

/// A valid local log rule.
const LOCAL_RULE: &str = r#"
[[rule]]
id = "SW-LOG-LOCAL-TEST"
title = "a local rule"
logs = ["iis"]
severity = "medium"
confidence = "high"
all = [{ field = "cs-uri-stem", contains = "/x.aspx" }]
source = "local test"
"#;

#[test]
fn lint_names_each_problem_with_its_code() {
    let dir = tempfile::tempdir().expect("dir");
    let good = LOCAL_RULE;
    std::fs::write(dir.path().join("good.toml"), good).expect("write");
    let clean = seawall().args(["rules", "lint"]).arg(dir.path()).output().expect("lint");
    assert!(
        clean.status.success(),
        "{}{}",
        String::from_utf8_lossy(&clean.stdout),
        String::from_utf8_lossy(&clean.stderr)
    );

    std::fs::write(dir.path().join("typo.toml"), good.replace("LOCAL-TEST", "TYPO").replace("\"iis\"", "\"iss\""))
        .expect("write");
    std::fs::write(
        dir.path().join("regex.toml"),
        good.replace("LOCAL-TEST", "REGEX").replace("contains = \"/x.aspx\"", "regex = \"(\""),
    )
    .expect("write");
    std::fs::write(dir.path().join("dup.toml"), good.replace("SW-LOG-LOCAL-TEST", "SW-LOG-PROXYSHELL")).expect("write");
    std::fs::write(dir.path().join("broken.yar"), "rule broken { strings: $a = \"x\" condition: $b }").expect("write");
    let out = seawall().args(["rules", "lint", "--format", "jsonl"]).arg(dir.path()).output().expect("lint");
    assert_eq!(out.status.code(), Some(1));
    let codes: Vec<String> =
        jsonl(&out.stdout).iter().map(|d| d["data"]["code"].as_str().unwrap_or_default().to_owned()).collect();
    assert!(codes.contains(&"SWR001".to_owned()), "a misspelt log family is a load error: {codes:?}");
    assert!(codes.contains(&"SWR007".to_owned()), "a bad regex: {codes:?}");
    assert!(codes.contains(&"SWR002".to_owned()), "a built-in id reused: {codes:?}");
    assert!(codes.iter().any(|c| c.starts_with("SWY-")), "a YARA error: {codes:?}");
}

// See: issue 17 (`hunt --rules DIR` read one level of DIR while `rules lint DIR` walked it all).
#[test]
fn hunt_loads_the_rule_files_lint_checks_in_subfolders_too() {
    let dir = tempfile::tempdir().expect("dir");
    let nested = dir.path().join("rules/local/iis");
    std::fs::create_dir_all(&nested).expect("dirs");
    std::fs::write(nested.join("nested.toml"), LOCAL_RULE.replace("LOCAL-TEST", "LOCAL-NESTED")).expect("write");
    let log = dir.path().join("u_ex210303.log");
    std::fs::write(
        &log,
        "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem \
         cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n\
         2021-03-03 06:49:42 10.0.0.5 GET /x.aspx - 443 - 198.51.100.23 curl/8.0 200 0 0 5\r\n",
    )
    .expect("write");
    let lint = seawall().args(["rules", "lint"]).arg(dir.path().join("rules")).output().expect("lint");
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stdout));
    let out = seawall()
        .args(["hunt", "--no-file-scan", "--format", "jsonl", "--rules"])
        .arg(dir.path().join("rules"))
        .arg(&log)
        .output()
        .expect("hunt");
    assert!(matches!(out.status.code(), Some(0..=1)), "{}", String::from_utf8_lossy(&out.stderr));
    let ids: Vec<String> = jsonl(&out.stdout)
        .iter()
        .filter(|l| l["type"] == "finding")
        .filter_map(|l| l["data"]["rule"]["id"].as_str().map(str::to_owned))
        .collect();
    assert!(ids.contains(&"SW-LOG-LOCAL-NESTED".to_owned()), "{ids:?}");
}
