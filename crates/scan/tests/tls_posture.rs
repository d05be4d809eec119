//! TLS judged on HTTPS like on mail ports (issue 13): a REAL TLS server (`openssl s_server
//! -www`, OpenSSL from Debian) with an RSA-1024/SHA-1 self-signed certificate, scanned by the
//! engine over HTTPS. Reading is not trusting: the handshake must succeed, the certificate be
//! recorded, and the posture findings (weak key, self-signed, TLS 1.0/1.1) come out.
//! A server that speaks TLS 1.0 only (no HTTP is possible with rustls) is still recorded with
//! its certificate and findings. Skipped with a message when `openssl` is missing, except
//! under CI (env CI set).

#![allow(clippy::print_stderr)] // a skipped test says why

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seawall_kb::KnowledgeBase;
use seawall_model::{Record, Service};
use seawall_scan::engine::{ScanOptions, Scanner};
use seawall_scan::exchange::plan::ProbePlan;
use seawall_scan::exchange::webshells::WebshellPaths;
use seawall_scan::net::SourceAddrs;
use seawall_scan::protocols::http::{HttpSettings, Timeouts};
use seawall_scan::space::TargetSpace;
use seawall_scan::targets::TargetSpec;
use tokio::sync::mpsc;

/// An `openssl s_server` started by this test, stopped by its PID when dropped.
struct OpensslServer {
    child: Child,
    addr: SocketAddr,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl_available() -> bool {
    let found = Command::new("openssl").arg("version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must run the TLS posture test: install openssl");
        eprintln!("skipped: openssl not installed");
    }
    found
}

/// A self-signed RSA-1024/SHA-1 certificate for weak.seawall.test, valid one day from now.
fn weak_certificate(dir: &PathBuf) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("temp dir");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=weak.seawall.test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(status.success(), "openssl req failed");
    (cert, key)
}

/// `openssl s_server -www` on a free loopback port, TLS versions limited by `protocol_args`.
fn start_server(cert: &PathBuf, key: &PathBuf, protocol_args: &[&str]) -> OpensslServer {
    start_server_on(IpAddr::V4(Ipv4Addr::LOCALHOST), cert, key, protocol_args)
}

fn start_server_on(ip: IpAddr, cert: &PathBuf, key: &PathBuf, protocol_args: &[&str]) -> OpensslServer {
    let port = TcpListener::bind(SocketAddr::new(ip, 0)).and_then(|l| l.local_addr()).expect("free port").port();
    let addr = SocketAddr::new(ip, port);
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(addr.to_string())
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        // Debian's OpenSSL refuses RSA-1024 and TLS 1.0 at its default security level 2.
        .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
        .args(protocol_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    let server = OpensslServer { child, addr };
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

async fn scan(addr: SocketAddr) -> Vec<Record> {
    scan_as_of(addr, jiff::Timestamp::now()).await
}

async fn scan_as_of(addr: SocketAddr, as_of: jiff::Timestamp) -> Vec<Record> {
    let specs = vec![TargetSpec::Endpoint { ip: addr.ip(), port: addr.port(), tls: None }];
    scan_space_as_of(TargetSpace::new(specs, &[443], vec![]).expect("space"), SourceAddrs::default(), as_of).await
}

async fn scan_space(space: TargetSpace, source: SourceAddrs) -> Vec<Record> {
    scan_space_as_of(space, source, jiff::Timestamp::now()).await
}

async fn scan_space_as_of(space: TargetSpace, source: SourceAddrs, as_of: jiff::Timestamp) -> Vec<Record> {
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        tls: Duration::from_secs(3),
        response_head: Duration::from_secs(3),
        body: Duration::from_secs(3),
    };
    let http = HttpSettings { timeouts, source, ..HttpSettings::new("seawall-test") };
    let options = ScanOptions { host_timeout: Duration::from_secs(30), as_of, ..ScanOptions::new(http) };
    let space = Arc::new(space);
    let kb = Arc::new(KnowledgeBase::embedded().expect("kb"));
    let scanner =
        Scanner::new(kb, ProbePlan::embedded().expect("plan"), WebshellPaths::embedded().expect("paths"), options);
    let (tx, mut rx) = mpsc::channel(64);
    let run = tokio::spawn(scanner.run(space, tx));
    let mut records = Vec::new();
    while let Some(record) = rx.recv().await {
        records.push(record);
    }
    run.await.expect("scan task");
    records
}

fn service(records: &[Record]) -> &Service {
    records.iter().find_map(|r| if let Record::Service(s) = r { Some(s) } else { None }).expect("a service record")
}

fn rules(records: &[Record]) -> Vec<&str> {
    records.iter().filter_map(|r| if let Record::Finding(f) = r { Some(f.rule.id.as_str()) } else { None }).collect()
}

#[tokio::test]
async fn https_with_an_rsa_1024_certificate_and_tls_1_0_is_read_and_judged() {
    if !openssl_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("seawall-tls-posture-{}-a", std::process::id()));
    let (cert, key) = weak_certificate(&dir);
    let server = start_server(&cert, &key, &["-min_protocol", "TLSv1"]);
    let records = scan(server.addr).await;
    let service = service(&records);
    assert_eq!(service.protocol, "https", "{records:?}");
    let tls = service.tls.as_ref().expect("tls recorded");
    assert_eq!(tls.chain.first().map(|c| c.key.as_str()), Some("RSA 1024"));
    assert!(tls.chain[0].subject.contains("weak.seawall.test"));
    for version in ["TLS1.0", "TLS1.1", "TLS1.2"] {
        assert!(tls.versions.iter().any(|v| v == version), "{version} in {:?}", tls.versions);
    }
    let rules = rules(&records);
    for rule in ["SW-TLS-SELF-SIGNED", "SW-TLS-WEAK-KEY", "SW-TLS-LEGACY-VERSION"] {
        assert!(rules.contains(&rule), "{rule} in {rules:?}");
    }
    assert!(!rules.contains(&"SW-TLS-EXPIRED"), "valid for a day: {rules:?}");
    // Dates are judged as of --as-of: three days on, the same certificate has expired.
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72);
    let later_records = scan_as_of(server.addr, later).await;
    let later_rules: Vec<&str> = later_records
        .iter()
        .filter_map(|r| if let Record::Finding(f) = r { Some(f.rule.id.as_str()) } else { None })
        .collect();
    assert!(later_rules.contains(&"SW-TLS-EXPIRED"), "{later_rules:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_tls_1_0_only_port_is_recorded_with_its_certificate() {
    if !openssl_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("seawall-tls-posture-{}-b", std::process::id()));
    let (cert, key) = weak_certificate(&dir);
    let server = start_server(&cert, &key, &["-tls1"]);
    let records = scan(server.addr).await;
    let service = service(&records);
    assert_eq!(service.protocol, "tls", "{records:?}");
    let tls = service.tls.as_ref().expect("tls recorded");
    assert_eq!(tls.versions, vec!["TLS1.0".to_string()]);
    assert_eq!(tls.chain.first().map(|c| c.key.as_str()), Some("RSA 1024"));
    let rules = rules(&records);
    assert!(rules.contains(&"SW-TLS-LEGACY-VERSION") && rules.contains(&"SW-TLS-WEAK-KEY"), "{rules:?}");
    assert!(records.iter().any(|r| matches!(r, Record::Error(_))), "the HTTP failure is an error record too");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

// See: issue 13, item 6. IPv6 literals and CIDRs as targets, an IPv6 source address beside
// an IPv4 one, and an IPv6 exclusion, all on ::1.
#[tokio::test]
async fn ipv6_targets_sources_and_exclusions_on_loopback() {
    if !openssl_available() {
        return;
    }
    let loopback6: IpAddr = "::1".parse().expect("::1");
    if TcpListener::bind(SocketAddr::new(loopback6, 0)).is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI must have IPv6 loopback");
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let dir = std::env::temp_dir().join(format!("seawall-tls-posture-{}-c", std::process::id()));
    let (cert, key) = weak_certificate(&dir);
    let server = start_server_on(loopback6, &cert, &key, &[]);
    let port = server.addr.port();
    let sources = SourceAddrs::from_addrs(["127.0.0.1".parse().expect("v4"), loopback6]);

    let literal = TargetSpec::parse(&format!("[::1]:{port}")).expect("literal with port");
    let records = scan_space(TargetSpace::new(vec![literal], &[443], vec![]).expect("space"), sources).await;
    let seen = service(&records);
    assert_eq!((seen.ip.as_deref(), seen.port, seen.protocol.as_str()), (Some("::1"), port, "https"));
    assert!(rules(&records).contains(&"SW-TLS-WEAK-KEY"), "{records:?}");

    let cidr = TargetSpec::parse("::1/128").expect("IPv6 CIDR");
    let records = scan_space(TargetSpace::new(vec![cidr.clone()], &[port], vec![]).expect("space"), sources).await;
    assert_eq!(service(&records).ip.as_deref(), Some("::1"));

    let exclude = vec!["::/120".parse().expect("IPv6 net")];
    let records = scan_space(TargetSpace::new(vec![cidr], &[port], exclude).expect("space"), sources).await;
    assert!(records.is_empty(), "excluded, yet scanned: {records:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
