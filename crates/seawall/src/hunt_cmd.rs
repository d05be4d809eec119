//! `seawall hunt`: flags to a hunt, its timeline to the output.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use seawall_hunt::{HuntOptions, hunt_with, spray::SprayConfig};
use seawall_model::{ErrorRecord, Record, Severity};
use seawall_rules::RuleSet;
use seawall_store::{Fingerprint, SessionStatus, ShardSpec};

use crate::cli::{Cli, HuntArgs};
use crate::output::Output;
use crate::stored::{SpecParts, Stored};

/// EVTX files are read whole; larger ones are reported and skipped.
const MAX_EVTX_BYTES: u64 = 1 << 30;

pub(crate) fn run(cli: &Cli, args: &HuntArgs) -> Result<ExitCode> {
    let fail_on: Severity = args.fail_on.parse().map_err(anyhow::Error::msg)?;
    let kb = crate::kb_cmd::load_kb(cli)?;
    let rules = load_rules(&args.rules)?;
    let options = HuntOptions {
        paths: args.paths.clone(),
        from: args.from.as_deref().map(|t| parse_time(t, "--from")).transpose()?,
        to: args.to.as_deref().map(|t| parse_time(t, "--to")).transpose()?,
        threads: args.threads,
        max_evtx_bytes: MAX_EVTX_BYTES,
        spray: SprayConfig::embedded().map_err(anyhow::Error::msg)?,
        stage_times: args.stage_times,
    };
    let extras = crate::hunt_extras::load(
        &crate::hunt_extras::ExtrasFlags {
            sigma: &args.sigma,
            yara: &args.yara,
            ioc: &args.ioc,
            no_file_scan: args.no_file_scan,
            max_file_size: args.max_file_size,
            threads: args.threads,
        },
        &kb,
    )?;
    warn(&extras.warnings);
    let mut output = Output::open(args.format, args.output.as_deref(), &cli.csv_profile)?;
    output.start("hunt", kb.origin())?;
    let stored = args.store.as_deref().map(|location| Stored::begin(location, store_spec(args))).transpose()?;
    let result = hunt_with(&options, &rules, &extras.extras());
    let unreadable = extras.unreadable.iter().map(|(path, message)| {
        Record::Error(ErrorRecord {
            source: path.clone(),
            message: format!("rule file not read: {message}"),
            position: None,
        })
    });
    let had_errors = !result.errors.is_empty() || !extras.unreadable.is_empty();
    let records: Vec<Record> = result
        .findings
        .into_iter()
        .map(Record::Finding)
        .chain(result.errors.into_iter().map(Record::Error))
        .chain(unreadable)
        .collect();
    for record in &records {
        output.write(record)?;
    }
    output.end.files = Some(result.stats.files);
    output.end.bytes = Some(result.stats.bytes);
    output.end.stats.insert("events".into(), result.stats.events);
    for (kind, count) in &result.stats.files_by_kind {
        output.end.stats.insert(format!("files.{kind}"), *count);
    }
    output.end.stats.insert("files_over_size_cap".into(), result.stats.files_skipped);
    output.end.stats.insert("files_normalisation_limited".into(), result.stats.files_normalisation_limited);
    output.end.stats.insert("auth_events_dropped".into(), result.stats.auth_events_dropped);
    if result.stats.archive_entries > 0 || result.stats.archive_bytes > 0 {
        output.end.stats.insert("archive_entries".into(), result.stats.archive_entries);
        output.end.stats.insert("archive_bytes".into(), result.stats.archive_bytes);
    }
    output.end.stats.insert("finding_hits".into(), result.stats.finding_hits);
    if let Some(times) = &result.stats.stage_times {
        for stage in seawall_hunt::stages::Stage::ALL {
            let ms = u64::try_from(times.get(stage).as_millis()).unwrap_or(u64::MAX);
            output.end.stats.insert(format!("stage_ms.{}", stage.name()), ms);
        }
    }
    output.end.stats.insert("errors_not_listed".into(), result.stats.errors_not_listed);
    for (kind, count) in &result.stats.entries_skipped {
        output.end.stats.insert(format!("entries_not_read.{kind}"), *count);
    }
    output.end.stats.insert("rule_warnings".into(), extras.warnings.len() as u64);
    if let Some((_, report)) = &extras.sigma {
        output.end.stats.insert("sigma.rules".into(), report.loaded as u64);
        output.end.stats.insert("sigma.unsupported".into(), report.unsupported.len() as u64);
        output.end.stats.insert("sigma.correlations".into(), report.correlations as u64);
        output.end.stats.insert("sigma.correlation_matches".into(), result.stats.correlation_matches);
        output.end.stats.insert("sigma.correlation_dropped".into(), result.stats.correlation_dropped);
    }
    if let Some(mut stored) = stored {
        let written = stored.write_records(records);
        let status = if written.is_ok() { SessionStatus::Finished } else { SessionStatus::Failed };
        stored.finish(status, output.end.clone())?;
        written?;
    }
    let worst = output.finish()?;
    if had_errors {
        return Ok(ExitCode::from(2));
    }
    Ok(if worst.is_some_and(|w| w >= fail_on) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Rules that cannot be used are warnings on standard error, not run errors: community rule
/// sets ship rules that no log here serves.
#[allow(clippy::print_stderr)]
fn warn(warnings: &[String]) {
    for warning in warnings.iter().take(200) {
        // Sigma titles and rule file names come from rule sets downloaded from anywhere.
        eprintln!("warning: {}", seawall_report::escape::terminal(warning));
    }
    if warnings.len() > 200 {
        eprintln!("warning: ... and {} more", warnings.len() - 200);
    }
}

/// A hunt is its own run each time: the seed (unchosen, so random) makes the derived name new.
fn store_spec(args: &HuntArgs) -> seawall_store::SessionSpec {
    let mut targets = Fingerprint::new();
    targets.text("hunt paths");
    for path in &args.paths {
        targets.text(&path.display().to_string());
    }
    let mut config = Fingerprint::new();
    config.text(args.from.as_deref().unwrap_or("")).text(args.to.as_deref().unwrap_or(""));
    for dir in &args.rules {
        config.text(&dir.display().to_string());
    }
    SpecParts {
        command: "hunt",
        run_name: args.run_name.clone(),
        resume: false,
        seed: None,
        shard: ShardSpec::WHOLE,
        targets_digest: targets.finish(),
        config_digest: config.finish(),
    }
    .into_spec()
}

fn load_rules(dirs: &[std::path::PathBuf]) -> Result<RuleSet> {
    let mut files: Vec<(String, String)> = seawall_rules::EMBEDDED
        .iter()
        .map(|(name, text)| (format!("data/detections/{name}"), (*text).to_owned()))
        .collect();
    // The same walk as `seawall rules lint DIR` (and every other file tree): what lint
    // checks is what the hunt loads.
    let found = seawall_sources::walk::files_with_extensions(dirs, &["toml"]);
    if let Some(error) = found.errors.into_iter().next() {
        return Err(anyhow::Error::new(error).context("reading the --rules folders"));
    }
    for path in found.files {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push((path.display().to_string(), text));
    }
    RuleSet::load(&files).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("rules do not load:\n{}", lines.join("\n"))
    })
}

fn parse_time(text: &str, flag: &str) -> Result<jiff::Timestamp> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return Ok(date.to_zoned(jiff::tz::TimeZone::UTC).with_context(|| format!("{flag} {text}"))?.timestamp());
    }
    bail!("{flag} {text:?}: expected RFC 3339 (2021-03-03T06:00:00Z) or a date (2021-03-03)")
}
