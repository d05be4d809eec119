//! Sigma correlation rules (`event_count`, `value_count`, `temporal`, `temporal_ordered`) and
//! Sigma v1 aggregations, run over the matches of detection rules with the event times.
//!
//! The specification (SigmaHQ sigma-specification, `sigma-correlation-rules-specification.md`
//! 2.0) defines a sliding window: a correlation holds for a group when the events of its rules
//! inside `timespan` meet the condition. Evidence is read in parallel, file by file, so
//! matches do not arrive in time order: each file collects its matches in a bounded
//! [`CorrelationState`], states are merged, and [`crate::SigmaEngine::finish`] sorts each
//! group by time and sweeps the window once. Overlapping windows that hold are folded into
//! one [`CorrelationHit`] with a count, the first and last time and a few sample references.

mod finding;
pub(crate) mod resolve;
mod state;
mod sweep;

pub(crate) use state::{At, Observation};
pub use state::{CorrelationState, CorrelationStats, MAX_EVENTS_PER_GROUP, MAX_KEPT_EVENTS, MAX_OPEN_GROUPS};
pub use sweep::{CorrelationHit, SampleRef};

use crate::engine::CorrelationReport;

use rsigma_parser::{ConditionExpr, ConditionOperator};

/// What a correlation counts.
#[derive(Debug, Clone)]
pub(crate) enum Measure {
    /// Matching events in the window.
    EventCount,
    /// Distinct values of a field in the window.
    ValueCount,
    /// Which of the correlated rules matched in the window; `ordered`: in the order listed.
    Temporal { ordered: bool, expression: Option<ConditionExpr> },
}

/// A correlation ready to run: which detection rules feed it and how they are grouped.
#[derive(Debug, Clone)]
pub(crate) struct CorrelationSpec {
    /// Index of the correlation's own entry in the engine's rules.
    pub(crate) rule: u32,
    pub(crate) measure: Measure,
    /// Engine rule indices of the correlated rules, in the order the correlation lists them.
    pub(crate) inputs: Vec<u32>,
    /// How the correlation names each input (id or name), for temporal expressions.
    pub(crate) input_refs: Vec<Vec<String>>,
    /// Group-by names as the correlation writes them.
    pub(crate) group_by: Vec<String>,
    /// The window; `None` for an aggregation without `timeframe` (the whole evidence).
    pub(crate) timespan_ms: Option<i64>,
    /// All must hold; empty for a temporal correlation without a count condition.
    pub(crate) predicates: Vec<(ConditionOperator, u64)>,
    /// Inputs that are correlations themselves (chaining): their firings feed this one.
    pub(crate) chained: Vec<Chain>,
    /// Whether another correlation reads this one's firings.
    pub(crate) feeds_parent: bool,
}

/// A correlation named by another: each time its condition holds, the parent sees an event.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    /// Index of the child in the correlation specs.
    pub(crate) child: u32,
    /// Position of the child in the parent's inputs.
    pub(crate) position: u16,
    /// For each of the parent's group-by fields, its index in the child's group-by.
    pub(crate) group_map: Vec<usize>,
}

/// How one detection rule feeds one correlation: read when the rule matches a record.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    pub(crate) correlation: u32,
    /// Position of the rule in the correlation's inputs.
    pub(crate) position: u16,
    /// Sigma field names of the group-by values in this rule's events (aliases resolved).
    pub(crate) group_fields: Vec<String>,
    /// Sigma field whose distinct values a `value_count` counts.
    pub(crate) value_field: Option<String>,
}

/// Sweep every group and fold its bursts; hits ordered by first time, then rule and group.
/// Children come before their parents in `specs` (see `resolve.rs`), so the firings of a
/// child are in its parents' groups before those are swept.
pub(crate) fn finish(specs: &[CorrelationSpec], mut state: CorrelationState) -> CorrelationReport {
    let mut hits = Vec::new();
    let mut per_spec: Vec<Vec<(state::GroupKey, state::Group)>> = (0..specs.len()).map(|_| Vec::new()).collect();
    for ((correlation, key), group) in state.groups.drain() {
        per_spec[correlation as usize].push((key, group));
    }
    for (index, spec) in specs.iter().enumerate() {
        let mut groups = std::mem::take(&mut per_spec[index]);
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, mut group) in groups {
            group.events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
            let mut fires = Vec::new();
            let mut bursts = sweep::sweep_group(spec, &group.events, spec.feeds_parent.then_some(&mut fires));
            bursts.append(&mut group.bursts);
            for burst in sweep::fold_bursts(bursts) {
                hits.extend(sweep::hit_of(spec, &key, burst, group.dropped));
            }
            if spec.feeds_parent {
                let mut fired: Vec<(i64, state::At)> =
                    fires.into_iter().map(|i| (group.events[i].time_ms, group.events[i].at.clone())).collect();
                fired.append(&mut group.fires);
                feed_parents(specs, index as u32, &key, &fired, &mut per_spec, &mut state.stats);
            }
        }
    }
    hits.sort_by_key(|h| (h.first, h.rule));
    CorrelationReport { hits, stats: state.stats }
}

/// A child's firings as events of every parent that names it, in the parent's groups.
fn feed_parents(
    specs: &[CorrelationSpec],
    child: u32,
    key: &[Option<Box<str>>],
    fired: &[(i64, state::At)],
    per_spec: &mut [Vec<(state::GroupKey, state::Group)>],
    stats: &mut CorrelationStats,
) {
    for (parent_index, parent) in specs.iter().enumerate() {
        for chain in parent.chained.iter().filter(|c| c.child == child) {
            let parent_key: state::GroupKey = chain.group_map.iter().map(|&i| key.get(i).cloned().flatten()).collect();
            let groups = &mut per_spec[parent_index];
            let at = match groups.iter().position(|(k, _)| *k == parent_key) {
                Some(at) => at,
                None => {
                    groups.push((parent_key, state::Group::default()));
                    groups.len() - 1
                }
            };
            let group = &mut groups[at].1;
            for (time_ms, at) in fired {
                if group.events.len() >= MAX_EVENTS_PER_GROUP {
                    group.dropped += 1;
                    stats.dropped_events += 1;
                    continue;
                }
                group.events.push(state::Observation {
                    time_ms: *time_ms,
                    position: chain.position,
                    value: None,
                    at: at.clone(),
                    counted: false,
                });
            }
        }
    }
}

/// Longest group-by or counted value kept, in bytes: values come from evidence (a user name
/// field can hold anything), and each kept match holds one.
pub const MAX_VALUE_BYTES: usize = 256;

/// A value as kept for grouping and counting: cut on a character boundary past
/// [`MAX_VALUE_BYTES`], marked with `…` (values sharing that prefix then group together).
pub(crate) fn kept_value(value: &str) -> Box<str> {
    if value.len() <= MAX_VALUE_BYTES {
        return Box::from(value);
    }
    let mut end = MAX_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end]).into_boxed_str()
}

/// Whether a count meets every predicate.
pub(crate) fn meets(predicates: &[(ConditionOperator, u64)], count: u64) -> bool {
    predicates.iter().all(|&(op, n)| match op {
        ConditionOperator::Lt => count < n,
        ConditionOperator::Lte => count <= n,
        ConditionOperator::Gt => count > n,
        ConditionOperator::Gte => count >= n,
        ConditionOperator::Eq => count == n,
        ConditionOperator::Neq => count != n,
    })
}

/// A temporal condition (`rule_a and not rule_b`) over which inputs are present.
pub(crate) fn holds(expression: &ConditionExpr, refs: &[Vec<String>], present: &[bool]) -> bool {
    match expression {
        ConditionExpr::And(parts) => parts.iter().all(|p| holds(p, refs, present)),
        ConditionExpr::Or(parts) => parts.iter().any(|p| holds(p, refs, present)),
        ConditionExpr::Not(inner) => !holds(inner, refs, present),
        ConditionExpr::Identifier(name) => {
            refs.iter().zip(present).any(|(names, &seen)| seen && names.iter().any(|n| n == name))
        }
        // Refused at load (see `check_expression`).
        ConditionExpr::Selector { .. } => false,
    }
}

/// Why a temporal condition is not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExpressionError {
    #[error("the condition names {0:?}, which is not a correlated rule")]
    NotAnInput(String),
    #[error("`N of` selectors in a temporal condition are not run")]
    Selector,
}

/// Whether every identifier of a temporal condition names an input; selectors are refused.
pub(crate) fn check_expression(expression: &ConditionExpr, refs: &[Vec<String>]) -> Result<(), ExpressionError> {
    match expression {
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => {
            parts.iter().try_for_each(|p| check_expression(p, refs))
        }
        ConditionExpr::Not(inner) => check_expression(inner, refs),
        ConditionExpr::Identifier(name) if refs.iter().any(|names| names.contains(name)) => Ok(()),
        ConditionExpr::Identifier(name) => Err(ExpressionError::NotAnInput(name.clone())),
        ConditionExpr::Selector { .. } => Err(ExpressionError::Selector),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_on_a_character_boundary_and_marked() {
        assert_eq!(&*kept_value("ann"), "ann");
        let long = "é".repeat(MAX_VALUE_BYTES);
        let kept = kept_value(&long);
        assert!(kept.len() <= MAX_VALUE_BYTES + '…'.len_utf8());
        assert!(kept.ends_with('…'));
        assert!(kept.trim_end_matches('…').chars().all(|c| c == 'é'));
    }

    #[test]
    fn predicates_are_all_required() {
        let range = [(ConditionOperator::Gt, 100), (ConditionOperator::Lte, 200)];
        assert!(!meets(&range, 100));
        assert!(meets(&range, 101));
        assert!(meets(&range, 200));
        assert!(!meets(&range, 201));
        assert!(meets(&[(ConditionOperator::Neq, 3)], 4));
        assert!(!meets(&[(ConditionOperator::Eq, 3)], 4));
    }

    #[test]
    fn temporal_expressions_read_presence() {
        let refs = vec![vec!["a".to_owned()], vec!["b".to_owned(), "id-b".to_owned()]];
        let expr = rsigma_parser::parse_condition("a and not b").expect("parses");
        assert!(holds(&expr, &refs, &[true, false]));
        assert!(!holds(&expr, &refs, &[true, true]));
        let by_id = rsigma_parser::parse_condition("a and id-b").ok();
        if let Some(by_id) = by_id {
            assert!(holds(&by_id, &refs, &[true, true]));
        }
        let refused = check_expression(&rsigma_parser::parse_condition("a and c").expect("parses"), &refs);
        assert_eq!(refused, Err(ExpressionError::NotAnInput("c".into())));
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("the condition names \"c\", which is not a correlated rule".to_owned())
        );
    }
}
