//! One endpoint's probes: resolve, read the protocol from what answers (TLS or not, HTTP
//! or a greeting), run the Exchange plan or a mail speaker, judge the TLS.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use seawall_model::{Record, TlsInfo};
use tokio::time::timeout;

use super::{Shared, error_record};
use crate::exchange::{active, assess, fingerprint, probe, webshells};
use crate::net::Dialer;
use crate::protocols::http::{HttpSession, HttpTarget, ProbeError};
use crate::protocols::mail::{self, MailProtocol, MailSettings};
use crate::space::Endpoint;
use crate::tls::survey::{self, TlsSurvey};
use crate::tls::{HandshakeBounds, TlsError};

impl Shared {
    /// Run the probe plan, counting its requests for `run_end`.
    async fn run_plan(&self, session: &mut HttpSession, random: &str) -> probe::PlanRun {
        let run = probe::run_plan(session, &self.plan, random).await;
        self.progress.http_requests.fetch_add(run.requests_sent as u64, std::sync::atomic::Ordering::Relaxed);
        run
    }

    pub(super) async fn probe(&self, endpoint: &Endpoint) -> Vec<Record> {
        let label = format!("{}:{}", endpoint.host_label(), endpoint.port);
        let ip = match endpoint.ip {
            Some(ip) => ip,
            None => match self.resolve(endpoint).await {
                Ok(ip) => ip,
                Err(error) => return vec![error_record(&label, error.to_string())],
            },
        };
        let _permit = self.hosts.acquire(ip).await;
        // Mail and rsync ports get their own speakers; a URL target forces HTTP(S).
        if endpoint.tls.is_none()
            && let Some(protocol) = MailProtocol::for_port(endpoint.port)
        {
            return self.probe_mail(protocol, endpoint, ip, &label).await;
        }
        let tls = endpoint.tls.unwrap_or(!matches!(endpoint.port, 80 | 8080 | 8000 | 8008));
        let target = HttpTarget { addr: SocketAddr::new(ip, endpoint.port), host: endpoint.name.clone(), tls };
        let mut session = HttpSession::new(self.options.http.clone(), target.clone());
        let random = random_token(&label, self.options.seed);
        let addr = SocketAddr::new(ip, endpoint.port);
        let mut run = self.run_plan(&mut session, &random).await;
        let tls_refused = tls && matches!(run.error, Some(ProbeError::Tls(TlsError::Handshake(_))));
        // Inside TLS, something that is not HTTP: a mail or rsync dialect over implicit TLS
        // on a port of its own choosing (IMAPS on 10993).
        if endpoint.tls.is_none()
            && session.tls_info().is_some()
            && run.answers.len() == 1
            && matches!(&run.error, Some(ProbeError::Wire(_)))
            && let Some(protocol) = self.sniff_greeting(addr, endpoint.name.as_deref(), true).await
        {
            return self.probe_mail(protocol, endpoint, ip, &label).await;
        }
        // TLS was a guess from the port: a server that answered the ClientHello with
        // something that is not TLS speaks plain text.
        if endpoint.tls.is_none() && run.answers.len() == 1 && matches!(run.error, Some(ProbeError::Tls(_))) {
            session = HttpSession::new(self.options.http.clone(), HttpTarget { tls: false, ..target.clone() });
            run = self.run_plan(&mut session, &random).await;
        }
        // A server that talks first in a mail or rsync dialect on a port of its own choosing.
        if endpoint.tls.is_none()
            && run.answers.len() == 1
            && matches!(&run.error, Some(ProbeError::Wire(_)))
            && let Some(protocol) = self.sniff_greeting(addr, None, false).await
        {
            return self.probe_mail(protocol, endpoint, ip, &label).await;
        }
        // Plain text was a guess from the port (80, 8080, ...): an answer that is not HTTP may
        // be a TLS alert from a server that wants a ClientHello first.
        if endpoint.tls.is_none() && !tls && run.answers.len() == 1 && matches!(&run.error, Some(ProbeError::Wire(_))) {
            let mut over_tls = HttpSession::new(self.options.http.clone(), HttpTarget { tls: true, ..target });
            let tls_run = self.run_plan(&mut over_tls, &random).await;
            if tls_run.answers.iter().any(|a| a.response.is_some()) {
                (session, run) = (over_tls, tls_run);
            }
        }
        let mut records = Vec::new();
        if run.answers.iter().all(|a| a.response.is_none()) {
            // A TLS that rustls does not speak (1.0/1.1 only) is still judged from its hellos.
            if tls_refused {
                records.extend(self.legacy_only_tls(endpoint, addr).await);
            }
            if let Some(error) = run.error {
                records.push(error_record(&label, error.to_string()));
            }
            return records;
        }
        let fp = fingerprint::fingerprint(&run.answers);
        let host = endpoint.host_label();
        let ip_text = Some(ip.to_string());
        let assessment = assess::assess(
            &self.kb,
            self.options.today(),
            &host,
            ip_text,
            endpoint.port,
            session.tls_info().cloned(),
            &fp,
        );
        let proxynotshell_open = assessment.report.as_ref().is_none_or(|report| {
            report.clusters.iter().any(|c| c.name == "ProxyNotShell" && c.status != seawall_kb::CveStatus::Fixed)
        });
        let mut service = assessment.service;
        record_plan_facts(&mut service, &run, &fp);
        let mut tls_findings = Vec::new();
        if let Some(rustls) = session.tls_info().cloned() {
            session.close();
            let survey = self.survey_tls(endpoint, addr, Some(&rustls)).await;
            service.tls = survey.tls.or(Some(rustls));
            service.facts.insert("tls_versions_probed".into(), survey.probed.into());
            tls_findings = survey.findings;
        }
        records.push(Record::Service(service));
        records.extend(assessment.findings.into_iter().map(Record::Finding));
        records.extend(tls_findings.into_iter().map(Record::Finding));
        if run.budget_exhausted {
            let budget = self.plan.budget.max_requests;
            records.push(error_record(&label, format!("probe plan cut at its budget of {budget} requests")));
        }
        if let Some(error) = run.error {
            records.push(error_record(&label, format!("probe stopped early: {error}")));
            return records;
        }
        if fp.exchange && !fp.online {
            let location = seawall_model::Location::Host { host, port: endpoint.port };
            if self.options.probe_webshells {
                let (found, failed) =
                    webshells::probe_webshells(&mut session, &self.webshell_paths, &random, &location).await;
                records.extend(found.into_iter().map(Record::Finding));
                records.extend(failed.map(|message| error_record(&label, message)));
            }
            if self.options.active {
                let (found, failed) = active::active_checks(&mut session, &location, proxynotshell_open).await;
                records.extend(found.into_iter().map(Record::Finding));
                records.extend(failed.map(|message| error_record(&label, message)));
            }
        }
        records
    }

    /// Read what a server says unasked (nothing is sent but, with `tls`, a TLS handshake):
    /// `220` is SMTP, `* OK` IMAP, `+OK` POP3, `@RSYNCD:` rsync (never over TLS).
    async fn sniff_greeting(&self, addr: SocketAddr, host: Option<&str>, tls: bool) -> Option<MailProtocol> {
        use tokio::io::{AsyncRead, AsyncReadExt};
        let http = &self.options.http;
        let tcp = Dialer::new(http.source, http.timeouts.connect).connect(addr).await.ok()?;
        let mut stream: Box<dyn AsyncRead + Unpin + Send> = if tls {
            let bounds = HandshakeBounds { step: http.timeouts.tls, deadline: None };
            let (stream, _) = crate::tls::handshake(&http.tls, host, addr.ip(), tcp, bounds).await.ok()?;
            Box::new(stream)
        } else {
            Box::new(tcp)
        };
        let mut buffer = [0u8; 64];
        let read = timeout(http.timeouts.response_head.min(Duration::from_secs(5)), stream.read(&mut buffer))
            .await
            .ok()?
            .ok()?;
        let greeting = &buffer[..read];
        let protocol = if greeting.starts_with(b"220") {
            MailProtocol::Smtp
        } else if greeting.starts_with(b"* OK") || greeting.starts_with(b"* PREAUTH") {
            MailProtocol::Imap
        } else if greeting.starts_with(b"+OK") {
            MailProtocol::Pop3
        } else if greeting.starts_with(b"@RSYNCD:") && !tls {
            MailProtocol::Rsync
        } else {
            return None;
        };
        Some(if tls { protocol.over_implicit_tls() } else { protocol })
    }

    /// The TLS versions and posture of an implicit-TLS port, within a share of the host's time.
    async fn survey_tls(&self, endpoint: &Endpoint, addr: SocketAddr, rustls: Option<&TlsInfo>) -> TlsSurvey {
        let http = &self.options.http;
        let dialer = Dialer::new(http.source, http.timeouts.connect);
        let total = (self.options.host_timeout / 3).clamp(Duration::from_secs(1), Duration::from_secs(20));
        let negotiated = rustls.and_then(|t| t.versions.first().map(String::as_str));
        let name = endpoint.name.as_deref();
        let report =
            survey::probe_implicit_versions(&dialer, addr, name, negotiated, http.timeouts.response_head, total).await;
        let location = seawall_model::Location::Host { host: endpoint.host_label(), port: endpoint.port };
        survey::judge(rustls, &report, name, &location, self.options.as_of)
    }

    /// A port whose TLS rustls refused: when a hand-built hello of an older version is
    /// accepted, the port is recorded (protocol `tls`) with its certificate and findings.
    async fn legacy_only_tls(&self, endpoint: &Endpoint, addr: SocketAddr) -> Vec<Record> {
        let survey = self.survey_tls(endpoint, addr, None).await;
        let Some(tls) = survey.tls else { return Vec::new() };
        let mut service = seawall_model::Service {
            host: endpoint.host_label(),
            ip: Some(addr.ip().to_string()),
            port: endpoint.port,
            protocol: "tls".into(),
            tls: Some(tls),
            ..seawall_model::Service::default()
        };
        service.facts.insert("tls_versions_probed".into(), survey.probed.into());
        service.facts.insert(
            "note".into(),
            "only TLS versions below 1.2 answered: the application protocol was not spoken".into(),
        );
        let mut records = vec![Record::Service(service)];
        records.extend(survey.findings.into_iter().map(Record::Finding));
        records
    }

    async fn probe_mail(&self, protocol: MailProtocol, endpoint: &Endpoint, ip: IpAddr, label: &str) -> Vec<Record> {
        let http = &self.options.http;
        let settings = MailSettings {
            connect: http.timeouts.connect,
            read: http.timeouts.response_head,
            // Leave the engine's own deadline the last word.
            total: self.options.host_timeout.saturating_sub(Duration::from_millis(500)).max(Duration::from_secs(1)),
            max_line: 4096,
            max_lines: 1000,
            tls: Arc::clone(&self.mail_tls),
            source: http.source,
            ehlo_name: "seawall.invalid".into(),
        };
        let host = endpoint.host_label();
        let outcome = mail::probe_mail(
            protocol,
            SocketAddr::new(ip, endpoint.port),
            endpoint.name.as_deref(),
            &host,
            &settings,
            self.options.as_of,
        )
        .await;
        let mut records = Vec::new();
        records.extend(outcome.service.map(Record::Service));
        records.extend(outcome.findings.into_iter().map(Record::Finding));
        records.extend(outcome.error.map(|error| error_record(label, error.to_string())));
        records
    }

    async fn resolve(&self, endpoint: &Endpoint) -> Result<IpAddr, ResolveError> {
        let name = endpoint.name.clone().unwrap_or_default();
        let addrs =
            timeout(self.options.http.timeouts.connect, tokio::net::lookup_host((name.as_str(), endpoint.port)))
                .await
                .map_err(|_| ResolveError::Timeout(name.clone()))?
                .map_err(|e| ResolveError::Failed(name.clone(), e))?;
        let mut addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        // IPv4 first (most services), then IPv6: a name with only AAAA records is scanned over IPv6.
        addrs.sort_by_key(|ip| ip.is_ipv6());
        let first = addrs.first().copied().ok_or_else(|| ResolveError::NoAddress(name.clone()))?;
        if self.space.is_excluded(first) {
            return Err(ResolveError::Excluded { name, ip: first });
        }
        Ok(first)
    }
}

/// Why a target name gave no address to scan.
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error("resolving {0}: timed out")]
    Timeout(String),
    #[error("resolving {0}: {1}")]
    Failed(String, #[source] std::io::Error),
    #[error("resolving {0}: no address")]
    NoAddress(String),
    #[error("{name} resolves to {ip}, which is excluded")]
    Excluded { name: String, ip: IpAddr },
}

/// What the plan's run says about the endpoint: requests sent, OWA's directory, redirects not followed.
fn record_plan_facts(service: &mut seawall_model::Service, run: &probe::PlanRun, fp: &fingerprint::Fingerprint) {
    service.facts.insert("requests_sent".into(), run.requests_sent.into());
    if let Some(vdir) = &fp.owa_vdir {
        service.facts.insert("owa_vdir".into(), vdir.clone().into());
    }
    if !run.hinted_vdirs.is_empty() {
        service.facts.insert("redirect_hints".into(), serde_json::json!(run.hinted_vdirs));
    }
    if !run.redirects.is_empty() {
        let redirects: Vec<serde_json::Value> = run
            .redirects
            .iter()
            .map(|(from, location)| serde_json::json!({ "from": from, "location": location }))
            .collect();
        service.facts.insert("redirects_not_followed".into(), redirects.into());
    }
}

/// Letters for the path that cannot exist, different per endpoint and run.
fn random_token(label: &str, seed: u64) -> String {
    let mut x = seed ^ 0x5eaa_u64;
    for b in label.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    (0..12)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}
