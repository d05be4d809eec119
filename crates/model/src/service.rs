use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a scan saw on one `host:port`: the facts, not a verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub port: u16,
    /// `https`, `http`, `smtp`, `submission`, `smtps`, `imap`, `imaps`, `pop3`, `pop3s`, `rsync`.
    pub protocol: String,
    /// `exchange`, `exchange-online`, `postfix`, `dovecot`, `rsync`, ... when recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// For Exchange the full build when known, else the most precise prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A name a person recognises, e.g. `Exchange Server 2019 CU12 Mar23SU`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// Which fingerprint methods agreed on product and version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleartext_auth: Option<bool>,
    /// Other protocol facts (banner, capabilities, modules, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, serde_json::Value>,
}

/// The TLS posture seen on a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// Protocol versions the server accepted, e.g. `["TLS1.2", "TLS1.3"]`.
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The chain as the server sent it, leaf first.
    #[serde(default)]
    pub chain: Vec<Certificate>,
}

/// One certificate of a served chain, recorded whether or not it validates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    #[serde(default)]
    pub sans: Vec<String>,
    /// RFC 3339 UTC.
    pub not_before: String,
    /// RFC 3339 UTC.
    pub not_after: String,
    /// e.g. `RSA 2048`, `EC P-256`.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}
