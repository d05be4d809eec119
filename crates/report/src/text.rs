use std::io::Write;

use seawall_model::{Record, Severity};

use crate::escape::terminal;
use crate::{FindingSink, SinkError};

/// Lines for a person at a terminal. Every string from the network or from
/// evidence goes through [`terminal`] first.
#[derive(Debug)]
pub struct TextSink<W: Write> {
    out: W,
}

impl<W: Write> TextSink<W> {
    pub fn new(out: W) -> Self {
        TextSink { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
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

impl<W: Write> FindingSink for TextSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        let out = &mut self.out;
        match record {
            Record::RunStart(start) => {
                writeln!(
                    out,
                    "seawall {} {} started {}",
                    terminal(&start.version),
                    terminal(&start.command),
                    terminal(&start.started)
                )?;
            }
            Record::Service(service) => {
                let not_exchange = service.facts.get("exchange").and_then(|v| v.as_bool()) == Some(false);
                let product =
                    service.product.as_deref().unwrap_or(if not_exchange { "not Exchange" } else { "unknown" });
                let version = service.version_name.as_deref().or(service.version.as_deref()).unwrap_or("");
                writeln!(
                    out,
                    "service  {}:{}  {}  {} {}",
                    terminal(&service.host),
                    service.port,
                    terminal(&service.protocol),
                    terminal(product),
                    terminal(version)
                )?;
            }
            Record::Finding(finding) => {
                writeln!(
                    out,
                    "[{}] {}  {}  {}",
                    severity_tag(finding.severity),
                    terminal(&finding.location.key()),
                    terminal(&finding.rule.id),
                    terminal(&finding.rule.title)
                )?;
                if let Some(time) = &finding.time {
                    writeln!(out, "    time      {}", terminal(time))?;
                }
                if !finding.cves.is_empty() {
                    writeln!(out, "    cves      {}", terminal(&finding.cves.join(" ")))?;
                }
                if !finding.actors.is_empty() {
                    writeln!(out, "    actors    {}", terminal(&finding.actors.join(", ")))?;
                }
                for evidence in &finding.evidence {
                    writeln!(
                        out,
                        "    evidence  {}: {}",
                        terminal(&evidence.source),
                        terminal(&evidence.display_text())
                    )?;
                }
                if let Some(remediation) = &finding.remediation {
                    writeln!(out, "    fix       {}", terminal(remediation))?;
                }
            }
            Record::Error(error) => match &error.position {
                Some(position) => writeln!(
                    out,
                    "error  {} ({}): {}",
                    terminal(&error.source),
                    terminal(position),
                    terminal(&error.message)
                )?,
                None => writeln!(out, "error  {}: {}", terminal(&error.source), terminal(&error.message))?,
            },
            Record::RunEnd(end) => {
                let total: u64 = end.findings.values().sum();
                let by_severity: Vec<String> = Severity::ALL
                    .iter()
                    .rev()
                    .filter_map(|s| end.findings.get(s).map(|n| format!("{n} {s}")))
                    .collect();
                writeln!(
                    out,
                    "done in {:.1}s: {total} findings ({}), {} errors",
                    end.duration_ms as f64 / 1000.0,
                    if by_severity.is_empty() { "none".to_owned() } else { by_severity.join(", ") },
                    end.errors
                )?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}
