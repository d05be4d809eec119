//! One HTTP/1.1 conversation with one endpoint: TCP, optional TLS, requests on
//! a kept-alive connection, every phase under its own timeout and every read bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::ClientConfig;
use seawall_model::TlsInfo;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::wire::{self, WireError};
use crate::net::{Dialer, NetError, SourceAddrs};
use crate::tls::{self, HandshakeBounds, TlsError};

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
    /// Longest response head read.
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
    /// Bind to these source addresses before connecting (one per family; tests on loopback).
    pub source: SourceAddrs,
}

impl HttpSettings {
    /// Default timeouts and limits, the probe TLS configuration offering `http/1.1`, no source
    /// address: what the CLI, the demo and the tests start from.
    pub fn new(user_agent: impl Into<String>) -> HttpSettings {
        HttpSettings {
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            user_agent: user_agent.into(),
            tls: crate::tls::probe_client_config(&[b"http/1.1"]),
            source: SourceAddrs::default(),
        }
    }
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
    #[error(transparent)]
    Connect(#[from] NetError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The request could not be written or its response read.
    #[error("HTTP: {0}")]
    Wire(#[from] WireError),
}

impl ProbeError {
    /// The peer is no HTTP speaker (a TLS handshake failed, or the answer is not HTTP): the
    /// caller may try another way of talking to the port.
    pub fn wrong_protocol(&self) -> bool {
        matches!(self, ProbeError::Tls(TlsError::Handshake(_)) | ProbeError::Wire(WireError::Malformed(_)))
    }
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
pub struct HttpSession {
    settings: HttpSettings,
    target: HttpTarget,
    stream: Option<Box<dyn Stream>>,
    tls_info: Option<TlsInfo>,
    connections: u32,
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("target", &self.target)
            .field("connected", &self.stream.is_some())
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl HttpSession {
    pub fn new(settings: HttpSettings, target: HttpTarget) -> HttpSession {
        HttpSession { settings, target, stream: None, tls_info: None, connections: 0 }
    }

    /// What the TLS handshake showed, once one happened.
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls_info.as_ref()
    }

    /// Close the kept-alive connection (the next request opens a new one): an endpoint never
    /// holds more than one connection at a time while other probes of it run.
    pub fn close(&mut self) {
        self.stream = None;
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
        let tcp = Dialer::new(self.settings.source, t.connect).connect(self.target.addr).await?;
        self.connections += 1;
        let stream: Box<dyn Stream> = if self.target.tls {
            let bounds = HandshakeBounds { step: t.tls, deadline: None };
            let (tls, info) =
                tls::handshake(&self.settings.tls, self.target.host.as_deref(), self.target.addr.ip(), tcp, bounds)
                    .await?;
            self.tls_info.get_or_insert(info);
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        self.stream = Some(stream);
        Ok(())
    }

    /// Send one request and read the response, bounded. Reconnects once when a
    /// kept-alive connection turns out to have been closed by the server
    /// (safe: the plan only sends GET and HEAD).
    pub async fn request(
        &mut self,
        method: &http::Method,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse, ProbeError> {
        let bytes = wire::request_bytes(
            method.as_str(),
            target,
            &self.target.host_header(),
            &self.settings.user_agent,
            headers,
        )?;
        let limits = self.settings.limits;
        for attempt in 0..2 {
            let reused = self.stream.is_some();
            if !reused {
                self.connect().await?;
            }
            let Some(stream) = self.stream.as_mut() else { continue };
            let deadline = Instant::now() + self.settings.timeouts.response_head;
            let written = wire::write_request(stream, &bytes, deadline).await;
            let head = match written {
                Ok(()) => wire::read_head(stream, limits.max_head_bytes, limits.max_headers, deadline).await,
                Err(e) => Err(e),
            };
            let mut head = match head {
                Ok(head) => head,
                Err(WireError::ClosedBeforeResponse | WireError::Io(_)) if reused && attempt == 0 => {
                    self.stream = None;
                    continue;
                }
                Err(e) => {
                    self.stream = None;
                    return Err(ProbeError::Wire(e));
                }
            };
            let head_only = *method == http::Method::HEAD;
            let body =
                wire::read_body(stream, &mut head, head_only, limits.max_body_bytes, self.settings.timeouts.body).await;
            if !body.reusable {
                self.stream = None;
            }
            return Ok(HttpResponse {
                status: head.status,
                headers: head.headers,
                body: Bytes::from(body.bytes),
                body_truncated: body.truncated,
                body_timed_out: body.timed_out,
            });
        }
        Err(ProbeError::Wire(WireError::ClosedBeforeResponse))
    }
}
