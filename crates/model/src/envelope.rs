use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ErrorRecord, Finding, RunEnd, RunStart, Service};

/// The version written in every envelope's `v`.
pub const ENVELOPE_VERSION: u32 = 1;

/// One line of seawall's JSONL output.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    RunStart(RunStart),
    Service(Service),
    Finding(Finding),
    Error(ErrorRecord),
    RunEnd(RunEnd),
}

impl Record {
    pub fn type_name(&self) -> &'static str {
        match self {
            Record::RunStart(_) => "run_start",
            Record::Service(_) => "service",
            Record::Finding(_) => "finding",
            Record::Error(_) => "error",
            Record::RunEnd(_) => "run_end",
        }
    }

    /// Parse one JSONL line, rejecting envelopes of another version.
    pub fn from_json_line(line: &str) -> Result<Record, EnvelopeError> {
        serde_json::from_str(line).map_err(|e| EnvelopeError(e.to_string()))
    }
}

/// A line that is not a seawall envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError(pub String);

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a seawall record: {}", self.0)
    }
}

impl std::error::Error for EnvelopeError {}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Record", 3)?;
        s.serialize_field("type", self.type_name())?;
        s.serialize_field("v", &ENVELOPE_VERSION)?;
        match self {
            Record::RunStart(data) => s.serialize_field("data", data)?,
            Record::Service(data) => s.serialize_field("data", data)?,
            Record::Finding(data) => s.serialize_field("data", data)?,
            Record::Error(data) => s.serialize_field("data", data)?,
            Record::RunEnd(data) => s.serialize_field("data", data)?,
        }
        s.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            v: u32,
            data: serde_json::Value,
        }
        let raw = Raw::deserialize(deserializer)?;
        if raw.v != ENVELOPE_VERSION {
            return Err(D::Error::custom(format!(
                "envelope version {} (this seawall reads {ENVELOPE_VERSION})",
                raw.v
            )));
        }
        let data = raw.data;
        let record = match raw.kind.as_str() {
            "run_start" => Record::RunStart(serde_json::from_value(data).map_err(D::Error::custom)?),
            "service" => Record::Service(serde_json::from_value(data).map_err(D::Error::custom)?),
            "finding" => Record::Finding(serde_json::from_value(data).map_err(D::Error::custom)?),
            "error" => Record::Error(serde_json::from_value(data).map_err(D::Error::custom)?),
            "run_end" => Record::RunEnd(serde_json::from_value(data).map_err(D::Error::custom)?),
            other => return Err(D::Error::custom(format!("unknown record type {other:?}"))),
        };
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Confidence, Evidence, Location, RuleRef, RuleSource, Severity};

    fn finding() -> Finding {
        let mut f = Finding::new(
            RuleRef { id: "SW-KB-PROXYSHELL".into(), title: "ProxyShell open".into(), source: RuleSource::Kb },
            Severity::Critical,
            Confidence::High,
            Location::Host { host: "mail.example".into(), port: 443 },
            vec![Evidence::text("GET /owa/ header X-OWA-Version", "15.2.858.2")],
            &["15.2.858.2"],
        );
        f.cves = vec!["CVE-2021-34473".into()];
        f
    }

    #[test]
    fn envelope_has_type_version_and_data() {
        let json = serde_json::to_value(Record::Finding(finding())).unwrap_or_default();
        assert_eq!(json["type"], "finding");
        assert_eq!(json["v"], 1);
        assert_eq!(json["data"]["rule"]["source"], "kb");
        assert_eq!(json["data"]["severity"], "critical");
        assert_eq!(json["data"]["location"]["port"], 443);
    }

    #[test]
    fn records_round_trip_through_a_json_line() {
        let records = vec![
            Record::Finding(finding()),
            Record::Error(ErrorRecord {
                source: "x.log".into(),
                message: "bad".into(),
                position: Some("line 3".into()),
            }),
            Record::RunEnd(RunEnd { errors: 1, duration_ms: 5, ..RunEnd::default() }),
        ];
        for record in records {
            let line = serde_json::to_string(&record).unwrap_or_default();
            assert_eq!(Record::from_json_line(&line), Ok(record));
        }
    }

    #[test]
    fn other_versions_and_types_are_rejected() {
        assert!(Record::from_json_line(r#"{"type":"error","v":2,"data":{"source":"a","message":"b"}}"#).is_err());
        assert!(Record::from_json_line(r#"{"type":"alert","v":1,"data":{}}"#).is_err());
    }
}
