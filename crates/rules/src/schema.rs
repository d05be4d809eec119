//! The rule file format, as written in `data/detections/*.toml`.

use seawall_model::{Confidence, Severity};
use serde::{Deserialize, Deserializer};

/// The log families a rule can read; a misspelt family is a load error, not a rule that never fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFamily {
    Iis,
    Httpproxy,
    EcpServer,
    OabGenerator,
    ExchangeCsv,
    Evtx,
    Entra,
}

impl LogFamily {
    /// The name readers give their records' family (`LogKind::family`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogFamily::Iis => "iis",
            LogFamily::Httpproxy => "httpproxy",
            LogFamily::EcpServer => "ecp-server",
            LogFamily::OabGenerator => "oab-generator",
            LogFamily::ExchangeCsv => "exchange-csv",
            LogFamily::Evtx => "evtx",
            LogFamily::Entra => "entra",
        }
    }
}

/// One file of rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub rule: Vec<RuleSpec>,
}

/// One detection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id, e.g. `SW-LOG-PROXYLOGON-26855`.
    pub id: String,
    pub title: String,
    /// Log families: `iis`, `httpproxy`, `ecp-server`, `oab-generator`, `evtx`, `exchange-csv`, `entra`.
    pub logs: Vec<LogFamily>,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Lowercase literals; a record holding none of them is not parsed for this rule.
    #[serde(default)]
    pub prefilter: Vec<String>,
    #[serde(default)]
    pub all: Vec<Condition>,
    #[serde(default)]
    pub any: Vec<Condition>,
    #[serde(default)]
    pub none: Vec<Condition>,
    #[serde(default)]
    pub outcome: Option<OutcomeSpec>,
    #[serde(default)]
    pub cves: Vec<String>,
    #[serde(default)]
    pub actors: Vec<String>,
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// Where the pattern comes from (advisory, vendor page, peer rule read to learn from).
    pub source: String,
    /// Fields shown as evidence besides the raw record.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// A test on one field. Every operator given must hold; an operator with a
/// list holds when any of its values does. Case-insensitive unless `cased`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub equals: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub contains: Vec<String>,
    /// Every value must be contained.
    #[serde(default, deserialize_with = "one_or_many")]
    pub contains_all: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub starts_with: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub ends_with: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub glob: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub regex: Vec<String>,
    /// `true`: the field is absent or empty; `false`: it has a value.
    #[serde(default)]
    pub empty: Option<bool>,
    #[serde(default)]
    pub cased: bool,
}

/// How to tell success from an attempt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeSpec {
    pub field: String,
    /// Values (globs allowed, e.g. `2*`) that mean the request succeeded.
    pub success: Vec<String>,
    /// Severity of an attempt; default one level below the rule's.
    #[serde(default)]
    pub attempt_severity: Option<Severity>,
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}
