//! Correlation rules resolved against the loaded detection rules, once every file is read
//! (a correlation may name rules of other files by `id` or `name`).

use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, WindowMode};

use super::{Chain, CorrelationSpec, ExpressionError, Feed, Measure, check_expression};
use crate::engine::{LoadedRule, SigmaRuleInfo, SigmaRuleKind};
use crate::mapping::Mappings;
use crate::{LoadReport, Unsupported, UnsupportedKind};

/// Correlated rules one correlation may name (positions are kept in a 64-bit set).
const MAX_INPUTS: usize = 64;

/// A correlation rule read from a file, not yet resolved.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) origin: String,
    pub(crate) rule: CorrelationRule,
}

pub(crate) fn resolve_correlations(
    pending: Vec<Pending>,
    mappings: &Mappings,
    rules: &mut Vec<LoadedRule>,
    correlations: &mut Vec<CorrelationSpec>,
    report: &mut LoadReport,
) {
    // Rules named by a correlation that does not generate them stop being findings alone.
    let mut quiet: Vec<u32> = Vec::new();
    let mut loud: Vec<u32> = Vec::new();
    // A correlation may name one defined later (the specification's example does): resolve in
    // passes until none progresses; children thus come before their parents in `correlations`.
    let mut pending = pending;
    loop {
        let before = pending.len();
        let unresolved: Vec<String> =
            pending.iter().flat_map(|p| p.rule.id.iter().chain(p.rule.name.iter()).cloned()).collect();
        let mut waiting = Vec::new();
        for item in pending {
            let Pending { origin, rule } = &item;
            let refuse = |report: &mut LoadReport, reason: String| {
                report.unsupported.push(Unsupported {
                    origin: origin.clone(),
                    id: rule.id.clone(),
                    title: Some(rule.title.clone()),
                    kind: UnsupportedKind::Correlation,
                    reason,
                });
            };
            let outcome = resolve_one(rule, mappings, rules, correlations, report, &unresolved);
            let (spec, feeds) = match outcome {
                Ok(resolved) => resolved,
                Err(Unresolved::Waiting) => {
                    waiting.push(item);
                    continue;
                }
                Err(Unresolved::Refused(reason)) => {
                    refuse(report, reason);
                    continue;
                }
            };
            let id = rule.id.clone().unwrap_or_else(|| format!("sigma:{}", rule.title));
            if rules.iter().any(|r| r.info.id == id) {
                refuse(report, format!("duplicate rule id {id}"));
                continue;
            }
            let correlation = correlations.len() as u32;
            for (input, feed) in spec.inputs.iter().zip(feeds) {
                if let Some(mut feed) = feed {
                    feed.correlation = correlation;
                    rules[*input as usize].feeds.push(feed);
                }
                if rule.generate { loud.push(*input) } else { quiet.push(*input) }
            }
            for chain in &spec.chained {
                correlations[chain.child as usize].feeds_parent = true;
            }
            let titles: Vec<&str> = spec.inputs.iter().map(|&i| rules[i as usize].info.title.as_str()).collect();
            let logsource = format!("correlation over {}", titles.join(", "));
            let condition = describe_condition(&rule.condition);
            let spec = CorrelationSpec { rule: rules.len() as u32, ..spec };
            rules.push(LoadedRule {
                info: SigmaRuleInfo {
                    id,
                    title: rule.title.clone(),
                    origin: origin.clone(),
                    level: rule.level,
                    status: rule.status,
                    description: rule.description.clone(),
                    references: rule.references.clone(),
                    tags: rule.tags.clone(),
                    falsepositives: rule.falsepositives.clone(),
                    logsource,
                    name: rule.name.clone(),
                    kind: SigmaRuleKind::Correlation {
                        measure: rule.correlation_type.as_str().into(),
                        timespan: Some(rule.timespan.original.clone()),
                        group_by: rule.group_by.clone(),
                        condition,
                        legacy: false,
                    },
                    standalone: true,
                },
                compiled: None,
                feeds: Vec::new(),
                field_sets: Vec::new(),
            });
            correlations.push(spec);
        }
        if waiting.is_empty() || waiting.len() == before {
            for Pending { origin, rule } in waiting {
                report.unsupported.push(Unsupported {
                    origin,
                    id: rule.id.clone(),
                    title: Some(rule.title.clone()),
                    kind: UnsupportedKind::Correlation,
                    reason: "it correlates correlations that never resolve (a cycle)".into(),
                });
            }
            break;
        }
        pending = waiting;
    }
    for index in quiet {
        if !loud.contains(&index) {
            rules[index as usize].info.standalone = false;
        }
    }
}

/// Why a correlation is not resolved (yet).
enum Unresolved {
    /// It names a correlation not resolved yet: try again in the next pass.
    Waiting,
    Refused(String),
}

impl From<String> for Unresolved {
    fn from(reason: String) -> Unresolved {
        Unresolved::Refused(reason)
    }
}

impl From<ExpressionError> for Unresolved {
    fn from(refused: ExpressionError) -> Unresolved {
        Unresolved::Refused(refused.to_string())
    }
}

fn resolve_one(
    rule: &CorrelationRule,
    mappings: &Mappings,
    rules: &[LoadedRule],
    correlations: &[CorrelationSpec],
    report: &LoadReport,
    waiting: &[String],
) -> Result<(CorrelationSpec, Vec<Option<Feed>>), Unresolved> {
    let references = &rule.rules;
    let temporal = match rule.correlation_type {
        CorrelationType::EventCount | CorrelationType::ValueCount => false,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => true,
        other => {
            return Err(format!(
                "correlation type {} is not in the Sigma correlation specification 2.0 (event_count, value_count, temporal, temporal_ordered)",
                other.as_str()
            )
            .into());
        }
    };
    if rule.window != WindowMode::Sliding {
        return Err(format!("{} windows are not run (the specification's window slides)", rule.window.as_str()).into());
    }
    if references.is_empty() || references.len() > MAX_INPUTS {
        return Err(format!("a correlation names 1 to {MAX_INPUTS} rules, this one {}", references.len()).into());
    }
    let mut inputs = Vec::new();
    let mut input_refs = Vec::new();
    for reference in references {
        let found =
            rules.iter().position(|r| r.info.id == *reference || r.info.name.as_deref() == Some(reference.as_str()));
        let Some(index) = found else {
            if waiting.contains(reference) {
                return Err(Unresolved::Waiting);
            }
            let refused = report.unsupported.iter().find(|u| u.id.as_deref() == Some(reference.as_str()));
            return Err(match refused {
                Some(u) => format!("it correlates {reference}, which does not run ({}: {})", u.kind, u.reason),
                None => format!("it correlates {reference}, which is not among the loaded rules"),
            }
            .into());
        };
        let info = &rules[index].info;
        let mut names = vec![info.id.clone()];
        names.extend(info.name.clone());
        names.push(reference.clone());
        inputs.push(index as u32);
        input_refs.push(names);
    }
    let (predicates, value_field, expression) = match &rule.condition {
        CorrelationCondition::Threshold { predicates, field, .. } => {
            let field = match field.as_deref() {
                None | Some([]) => None,
                Some([one]) => Some(one.clone()),
                Some(many) => {
                    return Err(format!("value_count over several fields ({}) is not run", many.join(", ")).into());
                }
            };
            // rsigma 0.23 reads a temporal correlation without `condition` as `gte: 1`; the
            // specification's default is every rule, and `gte: 1` (any one rule) would not
            // correlate anything, so both mean every rule.
            let predicates = if temporal && predicates.as_slice() == [(ConditionOperator::Gte, 1)] {
                Vec::new()
            } else {
                predicates.clone()
            };
            (predicates, field, None)
        }
        CorrelationCondition::Extended(expression) if temporal => {
            check_expression(expression, &input_refs)?;
            (Vec::new(), None, Some(expression.clone()))
        }
        CorrelationCondition::Extended(_) => {
            return Err(Unresolved::Refused("a boolean condition is only meaningful for temporal correlations".into()));
        }
    };
    let measure = match rule.correlation_type {
        CorrelationType::EventCount => Measure::EventCount,
        CorrelationType::ValueCount => Measure::ValueCount,
        CorrelationType::Temporal => Measure::Temporal { ordered: false, expression },
        _ => Measure::Temporal { ordered: true, expression },
    };
    if !temporal && predicates.is_empty() {
        return Err(Unresolved::Refused("the condition has no count (gt, gte, lt, lte, eq)".into()));
    }
    if matches!(measure, Measure::ValueCount) && value_field.is_none() {
        return Err(Unresolved::Refused("value_count needs `condition.field`".into()));
    }
    let mut feeds = Vec::new();
    let mut chained = Vec::new();
    for (position, (&input, reference)) in inputs.iter().zip(references).enumerate() {
        let loaded = &rules[input as usize];
        let field_of = |group: &str| -> String {
            rule.aliases
                .iter()
                .find(|a| a.alias == group)
                .and_then(|a| {
                    a.mapping
                        .get(reference)
                        .or_else(|| loaded.info.name.as_ref().and_then(|n| a.mapping.get(n)))
                        .or_else(|| a.mapping.get(&loaded.info.id))
                })
                .cloned()
                .unwrap_or_else(|| group.to_owned())
        };
        let group_fields: Vec<String> = rule.group_by.iter().map(|g| field_of(g)).collect();
        if loaded.compiled.is_none() {
            // A correlation: its firings carry its own group-by values and nothing else.
            let Some(child) = correlations.iter().position(|c| c.rule == input) else {
                return Err(Unresolved::Refused(format!("{reference} is not a correlation that runs")));
            };
            if value_field.is_some() {
                return Err(Unresolved::Refused(format!(
                    "value_count over the correlation {reference}: its firings have no field values"
                )));
            }
            let mut group_map = Vec::new();
            for field in &group_fields {
                let Some(at) = correlations[child].group_by.iter().position(|g| g == field) else {
                    return Err(Unresolved::Refused(format!(
                        "group-by {field} is not a group-by of the correlation {reference}"
                    )));
                };
                group_map.push(at);
            }
            chained.push(Chain { child: child as u32, position: position as u16, group_map });
            feeds.push(None);
            continue;
        }
        let value_field = value_field.as_deref().map(field_of);
        // Each field must be readable through at least one of the rule's sources.
        for field in group_fields.iter().chain(&value_field) {
            let readable = loaded.field_sets.iter().any(|&set| mappings.field_sets[set].resolve(field).is_some());
            if !readable {
                return Err(format!("{} events have no field {field}", loaded.info.title).into());
            }
        }
        feeds.push(Some(Feed { correlation: 0, position: position as u16, group_fields, value_field }));
    }
    let timespan_ms = (rule.timespan.seconds as i64).saturating_mul(1000);
    if timespan_ms <= 0 {
        return Err(Unresolved::Refused("the timespan is zero".into()));
    }
    let spec = CorrelationSpec {
        rule: 0,
        measure,
        inputs,
        input_refs,
        group_by: rule.group_by.clone(),
        timespan_ms: Some(timespan_ms),
        predicates,
        chained,
        feeds_parent: false,
    };
    Ok((spec, feeds))
}

fn describe_condition(condition: &CorrelationCondition) -> String {
    match condition {
        CorrelationCondition::Threshold { predicates, field, .. } => {
            let mut parts: Vec<String> =
                predicates.iter().map(|(op, n)| format!("{op:?} {n}").to_lowercase()).collect();
            if let Some(field) = field {
                parts.insert(0, format!("distinct {}", field.join(",")));
            }
            parts.join(" ")
        }
        CorrelationCondition::Extended(expression) => expression.to_string(),
    }
}
