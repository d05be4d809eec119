//! The TLS of a port that speaks TLS from its first byte (HTTPS, and any port found to):
//! the versions rustls cannot tell asked with hand-built hellos on fresh connections, merged
//! with what the rustls handshake showed, and the posture findings judged from it all.
//! Mail ports reach the same questions after STARTTLS (see `protocols::mail`).

use std::net::SocketAddr;
use std::time::Duration;

use seawall_model::{Finding, Location, TlsInfo};
use tokio::time::Instant;

use super::legacy::{self, LegacyReport, OpenFailure, TlsVersion, VersionResult, suite_name};
use super::posture::{TlsContext, tls_findings};
use crate::net::lines::{LineLimits, LineReader};
use crate::net::{Dialer, NetError};

impl OpenFailure for NetError {
    fn is_deadline(&self) -> bool {
        matches!(self, NetError::Deadline)
    }
}

/// Ask an implicit-TLS port about the versions rustls cannot tell (see [`legacy::probe_versions`]),
/// each on a fresh TCP connection, all within `total`.
pub async fn probe_implicit_versions(
    dialer: &Dialer,
    addr: SocketAddr,
    sni: Option<&str>,
    negotiated: Option<&str>,
    read_timeout: Duration,
    total: Duration,
) -> LegacyReport {
    let deadline = Instant::now() + total;
    let limits = LineLimits { max_line: 16 * 1024, max_lines: 16, max_bytes: 64 * 1024, read_timeout, deadline };
    let open = || async move {
        let tcp = dialer.connect_until(addr, Some(deadline)).await?;
        Ok::<_, NetError>(LineReader::new(tcp, limits))
    };
    legacy::probe_versions(negotiated, sni, open).await
}

/// Versions known to be accepted, oldest first: those the hellos saw and the one rustls negotiated.
pub fn accepted_versions(rustls: Option<&TlsInfo>, report: &LegacyReport) -> Vec<TlsVersion> {
    let mut versions: Vec<TlsVersion> = report.accepted().map(|(v, _)| v).collect();
    let negotiated = rustls.and_then(|t| t.versions.first()).and_then(|name| match name.as_str() {
        "TLS1.3" => Some(TlsVersion::Tls13),
        "TLS1.2" => Some(TlsVersion::Tls12),
        _ => None,
    });
    versions.extend(negotiated);
    versions.sort();
    versions.dedup();
    versions
}

/// The `service.tls` record: what rustls saw, completed by the hellos (chain and cipher when
/// rustls had no handshake), with every accepted version.
pub fn tls_record(rustls: Option<&TlsInfo>, report: &LegacyReport, versions: &[TlsVersion]) -> Option<TlsInfo> {
    if versions.is_empty() && rustls.is_none() {
        return None;
    }
    let mut info = rustls.cloned().unwrap_or_default();
    if info.chain.is_empty() {
        info.chain = report.chain().map(<[_]>::to_vec).unwrap_or_default();
    }
    if info.cipher.is_none() {
        info.cipher = report.accepted().find_map(|(_, r)| match r {
            VersionResult::Accepted { suite, .. } => Some(suite_name(*suite)),
            _ => None,
        });
    }
    info.versions = versions.iter().map(|v| v.name().to_owned()).collect();
    Some(info)
}

/// What the TLS of an implicit-TLS port (HTTPS) amounts to: the completed record and the
/// posture findings (expiry, self-signed, name mismatch, weak key, TLS 1.0/1.1).
#[derive(Debug, Default)]
pub struct TlsSurvey {
    pub tls: Option<TlsInfo>,
    pub findings: Vec<Finding>,
    /// Per version asked: `accepted`, or why not (for `service.facts.tls_versions_probed`).
    pub probed: serde_json::Map<String, serde_json::Value>,
}

/// Judge an implicit-TLS port from its rustls handshake (if any) and the hellos' report.
pub fn judge(
    rustls: Option<&TlsInfo>,
    report: &LegacyReport,
    asked_name: Option<&str>,
    location: &Location,
    now: jiff::Timestamp,
) -> TlsSurvey {
    let versions = accepted_versions(rustls, report);
    let tls = tls_record(rustls, report, &versions);
    let mut findings = Vec::new();
    if let (Some(info), Location::Host { port, .. }) = (&tls, location) {
        let source = format!("TLS on port {port}");
        let ctx = TlsContext {
            chain: &info.chain,
            accepted: &versions,
            asked_name,
            location,
            mx: false,
            source: &source,
            now,
        };
        findings = tls_findings(&ctx);
    }
    TlsSurvey { tls, findings, probed: report.probed_json() }
}
