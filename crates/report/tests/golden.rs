//! What users read, pinned: a fixed run (a service, findings with hostile strings, a folded
//! finding, an error, run_end) written by every sink and compared byte for byte with the files
//! in tests/golden/. A change to any output format shows here as a diff to review; to accept
//! it, run with `SEAWALL_UPDATE_GOLDEN=1` and commit the files.

use std::path::PathBuf;

use seawall_model::{
    Confidence, ErrorRecord, Evidence, Finding, Location, Record, RuleRef, RuleSource, RunEnd, RunStart, Service,
    Severity,
};
use seawall_report::{CsvProfile, CsvSink, FindingSink, HtmlSink, JsonlSink, TextSink, TimesketchSink};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn run() -> Vec<Record> {
    let mut exploit = Finding::new(
        RuleRef {
            id: "SW-LOG-PROXYLOGON-26855".into(),
            title: "ProxyLogon SSRF (CVE-2021-26855)".into(),
            source: RuleSource::Native,
        },
        Severity::Critical,
        Confidence::High,
        Location::File {
            path: r"C:\inetpub\logs\LogFiles\W3SVC1\u_ex210303.log".into(),
            line: Some(3005),
            record: None,
        },
        vec![
            Evidence::text(
                "line",
                "2021-03-03 06:49:42 POST /ecp/y.js - 443 - 198.51.100.23 python-requests/2.25.1 200",
            ),
            Evidence::text("folded", "3 hits of this rule from c-ip 198.51.100.23 between 06:49:42 and 06:49:51"),
        ],
        &["198.51.100.23"],
    );
    exploit.time = Some("2021-03-03T06:49:42Z".into());
    exploit.outcome = Some("success".into());
    exploit.cves = vec!["CVE-2021-26855".into()];
    exploit.actors = vec!["HAFNIUM".into()];
    exploit.remediation = Some("Install the March 2021 security update".into());
    exploit.references = vec!["https://msrc.microsoft.com/update-guide/vulnerability/CVE-2021-26855".into()];

    let mut hostile = Finding::new(
        RuleRef {
            id: "SW-FILE-ASPNET-CLIENT-ASPX".into(),
            title: "=HYPERLINK(\"x\")".into(),
            source: RuleSource::Native,
        },
        Severity::High,
        Confidence::Medium,
        Location::File {
            path: "C:\\inetpub\\wwwroot\\aspnet_client\\\u{1b}[31m\u{202e}xpsa.aspx".into(),
            line: None,
            record: None,
        },
        vec![Evidence::text("ua", "<script>alert(1)</script>"), Evidence::bytes("raw", b"\xff\xfe\x1b[2J")],
        &[],
    );
    hostile.remediation = Some("-2+3".into());

    let scan = Finding::new(
        RuleRef { id: "SW-EXCH-PROXYSHELL".into(), title: "ProxyShell open".into(), source: RuleSource::Kb },
        Severity::Critical,
        Confidence::High,
        Location::Host { host: "mail.example.org".into(), port: 443 },
        vec![Evidence::text("build", "15.1.2106.13")],
        &["15.1.2106.13"],
    );
    let service: Service = serde_json::from_value(serde_json::json!({
        "host": "mail.example.org", "ip": "192.0.2.10", "port": 443, "protocol": "https", "product": "exchange",
        "version": "15.1.2106.13", "version_name": "Exchange Server 2016 CU18 Mar21SU", "methods": ["x-owa-version"]
    }))
    .expect("a service");
    let mut end = RunEnd { errors: 1, duration_ms: 1234, files: Some(7), bytes: Some(4096), ..RunEnd::default() };
    for finding in [&exploit, &hostile, &scan] {
        end.count_finding(finding.severity);
    }
    vec![
        Record::RunStart(RunStart {
            tool: "seawall".into(),
            version: "0.0.0-golden".into(),
            command: "hunt".into(),
            started: "2026-12-06T10:00:00Z".into(),
            kb: Some("embedded".into()),
        }),
        Record::Service(service),
        Record::Finding(exploit),
        Record::Finding(hostile),
        Record::Finding(scan),
        Record::Error(ErrorRecord {
            source: "C:\\evidence\\Security.evtx".into(),
            message: "EVTX: chunk 3 is corrupt".into(),
            position: Some("byte 196608".into()),
        }),
        Record::RunEnd(end),
    ]
}

fn write<S: FindingSink>(mut sink: S) -> S {
    for record in run() {
        sink.record(&record).expect("write");
    }
    sink.finish().expect("finish");
    sink
}

/// Compare with the golden file, or rewrite it when asked to.
fn check(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("SEAWALL_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with SEAWALL_UPDATE_GOLDEN=1 to create it)", path.display()));
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {:?}\n  now:    {:?}\n(review, then SEAWALL_UPDATE_GOLDEN=1 to accept)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

#[test]
fn jsonl_is_pinned() {
    let out = String::from_utf8(write(JsonlSink::new(Vec::new())).into_inner()).expect("utf-8");
    check("run.jsonl", &out);
}

#[test]
fn text_is_pinned() {
    let out = String::from_utf8(write(TextSink::new(Vec::new())).into_inner()).expect("utf-8");
    check("run.txt", &out);
}

#[test]
fn csv_profiles_are_pinned() {
    for profile in CsvProfile::embedded().expect("profiles") {
        let mut buffer = Vec::new();
        write(CsvSink::with_profile(&mut buffer, &profile));
        check(&format!("run.{}.csv", profile.name), &String::from_utf8(buffer).expect("utf-8"));
    }
}

#[test]
fn timesketch_is_pinned() {
    let mut buffer = Vec::new();
    write(TimesketchSink::new(&mut buffer));
    check("run.timesketch.jsonl", &String::from_utf8(buffer).expect("utf-8"));
}

#[test]
fn html_embedded_data_is_pinned() {
    let mut buffer = Vec::new();
    write(HtmlSink::new(&mut buffer, "golden".to_owned()));
    let page = String::from_utf8(buffer).expect("utf-8");
    let start = page.find("id=\"seawall-data\">").expect("embedded data") + "id=\"seawall-data\">".len();
    let end = start + page[start..].find("</script>").expect("end of data");
    let data: serde_json::Value = serde_json::from_str(&page[start..end]).expect("the embedded data is JSON");
    // Keys sorted: the page's own key order follows serde_json's features, which the workspace unifies.
    let pretty = serde_json::to_string_pretty(&sorted(data)).expect("pretty") + "\n";
    check("run.html-data.json", &pretty);
}

/// `value` with every object's keys in sorted order.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: std::collections::BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::to_value(sorted).unwrap_or_default()
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
