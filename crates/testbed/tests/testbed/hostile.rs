//! Hostile hosts misbehave as specified, and only for a bounded time.

use std::time::{Duration, Instant};

use seawall_testbed::{HostSpec, Hostile, hostile::METADATA_URL, nth_address};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{get, host, parse_reply, slot, start, tls_connect};

const REQUEST: &[u8] = b"GET /owa/ HTTP/1.1\r\nHost: hostile.test\r\n\r\n";

/// Reads whatever arrives within `window`, up to `cap` bytes.
async fn read_for<R: AsyncRead + Unpin>(reader: &mut R, window: Duration, cap: usize) -> Vec<u8> {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + window;
    let mut chunk = vec![0u8; 64 * 1024];
    while received.len() < cap {
        match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => received.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    received
}

#[tokio::test]
async fn trickle_sends_one_byte_every_two_seconds() {
    let (ip, port) = slot(40);
    let fleet = start(vec![HostSpec::hostile("trickle.t40.test", ip, port, Hostile::Trickle).plain()]).await;
    let h = host(&fleet, "trickle.t40.test");
    let mut stream = TcpStream::connect(h.addr).await.expect("connect");
    stream.write_all(REQUEST).await.expect("request");
    let received = read_for(&mut stream, Duration::from_millis(4_500), 1024).await;
    // Bytes at 0 s, 2 s and 4 s: never the whole status line.
    assert!((2..=3).contains(&received.len()), "{:?}", String::from_utf8_lossy(&received));
    assert!(b"HTTP/1.1 200 OK\r\n".starts_with(&received));
    drop(stream);
    let log = fleet.request_log();
    assert!(log.iter().any(|r| r.server == h.addr && r.method == "GET" && r.target == "/owa/"), "{log:?}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn endless_headers_never_end_the_head() {
    let (ip, port) = slot(41);
    let fleet = start(vec![HostSpec::hostile("headers.t41.test", ip, port, Hostile::EndlessHeaders)]).await;
    let h = host(&fleet, "headers.t41.test");
    let mut stream = tls_connect(h.addr).await.expect("TLS handshake");
    stream.write_all(REQUEST).await.expect("request");
    let started = Instant::now();
    let received = read_for(&mut stream, Duration::from_secs(10), 2 * 1024 * 1024).await;
    assert!(received.len() >= 2 * 1024 * 1024, "fast: {} bytes in {:?}", received.len(), started.elapsed());
    assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(!received.windows(4).any(|w| w == b"\r\n\r\n"));
    assert!(String::from_utf8_lossy(&received).contains("\r\nX-Pad-100: aaaa"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn endless_body_streams_without_a_length() {
    let (ip, port) = slot(42);
    let fleet = start(vec![HostSpec::hostile("body.t42.test", ip, port, Hostile::EndlessBody).plain()]).await;
    let h = host(&fleet, "body.t42.test");
    let mut stream = TcpStream::connect(h.addr).await.expect("connect");
    stream.write_all(REQUEST).await.expect("request");
    let received = read_for(&mut stream, Duration::from_secs(10), 4 * 1024 * 1024).await;
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head") + 4;
    let head = parse_reply(&received[..head_end]);
    assert_eq!(head.status, 200);
    assert_eq!((head.header("Content-Length"), head.header("Transfer-Encoding")), (None, None));
    assert!(received.len() - head_end > 3 * 1024 * 1024, "body keeps coming: {}", received.len());
    fleet.shutdown().await;
}

#[tokio::test]
async fn tls_garbage_breaks_the_handshake() {
    let (ip, port) = slot(43);
    let fleet = start(vec![HostSpec::hostile("garbage.t43.test", ip, port, Hostile::TlsGarbage)]).await;
    let h = host(&fleet, "garbage.t43.test");
    let handshake = tokio::time::timeout(Duration::from_secs(5), tls_connect(h.addr)).await.expect("fails fast");
    assert!(handshake.is_err(), "a TLS handshake must not succeed");

    // What a raw client sees: the answer is not a TLS record, and the connection ends.
    let mut stream = TcpStream::connect(h.addr).await.expect("connect");
    stream.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]).await.expect("hello");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await.expect("closes").ok();
    assert!(!answer.is_empty(), "some bytes come back");
    assert!(!(0x14..=0x18).contains(&answer[0]), "first byte {:#x} must not be a TLS record type", answer[0]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn redirectors_point_at_traps() {
    let (ip, port) = slot(44);
    let fleet = start(vec![
        HostSpec::hostile("metadata.t44.test", ip, port, Hostile::RedirectToMetadata),
        HostSpec::hostile(
            "offtarget.t44.test",
            nth_address(ip, 1),
            port,
            Hostile::RedirectOffTarget("owa.example.com".into()),
        )
        .plain(),
    ])
    .await;
    for path in ["/", "/owa/", "/owa/auth/logon.aspx"] {
        let metadata = get(host(&fleet, "metadata.t44.test"), path).await;
        assert_eq!((metadata.status, metadata.header("Location")), (302, Some(METADATA_URL)), "{path}");
        assert!(METADATA_URL.contains("169.254.169.254"));
        let off = get(host(&fleet, "offtarget.t44.test"), path).await;
        assert_eq!((off.status, off.header("Location")), (302, Some("https://owa.example.com/owa/")), "{path}");
    }
    let logged: Vec<_> = fleet.request_log().into_iter().map(|r| r.target).collect();
    assert_eq!(logged.len(), 6, "{logged:?}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn instant_close_closes_at_once() {
    let (ip, port) = slot(45);
    let fleet = start(vec![
        HostSpec::hostile("close.t45.test", ip, port, Hostile::InstantClose),
        HostSpec::hostile("close-plain.t45.test", nth_address(ip, 1), port, Hostile::InstantClose).plain(),
    ])
    .await;
    let tls = tokio::time::timeout(Duration::from_secs(2), tls_connect(host(&fleet, "close.t45.test").addr))
        .await
        .expect("fails fast");
    assert!(tls.is_err());
    let plain = host(&fleet, "close-plain.t45.test");
    let raw = tokio::time::timeout(Duration::from_secs(2), async {
        let mut stream = TcpStream::connect(plain.addr).await.expect("connect");
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received).await;
        received
    })
    .await
    .expect("closed within 2 s");
    assert!(raw.is_empty());
    assert!(fleet.request_log().is_empty(), "nothing was read, so nothing is logged");
    fleet.shutdown().await;
}
