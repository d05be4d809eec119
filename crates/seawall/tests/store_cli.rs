//! `--store`, `--resume`, sharded scans into PostgreSQL and `seawall diff`, end to end: the
//! built binary against the emulated fleet, writing to a real SQLite file or a real PostgreSQL
//! server (started by scripts/pg-test-server).

#[path = "../../store/tests/support/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use seawall_store::{self as store, RunResults, SessionStatus};
use seawall_testbed::{Fleet, HostKind, HostSpec, Hostile, nth_address, standard_fleet};
use serde_json::Value;

use crate::pg::PgServer;

fn seawall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seawall"))
}

/// Exchange hosts and decoys of the standard fleet, plus `slow` hosts that trickle a byte
/// every two seconds (each holds a scan slot for about a second under `--read-timeout 1`).
fn fleet_specs(base: Ipv4Addr, port: u16, slow: usize) -> Vec<HostSpec> {
    let mut specs: Vec<HostSpec> =
        standard_fleet(base, port).into_iter().filter(|h| !matches!(h.kind, HostKind::Hostile(_))).collect();
    let first_free = specs.len() + 10;
    for i in 0..slow {
        let ip = nth_address(base, first_free + i);
        specs.push(HostSpec::hostile(format!("slow-{i}.seawall.test"), ip, port, Hostile::Trickle));
    }
    specs
}

fn write_targets(fleet: &Fleet, dir: &Path) -> String {
    let path = dir.join("targets.txt");
    let text: String = fleet.hosts().iter().map(|h| format!("{}\n", h.addr)).collect();
    std::fs::write(&path, text).expect("write targets");
    path.display().to_string()
}

/// `seawall scan -iL targets ...` with test-friendly deadlines.
fn scan_command(targets: &str, extra: &[&str]) -> Command {
    let mut command = seawall();
    command
        .args(["scan", "-iL", targets, "--format", "jsonl", "--no-progress", "--as-of", "2026-11-30"])
        .args(["--connect-timeout", "2", "--read-timeout", "1", "--host-timeout", "4", "--concurrency", "2"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> Output {
    let out = command.output().expect("seawall runs");
    assert!(
        matches!(out.status.code(), Some(0..=1)),
        "seawall failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn jsonl(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).expect("JSONL line")).collect()
}

fn service_keys(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r["type"] == "service")
        .map(|r| format!("{}:{}", r["data"]["host"].as_str().unwrap_or(""), r["data"]["port"]))
        .collect()
}

fn load(location: &str, run: &str) -> RunResults {
    let mut db = store::open(location).expect("open store");
    store::load_run(db.as_mut(), run).expect("load run")
}

fn finding_ids(results: &RunResults) -> Vec<String> {
    results.findings.iter().map(|f| f.id.to_string()).collect()
}

/// The same run, as far as results go: services, finding ids and findings, error sources.
fn assert_same_results(got: &RunResults, want: &RunResults) {
    let keys = |r: &RunResults| r.services.iter().map(|s| format!("{}:{}", s.host, s.port)).collect::<Vec<_>>();
    assert_eq!(keys(got), keys(want), "services");
    assert_eq!(got.services, want.services, "service records");
    assert_eq!(finding_ids(got), finding_ids(want), "finding ids");
    assert_eq!(got.findings, want.findings, "finding records");
    let sources = |r: &RunResults| r.errors.iter().map(|e| e.source.clone()).collect::<BTreeSet<_>>();
    assert_eq!(sources(got), sources(want), "endpoints with errors");
    assert_eq!(got.endpoints_done, want.endpoints_done, "endpoints done");
}

fn runs(location: &str) -> Vec<Value> {
    let out = seawall().args(["runs", "--store", location, "--format", "jsonl"]).output().expect("seawall runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    jsonl(&out.stdout)
}

fn endpoints_done(location: &str, run: &str) -> u64 {
    let Ok(mut db) = store::open(location) else { return 0 };
    db.runs().ok().and_then(|runs| runs.into_iter().find(|r| r.run.name == run)).map_or(0, |r| r.endpoints_done)
}

/// Kill `child` (SIGKILL, by its PID) once the store shows more than `at_least` endpoints done.
fn kill_midway(mut child: Child, location: &str, run: &str, at_least: u64, total: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = endpoints_done(location, run);
        if done > at_least {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            let done = endpoints_done(location, run);
            assert!(done < total, "the scan finished before it was killed ({done} of {total}): make it slower");
            return done;
        }
        assert!(child.try_wait().expect("wait").is_none(), "the scan ended before it was killed");
        assert!(Instant::now() < deadline, "the scan made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// See: issue 7 (crash safety).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_scan_resumes_without_loss_or_duplicates() {
    let fleet = Fleet::start(fleet_specs(Ipv4Addr::new(127, 77, 31, 10), 9461, 8)).await.expect("fleet");
    let total = fleet.hosts().len() as u64;
    let dir = tempfile::tempdir().expect("dir");
    let targets = write_targets(&fleet, dir.path());
    let db = dir.path().join("results.db").display().to_string();
    let reference = dir.path().join("reference.db").display().to_string();
    let (db2, targets2, reference2) = (db.clone(), targets.clone(), reference.clone());
    tokio::task::spawn_blocking(move || {
        let args = ["--seed", "11", "--store", db2.as_str(), "--run-name", "weekly"];
        let child = scan_command(&targets2, &args).spawn().expect("starts");
        let committed = kill_midway(child, &db2, "weekly", 3, total);
        let before = load(&db2, "weekly");
        assert_eq!(before.endpoints_done, committed);
        let before_services = before.services.iter().map(|s| format!("{}:{}", s.host, s.port)).collect::<BTreeSet<_>>();

        // Without --resume the run is refused: its shard has endpoints done.
        let refused = scan_command(&targets2, &args).output().expect("runs");
        assert_eq!(refused.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"), "{refused:?}");

        let resumed = run(scan_command(&targets2, &[&args[..], &["--resume"]].concat()));
        let resumed_services = service_keys(&jsonl(&resumed.stdout));
        assert!(
            resumed_services.is_disjoint(&before_services),
            "the resumed session scanned endpoints already committed: {:?}",
            resumed_services.intersection(&before_services).collect::<Vec<_>>()
        );

        let reference_out =
            run(scan_command(&targets2, &["--seed", "11", "--store", &reference2, "--run-name", "weekly"]));
        let got = load(&db2, "weekly");
        let want = load(&reference2, "weekly");
        assert_same_results(&got, &want);
        assert_eq!(got.endpoints_done, total);
        let union: BTreeSet<String> = before_services.union(&resumed_services).cloned().collect();
        let all: BTreeSet<String> = got.services.iter().map(|s| format!("{}:{}", s.host, s.port)).collect();
        assert_eq!(union, all, "every service was written by exactly one of the two sessions");
        let statuses: Vec<(SessionStatus, bool)> = got.sessions.iter().map(|s| (s.status, s.resumed)).collect();
        assert_eq!(statuses, vec![(SessionStatus::Interrupted, false), (SessionStatus::Finished, true)]);

        // The uninterrupted scan's JSONL and the resumed run: diff says nothing changed.
        let reference_jsonl = Path::new(&reference2).with_extension("jsonl");
        std::fs::write(&reference_jsonl, &reference_out.stdout).expect("write");
        let reference_jsonl = reference_jsonl.display().to_string();
        let out = seawall()
            .args(["diff", &reference_jsonl, "weekly", "--store", &db2, "--format", "jsonl"])
            .output()
            .expect("diff");
        assert!(out.status.success());
        let lines = jsonl(&out.stdout);
        assert_eq!(lines.len(), 1, "only diff_end: {lines:?}");
        assert_eq!(lines[0]["type"], "diff_end");
    })
    .await
    .expect("join");
    fleet.shutdown().await;
}

// See: issue 7 (scale across machines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_into_postgres_equal_one_process() {
    let Some(server) = PgServer::start("three_shards_into_postgres_equal_one_process", 31442) else { return };
    let fleet = Fleet::start(fleet_specs(Ipv4Addr::new(127, 77, 32, 10), 9462, 2)).await.expect("fleet");
    let dir = tempfile::tempdir().expect("dir");
    let targets = write_targets(&fleet, dir.path());
    let url = server.url.clone();
    let total = fleet.hosts().len() as u64;
    tokio::task::spawn_blocking(move || {
        run(scan_command(&targets, &["--seed", "5", "--store", &url, "--run-name", "single"]));
        // Three processes at once, no run name: they meet in the run derived from targets and seed.
        let shards: Vec<Child> = (0..3)
            .map(|i| {
                let shard = format!("{i}/3");
                scan_command(&targets, &["--seed", "5", "--store", &url, "--shard", &shard]).spawn().expect("starts")
            })
            .collect();
        let mut outputs = Vec::new();
        for child in shards {
            let out = child.wait_with_output().expect("shard ends");
            assert!(matches!(out.status.code(), Some(0..=1)), "{}", String::from_utf8_lossy(&out.stderr));
            outputs.push(service_keys(&jsonl(&out.stdout)));
        }
        for (i, a) in outputs.iter().enumerate() {
            for b in &outputs[i + 1..] {
                assert!(a.is_disjoint(b), "two shards scanned one endpoint");
            }
        }
        let listed = runs(&url);
        assert_eq!(listed.len(), 2, "{listed:?}");
        let sharded = listed.iter().find(|r| r["data"]["name"] != "single").expect("the shards' run");
        let sharded_name = sharded["data"]["name"].as_str().expect("name").to_owned();
        assert!(sharded_name.starts_with("scan-"));
        assert_eq!(sharded["data"]["sessions"], 3);
        assert_eq!(sharded["data"]["sessions_finished"], 3);

        let single = load(&url, "single");
        let merged = load(&url, &sharded_name);
        assert_same_results(&merged, &single);
        assert_eq!(merged.endpoints_done, total);
        let out = seawall()
            .args(["diff", "single", &sharded_name, "--store", &url, "--format", "text"])
            .output()
            .expect("diff");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("summary: 0 newly exposed, 0 newly vulnerable, 0 newly compromised, 0 fixed, 0 gone"),
            "{text}"
        );
    })
    .await
    .expect("join");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_scans_and_hunts_match_their_jsonl_and_diff_by_file_or_name() {
    let fleet = Fleet::start(fleet_specs(Ipv4Addr::new(127, 77, 33, 10), 9463, 0)).await.expect("fleet");
    let dir = tempfile::tempdir().expect("dir");
    let targets = write_targets(&fleet, dir.path());
    let root = dir.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let db = root.join("s.db").display().to_string();
        let scan = run(scan_command(&targets, &["--seed", "3", "--store", &db]));
        let jsonl_path = root.join("scan.jsonl");
        std::fs::write(&jsonl_path, &scan.stdout).expect("write");
        let stored = load(&db, "1");
        assert!(stored.run.as_ref().is_some_and(|r| r.name.starts_with("scan-") && r.seed == 3));
        assert_eq!(service_keys(&jsonl(&scan.stdout)).len(), stored.services.len());

        // The stored run and the JSONL of the same scan compare equal, by name and by file.
        let out = seawall()
            .args(["diff", jsonl_path.to_str().expect("utf-8"), "1", "--store", &db, "--format", "jsonl"])
            .output()
            .expect("diff");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(jsonl(&out.stdout).len(), 1);

        // A hunt goes to the same store as a run of its own.
        let evidence = root.join("evidence");
        seawall_testbed::evidence::write_demo_tree(&evidence).expect("evidence");
        let hunt = seawall()
            .args(["hunt", evidence.to_str().expect("utf-8"), "--format", "jsonl", "--store", &db])
            .args(["--run-name", "case-17"])
            .output()
            .expect("hunt");
        assert!(matches!(hunt.status.code(), Some(0..=2)), "{}", String::from_utf8_lossy(&hunt.stderr));
        let from_file = seawall_report::diff::read_jsonl("hunt", hunt.stdout.as_slice()).expect("read").0;
        let case = load(&db, "case-17");
        assert_eq!(case.findings, from_file.findings);
        assert!(!case.findings.is_empty());
        assert_eq!(case.run.as_ref().map(|r| r.command.as_str()), Some("hunt"));

        // The stored run renders as a report without its JSONL: every finding's rule is in the page.
        let html = root.join("case.html");
        let out = seawall()
            .args(["report", "--store", &db, "--run", "case-17", "-o", html.to_str().expect("utf-8")])
            .output()
            .expect("report");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let page = std::fs::read_to_string(&html).expect("report written");
        for finding in &case.findings {
            assert!(page.contains(&finding.rule.id), "{} missing from the stored run's report", finding.rule.id);
        }

        // Scan, then hunt: the hunt's findings are all new; compromise among them is reported as such.
        let out = seawall().args(["diff", "1", "case-17", "--store", &db, "--format", "jsonl"]).output().expect("diff");
        let lines = jsonl(&out.stdout);
        let end = lines.last().expect("diff_end");
        assert!(end["data"]["counts"]["newly_compromised"].as_u64().is_some_and(|n| n > 0), "{end}");
        assert_eq!(end["data"]["counts"]["gone"].as_u64(), Some(stored.services.len() as u64));

        let missing = seawall().args(["diff", "nope", "1"]).output().expect("diff");
        assert_eq!(missing.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&missing.stderr).contains("no --store"));
    })
    .await
    .expect("join");
    fleet.shutdown().await;
}
