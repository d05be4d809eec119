use serde::{Deserialize, Serialize};

use crate::{Confidence, Evidence, FindingId, Severity};

/// Which engine a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSource {
    /// A seawall detection from `data/` or a code detector.
    Native,
    Sigma,
    Yara,
    Ioc,
    /// A network probe of `scan`.
    Probe,
    /// A verdict of the knowledge base (build → CVEs, end of support).
    Kb,
}

/// The rule that produced a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub source: RuleSource,
}

/// Where a finding was observed: a network service or a place in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Location {
    Host {
        host: String,
        port: u16,
    },
    File {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<u64>,
    },
}

impl Location {
    /// The text that identifies this place in a finding id.
    pub fn key(&self) -> String {
        match self {
            Location::Host { host, port } => format!("{host}:{port}"),
            Location::File { path, line, record } => match (line, record) {
                (Some(line), _) => format!("{path}:{line}"),
                (None, Some(record)) => format!("{path}#{record}"),
                (None, None) => path.clone(),
            },
        }
    }
}

/// One thing worth a person's attention, with the rule and evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: FindingId,
    pub rule: RuleRef,
    pub severity: Severity,
    pub confidence: Confidence,
    pub location: Location,
    /// Event time, RFC 3339 UTC, when the evidence carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// For exploitation findings: `attempt` or `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
    /// Known groups the traces point to, when an IOC or an attributed rule matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl Finding {
    /// A finding whose id is derived from the rule, the location and the key
    /// evidence texts (those that make two findings of one rule at one place differ).
    pub fn new(
        rule: RuleRef,
        severity: Severity,
        confidence: Confidence,
        location: Location,
        evidence: Vec<Evidence>,
        key_evidence: &[&str],
    ) -> Finding {
        let id = FindingId::derive(&rule.id, &location.key(), key_evidence);
        Finding {
            id,
            rule,
            severity,
            confidence,
            location,
            time: None,
            outcome: None,
            cves: Vec::new(),
            actors: Vec::new(),
            evidence,
            remediation: None,
            references: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleRef {
        RuleRef { id: "SW-EXCH-EOS".into(), title: "Exchange past end of support".into(), source: RuleSource::Kb }
    }

    #[test]
    fn id_depends_on_rule_location_and_key_evidence() {
        let here = Location::Host { host: "mail.example".into(), port: 443 };
        let there = Location::Host { host: "mail.example".into(), port: 8443 };
        let a = Finding::new(rule(), Severity::High, Confidence::High, here.clone(), vec![], &["15.1"]);
        let b = Finding::new(rule(), Severity::Low, Confidence::Low, here, vec![], &["15.1"]);
        let c = Finding::new(rule(), Severity::High, Confidence::High, there, vec![], &["15.1"]);
        assert_eq!(a.id, b.id, "severity is not part of identity");
        assert_ne!(a.id, c.id);
    }

    #[test]
    fn file_locations_serialize_with_line_or_record() {
        let line = Location::File { path: "/x/u.log".into(), line: Some(7), record: None };
        let rec = Location::File { path: "/x/a.evtx".into(), line: None, record: Some(42) };
        assert_eq!(serde_json::to_string(&line).ok().as_deref(), Some(r#"{"path":"/x/u.log","line":7}"#));
        assert_eq!(serde_json::to_string(&rec).ok().as_deref(), Some(r#"{"path":"/x/a.evtx","record":42}"#));
        assert_eq!(line.key(), "/x/u.log:7");
        assert_eq!(rec.key(), "/x/a.evtx#42");
    }

    #[test]
    fn host_location_round_trips() {
        let loc = Location::Host { host: "10.0.0.5".into(), port: 993 };
        let json = serde_json::to_string(&loc).unwrap_or_default();
        let back: Location =
            serde_json::from_str(&json).unwrap_or(Location::File { path: String::new(), line: None, record: None });
        assert_eq!(back, loc);
    }
}
