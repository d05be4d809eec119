//! Benchmark (not a test): Security failed-logon events through the Sigma engine with and
//! without SigmaHQ's v1 aggregations, in events per second, and what the correlation bounds
//! kept and dropped.
//! `cargo run --release -p seawall-sigma --example correlation_bench -- ../shared/corpus/rules/sigma 2000000 100000`
//! (rule folder, events, distinct source addresses).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use seawall_sigma::{SigmaEngine, SigmaScratch};
use seawall_sources::evtx::EvtxEvent;

fn main() {
    let mut args = std::env::args().skip(1);
    let rules = PathBuf::from(args.next().unwrap_or_else(|| "../shared/corpus/rules/sigma".into()));
    let events: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let sources: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let mut out = std::io::stdout().lock();
    // Built once: 4771 and 4768 failures and 4625s, from `sources` addresses, a second apart per 100.
    let started = Instant::now();
    let records: Vec<EvtxEvent> = (0..events)
        .map(|i| {
            let ip = i % sources;
            let (event_id, status) = match i % 3 {
                0 => (4771, "0x18"),
                1 => (4768, "0x6"),
                _ => (4625, "0xc000006d"),
            };
            let time = jiff::Timestamp::from_second(1_709_596_800 + (i / 100) as i64).expect("time");
            let json = serde_json::json!({"Event": {
                "System": {"EventID": event_id, "Channel": "Security", "Computer": "DC01.corp.local",
                           "TimeCreated_attributes": {"SystemTime": time.to_string()}},
                "EventData": {"TargetUserName": format!("user{}", i % 5_000), "IpAddress": format!("10.{}.{}.{}", ip >> 16, (ip >> 8) & 255, ip & 255),
                              "Status": status, "LogonType": "3", "WorkstationName": format!("WS{}", ip % 2_000),
                              "ProcessName": "-", "SubjectUserName": "-"}}});
            EvtxEvent::from_json(i + 1, &json)
        })
        .collect();
    let _ = writeln!(out, "{events} events from {sources} addresses built in {:.2?}", started.elapsed());
    let (engine, report) = SigmaEngine::load_paths(&[rules]).expect("mappings");
    let _ = writeln!(out, "rules: {} detections, {} correlations", report.loaded, report.correlations);
    let mut scratch = SigmaScratch::default();
    scratch.set_origin("Security.evtx");
    let mut hits = Vec::new();
    let started = Instant::now();
    for record in &records {
        hits.clear();
        engine.scan_evtx(record, &mut scratch, &mut hits);
    }
    let matched = started.elapsed();
    let finishing = Instant::now();
    let found = engine.finish(scratch.take_correlation());
    let finished = finishing.elapsed();
    let per_second = events as f64 / (matched + finished).as_secs_f64();
    let _ = writeln!(
        out,
        "matching {matched:.2?} + finish {finished:.2?}: {per_second:.0} events/s; {} correlation hits",
        found.hits.len()
    );
    let _ = writeln!(out, "{:?}", found.stats);
}
