//! A small HTTP/1.1 server over any byte stream. Hand-written on httparse rather than hyper
//! because the testbed must log every request-target byte for byte (even ones `http::Uri`
//! would refuse), send header names in IIS's own spelling (`X-OWA-Version`, two
//! `WWW-Authenticate` lines), and share its request reader with the raw hostile hosts.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::log::RequestLog;

/// Larger request heads get a 431, like IIS's default limit order of magnitude.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
/// Request bodies up to this size are read and thrown away; larger ones end the connection.
const MAX_BODY: usize = 1024 * 1024;
/// How long a connection may sit without a complete request head.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REQUESTS_PER_CONNECTION: usize = 10_000;

/// A parsed request head.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Raw request-target as sent.
    pub(crate) target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor_version: u8,
    pub(crate) headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of that name, compared case-insensitively.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn path(&self) -> &str {
        self.target.split_once('?').map_or(self.target.as_str(), |(path, _)| path)
    }

    pub(crate) fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    pub(crate) fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    fn wants_close(&self) -> bool {
        let tokens = self.header("Connection").unwrap_or("").to_ascii_lowercase();
        let has = |token: &str| tokens.split(',').any(|t| t.trim() == token);
        if self.minor_version == 0 { !has("keep-alive") } else { has("close") }
    }

    fn body(&self) -> Body {
        if self.header("Transfer-Encoding").is_some() {
            return Body::Unsupported;
        }
        match self.header("Content-Length").map(|v| v.trim().parse::<usize>()) {
            None => Body::Length(0),
            Some(Ok(len)) if len <= MAX_BODY => Body::Length(len),
            Some(Ok(_)) => Body::Unsupported,
            Some(Err(_)) => Body::Invalid,
        }
    }

    fn from_parsed(parsed: &httparse::Request<'_, '_>) -> Request {
        Request {
            method: parsed.method.unwrap_or_default().to_owned(),
            target: parsed.path.unwrap_or_default().to_owned(),
            minor_version: parsed.version.unwrap_or(1),
            headers: parsed
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                .collect(),
        }
    }
}

enum Body {
    Length(usize),
    /// Chunked or too large: answered, then the connection is closed instead of being parsed further.
    Unsupported,
    Invalid,
}

/// What came in on a connection.
#[derive(Debug)]
pub(crate) enum Head {
    Request(Request),
    /// The peer closed before sending anything (more).
    Closed,
    TooLarge,
    Malformed,
}

/// Reads one request head; bytes after it stay in `buf` for the next call.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>) -> io::Result<Head> {
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            let done = match parsed.parse(buf) {
                Ok(httparse::Status::Complete(len)) => Some((Request::from_parsed(&parsed), len)),
                Ok(httparse::Status::Partial) => None,
                Err(httparse::Error::TooManyHeaders) => return Ok(Head::TooLarge),
                Err(_) => return Ok(Head::Malformed),
            };
            if let Some((request, len)) = done {
                buf.drain(..len);
                return Ok(Head::Request(request));
            }
        }
        if buf.len() >= MAX_HEAD {
            return Ok(Head::TooLarge);
        }
        buf.reserve(8 * 1024);
        if io.read_buf(buf).await? == 0 {
            return Ok(Head::Closed);
        }
    }
}

/// Reads and drops `len` body bytes; false when the peer closed first.
async fn discard_body<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>, len: usize) -> io::Result<bool> {
    let buffered = len.min(buf.len());
    buf.drain(..buffered);
    let mut left = len - buffered;
    let mut scratch = [0u8; 8 * 1024];
    while left > 0 {
        let want = left.min(scratch.len());
        let n = io.read(&mut scratch[..want]).await?;
        if n == 0 {
            return Ok(false);
        }
        left -= n;
    }
    Ok(true)
}

/// A response; `Date`, `Content-Length` and `Connection: close` are added when it is written.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
}

impl Response {
    pub(crate) fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Bytes::new() }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn header_opt(self, name: &'static str, value: Option<&str>) -> Response {
        match value {
            Some(value) if !value.is_empty() => self.header(name, value),
            _ => self,
        }
    }

    pub(crate) fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Response {
        self.headers.push(("Content-Type", content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// Wire bytes. HEAD answers carry the GET Content-Length but no body, as IIS does.
    pub(crate) fn serialize(&self, head_only: bool, close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes());
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Date: {}\r\n", http_date(SystemTime::now())).as_bytes());
        out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        // IIS and nginx both word 302 this way (see the Lookback capture).
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        440 => "Login Timeout",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// The IMF-fixdate of RFC 9110 ("Thu, 06 Apr 2023 21:59:34 GMT"), written by hand to avoid a
/// date crate for one header.
pub(crate) fn http_date(now: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let clock = secs % 86_400;
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        clock / 3600,
        clock / 60 % 60,
        clock % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Facts about the connection a site may need to answer (its own address for Location headers).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnInfo {
    pub(crate) local: SocketAddr,
    pub(crate) tls: bool,
}

impl ConnInfo {
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// What to put in absolute URLs: the Host header when sent, else the address, as IIS does for
    /// HTTP/1.0 requests (which is how it leaks internal IPs).
    pub(crate) fn authority<'a>(&self, request: &'a Request) -> std::borrow::Cow<'a, str> {
        match request.header("Host").map(str::trim).filter(|h| !h.is_empty()) {
            Some(host) => host.into(),
            None => {
                let default_port = if self.tls { 443 } else { 80 };
                if self.local.port() == default_port {
                    self.local.ip().to_string().into()
                } else {
                    self.local.to_string().into()
                }
            }
        }
    }
}

/// Something that answers requests: an Exchange front end, a decoy, a redirector.
pub(crate) trait Site: Send + Sync {
    fn respond(&self, request: &Request, conn: &ConnInfo) -> Response;
}

/// Answers requests on one connection until the peer closes, idles out or asks to close.
pub(crate) async fn serve<S, T>(mut io: S, site: &T, conn: ConnInfo, log: &RequestLog) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: Site + ?Sized,
{
    let mut buf = Vec::with_capacity(4 * 1024);
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let head = match tokio::time::timeout(IDLE_TIMEOUT, read_head(&mut io, &mut buf)).await {
            Ok(head) => head?,
            Err(_elapsed) => return Ok(()),
        };
        let request = match head {
            Head::Request(request) => request,
            Head::Closed => return Ok(()),
            Head::TooLarge => return reject(&mut io, 431).await,
            Head::Malformed => return reject(&mut io, 400).await,
        };
        log.record(conn.local, &request);
        let mut close = request.wants_close();
        match request.body() {
            Body::Length(0) => {}
            Body::Length(len) => {
                let discarded = tokio::time::timeout(IDLE_TIMEOUT, discard_body(&mut io, &mut buf, len)).await;
                match discarded {
                    Ok(complete) => close |= !complete?,
                    Err(_elapsed) => return Ok(()),
                }
            }
            Body::Unsupported => close = true,
            Body::Invalid => return reject(&mut io, 400).await,
        }
        let response = site.respond(&request, &conn);
        io.write_all(&response.serialize(request.is_head(), close)).await?;
        io.flush().await?;
        if close {
            let _ = io.shutdown().await;
            return Ok(());
        }
    }
    Ok(())
}

/// HTTP.sys-style plain error for requests that never reach the site.
async fn reject<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, status: u16) -> io::Result<()> {
    let body = format!("<h1>{} {}</h1>", status, reason(status));
    let response = Response::new(status).header("Server", "Microsoft-HTTPAPI/2.0").body("text/html", body);
    io.write_all(&response.serialize(false, true)).await?;
    let _ = io.shutdown().await;
    // Closing with unread input makes the kernel send a reset, which can destroy the error
    // response before the client reads it; read a little of what is left first.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut scratch = [0u8; 8 * 1024];
        let mut left = MAX_BODY;
        while left > 0 {
            match io.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_matches_known_instants() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The Date of the Lookback logon capture.
        let lookback = UNIX_EPOCH + Duration::from_secs(1_680_818_374);
        assert_eq!(http_date(lookback), "Thu, 06 Apr 2023 21:59:34 GMT");
        let leap_day = UNIX_EPOCH + Duration::from_secs(1_709_164_800);
        assert_eq!(http_date(leap_day), "Thu, 29 Feb 2024 00:00:00 GMT");
    }

    #[tokio::test]
    async fn read_head_keeps_pipelined_bytes_and_spots_oversize() {
        let mut input: &[u8] = b"GET /a?b=%41 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /c HTTP/1.0\r\n\r\n";
        let mut buf = Vec::new();
        let Head::Request(first) = read_head(&mut input, &mut buf).await.expect("read") else { panic!("no request") };
        assert_eq!((first.method.as_str(), first.target.as_str()), ("GET", "/a?b=%41"));
        assert_eq!(first.header("host"), Some("x"));
        assert!(!first.wants_close());
        let Head::Request(second) = read_head(&mut input, &mut buf).await.expect("read") else { panic!("no request") };
        assert_eq!((second.method.as_str(), second.path()), ("HEAD", "/c"));
        assert!(second.wants_close(), "HTTP/1.0 without keep-alive closes");
        assert!(matches!(read_head(&mut input, &mut buf).await.expect("read"), Head::Closed));

        let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        let mut input = big.as_bytes();
        assert!(matches!(read_head(&mut input, &mut Vec::new()).await.expect("read"), Head::TooLarge));
        let mut input: &[u8] = b"\x16\x03\x01\x00\x05hello\r\n\r\n";
        assert!(matches!(read_head(&mut input, &mut Vec::new()).await.expect("read"), Head::Malformed));
    }

    #[test]
    fn head_response_keeps_length_and_drops_body() {
        let response = Response::new(200).body("text/plain", "hello");
        let wire = String::from_utf8(response.serialize(true, true)).expect("utf-8");
        assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"), "{wire}");
        assert!(wire.contains("Content-Length: 5\r\n") && wire.contains("Connection: close\r\n"), "{wire}");
        assert!(wire.ends_with("\r\n\r\n"), "{wire}");
    }
}
