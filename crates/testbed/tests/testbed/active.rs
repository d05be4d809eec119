//! The opt-in active checks get realistic answers from vulnerable and patched hosts alike.

use seawall_testbed::{ExchangeHost, HostSpec, nth_address};

use crate::common::{fetch, get, host, slot, start};

const PROXYLOGON_COOKIE: &str = "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;";
const PROXYSHELL: &str =
    "/autodiscover/autodiscover.json?@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com";
const PROXYSHELL_OWA: &str =
    "/autodiscover/autodiscover.json?@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com";
const PROXYNOTSHELL: &str = "/autodiscover/autodiscover.json?a@foo.var/owa/?&Email=autodiscover/autodiscover.json?a@foo.var&Protocol=XYZ&FooProtocol=Powershell";

fn host_with(build: &str, proxylogon: bool, proxyshell: bool, mitigated: bool) -> ExchangeHost {
    ExchangeHost {
        build: build.to_owned(),
        x_owa_version: Some(build.to_owned()),
        server_header: "Microsoft-IIS/10.0".to_owned(),
        fe_server: Some("EXCH01".to_owned()),
        proxylogon_vulnerable: proxylogon,
        proxyshell_vulnerable: proxyshell,
        proxynotshell_mitigated: mitigated,
        ..ExchangeHost::default()
    }
}

#[tokio::test]
async fn vulnerable_and_patched_hosts_answer_the_active_checks() {
    let (ip, port) = slot(20);
    let fleet = start(vec![
        HostSpec::exchange("vulnerable.t20.test", ip, port, host_with("15.0.1497.2", true, true, false)),
        HostSpec::exchange(
            "patched.t20.test",
            nth_address(ip, 1),
            port,
            host_with("15.2.1118.20", false, false, false),
        ),
        HostSpec::exchange(
            "mitigated.t20.test",
            nth_address(ip, 2),
            port,
            host_with("15.2.1118.15", false, false, true),
        ),
    ])
    .await;
    let vulnerable = host(&fleet, "vulnerable.t20.test");
    let patched = host(&fleet, "patched.t20.test");
    let mitigated = host(&fleet, "mitigated.t20.test");

    // ProxyLogon.
    let hit = fetch(vulnerable, "GET", "/owa/auth/x.js", &[("Cookie", PROXYLOGON_COOKIE)]).await;
    assert_eq!(hit.status, 500);
    assert_eq!(hit.header("X-CalculatedBETarget"), Some("localhost"));
    let without_cookie = get(vulnerable, "/owa/auth/x.js").await;
    assert_eq!((without_cookie.status, without_cookie.header("X-CalculatedBETarget")), (404, None));
    let miss = fetch(patched, "GET", "/owa/auth/x.js", &[("Cookie", PROXYLOGON_COOKIE)]).await;
    assert_eq!((miss.status, miss.header("X-CalculatedBETarget")), (404, None));

    // ProxyShell.
    let nspi = get(vulnerable, PROXYSHELL).await;
    assert_eq!(nspi.status, 200);
    assert!(nspi.text().contains("Exchange MAPI/HTTP Connectivity Endpoint"));
    assert!(nspi.text().contains("15.0.1497.2"), "the MAPI page states the version");
    let owa = get(vulnerable, PROXYSHELL_OWA).await;
    assert_eq!(owa.status, 302);
    assert!(owa.header("Location").is_some_and(|l| l.contains("OwaADUserNotFoundException")));
    for target in [PROXYSHELL, PROXYSHELL_OWA] {
        let closed = get(patched, target).await;
        assert!(matches!(closed.status, 400 | 401), "{target}: {}", closed.status);
        assert!(!closed.text().contains("Exchange MAPI/HTTP Connectivity Endpoint"));
    }

    // ProxyNotShell: the URL Rewrite mitigation blocks, an unmitigated host redirects.
    assert_eq!(get(mitigated, PROXYNOTSHELL).await.status, 403);
    assert_eq!(get(patched, PROXYNOTSHELL).await.status, 302);
    assert_eq!(get(vulnerable, PROXYNOTSHELL).await.status, 302);
    // The rule matches the decoded URI, so escaping the word does not slip past it.
    assert_eq!(get(mitigated, &PROXYNOTSHELL.replace("Powershell", "Power%73hell")).await.status, 403);
    // ... and it does not touch ordinary requests.
    assert_eq!(get(mitigated, "/autodiscover/autodiscover.xml").await.status, 401);

    // Nothing changed state: the same probe gives the same answer again.
    assert_eq!(fetch(vulnerable, "GET", "/owa/auth/x.js", &[("Cookie", PROXYLOGON_COOKIE)]).await.status, 500);
    assert_eq!(get(patched, "/owa/").await.header("X-OWA-Version"), Some("15.2.1118.20"));
    fleet.shutdown().await;
}
