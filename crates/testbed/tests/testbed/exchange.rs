//! Exchange hosts answer the passive fingerprint requests as real front ends do.

use seawall_testbed::{ExchangeHost, HostSpec};

use crate::common::{exchange, fetch, get, host, parse_reply, slot, start};

const AUTH_PATHS: [&str; 5] =
    ["/EWS/Exchange.asmx", "/mapi/", "/Microsoft-Server-ActiveSync", "/OAB/", "/autodiscover/autodiscover.xml"];
const MANIFEST: &str = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application";

fn all_signals(build: &str, path_version: &str, fe: &str) -> ExchangeHost {
    ExchangeHost {
        build: build.to_owned(),
        x_owa_version: Some(build.to_owned()),
        logon_path_version: Some(path_version.to_owned()),
        manifest_version: Some(build.to_owned()),
        server_header: "Microsoft-IIS/10.0".to_owned(),
        fe_server: Some(fe.to_owned()),
        ..ExchangeHost::default()
    }
}

fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn all_signals_host_answers_every_fingerprint_request() {
    let (ip, port) = slot(1);
    let fleet =
        start(vec![HostSpec::exchange("mail.t1.test", ip, port, all_signals("15.2.1118.20", "15.2.1118", "EX19T"))])
            .await;
    let h = host(&fleet, "mail.t1.test");

    let root = get(h, "/").await;
    assert_eq!(root.status, 302);
    assert_eq!(root.header("Location"), Some("https://mail.t1.test/owa/"));
    assert_eq!(root.header("X-FEServer"), Some("EX19T"));

    for target in ["/owa/", "/owa"] {
        let owa = get(h, target).await;
        assert_eq!(owa.status, 302, "{target}");
        assert_eq!(
            owa.header("Location"),
            Some("https://mail.t1.test/owa/auth/logon.aspx?url=https%3a%2f%2fmail.t1.test%2fowa%2f&reason=0")
        );
        assert_eq!(owa.header("X-OWA-Version"), Some("15.2.1118.20"), "{target}");
    }

    let logon = get(h, "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.t1.test%2fowa%2f&reason=0").await;
    assert_eq!(logon.status, 200);
    assert_eq!(logon.header("X-OWA-Version"), None, "the real logon 200 has no X-OWA-Version");
    assert!(logon.header("Content-Type").is_some_and(|t| t.starts_with("text/html")));
    assert_eq!(logon.header("Server"), Some("Microsoft-IIS/10.0"));
    assert_eq!(logon.header("X-AspNet-Version"), Some("4.0.30319"));
    assert_eq!(logon.header("X-Powered-By"), Some("ASP.NET"));
    assert_eq!(logon.header("X-Frame-Options"), Some("SAMEORIGIN"));
    assert_eq!(logon.header("X-FEServer"), Some("EX19T"));
    assert!(logon.header("request-id").is_some_and(is_uuid), "{:?}", logon.header("request-id"));
    let page = logon.text();
    for marker in [
        "<!-- OwaPage = ASP.auth_logon_aspx -->",
        "<!-- {57A118C6-2DA9-419d-BE9A-F92B0F9A418B} -->",
        "<title>Outlook</title>",
        "/owa/auth/15.2.1118/themes/resources/favicon.ico",
        "/owa/auth/15.2.1118/scripts/premium/flogon.js",
        "To use Outlook, browser settings must allow scripts to run",
        "action=\"/owa/auth.owa\"",
    ] {
        assert!(page.contains(marker), "logon page lacks {marker}");
    }

    let service = get(h, "/owa/service").await;
    assert!(matches!(service.status, 401 | 440), "{}", service.status);
    assert_eq!(service.header("X-OWA-Version"), Some("15.2.1118.20"));

    for path in AUTH_PATHS {
        let reply = get(h, path).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.all("WWW-Authenticate"), ["Negotiate", "NTLM"], "{path}");
        assert_eq!(reply.header("X-OWA-Version"), Some("15.2.1118.20"), "{path}");
        assert_eq!(reply.header("X-FEServer"), Some("EX19T"), "{path}");
        assert!(reply.header("request-id").is_some_and(is_uuid), "{path}");
    }

    let manifest = get(h, MANIFEST).await;
    assert_eq!(manifest.status, 200);
    assert_eq!(manifest.header("Content-Type"), Some("application/x-ms-application"));
    let xml = manifest.text();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert!(xml.contains(
        "<assemblyIdentity name=\"microsoft.exchange.ediscovery.exporttool.application\" version=\"15.2.1118.20\" publicKeyToken=\"b03f5f7f11d50a3a\""
    ));
    // The build-named folder a guessing scanner asks for exists too; a wrong build does not.
    let by_build = get(h, &MANIFEST.replace("Current", "15.2.1118.20")).await;
    assert_eq!(by_build.status, 200);
    assert_eq!(get(h, &MANIFEST.replace("Current", "15.2.1118.7")).await.status, 404);

    let missing = get(h, "/no/such/thing.aspx").await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<title>404 - File or directory not found.</title>"));
    assert_eq!(missing.header("X-OWA-Version"), None);
    assert_eq!(missing.header("Server"), Some("Microsoft-IIS/10.0"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let (ip, port) = slot(2);
    let fleet = start(vec![
        HostSpec::exchange("mail.t2.test", ip, port, all_signals("15.1.2507.16", "15.1.2507", "EX16T")).plain(),
    ])
    .await;
    let h = host(&fleet, "mail.t2.test");
    let full = get(h, "/owa/auth/logon.aspx").await;
    let head = fetch(h, "HEAD", "/owa/auth/logon.aspx", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD must not carry a body");
    assert_eq!(head.header("Content-Length"), Some(full.body.len().to_string().as_str()));
    // A plain-HTTP host still sends the root to https, as Exchange's redirect is configured.
    assert_eq!(get(h, "/").await.header("Location"), Some("https://mail.t2.test/owa/"));
    let post =
        b"POST /owa/auth.owa HTTP/1.1\r\nHost: mail.t2.test\r\nContent-Length: 9\r\nConnection: close\r\n\r\nusername=";
    let posted = parse_reply(&exchange(h.addr, false, post).await);
    assert_eq!(posted.status, 302, "the form post bounces back to the logon page");
    assert!(posted.header("Location").is_some_and(|l| l.contains("/owa/auth/logon.aspx?") && l.ends_with("reason=2")));
    let head_401 = fetch(h, "HEAD", "/EWS/Exchange.asmx", &[]).await;
    assert_eq!((head_401.status, head_401.header("X-OWA-Version")), (401, Some("15.1.2507.16")));
    fleet.shutdown().await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let (ip, port) = slot(3);
    let fleet = start(vec![
        HostSpec::exchange("mail.t3.test", ip, port, all_signals("15.1.2507.16", "15.1.2507", "EX16T")).plain(),
    ])
    .await;
    let h = host(&fleet, "mail.t3.test");
    let raw = exchange(
        h.addr,
        false,
        b"GET /owa/ HTTP/1.1\r\nHost: a\r\n\r\nGET /mapi/ HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let text = String::from_utf8_lossy(&raw);
    let statuses: Vec<&str> = text.match_indices("HTTP/1.1 ").map(|(i, _)| &text[i + 9..i + 12]).collect();
    assert_eq!(statuses, ["302", "401", "404"], "{text}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn http10_without_host_gets_the_address_in_location() {
    let (ip, port) = slot(4);
    let fleet =
        start(vec![HostSpec::exchange("mail.t4.test", ip, port, all_signals("15.2.1544.11", "15.2.1544", "EX19T"))])
            .await;
    let h = host(&fleet, "mail.t4.test");
    let reply = parse_reply(&exchange(h.addr, true, b"GET / HTTP/1.0\r\n\r\n").await);
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("Location"), Some(format!("https://{}/owa/", h.addr).as_str()));
    assert_eq!(reply.header("X-FEServer"), Some("EX19T"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn exchange_2010_uses_the_old_title_and_four_part_path() {
    let (ip, port) = slot(5);
    let host_2010 = ExchangeHost {
        build: "14.3.513.0".to_owned(),
        x_owa_version: Some("14.3.513.0".to_owned()),
        logon_path_version: Some("14.3.123.3".to_owned()),
        server_header: "Microsoft-IIS/7.5".to_owned(),
        ..ExchangeHost::default()
    };
    let fleet = start(vec![HostSpec::exchange("owa2010.t5.test", ip, port, host_2010)]).await;
    let h = host(&fleet, "owa2010.t5.test");
    let page = get(h, "/owa/auth/logon.aspx").await.text();
    assert!(page.contains("<title>Outlook Web App</title>"));
    assert!(page.contains("/owa/14.3.123.3/themes/"), "2010 puts the 4-part version under /owa/");
    assert!(!page.contains("/owa/auth/14."));
    assert_eq!(get(h, "/owa/").await.header("X-OWA-Version"), Some("14.3.513.0"));
    assert_eq!(get(h, MANIFEST).await.status, 404, "2010 has no export tool");
    let owa = get(h, "/owa/").await;
    assert_eq!(owa.header("X-FEServer"), None);
    fleet.shutdown().await;
}

#[tokio::test]
async fn stripped_signals_stay_stripped_on_every_path() {
    let (ip, port) = slot(6);
    let proxied = ExchangeHost {
        build: "15.2.1118.40".to_owned(),
        logon_path_version: Some("15.2.1118".to_owned()),
        server_header: "nginx".to_owned(),
        ..ExchangeHost::default()
    };
    let manifest_only = ExchangeHost {
        build: "15.2.1748.36".to_owned(),
        manifest_version: Some("15.2.1748.36".to_owned()),
        server_header: "Microsoft-IIS/10.0".to_owned(),
        ..ExchangeHost::default()
    };
    let fleet = start(vec![
        HostSpec::exchange("proxied.t6.test", ip, port, proxied),
        HostSpec::exchange("manifest.t6.test", seawall_testbed::nth_address(ip, 1), port, manifest_only),
    ])
    .await;
    let proxy = host(&fleet, "proxied.t6.test");
    for path in ["/", "/owa/", "/owa/service", "/owa/auth/logon.aspx", MANIFEST].into_iter().chain(AUTH_PATHS) {
        let reply = get(proxy, path).await;
        assert_eq!(reply.header("X-OWA-Version"), None, "{path}");
        assert_eq!(reply.header("X-FEServer"), None, "{path}");
        assert_eq!(reply.header("Server"), Some("nginx"), "{path}");
    }
    assert!(get(proxy, "/owa/auth/logon.aspx").await.text().contains("/owa/auth/15.2.1118/themes/"));
    assert_eq!(get(proxy, MANIFEST).await.status, 404);

    let only = host(&fleet, "manifest.t6.test");
    let page = get(only, "/owa/auth/logon.aspx").await.text();
    assert!(page.contains("<!-- OwaPage = ASP.auth_logon_aspx -->"));
    assert!(!page.contains("/owa/auth/15."), "no version in the page's paths");
    assert_eq!(get(only, "/mapi/").await.header("X-OWA-Version"), None);
    assert!(get(only, MANIFEST).await.text().contains("version=\"15.2.1748.36\""));
    fleet.shutdown().await;
}

#[tokio::test]
async fn exchange_online_front_end_names_its_servers() {
    let (ip, port) = slot(7);
    let online = ExchangeHost {
        build: "15.20.8835.26".to_owned(),
        x_owa_version: Some("15.20.8835.26".to_owned()),
        online: true,
        server_header: "Microsoft-IIS/10.0".to_owned(),
        fe_server: Some("CY4PR02CA0010".to_owned()),
        ..ExchangeHost::default()
    };
    let fleet = start(vec![HostSpec::exchange("outlook.t7.test", ip, port, online)]).await;
    let h = host(&fleet, "outlook.t7.test");
    let owa = get(h, "/owa/").await;
    assert_eq!(owa.header("X-OWA-Version"), Some("15.20.8835.26"));
    assert_eq!(owa.header("X-FEServer"), Some("CY4PR02CA0010"));
    assert_eq!(owa.header("X-BEServer"), Some("CY4PR02MB0010"));
    assert!(!get(h, "/owa/auth/logon.aspx").await.text().contains("/owa/auth/15."));
    fleet.shutdown().await;
}

#[tokio::test]
async fn webshells_answer_with_a_form_and_only_where_planted() {
    let (ip, port) = slot(8);
    let shelled = ExchangeHost {
        webshells: vec!["/aspnet_client/system_web/shell.aspx".to_owned()],
        ..all_signals("15.0.1497.2", "15.0.1497", "EX13T")
    };
    let fleet = start(vec![HostSpec::exchange("mail.t8.test", ip, port, shelled)]).await;
    let h = host(&fleet, "mail.t8.test");
    for path in ["/aspnet_client/system_web/shell.aspx", "/ASPNET_CLIENT/system_web/Shell.aspx"] {
        let shell = get(h, path).await;
        assert_eq!(shell.status, 200, "{path}");
        assert!(shell.text().contains("<form"), "{path}");
        assert!(shell.body.len() < 1024, "a small page");
    }
    assert_eq!(get(h, "/aspnet_client/system_web/other.aspx").await.status, 404);
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_http_errors() {
    let (ip, port) = slot(9);
    let fleet = start(vec![
        HostSpec::exchange("mail.t9.test", ip, port, all_signals("15.2.986.14", "15.2.986", "EX19T")).plain(),
    ])
    .await;
    let h = host(&fleet, "mail.t9.test");
    let garbage = parse_reply(&exchange(h.addr, false, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").await);
    assert_eq!(garbage.status, 400);
    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70 * 1024));
    assert_eq!(parse_reply(&exchange(h.addr, false, huge.as_bytes()).await).status, 431);
    assert_eq!(fetch(h, "DELETE", "/owa/", &[]).await.status, 405);
    fleet.shutdown().await;
}
