//! `seawall scan`: flags to a scanner, records to the output, Ctrl-C to a clean stop.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use seawall_model::{ErrorRecord, Record, Severity};
use seawall_scan::engine::{EndpointRecords, ScanOptions, Scanner};
use seawall_scan::exchange::plan::ProbePlan;
use seawall_scan::exchange::webshells::WebshellPaths;
use seawall_scan::net::SourceAddrs;
use seawall_scan::protocols::http::{HttpSettings, Timeouts};
use seawall_scan::shard::Shard;
use seawall_scan::space::TargetSpace;
use seawall_scan::targets::{TargetSpec, parse_exclude_list, parse_ports, parse_target_list};
use seawall_store::{Batch, Fingerprint, SessionStatus, ShardSpec};
use tokio::sync::mpsc;

use crate::cli::{Cli, ScanArgs};
use crate::output::Output;
use crate::stored::{SpecParts, Stored, random_seed};

const DEFAULT_USER_AGENT: &str = concat!("seawall/", env!("CARGO_PKG_VERSION"), " (defensive Exchange exposure scan)");

pub(crate) fn run(cli: &Cli, args: &ScanArgs) -> Result<ExitCode> {
    let fail_on: Severity = args.fail_on.parse().map_err(anyhow::Error::msg)?;
    let kb = Arc::new(crate::kb_cmd::load_kb(cli)?);
    let plan = ProbePlan::embedded().map_err(anyhow::Error::msg)?;
    let request_budget = plan.budget.max_requests as u64;
    let webshell_paths = WebshellPaths::embedded().map_err(anyhow::Error::msg)?;
    let mut output = Output::open(args.format, args.output.as_deref(), &cli.csv_profile)?;
    output.start("scan", kb.origin())?;

    let (specs, target_errors) = collect_targets(args)?;
    let target_error_records: Vec<Record> = target_errors
        .iter()
        .map(|error| {
            Record::Error(ErrorRecord { source: error.origin.clone(), message: error.reason.clone(), position: None })
        })
        .collect();
    for record in &target_error_records {
        output.write(record)?;
    }
    let ports = parse_ports(&args.ports).map_err(|e| anyhow::anyhow!("-p {}: {e}", args.ports))?;
    let mut exclude = Vec::new();
    for path in &args.exclude {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        exclude.extend(parse_exclude_list(&text, &path.display().to_string())?);
    }
    let space = Arc::new(TargetSpace::new(specs, &ports, exclude).map_err(anyhow::Error::msg)?);
    output.end.targets = Some(space.len());
    let shard = match &args.shard {
        Some(text) => Shard::parse(text).map_err(anyhow::Error::msg)?,
        None => Shard::WHOLE,
    };
    let mut stored = match &args.store {
        Some(location) => {
            let mut stored = Stored::begin(location, store_spec(args, &space, shard))?;
            stored.write_records(target_error_records)?;
            Some(stored)
        }
        None => None,
    };

    let limit = raise_open_file_limit();
    let concurrency = args.concurrency.unwrap_or_else(|| default_concurrency(limit));
    let user_agent = match (&args.user_agent, &args.contact) {
        (Some(ua), _) => ua.clone(),
        (None, Some(contact)) => format!("{DEFAULT_USER_AGENT} contact: {contact}"),
        (None, None) => DEFAULT_USER_AGENT.to_owned(),
    };
    // Dates (end of support, certificate validity) are judged at the start of the --as-of day, UTC.
    let as_of = match &args.as_of {
        Some(text) => text
            .parse::<jiff::civil::Date>()
            .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC))
            .map(|zoned| zoned.timestamp())
            .with_context(|| format!("--as-of {text:?} is not a YYYY-MM-DD date"))?,
        None => jiff::Timestamp::now(),
    };
    let options = ScanOptions {
        concurrency,
        rate: args.rate,
        per_host: args.per_host,
        host_timeout: seconds(args.host_timeout, "--host-timeout")?,
        http: HttpSettings {
            timeouts: Timeouts {
                connect: seconds(args.connect_timeout, "--connect-timeout")?,
                tls: seconds(args.connect_timeout, "--connect-timeout")?,
                response_head: seconds(args.read_timeout, "--read-timeout")?,
                body: seconds(args.read_timeout, "--read-timeout")?,
            },
            source: SourceAddrs::from_addrs(args.source.iter().copied()),
            ..HttpSettings::new(user_agent)
        },
        seed: stored.as_ref().map(Stored::seed).or(args.seed).unwrap_or_else(random_seed),
        shard,
        as_of,
        probe_webshells: args.probe_webshells,
        active: args.active,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let show_progress = !args.no_progress && std::io::stderr().is_terminal();
    let done = stored.as_mut().map(Stored::take_done).unwrap_or_default();
    let to_store = stored.as_mut().map(Stored::start_writer).transpose()?;
    let scanned = runtime.block_on(async {
        // Owned by this block: the store's writer finishes once the last sender is dropped.
        let to_store = to_store;
        let scanner = Scanner::new(Arc::clone(&kb), plan, webshell_paths, options);
        let progress = scanner.progress();
        let stop = scanner.stop_signal();
        let (tx, mut rx) = mpsc::channel::<EndpointRecords>(256);
        let scan = tokio::spawn(scanner.run_endpoints(space, done.into_skip(), tx));
        let bar = show_progress.then(|| crate::progress::ScanBar::start(Arc::clone(&progress)));
        let mut interrupted = false;
        let mut write_error = None;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                endpoint = rx.recv() => match endpoint {
                    Some(EndpointRecords { ordinal, records }) => {
                        for record in &records {
                            if let Err(e) = output.write(record) {
                                write_error = Some(e);
                                stop.stop();
                            }
                        }
                        // The store commits the records with the endpoint's done-mark.
                        if let Some(to_store) = &to_store
                            && to_store.send(Batch { ordinal: Some(ordinal), records }).await.is_err()
                        {
                            write_error.get_or_insert_with(|| anyhow::anyhow!("the results store stopped"));
                            stop.stop();
                        }
                    }
                    None => break,
                },
                _ = &mut ctrl_c, if !interrupted => { interrupted = true; stop.stop(); }
            }
        }
        let _ = scan.await;
        if let Some(bar) = bar {
            bar.finish();
        }
        output.end.stats.insert("endpoints_done".into(), progress.done.load(Ordering::Relaxed));
        output.end.stats.insert("http_requests".into(), progress.http_requests.load(Ordering::Relaxed));
        output.end.stats.insert("request_budget_per_endpoint".into(), request_budget);
        let internal_failures = progress.internal_failures.load(Ordering::Relaxed);
        if internal_failures > 0 {
            output.end.stats.insert("internal_failures".into(), internal_failures);
        }
        match write_error {
            Some(e) => Err(e),
            None => Ok(interrupted),
        }
    });
    if let Some(stored) = stored {
        let status = match &scanned {
            Ok(false) => SessionStatus::Finished,
            Ok(true) => SessionStatus::Interrupted,
            Err(_) => SessionStatus::Failed,
        };
        // A store error explains a scan that stopped because the store did.
        stored.finish(status, output.end.clone())?;
    }
    let interrupted = scanned?;
    if interrupted {
        output.write(&Record::Error(ErrorRecord {
            source: "seawall".into(),
            message: "interrupted: the scan stopped early; results so far are above".into(),
            position: None,
        }))?;
    }
    // A probe that panicked is an error record and makes the run one with errors (issue 14).
    let had_run_errors = !target_errors.is_empty() || interrupted || output.end.stats.contains_key("internal_failures");
    let worst = output.finish()?;
    if had_run_errors {
        return Ok(ExitCode::from(2));
    }
    Ok(if worst.is_some_and(|w| w >= fail_on) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn collect_targets(args: &ScanArgs) -> Result<(Vec<TargetSpec>, Vec<seawall_scan::targets::TargetError>)> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for text in &args.targets {
        match TargetSpec::parse(text) {
            Ok(spec) => specs.push(spec),
            Err(reason) => bail!("target {text:?}: {reason}"),
        }
    }
    for path in &args.input_list {
        let (text, origin) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading targets from stdin")?;
            (text, "stdin".to_owned())
        } else {
            (
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
                path.display().to_string(),
            )
        };
        let (found, bad) = parse_target_list(&text, &origin);
        specs.extend(found);
        errors.extend(bad);
    }
    if specs.is_empty() {
        bail!("no targets: give addresses, networks, names or URLs, or -iL FILE");
    }
    Ok((specs, errors))
}

/// What identifies this scan in a store: the target space (targets, ports, exclusions, in
/// order), the options that change results, the seed and the shard.
fn store_spec(args: &ScanArgs, space: &TargetSpace, shard: Shard) -> seawall_store::SessionSpec {
    SpecParts {
        command: "scan",
        run_name: args.run_name.clone(),
        resume: args.resume,
        seed: args.seed,
        shard: ShardSpec { index: shard.index, count: shard.count },
        targets_digest: Fingerprint::new().text("scan space").debug(space).finish(),
        config_digest: Fingerprint::new()
            .text(&format!("probe_webshells={} active={}", args.probe_webshells, args.active))
            .finish(),
    }
    .into_spec()
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    if !(value > 0.0 && value < 86_400.0) {
        bail!("{flag} {value}: must be a positive number of seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

/// Raise the soft open-file limit to the hard one; returns the limit in force.
fn raise_open_file_limit() -> u64 {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
    if soft < hard && rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

/// Each endpoint holds one socket; keep headroom for files, the resolver and stdout.
fn default_concurrency(open_files: u64) -> usize {
    (open_files.saturating_sub(128) / 2).clamp(16, 4096) as usize
}
