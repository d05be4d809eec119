//! Rules compiled for matching: literal prefilters in one Aho-Corasick automaton,
//! conditions lowered to direct string tests.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use seawall_model::{Confidence, Severity};
use seawall_sources::Record;

use crate::glob::glob_match;
use crate::schema::{Condition, RuleFile, RuleSpec};

/// A problem in a rule file, naming the file, the rule and the problem's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error[{code}] {origin}: {rule}: {message}")]
pub struct RuleSetError {
    pub origin: String,
    pub rule: String,
    /// A stable code (`SWR001`...), see [`RuleProblem::code`].
    pub code: &'static str,
    pub message: String,
}

/// What can be wrong with one rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    #[error("not a rule file: {0}")]
    Syntax(String),
    #[error("duplicate rule id")]
    DuplicateId,
    #[error("cites no source")]
    NoSource,
    #[error("names no logs")]
    NoLogs,
    #[error("has no `all` or `any` condition")]
    NoCondition,
    #[error("prefilter literals must be non-empty and lowercase")]
    BadPrefilter,
    #[error("field {field}: bad regex {pattern:?}: {reason}")]
    BadRegex { field: String, pattern: String, reason: String },
    #[error("id must start with SW- and use A-Z, 0-9 and -")]
    BadId,
    #[error("field {field}: a condition needs an operator")]
    NoOperator { field: String },
}

impl RuleProblem {
    /// Stable across releases, for scripts that check rule sets.
    pub fn code(&self) -> &'static str {
        match self {
            RuleProblem::Syntax(_) => "SWR001",
            RuleProblem::DuplicateId => "SWR002",
            RuleProblem::NoSource => "SWR003",
            RuleProblem::NoLogs => "SWR004",
            RuleProblem::NoCondition => "SWR005",
            RuleProblem::BadPrefilter => "SWR006",
            RuleProblem::BadRegex { .. } => "SWR007",
            RuleProblem::BadId => "SWR008",
            RuleProblem::NoOperator { .. } => "SWR009",
        }
    }

    fn at(self, origin: &str, rule: &str) -> RuleSetError {
        RuleSetError { origin: origin.to_owned(), rule: rule.to_owned(), code: self.code(), message: self.to_string() }
    }
}

/// Whether an exploitation attempt got through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Attempt,
    Success,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Attempt => "attempt",
            Outcome::Success => "success",
        }
    }
}

#[derive(Debug)]
struct CompiledCondition {
    field: String,
    equals: Vec<String>,
    contains: Vec<String>,
    contains_all: Vec<String>,
    starts_with: Vec<String>,
    ends_with: Vec<String>,
    glob: Vec<String>,
    regex: Vec<Regex>,
    empty: Option<bool>,
    cased: bool,
}

impl CompiledCondition {
    fn compile(spec: &Condition) -> Result<CompiledCondition, RuleProblem> {
        let fold = |values: &[String]| -> Vec<String> {
            values.iter().map(|v| if spec.cased { v.clone() } else { v.to_lowercase() }).collect()
        };
        let regex = spec
            .regex
            .iter()
            .map(|r| {
                let pattern = if spec.cased { r.clone() } else { format!("(?i){r}") };
                regex::RegexBuilder::new(&pattern).size_limit(1 << 20).build().map_err(|e| RuleProblem::BadRegex {
                    field: spec.field.clone(),
                    pattern: r.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let condition = CompiledCondition {
            field: spec.field.clone(),
            equals: fold(&spec.equals),
            contains: fold(&spec.contains),
            contains_all: fold(&spec.contains_all),
            starts_with: fold(&spec.starts_with),
            ends_with: fold(&spec.ends_with),
            glob: spec.glob.clone(),
            regex,
            empty: spec.empty,
            cased: spec.cased,
        };
        let any_operator = !(condition.equals.is_empty()
            && condition.contains.is_empty()
            && condition.contains_all.is_empty()
            && condition.starts_with.is_empty()
            && condition.ends_with.is_empty()
            && condition.glob.is_empty()
            && condition.regex.is_empty()
            && condition.empty.is_none());
        if !any_operator {
            return Err(RuleProblem::NoOperator { field: spec.field.clone() });
        }
        Ok(condition)
    }

    fn holds(&self, record: &dyn Record) -> bool {
        let value = record.field(&self.field);
        if let Some(want_empty) = self.empty {
            let is_empty = value.as_deref().is_none_or(|v| v.trim().is_empty());
            if is_empty != want_empty {
                return false;
            }
        }
        let needs_value = !(self.equals.is_empty()
            && self.contains.is_empty()
            && self.contains_all.is_empty()
            && self.starts_with.is_empty()
            && self.ends_with.is_empty()
            && self.glob.is_empty()
            && self.regex.is_empty());
        if !needs_value {
            return true;
        }
        let Some(value) = value else { return false };
        let folded = if self.cased { value.to_string() } else { value.to_lowercase() };
        let v = folded.as_str();
        (self.equals.is_empty() || self.equals.iter().any(|e| v == e))
            && (self.contains.is_empty() || self.contains.iter().any(|c| v.contains(c.as_str())))
            && self.contains_all.iter().all(|c| v.contains(c.as_str()))
            && (self.starts_with.is_empty() || self.starts_with.iter().any(|s| v.starts_with(s.as_str())))
            && (self.ends_with.is_empty() || self.ends_with.iter().any(|s| v.ends_with(s.as_str())))
            && (self.glob.is_empty() || self.glob.iter().any(|g| glob_match(g, &value, self.cased)))
            && (self.regex.is_empty() || self.regex.iter().any(|r| r.is_match(&value)))
    }
}

/// One rule, ready to match.
#[derive(Debug)]
pub struct CompiledRule {
    pub spec: RuleSpec,
    pub severity: Severity,
    pub confidence: Confidence,
    attempt_severity: Severity,
    all: Vec<CompiledCondition>,
    any: Vec<CompiledCondition>,
    none: Vec<CompiledCondition>,
}

impl CompiledRule {
    fn compile(spec: RuleSpec) -> Result<CompiledRule, RuleProblem> {
        let severity = spec.severity;
        let confidence = spec.confidence;
        let attempt_severity = match spec.outcome.as_ref().and_then(|o| o.attempt_severity) {
            Some(severity) => severity,
            None => Severity::ALL[(severity as usize).saturating_sub(1)],
        };
        let valid_id = spec.id.strip_prefix("SW-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        });
        if !valid_id {
            return Err(RuleProblem::BadId);
        }
        if spec.source.trim().is_empty() {
            return Err(RuleProblem::NoSource);
        }
        if spec.logs.is_empty() {
            return Err(RuleProblem::NoLogs);
        }
        if spec.all.is_empty() && spec.any.is_empty() {
            return Err(RuleProblem::NoCondition);
        }
        if spec.prefilter.iter().any(|p| p.is_empty() || *p != p.to_lowercase()) {
            return Err(RuleProblem::BadPrefilter);
        }
        let compile = |list: &[Condition]| list.iter().map(CompiledCondition::compile).collect::<Result<Vec<_>, _>>();
        Ok(CompiledRule {
            all: compile(&spec.all)?,
            any: compile(&spec.any)?,
            none: compile(&spec.none)?,
            severity,
            confidence,
            attempt_severity,
            spec,
        })
    }

    pub fn matches(&self, record: &dyn Record) -> bool {
        self.all.iter().all(|c| c.holds(record))
            && (self.any.is_empty() || self.any.iter().any(|c| c.holds(record)))
            && !self.none.iter().any(|c| c.holds(record))
    }

    /// Attempt or success, when the rule says how to tell.
    pub fn outcome(&self, record: &dyn Record) -> Option<Outcome> {
        let spec = self.spec.outcome.as_ref()?;
        let value = record.field(&spec.field).map(|v| v.trim().to_owned()).unwrap_or_default();
        let success = spec.success.iter().any(|s| glob_match(s, &value, false));
        Some(if success { Outcome::Success } else { Outcome::Attempt })
    }

    pub fn severity_for(&self, outcome: Option<Outcome>) -> Severity {
        match outcome {
            Some(Outcome::Attempt) => self.attempt_severity,
            _ => self.severity,
        }
    }

    pub fn applies_to(&self, family: &str) -> bool {
        self.spec.logs.iter().any(|l| l.as_str() == family)
    }
}

/// Every rule, with the prefilter automaton over their literals.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    prefilter: AhoCorasick,
    /// For each literal pattern, the rules that named it.
    literal_rules: Vec<Vec<usize>>,
    /// Rules without a prefilter: evaluated on every record of their logs.
    unfiltered: Vec<usize>,
    /// The prefilter's literals, in pattern order.
    literals: Vec<String>,
}

impl RuleSet {
    /// Compile rule files; every problem is returned, with the file and rule.
    pub fn load(files: &[(String, String)]) -> Result<RuleSet, Vec<RuleSetError>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (origin, text) in files {
            let file: RuleFile = match toml::from_str(text) {
                Ok(file) => file,
                Err(e) => {
                    errors.push(RuleProblem::Syntax(e.to_string()).at(origin, "-"));
                    continue;
                }
            };
            for spec in file.rule {
                let id = spec.id.clone();
                if rules.iter().any(|r: &CompiledRule| r.spec.id == id) {
                    errors.push(RuleProblem::DuplicateId.at(origin, &id));
                    continue;
                }
                match CompiledRule::compile(spec) {
                    Ok(rule) => rules.push(rule),
                    Err(problem) => errors.push(problem.at(origin, &id)),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut literals: Vec<String> = Vec::new();
        let mut literal_rules: Vec<Vec<usize>> = Vec::new();
        let mut unfiltered = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.spec.prefilter.is_empty() {
                unfiltered.push(index);
            }
            for literal in &rule.spec.prefilter {
                match literals.iter().position(|l| l == literal) {
                    Some(at) => literal_rules[at].push(index),
                    None => {
                        literals.push(literal.clone());
                        literal_rules.push(vec![index]);
                    }
                }
            }
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .map_err(|e| vec![RuleProblem::Syntax(format!("prefilter automaton: {e}")).at("prefilter", "-")])?;
        Ok(RuleSet { rules, prefilter, literal_rules, unfiltered, literals })
    }

    /// The embedded detections.
    pub fn embedded() -> Result<RuleSet, Vec<RuleSetError>> {
        let files: Vec<(String, String)> = crate::EMBEDDED
            .iter()
            .map(|(name, text)| (format!("data/detections/{name}"), (*text).to_owned()))
            .collect();
        RuleSet::load(&files)
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn rule(&self, index: usize) -> &CompiledRule {
        &self.rules[index]
    }

    /// Whether any rule reads this log family.
    pub fn reads(&self, family: &str) -> bool {
        self.rules.iter().any(|r| r.applies_to(family))
    }

    /// The rules worth evaluating on a record of `family` whose stored bytes are `raw`
    /// (cheap: one automaton pass, no field parsing). Cleared and filled into `out`.
    pub fn candidates(&self, family: &str, raw: &[u8], out: &mut Vec<usize>) {
        out.clear();
        for m in self.prefilter.find_overlapping_iter(raw) {
            for &rule in &self.literal_rules[m.pattern().as_usize()] {
                if !out.contains(&rule) && self.rules[rule].applies_to(family) {
                    out.push(rule);
                }
            }
        }
        for &rule in &self.unfiltered {
            if !out.contains(&rule) && self.rules[rule].applies_to(family) {
                out.push(rule);
            }
        }
    }

    /// The prefilter literals (lowercase, matched ignoring ASCII case).
    pub fn literals(&self) -> &[String] {
        &self.literals
    }

    /// Whether every rule for `family` has a prefilter, so that a record without any of
    /// [`RuleSet::literals`] has no candidate.
    pub fn every_rule_filtered(&self, family: &str) -> bool {
        !self.unfiltered.iter().any(|&r| self.rules[r].applies_to(family))
    }

    /// Whether a record can match anything at all (the hot-path check before parsing).
    pub fn any_candidate(&self, family: &str, raw: &[u8]) -> bool {
        self.unfiltered.iter().any(|&r| self.rules[r].applies_to(family))
            || self
                .prefilter
                .find_overlapping_iter(raw)
                .any(|m| self.literal_rules[m.pattern().as_usize()].iter().any(|&r| self.rules[r].applies_to(family)))
    }
}
