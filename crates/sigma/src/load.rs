//! Reading rule files into the engine: parse, refuse with a reason, check the fields the
//! mappings serve, compile, and split Sigma v1 aggregations into a detection and a correlation.

use std::collections::HashSet;

use rsigma_eval::{CompiledRule, compile_rule};
use rsigma_parser::{SigmaRule, parse_sigma_yaml};

use crate::aggregation::{AGGREGATION_KEY, AggregationError, parse_aggregation, split_aggregations};
use crate::correlation::{CorrelationSpec, Feed, Measure};
use crate::engine::{LoadedRule, SigmaRuleInfo, SigmaRuleKind};
use crate::mapping::Mappings;
use crate::prefilter::{Need, rule_need};
use crate::support::{check, rewrite};
use crate::{LoadReport, RuleText, Unsupported, UnsupportedKind};

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

/// Suffix of the id of a v1 aggregation's detection half (the events it counts).
pub(crate) const EVENTS_SUFFIX: &str = "#events";

/// What one rule file gives, read on its own (files are read in parallel): everything but
/// what depends on the files before it (duplicate ids, rule and correlation numbers).
pub(crate) struct FileOutcome {
    origin: String,
    /// Why the file holds no Sigma rule at all.
    skipped: Option<String>,
    /// Refusals and rules, in the order the report lists them.
    items: Vec<Item>,
    pending: Vec<crate::correlation::resolve::Pending>,
}

enum Item {
    Refused(Unsupported),
    /// A rule that passed the support check: loaded, unless an earlier rule has its id.
    Rule {
        id: String,
        rule_id: Option<String>,
        title: String,
        outcome: Result<Box<Candidate>, (UnsupportedKind, String)>,
    },
}

/// A rule ready to load.
struct Candidate {
    info: SigmaRuleInfo,
    compiled: CompiledRule,
    /// The mapping sources that serve it, with what a record must hold for it to match.
    needs: Vec<(u32, Need)>,
    field_sets: Vec<usize>,
    aggregation: Option<(crate::aggregation::Aggregation, Option<rsigma_parser::Timespan>)>,
    /// Why it runs on some of its sources only.
    partial: Option<String>,
}

/// What loading gathers from the files, in file order.
#[derive(Default)]
pub(crate) struct Loaded {
    pub(crate) rules: Vec<LoadedRule>,
    pub(crate) needs: Vec<(u32, u32, Need)>,
    pub(crate) correlations: Vec<CorrelationSpec>,
    pub(crate) pending: Vec<crate::correlation::resolve::Pending>,
    /// Ids of `rules` (a linear search per rule made loading SigmaHQ's rules quadratic).
    ids: HashSet<String>,
}

/// Parse, check and compile the rules of one file.
pub(crate) fn read_file(file: &RuleText, mappings: &Mappings) -> FileOutcome {
    let mut outcome =
        FileOutcome { origin: file.origin.clone(), skipped: None, items: Vec::new(), pending: Vec::new() };
    let refused = |rule: Option<&SigmaRule>, kind: UnsupportedKind, reason: String| {
        Item::Refused(Unsupported {
            origin: file.origin.clone(),
            id: rule.and_then(|r| r.id.clone()),
            title: rule.map(|r| r.title.clone()),
            kind,
            reason,
        })
    };
    if !looks_like_sigma(&file.text) {
        outcome.skipped = Some("no `detection`, `correlation` or `filter`: not a Sigma rule".into());
        return outcome;
    }
    // v1 aggregations are split off the condition so the rest parses; see `aggregation.rs`.
    let (text, aggregation_refusals) = match split_aggregations(&file.text) {
        Some((text, refused)) => (std::borrow::Cow::Owned(text), refused),
        None => (std::borrow::Cow::Borrowed(file.text.as_str()), Vec::new()),
    };
    let collection = match parse_sigma_yaml(&text) {
        Ok(collection) => collection,
        Err(e) => {
            outcome.items.push(refused(None, UnsupportedKind::Parse, e.to_string()));
            return outcome;
        }
    };
    // A document that did not parse has no rule: name it from its text.
    let top_level = |key: &str| {
        file.text.lines().find_map(|line| line.strip_prefix(key)).map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
    };
    let (doc_id, doc_title) = (top_level("id:"), top_level("title:"));
    let refused_document = |kind: UnsupportedKind, reason: String| {
        Item::Refused(Unsupported {
            origin: file.origin.clone(),
            id: doc_id.clone(),
            title: doc_title.clone(),
            kind,
            reason,
        })
    };
    for error in &collection.errors {
        let refused_aggregation = aggregation_refusals.iter().find(|_| error.contains("Condition parse error"));
        outcome.items.push(match refused_aggregation {
            Some((condition, why)) => {
                refused_document(UnsupportedKind::Aggregation, format!("Sigma v1 aggregation `{condition}`: {why}"))
            }
            None => refused_document(UnsupportedKind::Parse, error.clone()),
        });
    }
    for correlation in &collection.correlations {
        outcome
            .pending
            .push(crate::correlation::resolve::Pending { origin: file.origin.clone(), rule: correlation.clone() });
    }
    for filter in &collection.filters {
        outcome.items.push(Item::Refused(Unsupported {
            origin: file.origin.clone(),
            id: filter.id.clone(),
            title: Some(filter.title.clone()),
            kind: UnsupportedKind::Filter,
            reason: "filter rules are not applied by seawall hunt".into(),
        }));
    }
    for rule in &collection.rules {
        if let Err((kind, reason)) = check(rule) {
            outcome.items.push(refused(Some(rule), kind, reason));
            continue;
        }
        outcome.items.push(Item::Rule {
            id: rule.id.clone().unwrap_or_else(|| file_name_id(&file.origin)),
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            outcome: candidate(file, rule, mappings).map(Box::new),
        });
    }
    outcome
}

/// A rule that passed the support check, compiled, or why it is not run.
fn candidate(file: &RuleText, rule: &SigmaRule, mappings: &Mappings) -> Result<Candidate, (UnsupportedKind, String)> {
    let candidates = mappings.sources_for(&rule.logsource);
    let logsource = describe_logsource(rule);
    if candidates.is_empty() {
        return Err((UnsupportedKind::LogSource, format!("no log seawall reads serves {logsource}")));
    }
    // A v1 aggregation: its counted and grouped fields must be readable too.
    let aggregation = legacy_aggregation(rule).map_err(|reason| (UnsupportedKind::Aggregation, reason.to_string()))?;
    let mut fields = rule_fields(rule);
    if let Some((aggregation, _)) = &aggregation {
        fields.extend(aggregation.field.iter().chain(&aggregation.group_by).cloned());
    }
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
        return Err((UnsupportedKind::Field, missing.join("; ")));
    }
    let compiled = compile_rule(&rewrite(rule)).map_err(|e| (UnsupportedKind::Invalid, e.to_string()))?;
    let partial =
        (!missing.is_empty()).then(|| format!("{}: {}: runs without {}", file.origin, rule.title, missing.join("; ")));
    let needs = served
        .iter()
        .map(|&source| (source as u32, rule_need(rule, &mappings.field_sets[mappings.sources[source].fields])))
        .collect();
    let info = SigmaRuleInfo {
        id: rule.id.clone().unwrap_or_else(|| file_name_id(&file.origin)),
        title: rule.title.clone(),
        origin: file.origin.clone(),
        level: rule.level,
        status: rule.status,
        description: rule.description.clone(),
        references: rule.references.clone(),
        tags: rule.tags.clone(),
        falsepositives: rule.falsepositives.clone(),
        logsource,
        name: rule.name.clone(),
        kind: SigmaRuleKind::Detection,
        standalone: true,
    };
    let field_sets = served.iter().map(|&source| mappings.sources[source].fields).collect();
    Ok(Candidate { info, compiled, needs, field_sets, aggregation, partial })
}

/// Add one file's outcome to what the files before it loaded (call in file order).
pub(crate) fn add_file(outcome: FileOutcome, loaded: &mut Loaded, report: &mut LoadReport) {
    if let Some(reason) = outcome.skipped {
        report.skipped.push((outcome.origin, reason));
        return;
    }
    loaded.pending.extend(outcome.pending);
    for item in outcome.items {
        let (id, rule_id, title, result) = match item {
            Item::Refused(refusal) => {
                report.unsupported.push(refusal);
                continue;
            }
            Item::Rule { id, rule_id, title, outcome } => (id, rule_id, title, outcome),
        };
        let refuse = |report: &mut LoadReport, kind: UnsupportedKind, reason: String| {
            report.unsupported.push(Unsupported {
                origin: outcome.origin.clone(),
                id: rule_id.clone(),
                title: Some(title.clone()),
                kind,
                reason,
            });
        };
        if loaded.ids.contains(&id) {
            refuse(report, UnsupportedKind::Invalid, format!("duplicate rule id {id}"));
            continue;
        }
        let candidate = match result {
            Ok(candidate) => *candidate,
            Err((kind, reason)) => {
                refuse(report, kind, reason);
                continue;
            }
        };
        let Candidate { info, compiled, needs, field_sets, aggregation, partial } = candidate;
        report.partial.extend(partial);
        let rule_index = loaded.rules.len() as u32;
        loaded.needs.extend(needs.into_iter().map(|(source, need)| (rule_index, source, need)));
        let Some((aggregation, timespan)) = aggregation else {
            loaded.ids.insert(id);
            loaded.rules.push(LoadedRule { info, compiled: Some(compiled), feeds: Vec::new(), field_sets });
            continue;
        };
        // The detection half counts events for the aggregation and is no finding alone.
        let correlation = loaded.correlations.len() as u32;
        let events = LoadedRule {
            info: SigmaRuleInfo {
                id: format!("{id}{EVENTS_SUFFIX}"),
                title: format!("{} (events counted)", info.title),
                standalone: false,
                ..info.clone()
            },
            compiled: Some(compiled),
            feeds: vec![Feed {
                correlation,
                position: 0,
                group_fields: aggregation.group_by.clone(),
                value_field: aggregation.field.clone(),
            }],
            field_sets,
        };
        loaded.ids.insert(events.info.id.clone());
        loaded.rules.push(events);
        loaded.correlations.push(CorrelationSpec {
            rule: loaded.rules.len() as u32,
            measure: if aggregation.field.is_some() { Measure::ValueCount } else { Measure::EventCount },
            inputs: vec![rule_index],
            input_refs: vec![vec![id.clone()]],
            group_by: aggregation.group_by.clone(),
            timespan_ms: timespan.as_ref().map(|t| (t.seconds as i64).saturating_mul(1000)),
            predicates: vec![(aggregation.operator, aggregation.threshold)],
            chained: Vec::new(),
            feeds_parent: false,
        });
        let measure = if aggregation.field.is_some() { "value_count" } else { "event_count" };
        loaded.ids.insert(id);
        loaded.rules.push(LoadedRule {
            info: SigmaRuleInfo {
                kind: SigmaRuleKind::Correlation {
                    measure: measure.into(),
                    timespan: timespan.map(|t| t.original),
                    group_by: aggregation.group_by.clone(),
                    condition: aggregation.encode(),
                    legacy: true,
                },
                ..info
            },
            compiled: None,
            feeds: Vec::new(),
            field_sets: Vec::new(),
        });
    }
}

/// Why a rule's v1 aggregation is not run.
#[derive(Debug, thiserror::Error)]
enum LegacyAggregationError {
    #[error("{AGGREGATION_KEY} is not text")]
    NotText,
    #[error(transparent)]
    Aggregation(#[from] AggregationError),
    #[error("timeframe `{timeframe}` is not a duration: {source}")]
    Timeframe { timeframe: String, source: rsigma_parser::SigmaParserError },
}

/// The v1 aggregation a rule carries (put there by `split_aggregations`) and its `timeframe`.
fn legacy_aggregation(
    rule: &SigmaRule,
) -> Result<Option<(crate::aggregation::Aggregation, Option<rsigma_parser::Timespan>)>, LegacyAggregationError> {
    let Some(value) = rule.custom_attributes.get(AGGREGATION_KEY) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or(LegacyAggregationError::NotText)?;
    let aggregation = parse_aggregation(text)?;
    let timespan = match &rule.detection.timeframe {
        Some(timeframe) => Some(
            rsigma_parser::Timespan::parse(timeframe)
                .map_err(|source| LegacyAggregationError::Timeframe { timeframe: timeframe.clone(), source })?,
        ),
        None => None,
    };
    Ok(Some((aggregation, timespan)))
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
