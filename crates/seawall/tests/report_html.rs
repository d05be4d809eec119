//! The HTML report keeps attacker strings inert: a report built from evidence
//! full of script, HTML, CSV-formula and terminal-escape payloads is loaded in
//! headless Chromium, which must run the report's own script (the table fills)
//! and none of the injected ones. A screenshot is saved for a person to look at.

use std::path::{Path, PathBuf};
use std::process::Command;

use seawall_model::{
    Confidence, ErrorRecord, Evidence, Finding, Location, Record, RuleRef, RuleSource, RunEnd, RunStart, Service,
    Severity,
};

const PAYLOADS: [&str; 6] = [
    "<script>document.body.setAttribute('data-pwned','script')</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">",
    "</script><script>document.body.setAttribute('data-pwned','close')</script>",
    "=HYPERLINK(\"http://evil.example/\",\"click\")",
    "\u{1b}]0;owned\u{7}\u{1b}[2J",
    "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>",
];

fn hostile_records() -> Vec<Record> {
    let mut records = vec![Record::RunStart(RunStart {
        tool: "seawall".into(),
        version: "0".into(),
        command: format!("scan {}", PAYLOADS[0]),
        started: "2021-03-03T06:00:00Z".into(),
        kb: None,
    })];
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let host = format!("host{i}{payload}");
        records.push(Record::Service(Service {
            host: host.clone(),
            port: 443,
            protocol: "https".into(),
            product: Some("exchange".into()),
            version: Some((*payload).to_owned()),
            version_name: Some(format!("Exchange {payload}")),
            ..Service::default()
        }));
        let mut finding = Finding::new(
            RuleRef {
                id: format!("SW-EXCH-PROXYSHELL{payload}"),
                title: (*payload).to_owned(),
                source: RuleSource::Kb,
            },
            Severity::Critical,
            Confidence::High,
            Location::Host { host, port: 443 },
            vec![Evidence::text(*payload, payload), Evidence::bytes("raw", payload.as_bytes())],
            &[payload],
        );
        finding.remediation = Some(format!("Install {payload}"));
        finding.time = Some("2021-03-03T06:49:42Z".into());
        finding.outcome = Some("success".into());
        finding.cves = vec![format!("CVE-2021-34473{payload}")];
        records.push(Record::Finding(finding));
        let file_finding = Finding::new(
            RuleRef { id: "SW-LOG-WEBSHELL-POST".into(), title: (*payload).to_owned(), source: RuleSource::Native },
            Severity::High,
            Confidence::Medium,
            Location::File { path: format!("C:\\inetpub\\{payload}.log"), line: Some(3), record: None },
            vec![Evidence::text("line", payload)],
            &[payload],
        );
        records.push(Record::Finding(file_finding));
        records.push(Record::Error(ErrorRecord {
            source: (*payload).to_owned(),
            message: (*payload).to_owned(),
            position: None,
        }));
    }
    records.push(Record::RunEnd(RunEnd::default()));
    records
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut command = Command::new(chrome);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=3000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
#[allow(clippy::print_stderr)]
fn injected_payloads_stay_text_in_chromium() {
    let dir = tempfile::tempdir().expect("dir");
    let jsonl = dir.path().join("hostile.jsonl");
    let text: String = hostile_records().iter().map(|r| serde_json::to_string(r).expect("json") + "\n").collect();
    std::fs::write(&jsonl, text).expect("write");
    let html = dir.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_seawall"))
        .args(["report", jsonl.to_str().expect("utf-8"), "-o", html.to_str().expect("utf-8")])
        .status()
        .expect("seawall runs");
    assert!(status.success());
    let source = std::fs::read_to_string(&html).expect("report");
    assert!(!source.contains("<script>document.body"), "payload written raw");
    assert!(!source.contains("<img src=x"), "payload written raw");
    assert!(!source.contains('\u{1b}'), "terminal escape written raw");
    assert!(source.contains("Content-Security-Policy") && source.contains("default-src 'none'"));

    let Some(chrome) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "Chromium is required in CI (apt-get install chromium)");
        eprintln!("skipped: Chromium not installed (apt-get install chromium)");
        return;
    };
    let profile = dir.path().join("profile");
    let dom = headless(&chrome, &profile).arg("--dump-dom").arg(&html).output().expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(!dom.contains("data-pwned=\""), "an injected script ran:\n{}", &dom[..dom.len().min(2000)]);
    let rows = dom.matches("class=\"sev sev-").count();
    assert!(rows >= 12, "the report's own script filled the findings table ({rows} severity badges)");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-injection.png");
    let _ = std::fs::remove_file(&shot);
    let status = headless(&chrome, &profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1400,2200")
        .arg(&html)
        .status()
        .expect("chromium runs");
    assert!(status.success());
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "screenshot at {}", shot.display());
}

#[test]
fn demo_writes_a_report_with_charts_and_evidence() {
    let dir = tempfile::tempdir().expect("dir");
    let html = dir.path().join("seawall-demo.html");
    let out = Command::new(env!("CARGO_BIN_EXE_seawall"))
        .args(["demo", "-o", html.to_str().expect("utf-8")])
        .output()
        .expect("demo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("Exchange servers"), "{summary}");
    assert!(summary.contains("likely compromised account"), "{summary}");
    let report = std::fs::read_to_string(&html).expect("report written");
    assert!(report.contains("<svg class=\"chart\""), "charts present");
    assert!(report.contains("ProxyShell"), "evidence present");
    assert!(report.contains("What to install, per server"));
}
