//! HTTP/1.1 on the wire, written for a scanner: requests built from fixed
//! parts, responses read with httparse into a buffer that grows only as the
//! server makes it, bodies framed by Content-Length, chunked encoding or close,
//! every read bounded. Memory per connection stays at what was actually read.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

/// Longest chunk-size line of a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
/// Bytes read per call: small, so idle connections hold little.
const READ_CHUNK: usize = 2048;

/// A response head and where its body starts.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Bytes)>,
    /// Bytes read past the head (the start of the body).
    pub(crate) rest: Vec<u8>,
    pub(crate) keep_alive: bool,
}

/// Why a response could not be read, or a request not written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer closed before sending anything (a kept-alive connection timed out on its side).
    #[error("connection closed before a response")]
    ClosedBeforeResponse,
    #[error("no complete response head within the time limit")]
    Timeout,
    #[error("message head is too large")]
    TooLarge,
    #[error("malformed response: {0}")]
    Malformed(String),
    /// A request that could not be sent as asked (it would split into two).
    #[error("{0}")]
    Unsendable(String),
}

/// The request bytes; refuses targets and header values that could split the request.
pub(crate) fn request_bytes(
    method: &str,
    target: &str,
    host: &str,
    user_agent: &str,
    headers: &[(&str, &str)],
) -> Result<Vec<u8>, WireError> {
    let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
    if bad(target) || target.contains(' ') || !target.starts_with('/') {
        return Err(WireError::Unsendable(format!("request target {target:?} is not a path")));
    }
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n");
    for (name, value) in headers {
        if bad(name) || bad(value) || name.contains(':') {
            return Err(WireError::Unsendable(format!("header {name:?} cannot be sent")));
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if bad(host) || bad(user_agent) {
        return Err(WireError::Unsendable("host or user agent holds a line break".into()));
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// Head length, status, headers (names lower-cased), keep-alive.
type ParsedHead = (usize, u16, Vec<(String, Bytes)>, bool);

/// Parse a head if the buffer holds a whole one: `Ok(None)` asks for more bytes.
fn parse_head(buffer: &[u8], max_headers: usize) -> Result<Option<ParsedHead>, WireError> {
    let mut storage = vec![httparse::EMPTY_HEADER; max_headers];
    let mut response = httparse::Response::new(&mut storage);
    let config = httparse::ParserConfig::default();
    match config.parse_response(&mut response, buffer) {
        Ok(httparse::Status::Complete(len)) => {
            let status = response.code.unwrap_or(0);
            let http10 = response.version == Some(0);
            let headers: Vec<(String, Bytes)> = response
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), Bytes::copy_from_slice(h.value)))
                .collect();
            let connection = headers.iter().find(|(n, _)| n == "connection").map(|(_, v)| v.to_ascii_lowercase());
            let keep_alive = match connection.as_deref() {
                Some(v) if v.windows(5).any(|w| w == b"close") => false,
                Some(v) if v.windows(10).any(|w| w == b"keep-alive") => true,
                _ => !http10,
            };
            Ok(Some((len, status, headers, keep_alive)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(WireError::Malformed(format!("more than {max_headers} headers"))),
        Err(e) => Err(WireError::Malformed(e.to_string())),
    }
}

/// Read a response head (skipping 1xx interim responses) by `deadline`.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    max_head: usize,
    max_headers: usize,
    deadline: Instant,
) -> Result<Head, WireError> {
    let mut buffer: Vec<u8> = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        if let Some((len, status, headers, keep_alive)) = parse_head(&buffer, max_headers)? {
            let rest = buffer.split_off(len);
            if (100..200).contains(&status) && status != 101 {
                buffer = rest;
                continue;
            }
            return Ok(Head { status, headers, rest, keep_alive });
        }
        if buffer.len() >= max_head {
            return Err(WireError::TooLarge);
        }
        let room = (max_head - buffer.len()).min(READ_CHUNK);
        let read = timeout_at(deadline, stream.read(&mut chunk[..room]))
            .await
            .map_err(|_| WireError::Timeout)?
            .map_err(WireError::Io)?;
        if read == 0 {
            return Err(if buffer.is_empty() {
                WireError::ClosedBeforeResponse
            } else {
                WireError::Malformed("connection closed inside the response head".into())
            });
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// How the body ended.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) truncated: bool,
    pub(crate) timed_out: bool,
    /// The connection can carry another request.
    pub(crate) reusable: bool,
}

enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Read a body of at most `cap` bytes by `limit`, framed as the head says.
pub(crate) async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    head: &mut Head,
    head_only: bool,
    cap: usize,
    limit: Duration,
) -> Body {
    let header =
        |name: &str| head.headers.iter().find(|(n, _)| n == name).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let framing = if head_only || head.status == 204 || head.status == 304 {
        Framing::None
    } else if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        Framing::Chunked
    } else if let Some(length) = header("content-length").and_then(|v| v.trim().parse::<u64>().ok()) {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    let deadline = Instant::now() + limit;
    let mut reader = Reader { stream, pending: std::mem::take(&mut head.rest), deadline };
    let mut body = Body::default();
    let ended_cleanly = match framing {
        Framing::None => true,
        Framing::Length(length) => reader.read_exact_capped(length, cap, &mut body).await,
        Framing::Chunked => reader.read_chunked(cap, &mut body).await,
        Framing::UntilClose => {
            reader.read_to_close(cap, &mut body).await;
            false
        }
    };
    body.reusable = ended_cleanly && head.keep_alive && !body.truncated && !body.timed_out;
    body
}

struct Reader<'a, S> {
    stream: &'a mut S,
    pending: Vec<u8>,
    deadline: Instant,
}

impl<S: AsyncRead + Unpin> Reader<'_, S> {
    /// More bytes into `pending`; false at EOF, timeout or error.
    async fn fill(&mut self, body: &mut Body) -> bool {
        let mut chunk = [0u8; READ_CHUNK];
        match timeout_at(self.deadline, self.stream.read(&mut chunk)).await {
            Err(_) => {
                body.timed_out = true;
                false
            }
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.pending.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    fn take_into(&mut self, n: usize, cap: usize, body: &mut Body) {
        let room = cap.saturating_sub(body.bytes.len());
        let kept = n.min(room);
        body.bytes.extend_from_slice(&self.pending[..kept]);
        if kept < n {
            body.truncated = true;
        }
        self.pending.drain(..n);
    }

    async fn read_exact_capped(&mut self, length: u64, cap: usize, body: &mut Body) -> bool {
        let mut left = length;
        while left > 0 {
            if self.pending.is_empty() && !self.fill(body).await {
                return false;
            }
            let n = (self.pending.len() as u64).min(left) as usize;
            self.take_into(n, cap, body);
            left -= n as u64;
            if body.truncated {
                return false;
            }
        }
        true
    }

    async fn read_line(&mut self, body: &mut Body) -> Option<Vec<u8>> {
        loop {
            if let Some(at) = self.pending.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=at).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(line);
            }
            if self.pending.len() > MAX_CHUNK_LINE || !self.fill(body).await {
                return None;
            }
        }
    }

    async fn read_chunked(&mut self, cap: usize, body: &mut Body) -> bool {
        loop {
            let Some(line) = self.read_line(body).await else { return false };
            let text = String::from_utf8_lossy(&line);
            let size_text = text.split(';').next().unwrap_or_default().trim();
            let Ok(size) = u64::from_str_radix(size_text, 16) else { return false };
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    match self.read_line(body).await {
                        Some(line) if line.is_empty() => return true,
                        Some(_) => continue,
                        None => return false,
                    }
                }
            }
            if !self.read_exact_capped(size, cap, body).await {
                return false;
            }
            match self.read_line(body).await {
                Some(line) if line.is_empty() => {}
                _ => return false,
            }
        }
    }

    async fn read_to_close(&mut self, cap: usize, body: &mut Body) {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len();
                self.take_into(n, cap, body);
                if body.truncated {
                    return;
                }
            }
            if !self.fill(body).await {
                return;
            }
        }
    }
}

/// Write a request, bounded by `deadline`.
pub(crate) async fn write_request<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    deadline: Instant,
) -> Result<(), WireError> {
    timeout_at(deadline, async {
        stream.write_all(bytes).await?;
        stream.flush().await
    })
    .await
    .map_err(|_| WireError::Timeout)?
    .map_err(WireError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn respond(raw: &[u8], head_only: bool) -> (Head, Body) {
        let mut stream: &[u8] = raw;
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut head = read_head(&mut stream, 64 * 1024, 100, deadline).await.expect("head");
        let body = read_body(&mut stream, &mut head, head_only, 1024, Duration::from_secs(1)).await;
        (head, body)
    }

    #[tokio::test]
    async fn content_length_and_keep_alive() {
        let (head, body) =
            respond(b"HTTP/1.1 302 Found\r\nX-OWA-Version: 15.2.858.2\r\nContent-Length: 5\r\n\r\nhelloEXTRA", false)
                .await;
        assert_eq!(head.status, 302);
        assert_eq!(head.headers[0], ("x-owa-version".to_owned(), Bytes::from_static(b"15.2.858.2")));
        assert_eq!(body.bytes, b"hello");
        assert!(body.reusable);
    }

    #[tokio::test]
    async fn chunked_bodies_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: 1\r\n\r\n";
        let (_, body) = respond(raw, false).await;
        assert_eq!(body.bytes, b"Wikipedia");
        assert!(body.reusable);
    }

    #[tokio::test]
    async fn bodies_are_capped_and_close_delimited_ones_end_the_connection() {
        let mut raw = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', 5000));
        let (_, body) = respond(&raw, false).await;
        assert_eq!(body.bytes.len(), 1024);
        assert!(body.truncated && !body.reusable);
    }

    #[tokio::test]
    async fn interim_responses_are_skipped_and_head_has_no_body() {
        let (head, body) =
            respond(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nabc", true)
                .await;
        assert_eq!(head.status, 401);
        assert!(body.bytes.is_empty());
    }

    #[tokio::test]
    async fn oversized_and_malformed_heads_are_errors() {
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..5000 {
            endless.extend_from_slice(format!("X-Pad-{i}: aaaaaaaaaaaaaaaa\r\n").as_bytes());
        }
        let mut stream: &[u8] = &endless;
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(matches!(
            read_head(&mut stream, 8192, 100, deadline).await,
            Err(WireError::TooLarge | WireError::Malformed(_))
        ));
        let mut garbage: &[u8] = b"\x16\x03\x01\x00\x05hello\r\n\r\n";
        assert!(matches!(read_head(&mut garbage, 8192, 100, deadline).await, Err(WireError::Malformed(_))));
        let mut empty: &[u8] = b"";
        assert!(matches!(read_head(&mut empty, 8192, 100, deadline).await, Err(WireError::ClosedBeforeResponse)));
    }

    #[test]
    fn requests_cannot_be_split() {
        assert!(request_bytes("GET", "/owa/\r\nX: y", "h", "ua", &[]).is_err());
        assert!(request_bytes("GET", "/a b", "h", "ua", &[]).is_err());
        assert!(request_bytes("GET", "/", "h", "ua", &[("Cookie", "a\nb")]).is_err());
        let ok =
            request_bytes("GET", "/owa/auth/x.js", "mail.example", "seawall", &[("Cookie", "X-AnonResource=true")])
                .expect("ok");
        assert!(ok.starts_with(b"GET /owa/auth/x.js HTTP/1.1\r\nHost: mail.example\r\n"));
        assert!(ok.ends_with(b"Cookie: X-AnonResource=true\r\n\r\n"));
    }
}
