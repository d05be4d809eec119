//! A correlation hit as a seawall finding: the correlation rule, the group, how many
//! matches in which window, first and last time, and the sample references.

use seawall_model::{Evidence, Finding, Location, RuleRef, RuleSource};

use super::CorrelationHit;
use crate::engine::{SigmaEngine, SigmaRuleKind};

impl SigmaEngine {
    /// The finding for one correlation hit: located at its first sample, timed at its first
    /// match, with the count, the window, the group and the samples as evidence. Its id
    /// depends on the rule, the group and the first time, so a rerun gives the same id.
    pub fn correlation_finding(&self, hit: &CorrelationHit) -> Finding {
        let rule = self.rule(hit.rule);
        let location = match hit.samples.first() {
            Some(sample) => Location::File { path: sample.origin.clone(), line: sample.line, record: sample.record },
            None => Location::File { path: String::new(), line: None, record: None },
        };
        let group: Vec<String> = hit
            .group
            .iter()
            .map(|(name, value)| format!("{name}={}", value.as_deref().unwrap_or("(absent)")))
            .collect();
        let group = if group.is_empty() { "(all events)".to_owned() } else { group.join(" ") };
        let mut what = format!("{} matching events", hit.count);
        if let Some(distinct) = hit.distinct_values {
            let shown = hit.values.join(", ");
            what = format!("{distinct} distinct values ({shown}) in {what}");
        }
        let (measure, window, condition) = match &rule.kind {
            SigmaRuleKind::Correlation { measure, timespan, condition, .. } => {
                (measure.as_str(), timespan.as_deref().unwrap_or("the whole evidence"), condition.as_str())
            }
            SigmaRuleKind::Detection => ("detection", "-", ""),
        };
        let correlated: Vec<&str> = hit.rules.iter().map(|&r| self.rule(r).title.as_str()).collect();
        let mut evidence = vec![Evidence::text(
            "correlation",
            &format!(
                "{measure} `{condition}` within {window}: {what} from {} to {} for {group}; rules: {}",
                hit.first,
                hit.last,
                correlated.join(", ")
            ),
        )];
        let samples: Vec<String> = hit
            .samples
            .iter()
            .map(|s| {
                let at = match (s.line, s.record) {
                    (Some(line), _) => format!(":{line}"),
                    (None, Some(record)) => format!("#{record}"),
                    (None, None) => String::new(),
                };
                format!("{}{at} at {}", s.origin, s.time)
            })
            .collect();
        evidence.push(Evidence::text("samples", &samples.join("; ")));
        if hit.dropped > 0 {
            evidence.push(Evidence::text(
                "bounds",
                &format!("{} further matches of this group were dropped by the memory bound", hit.dropped),
            ));
        }
        let mut about = vec![rule.logsource.clone()];
        if !rule.falsepositives.is_empty() {
            about.push(format!("false positives: {}", rule.falsepositives.join("; ")));
        }
        about.push(format!("rule file {}", rule.origin));
        evidence.push(Evidence::text("sigma", &about.join("; ")));
        let first = hit.first.to_string();
        let mut finding = Finding::new(
            RuleRef { id: rule.id.clone(), title: rule.title.clone(), source: RuleSource::Sigma },
            rule.severity(),
            rule.confidence(),
            location,
            evidence,
            &[&group, &first],
        );
        finding.time = Some(first);
        finding.cves = rule.cves();
        finding.references = rule.references.clone();
        finding
    }
}
