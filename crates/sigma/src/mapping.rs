//! Field mappings as data (`data/sigma/mappings.toml`): which records serve a Sigma
//! `logsource`, and which record field a Sigma field name reads.

use std::collections::BTreeMap;

use rsigma_parser::LogSource;
use serde::Deserialize;

/// The mappings shipped in `data/sigma/mappings.toml`.
pub const EMBEDDED_MAPPINGS: &str = include_str!("../../../data/sigma/mappings.toml");

/// A mapping file that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sigma mappings: {0}")]
pub struct MappingError(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    fields: BTreeMap<String, FieldSetSpec>,
    logsource: Vec<LogSourceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSetSpec {
    closed: bool,
    #[serde(default)]
    map: BTreeMap<String, FieldSpecToml>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FieldSpecToml {
    Name(String),
    Decoded { field: String, decode: String },
    Join { join: Vec<String>, separator: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSourceSpec {
    category: Option<String>,
    product: Option<String>,
    service: Option<String>,
    source: Vec<SourceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    family: String,
    fields: String,
    #[serde(default, rename = "where")]
    filter: BTreeMap<String, Vec<String>>,
}

/// How a Sigma field is read from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// One record field, value as stored.
    Name(String),
    /// One record field whose `+` stand for spaces (IIS header values).
    PlusAsSpace(String),
    /// Record fields joined with a separator; absent parts are left out with their separator.
    Join { fields: Vec<String>, separator: String },
}

/// A named set of field mappings.
#[derive(Debug, Clone)]
pub struct FieldSet {
    pub name: String,
    /// Every field the records can have is mapped: other names cannot be read.
    pub closed: bool,
    /// Sigma name (compared case-insensitively) to record field.
    pub map: Vec<(String, FieldRef)>,
}

impl FieldSet {
    /// How `sigma_name` is read; `None` when a closed set cannot read it.
    pub fn resolve(&self, sigma_name: &str) -> Option<FieldRef> {
        match self.map.iter().find(|(name, _)| name.eq_ignore_ascii_case(sigma_name)) {
            Some((_, field)) => Some(field.clone()),
            None if self.closed => None,
            None => Some(FieldRef::Name(sigma_name.to_owned())),
        }
    }

    pub(crate) fn lookup(&self, sigma_name: &str) -> Option<&FieldRef> {
        self.map.iter().find(|(name, _)| name.eq_ignore_ascii_case(sigma_name)).map(|(_, f)| f)
    }
}

/// Records of one family that serve a log source, selected by a filter on their fields.
#[derive(Debug, Clone)]
pub struct Source {
    /// A short name for diagnostics: `evtx[Channel=Security,EventID=4688]`.
    pub name: String,
    pub family: String,
    /// Every (field, accepted values) pair must hold; values compare case-insensitively.
    pub filter: Vec<(String, Vec<String>)>,
    /// Index into [`Mappings::field_sets`].
    pub fields: usize,
}

/// A Sigma log source and the record sources that serve it.
#[derive(Debug, Clone)]
pub struct LogSourceMapping {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    /// Indexes into [`Mappings::sources`].
    pub sources: Vec<usize>,
}

impl LogSourceMapping {
    /// `category` and `service` equal (absent on both sides counts as equal); `product`
    /// absent on either side or equal.
    pub fn serves(&self, logsource: &LogSource) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        let product_ok = match (&self.product, &logsource.product) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        same(&self.category, &logsource.category) && same(&self.service, &logsource.service) && product_ok
    }
}

/// Every mapping, compiled.
#[derive(Debug, Clone)]
pub struct Mappings {
    pub field_sets: Vec<FieldSet>,
    pub sources: Vec<Source>,
    pub logsources: Vec<LogSourceMapping>,
}

impl Mappings {
    /// The mappings shipped with seawall.
    pub fn embedded() -> Result<Mappings, MappingError> {
        Mappings::parse(EMBEDDED_MAPPINGS)
    }

    /// Mappings from the text of a mapping file.
    pub fn parse(text: &str) -> Result<Mappings, MappingError> {
        let file: MappingFile = toml::from_str(text).map_err(|e| MappingError(e.to_string()))?;
        let mut field_sets = Vec::new();
        for (name, spec) in file.fields {
            let mut map = Vec::new();
            for (sigma, target) in spec.map {
                let field = match target {
                    FieldSpecToml::Name(name) => FieldRef::Name(name),
                    FieldSpecToml::Decoded { field, decode } if decode == "plus-as-space" => {
                        FieldRef::PlusAsSpace(field)
                    }
                    FieldSpecToml::Decoded { decode, .. } => {
                        return Err(MappingError(format!("field set {name}: {sigma}: unknown decoding {decode:?}")));
                    }
                    FieldSpecToml::Join { join, separator } if !join.is_empty() => {
                        FieldRef::Join { fields: join, separator }
                    }
                    FieldSpecToml::Join { .. } => {
                        return Err(MappingError(format!("field set {name}: {sigma}: join names no field")));
                    }
                };
                map.push((sigma, field));
            }
            field_sets.push(FieldSet { name, closed: spec.closed, map });
        }
        let mut sources: Vec<Source> = Vec::new();
        let mut logsources = Vec::new();
        for spec in file.logsource {
            if spec.source.is_empty() {
                return Err(MappingError("a logsource names no source".into()));
            }
            let mut indexes = Vec::new();
            for source in spec.source {
                let fields = field_sets
                    .iter()
                    .position(|set| set.name == source.fields)
                    .ok_or_else(|| MappingError(format!("unknown field set {:?}", source.fields)))?;
                if !matches!(source.family.as_str(), "iis" | "httpproxy" | "evtx") {
                    return Err(MappingError(format!("unknown record family {:?}", source.family)));
                }
                let filter: Vec<(String, Vec<String>)> = source.filter.into_iter().collect();
                let name = if filter.is_empty() {
                    source.family.clone()
                } else {
                    let parts: Vec<String> =
                        filter.iter().map(|(field, values)| format!("{field}={}", values.join("|"))).collect();
                    format!("{}[{}]", source.family, parts.join(","))
                };
                // Sources with the same family, filter and fields are one source.
                let index = match sources.iter().position(|s| s.name == name && s.fields == fields) {
                    Some(index) => index,
                    None => {
                        sources.push(Source { name, family: source.family, filter, fields });
                        sources.len() - 1
                    }
                };
                indexes.push(index);
            }
            logsources.push(LogSourceMapping {
                category: spec.category,
                product: spec.product,
                service: spec.service,
                sources: indexes,
            });
        }
        Ok(Mappings { field_sets, sources, logsources })
    }

    /// The sources that serve a rule's log source, in mapping order, without repeats.
    pub fn sources_for(&self, logsource: &LogSource) -> Vec<usize> {
        let mut out = Vec::new();
        for mapping in self.logsources.iter().filter(|m| m.serves(logsource)) {
            for &source in &mapping.sources {
                if !out.contains(&source) {
                    out.push(source);
                }
            }
        }
        out
    }

    /// Whether any source reads this record family.
    pub fn reads(&self, family: &str) -> bool {
        self.sources.iter().any(|s| s.family == family)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logsource(category: Option<&str>, product: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            category: category.map(str::to_owned),
            product: product.map(str::to_owned),
            service: service.map(str::to_owned),
            ..LogSource::default()
        }
    }

    #[test]
    fn embedded_mappings_load() {
        let mappings = Mappings::embedded().expect("embedded mappings");
        assert!(mappings.reads("iis") && mappings.reads("httpproxy") && mappings.reads("evtx"));
    }

    #[test]
    fn process_creation_is_served_by_sysmon_1_and_security_4688() {
        let mappings = Mappings::embedded().expect("mappings");
        let sources = mappings.sources_for(&logsource(Some("process_creation"), Some("windows"), None));
        let names: Vec<&str> = sources.iter().map(|&s| mappings.sources[s].name.as_str()).collect();
        assert_eq!(
            names,
            vec!["evtx[Channel=Microsoft-Windows-Sysmon/Operational,EventID=1]", "evtx[Channel=Security,EventID=4688]"]
        );
        let security = &mappings.sources[sources[1]];
        let fields = &mappings.field_sets[security.fields];
        assert_eq!(fields.resolve("image"), Some(FieldRef::Name("NewProcessName".into())));
        assert_eq!(fields.resolve("CommandLine"), Some(FieldRef::Name("CommandLine".into())));
    }

    #[test]
    fn webserver_reads_iis_and_httpproxy_with_closed_field_sets() {
        let mappings = Mappings::embedded().expect("mappings");
        let sources = mappings.sources_for(&logsource(Some("webserver"), None, None));
        let families: Vec<&str> = sources.iter().map(|&s| mappings.sources[s].family.as_str()).collect();
        assert_eq!(families, vec!["iis", "httpproxy"]);
        let iis = &mappings.field_sets[mappings.sources[sources[0]].fields];
        assert_eq!(iis.resolve("cs-user-agent"), Some(FieldRef::PlusAsSpace("cs(User-Agent)".into())));
        assert_eq!(iis.resolve("cs-uri-stem"), Some(FieldRef::Name("cs-uri-stem".into())));
        assert_eq!(iis.resolve("no-such-field"), None, "closed sets read only what they name");
    }

    #[test]
    fn logsource_matching_is_exact_on_category_and_service() {
        let mappings = Mappings::embedded().expect("mappings");
        assert!(mappings.sources_for(&logsource(Some("antivirus"), None, None)).is_empty());
        assert!(mappings.sources_for(&logsource(Some("process_creation"), Some("linux"), None)).is_empty());
        let security = mappings.sources_for(&logsource(None, Some("windows"), Some("security")));
        assert_eq!(security.len(), 1);
        assert_eq!(mappings.sources[security[0]].name, "evtx[Channel=Security]");
    }

    #[test]
    fn bad_mapping_files_are_errors() {
        assert!(
            Mappings::parse(
                "logsource = []\n[fields.x]\nclosed = true\n[fields.x.map]\na = { field = \"b\", decode = \"rot13\" }"
            )
            .is_err()
        );
        assert!(
            Mappings::parse("[[logsource]]\ncategory = \"x\"\nsource = [{ family = \"iis\", fields = \"nope\" }]")
                .is_err()
        );
    }
}
