//! The mail protocol speakers (SMTP, submission, SMTPS, IMAP, IMAPS, POP3,
//! POP3S) and the rsync daemon speaker: what a service exposes, read from its
//! greeting and capabilities, its TLS, and for rsync its module list.
//!
//! Non-intrusive by construction. Each module documents the exact bytes it
//! sends; none sends a credential, a mail transaction (MAIL FROM, RCPT TO,
//! DATA) or a file request. Every read is bounded in bytes, lines and time
//! ([`crate::net::lines`]), and the whole probe of one port ends by `settings.total`.
//!
//! [`probe_mail`] is the entry point; it returns a `service` record carrying
//! every fact observed and the findings that follow from them:
//!
//! | fact (`service.facts`) | meaning |
//! |---|---|
//! | `banner` | the greeting, lines joined by `\n` |
//! | `greeting_host`, `ehlo_domain` | the host names the SMTP greeting and EHLO answer state |
//! | `banner_server_name` | the server name Exchange 2013+ encodes in its IMAP/POP3 greeting |
//! | `apop`, `capa` | POP3: an APOP timestamp in the greeting; `not supported` when CAPA is refused |
//! | `preauth` | IMAP: the greeting was PREAUTH (logged in without credentials) |
//! | `capabilities_before_tls` / `capabilities_after_tls` | EHLO keywords, IMAP CAPABILITY atoms, POP3 CAPA lines |
//! | `auth_before_tls` / `auth_after_tls` | SASL mechanisms offered (plus `LOGIN` command / `USER` for IMAP / POP3) |
//! | `starttls_offered`, `starttls_result` | whether STARTTLS/STLS was advertised and what happened when it was used |
//! | `implicit_tls` | the port speaks TLS from the first byte |
//! | `tls_versions_probed` | per TLS version: `accepted`, or why not (alert, closed) |
//! | `bytes_before_tls_handshake` | bytes the server sent after its STARTTLS answer (dropped, never read) |
//! | `rustls_error` | the rustls handshake failed (a TLS rustls does not speak); the facts come from hand-built hellos |
//! | `rsync_protocol`, `rsync_digests`, `version_range` | the rsync greeting and what it means |
//! | `modules`, `motd`, `module_list_complete`, `module_list_error` | the rsync module list, each module's access |
//!
//! `service.starttls` is true only when STARTTLS was offered AND a TLS
//! handshake after it succeeded; `service.cleartext_auth` is true when a
//! password mechanism is offered on a session that is not (yet) encrypted.

pub mod assess;
pub mod banners;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use seawall_model::{Finding, Service, TlsInfo};
use tokio::time::Instant;

use self::banners::ProductMatch;
use super::conn::LineDialer;
pub use super::conn::MailError;
use super::{imap, pop3, rsync, smtp, starttls};
use crate::net::SourceAddrs;
use crate::tls::legacy::{self, LegacyReport};

/// The protocols this module speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailProtocol {
    Smtp,
    Submission,
    Smtps,
    Imap,
    Imaps,
    Pop3,
    Pop3s,
    Rsync,
}

impl MailProtocol {
    /// The protocol a standard port speaks.
    pub fn for_port(port: u16) -> Option<MailProtocol> {
        Some(match port {
            25 => MailProtocol::Smtp,
            587 => MailProtocol::Submission,
            465 => MailProtocol::Smtps,
            143 => MailProtocol::Imap,
            993 => MailProtocol::Imaps,
            110 => MailProtocol::Pop3,
            995 => MailProtocol::Pop3s,
            873 => MailProtocol::Rsync,
            _ => return None,
        })
    }

    /// The name used in `service.protocol`.
    pub fn name(self) -> &'static str {
        match self {
            MailProtocol::Smtp => "smtp",
            MailProtocol::Submission => "submission",
            MailProtocol::Smtps => "smtps",
            MailProtocol::Imap => "imap",
            MailProtocol::Imaps => "imaps",
            MailProtocol::Pop3 => "pop3",
            MailProtocol::Pop3s => "pop3s",
            MailProtocol::Rsync => "rsync",
        }
    }

    /// The same dialect inside TLS from the first byte (rsync has none).
    pub fn over_implicit_tls(self) -> MailProtocol {
        match self {
            MailProtocol::Smtp | MailProtocol::Submission | MailProtocol::Smtps => MailProtocol::Smtps,
            MailProtocol::Imap | MailProtocol::Imaps => MailProtocol::Imaps,
            MailProtocol::Pop3 | MailProtocol::Pop3s => MailProtocol::Pop3s,
            MailProtocol::Rsync => MailProtocol::Rsync,
        }
    }

    /// TLS from the first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(self, MailProtocol::Smtps | MailProtocol::Imaps | MailProtocol::Pop3s)
    }

    /// The dialect spoken, with or without TLS.
    pub fn family(self) -> Family {
        match self {
            MailProtocol::Smtp | MailProtocol::Submission | MailProtocol::Smtps => Family::Smtp,
            MailProtocol::Imap | MailProtocol::Imaps => Family::Imap,
            MailProtocol::Pop3 | MailProtocol::Pop3s => Family::Pop3,
            MailProtocol::Rsync => Family::Rsync,
        }
    }
}

/// A dialect: the speaker module that talks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Smtp,
    Imap,
    Pop3,
    Rsync,
}

/// Bounds and identity of every mail probe of a scan.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Longest wait for a TCP connection.
    pub connect: Duration,
    /// Longest wait for any one read, write or TLS handshake.
    pub read: Duration,
    /// Everything spent on one port, every connection included.
    pub total: Duration,
    /// Longest line accepted.
    pub max_line: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
    /// TLS client configuration (reading any certificate, see [`crate::tls::probe_client_config`]).
    pub tls: Arc<rustls::ClientConfig>,
    /// Connect from these addresses (tests on loopback: Dovecot trusts a client on its own address).
    pub source: SourceAddrs,
    /// The name sent in EHLO.
    pub ehlo_name: String,
}

/// What a mail or rsync probe found on one port.
#[derive(Debug, Default)]
pub struct MailOutcome {
    /// `None` when nothing speaking the protocol answered.
    pub service: Option<Service>,
    pub findings: Vec<Finding>,
    /// Why the probe stopped early, when it did (results may be partial).
    pub error: Option<MailError>,
}

/// Probe one port: `host` is the name asked for (SNI and certificate name
/// check), `label_host` the host written into records.
pub async fn probe_mail(
    protocol: MailProtocol,
    addr: SocketAddr,
    host: Option<&str>,
    label_host: &str,
    settings: &MailSettings,
    now: jiff::Timestamp,
) -> MailOutcome {
    let deadline = Instant::now() + settings.total;
    let dialer = LineDialer { addr, host, settings, deadline };
    if protocol == MailProtocol::Rsync {
        let mut seen = rsync::converse(&dialer).await;
        let mut outcome = assess::rsync_outcome(addr, label_host, &seen);
        outcome.error = outcome.error.or(seen.error.take());
        return outcome;
    }
    let banners = match banners::Banners::embedded() {
        Ok(banners) => banners,
        Err(e) => return MailOutcome { error: Some(MailError::Data(e.clone())), ..MailOutcome::default() },
    };
    let mut seen = converse(protocol, &dialer, banners).await;
    // An implicit-TLS port whose handshake rustls refused may still speak an older TLS: ask before giving up.
    let tls_only = seen.greeting.is_empty() && seen.implicit_tls && seen.tls_error.is_some();
    if seen.greeting.is_empty() && !tls_only {
        return MailOutcome { error: seen.error.take(), ..MailOutcome::default() };
    }
    let legacy = if seen.tls_reachable() {
        let negotiated = seen.tls.as_ref().and_then(|t| t.versions.first().cloned());
        legacy::probe_versions(negotiated.as_deref(), host, || starttls::open_for_hello(protocol, &dialer)).await
    } else {
        LegacyReport::default()
    };
    if tls_only && legacy.accepted().next().is_none() {
        return MailOutcome { error: seen.error.take(), ..MailOutcome::default() };
    }
    let mut outcome = assess::mail_outcome(protocol, addr, host, label_host, &seen, &legacy, now);
    outcome.error = seen.error.take();
    outcome
}

async fn converse(protocol: MailProtocol, dialer: &LineDialer<'_>, banners: &banners::Banners) -> MailObservation {
    match protocol.family() {
        Family::Smtp => {
            let smtp = smtp::Smtp::new(&dialer.settings.ehlo_name, banners);
            starttls::converse(&smtp, dialer, protocol.implicit_tls()).await
        }
        Family::Imap => starttls::converse(&imap::Imap { banners }, dialer, protocol.implicit_tls()).await,
        Family::Pop3 => starttls::converse(&pop3::Pop3 { banners }, dialer, protocol.implicit_tls()).await,
        // rsync has its own speaker (see `probe_mail`); nothing to converse here.
        Family::Rsync => MailObservation::default(),
    }
}

impl legacy::OpenFailure for MailError {
    fn is_deadline(&self) -> bool {
        MailError::is_deadline(self)
    }
}

/// What happened to STARTTLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Starttls {
    /// Implicit TLS port, or the conversation ended before capabilities.
    #[default]
    NotApplicable,
    NotOffered,
    /// Offered and the TLS handshake after it succeeded.
    Worked,
    /// Offered, but the command was answered with an error (the reply).
    Refused(String),
    /// Offered and accepted, but no TLS handshake followed (the error).
    HandshakeFailed(String),
}

/// Whether passwords can be sent on a session that is not encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthExposure {
    pub exposed: bool,
    /// Mechanisms (and `LOGIN` / `USER` commands) offered before TLS.
    pub offered: Vec<String>,
    /// The capability line(s) that show it.
    pub evidence: String,
}

/// What one mail conversation showed, before it is judged.
#[derive(Debug, Default)]
pub struct MailObservation {
    pub greeting: Vec<String>,
    pub product: Option<ProductMatch>,
    pub capabilities_before_tls: Option<Vec<String>>,
    pub capabilities_after_tls: Option<Vec<String>>,
    /// Offered on the cleartext session (`None` on implicit TLS or when unknown).
    pub auth_before_tls: Option<AuthExposure>,
    pub auth_after_tls: Vec<String>,
    pub starttls_offered: bool,
    pub starttls: Starttls,
    pub implicit_tls: bool,
    /// What rustls saw, when a handshake succeeded.
    pub tls: Option<TlsInfo>,
    /// Why the rustls handshake failed, when it did (implicit TLS or after STARTTLS).
    pub tls_error: Option<String>,
    /// Protocol-specific facts (greeting host, APOP, server name in the banner, ...).
    pub facts: BTreeMap<String, serde_json::Value>,
    pub error: Option<MailError>,
}

impl MailObservation {
    /// Whether a ClientHello can be sent at all: implicit TLS, or STARTTLS offered and accepted.
    fn tls_reachable(&self) -> bool {
        self.implicit_tls || matches!(self.starttls, Starttls::Worked | Starttls::HandshakeFailed(_))
    }
}

/// Mechanisms that send the password itself (base64 is not encryption).
pub fn is_cleartext_mechanism(mechanism: &str) -> bool {
    matches!(mechanism.to_ascii_uppercase().as_str(), "PLAIN" | "LOGIN" | "USER")
}

/// Make a server-sent name safe to send back in a command: printable ASCII without spaces.
pub(crate) fn sanitize_command_word(word: &str, fallback: &str) -> String {
    let ok = !word.is_empty() && word.len() <= 255 && word.bytes().all(|b| b.is_ascii_graphic());
    if ok { word.to_owned() } else { fallback.to_owned() }
}
