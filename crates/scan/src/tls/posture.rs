//! TLS facts → findings: an expired or not-yet-valid certificate, a
//! self-signed one, one that does not name the host asked for, a weak key,
//! and TLS 1.0/1.1 still accepted. What each finding says is data
//! (`data/detectors/scan.toml`, [`crate::detectors`]).
//!
//! Severities follow what a mail administrator weighs: a public MX (port 25)
//! is judged more leniently, because sending MTAs rarely verify certificates
//! and falling back to cleartext is worse than old TLS; a port where users'
//! clients log in is judged strictly, because a client that warns about the
//! certificate trains people to click through.

use jiff::Timestamp;
use seawall_model::{Certificate, Evidence, Finding, Location};

use super::cert::{is_expired, is_self_signed};
use super::legacy::TlsVersion;
use crate::detectors::{DetectorId, describe};

/// What the TLS findings of one port are judged from.
#[derive(Debug, Clone)]
pub struct TlsContext<'a> {
    /// As sent, leaf first.
    pub chain: &'a [Certificate],
    /// Every version known to be accepted (rustls and hand-built hellos).
    pub accepted: &'a [TlsVersion],
    /// The name the scan asked for (SNI), when it asked by name.
    pub asked_name: Option<&'a str>,
    pub location: &'a Location,
    /// A public MX (port 25) rather than a port where clients log in.
    pub mx: bool,
    /// Where the TLS was seen, for evidence (`TLS on 993`, `STARTTLS on 25`).
    pub source: &'a str,
    pub now: Timestamp,
}

/// One finding of `ctx`'s TLS: `id` in the situations `variants`, `values` filling its text.
fn finding(ctx: &TlsContext<'_>, id: DetectorId, values: &[(&str, &str)], evidence: String, key: &str) -> Finding {
    // Not every TLS detector is lenient on an MX (an expired certificate is not).
    let variants: &[&str] = if ctx.mx && id.uses().variants.contains(&"mx") { &["mx"] } else { &[] };
    describe(id, variants, values).finding(ctx.location, vec![Evidence::text(ctx.source, &evidence)], &[key])
}

/// The findings of one port's TLS.
pub fn tls_findings(ctx: &TlsContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(leaf) = ctx.chain.first() {
        let fingerprint = leaf.sha256.clone().unwrap_or_else(|| leaf.subject.clone());
        let described = format!(
            "subject {}; issuer {}; valid {} to {}; key {}",
            leaf.subject, leaf.issuer, leaf.not_before, leaf.not_after, leaf.key
        );
        if is_expired(leaf, ctx.now) {
            let values = [("not_after", leaf.not_after.as_str())];
            findings.push(finding(ctx, DetectorId::TlsExpired, &values, described.clone(), &fingerprint));
        } else if leaf.not_before.parse::<Timestamp>().is_ok_and(|start| start > ctx.now) {
            let values = [("not_before", leaf.not_before.as_str())];
            findings.push(finding(ctx, DetectorId::TlsNotYetValid, &values, described.clone(), &fingerprint));
        }
        if is_self_signed(leaf) {
            findings.push(finding(ctx, DetectorId::TlsSelfSigned, &[], described.clone(), &fingerprint));
        }
        if let Some(name) = ctx.asked_name.filter(|n| n.parse::<std::net::IpAddr>().is_err())
            && !name_matches(leaf, name)
        {
            let names = if leaf.sans.is_empty() {
                common_name(&leaf.subject).unwrap_or_default()
            } else {
                leaf.sans.join(", ")
            };
            findings.push(finding(
                ctx,
                DetectorId::TlsNameMismatch,
                &[("name", name)],
                format!("asked for {name}; the certificate names {names}; {described}"),
                &format!("{fingerprint}|{name}"),
            ));
        }
        if let Some(weakness) = key_weakness(&leaf.key) {
            let values = [("weakness", weakness.as_str())];
            findings.push(finding(ctx, DetectorId::TlsWeakKey, &values, described, &fingerprint));
        }
    }
    let legacy: Vec<&str> = ctx.accepted.iter().filter(|v| v.is_legacy()).map(|v| v.name()).collect();
    if !legacy.is_empty() {
        let list = legacy.join(" and ");
        let all = ctx.accepted.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
        findings.push(finding(
            ctx,
            DetectorId::TlsLegacyVersion,
            &[("versions", list.as_str())],
            format!("versions accepted: {all}"),
            &list,
        ));
    }
    findings
}

/// Whether a certificate names `host`: a DNS subjectAltName (one leading `*.`
/// label allowed), or the subject CN when there is no DNS SAN (RFC 6125).
pub fn name_matches(cert: &Certificate, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let dns: Vec<&String> = cert.sans.iter().filter(|s| s.parse::<std::net::IpAddr>().is_err()).collect();
    let candidates: Vec<String> = if dns.is_empty() {
        common_name(&cert.subject).into_iter().collect()
    } else {
        dns.into_iter().cloned().collect()
    };
    candidates.iter().any(|pattern| {
        let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix && suffix.contains('.')),
            None => pattern == host,
        }
    })
}

/// The CN of a subject as `describe_certificate` writes it (`C=US, O=x, CN=name`).
pub fn common_name(subject: &str) -> Option<String> {
    subject.split(',').map(str::trim).find_map(|part| part.strip_prefix("CN=")).map(str::to_owned)
}

/// What is weak about a key as `describe_certificate` writes it (`RSA 1024`, `EC 256`, `DSA`).
pub fn key_weakness(key: &str) -> Option<String> {
    let mut words = key.split_whitespace();
    let kind = words.next()?;
    let bits: Option<u32> = words.next().and_then(|b| b.parse().ok());
    match (kind, bits) {
        ("RSA", Some(bits)) if bits < 2048 => Some(format!("RSA {bits} bits (below 2048)")),
        ("EC", Some(bits)) if bits < 224 => Some(format!("EC {bits} bits (below 224)")),
        ("DSA", _) => Some("DSA (no longer accepted by browsers or current TLS)".to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use seawall_model::Severity;

    use super::*;

    fn cert(subject: &str, sans: &[&str], not_after: &str, key: &str) -> Certificate {
        Certificate {
            subject: subject.into(),
            issuer: subject.into(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            not_before: "2020-01-01T00:00:00Z".into(),
            not_after: not_after.into(),
            key: key.into(),
            sha256: Some("ab".into()),
        }
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule.id.as_str()).collect()
    }

    fn now() -> Timestamp {
        "2026-11-30T00:00:00Z".parse().expect("time")
    }

    #[test]
    fn the_rig_weak_certificate_raises_everything() {
        // RSA-1024, SHA-1, self-signed, 2020-01-01..2021-01-01 (scripts/rigs/mail-rig.sh).
        let chain = [cert("CN=weak.seawall.test", &[], "2021-01-01T00:00:00Z", "RSA 1024")];
        let location = Location::Host { host: "127.0.0.1".into(), port: 20029 };
        let ctx = TlsContext {
            chain: &chain,
            accepted: &[TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12],
            asked_name: Some("mail.seawall.test"),
            location: &location,
            mx: true,
            source: "STARTTLS on 20029",
            now: now(),
        };
        let findings = tls_findings(&ctx);
        assert_eq!(
            ids(&findings),
            vec![
                "SW-TLS-EXPIRED",
                "SW-TLS-SELF-SIGNED",
                "SW-TLS-NAME-MISMATCH",
                "SW-TLS-WEAK-KEY",
                "SW-TLS-LEGACY-VERSION"
            ]
        );
        let legacy = findings.last().expect("legacy");
        assert_eq!(legacy.severity, Severity::Low, "lenient on an MX");
        assert!(legacy.rule.title.starts_with("TLS1.0 and TLS1.1"));
        assert!(legacy.remediation.as_deref().is_some_and(|r| r.contains("fall back to cleartext")));
    }

    #[test]
    fn a_good_certificate_on_a_client_port_raises_only_self_signed() {
        let chain = [cert(
            "CN=mail.seawall.test",
            &["mail.seawall.test", "localhost", "127.0.0.1"],
            "2099-01-01T00:00:00Z",
            "RSA 2048",
        )];
        let location = Location::Host { host: "127.0.0.1".into(), port: 993 };
        let ctx = TlsContext {
            chain: &chain,
            accepted: &[TlsVersion::Tls12, TlsVersion::Tls13],
            asked_name: Some("mail.seawall.test"),
            location: &location,
            mx: false,
            source: "TLS on 993",
            now: now(),
        };
        let findings = tls_findings(&ctx);
        assert_eq!(ids(&findings), vec!["SW-TLS-SELF-SIGNED"]);
        assert_eq!(findings[0].severity, Severity::Medium);
        let by_ip = TlsContext { asked_name: Some("127.0.0.1"), ..ctx };
        assert_eq!(ids(&tls_findings(&by_ip)), vec!["SW-TLS-SELF-SIGNED"]);
    }

    #[test]
    fn name_matching() {
        let c =
            cert("CN=ignored.example", &["mail.example.org", "*.corp.example.org"], "2099-01-01T00:00:00Z", "EC 256");
        assert!(name_matches(&c, "mail.example.org"));
        assert!(name_matches(&c, "MAIL.example.org."));
        assert!(name_matches(&c, "ex01.corp.example.org"));
        assert!(!name_matches(&c, "a.b.corp.example.org"));
        assert!(!name_matches(&c, "corp.example.org"));
        assert!(!name_matches(&c, "ignored.example"), "CN is not used when DNS SANs exist");
        let cn_only = cert("C=US, O=Example, CN=mx.example.org", &[], "2099-01-01T00:00:00Z", "RSA 4096");
        assert!(name_matches(&cn_only, "mx.example.org"));
        let star_tld = cert("CN=x", &["*.org"], "2099-01-01T00:00:00Z", "RSA 4096");
        assert!(!name_matches(&star_tld, "example.org"));
    }

    #[test]
    fn key_strength() {
        assert!(key_weakness("RSA 1024").is_some());
        assert_eq!(key_weakness("RSA 2048"), None);
        assert_eq!(key_weakness("EC 256"), None);
        assert!(key_weakness("EC 160").is_some());
        assert!(key_weakness("DSA").is_some());
        assert_eq!(key_weakness("1.2.840.10045.2.1"), None);
    }
}
