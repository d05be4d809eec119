//! Turning matches into findings: YARA rule matches, hash and path IOCs, and
//! the attribution that IOCs lend to a file's other findings.

use std::collections::BTreeSet;

use seawall_kb::{Ioc, IocKind, IocSet};
use seawall_model::{Evidence, Finding, Location, RuleRef, RuleSource, Severity};
use yara_x::Scanner;

use crate::content::file_type;
use crate::detectors::{CATALOG, DetectorId, YARA_REMEDIATION};
use crate::digest::FileHashes;
use crate::location::PathParts;
use crate::rules::RuleSet;

/// Patterns shown per rule match, and bytes shown per pattern.
const PATTERNS_SHOWN: usize = 3;
const MATCH_BYTES_SHOWN: usize = 160;

fn file_location(display_path: &str) -> Location {
    Location::File { path: display_path.to_owned(), line: None, record: None }
}

/// The external variables for one file, as THOR/Loki define them.
fn external_values(display_path: &str, data: &[u8]) -> [(&'static str, String); 5] {
    let path = PathParts::new(display_path);
    let filename = display_path.rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
    let extension = match path.extension() {
        "" => String::new(),
        ext => format!(".{ext}"),
    };
    [
        ("filename", filename),
        ("filepath", display_path.replace('/', "\\")),
        ("extension", extension),
        ("filetype", file_type(data).to_owned()),
        ("owner", String::new()),
    ]
}

/// Scan bytes with the rule set; one finding per matching rule.
pub(crate) fn yara(
    scanner: &mut Scanner<'_>,
    set: &RuleSet,
    data: &[u8],
    display_path: &str,
) -> Result<Vec<Finding>, yara_x::errors::ScanError> {
    for (name, value) in external_values(display_path, data) {
        // Defined at compile time, so setting cannot fail on type or name.
        let _ = scanner.set_global(name, value);
    }
    let results = scanner.scan(data)?;
    let mut findings = Vec::new();
    for rule in results.matching_rules() {
        let key = (rule.namespace().to_owned(), rule.identifier().to_owned());
        let Some(info) = set.info.get(&key) else { continue };
        let mut evidence = Vec::new();
        for pattern in rule.patterns().filter(|p| p.matches().len() > 0).take(PATTERNS_SHOWN) {
            if let Some(first) = pattern.matches().next() {
                let range = first.range();
                let shown = &data[range.start..range.end.min(range.start + MATCH_BYTES_SHOWN)];
                evidence.push(Evidence::bytes(format!("offset {} {}", range.start, pattern.identifier()), shown));
            }
        }
        if evidence.is_empty() {
            evidence.push(Evidence::text("condition", "the rule's condition matched (no string patterns)"));
        }
        let origin = if info.builtin { "seawall built-in rule" } else { "external rule" };
        evidence.push(Evidence::text("rule", &format!("{origin} {}:{}", rule.namespace(), rule.identifier())));
        let rule_ref = RuleRef { id: info.id.clone(), title: info.title.clone(), source: RuleSource::Yara };
        let mut finding =
            Finding::new(rule_ref, info.severity, info.confidence, file_location(display_path), evidence, &[]);
        finding.actors = info.actors.clone();
        finding.references = info.references.clone();
        finding.remediation = Some(CATALOG.catalog().text(YARA_REMEDIATION, &[]));
        findings.push(finding);
    }
    Ok(findings)
}

fn actors_of<'a>(iocs: impl IntoIterator<Item = &'a Ioc>) -> Vec<String> {
    let set: BTreeSet<String> = iocs.into_iter().filter_map(|ioc| ioc.actor.clone()).collect();
    set.into_iter().collect()
}

fn ioc_evidence(ioc: &Ioc) -> Evidence {
    let mut text = ioc.describe();
    if let Some(note) = &ioc.note {
        text.push_str(": ");
        text.push_str(note);
    }
    if let Some(reference) = &ioc.reference {
        text.push_str(" <");
        text.push_str(reference);
        text.push('>');
    }
    Evidence::text("ioc", &text)
}

/// `SW-IOC-HASH`: the file's hash is a published indicator.
pub(crate) fn hash_iocs(iocs: &IocSet, hashes: &FileHashes, display_path: &str) -> Vec<Finding> {
    let mut matched: Vec<&Ioc> = Vec::new();
    let mut shown = Vec::new();
    for (kind, hex) in hashes.all() {
        let found = iocs.ioc_for_hash(hex);
        if !found.is_empty() {
            shown.push(format!("{kind} {hex}"));
            matched.extend(found);
        }
    }
    if matched.is_empty() {
        return Vec::new();
    }
    let mut evidence: Vec<Evidence> = shown.iter().map(|s| Evidence::text("file hash", s)).collect();
    evidence.extend(matched.iter().map(|ioc| ioc_evidence(ioc)));
    let keys: Vec<&str> = shown.iter().map(String::as_str).collect();
    let mut finding =
        CATALOG.describe(DetectorId::IocHash, &[], &[]).finding(&file_location(display_path), evidence, &keys);
    finding.actors = actors_of(matched.iter().copied());
    finding.references =
        matched.iter().filter_map(|ioc| ioc.reference.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    vec![finding]
}

/// `SW-IOC-PATH` (a published path ends the evidence path) and
/// `SW-IOC-FILENAME` (only the name matches, weak on its own).
pub(crate) fn path_iocs(iocs: &IocSet, display_path: &str) -> Vec<Finding> {
    let matched = iocs.ioc_for_path(display_path);
    let (full, names): (Vec<&Ioc>, Vec<&Ioc>) = matched.into_iter().partition(|ioc| {
        ioc.kind == IocKind::FilePath && ioc.value.split(['\\', '/']).filter(|p| !p.is_empty()).count() >= 2
    });
    let mut findings = Vec::new();
    for (group, id) in [(full, DetectorId::IocPath), (names, DetectorId::IocFileName)] {
        if group.is_empty() {
            continue;
        }
        let mut evidence = vec![Evidence::text("path", display_path)];
        evidence.extend(group.iter().map(|ioc| ioc_evidence(ioc)));
        let mut finding = CATALOG.describe(id, &[], &[]).finding(&file_location(display_path), evidence, &[]);
        finding.actors = actors_of(group.iter().copied());
        finding.references =
            group.iter().filter_map(|ioc| ioc.reference.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        findings.push(finding);
    }
    findings
}

/// Groups named by a file's IOC findings also go on the file's other
/// findings at medium or above, with the IOC lines as evidence: the webshell
/// YARA found at a Tick path is Tick's webshell as far as the traces go.
pub(crate) fn share_attribution(findings: &mut [Finding]) {
    let mut actors = BTreeSet::new();
    let mut lines = Vec::new();
    for finding in findings.iter().filter(|f| f.rule.source == RuleSource::Ioc && !f.actors.is_empty()) {
        actors.extend(finding.actors.iter().cloned());
        lines.extend(finding.evidence.iter().filter(|e| e.source == "ioc").cloned());
    }
    if actors.is_empty() {
        return;
    }
    for finding in findings.iter_mut().filter(|f| f.rule.source != RuleSource::Ioc && f.severity >= Severity::Medium) {
        let mut merged: BTreeSet<String> = finding.actors.iter().cloned().collect();
        merged.extend(actors.iter().cloned());
        finding.actors = merged.into_iter().collect();
        finding.evidence.extend(lines.iter().cloned());
    }
}
