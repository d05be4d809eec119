use std::io::Write;

use seawall_model::{Finding, Record};

use crate::escape::csv_cell;
use crate::{FindingSink, SinkError};

/// The columns written, in order.
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

/// Findings and errors as CSV rows, every cell neutralised against formula
/// injection. Services, run_start and run_end are not table rows and are skipped.
#[derive(Debug)]
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        CsvSink { out: csv::Writer::from_writer(out), header_written: false }
    }

    fn row(&mut self, cells: [String; 13]) -> Result<(), SinkError> {
        if !self.header_written {
            self.out.write_record(COLUMNS).map_err(csv_error)?;
            self.header_written = true;
        }
        let safe: Vec<String> = cells.iter().map(|cell| csv_cell(cell).into_owned()).collect();
        self.out.write_record(&safe).map_err(csv_error)
    }
}

fn csv_error(error: csv::Error) -> SinkError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => SinkError::Io(io),
        other => SinkError::Encode(format!("{other:?}")),
    }
}

fn finding_cells(f: &Finding) -> [String; 13] {
    let evidence: Vec<String> = f.evidence.iter().map(|e| format!("{}: {}", e.source, e.display_text())).collect();
    [
        "finding".to_owned(),
        f.id.to_string(),
        f.severity.to_string(),
        f.confidence.to_string(),
        f.rule.id.clone(),
        f.rule.title.clone(),
        serde_json::to_value(f.rule.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        f.location.key(),
        f.time.clone().unwrap_or_default(),
        f.cves.join(" "),
        f.actors.join(" "),
        evidence.join(" | "),
        f.remediation.clone().unwrap_or_default(),
    ]
}

impl<W: Write> FindingSink for CsvSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        match record {
            Record::Finding(finding) => self.row(finding_cells(finding)),
            Record::Error(error) => {
                let location = match &error.position {
                    Some(position) => format!("{} {position}", error.source),
                    None => error.source.clone(),
                };
                let mut cells: [String; 13] = Default::default();
                cells[0] = "error".to_owned();
                cells[5] = error.message.clone();
                cells[7] = location;
                self.row(cells)
            }
            Record::RunStart(_) | Record::Service(_) | Record::RunEnd(_) => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}
