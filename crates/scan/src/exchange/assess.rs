//! From a fingerprint to a `service` record and findings, through the knowledge base.
//! What each finding says is data: `data/detectors/scan.toml`.

use jiff::civil::Date;
use seawall_kb::{BuildReport, CveStatus, KnowledgeBase, Precision};
use seawall_model::{Evidence, Finding, Location, Service, TlsInfo};

use super::fingerprint::Fingerprint;
use crate::detectors::{self, DetectorId, describe};

/// What one Exchange (or look-alike) endpoint amounts to.
#[derive(Debug)]
pub struct Assessment {
    pub service: Service,
    pub findings: Vec<Finding>,
    pub report: Option<BuildReport>,
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
        findings.push(describe(DetectorId::HttpOwaLookalike, &[], &[]).finding(&location, fp.evidence.clone(), &[]));
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
        findings.push(describe(DetectorId::ExchOnline, &[], &[]).finding(&location, fp.evidence.clone(), &[]));
        return Assessment { service, findings, report: None };
    }
    service.product = Some("exchange".into());
    if let Some(fe) = &fp.fe_server {
        findings.push(describe(DetectorId::HttpInternalName, &[], &[]).finding(
            &location,
            fp.fe_server_evidence.iter().cloned().collect(),
            &[fe],
        ));
    }
    if let Some(conflict) = &fp.conflict {
        findings.push(describe(DetectorId::ExchVersionConflict, &[], &[]).finding(
            &location,
            vec![Evidence::text("fingerprint", conflict)],
            &[conflict],
        ));
    }
    let Some(chosen) = &fp.chosen else {
        service.version_name = Some("Exchange (version not disclosed)".into());
        let described = describe(DetectorId::ExchDetected, &["undisclosed"], &[]);
        findings.push(described.finding(&location, fp.evidence.clone(), &[]));
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
    let catalog = detectors::catalog();
    let install = report.recommended.as_ref().filter(|r| !r.up_to_date).map(|r| {
        let target = r.target.build.to_string();
        let mut install = catalog.text("install", &[("build", &target), ("name", &r.target.name)]);
        if let Some(upgrade) = &report.upgrade {
            let build = upgrade.target.build.to_string();
            install.push_str(&catalog.text("then-move", &[("build", &build), ("name", &upgrade.target.name)]));
        }
        install
    });
    let install_text = install.clone().unwrap_or_default();
    let version_name = report.name.clone().unwrap_or_else(|| build.to_owned());
    let mut findings = Vec::new();
    let make = |id: DetectorId, variants: &[&str], values: &[(&str, &str)], cves: Vec<String>, key: &[&str]| {
        let mut values = values.to_vec();
        values.extend([("version_name", version_name.as_str()), ("install", install_text.as_str())]);
        let mut finding = describe(id, variants, &values).finding(location, evidence.to_vec(), key);
        finding.cves = cves;
        finding
    };
    let exact = matches!(report.precision, Precision::Exact);
    let mut in_clusters = Vec::new();
    for cluster in &report.clusters {
        in_clusters.extend(cluster.cves.iter().cloned());
        let variant = match cluster.status {
            CveStatus::Open if exact => None,
            CveStatus::Open => Some("inexact"),
            CveStatus::PossiblyOpen => Some("possibly-open"),
            CveStatus::ConfigDependent | CveStatus::Fixed => continue,
        };
        let upper = cluster.name.to_ascii_uppercase();
        findings.push(make(
            DetectorId::ExchCluster,
            variant.as_slice(),
            &[("CLUSTER", &upper), ("cluster", &cluster.name)],
            cluster.cves.clone(),
            &[build],
        ));
    }
    let other_exploited: Vec<String> =
        report.exploited_open_cves.iter().filter(|c| !in_clusters.contains(c)).cloned().collect();
    if !other_exploited.is_empty() {
        let count = other_exploited.len().to_string();
        findings.push(make(DetectorId::ExchExploitedCves, &[], &[("count", &count)], other_exploited, &[build]));
    }
    let rest: Vec<String> = report
        .open_cves
        .iter()
        .filter(|c| !in_clusters.contains(c) && !report.exploited_open_cves.contains(c))
        .cloned()
        .collect();
    if !rest.is_empty() {
        let count = rest.len().to_string();
        findings.push(make(DetectorId::ExchOpenCves, &[], &[("count", &count)], rest, &[build]));
    }
    if !report.possibly_open_cves.is_empty() {
        let possibly: Vec<String> =
            report.possibly_open_cves.iter().filter(|c| !in_clusters.contains(c)).cloned().collect();
        if !possibly.is_empty() {
            let count = possibly.len().to_string();
            findings.push(make(DetectorId::ExchCuOnlyCves, &[], &[("count", &count)], possibly, &[build]));
        }
    }
    if let Some(eos) = report.end_of_support.as_ref().filter(|e| e.passed) {
        let product = report.product.as_deref().unwrap_or("Exchange");
        let date = eos.date.to_string();
        // Up to date on a line no longer supported: the fix is to move.
        let upgrade = report.upgrade.as_ref().filter(|_| install.is_none());
        let (target_build, target_name) =
            upgrade.map(|u| (u.target.build.to_string(), u.target.name.clone())).unwrap_or_default();
        findings.push(make(
            DetectorId::ExchEndOfSupport,
            if upgrade.is_some() { &["move"] } else { &[] },
            &[("product", product), ("date", &date), ("name", &target_name), ("build", &target_build)],
            vec![],
            &[report.product_id.as_deref().unwrap_or_default()],
        ));
    }
    if let Some(eems) = &report.eems
        && eems.receives_mitigations == Some(false)
    {
        findings.push(make(DetectorId::ExchNoEmergencyMitigation, &[], &[("note", &eems.note)], vec![], &[build]));
    }
    if report.precision == Precision::NewerThanKnown {
        findings.push(make(DetectorId::ExchNewerThanKnown, &[], &[("build", build)], vec![], &[build]));
    }
    let nothing_found = report.open_cves.is_empty()
        && report.possibly_open_cves.is_empty()
        && !report.end_of_support.as_ref().is_some_and(|e| e.passed)
        && report.precision != Precision::NewerThanKnown;
    if nothing_found {
        findings.push(make(DetectorId::ExchDetected, &[], &[], vec![], &[build]));
    }
    findings
}
