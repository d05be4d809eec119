//! Sigma v1 aggregations (`condition: selection | count(User) by Host > 10` with an optional
//! `timeframe`), read as the correlation they stand for.
//!
//! The pipe syntax predates correlation rules; the Sigma correlation specification calls it
//! obsolete but SigmaHQ still ships rules in it (its `unsupported/` folder), and tools like
//! Chainsaw run them. `count()` counts matching events (an `event_count` correlation),
//! `count(field)` the distinct values of the field (a `value_count`), per `by` group, in the
//! rule's `timeframe` (the whole evidence when it has none).

use rsigma_parser::ConditionOperator;

/// The top-level key the rewrite adds to a document so the parsed rule carries its aggregation.
pub(crate) const AGGREGATION_KEY: &str = "seawall-aggregation";

/// A parsed `| count(...) by ... OP N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Aggregation {
    /// `count(field)`: distinct values of the field; `count()`: events.
    pub(crate) field: Option<String>,
    pub(crate) group_by: Vec<String>,
    pub(crate) operator: ConditionOperator,
    pub(crate) threshold: u64,
}

/// Why an aggregation is not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct AggregationError(pub(crate) String);

/// Parse the part after the pipe: `count(TargetUserName) by WorkstationName > 3`.
pub(crate) fn parse_aggregation(text: &str) -> Result<Aggregation, AggregationError> {
    let text = text.trim();
    if text.starts_with("near ") || text == "near" {
        return Err(AggregationError(
            "`near` (temporal proximity inside one rule) is not run; a temporal correlation rule says the same".into(),
        ));
    }
    let open = text.find('(').ok_or_else(|| AggregationError(format!("no aggregation function in `{text}`")))?;
    let function = text[..open].trim();
    if function != "count" {
        return Err(AggregationError(format!(
            "aggregation function `{function}` is not run (only count(), the one the correlation specification keeps)"
        )));
    }
    let close = text[open..]
        .find(')')
        .map(|at| open + at)
        .ok_or_else(|| AggregationError(format!("unclosed `(` in `{text}`")))?;
    let field = text[open + 1..close].trim();
    let field = (!field.is_empty()).then(|| field.to_owned());
    let rest = text[close + 1..].trim();
    let (group_part, comparison) = match rest.strip_prefix("by ") {
        Some(after) => {
            let at = after
                .find(['<', '>', '=', '!'])
                .ok_or_else(|| AggregationError(format!("no comparison in `{text}`")))?;
            (after[..at].trim(), after[at..].trim())
        }
        None => ("", rest),
    };
    let group_by: Vec<String> =
        group_part.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect();
    if group_by.iter().any(|g| g.contains(char::is_whitespace)) {
        return Err(AggregationError(format!("group-by `{group_part}` is not a field list")));
    }
    let (operator, number) = [
        (">=", ConditionOperator::Gte),
        ("<=", ConditionOperator::Lte),
        ("==", ConditionOperator::Eq),
        ("!=", ConditionOperator::Neq),
        (">", ConditionOperator::Gt),
        ("<", ConditionOperator::Lt),
        ("=", ConditionOperator::Eq),
    ]
    .iter()
    .find_map(|(symbol, op)| comparison.strip_prefix(symbol).map(|n| (*op, n.trim())))
    .ok_or_else(|| AggregationError(format!("no comparison in `{text}`")))?;
    let threshold =
        number.parse::<u64>().map_err(|_| AggregationError(format!("`{number}` is not a whole number in `{text}`")))?;
    Ok(Aggregation { field, group_by, operator, threshold })
}

impl Aggregation {
    /// Back to the text stored under [`AGGREGATION_KEY`].
    pub(crate) fn encode(&self) -> String {
        let op = match self.operator {
            ConditionOperator::Gt => ">",
            ConditionOperator::Gte => ">=",
            ConditionOperator::Lt => "<",
            ConditionOperator::Lte => "<=",
            ConditionOperator::Eq => "==",
            ConditionOperator::Neq => "!=",
        };
        let by = if self.group_by.is_empty() { String::new() } else { format!(" by {}", self.group_by.join(", ")) };
        format!("count({}){by} {op} {}", self.field.as_deref().unwrap_or(""), self.threshold)
    }
}

/// A rule file with every one-line `condition: A | count(...) ...` split: the condition keeps
/// `A`, the aggregation goes to a top-level [`AGGREGATION_KEY`] of the same document. `None`
/// when the file has no aggregation. Refusals (an aggregation that does not parse) are returned
/// as the condition text and the reason, and the document is left as it was (it then fails to
/// parse and is listed).
pub(crate) fn split_aggregations(text: &str) -> Option<(String, Vec<(String, AggregationError)>)> {
    if !text.lines().any(|l| is_aggregated_condition(l).is_some()) {
        return None;
    }
    let mut refused = Vec::new();
    let mut out = String::with_capacity(text.len() + 64);
    // Per document: the aggregation to add before its first top-level key.
    let mut documents: Vec<Vec<String>> = vec![Vec::new()];
    for line in text.lines() {
        if line.starts_with("---") {
            documents.push(Vec::new());
        }
        if let Some(document) = documents.last_mut() {
            document.push(line.to_owned());
        }
    }
    for lines in &documents {
        let mut aggregation = None;
        let mut rewritten = Vec::with_capacity(lines.len() + 1);
        for line in lines {
            match is_aggregated_condition(line) {
                Some((indent, left, right)) => match parse_aggregation(right) {
                    Ok(parsed) if aggregation.is_none() => {
                        rewritten.push(format!("{indent}condition: {left}"));
                        aggregation = Some(parsed);
                    }
                    Ok(_) => {
                        refused.push((line.trim().to_owned(), AggregationError("two aggregations in one rule".into())));
                        rewritten.push(line.clone());
                    }
                    Err(e) => {
                        refused.push((line.trim().to_owned(), e));
                        rewritten.push(line.clone());
                    }
                },
                None => rewritten.push(line.clone()),
            }
        }
        if let Some(aggregation) = aggregation {
            // A top-level key goes first in the document, after a `---` separator if any.
            let at = usize::from(rewritten.first().is_some_and(|l| l.starts_with("---")));
            let value = aggregation.encode().replace('\'', "''");
            rewritten.insert(at, format!("{AGGREGATION_KEY}: '{value}'"));
        }
        for line in rewritten {
            out.push_str(&line);
            out.push('\n');
        }
    }
    Some((out, refused))
}

/// `(indent, left, right)` of `    condition: left | right` (a one-line condition with a pipe).
fn is_aggregated_condition(line: &str) -> Option<(&str, &str, &str)> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let value = trimmed.strip_prefix("condition:")?.trim();
    let value = value.split(" #").next().unwrap_or(value).trim();
    let (left, right) = value.split_once('|')?;
    let (left, right) = (left.trim(), right.trim());
    (!left.is_empty() && !right.is_empty()).then_some((indent, left, right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_of_a_field_by_a_group() {
        let a = parse_aggregation("count(TargetUserName) by WorkstationName > 3").expect("parses");
        assert_eq!(a.field.as_deref(), Some("TargetUserName"));
        assert_eq!(a.group_by, vec!["WorkstationName"]);
        assert_eq!((a.operator, a.threshold), (ConditionOperator::Gt, 3));
        assert_eq!(parse_aggregation(&a.encode()).expect("round trip"), a);
    }

    #[test]
    fn count_of_events_without_group_and_other_operators() {
        let a = parse_aggregation("count() >= 10").expect("parses");
        assert_eq!((a.field, a.group_by.len(), a.operator, a.threshold), (None, 0, ConditionOperator::Gte, 10));
        let b = parse_aggregation("count() by Computer, User < 2").expect("parses");
        assert_eq!(b.group_by, vec!["Computer", "User"]);
        assert_eq!(b.operator, ConditionOperator::Lt);
    }

    #[test]
    fn other_functions_and_near_are_refused_with_a_reason() {
        assert!(parse_aggregation("sum(Bytes) by Host > 10").is_err_and(|e| e.0.contains("sum")));
        assert!(parse_aggregation("near selection2").is_err_and(|e| e.0.contains("near")));
        assert!(parse_aggregation("count() by Host > many").is_err());
        assert!(parse_aggregation("count() by Host").is_err());
    }

    #[test]
    fn the_condition_is_split_per_document() {
        let text = "title: a\ndetection:\n    sel:\n        EventID: 4625\n    condition: sel | count(TargetUserName) by IpAddress > 10 # noisy\n---\ntitle: b\ndetection:\n    sel:\n        EventID: 1\n    condition: sel\n";
        let (out, refused) = split_aggregations(text).expect("has an aggregation");
        assert!(refused.is_empty());
        assert!(out.starts_with("seawall-aggregation: 'count(TargetUserName) by IpAddress > 10'\ntitle: a\n"), "{out}");
        assert!(out.contains("    condition: sel\n---\ntitle: b"), "{out}");
        assert_eq!(out.matches(AGGREGATION_KEY).count(), 1);
        assert!(split_aggregations("detection:\n  condition: sel\n").is_none());
    }
}
