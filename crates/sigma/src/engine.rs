//! The engine: rules compiled by rsigma, indexed per record family behind a literal prefilter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rayon::prelude::*;
use rsigma_eval::{CompiledRule, ResultBody, evaluate_rule};
use rsigma_parser::{Level, Status};
use seawall_model::{Confidence, Severity};
use seawall_sources::evtx::EvtxEvent;

use crate::correlation::{CorrelationHit, CorrelationSpec, CorrelationState, CorrelationStats, Feed};
use crate::event::{MappedRecord, SigmaRecord};
use crate::load::{EVENTS_SUFFIX, FileOutcome, Loaded, add_file, read_file};
use crate::mapping::{Mappings, Source};
use crate::prefilter::Need;
use crate::{LoadReport, RuleText};

/// Bytes that lower-case to ASCII under Unicode rules (KELVIN SIGN to `k`, LATIN CAPITAL
/// LETTER I WITH DOT ABOVE to `i` + a combining dot): a record holding one may match a
/// case-insensitive rule whose literal it does not hold byte for byte, so it skips the prefilter.
const UNICODE_FOLDS_TO_ASCII: [&str; 2] = ["\u{212A}", "\u{0130}"];

/// What seawall shows of a loaded rule.
#[derive(Debug, Clone)]
pub struct SigmaRuleInfo {
    /// The rule's `id`, or `sigma:<file name>` when it has none.
    pub id: String,
    pub title: String,
    pub origin: String,
    pub level: Option<Level>,
    pub status: Option<Status>,
    pub description: Option<String>,
    pub references: Vec<String>,
    pub tags: Vec<String>,
    pub falsepositives: Vec<String>,
    /// `category=... product=... service=...`; for a correlation, the rules it correlates.
    pub logsource: String,
    /// The rule's `name` (how correlations may refer to it).
    pub name: Option<String>,
    /// A detection, or a correlation over other rules' matches.
    pub kind: SigmaRuleKind,
    /// Whether a match of this rule alone is a finding: false for rules that only feed a
    /// correlation (the specification's `generate: false`, the detection half of a v1 aggregation).
    pub standalone: bool,
}

/// What a loaded rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigmaRuleKind {
    Detection,
    /// A correlation rule, or a Sigma v1 aggregation run as one.
    Correlation {
        /// `event_count`, `value_count`, `temporal`, `temporal_ordered`.
        measure: String,
        /// The window as the rule wrote it; `None`: the whole evidence.
        timespan: Option<String>,
        group_by: Vec<String>,
        /// The condition in words (`count(TargetUserName) by Workstation > 3`, `gte 10`).
        condition: String,
        /// Written as a v1 aggregation (`| count() by ...`).
        legacy: bool,
    },
}

impl SigmaRuleInfo {
    /// Sigma level to seawall severity (informational is info; no level reads as medium).
    pub fn severity(&self) -> Severity {
        match self.level {
            Some(Level::Informational) => Severity::Info,
            Some(Level::Low) => Severity::Low,
            Some(Level::Medium) | None => Severity::Medium,
            Some(Level::High) => Severity::High,
            Some(Level::Critical) => Severity::Critical,
        }
    }

    /// Rule maturity to confidence: stable is high, test medium, experimental, deprecated and
    /// unsupported low; a rule without a status (a local rule) medium.
    pub fn confidence(&self) -> Confidence {
        match self.status {
            Some(Status::Stable) => Confidence::High,
            Some(Status::Test) | None => Confidence::Medium,
            Some(Status::Experimental | Status::Deprecated | Status::Unsupported) => Confidence::Low,
        }
    }

    /// `cve.2021-26855` tags as `CVE-2021-26855`.
    pub fn cves(&self) -> Vec<String> {
        let mut cves: Vec<String> = self
            .tags
            .iter()
            .filter_map(|tag| {
                let rest = tag.strip_prefix("cve.").or_else(|| tag.strip_prefix("CVE."))?;
                let valid = rest.len() >= 6
                    && rest.as_bytes().get(4) == Some(&b'-')
                    && rest.chars().all(|c| c.is_ascii_digit() || c == '-');
                valid.then(|| format!("CVE-{rest}"))
            })
            .collect();
        cves.dedup();
        cves
    }

    /// `attack.*` tags.
    pub fn attack_tags(&self) -> Vec<&str> {
        self.tags.iter().map(String::as_str).filter(|t| t.starts_with("attack.")).collect()
    }
}

/// One rule matching one record.
#[derive(Debug, Clone)]
pub struct SigmaHit {
    /// Index into [`SigmaEngine::rules`].
    pub rule: usize,
    /// The mapping source it was read through, e.g. `evtx[Channel=Security,EventID=4688]`.
    pub source: String,
    /// The detections of the condition that held.
    pub selections: Vec<String>,
    /// Fields (Sigma names) and the values that matched; keyword matches are named `keyword`.
    pub fields: Vec<(String, String)>,
}

#[derive(Debug)]
pub(crate) struct LoadedRule {
    pub(crate) info: SigmaRuleInfo,
    /// `None` for a correlation.
    pub(crate) compiled: Option<CompiledRule>,
    /// The correlations this rule's matches feed.
    pub(crate) feeds: Vec<Feed>,
    /// For a detection: which field sets it is read through (to check correlation fields).
    pub(crate) field_sets: Vec<usize>,
}

/// A (rule, source) pair: one rule read through one mapping source.
#[derive(Debug, Clone, Copy)]
struct Pair {
    rule: u32,
    source: u32,
}

#[derive(Debug)]
struct FamilyIndex {
    family: String,
    prefilter: Option<AhoCorasick>,
    /// For each pattern of `prefilter`, the pairs that named it; `None` for the Unicode folds.
    pattern_pairs: Vec<Option<Vec<u32>>>,
    /// Pairs evaluated on every record of the family.
    unfiltered: Vec<u32>,
    /// Every pair of the family.
    all: Vec<u32>,
}

/// Reusable per-thread working memory for matching.
#[derive(Debug, Default)]
pub struct SigmaScratch {
    candidates: Vec<u32>,
    /// Per source: 0 unknown, 1 the record belongs, 2 it does not.
    source_state: Vec<u8>,
    matched: Vec<u32>,
    correlation: CorrelationState,
    /// The run state of the engine whose correlations this scratch saw matches of.
    sink: Option<Arc<RunSink>>,
}

/// The matches every dropped scratch handed over, for [`SigmaEngine::finish_run`].
#[derive(Debug)]
pub(crate) struct RunSink {
    specs: Arc<Vec<CorrelationSpec>>,
    state: Mutex<CorrelationState>,
}

impl Drop for SigmaScratch {
    /// A scratch dropped at the end of a file gives its correlation matches to the run, so a
    /// caller that never takes them still gets them from [`SigmaEngine::finish_run`].
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take()
            && !self.correlation.is_empty()
        {
            let state = std::mem::take(&mut self.correlation);
            sink.state.lock().unwrap_or_else(PoisonError::into_inner).merge_with(state, &sink.specs);
        }
    }
}

impl SigmaScratch {
    /// Name the file being read: the correlation samples refer to it.
    pub fn set_origin(&mut self, origin: &str) {
        self.correlation.set_origin(origin);
    }

    /// The correlation matches gathered so far (leaves an empty state): take it at the end of
    /// each file, merge with [`CorrelationState::merge`], and end with [`SigmaEngine::finish`].
    pub fn take_correlation(&mut self) -> CorrelationState {
        let origin = self.correlation.origin();
        let taken = std::mem::take(&mut self.correlation);
        self.correlation.set_origin(&origin);
        taken
    }
}

/// What the correlations gave at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct CorrelationReport {
    /// One per burst of one group, ordered by first time.
    pub hits: Vec<CorrelationHit>,
    pub stats: CorrelationStats,
}

/// Loaded Sigma rules, ready to match records of every family they read.
#[derive(Debug)]
pub struct SigmaEngine {
    mappings: Mappings,
    rules: Vec<LoadedRule>,
    pairs: Vec<Pair>,
    families: Vec<FamilyIndex>,
    correlations: Arc<Vec<CorrelationSpec>>,
    run: Arc<RunSink>,
    use_prefilter: bool,
}

impl SigmaEngine {
    /// Load rule files with the given mappings. Every rule either loads or is listed in the
    /// report with the reason it does not.
    pub fn load(files: &[RuleText], mappings: Mappings) -> (SigmaEngine, LoadReport) {
        let mut report = LoadReport { files: files.len(), ..LoadReport::default() };
        // Parsing and compiling is most of the load (SigmaHQ's 3,800 files): files are read in
        // parallel on the current rayon pool, then added in file order, so the engine and the
        // report are the same whatever the thread count.
        let outcomes: Vec<FileOutcome> = files.par_iter().map(|file| read_file(file, &mappings)).collect();
        let mut loaded = Loaded::default();
        for outcome in outcomes {
            add_file(outcome, &mut loaded, &mut report);
        }
        let Loaded { mut rules, needs, mut correlations, pending, .. } = loaded;
        crate::correlation::resolve::resolve_correlations(
            pending,
            &mappings,
            &mut rules,
            &mut correlations,
            &mut report,
        );
        // The detection half of a v1 aggregation is not a rule of its own.
        report.correlations = rules.iter().filter(|r| r.compiled.is_none()).count();
        report.loaded = rules.iter().filter(|r| r.compiled.is_some() && !r.info.id.ends_with(EVENTS_SUFFIX)).count();
        let pairs: Vec<Pair> = needs.iter().map(|&(rule, source, _)| Pair { rule, source }).collect();
        let mut family_names: Vec<&str> = mappings.sources.iter().map(|s| s.family.as_str()).collect();
        family_names.sort_unstable();
        family_names.dedup();
        let families = family_names.into_iter().map(|family| build_family(family, &mappings.sources, &needs)).collect();
        let correlations = Arc::new(correlations);
        let run =
            Arc::new(RunSink { specs: Arc::clone(&correlations), state: Mutex::new(CorrelationState::default()) });
        (SigmaEngine { mappings, rules, pairs, families, correlations, run, use_prefilter: true }, report)
    }

    /// Load the files and folders given (`--sigma DIR`) with the embedded mappings.
    pub fn load_paths(paths: &[std::path::PathBuf]) -> Result<(SigmaEngine, LoadReport), crate::MappingError> {
        let mappings = Mappings::embedded()?;
        let (texts, errors) = crate::read_rule_files(paths);
        let (engine, mut report) = SigmaEngine::load(&texts, mappings);
        report.errors.extend(errors);
        Ok((engine, report))
    }

    /// Turn the literal prefilter off (every rule is evaluated on every record of its
    /// families): for measuring what the prefilter saves and checking it changes nothing.
    pub fn set_prefilter(&mut self, enabled: bool) {
        self.use_prefilter = enabled;
    }

    pub fn rules(&self) -> impl ExactSizeIterator<Item = &SigmaRuleInfo> {
        self.rules.iter().map(|r| &r.info)
    }

    pub fn rule(&self, index: usize) -> &SigmaRuleInfo {
        &self.rules[index].info
    }

    pub fn mappings(&self) -> &Mappings {
        &self.mappings
    }

    /// Whether any loaded correlation runs (then the caller must end the run with [`Self::finish`]).
    pub fn has_correlations(&self) -> bool {
        !self.correlations.is_empty()
    }

    /// Take another state's correlation matches into `into` (another file's, another worker's).
    pub fn merge(&self, into: &mut CorrelationState, other: CorrelationState) {
        into.merge_with(other, &self.correlations);
    }

    /// Sweep every group's window once all evidence is read: the correlations that held,
    /// one hit per burst of overlapping windows, with what the memory bounds left out.
    pub fn finish(&self, state: CorrelationState) -> CorrelationReport {
        let mut report = crate::correlation::finish(&self.correlations, state);
        // A correlation that only feeds another (the specification's default) is no finding alone.
        report.hits.retain(|hit| self.rules[hit.rule].info.standalone);
        report
    }

    /// [`Self::finish`] over the matches of every scratch dropped so far (and not taken with
    /// [`SigmaScratch::take_correlation`]); leaves the run state empty for the next run.
    pub fn finish_run(&self) -> CorrelationReport {
        let state = std::mem::take(&mut *self.run.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.finish(state)
    }

    /// Whether any loaded rule reads records of this family (`iis`, `httpproxy`, `evtx`).
    pub fn reads(&self, family: &str) -> bool {
        self.families.iter().any(|f| f.family == family && !f.all.is_empty())
    }

    fn family(&self, family: &str) -> Option<&FamilyIndex> {
        self.families.iter().find(|f| f.family == family && !f.all.is_empty())
    }

    /// The cheap pass: whether any rule may match a record of `family` whose stored bytes
    /// (the line; for EVTX each field value) are `haystacks`. Fills the scratch for [`Self::evaluate`].
    pub fn prefilter<'h>(
        &self,
        family: &str,
        haystacks: impl IntoIterator<Item = &'h [u8]>,
        scratch: &mut SigmaScratch,
    ) -> bool {
        scratch.candidates.clear();
        let Some(index) = self.family(family) else { return false };
        if !self.use_prefilter {
            scratch.candidates.extend_from_slice(&index.all);
            return !scratch.candidates.is_empty();
        }
        scratch.candidates.extend_from_slice(&index.unfiltered);
        if let Some(ac) = &index.prefilter {
            'haystacks: for haystack in haystacks {
                for m in ac.find_overlapping_iter(haystack) {
                    match &index.pattern_pairs[m.pattern().as_usize()] {
                        Some(pairs) => scratch.candidates.extend_from_slice(pairs),
                        None => {
                            scratch.candidates.clear();
                            scratch.candidates.extend_from_slice(&index.all);
                            break 'haystacks;
                        }
                    }
                }
            }
        }
        scratch.candidates.sort_unstable();
        scratch.candidates.dedup();
        !scratch.candidates.is_empty()
    }

    /// Evaluate the candidates left by [`Self::prefilter`] on the record; each rule gives at most one hit.
    pub fn evaluate(&self, record: SigmaRecord<'_>, scratch: &mut SigmaScratch, out: &mut Vec<SigmaHit>) {
        scratch.source_state.clear();
        scratch.source_state.resize(self.mappings.sources.len(), 0);
        scratch.matched.clear();
        for &pair_index in &scratch.candidates {
            let pair = self.pairs[pair_index as usize];
            if scratch.matched.contains(&pair.rule) {
                continue;
            }
            let source = &self.mappings.sources[pair.source as usize];
            let state = &mut scratch.source_state[pair.source as usize];
            if *state == 0 {
                *state = if belongs(record, source) { 1 } else { 2 };
            }
            if *state != 1 {
                continue;
            }
            let rule = &self.rules[pair.rule as usize];
            let mapped = MappedRecord { record, fields: &self.mappings.field_sets[source.fields] };
            let Some(compiled) = &rule.compiled else { continue };
            if let Some(result) = evaluate_rule(compiled, &mapped) {
                scratch.matched.push(pair.rule);
                self.observe_feeds(rule, &mapped, &mut scratch.sink, &mut scratch.correlation);
                if !rule.info.standalone {
                    continue;
                }
                let (selections, fields) = match result.body {
                    ResultBody::Detection(body) => (
                        body.matched_selections,
                        body.matched_fields
                            .into_iter()
                            .map(|m| {
                                let value = match m.value {
                                    serde_json::Value::String(s) => s,
                                    other => other.to_string(),
                                };
                                (m.field, value)
                            })
                            .collect(),
                    ),
                    ResultBody::Correlation(_) => (Vec::new(), Vec::new()),
                };
                // The rule engine keeps detections in a hash map: its order changes from run to run.
                let (mut selections, mut fields): (Vec<String>, Vec<(String, String)>) = (selections, fields);
                selections.sort_unstable();
                fields.sort_unstable();
                out.push(SigmaHit { rule: pair.rule as usize, source: source.name.clone(), selections, fields });
            }
        }
    }

    /// Hand a match of a rule that feeds correlations to the scratch's correlation state.
    fn observe_feeds(
        &self,
        rule: &LoadedRule,
        mapped: &MappedRecord<'_>,
        sink: &mut Option<Arc<RunSink>>,
        correlation: &mut CorrelationState,
    ) {
        if rule.feeds.is_empty() {
            return;
        }
        if sink.is_none() {
            *sink = Some(Arc::clone(&self.run));
        }
        let record = mapped.record;
        for feed in &rule.feeds {
            let read = |field: &String| mapped.resolve_text(field).map(|v| crate::correlation::kept_value(&v));
            let key = feed.group_fields.iter().map(read).collect();
            let observation = record.time().map(|time| {
                let (line, record_number) = record.position();
                crate::correlation::Observation {
                    time_ms: time.as_millisecond(),
                    position: feed.position,
                    value: feed.value_field.as_ref().and_then(read),
                    at: crate::correlation::At { origin: correlation.origin(), line, record: record_number },
                    counted: false,
                }
            });
            correlation.observe(&self.correlations, feed.correlation, key, observation);
        }
    }

    /// Prefilter and evaluate one EVTX event.
    pub fn scan_evtx(&self, event: &EvtxEvent, scratch: &mut SigmaScratch, out: &mut Vec<SigmaHit>) {
        if self.prefilter("evtx", event.fields.iter().map(|(_, v)| v.as_bytes()), scratch) {
            self.evaluate(SigmaRecord::Evtx(event), scratch, out);
        }
    }
}

/// Whether the record passes a source's filter.
fn belongs(record: SigmaRecord<'_>, source: &Source) -> bool {
    source.filter.iter().all(|(field, accepted)| {
        record.field(field).is_some_and(|value| accepted.iter().any(|a| a.eq_ignore_ascii_case(value.trim())))
    })
}

fn build_family(family: &str, sources: &[Source], needs: &[(u32, u32, Need)]) -> FamilyIndex {
    let mut literals: Vec<String> = Vec::new();
    // Where each literal is in `literals`: SigmaHQ's rules give tens of thousands (a linear
    // search per literal made loading quadratic).
    let mut literal_index: HashMap<&str, usize> = HashMap::new();
    let mut pattern_pairs: Vec<Option<Vec<u32>>> = Vec::new();
    let mut unfiltered = Vec::new();
    let mut all = Vec::new();
    for (pair_index, (_, source, need)) in needs.iter().enumerate() {
        if sources[*source as usize].family != family {
            continue;
        }
        let pair_index = pair_index as u32;
        all.push(pair_index);
        match need {
            Need::Any => unfiltered.push(pair_index),
            Need::OneOf(list) => {
                for literal in list {
                    match literal_index.get(literal.as_str()) {
                        Some(&at) => {
                            if let Some(pairs) = &mut pattern_pairs[at] {
                                pairs.push(pair_index);
                            }
                        }
                        None => {
                            literal_index.insert(literal, literals.len());
                            literals.push(literal.clone());
                            pattern_pairs.push(Some(vec![pair_index]));
                        }
                    }
                }
            }
        }
    }
    let prefilter = if literals.is_empty() {
        None
    } else {
        for fold in UNICODE_FOLDS_TO_ASCII {
            literals.push(fold.to_owned());
            pattern_pairs.push(None);
        }
        // Literals are short ASCII pieces of rule values: the automaton cannot fail to build
        // within its default limits for any realistic rule set; if it does, evaluate everything.
        AhoCorasickBuilder::new().ascii_case_insensitive(true).match_kind(MatchKind::Standard).build(&literals).ok()
    };
    if prefilter.is_none() {
        unfiltered = all.clone();
    }
    FamilyIndex { family: family.to_owned(), prefilter, pattern_pairs, unfiltered, all }
}
