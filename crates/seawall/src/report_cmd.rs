//! `seawall report`: JSONL results in, one HTML report out.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read};
use std::process::ExitCode;

use anyhow::{Context, Result};
use seawall_model::{ErrorRecord, Record};
use seawall_report::{FindingSink, HtmlSink};
use seawall_store as store;

/// Longest JSONL line read; longer ones are reported and skipped.
const MAX_LINE: u64 = 4 << 20;

pub(crate) fn run(args: &crate::cli::ReportArgs) -> Result<ExitCode> {
    let mut records = Vec::new();
    let mut bad = 0u64;
    if let (Some(location), Some(run)) = (&args.store, &args.run) {
        let shown = store::redact_location(location);
        let mut db = store::open(location).with_context(|| format!("opening the store {shown}"))?;
        let results = store::load_run(db.as_mut(), run).with_context(|| format!("reading run {run} from {shown}"))?;
        records.extend(results.records());
    }
    for path in &args.inputs {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let mut number = 0u64;
        loop {
            let mut line = Vec::new();
            let read = (&mut reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .with_context(|| format!("reading {}", path.display()))?;
            if read == 0 {
                break;
            }
            number += 1;
            let too_long = read as u64 == MAX_LINE && line.last() != Some(&b'\n');
            if too_long {
                // Skip the rest of the oversized line.
                let mut rest = Vec::new();
                reader.read_until(b'\n', &mut rest)?;
            }
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            match Record::from_json_line(text.trim()) {
                Ok(record) if !too_long => records.push(record),
                Ok(_) | Err(_) => {
                    bad += 1;
                    records.push(Record::Error(ErrorRecord {
                        source: path.display().to_string(),
                        message: if too_long { "line too long".into() } else { "not a seawall record".into() },
                        position: Some(format!("line {number}")),
                    }));
                }
            }
        }
    }
    let out = File::create(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    let mut sink = HtmlSink::new(BufWriter::new(out), args.title.clone());
    for record in &records {
        sink.record(record)?;
    }
    sink.finish()?;
    Ok(if bad > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
