//! A deliberately dumb client: raw TCP (or TLS with the scanner's own client configuration,
//! which reads any certificate), one request per connection unless a test says otherwise, a
//! parsed reply.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rustls::pki_types::ServerName;
use seawall_testbed::{Fleet, HostSpec, RunningHost};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Generous: every answer of a well-behaved host comes in milliseconds.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A distinct address block and port per test, so tests never share a listener.
pub(crate) fn slot(test: u8) -> (Ipv4Addr, u16) {
    (Ipv4Addr::new(127, 77, test, 10), 47_000 + u16::from(test))
}

pub(crate) async fn start(specs: Vec<HostSpec>) -> Fleet {
    Fleet::start(specs).await.expect("fleet starts")
}

pub(crate) fn host<'a>(fleet: &'a Fleet, name: &str) -> &'a RunningHost {
    fleet.host(name).unwrap_or_else(|| panic!("no host {name}"))
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET target` with a Host header naming the host, and `Connection: close`.
pub(crate) async fn get(host: &RunningHost, target: &str) -> Reply {
    fetch(host, "GET", target, &[]).await
}

pub(crate) async fn fetch(host: &RunningHost, method: &str, target: &str, extra: &[(&str, &str)]) -> Reply {
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: testbed-tests\r\n", host.spec.name);
    for (name, value) in extra {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let raw = exchange(host.addr, host.spec.tls, request.as_bytes()).await;
    parse_reply(&raw)
}

/// Sends `request` as is and reads until the server closes.
pub(crate) async fn exchange(addr: SocketAddr, tls: bool, request: &[u8]) -> Vec<u8> {
    let io = async {
        if tls {
            let mut stream = tls_connect(addr).await.expect("TLS handshake");
            send_and_read(&mut stream, request).await
        } else {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            send_and_read(&mut stream, request).await
        }
    };
    tokio::time::timeout(IO_TIMEOUT, io).await.expect("answer within the timeout")
}

async fn send_and_read<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).await.expect("send");
    let mut received = Vec::new();
    match stream.read_to_end(&mut received).await {
        Ok(_) => {}
        // A TLS peer closing without close_notify still delivered everything before it.
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(error) => panic!("read: {error}"),
    }
    received
}

pub(crate) fn parse_reply(raw: &[u8]) -> Reply {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(raw).expect("a valid HTTP response") else {
        panic!("incomplete response: {:?}", String::from_utf8_lossy(raw));
    };
    Reply {
        status: response.code.expect("status"),
        headers: response
            .headers
            .iter()
            .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
            .collect(),
        body: raw[head_len..].to_vec(),
    }
}

pub(crate) async fn tls_connect(addr: SocketAddr) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    // The hosts' certificates are self-signed: the scanner's configuration reads them as it would.
    TlsConnector::from(seawall_scan::tls::probe_client_config(&[])).connect(name, tcp).await
}
