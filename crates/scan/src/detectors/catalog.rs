//! The schema of a detector catalog (`data/detectors/*.toml`) and how one entry
//! becomes the rule, severity, confidence, remediation and references of a finding.

use std::collections::BTreeMap;

use seawall_model::{Confidence, Evidence, Finding, Location, RuleRef, RuleSource, Severity};
use serde::Deserialize;

use crate::data::DataError;

/// A catalog file: shared text fragments and one entry per detector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Fragments several detectors splice into a placeholder.
    #[serde(default)]
    pub texts: BTreeMap<String, String>,
    pub detector: Vec<Detector>,
}

/// What a detector says about its findings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detector {
    pub id: String,
    pub title: String,
    pub kind: RuleSource,
    pub severity: Severity,
    pub confidence: Confidence,
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// The CVEs every finding of the detector is about (a check of one vulnerability).
    #[serde(default)]
    pub cves: Vec<String>,
    /// The RFC, advisory or vendor document the check rests on.
    pub source: Vec<String>,
    /// Set when a value above is a default that another file or rule decides per finding.
    #[serde(default)]
    pub decided_by: Option<String>,
    /// Named situations that override some fields; applied in the order the code names them.
    #[serde(default)]
    pub variants: BTreeMap<String, Variant>,
    /// Named fragments the code splices into this detector's placeholders.
    #[serde(default)]
    pub texts: BTreeMap<String, String>,
}

/// The fields a situation may change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub title: Option<String>,
    pub kind: Option<RuleSource>,
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
    pub remediation: Option<String>,
}

/// One finding's metadata, placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub rule: RuleRef,
    pub severity: Severity,
    pub confidence: Confidence,
    pub remediation: Option<String>,
    pub references: Vec<String>,
    pub cves: Vec<String>,
}

impl Described {
    /// The finding, with this metadata, of `evidence` at `location` (`key` as in [`Finding::new`]).
    pub fn finding(self, location: &Location, evidence: Vec<Evidence>, key: &[&str]) -> Finding {
        let mut finding = Finding::new(self.rule, self.severity, self.confidence, location.clone(), evidence, key);
        finding.remediation = self.remediation;
        finding.references = self.references;
        finding.cves = self.cves;
        finding
    }
}

impl Catalog {
    /// Parse a catalog; `file` names it in errors. Ids must be unique.
    pub fn parse(file: &'static str, text: &str) -> Result<Catalog, DataError> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| DataError::new(file, e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for detector in &catalog.detector {
            if !seen.insert(detector.id.as_str()) {
                return Err(DataError::new(file, format!("detector {} is listed twice", detector.id)));
            }
            if detector.source.is_empty() {
                return Err(DataError::new(file, format!("detector {} names no source", detector.id)));
            }
        }
        Ok(catalog)
    }

    pub fn get(&self, id: &str) -> Option<&Detector> {
        self.detector.iter().find(|d| d.id == id)
    }

    /// A shared fragment, placeholders filled (empty if the catalog lacks it).
    pub fn text(&self, name: &str, values: &[(&str, &str)]) -> String {
        debug_assert!(self.texts.contains_key(name), "no text {name:?} in the catalog");
        self.texts.get(name).map(|t| fill(t, values)).unwrap_or_default()
    }
}

impl Detector {
    /// The metadata of a finding in the situations `variants` (in order), with `values`
    /// filling the `{placeholders}` of id, title and remediation. A remediation that
    /// fills to nothing is none.
    pub fn describe(&self, variants: &[&str], values: &[(&str, &str)]) -> Described {
        let mut title = &self.title;
        let mut kind = self.kind;
        let mut severity = self.severity;
        let mut confidence = self.confidence;
        let mut remediation = self.remediation.as_ref();
        for variant in variants.iter().filter_map(|name| self.variants.get(*name)) {
            title = variant.title.as_ref().unwrap_or(title);
            kind = variant.kind.unwrap_or(kind);
            severity = variant.severity.unwrap_or(severity);
            confidence = variant.confidence.unwrap_or(confidence);
            remediation = variant.remediation.as_ref().or(remediation);
        }
        // A placeholder the caller does not fill is a code/catalog mismatch the tests must see.
        debug_assert!(
            [Some(self.id.as_str()), Some(title.as_str()), remediation.map(String::as_str)]
                .into_iter()
                .flatten()
                .flat_map(placeholders)
                .all(|name| values.iter().any(|(key, _)| *key == name)),
            "{}: a placeholder is not filled by {values:?}",
            self.id
        );
        Described {
            rule: RuleRef { id: fill(&self.id, values), title: fill(title, values), source: kind },
            severity,
            confidence,
            remediation: remediation.map(|r| fill(r, values)).filter(|r| !r.is_empty()),
            references: self.references.clone(),
            cves: self.cves.clone(),
        }
    }

    /// One of this detector's fragments, placeholders filled (empty if absent).
    pub fn text(&self, name: &str, values: &[(&str, &str)]) -> String {
        debug_assert!(self.texts.contains_key(name), "no text {name:?} in the catalog");
        self.texts.get(name).map(|t| fill(t, values)).unwrap_or_default()
    }

    /// Every `{placeholder}` of id, title, remediation and texts, variants included.
    pub fn placeholders(&self) -> std::collections::BTreeSet<String> {
        let variant_texts = self.variants.values().flat_map(|v| [v.title.as_deref(), v.remediation.as_deref()]);
        [Some(self.id.as_str()), Some(self.title.as_str()), self.remediation.as_deref()]
            .into_iter()
            .chain(variant_texts)
            .chain(self.texts.values().map(|t| Some(t.as_str())))
            .flatten()
            .flat_map(placeholders)
            .collect()
    }
}

/// The names of the `{placeholders}` of `template`: letters, digits, `_` and `-` between braces.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(name) = placeholder_name(rest) {
            names.push(name.to_owned());
            rest = &rest[name.len() + 1..];
        }
    }
    names
}

fn placeholder_name(after_brace: &str) -> Option<&str> {
    let end = after_brace.find('}')?;
    let name = &after_brace[..end];
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then_some(name)
}

/// `template` with each `{name}` that `values` names replaced, in one pass: a value that
/// itself contains braces (a banner, a path from the network) is not expanded again.
/// Braces that name nothing stay as written (`${if eq{$tls_in_cipher}{}{}{*}}`).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = placeholder_name(after)
            .and_then(|name| values.iter().find(|(key, _)| *key == name).map(|(_, value)| (name, value)));
        match value {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
[[detector]]
id = "SW-X-{KIND}"
title = "{what} seen"
kind = "probe"
severity = "medium"
confidence = "high"
remediation = "Fix {what}."
source = ["RFC 1"]
variants.mx = { severity = "low", remediation = "" }
"#;

    #[test]
    fn fill_replaces_named_placeholders_once_and_keeps_other_braces() {
        let text = fill("{a} and {b} and ${if{x}} {a}", &[("a", "{b}"), ("b", "B")]);
        assert_eq!(text, "{b} and B and ${if{x}} {b}");
        assert_eq!(placeholders("${if eq{$tls_in_cipher}{}{}{*}} {install}"), vec!["install"]);
    }

    #[test]
    fn variants_override_in_order_and_an_empty_remediation_is_none() {
        let catalog = Catalog::parse("small.toml", SMALL).expect("parses");
        let detector = catalog.get("SW-X-{KIND}").expect("listed");
        let plain = detector.describe(&[], &[("what", "a thing"), ("KIND", "TLS")]);
        assert_eq!(plain.rule.id, "SW-X-TLS");
        assert_eq!(plain.rule.title, "a thing seen");
        assert_eq!((plain.severity, plain.remediation.as_deref()), (Severity::Medium, Some("Fix a thing.")));
        let mx = detector.describe(&["mx", "not-a-variant"], &[("what", "x"), ("KIND", "TLS")]);
        assert_eq!((mx.severity, mx.remediation), (Severity::Low, None));
    }

    #[test]
    fn unknown_fields_bad_enums_and_duplicates_are_refused() {
        let typo = SMALL.replace("remediation = \"Fix", "remedy = \"Fix");
        assert!(Catalog::parse("t.toml", &typo).is_err_and(|e| e.message.contains("remedy")));
        let severity = SMALL.replace("\"medium\"", "\"severe\"");
        assert!(Catalog::parse("t.toml", &severity).is_err_and(|e| e.message.contains("severe")));
        let kind = SMALL.replace("\"probe\"", "\"network\"");
        assert!(Catalog::parse("t.toml", &kind).is_err());
        let twice = format!("{SMALL}{}", &SMALL[SMALL.find("[[detector]]").expect("entry")..]);
        assert!(Catalog::parse("t.toml", &twice).is_err_and(|e| e.message.contains("twice")));
        let variant_typo = SMALL.replace("severity = \"low\"", "sevrity = \"low\"");
        assert!(Catalog::parse("t.toml", &variant_typo).is_err());
    }
}
