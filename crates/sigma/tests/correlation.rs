//! Correlation rules as the Sigma correlation specification 2.0 defines them, and Sigma v1
//! aggregations: the window from the rule, per group, each with a near miss; what is refused
//! and why; the memory bounds and what they count.

use seawall_sigma::{
    CorrelationReport, CorrelationState, Mappings, RuleText, SigmaEngine, SigmaHit, SigmaScratch, UnsupportedKind,
};
use seawall_sources::evtx::EvtxEvent;

const FAILED: &str = "title: Failed logon\nid: 10000000-0000-0000-0000-000000000001\nname: failed_logon\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4625\n  condition: selection\nlevel: low\n";
const SUCCESS: &str = "title: Successful logon\nid: 10000000-0000-0000-0000-000000000002\nname: successful_logon\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4624\n  condition: selection\nlevel: low\n";

fn load(text: &str) -> (SigmaEngine, seawall_sigma::LoadReport) {
    SigmaEngine::load(
        &[RuleText { origin: "rules.yml".into(), text: text.to_owned() }],
        Mappings::embedded().expect("mappings"),
    )
}

fn correlation(body: &str) -> String {
    format!(
        "{FAILED}---\n{SUCCESS}---\ntitle: The correlation\nid: 20000000-0000-0000-0000-000000000001\ncorrelation:\n{body}level: high\n"
    )
}

/// A Security event at `seconds` after 2024-01-01T00:00:00Z.
fn security(record: u64, event_id: u32, seconds: i64, data: &[(&str, &str)]) -> EvtxEvent {
    let time = jiff::Timestamp::from_second(1_704_067_200 + seconds).expect("time");
    let data: serde_json::Map<String, serde_json::Value> =
        data.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned()))).collect();
    let json = serde_json::json!({"Event": {
        "System": {"EventID": event_id, "Channel": "Security", "Computer": "EX01",
                   "TimeCreated_attributes": {"SystemTime": time.to_string()}},
        "EventData": data}});
    EvtxEvent::from_json(record, &json)
}

/// Feed events in the order given (one file), return the standalone hits and the report.
fn run(engine: &SigmaEngine, events: &[EvtxEvent]) -> (Vec<SigmaHit>, CorrelationReport) {
    let mut scratch = SigmaScratch::default();
    scratch.set_origin("Security.evtx");
    let mut hits = Vec::new();
    for event in events {
        engine.scan_evtx(event, &mut scratch, &mut hits);
    }
    (hits, engine.finish(scratch.take_correlation()))
}

fn failures(ip: &str, users: &[&str], start: i64, step: i64) -> Vec<EvtxEvent> {
    users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            security(i as u64 + 1, 4625, start + i as i64 * step, &[("TargetUserName", user), ("IpAddress", ip)])
        })
        .collect()
}

#[test]
fn event_count_fires_inside_the_timespan_only() {
    let rule = correlation(
        "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 5\n",
    );
    let (engine, report) = load(&rule);
    assert_eq!((report.loaded, report.correlations), (2, 1), "{:?}", report.unsupported);
    // Five failures a minute apart: inside 10 minutes.
    let (hits, found) = run(&engine, &failures("198.51.100.7", &["a"; 5], 0, 60));
    assert!(hits.is_empty(), "a rule the correlation names is no finding alone (generate: false)");
    assert_eq!(found.hits.len(), 1);
    let hit = &found.hits[0];
    assert_eq!(engine.rule(hit.rule).title, "The correlation");
    assert_eq!(hit.count, 5);
    assert_eq!(hit.group, vec![("IpAddress".to_owned(), Some("198.51.100.7".to_owned()))]);
    assert_eq!(hit.first.as_second(), 1_704_067_200);
    assert_eq!(hit.last.as_second(), 1_704_067_200 + 240);
    assert_eq!(hit.samples.len(), 5);
    assert_eq!(hit.samples[0].origin, "Security.evtx");
    assert_eq!(hit.samples[0].record, Some(1));
    // Near miss: the same five, three minutes apart (12 minutes end to end).
    let (_, found) = run(&engine, &failures("198.51.100.7", &["a"; 5], 0, 180));
    assert!(found.hits.is_empty(), "{:?}", found.hits);
    // Near miss: five failures from five addresses.
    let spread: Vec<EvtxEvent> = (0..5)
        .map(|i| security(i + 1, 4625, i as i64, &[("TargetUserName", "a"), ("IpAddress", &format!("10.0.0.{i}"))]))
        .collect();
    assert!(run(&engine, &spread).1.hits.is_empty());
}

#[test]
fn overlapping_windows_fold_into_one_finding_and_distant_bursts_stay_two() {
    let rule = correlation(
        "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 5\n",
    );
    let (engine, _) = load(&rule);
    // 40 failures a minute apart, then 6 more a day later.
    let mut events = failures("198.51.100.7", &["a"; 40], 0, 60);
    events.extend(failures("198.51.100.7", &["a"; 6], 86_400, 10));
    let (_, found) = run(&engine, &events);
    assert_eq!(found.hits.iter().map(|h| h.count).collect::<Vec<_>>(), vec![40, 6]);
    assert_eq!(found.hits[0].samples.len(), 5, "first three and last two");
    assert_eq!(found.hits[0].samples[4].time.as_second(), 1_704_067_200 + 39 * 60);
}

#[test]
fn value_count_counts_distinct_values_per_group() {
    let rule = correlation(
        "  type: value_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 1h\n  condition:\n    field: TargetUserName\n    gt: 3\n",
    );
    let (engine, report) = load(&rule);
    assert_eq!((report.loaded, report.correlations), (2, 1), "{:?}", report.unsupported);
    let (_, found) = run(&engine, &failures("203.0.113.9", &["ann", "bob", "cid", "dan"], 0, 30));
    assert_eq!(found.hits.len(), 1);
    assert_eq!(found.hits[0].distinct_values, Some(4));
    assert_eq!(found.hits[0].values, vec!["ann", "bob", "cid", "dan"]);
    // Near miss: one user mistyping many times is one value.
    let (_, found) = run(&engine, &failures("203.0.113.9", &["ann"; 20], 0, 30));
    assert!(found.hits.is_empty());
}

#[test]
fn temporal_needs_every_rule_of_the_group_in_the_window() {
    let rule = correlation(
        "  type: temporal\n  rules:\n    - failed_logon\n    - successful_logon\n  group-by:\n    - TargetUserName\n  timespan: 5m\n",
    );
    let (engine, report) = load(&rule);
    assert_eq!((report.loaded, report.correlations), (2, 1), "{:?}", report.unsupported);
    let fail = security(1, 4625, 0, &[("TargetUserName", "ann")]);
    let ok = security(2, 4624, 60, &[("TargetUserName", "ann")]);
    let (_, found) = run(&engine, &[ok.clone(), fail.clone()]);
    assert_eq!(found.hits.len(), 1, "any order");
    assert_eq!(found.hits[0].rules.len(), 2);
    // Near misses: another user's success; a success an hour later.
    let other = security(2, 4624, 60, &[("TargetUserName", "bob")]);
    assert!(run(&engine, &[fail.clone(), other]).1.hits.is_empty());
    let late = security(2, 4624, 3_600, &[("TargetUserName", "ann")]);
    assert!(run(&engine, &[fail, late]).1.hits.is_empty());
}

#[test]
fn temporal_ordered_needs_the_listed_order() {
    let rule = correlation(
        "  type: temporal_ordered\n  rules:\n    - failed_logon\n    - successful_logon\n  group-by:\n    - TargetUserName\n  timespan: 5m\n",
    );
    let (engine, _) = load(&rule);
    let fail = security(1, 4625, 0, &[("TargetUserName", "ann")]);
    let ok_after = security(2, 4624, 60, &[("TargetUserName", "ann")]);
    // Arrival order does not matter, event time does.
    assert_eq!(run(&engine, &[ok_after, fail.clone()]).1.hits.len(), 1);
    let ok_before = security(2, 4624, -60, &[("TargetUserName", "ann")]);
    assert!(run(&engine, &[fail, ok_before]).1.hits.is_empty(), "success before the failure");
}

#[test]
fn aliases_group_different_fields_of_different_rules() {
    let rule = correlation(
        "  type: temporal\n  rules:\n    - failed_logon\n    - successful_logon\n  group-by:\n    - host\n  timespan: 5m\n  aliases:\n    host:\n      failed_logon: WorkstationName\n      successful_logon: IpAddress\n",
    );
    let (engine, report) = load(&rule);
    assert_eq!((report.loaded, report.correlations), (2, 1), "{:?}", report.unsupported);
    let fail = security(1, 4625, 0, &[("WorkstationName", "10.1.1.1")]);
    let ok = security(2, 4624, 10, &[("IpAddress", "10.1.1.1")]);
    let found = run(&engine, &[fail.clone(), ok]).1;
    assert_eq!(found.hits.len(), 1);
    assert_eq!(found.hits[0].group, vec![("host".to_owned(), Some("10.1.1.1".to_owned()))]);
    let elsewhere = security(2, 4624, 10, &[("IpAddress", "10.9.9.9")]);
    assert!(run(&engine, &[fail, elsewhere]).1.hits.is_empty());
}

#[test]
fn generate_true_keeps_the_correlated_rules_as_findings() {
    let rule = correlation(
        "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 2\n  generate: true\n",
    );
    let (engine, _) = load(&rule);
    let (hits, found) = run(&engine, &failures("198.51.100.7", &["a", "b"], 0, 1));
    assert_eq!(hits.len(), 2);
    assert_eq!(found.hits.len(), 1);
}

#[test]
fn legacy_aggregation_runs_with_its_timeframe() {
    let rule = "title: Many users from one address\nid: 30000000-0000-0000-0000-000000000001\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4625\n  filter:\n    TargetUserName|endswith: '$'\n  timeframe: 10m\n  condition: selection and not filter | count(TargetUserName) by IpAddress > 2\nlevel: medium\n";
    let (engine, report) = load(rule);
    assert_eq!((report.loaded, report.correlations), (0, 1), "{:?}", report.unsupported);
    let info = engine.rules().find(|r| r.id == "30000000-0000-0000-0000-000000000001").expect("loaded");
    assert!(info.standalone);
    let (hits, found) = run(&engine, &failures("192.0.2.1", &["ann", "bob", "cid"], 0, 60));
    assert!(hits.is_empty(), "the counted events are no finding alone");
    assert_eq!(found.hits.len(), 1);
    assert_eq!(engine.rule(found.hits[0].rule).id, "30000000-0000-0000-0000-000000000001");
    // Near misses: the filter (computer accounts) and the timeframe.
    assert!(run(&engine, &failures("192.0.2.1", &["ann", "bob", "EX01$"], 0, 60)).1.hits.is_empty());
    assert!(run(&engine, &failures("192.0.2.1", &["ann", "bob", "cid"], 0, 400)).1.hits.is_empty());
}

#[test]
fn what_is_not_run_is_listed_with_a_reason() {
    let cases = [
        (
            "  type: value_sum\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    field: Bytes\n    gte: 5\n",
            "value_sum",
        ),
        (
            "  type: event_count\n  rules:\n    - no_such_rule\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 5\n",
            "no_such_rule",
        ),
        (
            "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 5\n  window: tumbling\n",
            "tumbling",
        ),
    ];
    for (body, reason) in cases {
        let (_, report) = load(&correlation(body));
        let refused: Vec<_> = report.unsupported.iter().filter(|u| u.kind == UnsupportedKind::Correlation).collect();
        assert_eq!(refused.len(), 1, "{body}: {:?}", report.unsupported);
        assert!(refused[0].reason.contains(reason), "{}", refused[0].reason);
        assert_eq!((report.loaded, report.correlations), (2, 0), "the detection rules still run");
    }
    // A chained correlation whose group-by the inner one does not have is listed.
    let chained = format!(
        "{}---\ntitle: Chained\nid: 20000000-0000-0000-0000-000000000002\ncorrelation:\n  type: temporal_ordered\n  rules:\n    - 20000000-0000-0000-0000-000000000001\n    - successful_logon\n  group-by:\n    - TargetUserName\n  timespan: 1h\n",
        correlation(
            "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 5\n"
        )
    );
    let (_, report) = load(&chained);
    assert!(
        report.unsupported.iter().any(|u| u.reason.contains("group-by TargetUserName is not a group-by")),
        "{:?}",
        report.unsupported
    );
    // A v1 aggregation other than count() is listed as an aggregation.
    let sum = "title: Sum\nid: 30000000-0000-0000-0000-000000000002\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4625\n  condition: selection | sum(Bytes) by IpAddress > 2\n";
    let (_, report) = load(sum);
    assert_eq!(report.unsupported.len(), 1);
    assert_eq!(report.unsupported[0].kind, UnsupportedKind::Aggregation);
    assert!(report.unsupported[0].reason.contains("sum"), "{}", report.unsupported[0].reason);
}

#[test]
fn the_order_files_are_read_in_changes_nothing() {
    let rule = correlation(
        "  type: value_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 1h\n  condition:\n    field: TargetUserName\n    gte: 10\n",
    );
    let (engine, _) = load(&rule);
    let users: Vec<String> = (0..30).map(|i| format!("user{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let events = failures("198.51.100.7", &names, 0, 20);
    let (_, whole) = run(&engine, &events);
    // Two "files" read in parallel, the later one finished first.
    let (early, late) = events.split_at(13);
    let mut states = Vec::new();
    for (part, origin) in [(late, "b.evtx"), (early, "a.evtx")] {
        let mut scratch = SigmaScratch::default();
        scratch.set_origin(origin);
        let mut hits = Vec::new();
        for event in part {
            engine.scan_evtx(event, &mut scratch, &mut hits);
        }
        states.push(scratch.take_correlation());
    }
    let mut merged = CorrelationState::default();
    for state in states {
        engine.merge(&mut merged, state);
    }
    let split = engine.finish(merged);
    assert_eq!(split.hits.len(), 1);
    assert_eq!(
        (split.hits[0].count, split.hits[0].distinct_values),
        (whole.hits[0].count, whole.hits[0].distinct_values)
    );
    assert_eq!(split.hits[0].first, whole.hits[0].first);
    assert_eq!(split.hits[0].samples[0].origin, "a.evtx");
    assert_eq!(split.hits[0].samples[4].origin, "b.evtx");
}

#[test]
fn memory_is_bounded_and_what_is_left_out_is_counted() {
    let rule = correlation(
        "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 1m\n  condition:\n    gte: 3\n",
    );
    let (engine, _) = load(&rule);
    let mut scratch = SigmaScratch::default();
    let mut hits = Vec::new();
    // One address failing once a second for three hours: compacted, never more than the bound.
    let per_group = seawall_sigma::correlation::MAX_EVENTS_PER_GROUP as u64;
    let total = 3 * 3_600u64;
    for i in 0..total {
        let event = security(i + 1, 4625, i as i64, &[("IpAddress", "198.51.100.7")]);
        engine.scan_evtx(&event, &mut scratch, &mut hits);
    }
    let state = scratch.take_correlation();
    assert!(state.stats().compactions >= total / per_group, "{:?}", state.stats());
    let found = engine.finish(state);
    assert_eq!(found.stats.dropped_events, 0, "{:?}", found.stats);
    assert_eq!(found.hits.len(), 1, "one continuous burst");
    assert_eq!(found.hits[0].count, total, "every failure counted once across compactions");
    // The bound on open groups and the eviction of stale groups: src/correlation/state.rs tests.
}

#[test]
fn events_without_a_time_are_counted_not_windowed() {
    let rule = correlation(
        "  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 10m\n  condition:\n    gte: 1\n",
    );
    let (engine, _) = load(&rule);
    let json = serde_json::json!({"Event": {"System": {"EventID": 4625, "Channel": "Security"}, "EventData": {"IpAddress": "1.2.3.4"}}});
    let (_, found) = run(&engine, &[EvtxEvent::from_json(1, &json)]);
    assert!(found.hits.is_empty());
    assert_eq!((found.stats.observed, found.stats.untimed), (1, 1));
}

#[test]
fn chained_correlations_follow_the_specification_example() {
    // "Failed Logins Followed by Successful Login" from the correlation specification: the
    // outer rule comes first and names an event_count correlation defined after it.
    let rules = format!(
        "title: Failed logons followed by a successful logon\nid: 40000000-0000-0000-0000-000000000001\ncorrelation:\n  type: temporal_ordered\n  rules:\n    - multiple_failed_logon\n    - successful_logon\n  group-by:\n    - TargetUserName\n  timespan: 10m\nlevel: high\n---\ntitle: Multiple failed logons\nid: 40000000-0000-0000-0000-000000000002\nname: multiple_failed_logon\ncorrelation:\n  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - TargetUserName\n  timespan: 10m\n  condition:\n    gte: 3\n---\n{FAILED}---\n{SUCCESS}"
    );
    let (engine, report) = load(&rules);
    assert_eq!((report.loaded, report.correlations), (2, 2), "{:?}", report.unsupported);
    let user = |record, id, second| security(record, id, second, &[("TargetUserName", "ann")]);
    // Three failures, then the success: the outer correlation only (the inner one feeds it).
    let (hits, found) = run(&engine, &[user(1, 4625, 0), user(2, 4625, 10), user(3, 4625, 20), user(4, 4624, 30)]);
    assert!(hits.is_empty());
    let titles: Vec<&str> = found.hits.iter().map(|h| engine.rule(h.rule).title.as_str()).collect();
    assert_eq!(titles, vec!["Failed logons followed by a successful logon"]);
    assert_eq!(found.hits[0].group, vec![("TargetUserName".to_owned(), Some("ann".to_owned()))]);
    // Near misses: two failures only; the success before the failures.
    let (_, found) = run(&engine, &[user(1, 4625, 0), user(2, 4625, 10), user(4, 4624, 30)]);
    assert!(found.hits.is_empty(), "{:?}", found.hits);
    let (_, found) = run(&engine, &[user(4, 4624, 0), user(1, 4625, 10), user(2, 4625, 20), user(3, 4625, 30)]);
    assert!(found.hits.is_empty(), "{:?}", found.hits);
    // A cycle is listed, not looped on.
    let cycle = format!(
        "title: A\nid: 50000000-0000-0000-0000-000000000001\nname: a\ncorrelation:\n  type: temporal\n  rules:\n    - b\n    - failed_logon\n  group-by:\n    - TargetUserName\n  timespan: 10m\n---\ntitle: B\nid: 50000000-0000-0000-0000-000000000002\nname: b\ncorrelation:\n  type: temporal\n  rules:\n    - a\n    - failed_logon\n  group-by:\n    - TargetUserName\n  timespan: 10m\n---\n{FAILED}"
    );
    let (_, report) = load(&cycle);
    assert_eq!(report.unsupported.len(), 2, "{:?}", report.unsupported);
    assert!(report.unsupported.iter().all(|u| u.reason.contains("cycle")), "{:?}", report.unsupported);
}

#[test]
fn scratches_dropped_at_the_end_of_files_hand_their_matches_to_the_run() {
    let rule = correlation(
        "  type: value_count\n  rules:\n    - failed_logon\n  group-by:\n    - IpAddress\n  timespan: 1h\n  condition:\n    field: TargetUserName\n    gte: 8\n",
    );
    let (engine, _) = load(&rule);
    let users: Vec<String> = (0..12).map(|i| format!("user{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let events = failures("198.51.100.7", &names, 0, 5);
    // Three "files" read on three threads; nobody takes the scratches' state.
    std::thread::scope(|scope| {
        for (n, part) in events.chunks(4).enumerate() {
            let engine = &engine;
            scope.spawn(move || {
                let mut scratch = SigmaScratch::default();
                scratch.set_origin(&format!("part{n}.evtx"));
                let mut hits = Vec::new();
                for event in part {
                    engine.scan_evtx(event, &mut scratch, &mut hits);
                }
            });
        }
    });
    let found = engine.finish_run();
    assert_eq!(found.hits.len(), 1);
    assert_eq!(found.hits[0].distinct_values, Some(12));
    assert_eq!(found.stats.observed, 12);
    assert!(engine.finish_run().hits.is_empty(), "the run state is emptied");
}

#[test]
fn aggregations_run_over_web_logs_with_line_references() {
    use seawall_sigma::SigmaRecord;
    use seawall_sources::w3c::{W3cRecord, W3cSchema};
    let rule = "title: Many probes from one address\nid: 60000000-0000-0000-0000-000000000001\nlogsource:\n  category: webserver\ndetection:\n  selection:\n    sc-status: 404\n  timeframe: 1m\n  condition: selection | count() by c-ip >= 3\nlevel: low\n";
    let (engine, report) = load(rule);
    assert_eq!(report.correlations, 1, "{:?}", report.unsupported);
    let schema = W3cSchema::parse("date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status");
    let lines = [
        "2024-03-05 02:00:00 GET /owa/x.aspx - 203.0.113.9 zgrab 404",
        "2024-03-05 02:00:10 GET /ecp/y.aspx - 203.0.113.9 zgrab 404",
        "2024-03-05 02:00:20 GET /owa/ - 10.0.0.8 Mozilla 200",
        "2024-03-05 02:00:30 GET /aspnet_client/z.aspx - 203.0.113.9 zgrab 404",
        "2024-03-05 02:05:00 GET /owa/a.aspx - 198.51.100.1 zgrab 404",
        "2024-03-05 02:07:00 GET /owa/b.aspx - 198.51.100.1 zgrab 404",
        "2024-03-05 02:09:00 GET /owa/c.aspx - 198.51.100.1 zgrab 404",
    ];
    let mut scratch = SigmaScratch::default();
    scratch.set_origin("u_ex240305.log");
    let mut hits = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let record = W3cRecord::new(&schema, line.as_bytes(), n as u64 + 2);
        if engine.prefilter("iis", [line.as_bytes()], &mut scratch) {
            engine.evaluate(SigmaRecord::Line(&record), &mut scratch, &mut hits);
        }
    }
    assert!(hits.is_empty());
    let found = engine.finish(scratch.take_correlation());
    // 203.0.113.9: three 404s in 30 s; 198.51.100.1: three 404s two minutes apart (near miss).
    assert_eq!(found.hits.len(), 1, "{:?}", found.hits);
    let hit = &found.hits[0];
    assert_eq!(hit.group, vec![("c-ip".to_owned(), Some("203.0.113.9".to_owned()))]);
    assert_eq!(hit.count, 3);
    let lines: Vec<Option<u64>> = hit.samples.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![Some(2), Some(3), Some(5)]);
}
