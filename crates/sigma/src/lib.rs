//! Community Sigma rules over seawall's evidence.
//!
//! Rules are parsed and compiled by rsigma (`rsigma-parser`, `rsigma-eval` 0.23); seawall
//! adds what a hunt over IIS, Exchange HttpProxy and Windows event logs needs around it:
//! - field mappings as data ([`mapping`], `data/sigma/mappings.toml`): which records serve a
//!   rule's `logsource` (Sysmon 1 and Security 4688 both serve `process_creation`) and which
//!   record field a Sigma field reads (`cs-user-agent` is IIS `cs(User-Agent)`);
//! - a literal prefilter per rule and record family, in one Aho-Corasick automaton, so records
//!   that cannot match are never turned into events;
//! - a support check: a rule seawall cannot run as written is listed with a reason
//!   ([`Unsupported`]) instead of silently never matching;
//! - two rewrites where rsigma 0.23 departs from the specification (keywords under `|all`,
//!   wildcards across line breaks), see `support.rs`.
//!
//! - correlation rules (Sigma correlation specification 2.0: `event_count`, `value_count`,
//!   `temporal`, `temporal_ordered`, aliases, chaining) and Sigma v1 aggregations
//!   (`| count(field) by group > N` with `timeframe`), run over event times ([`correlation`]).
//!
//! The engine never prints and never fails a hunt: [`SigmaEngine::load`] returns the engine
//! with what it refused, and matching is infallible.
//!
//! # Running correlations in a hunt
//!
//! Matching stays per record and per thread; a rule that feeds a correlation leaves its
//! match in the [`SigmaScratch`] instead of returning a [`SigmaHit`]. The caller:
//! 1. names the file on the scratch it reads it with: [`SigmaScratch::set_origin`] (the
//!    sample references carry it);
//! 2. drops the scratch at the end of the file (its matches go to the engine's run state),
//!    or takes them, [`SigmaScratch::take_correlation`], to merge them itself with
//!    [`SigmaEngine::merge`] (any order, any thread);
//! 3. once all evidence is read, calls [`SigmaEngine::finish_run`] (or [`SigmaEngine::finish`]
//!    on its own merged state): the [`CorrelationHit`]s and what the memory bounds left out
//!    ([`CorrelationStats`], for `run_end`); [`SigmaEngine::correlation_finding`] turns each
//!    hit into a finding.
//!
//! ```
//! use seawall_sigma::{CorrelationState, Mappings, RuleText, SigmaEngine, SigmaScratch};
//! let rule = "title: Many failures\nid: 1\nlogsource:\n  product: windows\n  service: security\n\
//!     detection:\n  sel:\n    EventID: 4625\n  timeframe: 10m\n  condition: sel | count() by IpAddress > 2\n";
//! let (engine, report) =
//!     SigmaEngine::load(&[RuleText { origin: "r.yml".into(), text: rule.into() }], Mappings::embedded().unwrap());
//! assert_eq!(report.correlations, 1);
//! let mut run = CorrelationState::default();
//! let mut scratch = SigmaScratch::default(); // one per file or per worker
//! scratch.set_origin("Security.evtx");
//! // ... engine.scan_evtx(&event, &mut scratch, &mut hits) for every record ...
//! engine.merge(&mut run, scratch.take_correlation());
//! let report = engine.finish(run);
//! let findings: Vec<_> = report.hits.iter().map(|hit| engine.correlation_finding(hit)).collect();
//! assert!(findings.is_empty());
//! ```

mod aggregation;
pub mod correlation;
mod engine;
mod event;
mod load;
pub mod mapping;
mod prefilter;
mod support;

use std::fmt;
use std::path::PathBuf;

pub use correlation::{CorrelationHit, CorrelationState, CorrelationStats, SampleRef};
pub use engine::{CorrelationReport, SigmaEngine, SigmaHit, SigmaRuleInfo, SigmaRuleKind, SigmaScratch};
pub use event::SigmaRecord;
pub use mapping::{MappingError, Mappings};

/// Largest rule file read (SigmaHQ's largest rule is under 40 KiB).
pub const MAX_RULE_FILE_BYTES: u64 = 1 << 20;

/// The text of one rule file and where it came from.
#[derive(Debug, Clone)]
pub struct RuleText {
    /// A path or a name, shown in diagnostics.
    pub origin: String,
    pub text: String,
}

/// Why a rule is not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnsupportedKind {
    /// The file or a document in it is not valid Sigma.
    Parse,
    /// A Sigma v1 aggregation (`| count() by ...`, `| near`), superseded by correlation rules.
    Aggregation,
    /// A correlation rule (event counts, temporal ordering over many events).
    Correlation,
    /// A filter rule (applies to other rules at conversion time).
    Filter,
    /// No log seawall reads serves the rule's `logsource`.
    LogSource,
    /// The rule reads fields the serving logs do not have.
    Field,
    /// A modifier seawall does not run (`expand`, timestamp parts).
    Modifier,
    /// A regular expression that does not compile within the limits.
    Regex,
    /// Array object scopes (`field[any]:`), which need nested events.
    ArrayMatch,
    /// Inconsistent: unknown detection names, duplicate ids, what rsigma refuses to compile.
    Invalid,
}

impl UnsupportedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnsupportedKind::Parse => "parse",
            UnsupportedKind::Aggregation => "aggregation",
            UnsupportedKind::Correlation => "correlation",
            UnsupportedKind::Filter => "filter",
            UnsupportedKind::LogSource => "logsource",
            UnsupportedKind::Field => "field",
            UnsupportedKind::Modifier => "modifier",
            UnsupportedKind::Regex => "regex",
            UnsupportedKind::ArrayMatch => "array-match",
            UnsupportedKind::Invalid => "invalid",
        }
    }
}

impl fmt::Display for UnsupportedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule (or a document of a rule file) that is not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub origin: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub kind: UnsupportedKind,
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(title) = &self.title {
            write!(f, ": {title}")?;
        }
        write!(f, ": unsupported ({}): {}", self.kind, self.reason)
    }
}

/// What loading rules gave besides the engine.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Detection rules that run.
    pub loaded: usize,
    /// Correlation rules and Sigma v1 aggregations that run.
    pub correlations: usize,
    /// Rules and documents refused, in file order.
    pub unsupported: Vec<Unsupported>,
    /// Files that hold no Sigma rule (e.g. regression-test `info.yml`), with why they were passed over.
    pub skipped: Vec<(String, String)>,
    /// Rules that run on some of their sources only, and why not on the others.
    pub partial: Vec<String>,
    /// Files that could not be read at all.
    pub errors: Vec<(String, String)>,
}

impl LoadReport {
    /// Refused rules per kind.
    pub fn counts(&self) -> std::collections::BTreeMap<UnsupportedKind, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for u in &self.unsupported {
            *counts.entry(u.kind).or_insert(0) += 1;
        }
        counts
    }
}

/// Every `.yml`/`.yaml` file under the given files and folders, sorted, read as text.
/// Unreadable or oversized files are returned as errors (path, message); the rest still load.
pub fn read_rule_files(paths: &[PathBuf]) -> (Vec<RuleText>, Vec<(String, String)>) {
    // The walk policy of every file tree seawall reads (no symlinks followed, depth bounded).
    let found = seawall_sources::walk::files_with_extensions(paths, &["yml", "yaml"]);
    let mut errors: Vec<(String, String)> =
        found.errors.into_iter().map(|e| (e.path.display().to_string(), e.source.to_string())).collect();
    let mut texts = Vec::new();
    for file in found.files {
        let origin = file.display().to_string();
        match std::fs::metadata(&file) {
            Ok(meta) if meta.len() > MAX_RULE_FILE_BYTES => {
                errors.push((origin, format!("larger than {MAX_RULE_FILE_BYTES} bytes: not a rule file")));
                continue;
            }
            Err(e) => {
                errors.push((origin, e.to_string()));
                continue;
            }
            Ok(_) => {}
        }
        match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => texts.push(RuleText { origin, text }),
                Err(_) => errors.push((origin, "not UTF-8 text".into())),
            },
            Err(e) => errors.push((origin, e.to_string())),
        }
    }
    (texts, errors)
}

/// A Sigma condition that does not parse (the parser's own message).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ConditionError(#[from] rsigma_parser::SigmaParserError);

/// Parse a Sigma condition (`selection and not 1 of filter_*`) and give it back normalised,
/// with explicit parentheses; for tools that show conditions, and for fuzzing the parser.
pub fn parse_condition(text: &str) -> Result<String, ConditionError> {
    Ok(rsigma_parser::parse_condition(text)?.to_string())
}
