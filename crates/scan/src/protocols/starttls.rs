//! STARTTLS, once for every line protocol. [`converse`] is the conversation SMTP, IMAP and
//! POP3 all have (greeting and capabilities, STARTTLS when a cleartext port offers it, the
//! capabilities again over TLS, a goodbye), each protocol giving its own steps through
//! [`Conversation`]; after SMTP `STARTTLS`, IMAP `STARTTLS` or POP3 `STLS` has been answered,
//! [`upgrade`] records the outcome in the observation and runs the TLS handshake;
//! [`open_for_hello`] brings a fresh connection to the point where the next bytes are a
//! ClientHello (for the TLS version probes of [`crate::tls::legacy`]).

use super::conn::{Conn, LineDialer, MailError};
use super::mail::{AuthExposure, Family, MailObservation, MailProtocol, Starttls};
use super::{imap, pop3, smtp};

/// What a port advertised: SMTP's EHLO keywords, IMAP's CAPABILITY, POP3's CAPA.
#[derive(Debug)]
pub(crate) struct Advertised {
    pub(crate) capabilities: Vec<String>,
    /// The authentication mechanisms listed, as an observation over TLS records them.
    pub(crate) mechanisms: Vec<String>,
    /// What a password sent on this session would be exposed to, were it cleartext.
    pub(crate) exposure: AuthExposure,
    pub(crate) starttls: bool,
}

/// The steps in which line protocols differ; [`converse`] runs them in the one order they share.
pub(crate) trait Conversation {
    /// The greeting and the first capabilities, what they show recorded in `seen`; `None` when
    /// there is nothing more to ask (IMAP `PREAUTH`, a POP3 server without CAPA).
    async fn greet(&self, conn: &mut Conn, seen: &mut MailObservation) -> Result<Option<Advertised>, MailError>;
    /// Ask for TLS (SMTP and IMAP `STARTTLS`, POP3 `STLS`).
    async fn request_starttls(&self, conn: &mut Conn) -> Result<Answer, MailError>;
    /// The capabilities asked again over TLS; `None` when the answer lists none.
    async fn advertised_over_tls(&self, conn: &mut Conn) -> Result<Option<Advertised>, MailError>;
    /// The polite end (`QUIT`, `LOGOUT`); its answer does not matter.
    async fn goodbye(&self, conn: &mut Conn);
}

/// The whole conversation of one port.
pub(crate) async fn converse(protocol: &impl Conversation, dialer: &LineDialer<'_>, implicit: bool) -> MailObservation {
    let mut seen = MailObservation { implicit_tls: implicit, ..MailObservation::default() };
    let Some(conn) = dialer.open(implicit, &mut seen).await else { return seen };
    match talk(protocol, conn, dialer, &mut seen).await {
        Ok(Some(mut conn)) => protocol.goodbye(&mut conn).await,
        Ok(None) => {}
        Err(e) => seen.error = Some(e),
    }
    seen
}

/// The conversation up to the goodbye; returns the connection (upgraded when STARTTLS
/// worked), or none when a failed TLS handshake left nothing to say goodbye on.
async fn talk(
    protocol: &impl Conversation,
    mut conn: Conn,
    dialer: &LineDialer<'_>,
    seen: &mut MailObservation,
) -> Result<Option<Conn>, MailError> {
    let Some(advertised) = protocol.greet(&mut conn, seen).await? else { return Ok(Some(conn)) };
    if seen.implicit_tls {
        seen.auth_after_tls = advertised.mechanisms;
        seen.capabilities_after_tls = Some(advertised.capabilities);
        return Ok(Some(conn));
    }
    seen.auth_before_tls = Some(advertised.exposure);
    seen.starttls_offered = advertised.starttls;
    seen.capabilities_before_tls = Some(advertised.capabilities);
    if !seen.starttls_offered {
        seen.starttls = Starttls::NotOffered;
        return Ok(Some(conn));
    }
    let answer = protocol.request_starttls(&mut conn).await?;
    let mut conn = match upgrade(conn, answer, dialer, seen).await {
        Upgraded::Tls(conn) => conn,
        Upgraded::Refused(conn) => return Ok(Some(conn)),
        Upgraded::Failed => return Ok(None),
    };
    if let Some(advertised) = protocol.advertised_over_tls(&mut conn).await? {
        seen.auth_after_tls = advertised.mechanisms;
        seen.capabilities_after_tls = Some(advertised.capabilities);
    }
    Ok(Some(conn))
}

/// How the server answered the protocol's STARTTLS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Accepted,
    /// Refused, with the reply as sent.
    Refused(String),
}

/// Where a conversation stands after [`upgrade`].
pub(crate) enum Upgraded {
    /// The handshake worked: the conversation goes on over TLS.
    Tls(Conn),
    /// STARTTLS was refused: the cleartext conversation goes on.
    Refused(Conn),
    /// The handshake failed: nothing is left to talk on.
    Failed,
}

/// Record `answer` in `seen` and, when accepted, run the handshake on `conn`.
pub(crate) async fn upgrade(
    conn: Conn,
    answer: Answer,
    dialer: &LineDialer<'_>,
    seen: &mut MailObservation,
) -> Upgraded {
    if let Answer::Refused(reply) = answer {
        seen.starttls = Starttls::Refused(reply);
        return Upgraded::Refused(conn);
    }
    match dialer.upgrade(conn).await {
        Ok((conn, info, injected)) => {
            seen.starttls = Starttls::Worked;
            seen.tls = Some(info);
            if injected > 0 {
                seen.facts.insert("bytes_before_tls_handshake".into(), injected.into());
            }
            Upgraded::Tls(conn)
        }
        Err(e) => {
            let text = e.to_string();
            seen.starttls = Starttls::HandshakeFailed(text.clone());
            seen.tls_error = Some(text);
            Upgraded::Failed
        }
    }
}

/// A connection ready for a ClientHello: fresh for implicit TLS, after the protocol's
/// greeting and accepted STARTTLS otherwise.
pub(crate) async fn open_for_hello(protocol: MailProtocol, dialer: &LineDialer<'_>) -> Result<Conn, MailError> {
    let mut conn = dialer.plain().await?;
    if !protocol.implicit_tls() {
        let answer = match protocol.family() {
            Family::Smtp => smtp::begin_tls(&mut conn, &dialer.settings.ehlo_name).await?,
            Family::Imap => imap::begin_tls(&mut conn).await?,
            Family::Pop3 => pop3::begin_tls(&mut conn).await?,
            // rsync has no STARTTLS: nothing to begin.
            Family::Rsync => {
                return Err(MailError::Refused { step: "STARTTLS", reply: "rsync has no STARTTLS".into() });
            }
        };
        if let Answer::Refused(reply) = answer {
            return Err(MailError::Refused { step: "STARTTLS", reply });
        }
    }
    Ok(conn)
}
