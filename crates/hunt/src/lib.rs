//! seawall's hunt: walk the evidence, classify each file by content, read it
//! with the matching reader, run the log detections and the code detectors,
//! and return findings and non-fatal errors sorted into a timeline. Files are
//! read in parallel; the output is the same with one thread or many.

mod chunks;
mod collected;
mod detector;
mod detectors;
mod dispatch;
mod finding;
mod fold;
mod gate;
mod guard;
mod ioc_match;
mod record_loop;
pub mod spray;
pub mod stages;
mod walk;

use std::collections::BTreeMap;
use std::path::PathBuf;

use seawall_model::{ErrorRecord, Finding};
use seawall_rules::RuleSet;
use seawall_sigma::SigmaEngine;
use seawall_webshell::WebshellScanner;

pub use detectors::catalog;
pub use ioc_match::LogIocs;
pub use walk::{Walk, walk};

/// Detectors beyond seawall's log rules, each optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Community Sigma rules (`--sigma DIR`).
    pub sigma: Option<&'a SigmaEngine>,
    /// Webshell and IOC detection in files: YARA, location heuristics, hashes.
    pub files: Option<&'a WebshellScanner>,
    /// IPs and user agents of the IOC lists, matched in web logs.
    pub log_iocs: Option<&'a LogIocs>,
}

/// What to hunt and how.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    pub paths: Vec<PathBuf>,
    /// Keep only events at or after this time.
    pub from: Option<jiff::Timestamp>,
    /// Keep only events before this time.
    pub to: Option<jiff::Timestamp>,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Larger EVTX files are reported and skipped (they are read whole).
    pub max_evtx_bytes: u64,
    pub spray: spray::SprayConfig,
    /// Measure the time of each stage ([`HuntStats::stage_times`]); costs a clock read per record.
    pub stage_times: bool,
}

/// Everything a hunt found.
#[derive(Debug, Default)]
pub struct HuntResult {
    /// Sorted by time (untimed last), then path, position and rule.
    pub findings: Vec<Finding>,
    pub errors: Vec<ErrorRecord>,
    pub stats: HuntStats,
}

#[derive(Debug, Default, Clone)]
pub struct HuntStats {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    /// Files per kind (`iis`, `httpproxy/ecp`, `evtx`, `unknown`, ...).
    pub files_by_kind: BTreeMap<String, u64>,
    /// Files not examined for webshells because they exceed the size cap.
    pub files_skipped: u64,
    /// Files examined for webshells whose normalised reading stopped at a bound (input or output
    /// size, time, functions or call sites followed): matched in full as written, in part as read.
    pub files_normalisation_limited: u64,
    /// Authentication attempts counted but not kept (beyond the detector's memory bounds).
    pub auth_events_dropped: u64,
    /// Detections that fired, before folding (each hit is in a finding's count).
    pub finding_hits: u64,
    /// Error records beyond the per-file cap, counted and not listed.
    pub errors_not_listed: u64,
    /// Matches of Sigma rules that feed aggregations and correlations, and those left out of
    /// every window (no event time, over the group or match caps).
    pub correlation_matches: u64,
    pub correlation_dropped: u64,
    /// Entries read from zip archives (tar entries are counted as files), and what all archive entries expanded to.
    pub archive_entries: u64,
    pub archive_bytes: u64,
    /// Walked entries that are not regular files (symlinks, FIFOs, sockets, devices), per kind: not read.
    pub entries_skipped: BTreeMap<String, u64>,
    /// Time per stage, summed over threads, when [`HuntOptions::stage_times`] asked for it.
    pub stage_times: Option<stages::StageTimes>,
}

/// Run a hunt over `options.paths` with seawall's own log detections only.
pub fn hunt(options: &HuntOptions, rules: &RuleSet) -> HuntResult {
    hunt_with(options, rules, &Extras::default())
}

/// Run a hunt with seawall's detections and the extras given: Sigma rules (`--sigma DIR`;
/// matches are findings with `rule.source = "sigma"`), webshell and IOC detection in
/// files, IOC addresses and user agents in web logs.
pub fn hunt_with(options: &HuntOptions, rules: &RuleSet, extras: &Extras<'_>) -> HuntResult {
    // Every record detector is built once here (rule automata, the endpoint automaton) and shared.
    let mut setup_errors = Vec::new();
    let attribution = detectors::Attribution::embedded(rules).unwrap_or_else(|e| {
        setup_errors.push(ErrorRecord { source: "hunt".into(), message: e.to_string(), position: None });
        detectors::Attribution::default()
    });
    let rules_detector = detectors::RulesDetector { rules, attribution: &attribution };
    let sigma_detector = extras.sigma.map(|engine| detectors::SigmaDetector { engine });
    let ioc_detector = extras.log_iocs.map(|iocs| detectors::IocDetector { iocs });
    let auth_detector = spray::AuthDetector::new(&options.spray);
    let mut records: Vec<&dyn detector::Detector> = vec![&rules_detector];
    if let Some(sigma) = &sigma_detector {
        records.push(sigma);
    }
    records.push(&auth_detector);
    if let Some(iocs) = &ioc_detector {
        records.push(iocs);
    }
    let gate = gate::LineGate::new(&records);
    let detectors = dispatch::Detectors { records: &records, gate: &gate, files: extras.files };
    let mut times = stages::StageTimes::default();
    let walk_clock = stages::Clock::start(options.stage_times);
    let Walk { files, mut errors, skipped } = walk(&options.paths);
    errors.extend(setup_errors);
    // Collection folders show their files at the original Windows paths; zip archives become their entries.
    let plan = collected::plan(files, &options.paths, &seawall_sources::archive::ArchiveLimits::default());
    errors.extend(plan.errors);
    let files = plan.items;
    times.add(stages::Stage::Walk, walk_clock.elapsed());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads.unwrap_or(0)).build();
    if let Err(e) = &pool {
        errors.push(ErrorRecord { source: "hunt".into(), message: format!("thread pool: {e}"), position: None });
    }
    let outcomes = on_pool(&pool, || dispatch::read_all(&files, options, &detectors));
    let mut result = HuntResult::default();
    result.stats.archive_entries =
        files.iter().filter(|item| matches!(item, collected::Item::ZipEntry { .. })).count() as u64;
    result.stats.archive_bytes = plan.zips.iter().map(|zip| zip.budget.bytes()).sum();
    result.stats.entries_skipped = skipped.into_iter().map(|(kind, n)| (kind.to_owned(), n)).collect();
    let mut auth = spray::AuthLog::default();
    for outcome in outcomes {
        times.absorb(&outcome.times);
        if outcome.kind == "archive" {
            result.stats.archive_entries += outcome.archive_entries;
            result.stats.archive_bytes += outcome.archive_bytes;
            result.errors.extend(outcome.errors);
            continue;
        }
        result.stats.files += 1;
        result.stats.bytes += outcome.bytes;
        result.stats.events += outcome.events;
        *result.stats.files_by_kind.entry(outcome.kind).or_default() += 1;
        if outcome.skipped {
            result.stats.files_skipped += 1;
        }
        if outcome.normalisation_limited {
            result.stats.files_normalisation_limited += 1;
        }
        result.stats.finding_hits += outcome.found.findings.hits();
        let mut findings = outcome.found.findings.into_findings();
        if let Some(container) = &outcome.container {
            for finding in &mut findings {
                finding.evidence.push(collected::collection_evidence(container));
            }
        }
        result.findings.extend(findings);
        result.errors.extend(outcome.errors);
        if outcome.errors_not_listed > 0 {
            result.stats.errors_not_listed += outcome.errors_not_listed;
            result.errors.push(ErrorRecord {
                source: outcome.source.clone(),
                message: format!(
                    "{} more errors in this file not listed (at most {} are listed per file)",
                    outcome.errors_not_listed,
                    record_loop::MAX_ERRORS_PER_FILE
                ),
                position: None,
            });
        }
        auth.extend(outcome.found.auth);
    }
    // Sigma aggregations and correlations are judged once every file is read (event time, not file order).
    if let Some(engine) = extras.sigma.filter(|engine| engine.has_correlations()) {
        let report = engine.finish_run();
        result.findings.extend(report.hits.iter().map(|hit| engine.correlation_finding(hit)));
        let stats = report.stats;
        result.stats.correlation_matches = stats.observed;
        result.stats.correlation_dropped = stats.untimed + stats.dropped_groups_events + stats.dropped_events;
    }
    result.stats.auth_events_dropped = auth.dropped;
    let judge_clock = stages::Clock::start(options.stage_times);
    let mut auth = auth.into_events();
    let judged = on_pool(&pool, || spray::detect(&mut auth, &options.spray));
    result.findings.extend(judged);
    times.add(stages::Stage::Auth, judge_clock.elapsed());
    result.stats.stage_times = options.stage_times.then_some(times);
    result.errors.extend(errors);
    finding::sort_timeline(&mut result.findings);
    result.errors.sort_by(|a, b| (&a.source, &a.position, &a.message).cmp(&(&b.source, &b.position, &b.message)));
    result
}

/// `work` on the hunt's pool when there is one (`--threads 1` stays on one core), else on
/// rayon's global pool.
fn on_pool<T: Send>(
    pool: &Result<rayon::ThreadPool, rayon::ThreadPoolBuildError>,
    work: impl FnOnce() -> T + Send,
) -> T {
    match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}
