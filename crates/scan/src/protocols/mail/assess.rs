//! From what a conversation saw to a `service` record and findings. Rule ids
//! are stable: SW-MAIL-CLEARTEXT-AUTH, SW-MAIL-NO-TLS, SW-MAIL-STARTTLS-BROKEN,
//! SW-MAIL-PREAUTH, SW-RSYNC-VULNERABLE, SW-RSYNC-OPEN-MODULE (TLS rules: see
//! [`crate::tls::posture`]). What each finding says is data: `data/detectors/scan.toml`.

use std::net::SocketAddr;

use seawall_model::{Evidence, Location, Service, TlsInfo};
use serde_json::{Value, json};

use super::{Family, MailObservation, MailOutcome, MailProtocol, Starttls};
use crate::detectors::{self, DetectorId, describe};
use crate::protocols::rsync::versions::VersionTable;
use crate::protocols::rsync::{Access, RsyncObservation};
use crate::tls::legacy::{LegacyReport, TlsVersion};
use crate::tls::posture::{TlsContext, tls_findings};
use crate::tls::survey;

fn base_service(addr: SocketAddr, label_host: &str, protocol: &str) -> Service {
    Service {
        host: label_host.to_owned(),
        ip: Some(addr.ip().to_string()),
        port: addr.port(),
        protocol: protocol.to_owned(),
        ..Service::default()
    }
}

/// Whether TLS works on a STARTTLS port: rustls finished a handshake, or the
/// server accepted a hand-built hello of some version after STARTTLS.
fn starttls_works(seen: &MailObservation, legacy: &LegacyReport) -> bool {
    match &seen.starttls {
        Starttls::Worked => true,
        Starttls::HandshakeFailed(_) => legacy.accepted().next().is_some(),
        _ => false,
    }
}

/// Versions known to be accepted, oldest first.
fn accepted_versions(seen: &MailObservation, legacy: &LegacyReport) -> Vec<TlsVersion> {
    survey::accepted_versions(seen.tls.as_ref(), legacy)
}

fn tls_record(seen: &MailObservation, legacy: &LegacyReport, versions: &[TlsVersion]) -> Option<TlsInfo> {
    survey::tls_record(seen.tls.as_ref(), legacy, versions)
}

fn starttls_text(seen: &MailObservation, works: bool) -> Option<String> {
    Some(match &seen.starttls {
        Starttls::NotApplicable => return None,
        Starttls::NotOffered => "not offered".into(),
        Starttls::Worked => "worked".into(),
        Starttls::Refused(reply) => format!("refused: {reply}"),
        Starttls::HandshakeFailed(e) if works => format!("worked only with a legacy TLS client (rustls: {e})"),
        Starttls::HandshakeFailed(e) => format!("handshake failed: {e}"),
    })
}

/// The service and findings of a mail port.
pub(crate) fn mail_outcome(
    protocol: MailProtocol,
    addr: SocketAddr,
    asked_name: Option<&str>,
    label_host: &str,
    seen: &MailObservation,
    legacy: &LegacyReport,
    now: jiff::Timestamp,
) -> MailOutcome {
    let mut service = base_service(addr, label_host, protocol.name());
    let location = Location::Host { host: label_host.to_owned(), port: addr.port() };
    if let Some(product) = &seen.product {
        service.product = Some(product.product.clone());
        service.version = product.version.clone();
        service.version_name =
            Some(product.version.as_ref().map_or_else(|| product.name.clone(), |v| format!("{} {v}", product.name)));
        service.methods = vec![product.method.clone()];
    }
    let implicit = protocol.implicit_tls();
    let works = starttls_works(seen, legacy);
    let versions = accepted_versions(seen, legacy);
    service.tls = tls_record(seen, legacy, &versions);
    service.starttls = (!implicit).then_some(works);
    service.cleartext_auth = if implicit { Some(false) } else { seen.auth_before_tls.as_ref().map(|a| a.exposed) };

    let facts = &mut service.facts;
    if !seen.greeting.is_empty() {
        facts.insert("banner".into(), seen.greeting.join("\n").into());
    }
    facts.extend(seen.facts.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(caps) = &seen.capabilities_before_tls {
        facts.insert("capabilities_before_tls".into(), json!(caps));
    }
    if let Some(caps) = &seen.capabilities_after_tls {
        facts.insert("capabilities_after_tls".into(), json!(caps));
    }
    if let Some(auth) = &seen.auth_before_tls {
        facts.insert("auth_before_tls".into(), json!(auth.offered));
    }
    if seen.capabilities_after_tls.is_some() {
        facts.insert("auth_after_tls".into(), json!(seen.auth_after_tls));
    }
    facts.insert("implicit_tls".into(), implicit.into());
    if !implicit {
        facts.insert("starttls_offered".into(), seen.starttls_offered.into());
    }
    if let Some(text) = starttls_text(seen, works) {
        facts.insert("starttls_result".into(), text.into());
    }
    if !legacy.results.is_empty() {
        facts.insert("tls_versions_probed".into(), Value::Object(legacy.probed_json()));
    }
    if let Some(e) = &seen.tls_error {
        facts.insert("rustls_error".into(), e.clone().into());
    }

    let mut findings = Vec::new();
    let proto = protocol.name();
    let port = addr.port();
    if seen.facts.get("preauth") == Some(&Value::Bool(true)) {
        findings.push(describe(DetectorId::MailPreauth, &[], &[("proto", proto)]).finding(
            &location,
            vec![Evidence::text(format!("{proto} greeting on {port}"), &seen.greeting.join("\n"))],
            &[],
        ));
    }
    if let Some(auth) = seen.auth_before_tls.as_ref().filter(|a| a.exposed) {
        let (advice, hint) = cleartext_texts(protocol, seen.product.as_ref().map(|p| p.product.as_str()));
        let entry = detectors::detector(DetectorId::MailCleartextAuth);
        let (advice, hint) = (entry.text(advice, &[]), entry.text(hint, &[]));
        let mechanisms = auth.offered.join(", ");
        let values = [("proto", proto), ("mechanisms", &mechanisms), ("advice", &advice), ("hint", &hint)];
        findings.push(entry.describe(&[], &values).finding(
            &location,
            vec![Evidence::text(format!("capabilities before TLS, {proto} on {port}"), &auth.evidence)],
            &[&auth.offered.join(" ")],
        ));
    }
    if !implicit && matches!(seen.starttls, Starttls::NotOffered) {
        let mut variants = Vec::new();
        if protocol == MailProtocol::Smtp {
            variants.push("smtp");
        }
        let capabilities = match &seen.capabilities_before_tls {
            Some(caps) => caps.join("\n"),
            None => {
                variants.push("no-capa");
                "(no capability list: CAPA is not supported)".to_owned()
            }
        };
        findings.push(describe(DetectorId::MailNoTls, &variants, &[("proto", proto)]).finding(
            &location,
            vec![Evidence::text(format!("capabilities, {proto} on {port}"), &capabilities)],
            &[],
        ));
    }
    if !implicit && seen.starttls_offered && !works {
        let why = match &seen.starttls {
            Starttls::Refused(reply) => format!("STARTTLS answered: {reply}"),
            Starttls::HandshakeFailed(e) => format!("{e}; no TLS version accepted a hand-built hello either"),
            _ => "STARTTLS did not complete".to_owned(),
        };
        findings.push(describe(DetectorId::MailStarttlsBroken, &[], &[("proto", proto)]).finding(
            &location,
            vec![Evidence::text(format!("STARTTLS, {proto} on {port}"), &why)],
            &[],
        ));
    }
    if let Some(tls) = &service.tls {
        let source =
            if implicit { format!("TLS on {proto} port {port}") } else { format!("STARTTLS on {proto} port {port}") };
        let ctx = TlsContext {
            chain: &tls.chain,
            accepted: &versions,
            asked_name,
            location: &location,
            mx: protocol == MailProtocol::Smtp,
            source: &source,
            now,
        };
        findings.extend(tls_findings(&ctx));
    }
    MailOutcome { service: Some(service), findings, error: None }
}

/// The catalog texts of SW-MAIL-CLEARTEXT-AUTH's remediation: the family's advice and the
/// product's setting.
fn cleartext_texts(protocol: MailProtocol, product: Option<&str>) -> (&'static str, &'static str) {
    let advice = match protocol.family() {
        Family::Smtp => "advice-smtp",
        Family::Imap => "advice-imap",
        Family::Pop3 | Family::Rsync => "advice-pop3",
    };
    let hint = match (product, protocol.family()) {
        (Some("postfix"), _) => "hint-postfix",
        (Some("exim"), _) => "hint-exim",
        (Some("dovecot"), _) => "hint-dovecot",
        (Some("exchange"), Family::Imap) => "hint-exchange-imap",
        (Some("exchange"), Family::Pop3) => "hint-exchange-pop3",
        (Some("exchange"), _) => "hint-exchange-smtp",
        _ => "hint-none",
    };
    (advice, hint)
}

/// The service and findings of an rsync daemon.
pub(crate) fn rsync_outcome(addr: SocketAddr, label_host: &str, seen: &RsyncObservation) -> MailOutcome {
    let (Some(greeting), Some(line)) = (&seen.greeting, &seen.greeting_line) else {
        return MailOutcome::default();
    };
    let location = Location::Host { host: label_host.to_owned(), port: addr.port() };
    let mut service = base_service(addr, label_host, "rsync");
    service.product = Some("rsync".into());
    service.methods = vec!["greeting".into()];
    let row = match VersionTable::embedded() {
        Ok(table) => table.lookup(greeting),
        Err(e) => return MailOutcome { error: Some(e.clone().into()), ..MailOutcome::default() },
    };
    service.version_name = Some(format!(
        "rsync {} (protocol {})",
        row.map_or("of unknown version", |r| r.label.as_str()),
        greeting.version_text()
    ));
    let facts = &mut service.facts;
    facts.insert("banner".into(), line.clone().into());
    facts.insert("rsync_protocol".into(), greeting.version_text().into());
    facts.insert("rsync_digests".into(), json!(greeting.digests));
    if let Some(row) = row {
        facts.insert("version_range".into(), row.range_json());
    }
    let mut motd = seen.listing.motd.clone();
    if motd.is_empty()
        && let Some((_, _, module_motd)) = seen.access.iter().find(|(_, _, m)| !m.is_empty())
    {
        motd = module_motd.iter().filter(|l| !l.is_empty()).cloned().collect();
    }
    if !motd.is_empty() {
        facts.insert("motd".into(), json!(motd));
    }
    let modules: Vec<Value> = seen
        .access
        .iter()
        .map(|(m, access, _)| json!({ "name": m.name, "comment": m.comment, "access": access.label() }))
        .collect();
    facts.insert("modules".into(), Value::Array(modules));
    facts.insert("module_list_complete".into(), seen.listing.complete.into());
    if let Some(error) = &seen.listing.error {
        facts.insert("module_list_error".into(), error.clone().into());
    }

    let mut findings = Vec::new();
    let open: Vec<_> = seen.access.iter().filter(|(_, access, _)| *access == Access::Open).collect();
    for (module, _, _) in &open {
        findings.push(describe(DetectorId::RsyncOpenModule, &[], &[("module", &module.name)]).finding(
            &location,
            vec![
                Evidence::text(
                    format!("rsync #list on {}", addr.port()),
                    &format!("{}\t{}", module.name, module.comment),
                ),
                Evidence::text(format!("rsync module request '{}'", module.name), "@RSYNCD: OK"),
            ],
            &[&module.name],
        ));
    }
    if let Some(row) = row.filter(|r| !r.cves.is_empty())
        && let Some(severity) = row.severity(!open.is_empty())
    {
        let protocol = greeting.version_text();
        let mut described =
            describe(DetectorId::RsyncVulnerable, &[], &[("label", &row.label), ("protocol", &protocol)]);
        // The version row decides how sure and how bad (data/probes/rsync-versions.toml).
        described.severity = severity;
        described.confidence = row.confidence();
        let mut f = described.finding(
            &location,
            vec![
                Evidence::text(format!("rsync greeting on {}", addr.port()), line),
                Evidence::text("rsync-versions.toml", &row.note),
            ],
            &[&greeting.version_text(), &greeting.digests.join(" ")],
        );
        f.cves = row.cves.clone();
        findings.push(f);
    }
    MailOutcome { service: Some(service), findings, error: None }
}

#[cfg(test)]
mod tests {
    use seawall_model::{Confidence, Severity};

    use super::*;
    use crate::protocols::mail::{AuthExposure, banners::ProductMatch};
    use crate::protocols::rsync::{Greeting, Listing, Module};
    use crate::tls::legacy::{VersionResult, alert_name};

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn now() -> jiff::Timestamp {
        "2026-11-30T00:00:00Z".parse().expect("time")
    }

    fn ids(outcome: &MailOutcome) -> Vec<&str> {
        outcome.findings.iter().map(|f| f.rule.id.as_str()).collect()
    }

    #[test]
    fn cleartext_smtp_without_tls() {
        let seen = MailObservation {
            greeting: vec!["220 mail.seawall.test ESMTP Postfix (Debian/GNU)".into()],
            product: Some(ProductMatch {
                product: "postfix".into(),
                name: "Postfix".into(),
                version: None,
                method: "greeting".into(),
            }),
            capabilities_before_tls: Some(vec!["PIPELINING".into(), "AUTH PLAIN LOGIN".into()]),
            auth_before_tls: Some(AuthExposure {
                exposed: true,
                offered: vec!["PLAIN".into(), "LOGIN".into()],
                evidence: "250-AUTH PLAIN LOGIN".into(),
            }),
            starttls: Starttls::NotOffered,
            ..MailObservation::default()
        };
        let outcome = mail_outcome(MailProtocol::Smtp, addr(25), None, "mx", &seen, &LegacyReport::default(), now());
        assert_eq!(ids(&outcome), vec!["SW-MAIL-CLEARTEXT-AUTH", "SW-MAIL-NO-TLS"]);
        let service = outcome.service.expect("service");
        assert_eq!(service.cleartext_auth, Some(true));
        assert_eq!(service.starttls, Some(false));
        assert_eq!(service.tls, None);
        assert_eq!(service.product.as_deref(), Some("postfix"));
        let auth = &outcome.findings[0];
        assert_eq!(auth.severity, Severity::High);
        assert_eq!(auth.evidence[0].excerpt.as_deref(), Some("250-AUTH PLAIN LOGIN"));
        assert!(auth.remediation.as_deref().is_some_and(|r| r.contains("smtpd_tls_auth_only")));
    }

    #[test]
    fn starttls_refused_is_broken() {
        let seen = MailObservation {
            greeting: vec!["* OK ready".into()],
            capabilities_before_tls: Some(vec!["IMAP4rev1".into(), "STARTTLS".into(), "LOGINDISABLED".into()]),
            auth_before_tls: Some(AuthExposure { exposed: false, offered: vec![], evidence: String::new() }),
            starttls_offered: true,
            starttls: Starttls::Refused("BAD TLS not configured".into()),
            ..MailObservation::default()
        };
        let outcome = mail_outcome(MailProtocol::Imap, addr(143), None, "h", &seen, &LegacyReport::default(), now());
        assert_eq!(ids(&outcome), vec!["SW-MAIL-STARTTLS-BROKEN"]);
        assert_eq!(outcome.service.and_then(|s| s.starttls), Some(false));
    }

    #[test]
    fn a_legacy_only_starttls_still_works() {
        let seen = MailObservation {
            greeting: vec!["+OK ready".into()],
            capabilities_before_tls: Some(vec!["STLS".into()]),
            auth_before_tls: Some(AuthExposure { exposed: false, offered: vec![], evidence: String::new() }),
            starttls_offered: true,
            starttls: Starttls::HandshakeFailed("TLS handshake: peer is incompatible".into()),
            tls_error: Some("TLS handshake: peer is incompatible".into()),
            ..MailObservation::default()
        };
        let legacy = LegacyReport {
            results: vec![
                (TlsVersion::Tls13, VersionResult::Rejected(alert_name(70))),
                (TlsVersion::Tls10, VersionResult::Accepted { suite: 0xc014, chain: vec![] }),
            ],
        };
        let outcome = mail_outcome(MailProtocol::Pop3, addr(110), None, "h", &seen, &legacy, now());
        assert_eq!(ids(&outcome), vec!["SW-TLS-LEGACY-VERSION"]);
        let service = outcome.service.expect("service");
        assert_eq!(service.starttls, Some(true));
        assert_eq!(service.tls.map(|t| t.versions), Some(vec!["TLS1.0".to_string()]));
        assert!(service.facts.contains_key("rustls_error"));
    }

    fn rsync_seen(greeting: &str, access: Access) -> RsyncObservation {
        let module = Module { name: "public".into(), comment: "Public mirror".into() };
        RsyncObservation {
            greeting_line: Some(greeting.into()),
            greeting: crate::protocols::rsync::parse_greeting(greeting),
            listing: Listing { motd: vec!["hi".into()], modules: vec![module.clone()], complete: true, error: None },
            access: vec![(module, access, vec![])],
            error: None,
        }
    }

    #[test]
    fn rsync_protocol_31_with_an_open_module_is_critical_with_low_confidence() {
        let outcome =
            rsync_outcome(addr(873), "h", &rsync_seen("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4", Access::Open));
        assert_eq!(ids(&outcome), vec!["SW-RSYNC-OPEN-MODULE", "SW-RSYNC-VULNERABLE"]);
        let vulnerable = &outcome.findings[1];
        assert_eq!(vulnerable.severity, Severity::Critical);
        assert_eq!(vulnerable.confidence, Confidence::Low);
        assert_eq!(vulnerable.cves.len(), 6);
        let service = outcome.service.expect("service");
        assert_eq!(service.facts.get("version_range").and_then(|v| v.get("label")), Some(&json!("3.2.7 to 3.3.0")));
        assert_eq!(
            service.facts.get("modules"),
            Some(&json!([{"name": "public", "comment": "Public mirror", "access": "open"}]))
        );
    }

    #[test]
    fn rsync_protocol_32_with_a_password_module_raises_nothing() {
        let g: Option<Greeting> = crate::protocols::rsync::parse_greeting("@RSYNCD: 32.0 sha512");
        assert!(g.is_some());
        let outcome = rsync_outcome(addr(873), "h", &rsync_seen("@RSYNCD: 32.0 sha512", Access::Password));
        assert!(outcome.findings.is_empty());
        let service = outcome.service.expect("service");
        assert_eq!(service.version_name.as_deref(), Some("rsync 3.4.0 or later (protocol 32.0)"));
        assert_eq!(service.facts.get("motd"), Some(&json!(["hi"])));
    }

    #[test]
    fn every_cleartext_remediation_text_is_in_the_catalog() {
        let entry = detectors::detector(DetectorId::MailCleartextAuth);
        let protocols = [
            MailProtocol::Smtp,
            MailProtocol::Submission,
            MailProtocol::Smtps,
            MailProtocol::Imap,
            MailProtocol::Imaps,
            MailProtocol::Pop3,
            MailProtocol::Pop3s,
            MailProtocol::Rsync,
        ];
        for protocol in protocols {
            for product in [None, Some("postfix"), Some("exim"), Some("dovecot"), Some("exchange"), Some("other")] {
                let (advice, hint) = cleartext_texts(protocol, product);
                assert!(entry.texts.contains_key(advice), "{advice}");
                assert!(entry.texts.contains_key(hint), "{hint}");
            }
        }
        let (advice, hint) = cleartext_texts(MailProtocol::Pop3, Some("exchange"));
        assert_eq!((advice, hint), ("advice-pop3", "hint-exchange-pop3"));
    }
}
