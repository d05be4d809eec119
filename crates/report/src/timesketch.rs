//! Findings as a Timesketch timeline: one JSON object a line with the three fields
//! Timesketch requires of a JSONL import (`message`, `datetime` in ISO 8601,
//! `timestamp_desc`) plus `timestamp` (microseconds) and the finding's own fields,
//! flattened so each is a searchable attribute (`seawall_rule_id:SW-LOG-...`).
//!
//! Import: `timesketch_importer --host URL -u USER --sketch_id N --timeline_name NAME
//! findings.jsonl` (timesketch-import-client), or the web UI's upload dialog. The file
//! must end in `.jsonl`. Only findings become events: services and errors have no event
//! time of their own and stay in the other formats.

use std::io::Write;

use seawall_model::{Finding, Location, Record};
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::{FindingSink, SinkError};

/// Writes one Timesketch event per finding.
#[derive(Debug)]
pub struct TimesketchSink<W: Write> {
    out: W,
    /// When the run started: the time of findings whose evidence carries none.
    run_started: Option<String>,
}

impl<W: Write> TimesketchSink<W> {
    pub fn new(out: W) -> Self {
        TimesketchSink { out, run_started: None }
    }
}

impl<W: Write> FindingSink for TimesketchSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        match record {
            Record::RunStart(start) => self.run_started = Some(start.started.clone()),
            Record::Finding(finding) => {
                let Some(event) = event(finding, self.run_started.as_deref()) else { return Ok(()) };
                serde_json::to_writer(&mut self.out, &event).map_err(|e| SinkError::Encode(e.to_string()))?;
                self.out.write_all(b"\n")?;
            }
            Record::Service(_) | Record::Error(_) | Record::RunEnd(_) => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}

/// The Timesketch event of one finding; `None` when neither the evidence nor the run has a time.
pub(crate) fn event(finding: &Finding, run_started: Option<&str>) -> Option<Value> {
    let (time, description) = match (&finding.time, run_started) {
        (Some(time), _) => (time.as_str(), "Event time"),
        (None, Some(started)) => (started, "Time seawall found it"),
        (None, None) => return None,
    };
    let timestamp: jiff::Timestamp = time.parse().ok()?;
    // Sorted keys whatever serde_json's features: the same findings give the same bytes.
    let mut event: BTreeMap<&str, Value> = BTreeMap::new();
    event.insert("message", json!(message(finding)));
    event.insert("datetime", json!(timestamp.to_string()));
    event.insert("timestamp", json!(timestamp.as_microsecond()));
    event.insert("timestamp_desc", json!(description));
    event.insert("seawall_id", json!(finding.id.to_string()));
    event.insert("seawall_rule_id", json!(finding.rule.id));
    event.insert("seawall_rule_title", json!(finding.rule.title));
    event.insert("seawall_rule_source", serde_json::to_value(finding.rule.source).ok()?);
    event.insert("severity", json!(finding.severity.as_str()));
    event.insert("confidence", json!(finding.confidence.as_str()));
    match &finding.location {
        Location::Host { host, port } => {
            event.insert("hostname", json!(host));
            event.insert("port", json!(port));
        }
        Location::File { path, line, record } => {
            event.insert("filename", json!(path));
            if let Some(line) = line {
                event.insert("line", json!(line));
            }
            if let Some(record) = record {
                event.insert("record_number", json!(record));
            }
        }
    }
    if let Some(outcome) = &finding.outcome {
        event.insert("outcome", json!(outcome));
    }
    if !finding.cves.is_empty() {
        event.insert("cves", json!(finding.cves.join(" ")));
    }
    if !finding.actors.is_empty() {
        event.insert("actors", json!(finding.actors.join(", ")));
    }
    let evidence: Vec<String> =
        finding.evidence.iter().map(|e| format!("{}: {}", e.source, e.display_text())).collect();
    if !evidence.is_empty() {
        event.insert("evidence", json!(evidence.join("\n")));
    }
    if let Some(remediation) = &finding.remediation {
        event.insert("remediation", json!(remediation));
    }
    event.insert("tag", json!(["seawall", finding.severity.as_str()]));
    serde_json::to_value(event).ok()
}

/// What the timeline row says at a glance: severity, rule, where, and the outcome.
fn message(finding: &Finding) -> String {
    let place = finding.location.key();
    let outcome = finding.outcome.as_deref().map(|o| format!(" ({o})")).unwrap_or_default();
    format!("[{}] {}{} at {}", finding.severity.as_str(), finding.rule.title, outcome, place)
}

#[cfg(test)]
mod tests {
    use seawall_model::{Confidence, Evidence, RuleRef, RuleSource, RunStart, Severity};

    use super::*;

    fn finding(time: Option<&str>) -> Finding {
        let mut finding = Finding::new(
            RuleRef { id: "SW-LOG-X".into(), title: "ProxyLogon SSRF".into(), source: RuleSource::Native },
            Severity::Critical,
            Confidence::High,
            Location::File { path: r"C:\inetpub\logs\u_ex1.log".into(), line: Some(7), record: None },
            vec![Evidence::text("line", "POST /ecp/y.js \u{202e}")],
            &[],
        );
        finding.time = time.map(str::to_string);
        finding.outcome = Some("success".into());
        finding.cves = vec!["CVE-2021-26855".into()];
        finding
    }

    fn lines(records: &[Record]) -> Vec<Value> {
        let mut sink = TimesketchSink::new(Vec::new());
        for record in records {
            sink.record(record).expect("record");
        }
        sink.finish().expect("finish");
        String::from_utf8(sink.out)
            .expect("utf8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }

    #[test]
    fn every_event_has_the_fields_timesketch_requires() {
        let events = lines(&[Record::Finding(finding(Some("2021-03-03T04:05:06Z")))]);
        assert_eq!(events.len(), 1);
        let event = &events[0];
        for required in ["message", "datetime", "timestamp_desc"] {
            assert!(event.get(required).and_then(Value::as_str).is_some_and(|v| !v.is_empty()), "{required}");
        }
        assert_eq!(event["datetime"], "2021-03-03T04:05:06Z");
        assert_eq!(event["timestamp"], 1_614_744_306_000_000i64);
        assert_eq!(event["timestamp_desc"], "Event time");
        assert_eq!(event["filename"], r"C:\inetpub\logs\u_ex1.log");
        assert_eq!(event["line"], 7);
        assert_eq!(event["cves"], "CVE-2021-26855");
        assert!(event["message"].as_str().is_some_and(|m| m.contains("ProxyLogon SSRF (success)")));
    }

    #[test]
    fn findings_without_event_time_take_the_run_start() {
        let start = RunStart {
            tool: "seawall".into(),
            version: "0".into(),
            command: "hunt".into(),
            started: "2026-12-06T10:00:00Z".into(),
            kb: None,
        };
        let events = lines(&[Record::RunStart(start), Record::Finding(finding(None))]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["timestamp_desc"], "Time seawall found it");
        assert_eq!(events[0]["datetime"], "2026-12-06T10:00:00Z");
        assert!(lines(&[Record::Finding(finding(None))]).is_empty(), "no time at all: no event");
    }
}
