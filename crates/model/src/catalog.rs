//! Code detectors described as data: the schema of a detector catalog
//! (`data/detectors/*.toml`), how one entry becomes the rule, severity, confidence,
//! remediation and references of a finding, and the check that a crate's list of
//! detectors ([`CodeDetector`]) and its embedded catalog agree. The checks stay in the
//! crates (scan, hunt, webshell); what a finding says about itself is in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::{Confidence, Evidence, Finding, Location, RuleRef, RuleSource, Severity};

/// A catalog that does not load: which file, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct CatalogError {
    pub file: &'static str,
    pub message: String,
}

impl CatalogError {
    fn new(file: &'static str, message: impl Into<String>) -> CatalogError {
        CatalogError { file, message: message.into() }
    }
}

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
    pub fn parse(file: &'static str, text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| CatalogError::new(file, e.to_string()))?;
        let mut seen = BTreeSet::new();
        for detector in &catalog.detector {
            if !seen.insert(detector.id.as_str()) {
                return Err(CatalogError::new(file, format!("detector {} is listed twice", detector.id)));
            }
            if detector.source.is_empty() {
                return Err(CatalogError::new(file, format!("detector {} names no source", detector.id)));
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
    pub fn placeholders(&self) -> BTreeSet<String> {
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

/// A crate's list of code detectors: each names its catalog entry and what the code fills
/// in and chooses for it, so the unit tests can hold code and file equal.
pub trait CodeDetector: Copy + 'static {
    /// Every detector of the crate.
    const ALL: &'static [Self];
    /// The catalog's shared `[texts]` the code uses.
    const SHARED_TEXTS: &'static [&'static str] = &[];
    /// The id as the catalog writes it (placeholders included).
    fn as_str(self) -> &'static str;
    fn uses(self) -> Uses;
}

/// What the code fills in and chooses for one detector: checked against the file.
#[derive(Debug, Clone, Copy)]
pub struct Uses {
    pub placeholders: &'static [&'static str],
    pub variants: &'static [&'static str],
    pub texts: &'static [&'static str],
}

impl Uses {
    /// Placeholders and variants, no detector-specific texts.
    pub const fn new(placeholders: &'static [&'static str], variants: &'static [&'static str]) -> Uses {
        Uses { placeholders, variants, texts: &[] }
    }
}

/// A catalog compiled into a crate (`include_str!`), parsed once on first use and checked
/// to describe every detector of `D`.
pub struct EmbeddedCatalog<D> {
    file: &'static str,
    text: &'static str,
    parsed: OnceLock<Result<Catalog, CatalogError>>,
    ids: PhantomData<fn() -> D>,
}

impl<D> std::fmt::Debug for EmbeddedCatalog<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCatalog").field("file", &self.file).finish_non_exhaustive()
    }
}

impl<D: CodeDetector> EmbeddedCatalog<D> {
    /// `file` names the catalog in errors and listings (`data/detectors/scan.toml`).
    pub const fn new(file: &'static str, text: &'static str) -> EmbeddedCatalog<D> {
        EmbeddedCatalog { file, text, parsed: OnceLock::new(), ids: PhantomData }
    }

    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The parsed catalog, or why it does not load (an entry missing for a detector of `D`).
    pub fn load(&self) -> Result<&Catalog, CatalogError> {
        self.parsed
            .get_or_init(|| {
                let catalog = Catalog::parse(self.file, self.text)?;
                match D::ALL.iter().find(|id| catalog.get(id.as_str()).is_none()) {
                    Some(missing) => Err(CatalogError::new(self.file, format!("no entry for {}", missing.as_str()))),
                    None => Ok(catalog),
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The catalog for the detectors' use.
    ///
    /// The catalog is compiled in, and the crate's unit tests load it and check it against
    /// `D::ALL`: a failure here is a build that skipped its tests.
    pub fn catalog(&self) -> &Catalog {
        self.load()
            .unwrap_or_else(|e| panic!("an embedded detector catalog does not load (its unit tests fail too): {e}"))
    }

    /// The catalog entry of a code detector.
    pub fn detector(&self, id: D) -> &Detector {
        match self.catalog().get(id.as_str()) {
            Some(detector) => detector,
            None => unreachable!("load() checks that every detector has an entry"),
        }
    }

    /// A finding's metadata: the detector's entry in the situations `variants`, `values` filled.
    pub fn describe(&self, id: D, variants: &[&str], values: &[(&str, &str)]) -> Described {
        // A variant the code names but `uses()` does not declare (a typo) would be ignored silently.
        debug_assert!(
            variants.iter().all(|v| id.uses().variants.contains(v)),
            "{}: variants {variants:?} not all declared in uses()",
            id.as_str()
        );
        self.detector(id).describe(variants, values)
    }

    /// Every way the catalog and `D` disagree: ids on one side only, an id listed twice in
    /// `D::ALL`, placeholders, variants and texts the code and the entry do not both name,
    /// an entry whose source is blank. Empty when they agree (the crates' unit tests ask).
    pub fn disagreements(&self) -> Vec<String> {
        let catalog = match self.load() {
            Ok(catalog) => catalog,
            Err(e) => return vec![e.to_string()],
        };
        let set = |names: &mut dyn Iterator<Item = &str>| names.map(str::to_owned).collect::<BTreeSet<String>>();
        let mut found = Vec::new();
        let in_code = set(&mut D::ALL.iter().map(|id| id.as_str()));
        if in_code.len() != D::ALL.len() {
            found.push("an id is listed twice in the code's list of detectors".to_owned());
        }
        let mut compare = |what: String, code: BTreeSet<String>, file: BTreeSet<String>| {
            if code != file {
                found.push(format!("{what}: the code has {code:?}, {} has {file:?}", self.file));
            }
        };
        compare("ids".into(), in_code, set(&mut catalog.detector.iter().map(|d| d.id.as_str())));
        compare(
            "shared texts".into(),
            set(&mut D::SHARED_TEXTS.iter().copied()),
            set(&mut catalog.texts.keys().map(String::as_str)),
        );
        for &id in D::ALL {
            let Some(entry) = catalog.get(id.as_str()) else { continue };
            let uses = id.uses();
            let name = id.as_str();
            compare(format!("{name} placeholders"), set(&mut uses.placeholders.iter().copied()), entry.placeholders());
            compare(
                format!("{name} variants"),
                set(&mut uses.variants.iter().copied()),
                set(&mut entry.variants.keys().map(String::as_str)),
            );
            compare(
                format!("{name} texts"),
                set(&mut uses.texts.iter().copied()),
                set(&mut entry.texts.keys().map(String::as_str)),
            );
        }
        for entry in catalog.detector.iter().filter(|d| d.source.iter().any(|s| s.trim().is_empty())) {
            found.push(format!("{}: a blank source", entry.id));
        }
        found
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

    #[derive(Debug, Clone, Copy)]
    enum Small {
        X,
    }

    impl CodeDetector for Small {
        const ALL: &'static [Small] = &[Small::X];
        fn as_str(self) -> &'static str {
            "SW-X-{KIND}"
        }
        fn uses(self) -> Uses {
            Uses::new(&["KIND", "what"], &["mx"])
        }
    }

    #[test]
    fn an_embedded_catalog_agrees_with_its_code_or_says_where_not() {
        let agreeing: EmbeddedCatalog<Small> = EmbeddedCatalog::new("small.toml", SMALL);
        assert_eq!(agreeing.disagreements(), Vec::<String>::new());
        let described = agreeing.describe(Small::X, &["mx"], &[("what", "w"), ("KIND", "K")]);
        assert_eq!((described.rule.id.as_str(), described.severity), ("SW-X-K", Severity::Low));

        let renamed: EmbeddedCatalog<Small> =
            EmbeddedCatalog::new("small.toml", SMALL.replace("{what} seen", "{wat} seen").leak());
        let found = renamed.disagreements();
        assert!(found.len() == 1 && found[0].starts_with("SW-X-{KIND} placeholders"), "{found:?}");

        let other_id: EmbeddedCatalog<Small> =
            EmbeddedCatalog::new("small.toml", SMALL.replace("SW-X-{KIND}", "SW-Y-{KIND}").leak());
        assert!(other_id.load().is_err_and(|e| e.message == "no entry for SW-X-{KIND}"));
        assert_eq!(other_id.disagreements(), vec!["small.toml: no entry for SW-X-{KIND}".to_owned()]);
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
