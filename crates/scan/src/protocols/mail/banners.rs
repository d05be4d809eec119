//! Product and version from a greeting or from EHLO keywords, by the plain
//! text matchers of `data/probes/mail-banners.toml`.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::data::DataError;

const FILE: &str = "mail-banners.toml";
const EMBEDDED: &str = include_str!("../../../../../data/probes/mail-banners.toml");

/// One greeting rule of the data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreetingRule {
    pub product: String,
    pub name: String,
    pub protocols: Vec<String>,
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub version_after: Vec<String>,
    pub source: String,
}

/// One EHLO keyword that names a product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordRule {
    pub product: String,
    pub name: String,
    pub keyword: String,
    pub source: String,
}

/// The rules of `mail-banners.toml`, in file order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Banners {
    #[serde(default)]
    pub greeting: Vec<GreetingRule>,
    #[serde(default)]
    pub ehlo_keyword: Vec<KeywordRule>,
}

/// A product recognised on a service, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductMatch {
    /// The product id (`postfix`, `dovecot`, `exchange`, ...).
    pub product: String,
    pub name: String,
    pub version: Option<String>,
    /// `greeting`, `ehlo-keyword` or `capa-implementation`.
    pub method: String,
}

impl Banners {
    /// The rules built into seawall (parsed once).
    pub fn embedded() -> Result<&'static Banners, DataError> {
        static PARSED: OnceLock<Result<Banners, DataError>> = OnceLock::new();
        PARSED.get_or_init(|| Banners::parse(EMBEDDED)).as_ref().map_err(Clone::clone)
    }

    pub fn parse(text: &str) -> Result<Banners, DataError> {
        let banners: Banners = toml::from_str(text).map_err(|e| DataError::new(FILE, e.to_string()))?;
        for rule in &banners.greeting {
            if rule.contains.is_empty() && rule.prefix.is_none() {
                return Err(DataError::new(FILE, format!("the {} rule matches every greeting", rule.product)));
            }
            if let Some(p) = rule.protocols.iter().find(|p| !matches!(p.as_str(), "smtp" | "imap" | "pop3")) {
                return Err(DataError::new(FILE, format!("the {} rule names protocol {p:?}", rule.product)));
            }
        }
        Ok(banners)
    }

    /// The first rule for `protocol` (`smtp`, `imap`, `pop3`) that matches a greeting text.
    pub fn match_greeting(&self, protocol: &str, text: &str, method: &str) -> Option<ProductMatch> {
        let lower = text.to_ascii_lowercase();
        self.greeting.iter().filter(|r| r.protocols.iter().any(|p| p == protocol)).find_map(|rule| {
            let contains = rule.contains.iter().all(|c| lower.contains(&c.to_ascii_lowercase()));
            let prefix = rule.prefix.as_ref().is_none_or(|p| lower.starts_with(&p.to_ascii_lowercase()));
            (contains && prefix).then(|| ProductMatch {
                product: rule.product.clone(),
                name: rule.name.clone(),
                version: rule.version_after.iter().find_map(|after| version_after(text, after)),
                method: method.to_owned(),
            })
        })
    }

    /// The product named by an EHLO keyword (the first word of a keyword line).
    pub fn match_keywords(&self, keywords: &[String]) -> Option<ProductMatch> {
        self.ehlo_keyword.iter().find_map(|rule| {
            keywords
                .iter()
                .any(|k| k.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case(&rule.keyword)))
                .then(|| ProductMatch {
                    product: rule.product.clone(),
                    name: rule.name.clone(),
                    version: None,
                    method: "ehlo-keyword".into(),
                })
        })
    }
}

/// The version token right after `marker` in `text` (ASCII case-insensitive).
pub fn version_after(text: &str, marker: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find(&marker.to_ascii_lowercase())? + marker.len();
    let rest = text.get(at..)?.trim_start();
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | ',' | '(' | ')' | '[' | ']' | '/'))
        .collect();
    let token = token.trim_end_matches('.');
    let token = token.strip_prefix(['v', 'V']).filter(|t| t.starts_with(|c: char| c.is_ascii_digit())).unwrap_or(token);
    (token.starts_with(|c: char| c.is_ascii_digit()) && token.len() <= 64).then(|| token.to_owned())
}

/// The server name Exchange 2013 and later append to their IMAP4 and POP3
/// greetings as `[base64 of UTF-16LE]` (e.g. `... service is ready. [RQBYADAAMQA...]`).
/// An internal host name a scan should report; `None` for anything else.
pub fn exchange_server_name(text: &str) -> Option<String> {
    let inside = text.trim_end().strip_suffix(']')?.rsplit_once('[')?.1;
    let bytes = base64_decode(inside)?;
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) || bytes.len() > 512 {
        return None;
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    let name = String::from_utf16(&units).ok()?;
    name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).then_some(name)
}

/// Standard base64 with padding; `None` on anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, quad) in bytes.chunks_exact(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banners() -> &'static Banners {
        Banners::embedded().expect("embedded banners parse")
    }

    fn product(protocol: &str, text: &str) -> Option<(String, Option<String>)> {
        banners().match_greeting(protocol, text, "greeting").map(|m| (m.product, m.version))
    }

    #[test]
    fn embedded_rules_load_and_cite_sources() {
        let b = banners();
        assert!(b.greeting.len() >= 20);
        assert!(b.greeting.iter().all(|r| !r.source.is_empty()));
        assert!(b.ehlo_keyword.iter().all(|r| !r.source.is_empty()));
    }

    #[test]
    fn smtp_greetings() {
        // Texts as servers send them after "220 " (rigs.md §2.4, §2.7; nmap-service-probes).
        assert_eq!(product("smtp", "mail.seawall.test ESMTP Postfix (Debian/GNU)"), Some(("postfix".into(), None)));
        assert_eq!(
            product("smtp", "exim.seawall.test ESMTP Exim 4.96 Mon, 30 Nov 2026 10:00:00 +0000"),
            Some(("exim".into(), Some("4.96".into())))
        );
        assert_eq!(
            product("smtp", "mx.example.org ESMTP Sendmail 8.15.2/8.15.2; Mon, 30 Nov 2026 10:00:00 GMT"),
            Some(("sendmail".into(), Some("8.15.2".into())))
        );
        assert_eq!(
            product("smtp", "EX01.corp.example Microsoft ESMTP MAIL Service ready at Mon, 30 Nov 2026 10:00:00 +0000"),
            Some(("exchange".into(), None))
        );
        assert_eq!(
            product("smtp", "Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  Mon, 30 Nov 2026"),
            Some(("exchange".into(), Some("6.0.3790.4675".into())))
        );
        assert_eq!(product("smtp", "mx.example.org ESMTP OpenSMTPD"), Some(("opensmtpd".into(), None)));
        assert_eq!(
            product("smtp", "mail.example.org ESMTP hMailServer 5.6.8-B2574"),
            Some(("hmailserver".into(), Some("5.6.8-B2574".into())))
        );
        assert_eq!(product("smtp", "mail.example.org ESMTP"), None);
    }

    #[test]
    fn imap_and_pop3_greetings() {
        assert_eq!(product("imap", "Dovecot (Debian) ready."), Some(("dovecot".into(), None)));
        assert_eq!(product("pop3", "Dovecot ready."), Some(("dovecot".into(), None)));
        assert_eq!(
            product("imap", "The Microsoft Exchange IMAP4 service is ready. [RQBYADAAMQA=]"),
            Some(("exchange".into(), None))
        );
        assert_eq!(
            product("imap", "Microsoft Exchange Server 2003 IMAP4rev1 server version 6.5.7638.1 (ex03.corp) ready."),
            Some(("exchange".into(), Some("6.5.7638.1".into())))
        );
        assert_eq!(
            product("imap", "mail.example.org Cyrus IMAP v2.4.17-Debian-2.4.17+caldav~beta9-3 server ready"),
            Some(("cyrus".into(), Some("2.4.17-Debian-2.4.17+caldav~beta9-3".into())))
        );
        assert_eq!(
            product(
                "imap",
                "Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.  See COPYING for distribution information."
            ),
            Some(("courier".into(), None))
        );
        assert_eq!(product("pop3", "Hello there. <1234.5678@mail.example.org>"), Some(("courier".into(), None)));
        assert_eq!(
            product("imap", "IMAPrev1 Service Ready - hMailServer 5.6.8-B2574"),
            Some(("hmailserver".into(), Some("5.6.8-B2574".into())))
        );
        assert_eq!(product("imap", "mail.example.org Zimbra IMAP4rev1 server ready"), Some(("zimbra".into(), None)));
        assert_eq!(product("pop3", "POP3 server ready"), None);
    }

    #[test]
    fn ehlo_keywords_name_exchange() {
        let keywords: Vec<String> =
            ["SIZE 37748736", "PIPELINING", "X-ANONYMOUSTLS", "AUTH NTLM"].iter().map(|s| s.to_string()).collect();
        assert_eq!(banners().match_keywords(&keywords).map(|m| m.product), Some("exchange".into()));
        let postfix: Vec<String> = ["PIPELINING", "STARTTLS"].iter().map(|s| s.to_string()).collect();
        assert_eq!(banners().match_keywords(&postfix), None);
    }

    #[test]
    fn version_tokens() {
        assert_eq!(version_after("x Exim 4.96 Mon", " Exim "), Some("4.96".into()));
        assert_eq!(version_after("version 6.5.7638.1 (host) ready.", "version"), Some("6.5.7638.1".into()));
        assert_eq!(version_after("Cyrus IMAP v3.0.8 server", "Cyrus IMAP"), Some("3.0.8".into()));
        assert_eq!(version_after("Kerio MailServer ready", "Kerio MailServer"), None);
        assert_eq!(version_after("Exim", " Exim "), None);
    }

    #[test]
    fn exchange_banner_names() {
        let text = "The Microsoft Exchange POP3 service is ready. [RQBYADAAMQAuAGMAbwByAHAALgBlAHgAYQBtAHAAbABlAA==]";
        assert_eq!(exchange_server_name(text).as_deref(), Some("EX01.corp.example"));
        assert_eq!(exchange_server_name("Dovecot ready."), None);
        assert_eq!(exchange_server_name("ready [not base64!]"), None);
        assert_eq!(exchange_server_name("ready [QUJD]"), None, "odd length is not UTF-16");
        assert_eq!(base64_decode("TWFu"), Some(b"Man".to_vec()));
        assert_eq!(base64_decode("TWE="), Some(b"Ma".to_vec()));
        assert_eq!(base64_decode("TQ=="), Some(b"M".to_vec()));
        assert_eq!(base64_decode("TQ==TWFu"), None);
    }

    #[test]
    fn rules_that_match_everything_are_refused() {
        let text = "[[greeting]]\nproduct = \"x\"\nname = \"X\"\nprotocols = [\"smtp\"]\nsource = \"s\"\n";
        assert!(Banners::parse(text).is_err_and(|e| e.message.contains("matches every greeting")));
    }
}
