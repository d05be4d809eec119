//! Fleet life cycle, the request log, certificates and the ready-made fleets.

use std::collections::{BTreeSet, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use seawall_testbed::{
    Decoy, ExchangeHost, Fleet, HostKind, HostSpec, Hostile, bench_fleet, nth_address, standard_fleet,
};
use tokio::net::TcpStream;
use x509_parser::extensions::GeneralName;

use crate::common::{exchange, fetch, get, host, slot, start, tls_connect};

fn simple_host(build: &str) -> ExchangeHost {
    ExchangeHost {
        build: build.to_owned(),
        x_owa_version: Some(build.to_owned()),
        server_header: "Microsoft-IIS/10.0".to_owned(),
        ..ExchangeHost::default()
    }
}

/// Every build of data/kb/builds.csv.
fn known_builds() -> HashSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/kb/builds.csv");
    let table = std::fs::read_to_string(path).expect("data/kb/builds.csv");
    table.lines().skip(1).filter_map(|line| line.split(',').nth(3)).map(str::to_owned).collect()
}

#[tokio::test]
async fn request_log_records_method_target_and_headers() {
    let (ip, port) = slot(50);
    let fleet = start(vec![HostSpec::exchange("mail.t50.test", ip, port, simple_host("15.2.986.14")).plain()]).await;
    let h = host(&fleet, "mail.t50.test");
    get(h, "/owa/").await;
    fetch(h, "HEAD", "/EWS/Exchange.asmx", &[("X-Probe", "one")]).await;
    // Raw bytes, undecoded, odd characters kept.
    let odd = "/autodiscover/autodiscover.json?@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com";
    get(h, odd).await;
    let log = fleet.request_log();
    let seen: Vec<(&str, &str)> = log.iter().map(|r| (r.method.as_str(), r.target.as_str())).collect();
    assert_eq!(seen, [("GET", "/owa/"), ("HEAD", "/EWS/Exchange.asmx"), ("GET", odd)]);
    assert!(log.iter().all(|r| r.server == h.addr));
    let head = &log[1];
    assert!(head.headers.contains(&("X-Probe".to_owned(), "one".to_owned())), "{:?}", head.headers);
    assert!(head.headers.iter().any(|(n, v)| n == "Host" && v == "mail.t50.test"));
    assert_eq!(fleet.requests_dropped(), 0);
    fleet.shutdown().await;
}

#[tokio::test]
async fn tls_certificate_names_the_host_and_its_address() {
    let (ip, port) = slot(51);
    let fleet = start(vec![HostSpec::exchange("mail.t51.test", ip, port, simple_host("15.2.986.14"))]).await;
    let h = host(&fleet, "mail.t51.test");
    let stream = tls_connect(h.addr).await.expect("TLS handshake");
    let der = stream.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("X.509");
    let san = cert.subject_alternative_name().expect("SAN parses").expect("SAN present");
    let names = &san.value.general_names;
    assert!(names.iter().any(|n| matches!(n, GeneralName::DNSName("mail.t51.test"))), "{names:?}");
    assert!(names.iter().any(|n| matches!(n, GeneralName::IPAddress(b) if *b == ip.octets())), "{names:?}");
    assert_eq!(cert.subject(), cert.issuer(), "self-signed");
    fleet.shutdown().await;
}

#[tokio::test]
async fn start_refuses_addresses_outside_loopback() {
    let (ip, port) = slot(52);
    let specs = vec![
        HostSpec::exchange("ok.t52.test", ip, port, simple_host("15.2.986.14")),
        HostSpec::exchange("bad.t52.test", Ipv4Addr::new(10, 0, 0, 1), port, simple_host("15.2.986.14")),
    ];
    let error = Fleet::start(specs).await.expect_err("must refuse 10.0.0.1");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("10.0.0.1"), "{error}");
    // Nothing was bound, not even the valid host.
    assert!(TcpStream::connect(SocketAddr::from((ip, port))).await.is_err());
}

#[tokio::test]
async fn shutdown_closes_every_port_and_cuts_open_connections() {
    let (ip, port) = slot(53);
    let fleet = start(vec![
        HostSpec::exchange("mail.t53.test", ip, port, simple_host("15.2.986.14")).plain(),
        HostSpec::hostile("trickle.t53.test", nth_address(ip, 1), port, Hostile::Trickle).plain(),
    ])
    .await;
    let addrs: Vec<SocketAddr> = fleet.hosts().iter().map(|h| h.addr).collect();
    let mut hanging = TcpStream::connect(addrs[1]).await.expect("connect");
    assert_eq!(get(host(&fleet, "mail.t53.test"), "/owa/").await.status, 302);
    tokio::time::timeout(Duration::from_secs(5), fleet.shutdown()).await.expect("shutdown does not wait for clients");
    for addr in addrs {
        assert!(TcpStream::connect(addr).await.is_err(), "{addr} still accepts");
    }
    // The trickling connection was cut rather than left to run its 120 s.
    let mut rest = Vec::new();
    let cut =
        tokio::time::timeout(Duration::from_secs(2), tokio::io::AsyncReadExt::read_to_end(&mut hanging, &mut rest))
            .await;
    assert!(cut.is_ok(), "connection still open after shutdown");
}

#[tokio::test]
async fn port_zero_gets_a_free_port() {
    let (ip, _) = slot(54);
    let fleet = start(vec![HostSpec::exchange("mail.t54.test", ip, 0, simple_host("15.2.986.14")).plain()]).await;
    let addr = fleet.hosts()[0].addr;
    assert_ne!(addr.port(), 0);
    assert_eq!(addr.ip(), ip);
    let raw = exchange(addr, false, b"GET /owa/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(raw.starts_with(b"HTTP/1.1 302 "));
    fleet.shutdown().await;
}

#[test]
fn standard_fleet_covers_the_required_mix() {
    let base = Ipv4Addr::new(127, 77, 0, 10);
    let fleet = standard_fleet(base, 8443);
    for (i, spec) in fleet.iter().enumerate() {
        assert_eq!(spec.ip, nth_address(base, i), "consecutive addresses");
        assert_eq!(spec.port, 8443);
        assert!(spec.tls, "{}", spec.name);
    }
    let names: HashSet<&str> = fleet.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), fleet.len(), "unique names");

    let exchange: Vec<&ExchangeHost> =
        fleet.iter().filter_map(|s| if let HostKind::Exchange(h) = &s.kind { Some(h) } else { None }).collect();
    assert!(exchange.len() >= 12, "{}", exchange.len());
    let builds: BTreeSet<&str> = exchange.iter().map(|h| h.build.as_str()).collect();
    for required in ["15.1.2106.13", "15.2.858.5", "15.2.2562.17"] {
        assert!(builds.contains(required), "missing {required}");
    }
    let has_prefix = |prefix: &str| exchange.iter().any(|h| h.build.starts_with(prefix));
    for prefix in ["14.3.", "15.0.1497.", "15.2.1118.", "15.2.1748.", "15.2.1544."] {
        assert!(has_prefix(prefix), "no build {prefix}*");
    }
    assert!(exchange.iter().filter(|h| h.build.starts_with("15.1.2507.")).count() >= 2, "2016 CU23 in several SUs");
    assert!(exchange.iter().filter(|h| h.build.starts_with("15.2.2562.")).count() >= 2, "SE RTM and an SU");
    assert!(exchange.iter().any(|h| h.x_owa_version.as_deref() == Some("15.2.858.2")), "CU9 reporting .2");

    // Every on-premises build is a real one.
    let known = known_builds();
    for host in exchange.iter().filter(|h| !h.online) {
        assert!(known.contains(&host.build), "{} is not in builds.csv", host.build);
    }
    // Signal variants.
    let all = |h: &&&ExchangeHost| {
        h.x_owa_version.is_some() && h.logon_path_version.is_some() && h.manifest_version.is_some()
    };
    assert!(exchange.iter().any(|h| all(&h)));
    assert!(exchange.iter().any(|h| h.x_owa_version.is_none()
        && h.logon_path_version.is_some()
        && h.server_header.starts_with("Microsoft-IIS")));
    assert!(
        exchange
            .iter()
            .any(|h| h.x_owa_version.is_none() && h.logon_path_version.is_none() && h.manifest_version.is_some())
    );
    assert!(exchange.iter().any(|h| h.x_owa_version.is_none() && h.server_header == "nginx"));
    assert!(exchange.iter().any(|h| h.online && h.x_owa_version.as_deref().is_some_and(|v| v.starts_with("15.20."))));
    assert!(exchange.iter().any(|h| h.proxylogon_vulnerable) && exchange.iter().any(|h| h.proxyshell_vulnerable));
    assert!(exchange.iter().any(|h| h.proxynotshell_mitigated) && exchange.iter().any(|h| !h.webshells.is_empty()));

    let decoys: HashSet<Decoy> =
        fleet.iter().filter_map(|s| if let HostKind::Decoy(d) = &s.kind { Some(*d) } else { None }).collect();
    assert_eq!(decoys, Decoy::ALL.into_iter().collect());
    let hostile: HashSet<&str> =
        fleet.iter().filter_map(|s| if let HostKind::Hostile(h) = &s.kind { Some(h.label()) } else { None }).collect();
    assert_eq!(hostile.len(), 7, "{hostile:?}");
}

#[test]
fn bench_fleet_wraps_addresses_and_varies_builds() {
    let fleet = bench_fleet(Ipv4Addr::new(127, 77, 0, 250), 9443, 300);
    assert_eq!(fleet.len(), 300);
    assert_eq!(fleet[6].ip, Ipv4Addr::new(127, 77, 1, 0));
    assert_eq!(fleet[299].ip, Ipv4Addr::new(127, 77, 2, 37));
    assert!(fleet.iter().all(|s| s.ip.is_loopback() && s.port == 9443 && matches!(s.kind, HostKind::Exchange(_))));
    let builds: HashSet<&str> = fleet.iter().filter_map(|s| s.kind.build()).collect();
    assert!(builds.len() >= 10, "{builds:?}");
    let known = known_builds();
    assert!(builds.iter().all(|b| known.contains(*b)), "{builds:?}");
}

#[tokio::test]
async fn standard_fleet_serves_end_to_end() {
    let (ip, port) = slot(55);
    let specs = standard_fleet(ip, port);
    let fleet = start(specs).await;
    for running in fleet.hosts() {
        match &running.spec.kind {
            HostKind::Exchange(spec) => {
                let owa = get(running, "/owa/").await;
                assert_eq!(owa.status, 302, "{}", running.spec.name);
                assert_eq!(owa.header("X-OWA-Version"), spec.x_owa_version.as_deref(), "{}", running.spec.name);
                let page = get(running, "/owa/auth/logon.aspx").await.text();
                if let Some(version) = &spec.logon_path_version {
                    assert!(page.contains(&format!("/{version}/themes/")), "{}", running.spec.name);
                }
            }
            HostKind::Decoy(_) => assert_eq!(get(running, "/").await.status, 200, "{}", running.spec.name),
            HostKind::Hostile(Hostile::RedirectToMetadata | Hostile::RedirectOffTarget(_)) => {
                assert_eq!(get(running, "/").await.status, 302, "{}", running.spec.name);
            }
            // The rest are covered one by one in hostile.rs; here they only need to be listening.
            HostKind::Hostile(_) => assert!(TcpStream::connect(running.addr).await.is_ok(), "{}", running.spec.name),
        }
    }
    fleet.shutdown().await;
}
