//! One HTTP/1.1 conversation with one endpoint: TCP, optional TLS, requests on
//! a kept-alive connection, every phase under its own timeout and every read bounded.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use seawall_model::TlsInfo;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;

use super::cert::describe_certificate;
use super::tls::server_name;

/// Time allowed for each phase of a conversation.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub tls: Duration,
    /// From sending a request to having its whole response head.
    pub response_head: Duration,
    /// For the whole body of one response.
    pub body: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            tls: Duration::from_secs(5),
            response_head: Duration::from_secs(10),
            body: Duration::from_secs(10),
        }
    }
}

/// Bounds on what a server may make us read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_headers: usize,
    /// The read buffer, which bounds the response head.
    pub max_head_bytes: usize,
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_headers: 100, max_head_bytes: 64 * 1024, max_body_bytes: 256 * 1024 }
    }
}

/// Settings shared by every conversation of a scan.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeouts: Timeouts,
    pub limits: Limits,
    pub user_agent: String,
    pub tls: Arc<ClientConfig>,
    /// Bind to this source address before connecting (tests on loopback).
    pub source: Option<IpAddr>,
}

/// Where to talk to and how.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub addr: SocketAddr,
    /// Sent as SNI and Host; the address is used when absent.
    pub host: Option<String>,
    pub tls: bool,
}

impl HttpTarget {
    pub fn host_header(&self) -> String {
        match &self.host {
            Some(host) => host.clone(),
            None => match self.addr {
                SocketAddr::V4(v4) if self.default_port() == v4.port() => v4.ip().to_string(),
                SocketAddr::V6(v6) if self.default_port() == v6.port() => format!("[{}]", v6.ip()),
                other => other.to_string(),
            },
        }
    }

    fn default_port(&self) -> u16 {
        if self.tls { 443 } else { 80 }
    }
}

/// A failed conversation step, named by phase so the error record says where it stopped.
#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect: timed out")]
    ConnectTimeout,
    #[error("TLS handshake: {0}")]
    Tls(std::io::Error),
    #[error("TLS handshake: timed out")]
    TlsTimeout,
    #[error("HTTP: {0}")]
    Http(String),
    #[error("HTTP: no complete response head within the time limit")]
    HeadTimeout,
}

/// A response, with its body cut at the limit.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, values as sent (possibly not UTF-8).
    pub headers: Vec<(String, Bytes)>,
    pub body: Bytes,
    pub body_truncated: bool,
    /// The body could not be read to its end in time.
    pub body_timed_out: bool,
}

impl HttpResponse {
    /// The first value of a header, as lossy text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// Every value of a header (WWW-Authenticate comes several times).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to one endpoint that requests are sent over, reconnecting when the server closed it.
#[derive(Debug)]
pub struct HttpSession {
    settings: HttpSettings,
    target: HttpTarget,
    sender: Option<http1::SendRequest<Empty<Bytes>>>,
    tls_info: Option<TlsInfo>,
    connections: u32,
}

impl HttpSession {
    pub fn new(settings: HttpSettings, target: HttpTarget) -> HttpSession {
        HttpSession { settings, target, sender: None, tls_info: None, connections: 0 }
    }

    /// What the TLS handshake showed, once one happened.
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls_info.as_ref()
    }

    /// How many connections were opened so far.
    pub fn connections(&self) -> u32 {
        self.connections
    }

    pub fn target(&self) -> &HttpTarget {
        &self.target
    }

    async fn connect(&mut self) -> Result<(), ProbeError> {
        let t = self.settings.timeouts;
        let tcp = timeout(t.connect, open_tcp(self.target.addr, self.settings.source))
            .await
            .map_err(|_| ProbeError::ConnectTimeout)?
            .map_err(ProbeError::Connect)?;
        let _ = tcp.set_nodelay(true);
        self.connections += 1;
        let stream: Box<dyn Stream> = if self.target.tls {
            let connector = TlsConnector::from(Arc::clone(&self.settings.tls));
            let name = server_name(self.target.host.as_deref(), self.target.addr.ip());
            let tls = timeout(t.tls, connector.connect(name, tcp))
                .await
                .map_err(|_| ProbeError::TlsTimeout)?
                .map_err(ProbeError::Tls)?;
            if self.tls_info.is_none() {
                self.tls_info = Some(tls_info(tls.get_ref().1));
            }
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut builder = http1::Builder::new();
        builder.max_buf_size(self.settings.limits.max_head_bytes.max(8192));
        builder.max_headers(self.settings.limits.max_headers);
        let (sender, connection) =
            builder.handshake(TokioIo::new(stream)).await.map_err(|e| ProbeError::Http(e.to_string()))?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    /// Send one request and read the response, bounded. Reconnects once when
    /// the kept-alive connection was closed by the server.
    pub async fn request(
        &mut self,
        method: &http::Method,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse, ProbeError> {
        for attempt in 0..2 {
            if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
                self.connect().await?;
            }
            let Some(sender) = self.sender.as_mut() else { continue };
            if sender.ready().await.is_err() {
                self.sender = None;
                continue;
            }
            let request =
                build_request(method, target, &self.target.host_header(), &self.settings.user_agent, headers)?;
            let sent = timeout(self.settings.timeouts.response_head, sender.send_request(request)).await;
            let response = match sent {
                Err(_) => {
                    self.sender = None;
                    return Err(ProbeError::HeadTimeout);
                }
                // A kept-alive connection closed under us: safe to retry this idempotent GET/HEAD once.
                Ok(Err(e)) if attempt == 0 && self.connections > 0 && e.is_canceled() => {
                    self.sender = None;
                    continue;
                }
                Ok(Err(e)) => {
                    self.sender = None;
                    return Err(ProbeError::Http(e.to_string()));
                }
                Ok(Ok(response)) => response,
            };
            let (parts, body) = response.into_parts();
            let (body, body_truncated, body_timed_out) =
                read_body_bounded(body, self.settings.limits.max_body_bytes, self.settings.timeouts.body).await;
            if body_truncated || body_timed_out {
                // The rest of the body is still in flight: this connection cannot carry another request.
                self.sender = None;
            }
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), Bytes::copy_from_slice(v.as_bytes())))
                .collect();
            return Ok(HttpResponse { status: parts.status.as_u16(), headers, body, body_truncated, body_timed_out });
        }
        Err(ProbeError::Http("connection closed before a response".into()))
    }
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

fn build_request(
    method: &http::Method,
    target: &str,
    host: &str,
    user_agent: &str,
    headers: &[(&str, &str)],
) -> Result<http::Request<Empty<Bytes>>, ProbeError> {
    let mut builder = http::Request::builder()
        .method(method.clone())
        .uri(target)
        .header(http::header::HOST, host)
        .header(http::header::USER_AGENT, user_agent)
        .header(http::header::ACCEPT, "*/*");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Empty::new()).map_err(|e| ProbeError::Http(format!("request {target:?}: {e}")))
}

/// Read at most `cap` bytes of body within `limit`; the rest is left unread.
async fn read_body_bounded(mut body: hyper::body::Incoming, cap: usize, limit: Duration) -> (Bytes, bool, bool) {
    let deadline = Instant::now() + limit;
    let mut buffer = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return (buffer.freeze(), false, true),
            Ok(None) => return (buffer.freeze(), false, false),
            Ok(Some(Err(_))) => return (buffer.freeze(), false, false),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            let room = cap - buffer.len();
            if data.len() > room {
                buffer.extend_from_slice(&data[..room]);
                return (buffer.freeze(), true, false);
            }
            buffer.extend_from_slice(&data);
        }
    }
}

fn tls_info(connection: &rustls::ClientConnection) -> TlsInfo {
    let version = match connection.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    TlsInfo {
        versions: vec![version],
        cipher: connection.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
        chain: connection.peer_certificates().unwrap_or_default().iter().map(|der| describe_certificate(der)).collect(),
    }
}
