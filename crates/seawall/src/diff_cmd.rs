//! `seawall diff RUN_A RUN_B` and `seawall runs`: runs from a store or JSONL files in, the
//! changes (computed by crates/report) out.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use seawall_model::ENVELOPE_VERSION;
use seawall_report::diff::{self, Diff};
use seawall_report::escape::terminal;
use seawall_store::{self as store, ResultStore, RunResults};

use crate::cli::{DiffArgs, ListFormat, RunsArgs};

pub(crate) fn run_diff(args: &DiffArgs) -> Result<ExitCode> {
    let mut db: Option<Box<dyn ResultStore>> = None;
    let mut bad_lines = 0u64;
    let mut load = |name: &str| -> Result<RunResults> {
        let path = Path::new(name);
        if path.is_file() {
            let file = File::open(path).with_context(|| format!("opening {name}"))?;
            let (results, bad) =
                diff::read_jsonl(name, BufReader::new(file)).with_context(|| format!("reading {name}"))?;
            for line in &bad.listed {
                let _ = writeln!(io::stderr(), "seawall: {}: {}", terminal(name), terminal(&line.to_string()));
            }
            bad_lines += bad.count;
            return Ok(results);
        }
        let Some(location) = &args.store else {
            bail!("{name}: no such file, and no --store to find a run of that name or id in");
        };
        if db.is_none() {
            let shown = store::redact_location(location);
            db = Some(store::open(location).with_context(|| format!("opening the store {shown}"))?);
        }
        let Some(db) = db.as_mut() else { bail!("the store is not open") };
        Ok(store::load_run(db.as_mut(), name)?)
    };
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    let diff = Diff::between(&a, &b);
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?))
        }
        None => Box::new(BufWriter::new(io::stdout())),
    };
    match args.format.unwrap_or(if to_terminal { ListFormat::Text } else { ListFormat::Jsonl }) {
        ListFormat::Text => diff::write_text(&diff, &mut out)?,
        ListFormat::Jsonl => diff::write_jsonl(&diff, &mut out)?,
    }
    if bad_lines > 0 {
        let _ = writeln!(io::stderr(), "seawall: {bad_lines} input lines were not seawall records and were skipped");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_runs(args: &RunsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let shown = store::redact_location(&args.store);
    let mut db = store::open(&args.store).with_context(|| format!("opening the store {shown}"))?;
    let runs = db.runs().with_context(|| format!("reading {shown}"))?;
    let to_terminal = io::stdout().is_terminal();
    match args.format.unwrap_or(if to_terminal { ListFormat::Text } else { ListFormat::Jsonl }) {
        ListFormat::Jsonl => {
            for run in &runs {
                let line = serde_json::json!({"type": "run", "v": ENVELOPE_VERSION, "data": run});
                writeln!(out, "{line}")?;
            }
        }
        ListFormat::Text => {
            writeln!(
                out,
                "{:>4}  {:<28} {:<5} {:<20} {:>8} {:>9} {:>8} {:>8} {:>6}",
                "id", "name", "kind", "created", "sessions", "endpoints", "services", "findings", "errors"
            )?;
            for s in &runs {
                let created: String = s.run.created.chars().take(19).collect();
                writeln!(
                    out,
                    "{:>4}  {:<28} {:<5} {:<20} {:>8} {:>9} {:>8} {:>8} {:>6}",
                    s.run.id,
                    terminal(&s.run.name),
                    terminal(&s.run.command),
                    created,
                    format!("{}/{}", s.sessions_finished, s.sessions),
                    s.endpoints_done,
                    s.services,
                    s.findings,
                    s.errors
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
