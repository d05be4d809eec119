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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesSpec {
    #[allow(dead_code)]
    description: String,
    #[allow(dead_code)]
    references: Vec<String>,
    patterns: Vec<String>,
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
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    sinks: Vec<String>,
    #[serde(default = "yes")]
    method_sinks: bool,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    ignore_paths: Vec<String>,
    /// ProgIDs whose objects' methods of the sinks' names are other APIs: a method sink called
    /// on a variable set from `CreateObject` of one of these does not count.
    #[serde(default)]
    not_on_objects: Vec<String>,
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
    patterns: Vec<Regex>,
    method_sinks: bool,
    requires: Vec<Regex>,
    ignore_paths: Vec<Regex>,
    /// Lowercase ProgIDs (see the spec).
    not_on_objects: Vec<String>,
    requires_dialect: Option<DialectName>,
    references: Vec<String>,
}

/// A capability shown in a page, with what showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub(crate) id: String,
    pub(crate) weight: u32,
    pub(crate) decisive: bool,
    pub(crate) evidence: String,
}

/// The compiled capability data.
#[derive(Debug)]
pub(crate) struct CapabilityEngine {
    sources: Vec<Regex>,
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
                patterns,
                method_sinks: spec.method_sinks,
                requires: compile_all(&spec.requires, &what)?,
                ignore_paths: compile_all(&spec.ignore_paths, &what)?,
                not_on_objects: spec.not_on_objects.iter().map(|p| p.to_ascii_lowercase()).collect(),
                requires_dialect: spec.requires_dialect,
                references: spec.references,
            });
        }
        Ok(CapabilityEngine {
            sources: compile_all(&file.sources.patterns, "sources")?,
            capabilities,
            levels: file.verdict,
        })
    }

    /// Every capability the page shows: `code` is its normalised server code,
    /// `page` the whole normalised page (for the inputs it declares).
    pub(crate) fn assess(&self, code: &str, page: &str, dialect: Dialect, display_path: &str) -> Vec<Shown> {
        let mut taint: Option<flow::Taint> = None;
        let mut sources = self.sources.clone();
        sources.extend(server_input_sources(page));
        let mut shown = Vec::new();
        for capability in &self.capabilities {
            if capability.ignore_paths.iter().any(|p| p.is_match(display_path))
                || !capability.requires.iter().all(|r| r.is_match(code))
                || capability.requires_dialect.is_some_and(|d| !d.matches(dialect))
            {
                continue;
            }
            let evidence = match capability.kind {
                Kind::Api => {
                    capability.patterns.iter().find_map(|p| p.find(code)).map(|m| line_around(code, m.start()))
                }
                Kind::Flow => {
                    if !capability.patterns.iter().any(|p| p.is_match(code)) {
                        continue;
                    }
                    let taint = taint.get_or_insert_with(|| flow::propagate(code, &sources));
                    let sinks = flow::Sinks {
                        patterns: &capability.patterns,
                        methods: capability.method_sinks,
                        not_on_objects: &capability.not_on_objects,
                    };
                    flow::tainted_sink(code, &sinks, taint, &sources)
                }
            };
            if let Some(evidence) = evidence {
                shown.push(Shown {
                    id: capability.id.clone(),
                    weight: capability.weight,
                    decisive: capability.decisive,
                    evidence,
                });
            }
        }
        shown
    }

    /// The verdict's severity for a set of capabilities, `None` below `low`.
    pub(crate) fn severity(&self, shown: &[Shown]) -> Option<Severity> {
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
        if decisive { by_score.max(Some(Severity::High)) } else { by_score }
    }

    /// `SW-WEBSHELL-CAPABILITIES`: the page's capabilities add up to a webshell.
    pub(crate) fn finding(&self, shown: &[Shown], display_path: &str, applied: &[&str]) -> Option<Finding> {
        let severity = self.severity(shown)?;
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

/// The line of `code` holding `offset`, bounded, for evidence.
fn line_around(code: &str, offset: usize) -> String {
    let start = code[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = code[offset..].find('\n').map_or(code.len(), |i| offset + i);
    let line = &code[start..end];
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
    fn posted_server_inputs_are_sources_and_computed_execution_counts() {
        let e = engine();
        let page = "<input runat=\"server\" id=\"txtPath\" /><asp:TextBox ID=\"body\" runat=\"server\"/>";
        let code = "var w=new StreamWriter(txtPath.Value);\nw.Write(body.Text);";
        let shown = e.assess(code, page, Dialect::CLike, "/x/a.aspx");
        assert!(shown.iter().any(|s| s.id == "request-file-write"));
        assert!(e.assess(code, "", Dialect::CLike, "/x/a.aspx").iter().all(|s| s.id != "request-file-write"));
        let vb = e.assess("Execute cd(\"hw\",\"1\")", "", Dialect::Vb, "/x/a.asp");
        assert_eq!(ids(&vb), vec!["execute-computed"]);
        // A query opened on a Recordset is not a connection the visitor supplies; a
        // Connection opened with request data is.
        let query = "set conn=server.createobject(\"adodb.connection\")\nconn.open \"dsn=x\"\n\
                     sql=\"select * from t where id=\"&request(\"id\")\n\
                     set rs=server.createobject(\"adodb.recordset\")\nrs.open sql,conn,3,2";
        assert!(!ids(&e.assess(query, "", Dialect::Vb, "/x/a.asp")).contains(&"request-sql-connection"));
        let supplied = "set conn=server.createobject(\"adodb.connection\")\nconn.open request(\"dsn\")";
        assert!(ids(&e.assess(supplied, "", Dialect::Vb, "/x/a.asp")).contains(&"request-sql-connection"));
        // A procedure whose name starts with "execute" is not the statement.
        let sql =
            e.assess("Function executesql(sql,t)\nEnd Function\nexecutesql(\"x\",1)", "", Dialect::Vb, "/x/a.asp");
        assert!(ids(&sql).is_empty(), "{:?}", ids(&sql));
        let js = e.assess("var f={'E':eval};\nf.E(Request.form(\"z\")+'');", "", Dialect::CLike, "/x/a.asp");
        assert!(ids(&js).contains(&"eval-as-value"));
        assert!(e.severity(&js) >= Some(Severity::High));
    }

    fn engine() -> CapabilityEngine {
        CapabilityEngine::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids(shown: &[Shown]) -> Vec<&str> {
        shown.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn request_driven_eval_alone_is_a_webshell() {
        let e = engine();
        let shown = e.assess_code("Dim o:o=Request(\"k\")\nExecute o", "/site/a.asp");
        assert_eq!(ids(&shown), vec!["request-eval"]);
        assert!(e.severity(&shown) >= Some(Severity::High));
    }

    #[test]
    fn one_ordinary_capability_is_not() {
        let e = engine();
        let upload = "var f=Request.Files[0];\nf.SaveAs(Server.MapPath(\"~/up/\")+f.FileName);";
        let shown = e.assess_code(upload, "/site/upload.aspx");
        assert!(ids(&shown).contains(&"request-file-write"));
        assert!(e.severity(&shown) < Some(Severity::Medium));
        let eval_binding = "Eval(\"Name\")\nconn.Execute(\"select * from t where id=\"&Request(\"id\"))";
        assert!(e.assess_code(eval_binding, "/site/list.asp").iter().all(|s| !s.decisive));
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
        let finding = e.finding(&shown, "/site/t.aspx", &["concat"]).unwrap_or_else(|| panic!("no finding"));
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
    fn bad_data_is_an_error() {
        let text = CAPABILITIES_TOML.replace("kind = \"api\"", "kind = \"bogus\"");
        assert!(CapabilityEngine::from_toml(&text).is_err());
        let text = CAPABILITIES_TOML.replacen("'(?i)\\bRequest\\b'", "'(unclosed'", 1);
        assert!(CapabilityEngine::from_toml(&text).is_err());
    }
}
