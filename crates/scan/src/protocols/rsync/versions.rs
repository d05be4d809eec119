//! The rsync greeting → version range → CVE exposure table of
//! `data/probes/rsync-versions.toml`.

use std::sync::OnceLock;

use seawall_model::{Confidence, Severity};
use serde::Deserialize;

use super::Greeting;
use crate::data::DataError;

const FILE: &str = "rsync-versions.toml";
const EMBEDDED: &str = include_str!("../../../../../data/probes/rsync-versions.toml");

/// One row of the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRow {
    #[serde(default)]
    pub protocol_min: Option<u32>,
    #[serde(default)]
    pub protocol_max: Option<u32>,
    /// `present`, `absent` or `any`.
    pub digests: String,
    #[serde(default)]
    pub version_min: Option<String>,
    #[serde(default)]
    pub version_max: Option<String>,
    pub label: String,
    pub cves: Vec<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub severity_with_open_module: Option<Severity>,
    #[serde(default)]
    pub confidence: Option<String>,
    pub note: String,
    pub sources: Vec<String>,
}

impl VersionRow {
    pub fn matches(&self, greeting: &Greeting) -> bool {
        let digests = match self.digests.as_str() {
            "present" => !greeting.digests.is_empty(),
            "absent" => greeting.digests.is_empty(),
            _ => true,
        };
        digests
            && self.protocol_min.is_none_or(|min| greeting.protocol >= min)
            && self.protocol_max.is_none_or(|max| greeting.protocol <= max)
    }

    pub fn confidence(&self) -> Confidence {
        match self.confidence.as_deref() {
            Some("high") => Confidence::High,
            Some("medium") => Confidence::Medium,
            _ => Confidence::Low,
        }
    }

    /// The severity of the exposure, given whether a module opens without a password.
    pub fn severity(&self, open_module: bool) -> Option<Severity> {
        if open_module { self.severity_with_open_module.or(self.severity) } else { self.severity }
    }

    /// The range as `service.facts.version_range` records it.
    pub fn range_json(&self) -> serde_json::Value {
        serde_json::json!({ "min": self.version_min, "max": self.version_max, "label": self.label })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionTable {
    pub row: Vec<VersionRow>,
}

impl VersionTable {
    pub fn embedded() -> Result<&'static VersionTable, DataError> {
        static PARSED: OnceLock<Result<VersionTable, DataError>> = OnceLock::new();
        PARSED.get_or_init(|| VersionTable::parse(EMBEDDED)).as_ref().map_err(Clone::clone)
    }

    pub fn parse(text: &str) -> Result<VersionTable, DataError> {
        let table: VersionTable = toml::from_str(text).map_err(|e| DataError::new(FILE, e.to_string()))?;
        for row in &table.row {
            if !matches!(row.digests.as_str(), "present" | "absent" | "any") {
                return Err(DataError::new(
                    FILE,
                    format!("row {:?}: digests must be present, absent or any", row.label),
                ));
            }
            if !row.cves.is_empty() && row.severity.is_none() {
                return Err(DataError::new(FILE, format!("row {:?} lists CVEs without a severity", row.label)));
            }
            if row.sources.is_empty() {
                return Err(DataError::new(FILE, format!("row {:?} cites no source", row.label)));
            }
        }
        Ok(table)
    }

    /// The first row that matches a greeting.
    pub fn lookup(&self, greeting: &Greeting) -> Option<&VersionRow> {
        self.row.iter().find(|row| row.matches(greeting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::rsync::parse_greeting;

    fn row(greeting: &str) -> &'static VersionRow {
        let table = VersionTable::embedded().expect("table parses");
        table.lookup(&parse_greeting(greeting).expect("greeting")).expect("a row")
    }

    #[test]
    fn protocol_to_range_as_issue_4_states() {
        assert_eq!(row("@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4").label, "3.4.0 or later");
        assert!(row("@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4").cves.is_empty());
        assert_eq!(row("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4").label, "3.2.7 to 3.3.0");
        assert_eq!(row("@RSYNCD: 31.0").label, "3.1.0 to 3.2.6");
        assert_eq!(row("@RSYNCD: 30.0").label, "3.0.x");
        assert_eq!(row("@RSYNCD: 29").label, "2.6.9 or older");
        assert_eq!(row("@RSYNCD: 33.0 sha512").label, "3.4.0 or later");
    }

    #[test]
    fn the_heap_overflow_needs_the_long_digests_of_3_2_7() {
        let new = row("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4");
        assert!(new.cves.iter().any(|c| c == "CVE-2024-12084"));
        assert_eq!(new.cves.len(), 6);
        assert_eq!(new.severity(true), Some(Severity::Critical));
        assert_eq!(new.severity(false), Some(Severity::High));
        assert_eq!(new.confidence(), Confidence::Low, "backports keep protocol 31");
        let old = row("@RSYNCD: 31.0");
        assert!(!old.cves.iter().any(|c| c == "CVE-2024-12084"));
        assert!(old.cves.iter().any(|c| c == "CVE-2024-12747"));
    }

    #[test]
    fn a_row_with_cves_needs_a_severity() {
        let text = "[[row]]\ndigests = \"any\"\nlabel = \"x\"\ncves = [\"CVE-1\"]\nnote = \"n\"\nsources = [\"s\"]\n";
        assert!(VersionTable::parse(text).is_err_and(|e| e.message.contains("without a severity")));
    }
}
