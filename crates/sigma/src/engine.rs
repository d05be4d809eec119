//! The engine: rules compiled by rsigma, indexed per record family behind a literal prefilter.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rsigma_eval::{CompiledRule, ResultBody, compile_rule, evaluate_rule};
use rsigma_parser::{Level, SigmaRule, Status, parse_sigma_yaml};
use seawall_model::{Confidence, Severity};
use seawall_sources::evtx::EvtxEvent;

use crate::event::{MappedRecord, SigmaRecord};
use crate::mapping::{Mappings, Source};
use crate::prefilter::{Need, rule_need};
use crate::support::{check, rewrite};
use crate::{LoadReport, RuleText, Unsupported, UnsupportedKind};

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
    /// `category=... product=... service=...`.
    pub logsource: String,
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
struct LoadedRule {
    info: SigmaRuleInfo,
    compiled: CompiledRule,
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
}

/// Loaded Sigma rules, ready to match records of every family they read.
#[derive(Debug)]
pub struct SigmaEngine {
    mappings: Mappings,
    rules: Vec<LoadedRule>,
    pairs: Vec<Pair>,
    families: Vec<FamilyIndex>,
    use_prefilter: bool,
}

impl SigmaEngine {
    /// Load rule files with the given mappings. Every rule either loads or is listed in the
    /// report with the reason it does not.
    pub fn load(files: &[RuleText], mappings: Mappings) -> (SigmaEngine, LoadReport) {
        let mut report = LoadReport { files: files.len(), ..LoadReport::default() };
        let mut rules: Vec<LoadedRule> = Vec::new();
        let mut needs: Vec<(u32, u32, Need)> = Vec::new();
        for file in files {
            load_file(file, &mappings, &mut rules, &mut needs, &mut report);
        }
        report.loaded = rules.len();
        let pairs: Vec<Pair> = needs.iter().map(|&(rule, source, _)| Pair { rule, source }).collect();
        let mut family_names: Vec<&str> = mappings.sources.iter().map(|s| s.family.as_str()).collect();
        family_names.sort_unstable();
        family_names.dedup();
        let families = family_names.into_iter().map(|family| build_family(family, &mappings.sources, &needs)).collect();
        (SigmaEngine { mappings, rules, pairs, families, use_prefilter: true }, report)
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
            if let Some(result) = evaluate_rule(&rule.compiled, &mapped) {
                scratch.matched.push(pair.rule);
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
                out.push(SigmaHit { rule: pair.rule as usize, source: source.name.clone(), selections, fields });
            }
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
                    match literals.iter().position(|l| l == literal) {
                        Some(at) => {
                            if let Some(pairs) = &mut pattern_pairs[at] {
                                pairs.push(pair_index);
                            }
                        }
                        None => {
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

fn file_name_id(origin: &str) -> String {
    let name = std::path::Path::new(origin).file_stem().map(|s| s.to_string_lossy().into_owned());
    format!("sigma:{}", name.unwrap_or_else(|| origin.to_owned()))
}

/// Whether a file holds anything that looks like a Sigma rule at all.
fn looks_like_sigma(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches('\u{feff}');
        line.starts_with("detection:") || line.starts_with("correlation:") || line.starts_with("filter:")
    })
}

/// The first condition with a Sigma v1 aggregation (`| count() by X > 3`, `| near`).
fn aggregation(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|line| line.starts_with("condition:") && line.contains('|'))
        .map(|line| line.trim_start_matches("condition:").trim())
}

fn load_file(
    file: &RuleText,
    mappings: &Mappings,
    rules: &mut Vec<LoadedRule>,
    needs: &mut Vec<(u32, u32, Need)>,
    report: &mut LoadReport,
) {
    let refuse = |report: &mut LoadReport, rule: Option<&SigmaRule>, kind: UnsupportedKind, reason: String| {
        report.unsupported.push(Unsupported {
            origin: file.origin.clone(),
            id: rule.and_then(|r| r.id.clone()),
            title: rule.map(|r| r.title.clone()),
            kind,
            reason,
        });
    };
    if !looks_like_sigma(&file.text) {
        report
            .skipped
            .push((file.origin.clone(), "no `detection`, `correlation` or `filter`: not a Sigma rule".into()));
        return;
    }
    let collection = match parse_sigma_yaml(&file.text) {
        Ok(collection) => collection,
        Err(e) => {
            refuse(report, None, UnsupportedKind::Parse, e.to_string());
            return;
        }
    };
    // A document that did not parse has no rule: name it from its text.
    let top_level = |key: &str| {
        file.text.lines().find_map(|line| line.strip_prefix(key)).map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
    };
    let (doc_id, doc_title) = (top_level("id:"), top_level("title:"));
    let refuse_document = |report: &mut LoadReport, kind: UnsupportedKind, reason: String| {
        report.unsupported.push(Unsupported {
            origin: file.origin.clone(),
            id: doc_id.clone(),
            title: doc_title.clone(),
            kind,
            reason,
        });
    };
    for error in &collection.errors {
        match aggregation(&file.text).filter(|_| error.contains("Condition parse error")) {
            Some(condition) => refuse_document(
                report,
                UnsupportedKind::Aggregation,
                format!(
                    "Sigma v1 aggregation `{condition}` (superseded by correlation rules; seawall's spray detector counts failed logons)"
                ),
            ),
            None => refuse_document(report, UnsupportedKind::Parse, error.clone()),
        }
    }
    for correlation in &collection.correlations {
        report.unsupported.push(Unsupported {
            origin: file.origin.clone(),
            id: correlation.id.clone(),
            title: Some(correlation.title.clone()),
            kind: UnsupportedKind::Correlation,
            reason: "correlation rules are not run by seawall hunt".into(),
        });
    }
    for filter in &collection.filters {
        report.unsupported.push(Unsupported {
            origin: file.origin.clone(),
            id: filter.id.clone(),
            title: Some(filter.title.clone()),
            kind: UnsupportedKind::Filter,
            reason: "filter rules are not applied by seawall hunt".into(),
        });
    }
    for rule in &collection.rules {
        if let Err((kind, reason)) = check(rule) {
            refuse(report, Some(rule), kind, reason);
            continue;
        }
        let id = rule.id.clone().unwrap_or_else(|| file_name_id(&file.origin));
        if rules.iter().any(|r| r.info.id == id) {
            refuse(report, Some(rule), UnsupportedKind::Invalid, format!("duplicate rule id {id}"));
            continue;
        }
        let candidates = mappings.sources_for(&rule.logsource);
        let logsource = describe_logsource(rule);
        if candidates.is_empty() {
            refuse(report, Some(rule), UnsupportedKind::LogSource, format!("no log seawall reads serves {logsource}"));
            continue;
        }
        let fields = rule_fields(rule);
        let mut served = Vec::new();
        let mut missing = Vec::new();
        for &source in &candidates {
            let set = &mappings.field_sets[mappings.sources[source].fields];
            let unknown: Vec<&str> = fields.iter().map(String::as_str).filter(|f| set.resolve(f).is_none()).collect();
            if unknown.is_empty() {
                served.push(source);
            } else {
                missing.push(format!("{} has no {}", mappings.sources[source].name, unknown.join(", ")));
            }
        }
        if served.is_empty() {
            refuse(report, Some(rule), UnsupportedKind::Field, missing.join("; "));
            continue;
        }
        let compiled = match compile_rule(&rewrite(rule)) {
            Ok(compiled) => compiled,
            Err(e) => {
                refuse(report, Some(rule), UnsupportedKind::Invalid, e.to_string());
                continue;
            }
        };
        if !missing.is_empty() {
            report.partial.push(format!("{}: {}: runs without {}", file.origin, rule.title, missing.join("; ")));
        }
        let rule_index = rules.len() as u32;
        for source in served {
            let set = &mappings.field_sets[mappings.sources[source].fields];
            needs.push((rule_index, source as u32, rule_need(rule, set)));
        }
        rules.push(LoadedRule {
            info: SigmaRuleInfo {
                id,
                title: rule.title.clone(),
                origin: file.origin.clone(),
                level: rule.level,
                status: rule.status,
                description: rule.description.clone(),
                references: rule.references.clone(),
                tags: rule.tags.clone(),
                falsepositives: rule.falsepositives.clone(),
                logsource,
            },
            compiled,
        });
    }
}

fn describe_logsource(rule: &SigmaRule) -> String {
    let ls = &rule.logsource;
    let parts: Vec<String> = [("category", &ls.category), ("product", &ls.product), ("service", &ls.service)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    if parts.is_empty() { "an empty logsource".into() } else { parts.join(" ") }
}

/// Every field name the rule's detections read.
fn rule_fields(rule: &SigmaRule) -> Vec<String> {
    fn walk(detection: &rsigma_parser::Detection, out: &mut Vec<String>) {
        use rsigma_parser::Detection;
        match detection {
            Detection::AllOf(items) => {
                for item in items {
                    if let Some(name) = &item.field.name
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
            }
            Detection::AnyOf(parts) | Detection::And(parts) => parts.iter().for_each(|p| walk(p, out)),
            Detection::Keywords(_) | Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {}
        }
    }
    let mut out = Vec::new();
    let mut names: Vec<&String> = rule.detection.named.keys().collect();
    names.sort();
    for name in names {
        if let Some(detection) = rule.detection.named.get(name) {
            walk(detection, &mut out);
        }
    }
    out
}
