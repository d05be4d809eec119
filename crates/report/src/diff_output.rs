//! A [`Diff`] as text for a person or as JSONL for a pipeline (`docs/output-format.md`, "diff").

use std::collections::BTreeMap;
use std::io::Write;

use seawall_model::{ENVELOPE_VERSION, Severity};
use serde::Serialize;

use crate::SinkError;
use crate::diff::{Change, Diff, DiffEntry};
use crate::escape::terminal;

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    v: u32,
    data: T,
}

#[derive(Serialize)]
struct DiffEnd<'a> {
    a: &'a str,
    b: &'a str,
    counts: BTreeMap<&'static str, usize>,
}

fn line<T: Serialize>(out: &mut dyn Write, kind: &str, data: T) -> Result<(), SinkError> {
    serde_json::to_writer(&mut *out, &Envelope { kind, v: ENVELOPE_VERSION, data })
        .map_err(|e| SinkError::Encode(e.to_string()))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// One `diff` line per change, then one `diff_end` line with both runs and the counts.
pub fn write_jsonl(diff: &Diff, out: &mut dyn Write) -> Result<(), SinkError> {
    for entry in &diff.entries {
        line(out, "diff", entry)?;
    }
    let counts = Change::ALL.iter().map(|c| (c.as_str(), diff.count(*c))).collect();
    line(out, "diff_end", DiffEnd { a: &diff.a, b: &diff.b, counts })?;
    out.flush()?;
    Ok(())
}

fn severity_tag(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "low",
        Severity::Info => "info",
    }
}

fn marker(change: Change) -> char {
    match change {
        Change::NewlyExposed | Change::NewlyVulnerable => '+',
        Change::NewlyCompromised => '!',
        Change::Fixed | Change::Gone => '-',
    }
}

fn entry_text(entry: &DiffEntry) -> String {
    let location = terminal(&entry.location);
    let mark = marker(entry.change);
    if let Some(finding) = &entry.finding {
        let mut text = format!(
            "  {mark} {location}  [{}] {}  {}",
            severity_tag(finding.severity),
            terminal(&finding.rule.id),
            terminal(&finding.rule.title)
        );
        if !finding.cves.is_empty() {
            text.push_str(&format!("\n      cves  {}", terminal(&finding.cves.join(" "))));
        }
        return text;
    }
    let Some(service) = &entry.service else { return format!("  {mark} {location}") };
    let product = service.product.as_deref().unwrap_or("unknown");
    let version = service.version_name.as_deref().or(service.version.as_deref()).unwrap_or("");
    format!("  {mark} {location}  {}  {} {}", terminal(&service.protocol), terminal(product), terminal(version))
        .trim_end()
        .to_owned()
}

/// Headings per kind of change with their entries; a summary line last.
pub fn write_text(diff: &Diff, out: &mut dyn Write) -> Result<(), SinkError> {
    writeln!(out, "seawall diff  A: {}  ->  B: {}", terminal(&diff.a), terminal(&diff.b))?;
    for change in Change::ALL {
        let entries: Vec<&DiffEntry> = diff.entries.iter().filter(|e| e.change == change).collect();
        if entries.is_empty() {
            writeln!(out, "{}: none", change.title())?;
            continue;
        }
        writeln!(out, "{} ({})", change.title(), entries.len())?;
        for entry in entries {
            writeln!(out, "{}", entry_text(entry))?;
        }
    }
    let summary: Vec<String> = Change::ALL.iter().map(|c| format!("{} {}", diff.count(*c), c.title())).collect();
    writeln!(out, "summary: {}", summary.join(", "))?;
    out.flush()?;
    Ok(())
}
