//! Opening the connections of one probe: TCP from the configured source
//! address, TLS over any stream (implicit or after STARTTLS), every step under
//! the probe's bounds.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use seawall_model::TlsInfo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

use super::MailSettings;
use super::lines::{LineLimits, LineReader};
use crate::http::cert::tls_info;
use crate::http::tls::server_name;

/// Any byte stream a conversation runs over: TCP, or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub(crate) type BoxStream = Box<dyn Stream>;
pub(crate) type Conn = LineReader<BoxStream>;

/// Where one probe connects and within which bounds.
#[derive(Debug, Clone)]
pub(crate) struct Dialer<'a> {
    pub(crate) addr: SocketAddr,
    /// The name asked for: sent as SNI and compared with the certificate.
    pub(crate) host: Option<&'a str>,
    pub(crate) settings: &'a MailSettings,
    pub(crate) deadline: Instant,
    /// `settings.tls` without session resumption (see [`without_resumption`]).
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

/// A copy of a client configuration that never resumes a TLS session. A
/// resumed session carries the certificate of the first handshake: Postfix
/// shares its session ticket keys between all its ports, so a session from a
/// port with a good certificate would resume on a port with a bad one and
/// hide it.
pub(crate) fn without_resumption(config: &Arc<rustls::ClientConfig>) -> Arc<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::clone(config);
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

impl Dialer<'_> {
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

    fn step_deadline(&self, step: std::time::Duration) -> Instant {
        (Instant::now() + step).min(self.deadline)
    }

    /// A TCP connection, bound to the source address when one is set.
    pub(crate) async fn tcp(&self) -> Result<TcpStream, String> {
        let until = self.step_deadline(self.settings.connect);
        match timeout_at(until, open_tcp(self.addr, self.settings.source)).await {
            Err(_) if until >= self.deadline => Err("connect: total time limit reached".into()),
            Err(_) => Err(format!("connect: no answer within {:?}", self.settings.connect)),
            Ok(Err(e)) => Err(format!("connect: {e}")),
            Ok(Ok(tcp)) => {
                let _ = tcp.set_nodelay(true);
                Ok(tcp)
            }
        }
    }

    /// A cleartext conversation.
    /// Open the port as the protocol wants it (TLS first on implicit-TLS ports), noting in
    /// `seen` the TLS facts or why it could not be opened.
    pub(crate) async fn open(&self, implicit: bool, seen: &mut super::MailObservation) -> Option<Conn> {
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
                if implicit && e.starts_with("TLS") {
                    seen.tls_error = Some(e.clone());
                }
                seen.error = Some(e);
                None
            }
        }
    }

    pub(crate) async fn plain(&self) -> Result<Conn, String> {
        let tcp = self.tcp().await?;
        Ok(LineReader::new(Box::new(tcp) as BoxStream, self.limits()))
    }

    /// A conversation inside TLS from the first byte (ports 465, 993, 995).
    pub(crate) async fn implicit_tls(&self) -> Result<(Conn, TlsInfo), String> {
        let tcp = self.tcp().await?;
        let (stream, info) = self.handshake(Box::new(tcp)).await?;
        Ok((LineReader::new(stream, self.limits()), info))
    }

    /// Upgrade a conversation after the server accepted STARTTLS. Returns the
    /// new conversation and how many bytes the server had sent after its
    /// STARTTLS answer (they are dropped, never read as if they came over TLS).
    pub(crate) async fn upgrade(&self, conn: Conn) -> Result<(Conn, TlsInfo, usize), String> {
        let (stream, rest, received) = conn.into_parts();
        let (stream, info) = self.handshake(stream).await?;
        Ok((LineReader::resume(stream, self.limits(), received), info, rest.len()))
    }

    async fn handshake(&self, stream: BoxStream) -> Result<(BoxStream, TlsInfo), String> {
        let connector = TlsConnector::from(Arc::clone(&self.tls));
        let name = server_name(self.host, self.addr.ip());
        let until = self.step_deadline(self.settings.read);
        match timeout_at(until, connector.connect(name, stream)).await {
            Err(_) if until >= self.deadline => Err("TLS handshake: total time limit reached".into()),
            Err(_) => Err(format!("TLS handshake: not finished within {:?}", self.settings.read)),
            Ok(Err(e)) => Err(format!("TLS handshake: {e}")),
            Ok(Ok(tls)) => {
                let info = tls_info(tls.get_ref().1);
                Ok((Box::new(tls), info))
            }
        }
    }
}

/// Accepts every certificate and every handshake signature. Used only for a
/// second try after rustls refused what a server signs with (a 1024-bit RSA
/// key, a version 1 certificate): the probe sends no secret over the session,
/// and the certificate is judged afterwards from the recorded chain.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client configuration that verifies nothing (see [`NoVerification`]), without resumption.
pub(crate) fn unverified_config() -> Option<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Some(Arc::new(config))
}

async fn open_tcp(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(source) = source.filter(|s| s.is_ipv4() == addr.is_ipv4()) {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    socket.connect(addr).await
}
