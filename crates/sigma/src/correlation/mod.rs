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
pub use state::{CorrelationState, CorrelationStats, MAX_EVENTS_PER_GROUP, MAX_OPEN_GROUPS};
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
pub(crate) fn finish(specs: &[CorrelationSpec], mut state: CorrelationState) -> CorrelationReport {
    let mut hits = Vec::new();
    let mut groups: Vec<_> = state.groups.drain().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    for ((correlation, key), mut group) in groups {
        let spec = &specs[correlation as usize];
        group.events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
        let mut bursts = sweep::sweep_group(spec, &group.events);
        bursts.append(&mut group.bursts);
        for burst in sweep::fold_bursts(bursts) {
            hits.extend(sweep::hit_of(spec, &key, burst, group.dropped));
        }
    }
    hits.sort_by_key(|h| (h.first, h.rule));
    CorrelationReport { hits, stats: state.stats }
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

/// Whether every identifier of a temporal condition names an input; selectors are refused.
pub(crate) fn check_expression(expression: &ConditionExpr, refs: &[Vec<String>]) -> Result<(), String> {
    match expression {
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => {
            parts.iter().try_for_each(|p| check_expression(p, refs))
        }
        ConditionExpr::Not(inner) => check_expression(inner, refs),
        ConditionExpr::Identifier(name) if refs.iter().any(|names| names.contains(name)) => Ok(()),
        ConditionExpr::Identifier(name) => Err(format!("the condition names {name:?}, which is not a correlated rule")),
        ConditionExpr::Selector { .. } => Err("`N of` selectors in a temporal condition are not run".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(check_expression(&rsigma_parser::parse_condition("a and c").expect("parses"), &refs).is_err());
    }
}
