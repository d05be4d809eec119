//! Line-protocol servers that try to hang or exhaust the mail speakers: a
//! greeting line that never ends, a greeting that trickles, 10,000 capability
//! lines, STARTTLS answered with garbage or silence, an endless rsync module
//! list. Each probe must end within its configured limits with an error or a
//! bounded result.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::time::{Duration, Instant};

use seawall_scan::protocols::mail::{MailError, MailOutcome, MailProtocol, MailSettings, probe_mail};
use seawall_scan::tls::probe_client_config;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A hostile server never keeps a connection longer than this, whatever the client does.
const SERVER_LIMIT: Duration = Duration::from_secs(30);
const TOTAL: Duration = Duration::from_secs(3);
const READ: Duration = Duration::from_millis(800);

fn settings() -> MailSettings {
    MailSettings {
        connect: Duration::from_secs(1),
        read: READ,
        total: TOTAL,
        max_line: 1024,
        max_lines: 100,
        tls: probe_client_config(&[]),
        source: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).into(),
        ehlo_name: "scanner.test".into(),
    }
}

type Handler = fn(TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// Serve `handler` on 127.0.0.3 (any port) until the test ends.
async fn hostile(handler: Handler) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 3), 0)).await.expect("bind 127.0.0.3");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(SERVER_LIMIT, handler(stream)).await;
            });
        }
    });
    addr
}

async fn probe(protocol: MailProtocol, addr: SocketAddr) -> (MailOutcome, Duration) {
    let started = Instant::now();
    let outcome = probe_mail(protocol, addr, None, "hostile", &settings(), jiff::Timestamp::now()).await;
    (outcome, started.elapsed())
}

fn assert_bounded(elapsed: Duration) {
    assert!(elapsed <= TOTAL + Duration::from_millis(500), "took {elapsed:?}, the limit is {TOTAL:?}");
}

/// Read one command line from the client (bounded by the caller's timeout).
async fn read_command(reader: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    Ok(line)
}

fn endless_greeting(mut stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        stream.write_all(b"220 ").await?;
        let block = [b'A'; 16 * 1024];
        loop {
            stream.write_all(&block).await?;
        }
    })
}

fn trickling_greeting(mut stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        loop {
            stream.write_all(b"2").await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

fn ten_thousand_ehlo_lines(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"220 hostile.test ESMTP\r\n").await?;
        read_command(&mut reader).await?;
        let mut reply = String::from("250-hostile.test\r\n");
        for i in 0..10_000 {
            reply.push_str(&format!("250-X-CAPABILITY-{i}\r\n"));
        }
        reply.push_str("250 STARTTLS\r\n");
        reader.get_mut().write_all(reply.as_bytes()).await?;
        read_command(&mut reader).await.map(drop)
    })
}

fn ten_thousand_imap_capabilities(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"* OK hostile IMAP ready\r\n").await?;
        read_command(&mut reader).await?;
        let mut reply = String::new();
        for i in 0..10_000 {
            reply.push_str(&format!("* CAPABILITY IMAP4rev1 X-{i}\r\n"));
        }
        reply.push_str("sw1 OK done\r\n");
        reader.get_mut().write_all(reply.as_bytes()).await?;
        read_command(&mut reader).await.map(drop)
    })
}

fn ten_thousand_capa_lines(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"+OK hostile POP3 ready\r\n").await?;
        read_command(&mut reader).await?;
        let mut reply = String::from("+OK\r\n");
        for i in 0..10_000 {
            reply.push_str(&format!("X-{i}\r\n"));
        }
        reply.push_str(".\r\n");
        reader.get_mut().write_all(reply.as_bytes()).await?;
        read_command(&mut reader).await.map(drop)
    })
}

/// Accepts STARTTLS with 220, then answers the ClientHello with bytes that are not TLS.
fn starttls_then_garbage(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"220 hostile.test ESMTP\r\n").await?;
        loop {
            let command = read_command(&mut reader).await?;
            if command.is_empty() {
                return Ok(());
            }
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                reader.get_mut().write_all(b"250-hostile.test\r\n250 STARTTLS\r\n").await?;
            } else if upper.starts_with("STARTTLS") {
                reader.get_mut().write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                let mut hello = [0u8; 512];
                let _ = tokio::io::AsyncReadExt::read(&mut reader, &mut hello).await?;
                reader.get_mut().write_all(b"\x00\xffTHIS IS NOT TLS\r\n\x7f\x7f\x7f").await?;
                reader.get_mut().write_all(&[0x42; 4096]).await?;
                return Ok(());
            } else {
                reader.get_mut().write_all(b"221 bye\r\n").await?;
            }
        }
    })
}

/// Answers STARTTLS with a line that is not an SMTP reply.
fn starttls_garbage_reply(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"220 hostile.test ESMTP\r\n").await?;
        loop {
            let command = read_command(&mut reader).await?;
            if command.is_empty() {
                return Ok(());
            }
            if command.to_ascii_uppercase().starts_with("EHLO") {
                reader.get_mut().write_all(b"250-hostile.test\r\n250 STARTTLS\r\n").await?;
            } else {
                reader.get_mut().write_all(b"\x16\x03\x01garbage \xff\xfe not a reply\r\n").await?;
            }
        }
    })
}

/// Accepts STLS, then says nothing: the handshake must time out, every later probe too, within the total.
fn stls_then_silence(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"+OK hostile POP3 ready\r\n").await?;
        loop {
            let command = read_command(&mut reader).await?;
            if command.is_empty() {
                return Ok(());
            }
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("CAPA") {
                reader.get_mut().write_all(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n").await?;
            } else if upper.starts_with("STLS") {
                reader.get_mut().write_all(b"+OK Begin TLS\r\n").await?;
                tokio::time::sleep(SERVER_LIMIT).await;
            } else {
                reader.get_mut().write_all(b"+OK\r\n").await?;
            }
        }
    })
}

fn endless_rsync_modules(stream: TcpStream) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n").await?;
        read_command(&mut reader).await?;
        for i in 0u64.. {
            reader.get_mut().write_all(format!("module{i:<9}\tcomment\n").as_bytes()).await?;
        }
        Ok(())
    })
}

#[tokio::test]
async fn a_greeting_line_that_never_ends() {
    let addr = hostile(endless_greeting).await;
    let (outcome, elapsed) = probe(MailProtocol::Smtp, addr).await;
    assert_bounded(elapsed);
    assert!(outcome.service.is_none());
    let error = outcome.error.expect("an error");
    assert!(matches!(error, MailError::Line { step: "greeting", .. }), "{error}");
    assert!(error.to_string().contains("line longer than 1024 bytes"), "{error}");
}

#[tokio::test]
async fn a_greeting_that_trickles_hits_the_total_limit() {
    let addr = hostile(trickling_greeting).await;
    let (outcome, elapsed) = probe(MailProtocol::Imap, addr).await;
    assert_bounded(elapsed);
    assert!(elapsed >= TOTAL - Duration::from_millis(200), "stopped early: {elapsed:?}");
    let error = outcome.error.expect("an error");
    assert!(error.is_deadline() || error.to_string().contains("line longer"), "{error}");
}

#[tokio::test]
async fn ten_thousand_capability_lines() {
    for (protocol, handler) in [
        (MailProtocol::Smtp, ten_thousand_ehlo_lines as Handler),
        (MailProtocol::Imap, ten_thousand_imap_capabilities as Handler),
        (MailProtocol::Pop3, ten_thousand_capa_lines as Handler),
    ] {
        let addr = hostile(handler).await;
        let (outcome, elapsed) = probe(protocol, addr).await;
        assert_bounded(elapsed);
        let error = outcome.error.as_ref().expect("an error").to_string();
        assert!(error.contains("longer than 100 lines"), "{}: {error}", protocol.name());
        // The greeting was real: the service is recorded with what was learnt before the flood.
        let service = outcome.service.expect("service");
        assert!(service.facts.contains_key("banner"));
        assert!(!service.facts.contains_key("capabilities_before_tls"));
    }
}

#[tokio::test]
async fn starttls_answered_with_garbage_bytes() {
    let addr = hostile(starttls_then_garbage).await;
    let (outcome, elapsed) = probe(MailProtocol::Smtp, addr).await;
    assert_bounded(elapsed);
    let service = outcome.service.expect("service");
    assert_eq!(service.starttls, Some(false));
    assert!(service.tls.is_none());
    let rules: Vec<&str> = outcome.findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(rules, vec!["SW-MAIL-STARTTLS-BROKEN"]);
    let probed = service.facts.get("tls_versions_probed").expect("versions were probed");
    assert!(probed.to_string().contains("not TLS"), "{probed}");
}

#[tokio::test]
async fn starttls_answered_with_a_garbage_line() {
    let addr = hostile(starttls_garbage_reply).await;
    let (outcome, elapsed) = probe(MailProtocol::Smtp, addr).await;
    assert_bounded(elapsed);
    let error = outcome.error.expect("an error");
    assert!(matches!(error, MailError::Malformed { step: "STARTTLS", .. }), "{error}");
    assert!(error.to_string().starts_with("STARTTLS: not an SMTP reply"), "{error}");
    assert!(outcome.service.is_some_and(|s| s.starttls == Some(false)));
}

#[tokio::test]
async fn stls_followed_by_silence_stays_within_the_total() {
    let addr = hostile(stls_then_silence).await;
    let (outcome, elapsed) = probe(MailProtocol::Pop3, addr).await;
    assert_bounded(elapsed);
    let service = outcome.service.expect("service");
    assert_eq!(service.cleartext_auth, Some(true), "USER before STLS");
    assert_eq!(service.starttls, Some(false));
    let rules: Vec<&str> = outcome.findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert!(rules.contains(&"SW-MAIL-STARTTLS-BROKEN"), "{rules:?}");
}

#[tokio::test]
async fn an_rsync_module_list_that_never_ends() {
    let addr = hostile(endless_rsync_modules).await;
    let (outcome, elapsed) = probe(MailProtocol::Rsync, addr).await;
    assert_bounded(elapsed);
    let error = outcome.error.expect("an error").to_string();
    assert!(error.contains("longer than 100 lines"), "{error}");
}

#[tokio::test]
async fn nothing_listening_is_an_error_not_a_service() {
    let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 3), 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let (outcome, elapsed) = probe(MailProtocol::Submission, addr).await;
    assert_bounded(elapsed);
    assert!(outcome.service.is_none());
    assert!(matches!(outcome.error, Some(MailError::Connect(_))), "{:?}", outcome.error);
}

/// The server of issue 14, item 1, byte for byte: an EHLO keyword whose 4th byte falls
/// inside a UTF-8 character (`ABC\xc3\xa9`).
fn ehlo_keyword_inside_a_utf8_character(
    stream: TcpStream,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut reader = BufReader::new(stream);
        reader.get_mut().write_all(b"220 mx ESMTP\r\n").await?;
        loop {
            let command = read_command(&mut reader).await?;
            if command.is_empty() {
                return Ok(());
            }
            let answer: &[u8] = if command.to_ascii_uppercase().starts_with("EHLO") {
                b"250-mx\r\n250-ABC\xc3\xa9\r\n250 AUTH PLAIN\r\n"
            } else {
                b"221 bye\r\n"
            };
            reader.get_mut().write_all(answer).await?;
        }
    })
}

// See: issue 14, item 1 (the SMTP probe panicked and the endpoint vanished).
#[tokio::test]
async fn an_ehlo_keyword_cut_inside_a_utf8_character() {
    let addr = hostile(ehlo_keyword_inside_a_utf8_character).await;
    let (outcome, elapsed) = probe(MailProtocol::Smtp, addr).await;
    assert_bounded(elapsed);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let service = outcome.service.expect("the endpoint is recorded");
    assert_eq!(service.cleartext_auth, Some(true), "AUTH PLAIN offered without TLS");
    let rules: Vec<&str> = outcome.findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert!(rules.contains(&"SW-MAIL-CLEARTEXT-AUTH"), "{rules:?}");
}

// See: issue 14, item 1, end to end: the engine, told only the port, reads SMTP from the
// greeting and records the endpoint (before the fix the task panicked and the endpoint vanished).
#[tokio::test]
async fn the_engine_records_the_utf8_ehlo_server() {
    use std::sync::Arc;

    use seawall_kb::KnowledgeBase;
    use seawall_model::Record;
    use seawall_scan::engine::{ScanOptions, Scanner};
    use seawall_scan::exchange::plan::ProbePlan;
    use seawall_scan::exchange::webshells::WebshellPaths;
    use seawall_scan::protocols::http::{HttpSettings, Timeouts};
    use seawall_scan::space::TargetSpace;
    use seawall_scan::targets::TargetSpec;

    let addr = hostile(ehlo_keyword_inside_a_utf8_character).await;
    let http = HttpSettings {
        timeouts: Timeouts { connect: READ, tls: READ, response_head: READ, body: READ },
        source: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).into(),
        ..HttpSettings::new("seawall-test")
    };
    let options = ScanOptions { host_timeout: Duration::from_secs(15), ..ScanOptions::new(http) };
    let specs = vec![TargetSpec::Endpoint { ip: addr.ip(), port: addr.port(), tls: None }];
    let space = Arc::new(TargetSpace::new(specs, &[25], vec![]).expect("space"));
    let kb = Arc::new(KnowledgeBase::embedded().expect("kb"));
    let scanner =
        Scanner::new(kb, ProbePlan::embedded().expect("plan"), WebshellPaths::embedded().expect("paths"), options);
    let progress = scanner.progress();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let run = tokio::spawn(scanner.run(space, tx));
    let mut records = Vec::new();
    while let Some(record) = rx.recv().await {
        records.push(record);
    }
    run.await.expect("scan task");
    let service = records
        .iter()
        .find_map(|r| if let Record::Service(s) = r { Some(s) } else { None })
        .unwrap_or_else(|| panic!("the endpoint is recorded: {records:?}"));
    assert_eq!((service.protocol.as_str(), service.cleartext_auth), ("smtp", Some(true)));
    assert_eq!(progress.internal_failures.load(std::sync::atomic::Ordering::Relaxed), 0);
}
