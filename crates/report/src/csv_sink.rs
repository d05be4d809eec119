use std::io::Write;

use seawall_model::{ErrorRecord, Finding, Location, Record};

use crate::escape::csv_cell;
use crate::{FindingSink, SinkError};

const EMBEDDED_PROFILES: &str = include_str!("../../../data/report/csv-profiles.toml");

/// The columns of the `default` profile, in order.
pub const COLUMNS: [&str; 13] = [
    "type",
    "id",
    "severity",
    "confidence",
    "rule_id",
    "rule_title",
    "rule_source",
    "location",
    "time",
    "cves",
    "actors",
    "evidence",
    "remediation",
];

/// Every column a profile may name.
const KNOWN: [&str; 21] = [
    "type",
    "id",
    "severity",
    "confidence",
    "rule_id",
    "rule_title",
    "rule_source",
    "location",
    "host",
    "port",
    "path",
    "line",
    "record",
    "time",
    "outcome",
    "cves",
    "actors",
    "evidence",
    "remediation",
    "references",
    "message",
];

/// A named set of columns from `data/report/csv-profiles.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvProfile {
    pub name: String,
    pub description: String,
    pub columns: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    profile: Vec<CsvProfile>,
}

/// Why a CSV profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("csv-profiles.toml: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("csv-profiles.toml: profile {profile} names unknown column {column:?}")]
    UnknownColumn { profile: String, column: String },
    #[error("no CSV profile {name:?} (known: {})", known.join(", "))]
    NoSuchProfile { name: String, known: Vec<String> },
}

impl CsvProfile {
    /// The embedded profiles, each checked to name known columns only.
    pub fn embedded() -> Result<Vec<CsvProfile>, ProfileError> {
        let file: ProfileFile = toml::from_str(EMBEDDED_PROFILES)?;
        for profile in &file.profile {
            if let Some(bad) = profile.columns.iter().find(|c| !KNOWN.contains(&c.as_str())) {
                return Err(ProfileError::UnknownColumn { profile: profile.name.clone(), column: bad.clone() });
            }
        }
        Ok(file.profile)
    }

    pub fn named(name: &str) -> Result<CsvProfile, ProfileError> {
        let profiles = CsvProfile::embedded()?;
        let known: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
        profiles
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProfileError::NoSuchProfile { name: name.into(), known })
    }
}

/// Findings and errors as CSV rows, every cell neutralised against formula
/// injection. Services, run_start and run_end are not table rows and are skipped.
#[derive(Debug)]
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    columns: Vec<String>,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
    /// The `default` profile.
    pub fn new(out: W) -> Self {
        CsvSink::with_columns(out, COLUMNS.iter().map(|c| (*c).to_owned()).collect())
    }

    pub fn with_profile(out: W, profile: &CsvProfile) -> Self {
        CsvSink::with_columns(out, profile.columns.clone())
    }

    fn with_columns(out: W, columns: Vec<String>) -> Self {
        CsvSink { out: csv::Writer::from_writer(out), columns, header_written: false }
    }

    fn row(&mut self, cell: impl Fn(&str) -> String) -> Result<(), SinkError> {
        if !self.header_written {
            self.out.write_record(&self.columns).map_err(csv_error)?;
            self.header_written = true;
        }
        let safe: Vec<String> = self.columns.iter().map(|c| csv_cell(&cell(c)).into_owned()).collect();
        self.out.write_record(&safe).map_err(csv_error)
    }
}

fn csv_error(error: csv::Error) -> SinkError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => SinkError::Io(io),
        other => SinkError::Encode(format!("{other:?}")),
    }
}

fn finding_cell(f: &Finding, column: &str) -> String {
    let (host, port, path, line, record) = match &f.location {
        Location::Host { host, port } => (host.clone(), port.to_string(), String::new(), String::new(), String::new()),
        Location::File { path, line, record } => (
            String::new(),
            String::new(),
            path.clone(),
            line.map(|l| l.to_string()).unwrap_or_default(),
            record.map(|r| r.to_string()).unwrap_or_default(),
        ),
    };
    match column {
        "type" => "finding".to_owned(),
        "id" => f.id.to_string(),
        "severity" => f.severity.to_string(),
        "confidence" => f.confidence.to_string(),
        "rule_id" => f.rule.id.clone(),
        "rule_title" => f.rule.title.clone(),
        "rule_source" => {
            serde_json::to_value(f.rule.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
        "location" => f.location.key(),
        "host" => host,
        "port" => port,
        "path" => path,
        "line" => line,
        "record" => record,
        "time" => f.time.clone().unwrap_or_default(),
        "outcome" => f.outcome.clone().unwrap_or_default(),
        "cves" => f.cves.join(" "),
        "actors" => f.actors.join(" "),
        "evidence" => {
            let evidence: Vec<String> =
                f.evidence.iter().map(|e| format!("{}: {}", e.source, e.display_text())).collect();
            evidence.join(" | ")
        }
        "remediation" => f.remediation.clone().unwrap_or_default(),
        "references" => f.references.join(" "),
        _ => String::new(),
    }
}

fn error_cell(e: &ErrorRecord, column: &str) -> String {
    match column {
        "type" => "error".to_owned(),
        "rule_title" | "message" => e.message.clone(),
        "location" | "path" | "host" => match &e.position {
            Some(position) => format!("{} {position}", e.source),
            None => e.source.clone(),
        },
        _ => String::new(),
    }
}

impl<W: Write> FindingSink for CsvSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        match record {
            Record::Finding(finding) => self.row(|c| finding_cell(finding, c)),
            Record::Error(error) => self.row(|c| error_cell(error, c)),
            Record::RunStart(_) | Record::Service(_) | Record::RunEnd(_) => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}
