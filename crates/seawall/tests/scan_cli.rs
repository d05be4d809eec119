//! `seawall scan` end to end: the built binary against the emulated fleet.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use seawall_testbed::{Fleet, HostKind, HostSpec, Hostile, standard_fleet};
use serde_json::Value;

fn seawall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seawall"))
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSONL line")).collect()
}

fn services(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r["type"] == "service")
        .map(|r| format!("{}:{}", r["data"]["host"].as_str().unwrap_or(""), r["data"]["port"]))
        .collect()
}

/// Exchange hosts and decoys of the standard fleet (hostile ones are slow by design).
fn quick_fleet(base: Ipv4Addr, port: u16) -> Vec<HostSpec> {
    standard_fleet(base, port).into_iter().filter(|h| !matches!(h.kind, HostKind::Hostile(_))).collect()
}

fn target_list(fleet: &Fleet) -> String {
    fleet.hosts().iter().map(|h| format!("{}\n", h.addr)).collect()
}

fn scan_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = seawall()
        .args(["scan", "-iL", "-", "--format", "jsonl", "--no-progress", "--as-of", "2026-11-30"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("seawall starts");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write targets");
    child.wait_with_output().expect("seawall ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_with_one_seed_cover_the_fleet_exactly_once() {
    let fleet = Fleet::start(quick_fleet(Ipv4Addr::new(127, 77, 3, 10), 9445)).await.expect("fleet");
    let targets = target_list(&fleet);
    let whole = tokio::task::spawn_blocking({
        let targets = targets.clone();
        move || scan_with_stdin(&["--seed", "5"], &targets)
    })
    .await
    .expect("join");
    let all = services(&records(&whole));
    assert_eq!(all.len(), fleet.hosts().len(), "every host answered once");
    let mut union = BTreeSet::new();
    for shard in 0..3 {
        let targets = targets.clone();
        let out = tokio::task::spawn_blocking(move || {
            scan_with_stdin(&["--seed", "5", "--shard", &format!("{shard}/3")], &targets)
        })
        .await
        .expect("join");
        let part = services(&records(&out));
        assert!(part.is_disjoint(&union), "shard {shard} repeats a host");
        union.extend(part);
    }
    assert_eq!(union, all);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_addresses_are_never_contacted() {
    let fleet = Fleet::start(quick_fleet(Ipv4Addr::new(127, 77, 4, 10), 9446)).await.expect("fleet");
    let excluded: Vec<IpAddr> = fleet.hosts().iter().take(3).map(|h| h.addr.ip()).collect();
    let dir = tempfile::tempdir().expect("dir");
    let exclude = dir.path().join("exclude.txt");
    let text: String = excluded.iter().map(|ip| format!("{ip}/32 # keep out\n")).collect();
    std::fs::write(&exclude, text).expect("write");
    let targets = target_list(&fleet);
    let exclude_arg = exclude.display().to_string();
    let out = tokio::task::spawn_blocking(move || scan_with_stdin(&["--exclude", &exclude_arg], &targets))
        .await
        .expect("join");
    let seen = services(&records(&out));
    assert_eq!(seen.len(), fleet.hosts().len() - excluded.len());
    for request in fleet.request_log() {
        assert!(!excluded.contains(&request.server.ip()), "{request:?}");
    }
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_follows_fail_on() {
    let fleet = Fleet::start(quick_fleet(Ipv4Addr::new(127, 77, 5, 10), 9447)).await.expect("fleet");
    let vulnerable = fleet
        .hosts()
        .iter()
        .find(|h| matches!(&h.spec.kind, HostKind::Exchange(e) if e.build == "15.1.2106.13"))
        .expect("2016 CU18 Mar21SU host");
    let addr = format!("https://{}", vulnerable.addr);
    let out = tokio::task::spawn_blocking(move || {
        seawall().args(["scan", &addr, "--format", "jsonl", "--no-progress", "--as-of", "2026-11-30"]).output()
    })
    .await
    .expect("join")
    .expect("runs");
    assert_eq!(out.status.code(), Some(1), "critical findings exit 1 with the default --fail-on high");
    let recs = records(&out);
    assert_eq!(recs.first().map(|r| r["type"].clone()), Some(Value::from("run_start")));
    assert_eq!(recs.last().map(|r| r["type"].clone()), Some(Value::from("run_end")));
    assert!(recs.iter().any(|r| r["data"]["rule"]["id"] == "SW-EXCH-PROXYSHELL"));
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_scan_and_keeps_what_was_found() {
    let ip = Ipv4Addr::new(127, 77, 6, 10);
    let slow = HostSpec::hostile("slow.seawall.test", ip, 9448, Hostile::Trickle);
    let fleet = Fleet::start(vec![slow]).await.expect("fleet");
    let addr = format!("https://{}", fleet.hosts()[0].addr);
    let out = tokio::task::spawn_blocking(move || {
        let child = seawall()
            .args([
                "scan",
                &addr,
                "--format",
                "jsonl",
                "--no-progress",
                "--read-timeout",
                "60",
                "--host-timeout",
                "120",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
        let out = child.wait_with_output().expect("ends");
        (out, started.elapsed())
    })
    .await
    .expect("join");
    let (out, elapsed) = out;
    assert!(elapsed < Duration::from_secs(5), "stopped in {elapsed:?}");
    assert_eq!(out.status.code(), Some(2));
    let recs = records(&out);
    assert_eq!(recs.last().map(|r| r["type"].clone()), Some(Value::from("run_end")));
    assert!(
        recs.iter()
            .any(|r| r["type"] == "error" && r["data"]["message"].as_str().is_some_and(|m| m.contains("interrupted")))
    );
    fleet.shutdown().await;
}
