//! `seawall report`: JSONL results in, one HTML report out. Records stream from the inputs
//! into the report's sink, which keeps its own bounded summary.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

use anyhow::{Context, Result};
use seawall_model::{ErrorRecord, Record};
use seawall_report::jsonl_reader::{BadLines, JsonlReader};
use seawall_report::{FindingSink, HtmlSink};
use seawall_store as store;

pub(crate) fn run(args: &crate::cli::ReportArgs) -> Result<ExitCode> {
    let out = File::create(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    let mut sink = HtmlSink::new(BufWriter::new(out), args.title.clone());
    let mut any_bad = false;
    if let (Some(location), Some(run)) = (&args.store, &args.run) {
        let shown = store::redact_location(location);
        let mut db = store::open(location).with_context(|| format!("opening the store {shown}"))?;
        let results = store::load_run(db.as_mut(), run).with_context(|| format!("reading run {run} from {shown}"))?;
        for record in results.records() {
            sink.record(&record)?;
        }
    }
    for path in &args.inputs {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let source = path.display().to_string();
        let mut reader = JsonlReader::new(BufReader::new(file));
        let mut bad = BadLines::default();
        while let Some(item) = reader.next_record().with_context(|| format!("reading {source}"))? {
            match item {
                Ok(record) => sink.record(&record)?,
                Err(line) => bad.push(line),
            }
        }
        any_bad |= !bad.is_empty();
        for line in &bad.listed {
            sink.record(&Record::Error(ErrorRecord {
                source: source.clone(),
                message: match line {
                    seawall_report::jsonl_reader::BadLine::TooLong { limit, .. } => {
                        format!("line longer than {limit} bytes: skipped")
                    }
                    seawall_report::jsonl_reader::BadLine::NotARecord { reason, .. } => {
                        format!("not a seawall record: {reason}")
                    }
                },
                position: Some(format!("line {}", line.line())),
            }))?;
        }
        let unlisted = bad.count - bad.listed.len() as u64;
        if unlisted > 0 {
            sink.record(&Record::Error(ErrorRecord {
                source: source.clone(),
                message: format!("{unlisted} more lines that are not seawall records, not listed one by one"),
                position: None,
            }))?;
        }
    }
    sink.finish()?;
    Ok(if any_bad { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
