//! `seawall hunt`: flags to a hunt, its timeline to the output.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use seawall_hunt::{HuntOptions, hunt, spray::SprayConfig};
use seawall_model::{Record, Severity};
use seawall_rules::RuleSet;

use crate::cli::{Cli, HuntArgs};
use crate::output::Output;

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
    };
    let mut output = Output::open(args.format, args.output.as_deref())?;
    output.start("hunt", kb.origin())?;
    let result = hunt(&options, &rules);
    for finding in result.findings {
        output.write(&Record::Finding(finding))?;
    }
    let had_errors = !result.errors.is_empty();
    for error in result.errors {
        output.write(&Record::Error(error))?;
    }
    output.end.files = Some(result.stats.files);
    output.end.bytes = Some(result.stats.bytes);
    output.end.stats.insert("events".into(), result.stats.events);
    for (kind, count) in &result.stats.files_by_kind {
        output.end.stats.insert(format!("files.{kind}"), *count);
    }
    let worst = output.finish()?;
    if had_errors {
        return Ok(ExitCode::from(2));
    }
    Ok(if worst.is_some_and(|w| w >= fail_on) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn load_rules(dirs: &[std::path::PathBuf]) -> Result<RuleSet> {
    let mut files: Vec<(String, String)> = seawall_rules::EMBEDDED
        .iter()
        .map(|(name, text)| (format!("data/detections/{name}"), (*text).to_owned()))
        .collect();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
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
