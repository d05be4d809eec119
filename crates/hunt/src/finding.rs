//! Findings from rule matches, and the timeline order.

use seawall_model::{Evidence, Finding, Location, RuleRef, RuleSource};
use seawall_rules::CompiledRule;
use seawall_sigma::{SigmaEngine, SigmaHit};
use seawall_sources::{Record, RecordSource};

fn location_of(record: &dyn Record, path: &str) -> Location {
    let (line, number) = match record.source() {
        RecordSource::Line(n) => (Some(n), None),
        RecordSource::EvtxRecord(n) => (None, Some(n)),
    };
    Location::File { path: path.to_owned(), line, record: number }
}

/// A finding for one record matched by one rule.
pub(crate) fn from_match(rule: &CompiledRule, record: &dyn Record, path: &str) -> Finding {
    let location = location_of(record, path);
    let outcome = rule.outcome(record);
    let title = match outcome {
        Some(outcome) => format!("{} ({})", rule.spec.title, outcome.as_str()),
        None => rule.spec.title.clone(),
    };
    let raw = record.raw();
    let mut evidence = vec![Evidence::bytes(location.key(), &raw)];
    let fields: Vec<String> = rule
        .spec
        .evidence
        .iter()
        .filter_map(|name| record.field(name).map(|value| format!("{name}={value}")))
        .collect();
    if !fields.is_empty() {
        evidence.push(Evidence::text("fields", &fields.join(" ")));
    }
    let mut finding = Finding::new(
        RuleRef { id: rule.spec.id.clone(), title, source: RuleSource::Native },
        rule.severity_for(outcome),
        rule.confidence,
        location,
        evidence,
        &[],
    );
    finding.time = record.time().map(|t| t.to_string());
    finding.outcome = outcome.map(|o| o.as_str().to_owned());
    finding.cves = rule.spec.cves.clone();
    finding.actors = rule.spec.actors.clone();
    finding.remediation = rule.spec.remediation.clone();
    finding.references = rule.spec.references.clone();
    finding
}

/// A finding for one record matched by one Sigma rule: the Sigma level as severity, the
/// rule's status as confidence, its references, and its `cve.*` tags as CVEs.
pub(crate) fn from_sigma(engine: &SigmaEngine, hit: &SigmaHit, record: &dyn Record, path: &str) -> Finding {
    let rule = engine.rule(hit.rule);
    let location = location_of(record, path);
    let raw = record.raw();
    let mut evidence = vec![Evidence::bytes(location.key(), &raw)];
    let fields: Vec<String> = hit.fields.iter().map(|(name, value)| format!("{name}={value}")).collect();
    if !fields.is_empty() {
        evidence.push(Evidence::text("fields", &fields.join(" ")));
    }
    let mut about = vec![format!("read as {} for {}", hit.source, rule.logsource)];
    if !hit.selections.is_empty() {
        about.push(format!("matched {}", hit.selections.join(", ")));
    }
    let attack = rule.attack_tags();
    if !attack.is_empty() {
        about.push(format!("tags {}", attack.join(" ")));
    }
    if !rule.falsepositives.is_empty() {
        about.push(format!("false positives: {}", rule.falsepositives.join("; ")));
    }
    about.push(format!("rule file {}", rule.origin));
    evidence.push(Evidence::text("sigma", &about.join("; ")));
    let mut finding = Finding::new(
        RuleRef { id: rule.id.clone(), title: rule.title.clone(), source: RuleSource::Sigma },
        rule.severity(),
        rule.confidence(),
        location,
        evidence,
        &[],
    );
    finding.time = record.time().map(|t| t.to_string());
    finding.cves = rule.cves();
    finding.references = rule.references.clone();
    finding
}

/// Time first (untimed last), then place and rule: the same input gives the same order.
pub(crate) fn sort_timeline(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            let (path, line, record) = match &f.location {
                Location::File { path, line, record } => (path.clone(), line.unwrap_or(0), record.unwrap_or(0)),
                Location::Host { host, port } => (host.clone(), u64::from(*port), 0),
            };
            let time = f.time.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok());
            (time.is_none(), time, path, line, record, f.rule.id.clone(), f.id.clone())
        };
        key(a).cmp(&key(b))
    });
}
