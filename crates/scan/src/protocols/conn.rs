//! The connections of one line-protocol probe (SMTP, IMAP, POP3, rsync): TCP through the
//! [`net::Dialer`](crate::net::Dialer), TLS through the [`tls`](crate::tls) layer (implicit
//! or after STARTTLS), a bounded [`LineReader`] on top, every step under the probe's deadline.

use std::net::SocketAddr;

use seawall_model::TlsInfo;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::mail::{MailObservation, MailSettings};
use crate::net::lines::{LineError, LineLimits, LineReader};
use crate::net::{Dialer, NetError};
use crate::tls::{self, HandshakeBounds, TlsError};

/// Any byte stream a conversation runs over: TCP, or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub(crate) type BoxStream = Box<dyn Stream>;
pub(crate) type Conn = LineReader<BoxStream>;

/// Why a mail or rsync conversation stopped. Callers decide on the variant, never on the text.
#[derive(Debug, Error)]
pub enum MailError {
    #[error(transparent)]
    Connect(#[from] NetError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The probe's whole time ran out during `step`.
    #[error("{step}: total time limit reached")]
    Deadline { step: &'static str },
    /// The server answered `step` with a refusal (its reply, as sent).
    #[error("{step} refused: {reply}")]
    Refused { step: &'static str, reply: String },
    /// Reading or writing `step` failed (a bound was hit, the server closed, an I/O error).
    #[error("{step}: {source}")]
    Line {
        step: &'static str,
        #[source]
        source: LineError,
    },
    /// The answer to `step` is not what the protocol sends.
    #[error("{step}: {text}")]
    Malformed { step: &'static str, text: String },
    /// A data file the probe needs did not load.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
}

impl MailError {
    /// A read or write error of `step`; the probe's deadline keeps its own variant.
    pub(crate) fn line(step: &'static str, source: LineError) -> MailError {
        match source {
            LineError::Deadline => MailError::Deadline { step },
            source => MailError::Line { step, source },
        }
    }

    /// The probe's time ran out: asking anything more is pointless.
    pub fn is_deadline(&self) -> bool {
        matches!(
            self,
            MailError::Deadline { .. } | MailError::Connect(NetError::Deadline) | MailError::Tls(TlsError::Deadline)
        )
    }
}

/// The first 80 characters of a server line, for errors.
pub(crate) fn excerpt(line: &str) -> String {
    line.chars().take(80).collect()
}

/// Where one probe connects and within which bounds.
#[derive(Debug, Clone)]
pub(crate) struct LineDialer<'a> {
    pub(crate) addr: SocketAddr,
    /// The name asked for: sent as SNI and compared with the certificate.
    pub(crate) host: Option<&'a str>,
    pub(crate) settings: &'a MailSettings,
    pub(crate) deadline: Instant,
}

impl LineDialer<'_> {
    pub(crate) fn limits(&self) -> LineLimits {
        let per_reply = self.settings.max_line.saturating_mul(self.settings.max_lines);
        LineLimits {
            max_line: self.settings.max_line,
            max_lines: self.settings.max_lines,
            // Room for a few full replies (greeting, capabilities twice, a certificate chain), no more.
            max_bytes: per_reply.max(16 * 1024).saturating_mul(4),
            read_timeout: self.settings.read,
            deadline: self.deadline,
        }
    }

    /// Open the port as the protocol wants it (TLS first on implicit-TLS ports), noting in
    /// `seen` the TLS facts or why it could not be opened.
    pub(crate) async fn open(&self, implicit: bool, seen: &mut MailObservation) -> Option<Conn> {
        let opened = if implicit {
            self.implicit_tls().await.map(|(conn, info)| {
                seen.tls = Some(info);
                conn
            })
        } else {
            self.plain().await
        };
        match opened {
            Ok(conn) => Some(conn),
            Err(e) => {
                if let MailError::Tls(tls) = &e {
                    seen.tls_error = Some(tls.to_string());
                }
                seen.error = Some(e);
                None
            }
        }
    }

    /// A cleartext conversation.
    pub(crate) async fn plain(&self) -> Result<Conn, MailError> {
        let dialer = Dialer::new(self.settings.source, self.settings.connect);
        let tcp = dialer.connect_until(self.addr, Some(self.deadline)).await?;
        Ok(LineReader::new(Box::new(tcp) as BoxStream, self.limits()))
    }

    /// A conversation inside TLS from the first byte (ports 465, 993, 995 and any port found to speak TLS).
    pub(crate) async fn implicit_tls(&self) -> Result<(Conn, TlsInfo), MailError> {
        let (stream, _, _) = self.plain().await?.into_parts();
        let (stream, info) = self.handshake(stream).await?;
        Ok((LineReader::new(stream, self.limits()), info))
    }

    /// Upgrade a conversation after the server accepted STARTTLS. Returns the
    /// new conversation and how many bytes the server had sent after its
    /// STARTTLS answer (they are dropped, never read as if they came over TLS).
    pub(crate) async fn upgrade(&self, conn: Conn) -> Result<(Conn, TlsInfo, usize), TlsError> {
        let (stream, rest, received) = conn.into_parts();
        let (stream, info) = self.handshake(stream).await?;
        Ok((LineReader::resume(stream, self.limits(), received), info, rest.len()))
    }

    async fn handshake(&self, stream: BoxStream) -> Result<(BoxStream, TlsInfo), TlsError> {
        let bounds = HandshakeBounds { step: self.settings.read, deadline: Some(self.deadline) };
        let (tls, info) = tls::handshake(&self.settings.tls, self.host, self.addr.ip(), stream, bounds).await?;
        Ok((Box::new(tls), info))
    }
}
