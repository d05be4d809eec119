//! `hunt --stage-times`: where the time goes is reported in run_end, and asking for it
//! changes nothing else.

use std::process::Command;

use serde_json::Value;

fn seawall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seawall"))
}

fn hunt(dir: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let out = seawall().args(["hunt", "--format", "jsonl"]).args(extra).arg(dir).output().expect("run seawall hunt");
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn stage_keys(records: &[Value]) -> Vec<String> {
    let end = records.iter().find(|r| r["type"] == "run_end").expect("run_end");
    let stats = end["data"]["stats"].as_object().cloned().unwrap_or_default();
    stats.keys().filter(|k| k.starts_with("stage_ms.")).cloned().collect()
}

fn findings(records: &[Value]) -> Vec<Value> {
    records.iter().filter(|r| r["type"] == "finding").cloned().collect()
}

#[test]
fn stage_times_are_reported_only_when_asked_and_change_no_finding() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = String::from(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem \
         cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n",
    );
    for n in 0..2000 {
        log.push_str(&format!(
            "2021-03-03 06:{:02}:{:02} 10.0.0.5 GET /owa/ - 443 user{n} 198.51.100.23 Mozilla/5.0 200 0 0 5\r\n",
            n / 60 % 60,
            n % 60
        ));
    }
    log.push_str(
        "2021-03-03 07:00:00 10.0.0.5 POST /ecp/y.js - 443 - 198.51.100.7 python-requests/2.25.1 200 0 0 5\r\n",
    );
    std::fs::write(dir.path().join("u_ex210303.log"), log).expect("write");

    let plain = hunt(dir.path(), &[]);
    let timed = hunt(dir.path(), &["--stage-times"]);
    assert!(stage_keys(&plain).is_empty(), "no stage times unless asked");
    let keys = stage_keys(&timed);
    for stage in ["walk", "read", "gate", "rules", "sigma", "auth", "ioc", "file_scan"] {
        assert!(keys.contains(&format!("stage_ms.{stage}")), "{stage} missing from {keys:?}");
    }
    let found = findings(&plain);
    assert!(!found.is_empty(), "the ProxyLogon request fires");
    assert_eq!(found, findings(&timed));
}
