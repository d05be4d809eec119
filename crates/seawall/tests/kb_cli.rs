//! `seawall kb ...` end to end through the built binary.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn seawall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seawall")).args(args).output().expect("seawall runs")
}

fn json(args: &[&str]) -> Value {
    let out = seawall(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

// See: issue 2, "Done when".
#[test]
fn unofficial_cu9_revision_is_exchange_2019_cu9_with_proxyshell_open() {
    let report = json(&["kb", "build", "15.2.858.2", "--format", "json", "--as-of", "2026-11-30"]);
    assert_eq!(report["product"], "Exchange Server 2019");
    assert_eq!(report["cu"], "CU9");
    // Not in the table (below CU9's official 15.2.858.5), so never `exact` (issue 13); read as
    // CU9 without updates, so its CVEs are open for certain.
    assert_eq!(report["precision"], "between");
    let open = strings(&report["open_cves"]);
    for cve in ["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"] {
        assert!(open.contains(&cve.to_owned()), "{cve} open");
    }
    let exploited = strings(&report["exploited_open_cves"]);
    assert!(exploited.contains(&"CVE-2021-34473".to_owned()));
    assert_eq!(report["end_of_support"]["passed"], true);
    assert_eq!(report["eems"]["present"], false);
    assert_eq!(report["recommended"]["build"], "15.2.1748.49");
}

// See: issue 2, "Done when".
#[test]
fn cu18_march_su_has_proxylogon_fixed_and_proxyshell_open() {
    let report = json(&["kb", "build", "15.1.2106.13", "--format", "json", "--as-of", "2026-11-30"]);
    assert_eq!(report["product"], "Exchange Server 2016");
    assert_eq!(report["cu"], "CU18");
    assert_eq!(report["su"], "Mar21SU");
    assert_eq!(report["release_date"], "2021-03-02");
    let clusters = report["clusters"].as_array().expect("clusters");
    let status = |name: &str| clusters.iter().find(|c| c["name"] == name).map(|c| c["status"].clone());
    assert_eq!(status("ProxyLogon"), Some(Value::from("fixed")));
    assert_eq!(status("ProxyShell"), Some(Value::from("open")));
}

#[test]
fn text_output_names_the_build_and_what_to_install() {
    let out = seawall(&["kb", "build", "Version 15.2 (Build 858.5)", "--as-of", "2026-11-30"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with("15.2.858.5  Exchange Server 2019 CU9, released 2021-03-16"), "{text}");
    assert!(text.contains("ProxyShell OPEN"), "{text}");
    assert!(text.contains("install       15.2.1748.49"), "{text}");
}

#[test]
fn cu_only_build_reports_possibly_open_cves() {
    let report = json(&["kb", "build", "15.2.858", "--format", "json"]);
    assert_eq!(report["precision"], "cu");
    assert!(strings(&report["possibly_open_cves"]).contains(&"CVE-2021-34473".to_owned()));
    assert_eq!(report["su"], Value::Null);
}

#[test]
fn malformed_build_is_a_clear_error_with_exit_code_2() {
    for bad in ["15.2", "banana", "15.2.858.5.1", "15.2.x.1"] {
        let out = seawall(&["kb", "build", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not an Exchange build number"), "{bad}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn kb_cve_lists_the_fixing_build_per_cu() {
    let report = json(&["kb", "cve", "cve-2021-34473", "--format", "json"]);
    assert_eq!(report["id"], "CVE-2021-34473");
    assert_eq!(report["kev"], true);
    assert!(strings(&report["clusters"]).contains(&"ProxyShell".to_owned()));
    let lines = report["lines"].as_array().expect("lines");
    let e2019 = lines.iter().find(|l| l["product_id"] == "2019").expect("2019 affected");
    let fixes: Vec<(String, String)> = e2019["fixes"]
        .as_array()
        .expect("fixes")
        .iter()
        .map(|f| (f["cu"].as_str().unwrap_or("").to_owned(), f["fix"]["build"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(fixes, vec![("CU8".to_owned(), "15.2.792.13".to_owned()), ("CU9".to_owned(), "15.2.858.10".to_owned())]);
    assert_eq!(e2019["contained_from"]["build"], "15.2.922.7");
    assert!(strings(&e2019["cus_without_fix"]).contains(&"CU7".to_owned()));

    let unknown = seawall(&["kb", "cve", "CVE-1999-0001"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn kb_list_and_lint_work() {
    let products = json(&["kb", "list", "--format", "json"]);
    let ids: Vec<&str> = products.as_array().expect("array").iter().filter_map(|p| p["id"].as_str()).collect();
    for id in ["2010", "2013", "2016", "2019", "SE", "online"] {
        assert!(ids.contains(&id), "{id}");
    }
    let builds = seawall(&["kb", "list", "builds"]);
    assert!(String::from_utf8_lossy(&builds.stdout).lines().count() > 300);
    let lint = seawall(&["kb", "lint"]);
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stdout));
}

fn copy_kb(to: &Path) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/kb");
    for name in ["products.toml", "builds.csv", "cves.toml"] {
        std::fs::copy(data.join(name), to.join(name)).expect("copy kb file");
    }
}

#[test]
fn kb_dir_overrides_the_embedded_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_kb(dir.path());
    // A newer SE update only the override knows about.
    let mut builds = std::fs::read_to_string(dir.path().join("builds.csv")).expect("read");
    builds.push_str("SE,RTM,Sep26SU,15.2.2562.49,2026-09-08,,https://example.invalid/test\n");
    std::fs::write(dir.path().join("builds.csv"), builds).expect("write");
    let kb = dir.path().to_str().expect("utf-8 path");

    let embedded = json(&["kb", "build", "15.2.2562.49", "--format", "json"]);
    assert_eq!(embedded["precision"], "newer-than-known");
    let overridden = json(&["--kb", kb, "kb", "build", "15.2.2562.49", "--format", "json"]);
    assert_eq!(overridden["precision"], "exact");
    assert_eq!(overridden["su"], "Sep26SU");
}

#[test]
fn broken_kb_dir_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_kb(dir.path());
    std::fs::write(dir.path().join("cves.toml"), "[[cve]]\nid = 1\n").expect("write");
    let out = seawall(&["--kb", dir.path().to_str().expect("utf-8"), "kb", "build", "15.2.858.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cves.toml"));
}
