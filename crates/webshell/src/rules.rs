//! Compiling the YARA rule sets: the built-in rules embedded at build time and
//! the `--yara DIR` sets users bring (signature-base, their own). A rule
//! yara-x rejects is reported as a [`Diagnostic`] and left out; the others of
//! its file still load.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use seawall_model::{Confidence, Severity};
use yara_x::{Compiler, MetaValue, Rules, SourceCode};

use crate::Error;

const BUILTIN_RULES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/builtin-rules.bin.gz"));

/// The external variables signature-base's rules (and THOR/Loki) expect,
/// defined empty at compile time and set per file when scanning.
pub(crate) const EXTERNAL_VARIABLES: [&str; 5] = ["filename", "filepath", "extension", "filetype", "owner"];

/// Namespace of the built-in rules (one, so their private rules are shared);
/// external namespaces are `ext<N>_<file stem>`.
const BUILTIN_NAMESPACE: &str = "seawall";

/// A rule (or a whole file) that could not be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule file, as given (`builtin:chopper.yar` for embedded rules).
    pub file: String,
    /// The rule the problem is in, when it can be told.
    pub rule: Option<String>,
    /// yara-x's error code (`E009`) or `io` for unreadable files.
    pub code: String,
    /// One line: what is wrong.
    pub reason: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: rule {rule}: {} [{}] (skipped)", self.file, self.reason, self.code),
            None => write!(f, "{}: {} [{}] (skipped)", self.file, self.reason, self.code),
        }
    }
}

/// What a finding needs to know about a rule, read once from its metadata.
#[derive(Debug, Clone)]
pub(crate) struct RuleInfo {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) severity: Severity,
    pub(crate) confidence: Confidence,
    pub(crate) actors: Vec<String>,
    pub(crate) references: Vec<String>,
    pub(crate) builtin: bool,
}

/// The compiled rules and their metadata, indexed by namespace and identifier.
#[derive(Debug)]
pub(crate) struct RuleSet {
    pub(crate) rules: Rules,
    pub(crate) info: HashMap<(String, String), RuleInfo>,
    pub(crate) builtin_count: usize,
    pub(crate) external_count: usize,
}

/// The built-in rule files as `(name, text)`, decompressed.
pub(crate) fn builtin_sources() -> Result<Vec<(String, String)>, Error> {
    let mut packed = Vec::new();
    GzDecoder::new(BUILTIN_RULES).read_to_end(&mut packed).map_err(|e| Error::Builtin(format!("decompress: {e}")))?;
    let mut files = Vec::new();
    let mut rest = packed.as_slice();
    while !rest.is_empty() {
        let name = take_chunk(&mut rest).ok_or_else(|| Error::Builtin("truncated rule pack".into()))?;
        let text = take_chunk(&mut rest).ok_or_else(|| Error::Builtin("truncated rule pack".into()))?;
        let name = String::from_utf8(name.to_vec()).map_err(|e| Error::Builtin(e.to_string()))?;
        let text = String::from_utf8(text.to_vec()).map_err(|e| Error::Builtin(format!("{name}: {e}")))?;
        files.push((name, text));
    }
    Ok(files)
}

fn take_chunk<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, tail) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let chunk = tail.get(..len)?;
    *rest = &tail[len..];
    Some(chunk)
}

/// Every `.yar` / `.yara` file under `dir`, in path order, walked as every file tree is
/// (`seawall_sources::walk`: no symlinks followed, depth bounded). A folder that cannot be
/// read stops the load, as a `--yara DIR` that does not exist does.
pub(crate) fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let found = seawall_sources::walk::files_with_extensions(&[dir.to_path_buf()], &["yar", "yara"]);
    match found.errors.into_iter().next() {
        Some(error) => Err(Error::Io { path: error.path, source: error.source }),
        None => Ok(found.files),
    }
}

/// Compile the built-in rules (when wanted) and every rule file of `dirs`.
pub(crate) fn compile(builtin: bool, dirs: &[PathBuf]) -> Result<(RuleSet, Vec<Diagnostic>), Error> {
    let mut compiler = Compiler::new();
    // signature-base was written for libyara, whose regex syntax is looser.
    compiler.relaxed_re_syntax(true);
    for name in EXTERNAL_VARIABLES {
        compiler.define_global(name, "").map_err(|e| Error::Builtin(format!("variable {name}: {e}")))?;
    }
    let mut diagnostics = Vec::new();

    if builtin {
        compiler.new_namespace(BUILTIN_NAMESPACE);
        for (name, text) in builtin_sources()? {
            let origin = format!("builtin:{name}");
            add_source(&mut compiler, &text, &origin, &mut diagnostics);
        }
        if !diagnostics.is_empty() {
            let listed: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            return Err(Error::Builtin(listed.join("; ")));
        }
    }

    let mut index = 0usize;
    for dir in dirs {
        for path in rule_files(dir)? {
            index += 1;
            let origin = path.display().to_string();
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(err) => {
                    diagnostics.push(Diagnostic {
                        file: origin,
                        rule: None,
                        code: "io".into(),
                        reason: err.to_string(),
                    });
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&bytes);
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let namespace: String =
                stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
            compiler.new_namespace(&format!("ext{index}_{namespace}"));
            add_source(&mut compiler, &text, &origin, &mut diagnostics);
        }
    }

    let rules = compiler.build();
    let mut info = HashMap::new();
    let (mut builtin_count, mut external_count) = (0, 0);
    for rule in rules.iter().filter(|rule| !rule.is_private()) {
        let rule_info = rule_info(&rule);
        if rule_info.builtin {
            builtin_count += 1;
        } else {
            external_count += 1;
        }
        info.insert((rule.namespace().to_owned(), rule.identifier().to_owned()), rule_info);
    }
    Ok((RuleSet { rules, info, builtin_count, external_count }, diagnostics))
}

/// Add one file's rules; every error yara-x raises becomes a diagnostic
/// naming the rule it sits in (yara-x keeps the file's other rules).
fn add_source(compiler: &mut Compiler<'_>, text: &str, origin: &str, diagnostics: &mut Vec<Diagnostic>) {
    let before = compiler.errors().len();
    let _ = compiler.add_source(SourceCode::from(text).with_origin(origin));
    let ignored: Vec<(String, *const yara_x::errors::CompileError)> = compiler
        .ignored_rules()
        .filter_map(|(rule, reason)| match reason {
            yara_x::IgnoredRuleReason::CompileError(err) => Some((rule.to_owned(), std::ptr::from_ref(err))),
            _ => None,
        })
        .collect();
    for error in &compiler.errors()[before..] {
        let named = ignored.iter().find(|(_, err)| std::ptr::eq(*err, error)).map(|(rule, _)| rule.clone());
        let rule = named.or_else(|| {
            let offset = error.labels().next().map(|label| label.span().start())?;
            rule_at(text, offset)
        });
        diagnostics.push(Diagnostic {
            file: origin.to_owned(),
            rule,
            code: error.code().to_owned(),
            reason: error.title().to_owned() + &label_text(error),
        });
    }
}

fn label_text(error: &yara_x::errors::CompileError) -> String {
    error.labels().next().map(|label| format!(": {}", label.text())).unwrap_or_default()
}

/// The name of the rule whose declaration precedes `offset` in `text`.
fn rule_at(text: &str, offset: usize) -> Option<String> {
    let head = text.get(..offset.min(text.len()))?;
    let mut search = head;
    while let Some(pos) = search.rfind("rule") {
        let before_ok = pos == 0 || search[..pos].ends_with(|c: char| c.is_whitespace());
        let after = &search[pos + 4..];
        if before_ok && after.starts_with(|c: char| c.is_whitespace()) {
            let name: String =
                after.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                return Some(name);
            }
        }
        search = &search[..pos];
    }
    None
}

fn meta_text(value: &MetaValue<'_>) -> Option<String> {
    match value {
        MetaValue::String(text) => Some((*text).to_owned()),
        MetaValue::Integer(n) => Some(n.to_string()),
        MetaValue::Float(x) => Some(x.to_string()),
        MetaValue::Bool(b) => Some(b.to_string()),
        MetaValue::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Severity from a THOR/Loki `score` (0-100; Loki counts a rule without one as 75).
fn severity_of_score(score: i64) -> Severity {
    match score {
        90.. => Severity::Critical,
        75..=89 => Severity::High,
        60..=74 => Severity::Medium,
        40..=59 => Severity::Low,
        _ => Severity::Info,
    }
}

fn rule_info(rule: &yara_x::Rule<'_, '_>) -> RuleInfo {
    let builtin = rule.namespace() == BUILTIN_NAMESPACE;
    let mut id = None;
    let mut title = None;
    let mut severity = None;
    let mut confidence = None;
    let mut actors = Vec::new();
    let mut references = Vec::new();
    for (key, value) in rule.metadata() {
        let Some(text) = meta_text(&value) else { continue };
        match key.to_ascii_lowercase().as_str() {
            "id" if builtin => id = Some(text),
            "description" => title = title.or(Some(text)),
            "severity" => severity = text.parse::<Severity>().ok().or(severity),
            "score" if severity.is_none() => {
                severity = text.trim().parse::<i64>().ok().map(severity_of_score);
            }
            "confidence" => {
                confidence = match text.to_ascii_lowercase().as_str() {
                    "high" => Some(Confidence::High),
                    "medium" => Some(Confidence::Medium),
                    "low" => Some(Confidence::Low),
                    _ => confidence,
                };
            }
            "actor" | "threat_actor" => actors.extend(text.split(',').map(|a| a.trim().to_owned())),
            key if key.starts_with("reference") || key == "url" => references.push(text),
            _ => {}
        }
    }
    let severity = severity.unwrap_or(if builtin { Severity::High } else { severity_of_score(75) });
    RuleInfo {
        id: id.unwrap_or_else(|| rule.identifier().to_owned()),
        title: title.unwrap_or_else(|| rule.identifier().to_owned()),
        severity,
        confidence: confidence.unwrap_or(if builtin { Confidence::High } else { Confidence::Medium }),
        actors: actors.into_iter().filter(|a| !a.is_empty()).collect(),
        references,
        builtin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_at_finds_the_enclosing_rule() {
        let text = "rule a { condition: true }\nprivate rule b_2 : tag {\n strings: $x = \"rule\"\n condition: $x }";
        assert_eq!(rule_at(text, 12).as_deref(), Some("a"));
        let offset = text.find("$x =").unwrap_or(0);
        assert_eq!(rule_at(text, offset).as_deref(), Some("b_2"));
        assert_eq!(rule_at(text, 0), None);
    }

    #[test]
    fn scores_map_like_loki() {
        assert_eq!(severity_of_score(100), Severity::Critical);
        assert_eq!(severity_of_score(75), Severity::High);
        assert_eq!(severity_of_score(70), Severity::Medium);
        assert_eq!(severity_of_score(50), Severity::Low);
        assert_eq!(severity_of_score(10), Severity::Info);
    }

    #[test]
    fn builtin_pack_round_trips() {
        let files = builtin_sources().unwrap_or_default();
        assert!(!files.is_empty());
        assert!(files.iter().all(|(name, text)| name.ends_with(".yar") && text.contains("rule ")));
    }
}
