//! STARTTLS, once for every line protocol: after SMTP `STARTTLS`, IMAP `STARTTLS` or POP3
//! `STLS` has been answered, [`upgrade`] records the outcome in the observation and runs
//! the TLS handshake; [`open_for_hello`] brings a fresh connection to the point where the
//! next bytes are a ClientHello (for the TLS version probes of [`crate::tls::legacy`]).

use super::conn::{Conn, LineDialer, MailError};
use super::mail::{Family, MailObservation, MailProtocol, Starttls};
use super::{imap, pop3, smtp};

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
