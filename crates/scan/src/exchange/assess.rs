//! From a fingerprint to a `service` record and findings, through the knowledge base.

use jiff::civil::Date;
use seawall_kb::{BuildReport, CveStatus, KnowledgeBase, Precision};
use seawall_model::{Confidence, Evidence, Finding, Location, RuleRef, RuleSource, Service, Severity, TlsInfo};

use super::fingerprint::Fingerprint;

/// What one Exchange (or look-alike) endpoint amounts to.
#[derive(Debug)]
pub struct Assessment {
    pub service: Service,
    pub findings: Vec<Finding>,
    pub report: Option<BuildReport>,
}

fn rule(id: &str, title: impl Into<String>, source: RuleSource) -> RuleRef {
    RuleRef { id: id.to_owned(), title: title.into(), source }
}

/// The facts and findings for an HTTP(S) endpoint that was fingerprinted.
#[allow(clippy::too_many_arguments)]
pub fn assess(
    kb: &KnowledgeBase,
    today: Date,
    host: &str,
    ip: Option<String>,
    port: u16,
    tls: Option<TlsInfo>,
    fp: &Fingerprint,
) -> Assessment {
    let location = Location::Host { host: host.to_owned(), port };
    let mut service = Service {
        host: host.to_owned(),
        ip,
        port,
        protocol: if tls.is_some() { "https".into() } else { "http".into() },
        tls,
        ..Service::default()
    };
    if let Some(server) = &fp.server_header {
        service.facts.insert("server".into(), server.clone().into());
    }
    if let Some(title) = &fp.title {
        service.facts.insert("title".into(), title.clone().into());
    }
    service.facts.insert("exchange".into(), fp.exchange.into());
    let mut findings = Vec::new();
    if fp.lookalike {
        service.product = Some("owa-lookalike".into());
        findings.push(Finding::new(
            rule(
                "SW-HTTP-OWA-LOOKALIKE",
                "Page imitates the OWA logon but nothing else of Exchange answers (honeypot or phishing clone)",
                RuleSource::Probe,
            ),
            Severity::Low,
            Confidence::Medium,
            location,
            fp.evidence.clone(),
            &[],
        ));
        return Assessment { service, findings, report: None };
    }
    if !fp.exchange {
        return Assessment { service, findings, report: None };
    }
    service.methods = fp.methods.clone();
    service.facts.insert("auth_schemes".into(), serde_json::json!(fp.auth_schemes));
    if let Some(fe) = &fp.fe_server {
        service.facts.insert("fe_server".into(), fe.clone().into());
    }
    if let Some(conflict) = &fp.conflict {
        service.facts.insert("version_conflict".into(), conflict.clone().into());
    }
    if fp.online {
        service.product = Some("exchange-online".into());
        service.version = fp.chosen.as_ref().map(|v| v.raw.clone());
        service.version_name = Some("Exchange Online".into());
        findings.push(Finding::new(
            rule(
                "SW-EXCH-ONLINE",
                "Exchange Online front end (patched by Microsoft; not assessed as on-premises)",
                RuleSource::Probe,
            ),
            Severity::Info,
            Confidence::High,
            location,
            fp.evidence.clone(),
            &[],
        ));
        return Assessment { service, findings, report: None };
    }
    service.product = Some("exchange".into());
    if let Some(fe) = &fp.fe_server {
        findings.push(Finding::new(
            rule("SW-HTTP-INTERNAL-NAME", "Internal server name disclosed in X-FEServer", RuleSource::Probe),
            Severity::Low,
            Confidence::High,
            location.clone(),
            fp.fe_server_evidence.iter().cloned().collect(),
            &[fe],
        ));
    }
    if let Some(conflict) = &fp.conflict {
        findings.push(Finding::new(
            rule(
                "SW-EXCH-VERSION-CONFLICT",
                "Fingerprint methods disagree on the CU (several builds behind one name?)",
                RuleSource::Probe,
            ),
            Severity::Info,
            Confidence::Medium,
            location.clone(),
            vec![Evidence::text("fingerprint", conflict)],
            &[conflict],
        ));
    }
    let Some(chosen) = &fp.chosen else {
        service.version_name = Some("Exchange (version not disclosed)".into());
        findings.push(Finding::new(
            rule("SW-EXCH-DETECTED", "Exchange Server, version not disclosed", RuleSource::Probe),
            Severity::Info,
            Confidence::High,
            location,
            fp.evidence.clone(),
            &[],
        ));
        return Assessment { service, findings, report: None };
    };
    service.version = Some(chosen.query.to_string());
    let report = match kb.assess(chosen.query, &chosen.raw, today) {
        Ok(report) => report,
        Err(error) => {
            service.version_name = Some(format!("Exchange ({error})"));
            return Assessment { service, findings, report: None };
        }
    };
    service.version_name = report.name.clone().or(report.product.clone());
    service.facts.insert("precision".into(), serde_json::to_value(report.precision).unwrap_or_default());
    let evidence =
        fp.evidence.iter().filter(|e| Some(*e) != fp.fe_server_evidence.as_ref()).cloned().collect::<Vec<_>>();
    findings.extend(kb_findings(&report, &location, &evidence, chosen.query.to_string().as_str()));
    Assessment { service, findings, report: Some(report) }
}

/// Findings from a build report: exploited clusters, other exploited CVEs, the
/// rest of the open CVEs, end of support, mitigation capability.
pub fn kb_findings(report: &BuildReport, location: &Location, evidence: &[Evidence], build: &str) -> Vec<Finding> {
    let install = report.recommended.as_ref().filter(|r| !r.up_to_date).map(|r| {
        let mut text = format!("Install {} ({})", r.target.build, r.target.name);
        if let Some(upgrade) = &report.upgrade {
            text.push_str(&format!(", then move to {} ({})", upgrade.target.name, upgrade.target.build));
        }
        text
    });
    let version_name = report.name.clone().unwrap_or_else(|| build.to_owned());
    let mut findings = Vec::new();
    let make =
        |id: &str, title: String, severity: Severity, confidence: Confidence, cves: Vec<String>, key: &[&str]| {
            let mut finding = Finding::new(
                rule(id, title, RuleSource::Kb),
                severity,
                confidence,
                location.clone(),
                evidence.to_vec(),
                key,
            );
            finding.cves = cves;
            finding.remediation = install.clone();
            finding
        };
    let exact = matches!(report.precision, Precision::Exact);
    let mut in_clusters = Vec::new();
    for cluster in &report.clusters {
        in_clusters.extend(cluster.cves.iter().cloned());
        let (severity, confidence, state) = match cluster.status {
            CveStatus::Open => (Severity::Critical, if exact { Confidence::High } else { Confidence::Medium }, "open"),
            CveStatus::PossiblyOpen => {
                (Severity::High, Confidence::Medium, "open unless a security update was installed")
            }
            CveStatus::ConfigDependent | CveStatus::Fixed => continue,
        };
        let id = format!("SW-EXCH-{}", cluster.name.to_ascii_uppercase());
        findings.push(make(
            &id,
            format!("{} {state} on {version_name}", cluster.name),
            severity,
            confidence,
            cluster.cves.clone(),
            &[build],
        ));
    }
    let other_exploited: Vec<String> =
        report.exploited_open_cves.iter().filter(|c| !in_clusters.contains(c)).cloned().collect();
    if !other_exploited.is_empty() {
        findings.push(make(
            "SW-EXCH-EXPLOITED-CVES",
            format!("{} more known-exploited CVEs open on {version_name}", other_exploited.len()),
            Severity::High,
            Confidence::High,
            other_exploited,
            &[build],
        ));
    }
    let rest: Vec<String> = report
        .open_cves
        .iter()
        .filter(|c| !in_clusters.contains(c) && !report.exploited_open_cves.contains(c))
        .cloned()
        .collect();
    if !rest.is_empty() {
        findings.push(make(
            "SW-EXCH-OPEN-CVES",
            format!("{} further CVEs open on {version_name}", rest.len()),
            Severity::Medium,
            Confidence::High,
            rest,
            &[build],
        ));
    }
    if !report.possibly_open_cves.is_empty() {
        let possibly: Vec<String> =
            report.possibly_open_cves.iter().filter(|c| !in_clusters.contains(c)).cloned().collect();
        if !possibly.is_empty() {
            findings.push(make(
                "SW-EXCH-CU-ONLY-CVES",
                format!(
                    "{} CVEs open unless a security update for the CU is installed ({version_name})",
                    possibly.len()
                ),
                Severity::Medium,
                Confidence::Low,
                possibly,
                &[build],
            ));
        }
    }
    if let Some(eos) = report.end_of_support.as_ref().filter(|e| e.passed) {
        let mut finding = make(
            "SW-EXCH-END-OF-SUPPORT",
            format!("{} is past end of support ({})", report.product.as_deref().unwrap_or("Exchange"), eos.date),
            Severity::High,
            Confidence::High,
            vec![],
            &[report.product_id.as_deref().unwrap_or_default()],
        );
        // Up to date on a line no longer supported: the fix is to move.
        if install.is_none()
            && let Some(upgrade) = &report.upgrade
        {
            finding.remediation = Some(format!("Move to {} ({})", upgrade.target.name, upgrade.target.build));
        }
        findings.push(finding);
    }
    if let Some(eems) = &report.eems
        && eems.receives_mitigations == Some(false)
    {
        findings.push(make(
            "SW-EXCH-NO-EMERGENCY-MITIGATION",
            format!("No emergency mitigations can reach this server: {}", eems.note),
            Severity::Medium,
            Confidence::High,
            vec![],
            &[build],
        ));
    }
    if report.precision == Precision::NewerThanKnown {
        findings.push(make(
            "SW-EXCH-NEWER-THAN-KNOWN",
            format!("Build {build} is newer than seawall's knowledge base: update seawall to judge it"),
            Severity::Info,
            Confidence::High,
            vec![],
            &[build],
        ));
    }
    let nothing_found = report.open_cves.is_empty()
        && report.possibly_open_cves.is_empty()
        && !report.end_of_support.as_ref().is_some_and(|e| e.passed)
        && report.precision != Precision::NewerThanKnown;
    if nothing_found {
        findings.push(make(
            "SW-EXCH-DETECTED",
            format!("{version_name}: no known CVE open"),
            Severity::Info,
            Confidence::High,
            vec![],
            &[build],
        ));
    }
    findings
}
