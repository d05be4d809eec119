//! Hosts that try to hang, exhaust or mislead a scanner. They speak raw bytes, not HTTP through
//! a library, so they can break the protocol on purpose. Each keeps going until the client gives
//! up, but never longer than [`MAX_CONNECTION_TIME`] or beyond [`MAX_CONNECTION_BYTES`], so a
//! scanner bug cannot turn the testbed itself into a runaway.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::http::{self, ConnInfo, Head, Request, Response, Site};
use crate::ids;
use crate::log::RequestLog;

/// The longest a hostile host keeps one connection.
pub const MAX_CONNECTION_TIME: Duration = Duration::from_secs(120);
/// The most a hostile host sends on one connection.
pub const MAX_CONNECTION_BYTES: u64 = 100 * 1024 * 1024;
/// The pause between two bytes of [`crate::Hostile::Trickle`].
pub const TRICKLE_INTERVAL: Duration = Duration::from_secs(2);
/// Where [`crate::Hostile::RedirectToMetadata`] points: the cloud instance metadata service.
pub const METADATA_URL: &str = "http://169.254.169.254/latest/meta-data/";

const TRICKLE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nX-Trickle: ";
const BLOCK: usize = 16 * 1024;
/// How long TlsGarbage waits for the ClientHello it answers.
const HELLO_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) time: Duration,
    pub(crate) bytes: u64,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits { time: MAX_CONNECTION_TIME, bytes: MAX_CONNECTION_BYTES };
}

/// The hosts that answer with a never-ending response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flood {
    Trickle,
    EndlessHeaders,
    EndlessBody,
}

/// A redirector: well-formed HTTP, but the Location is a trap.
pub(crate) struct RedirectSite {
    location: String,
}

impl RedirectSite {
    pub(crate) fn to_metadata() -> RedirectSite {
        RedirectSite { location: METADATA_URL.to_owned() }
    }

    pub(crate) fn off_target(host: &str) -> RedirectSite {
        RedirectSite { location: format!("https://{host}/owa/") }
    }
}

impl Site for RedirectSite {
    fn respond(&self, _request: &Request, _conn: &ConnInfo) -> Response {
        Response::new(302)
            .header("Server", "Microsoft-IIS/10.0")
            .header("Cache-Control", "no-cache")
            .header("Location", self.location.clone())
    }
}

/// Runs a flood on an established connection (after the TLS handshake on TLS ports) while
/// reading and logging whatever request the client sends.
pub(crate) async fn flood<S>(io: S, kind: Flood, limits: Limits, server: SocketAddr, log: &RequestLog)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    let listen = async {
        listen(&mut reader, server, log).await;
        // A client may half-close after its request and still read: only a failed write or a
        // limit ends the connection.
        std::future::pending::<()>().await
    };
    let send = async {
        // A write error means the client gave up, which is the normal way out.
        let _ = match kind {
            Flood::Trickle => trickle(&mut writer, limits).await,
            Flood::EndlessHeaders => endless_headers(&mut writer, limits).await,
            Flood::EndlessBody => endless_body(&mut writer, limits).await,
        };
    };
    let _ = tokio::time::timeout(limits.time, async {
        tokio::select! {
            () = send => {}
            () = listen => {}
        }
    })
    .await;
    // Bounded: a client that stopped reading must not hold the task on a full send buffer.
    let _ = tokio::time::timeout(Duration::from_secs(1), writer.shutdown()).await;
}

/// Logs the request head if one arrives, then drains the rest so the client never blocks on us.
async fn listen<R: AsyncRead + Unpin>(reader: &mut R, server: SocketAddr, log: &RequestLog) {
    let mut buf = Vec::new();
    if let Ok(Head::Request(request)) = http::read_head(reader, &mut buf).await {
        log.record(server, &request);
    }
    let mut scratch = [0u8; 4096];
    while matches!(reader.read(&mut scratch).await, Ok(n) if n > 0) {}
}

/// One byte every [`TRICKLE_INTERVAL`]: the status line, then a header that never ends.
async fn trickle<W: AsyncWrite + Unpin>(writer: &mut W, limits: Limits) -> io::Result<()> {
    let bytes = TRICKLE_HEAD.iter().copied().chain(std::iter::repeat(b'a'));
    for (sent, byte) in (0..limits.bytes).zip(bytes) {
        if sent > 0 {
            tokio::time::sleep(TRICKLE_INTERVAL).await;
        }
        writer.write_all(&[byte]).await?;
        writer.flush().await?;
    }
    Ok(())
}

async fn endless_headers<W: AsyncWrite + Unpin>(writer: &mut W, limits: Limits) -> io::Result<()> {
    let mut budget = Budget::new(limits.bytes);
    budget.write(writer, b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nContent-Type: text/html\r\n").await?;
    let pad = "a".repeat(64);
    let mut n: u64 = 0;
    let mut block = String::with_capacity(BLOCK + 128);
    while !budget.spent() {
        block.clear();
        while block.len() < BLOCK {
            n += 1;
            block.push_str(&format!("X-Pad-{n}: {pad}\r\n"));
        }
        budget.write(writer, block.as_bytes()).await?;
    }
    Ok(())
}

/// Close-delimited: no Content-Length and no chunking, so only the client can decide to stop.
async fn endless_body<W: AsyncWrite + Unpin>(writer: &mut W, limits: Limits) -> io::Result<()> {
    let mut budget = Budget::new(limits.bytes);
    budget
        .write(
            writer,
            b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><body>\n",
        )
        .await?;
    let block = "<p>loading</p>\n".repeat(BLOCK / 15);
    while !budget.spent() {
        budget.write(writer, block.as_bytes()).await?;
    }
    Ok(())
}

/// Counts bytes against the per-connection cap and never writes past it.
struct Budget {
    left: u64,
}

impl Budget {
    fn new(bytes: u64) -> Budget {
        Budget { left: bytes }
    }

    fn spent(&self) -> bool {
        self.left == 0
    }

    async fn write<W: AsyncWrite + Unpin>(&mut self, writer: &mut W, bytes: &[u8]) -> io::Result<()> {
        let allowed = usize::try_from(self.left).unwrap_or(usize::MAX).min(bytes.len());
        writer.write_all(&bytes[..allowed]).await?;
        self.left -= allowed as u64;
        Ok(())
    }
}

/// Answers a ClientHello with bytes that cannot be a TLS record, then closes. The first byte is
/// fixed to one no TLS or HTTP parser accepts (record types are 0x14-0x18, SSLv2 sets 0x80).
pub(crate) async fn tls_garbage<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    let mut hello = [0u8; 4096];
    let _ = tokio::time::timeout(HELLO_WAIT, io.read(&mut hello)).await;
    let mut garbage = ids::random_bytes(512);
    garbage[0] = b'Z';
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = io.write_all(&garbage).await;
        let _ = io.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr};

    const SERVER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 443);

    async fn run(kind: Flood, limits: Limits) -> (Vec<u8>, Duration, RequestLog) {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let log = RequestLog::default();
        let task_log = log.clone();
        let task = tokio::spawn(async move { flood(server, kind, limits, SERVER, &task_log).await });
        let start = tokio::time::Instant::now();
        client.write_all(b"GET /owa/ HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("request");
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.expect("read");
        task.await.expect("flood task");
        (received, start.elapsed(), log)
    }

    #[tokio::test(start_paused = true)]
    async fn trickle_sends_a_byte_every_interval_until_the_time_cap() {
        let (received, elapsed, log) = run(Flood::Trickle, Limits::DEFAULT).await;
        // One byte at once, then one per 2 s for 120 s (the byte due at the cap itself may or may not go).
        assert!((60..=61).contains(&received.len()), "{}", String::from_utf8_lossy(&received));
        assert!(received.starts_with(b"HTTP/1.1 200 OK\r\nX-Trickle: aaa"));
        assert!(
            elapsed >= MAX_CONNECTION_TIME && elapsed < MAX_CONNECTION_TIME + Duration::from_secs(3),
            "{elapsed:?}"
        );
        let logged = log.snapshot();
        assert_eq!((logged.len(), logged[0].target.as_str()), (1, "/owa/"));
    }

    #[tokio::test(start_paused = true)]
    async fn endless_headers_stop_at_the_byte_cap_without_ending_the_head() {
        let limits = Limits { time: MAX_CONNECTION_TIME, bytes: 300 * 1024 };
        let (received, _, _) = run(Flood::EndlessHeaders, limits).await;
        assert_eq!(received.len(), 300 * 1024);
        assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(!received.windows(4).any(|w| w == b"\r\n\r\n"), "the head must never end");
        assert!(String::from_utf8_lossy(&received).contains("\r\nX-Pad-1000: aaaa"));
    }

    #[tokio::test(start_paused = true)]
    async fn endless_body_stops_at_the_byte_cap() {
        let limits = Limits { time: MAX_CONNECTION_TIME, bytes: 1024 * 1024 };
        let (received, _, log) = run(Flood::EndlessBody, limits).await;
        assert_eq!(received.len(), 1024 * 1024);
        let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
        assert!(!head.contains("content-length") && !head.contains("transfer-encoding"), "{head}");
        assert_eq!(log.snapshot().len(), 1);
    }

    #[tokio::test]
    async fn tls_garbage_answers_with_a_non_tls_record() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(tls_garbage(server));
        client.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 1, 0, 0, 0]).await.expect("hello");
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.expect("read");
        task.await.expect("task");
        assert_eq!(received.len(), 512);
        assert!(!(0x14..=0x18).contains(&received[0]) && received[0] < 0x80);
    }
}
