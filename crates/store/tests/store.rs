//! The results store against real databases: a SQLite file in a temp dir and a PostgreSQL
//! server started by `scripts/pg-test-server`. The same checks run on both.

mod support;

use std::collections::BTreeSet;

use seawall_model::{
    Confidence, ErrorRecord, Evidence, Finding, Location, Record, RuleRef, RuleSource, RunEnd, Service, Severity,
    TlsInfo,
};
use seawall_store::{
    self as store, Batch, ResultStore, RunResults, SessionEnd, SessionSpec, SessionStatus, ShardSpec, StoreError,
};
use support::pg::PgServer;

const HOSTILE: &str = "\u{0}'; DROP TABLE findings; --\u{1b}[31m<script>\u{202e}";

fn service(host: &str, port: u16, build: &str) -> Service {
    let mut service = Service {
        host: host.into(),
        ip: Some("127.0.0.1".into()),
        port,
        protocol: "https".into(),
        product: Some("exchange".into()),
        version: Some(build.into()),
        version_name: Some(format!("Exchange {build} {HOSTILE}")),
        methods: vec!["x-owa-version".into()],
        tls: Some(TlsInfo { versions: vec!["TLS1.3".into()], cipher: None, chain: vec![] }),
        ..Service::default()
    };
    service.facts.insert("banner".into(), serde_json::json!({"n": 1.5, "big": u64::MAX, "s": HOSTILE}));
    service
}

fn finding(host: &str, port: u16, rule: &str, key: &str) -> Finding {
    let mut f = Finding::new(
        RuleRef { id: rule.into(), title: format!("title {HOSTILE}"), source: RuleSource::Kb },
        Severity::Critical,
        Confidence::High,
        Location::Host { host: host.into(), port },
        vec![Evidence::text("GET /owa/", HOSTILE), Evidence::bytes("raw", b"\xff\x00\x1b")],
        &[key],
    );
    f.cves = vec!["CVE-2021-34473".into()];
    f
}

fn error(source: &str, message: &str) -> ErrorRecord {
    ErrorRecord { source: source.into(), message: message.into(), position: None }
}

fn spec(name: Option<&str>, targets: &str, shard: ShardSpec, resume: bool) -> SessionSpec {
    SessionSpec {
        command: "scan".into(),
        run_name: name.map(str::to_owned),
        resume,
        seed: 42,
        seed_given: true,
        shard,
        targets_digest: targets.into(),
        config_digest: "cfg".into(),
        args: "scan -iL t.txt --seed 42".into(),
        tool_version: "test".into(),
        started: jiff::Timestamp::now(),
    }
}

fn endpoint(ordinal: u64, records: Vec<Record>) -> Batch {
    Batch { ordinal: Some(ordinal), records }
}

fn end(status: SessionStatus) -> SessionEnd {
    SessionEnd {
        status,
        ended: jiff::Timestamp::now(),
        stats: RunEnd { errors: 2, duration_ms: 7, ..RunEnd::default() },
    }
}

/// Write a run, read it back through a new connection, and check upserts, conflicts and resume.
fn round_trip(open: &dyn Fn() -> Box<dyn ResultStore>) {
    let mut db = open();
    let session = store::begin(db.as_mut(), &spec(None, "targets-a", ShardSpec::WHOLE, false)).expect("begin");
    assert!(session.run.name.starts_with("scan-"), "derived name: {}", session.run.name);
    assert_eq!(session.run.seed, 42);
    assert!(session.done.is_empty());
    let a = service("mail.example", 443, "15.2.858.5");
    let fa = finding("mail.example", 443, "SW-EXCH-PROXYSHELL", "15.2.858.5");
    let fb = finding("mail.example", 443, "SW-EXCH-OPEN-CVES", "15.2.858.5");
    let e1 = error("10.0.0.9:443", "connect: refused");
    let e2 = error("stdin", &format!("bad target line {HOSTILE}"));
    let first = vec![
        endpoint(5, vec![Record::Service(a.clone()), Record::Finding(fa.clone())]),
        endpoint(9, vec![Record::Error(e1.clone())]),
        Batch { ordinal: None, records: vec![Record::Error(e2.clone())] },
    ];
    db.write(session.key, &first).expect("write");
    // The same endpoint again (a duplicated target line), and one more finding: no duplicates.
    let again =
        vec![endpoint(5, vec![Record::Service(a.clone()), Record::Finding(fa.clone()), Record::Finding(fb.clone())])];
    db.write(session.key, &again).expect("write again");
    db.write(session.key, &[endpoint(12, vec![])]).expect("an endpoint with nothing to say is done too");
    db.end_session(session.key, &end(SessionStatus::Finished)).expect("end");
    drop(db);

    let mut db = open();
    let expected = RunResults::from_records(
        "x",
        vec![
            Record::Service(a.clone()),
            Record::Finding(fa),
            Record::Finding(fb),
            Record::Error(e1),
            Record::Error(e2),
        ],
    );
    for name in [session.run.name.clone(), session.run.id.to_string()] {
        let loaded = store::load_run(db.as_mut(), &name).expect("load");
        assert_eq!(loaded.services, expected.services, "services survive byte for byte");
        assert_eq!(loaded.findings, expected.findings);
        assert_eq!(loaded.errors, expected.errors);
        assert_eq!(loaded.endpoints_done, 3);
        assert_eq!(loaded.label, session.run.name);
        assert_eq!(loaded.sessions.len(), 1);
        assert_eq!(loaded.sessions[0].status, SessionStatus::Finished);
        assert_eq!(loaded.sessions[0].stats.as_ref().map(|s| s.duration_ms), Some(7));
        assert!(loaded.sessions[0].ended.is_some());
    }
    assert!(matches!(store::load_run(db.as_mut(), "no-such-run"), Err(StoreError::NoSuchRun(_))));

    let runs = db.runs().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].sessions, runs[0].sessions_finished, runs[0].endpoints_done, runs[0].services, runs[0].findings),
        (1, 1, 3, 1, 2)
    );
    assert_eq!(runs[0].errors, 2);

    // The same scan again without --resume is refused: it would mix two runs.
    let refused = store::begin(db.as_mut(), &spec(None, "targets-a", ShardSpec::WHOLE, false));
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    // Other targets under the same name are refused.
    let named = Some(session.run.name.as_str());
    let other = store::begin(db.as_mut(), &spec(named, "targets-b", ShardSpec::WHOLE, true));
    assert!(matches!(other, Err(StoreError::Conflict(_))), "{other:?}");

    // A resumed session skips what is done; it marks a killed session of its shard interrupted.
    let resumed = store::begin(db.as_mut(), &spec(None, "targets-a", ShardSpec::WHOLE, true)).expect("resume");
    assert_eq!(resumed.run.id, session.run.id);
    assert_eq!(resumed.done.len(), 3);
    assert!(resumed.done.contains(5) && resumed.done.contains(9) && resumed.done.contains(12));
    // Killed: never ended. The next resume marks it.
    let again = store::begin(db.as_mut(), &spec(None, "targets-a", ShardSpec::WHOLE, true)).expect("resume again");
    db.end_session(again.key, &end(SessionStatus::Finished)).expect("end");
    let sessions = store::load_run(db.as_mut(), &session.run.name).expect("load").sessions;
    let statuses: Vec<SessionStatus> = sessions.iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![SessionStatus::Finished, SessionStatus::Interrupted, SessionStatus::Finished]);
    assert!(sessions[1].resumed && sessions[2].resumed && !sessions[0].resumed);

    // Shards see only their own ordinals (5, 9 and 12 mod 3: 2, 0, 0).
    let shard = |index| ShardSpec { index, count: 3 };
    let s0 = store::begin(db.as_mut(), &spec(None, "targets-a", shard(0), true)).expect("shard 0");
    let s2 = store::begin(db.as_mut(), &spec(None, "targets-a", shard(2), true)).expect("shard 2");
    let s1 = store::begin(db.as_mut(), &spec(None, "targets-a", shard(1), false)).expect("shard 1 starts fresh");
    assert_eq!((s0.done.len(), s1.done.len(), s2.done.len()), (2, 0, 1));
    assert!(s0.done.contains(9) && s2.done.contains(5));
    // A seed that differs from the run's is refused.
    let mut wrong_seed = spec(named, "targets-a", ShardSpec::WHOLE, true);
    wrong_seed.seed = 7;
    assert!(matches!(store::begin(db.as_mut(), &wrong_seed), Err(StoreError::Conflict(_))));
    // Resume without a seed of its own finds the unfinished run and adopts its seed.
    let mut no_seed = spec(None, "targets-a", ShardSpec::WHOLE, true);
    (no_seed.seed, no_seed.seed_given) = (99, false);
    let adopted = store::begin(db.as_mut(), &no_seed).expect("resume by targets");
    assert_eq!((adopted.run.id, adopted.run.seed), (session.run.id, 42));
}

/// Three writers at once on one run, with a host that two of them share: the merged run equals
/// one writer's, and no transaction deadlocks.
fn concurrent_shards(open: &(dyn Fn() -> Box<dyn ResultStore> + Sync)) {
    let hosts: Vec<String> = (0..60).map(|i| format!("10.0.{}.{}", i / 10, i % 10)).collect();
    let records_of = |ordinal: u64| {
        // Ordinal 0 and ordinal 1 name the same host (a target listed twice).
        let host = &hosts[(ordinal as usize).max(1) % hosts.len()];
        vec![
            Record::Service(service(host, 443, "15.1.2507.16")),
            Record::Finding(finding(host, 443, "SW-EXCH-OPEN-CVES", "15.1.2507.16")),
            Record::Error(error(host, "probe stopped early: reset")),
        ]
    };
    std::thread::scope(|scope| {
        for index in 0..3u64 {
            let records_of = &records_of;
            scope.spawn(move || {
                let mut db = open();
                let shard = ShardSpec { index, count: 3 };
                let session = store::begin(db.as_mut(), &spec(Some("sharded"), "t", shard, false)).expect("begin");
                let mine: Vec<u64> = (0..60).filter(|o| o % 3 == index).collect();
                for chunk in mine.chunks(4) {
                    let batches: Vec<Batch> = chunk.iter().map(|&o| endpoint(o, records_of(o))).collect();
                    db.write(session.key, &batches).expect("write");
                }
                db.end_session(session.key, &end(SessionStatus::Finished)).expect("end");
            });
        }
    });
    let mut db = open();
    let merged = store::load_run(db.as_mut(), "sharded").expect("load");
    let single = RunResults::from_records("x", (0..60).flat_map(records_of).collect::<Vec<_>>());
    assert_eq!(merged.services, single.services);
    assert_eq!(merged.findings, single.findings);
    assert_eq!(merged.errors, single.errors);
    assert_eq!(merged.endpoints_done, 60);
    assert_eq!(merged.services.len(), 59, "the shared host is one service");
    let shards: BTreeSet<u64> = merged.sessions.iter().map(|s| s.shard.index).collect();
    assert_eq!(shards, BTreeSet::from([0, 1, 2]));
}

#[test]
fn sqlite_round_trip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("results.db");
    let location = path.display().to_string();
    round_trip(&|| store::open(&location).expect("open sqlite"));
}

#[test]
fn sqlite_concurrent_shards() {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = dir.path().join("shards.db").display().to_string();
    // Create the schema once; three processes' connections then meet in one file.
    drop(store::open(&location).expect("open"));
    concurrent_shards(&|| store::open(&location).expect("open sqlite"));
}

#[test]
fn sqlite_refuses_a_store_of_another_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    drop(store::open(&path.display().to_string()).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute("UPDATE seawall_meta SET value = '99' WHERE key = 'schema'", []).expect("update");
    drop(conn);
    assert!(matches!(store::open(&path.display().to_string()), Err(StoreError::Schema { .. })));
}

#[test]
fn postgres_round_trip_and_concurrent_shards() {
    let Some(server) = PgServer::start("postgres_round_trip_and_concurrent_shards", 31441) else { return };
    let url = server.url.clone();
    round_trip(&|| store::open(&url).expect("open postgres"));
    concurrent_shards(&|| store::open(&url).expect("open postgres"));
    let db = store::open(&url).expect("open");
    assert_eq!(db.describe(), url, "no password in the URL, nothing to redact");
}
