//! The one writer of a run's records: picks the sink, counts what passes, closes with `run_end`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::ValueEnum;
use seawall_model::{Record, RunEnd, RunStart, Severity};
use seawall_report::{CsvProfile, CsvSink, FindingSink, HtmlSink, JsonlSink, TextSink, TimesketchSink};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Jsonl,
    Csv,
    /// One self-contained HTML report, written when the run ends.
    Html,
    /// A Timesketch timeline (JSONL with message, datetime, timestamp_desc): one event per finding.
    Timesketch,
}

/// Where records go and what has gone there.
pub(crate) struct Output {
    sink: Box<dyn FindingSink>,
    pub(crate) end: RunEnd,
    started: Instant,
    worst: Option<Severity>,
}

impl Output {
    /// `format` defaults to text on a terminal and JSONL elsewhere.
    pub(crate) fn open(format: Option<Format>, path: Option<&Path>, csv_profile: &str) -> Result<Output> {
        let to_terminal = path.is_none() && io::stdout().is_terminal();
        let format = format.unwrap_or(if to_terminal { Format::Text } else { Format::Jsonl });
        let writer: Box<dyn Write> = match path {
            Some(path) => {
                Box::new(BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?))
            }
            None => Box::new(BufWriter::new(io::stdout())),
        };
        let sink: Box<dyn FindingSink> = match format {
            Format::Text => Box::new(TextSink::new(writer)),
            Format::Jsonl => Box::new(JsonlSink::new(writer)),
            Format::Csv => Box::new(CsvSink::with_profile(writer, &CsvProfile::named(csv_profile)?)),
            Format::Html => Box::new(HtmlSink::new(writer, "seawall report")),
            Format::Timesketch => Box::new(TimesketchSink::new(writer)),
        };
        Ok(Output { sink, end: RunEnd::default(), started: Instant::now(), worst: None })
    }

    pub(crate) fn start(&mut self, command: &str, kb: &str) -> Result<()> {
        let start = RunStart {
            tool: "seawall".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: command.into(),
            started: jiff::Timestamp::now().to_string(),
            kb: Some(kb.into()),
        };
        self.write(&Record::RunStart(start))
    }

    pub(crate) fn write(&mut self, record: &Record) -> Result<()> {
        match record {
            Record::Finding(finding) => {
                self.end.count_finding(finding.severity);
                self.worst = self.worst.max(Some(finding.severity));
            }
            Record::Service(_) => *self.end.services.get_or_insert(0) += 1,
            Record::Error(_) => self.end.errors += 1,
            Record::RunStart(_) | Record::RunEnd(_) => {}
        }
        self.sink.record(record)?;
        Ok(())
    }

    /// Write `run_end` and flush; returns the worst severity seen.
    pub(crate) fn finish(mut self) -> Result<Option<Severity>> {
        self.end.duration_ms = self.started.elapsed().as_millis() as u64;
        let end = Record::RunEnd(self.end.clone());
        self.sink.record(&end)?;
        self.sink.finish()?;
        Ok(self.worst)
    }
}
