//! Scan the emulated fleet for real, over loopback: exact builds and CVEs for
//! every Exchange host, "not Exchange" for every decoy, every hostile host ends
//! within its deadline, and a default scan sends only GET/HEAD to fixed paths.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seawall_kb::{BuildQuery, KnowledgeBase};
use seawall_model::{Record, Service};
use seawall_scan::engine::{ScanOptions, Scanner};
use seawall_scan::exchange::plan::ProbePlan;
use seawall_scan::exchange::webshells::WebshellPaths;
use seawall_scan::protocols::http::{HttpSettings, Timeouts};
use seawall_scan::space::TargetSpace;
use seawall_scan::targets::TargetSpec;
use seawall_testbed::{ExchangeHost, Fleet, HostKind, HostSpec, Hostile, deployment_fleet, standard_fleet};
use tokio::sync::mpsc;

fn options(probe_webshells: bool, active: bool) -> ScanOptions {
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        tls: Duration::from_secs(2),
        response_head: Duration::from_secs(3),
        body: Duration::from_secs(3),
    };
    ScanOptions {
        per_host: 2,
        host_timeout: Duration::from_secs(12),
        seed: 7,
        as_of: "2026-11-30T00:00:00Z".parse().expect("instant"),
        probe_webshells,
        active,
        ..ScanOptions::new(HttpSettings { timeouts, ..HttpSettings::new("seawall-test") })
    }
}

async fn scan(fleet: &Fleet, options: ScanOptions) -> Vec<Record> {
    let specs = fleet
        .hosts()
        .iter()
        .map(|h| TargetSpec::Endpoint { ip: h.addr.ip(), port: h.addr.port(), tls: Some(h.spec.tls) })
        .collect();
    let space = Arc::new(TargetSpace::new(specs, &[443], vec![]).expect("space"));
    let kb = Arc::new(KnowledgeBase::embedded().expect("kb"));
    let scanner =
        Scanner::new(kb, ProbePlan::embedded().expect("plan"), WebshellPaths::embedded().expect("paths"), options);
    let (tx, mut rx) = mpsc::channel(1024);
    let run = tokio::spawn(scanner.run(space, tx));
    let mut records = Vec::new();
    while let Some(record) = rx.recv().await {
        records.push(record);
    }
    run.await.expect("scan task");
    records
}

fn services_of(records: &[Record], ip: IpAddr) -> Vec<&Service> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Service(s) if s.ip.as_deref() == Some(ip.to_string().as_str()) => Some(s),
            _ => None,
        })
        .collect()
}

fn has_error(records: &[Record], ip: IpAddr) -> bool {
    records.iter().any(|r| matches!(r, Record::Error(e) if e.source.starts_with(&format!("{ip}:"))))
}

fn finding_ids(records: &[Record], ip: IpAddr) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Finding(f) if f.location.key().starts_with(&format!("{ip}:")) => Some(f.rule.id.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_scan_of_the_standard_fleet() {
    let fleet = Fleet::start(standard_fleet(Ipv4Addr::new(127, 77, 1, 10), 9443)).await.expect("fleet starts");
    let started = Instant::now();
    let records = scan(&fleet, options(false, false)).await;
    let elapsed = started.elapsed();
    let kb = KnowledgeBase::embedded().expect("kb");
    let today = "2026-11-30".parse().expect("date");
    let mut failures = Vec::new();
    for host in fleet.hosts() {
        let ip = host.addr.ip();
        let services = services_of(&records, ip);
        match &host.spec.kind {
            HostKind::Exchange(exchange) if exchange.online => {
                if !services.iter().any(|s| s.product.as_deref() == Some("exchange-online")) {
                    failures.push(format!("{} ({}): not recognised as Exchange Online", host.spec.name, ip));
                }
            }
            HostKind::Exchange(exchange) => {
                let Some(service) = services.iter().find(|s| s.product.as_deref() == Some("exchange")) else {
                    failures.push(format!("{} ({ip}): not recognised as Exchange: {services:?}", host.spec.name));
                    continue;
                };
                let truth = BuildQuery::parse(&exchange.build).expect("fleet build parses");
                let truth_report = kb.assess(truth, &exchange.build, today).expect("known");
                let exact = exchange.x_owa_version.is_some() || exchange.manifest_version.is_some();
                let Some(version) = service.version.as_deref() else {
                    failures.push(format!("{} ({ip}): no version", host.spec.name));
                    continue;
                };
                let seen = kb.assess(BuildQuery::parse(version).expect("parses"), version, today).expect("known");
                if seen.cu != truth_report.cu {
                    failures
                        .push(format!("{} ({ip}): CU {:?}, expected {:?}", host.spec.name, seen.cu, truth_report.cu));
                }
                if exact {
                    if seen.open_cves != truth_report.open_cves {
                        failures.push(format!("{} ({ip}): open CVEs differ from the true build's", host.spec.name));
                    }
                } else if !service.facts.get("precision").is_some_and(|p| p == "cu") {
                    failures.push(format!("{} ({ip}): path-only host should be CU precision", host.spec.name));
                }
                if service.methods.is_empty() {
                    failures.push(format!("{} ({ip}): no methods recorded", host.spec.name));
                }
            }
            HostKind::Decoy(_) => {
                if services.iter().any(|s| s.product.as_deref().is_some_and(|p| p.starts_with("exchange"))) {
                    failures.push(format!("{} ({ip}): decoy taken for Exchange", host.spec.name));
                }
            }
            HostKind::Hostile(kind) => {
                let must_error = matches!(
                    kind,
                    Hostile::Trickle | Hostile::EndlessHeaders | Hostile::TlsGarbage | Hostile::InstantClose
                );
                if must_error && !has_error(&records, ip) {
                    failures.push(format!("{} ({ip}): hostile host {kind:?} gave no error record", host.spec.name));
                }
                if services.iter().any(|s| s.product.as_deref().is_some_and(|p| p.starts_with("exchange"))) {
                    failures.push(format!("{} ({ip}): hostile host taken for Exchange", host.spec.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(elapsed < Duration::from_secs(40), "hostile hosts held the scan for {elapsed:?}");

    // Non-intrusive by construction: only GET/HEAD, only the plan's fixed paths.
    let plan = ProbePlan::embedded().expect("plan");
    for request in fleet.request_log() {
        assert!(request.method == "GET" || request.method == "HEAD", "{request:?}");
        let fixed = plan.request.iter().any(|p| match p.path.split_once("{random}") {
            Some((prefix, suffix)) => request.target.starts_with(prefix) && request.target.ends_with(suffix),
            None => request.target == p.path,
        });
        assert!(fixed, "request outside the plan: {request:?}");
        assert!(!request.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("cookie") && v.contains("X-AnonResource")));
    }
    let log = fleet.request_log();
    assert!(!log.is_empty());
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_in_checks_find_webshells_and_confirm_vulnerabilities() {
    let specs: Vec<HostSpec> = standard_fleet(Ipv4Addr::new(127, 77, 2, 10), 9444)
        .into_iter()
        .filter(|h| matches!(&h.kind, HostKind::Exchange(e) if !e.online))
        .collect();
    let with_shell: Vec<(IpAddr, Vec<String>)> = specs
        .iter()
        .filter_map(|h| match &h.kind {
            HostKind::Exchange(e) if !e.webshells.is_empty() => Some((h.ip, e.webshells.clone())),
            _ => None,
        })
        .collect();
    let vulnerable: Vec<IpAddr> = specs
        .iter()
        .filter(|h| matches!(&h.kind, HostKind::Exchange(e) if e.proxylogon_vulnerable))
        .map(|h| h.ip)
        .collect();
    assert!(!with_shell.is_empty() && !vulnerable.is_empty(), "the standard fleet has webshells and a vulnerable host");
    let fleet = Fleet::start(specs).await.expect("fleet starts");
    let records = scan(&fleet, options(true, true)).await;
    let paths = WebshellPaths::embedded().expect("paths");
    for (ip, shells) in &with_shell {
        let ids = finding_ids(&records, *ip);
        let listed = shells.iter().filter(|s| paths.path.iter().any(|p| &p.path == *s)).count();
        assert_eq!(ids.iter().filter(|id| *id == "SW-EXCH-WEBSHELL-PATH").count(), listed, "{ip}: {ids:?}");
    }
    for host in fleet.hosts() {
        let ip = host.addr.ip();
        let ids = finding_ids(&records, ip);
        let expect_proxylogon = vulnerable.contains(&ip);
        assert_eq!(ids.contains(&"SW-ACTIVE-PROXYLOGON".to_owned()), expect_proxylogon, "{ip}: {ids:?}");
        if !with_shell.iter().any(|(w, _)| *w == ip) {
            assert!(!ids.contains(&"SW-EXCH-WEBSHELL-PATH".to_owned()), "{ip}: webshell false alarm");
        }
    }
    fleet.shutdown().await;
}

async fn scan_endpoints(
    fleet: &Fleet,
    skip: impl FnMut(u64) -> bool + Send + 'static,
) -> Vec<seawall_scan::engine::EndpointRecords> {
    let specs = fleet
        .hosts()
        .iter()
        .map(|h| TargetSpec::Endpoint { ip: h.addr.ip(), port: h.addr.port(), tls: Some(h.spec.tls) })
        .collect();
    let space = Arc::new(TargetSpace::new(specs, &[443], vec![]).expect("space"));
    let kb = Arc::new(KnowledgeBase::embedded().expect("kb"));
    let scanner = Scanner::new(
        kb,
        ProbePlan::embedded().expect("plan"),
        WebshellPaths::embedded().expect("paths"),
        options(false, false),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let run = tokio::spawn(scanner.run_endpoints(space, skip, tx));
    let mut endpoints = Vec::new();
    while let Some(endpoint) = rx.recv().await {
        endpoints.push(endpoint);
    }
    run.await.expect("scan task");
    endpoints
}

/// What `--resume` builds on: every endpoint's records arrive with its ordinal, and a scan told
/// to skip some ordinals visits exactly the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_carry_ordinals_and_skipped_ordinals_are_not_visited() {
    let specs: Vec<HostSpec> = standard_fleet(Ipv4Addr::new(127, 77, 30, 10), 9460)
        .into_iter()
        .filter(|h| !matches!(h.kind, HostKind::Hostile(_)))
        .collect();
    let fleet = Fleet::start(specs).await.expect("fleet starts");
    let hosts = fleet.hosts().len();
    let whole = scan_endpoints(&fleet, |_| false).await;
    let mut ordinals: Vec<u64> = whole.iter().map(|e| e.ordinal).collect();
    ordinals.sort_unstable();
    assert_eq!(ordinals, (0..hosts as u64).collect::<Vec<_>>(), "one message per endpoint, every ordinal once");
    assert!(whole.iter().all(|e| e.records.iter().any(|r| matches!(r, Record::Service(_)))));

    let done: std::collections::BTreeSet<u64> = ordinals.iter().copied().filter(|o| o % 2 == 0).collect();
    let requests_before = fleet.request_log().len();
    let skipped = done.clone();
    let rest = scan_endpoints(&fleet, move |o| skipped.contains(&o)).await;
    let mut visited: Vec<u64> = rest.iter().map(|e| e.ordinal).collect();
    visited.sort_unstable();
    assert_eq!(visited, ordinals.iter().copied().filter(|o| !done.contains(o)).collect::<Vec<_>>());
    for endpoint in &rest {
        let before = whole.iter().find(|e| e.ordinal == endpoint.ordinal).expect("same ordinal");
        assert_eq!(endpoint.records, before.records, "an ordinal names the same endpoint in both runs");
    }
    let skipped_hosts: Vec<std::net::SocketAddr> = whole
        .iter()
        .filter(|e| done.contains(&e.ordinal))
        .filter_map(|e| {
            e.records.iter().find_map(|r| match r {
                Record::Service(s) => Some(std::net::SocketAddr::new(s.ip.as_deref()?.parse().ok()?, s.port)),
                _ => None,
            })
        })
        .collect();
    let later = &fleet.request_log()[requests_before..];
    assert!(later.iter().all(|r| !skipped_hosts.contains(&r.server)), "a skipped endpoint was contacted");
    fleet.shutdown().await;
}

// See: issue 13. Exchange published as real deployments publish it: OWA under a renamed
// directory behind a root redirect, OWA turned off with EWS and ActiveSync only.
#[tokio::test]
async fn exchange_is_found_however_it_is_published() {
    let mut specs = deployment_fleet(Ipv4Addr::new(127, 77, 3, 10), 9443);
    // And one on IPv6 (issue 13, item 6), where the machine has an IPv6 loopback.
    let loopback6 = IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
    if std::net::TcpListener::bind((loopback6, 0)).is_ok() {
        let host = ExchangeHost {
            build: "15.2.1544.11".into(),
            x_owa_version: Some("15.2.1544.11".into()),
            logon_path_version: Some("15.2.1544".into()),
            server_header: "Microsoft-IIS/10.0".into(),
            fe_server: Some("EX19V6".into()),
            ..ExchangeHost::default()
        };
        specs.push(HostSpec::exchange("ex2019-cu14-ipv6.seawall.test", loopback6, 0, host));
    }
    let fleet = Fleet::start(specs).await.expect("fleet starts");
    let records = scan(&fleet, options(false, false)).await;
    let kb = KnowledgeBase::embedded().expect("kb");
    let today = "2026-11-30".parse().expect("date");
    let mut failures = Vec::new();
    for host in fleet.hosts() {
        let ip = host.addr.ip();
        let name = &host.spec.name;
        let HostKind::Exchange(exchange) = &host.spec.kind else { continue };
        let services = services_of(&records, ip);
        let Some(service) = services.iter().find(|s| s.product.as_deref() == Some("exchange")) else {
            failures.push(format!("{name}: not recognised as Exchange: {services:?}"));
            continue;
        };
        let requests = service.facts.get("requests_sent").and_then(|n| n.as_u64()).unwrap_or(0);
        if requests == 0 || requests > 20 {
            failures.push(format!("{name}: {requests} requests, the budget is 20"));
        }
        if let Some(vdir) = &exchange.owa_vdir {
            let expected = format!("{}/", vdir.trim_end_matches('/'));
            if service.facts.get("owa_vdir").and_then(|v| v.as_str()) != Some(expected.as_str()) {
                failures.push(format!("{name}: owa_vdir {:?}, expected {expected}", service.facts.get("owa_vdir")));
            }
        }
        let truth =
            kb.assess(BuildQuery::parse(&exchange.build).expect("parses"), &exchange.build, today).expect("known");
        let versioned =
            exchange.x_owa_version.is_some() || exchange.logon_path_version.is_some() && !exchange.owa_disabled;
        match (service.version.as_deref(), versioned) {
            (Some(version), true) => {
                let seen = kb.assess(BuildQuery::parse(version).expect("parses"), version, today).expect("known");
                if seen.cu != truth.cu {
                    failures.push(format!("{name}: CU {:?}, expected {:?}", seen.cu, truth.cu));
                }
                if exchange.x_owa_version.is_some() && seen.open_cves != truth.open_cves {
                    failures.push(format!("{name}: open CVEs differ from the true build's"));
                }
            }
            (None, true) => failures.push(format!("{name}: no version")),
            (_, false) => {
                // Nothing on the wire names the build: found, and said to be unknown, not guessed.
                if service.version.is_some() {
                    failures.push(format!("{name}: a version {:?} out of nothing", service.version));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Redirect hints send the same read-only requests, under the hinted directory only.
    let plan = ProbePlan::embedded().expect("plan");
    for request in fleet.request_log() {
        assert!(request.method == "GET" || request.method == "HEAD", "{request:?}");
        let in_plan = plan.request.iter().any(|p| match p.path.split_once("{random}") {
            Some((prefix, suffix)) => request.target.starts_with(prefix) && request.target.ends_with(suffix),
            None => {
                request.target == p.path
                    || (p.owa
                        && ["/webmail/", "/mail/"].iter().any(|v| request.target == format!("{v}{}", &p.path[5..])))
            }
        });
        assert!(in_plan, "request outside the plan: {request:?}");
    }
    fleet.shutdown().await;
}
