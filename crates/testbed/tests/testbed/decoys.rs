//! Decoys look like web servers, or like OWA, but never like an Exchange front end.

use seawall_testbed::{Decoy, HostSpec, nth_address};

use crate::common::{Reply, get, host, slot, start};

/// No decoy may carry what only a real front end sends.
fn assert_no_exchange_headers(reply: &Reply, context: &str) {
    for name in ["X-OWA-Version", "X-FEServer", "X-BEServer", "request-id", "WWW-Authenticate"] {
        assert_eq!(reply.header(name), None, "{context}: {name}");
    }
}

#[tokio::test]
async fn each_decoy_answers_as_specified() {
    let (ip, port) = slot(30);
    let specs = Decoy::ALL
        .iter()
        .enumerate()
        .map(|(i, decoy)| {
            let spec = HostSpec::decoy(format!("{}.t30.test", decoy.label()), nth_address(ip, i), port, *decoy);
            // Half over TLS, half plain: the answers must not depend on it.
            if i % 2 == 0 { spec } else { spec.plain() }
        })
        .collect();
    let fleet = start(specs).await;

    let iis = host(&fleet, "iis-default.t30.test");
    let welcome = get(iis, "/").await;
    assert_eq!(welcome.status, 200);
    assert!(welcome.text().contains("<title>IIS Windows Server</title>") && welcome.text().contains("iisstart.png"));
    assert_eq!(welcome.header("Server"), Some("Microsoft-IIS/10.0"));
    let iis_missing = get(iis, "/owa/auth/logon.aspx").await;
    assert_eq!(iis_missing.status, 404);
    assert!(iis_missing.text().contains("404 - File or directory not found."));

    let nginx = host(&fleet, "nginx.t30.test");
    let page = get(nginx, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>Welcome to nginx!</title>"));
    assert!(page.header("Server").is_some_and(|s| s.starts_with("nginx")));
    assert_eq!(get(nginx, "/owa/").await.status, 404);

    let clone = host(&fleet, "phishing-clone.t30.test");
    for path in ["/", "/owa/", "/owa/auth/logon.aspx", "/EWS/Exchange.asmx", "/mapi/", "/anything/else"] {
        let reply = get(clone, path).await;
        assert_eq!(reply.status, 200, "{path}");
        let text = reply.text();
        assert!(text.contains("<!-- OwaPage = ASP.auth_logon_aspx -->"), "{path}");
        assert!(text.contains("/owa/auth/15.1.1466/themes/"), "{path}");
        assert!(reply.header("Server").is_some_and(|s| s.starts_with("nginx") || s.starts_with("Apache")));
        assert_no_exchange_headers(&reply, path);
    }

    let catch_all = host(&fleet, "catch-all-200.t30.test");
    let first = get(catch_all, "/").await;
    assert_eq!(first.status, 200);
    for path in ["/owa/", "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", "/x?y=z"] {
        let reply = get(catch_all, path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body, first.body, "{path}: the same page everywhere");
        assert_no_exchange_headers(&reply, path);
    }
    fleet.shutdown().await;
}
