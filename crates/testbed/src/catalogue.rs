//! Ready-made fleets: the standard mix for tests and the demo, and large uniform fleets for the
//! benchmark. Builds come from data/kb/builds.csv; the active-check flags follow what those
//! builds really are (ProxyLogon fixed by Mar21SU, ProxyShell by Apr21SU, ProxyNotShell by Nov22SU).

use std::net::Ipv4Addr;

use crate::spec::{Decoy, ExchangeHost, HostSpec, Hostile};

const DOMAIN: &str = "seawall.test";
const IIS10: &str = "Microsoft-IIS/10.0";

/// Which version signals a host shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signals {
    /// X-OWA-Version, logon path, manifest.
    All,
    /// Logon page path only (headers stripped, ECP blocked).
    LogonPathOnly,
    /// Only the exporttool manifest (customised logon page, headers stripped).
    ManifestOnly,
    /// A reverse proxy: no X-OWA-Version, no X-FEServer, `Server: nginx`, logon path kept.
    ReverseProxy,
}

/// The 3-part CU version of 2013+ logon paths, the full 4-part version of 2010's.
fn logon_path_version(build: &str) -> String {
    if build.starts_with("14.") { build.to_owned() } else { build.splitn(4, '.').take(3).collect::<Vec<_>>().join(".") }
}

/// An on-premises host showing `build` through the chosen signals.
fn on_prem(build: &str, signals: Signals, fe_server: &str) -> ExchangeHost {
    let legacy = build.starts_with("14.");
    let mut host = ExchangeHost {
        build: build.to_owned(),
        x_owa_version: Some(build.to_owned()),
        logon_path_version: Some(logon_path_version(build)),
        // The export tool arrived with 2013.
        manifest_version: (!legacy).then(|| build.to_owned()),
        server_header: if legacy { "Microsoft-IIS/7.5".to_owned() } else { IIS10.to_owned() },
        fe_server: (!legacy).then(|| fe_server.to_owned()),
        ..ExchangeHost::default()
    };
    match signals {
        Signals::All => {}
        Signals::LogonPathOnly => {
            host.x_owa_version = None;
            host.manifest_version = None;
        }
        Signals::ManifestOnly => {
            host.x_owa_version = None;
            host.logon_path_version = None;
        }
        Signals::ReverseProxy => {
            host.x_owa_version = None;
            host.manifest_version = None;
            host.fe_server = None;
            host.server_header = "nginx".to_owned();
        }
    }
    host
}

fn with_flags(mut host: ExchangeHost, proxylogon: bool, proxyshell: bool) -> ExchangeHost {
    host.proxylogon_vulnerable = proxylogon;
    host.proxyshell_vulnerable = proxyshell;
    host
}

/// The default mix for tests and the demo: 14 Exchange hosts, each decoy, each hostile kind.
/// Hosts get consecutive addresses from `base` (e.g. 127.77.0.10, .11, ...), all on `port`, all
/// TLS. Names are `<label>.seawall.test`; [`crate::Fleet::host`] finds a host by name.
pub fn standard_fleet(base: Ipv4Addr, port: u16) -> Vec<HostSpec> {
    let exchange: Vec<(&str, ExchangeHost)> = vec![
        ("ex2010-sp3-ru32", on_prem("14.3.513.0", Signals::All, "")),
        // Unpatched 2013 CU23 that was hit through ProxyLogon: two shells where actors dropped them.
        (
            "ex2013-cu23",
            ExchangeHost {
                webshells: vec!["/aspnet_client/system_web/shell.aspx".to_owned(), "/owa/auth/errorEE.aspx".to_owned()],
                ..with_flags(on_prem("15.0.1497.2", Signals::All, "EX2013"), true, true)
            },
        ),
        ("ex2016-cu18-mar21su", with_flags(on_prem("15.1.2106.13", Signals::All, "EX16CU18"), false, true)),
        ("ex2016-cu23-nov22su", on_prem("15.1.2507.16", Signals::All, "EX16A")),
        ("ex2016-cu23-apr24hu-logon-only", on_prem("15.1.2507.39", Signals::LogonPathOnly, "EX16B")),
        ("ex2016-cu23-aug26su", on_prem("15.1.2507.72", Signals::All, "EX16C")),
        // The Lookback server: CU9 (official 15.2.858.5) says 15.2.858.2 in its headers.
        (
            "ex2019-cu9",
            ExchangeHost {
                build: "15.2.858.5".to_owned(),
                x_owa_version: Some("15.2.858.2".to_owned()),
                manifest_version: None,
                ..with_flags(on_prem("15.2.858.5", Signals::All, "WIN-12OUO7A66M7"), false, true)
            },
        ),
        // Before Nov22SU, with Microsoft's URL Rewrite mitigation for ProxyNotShell in place.
        (
            "ex2019-cu12-oct22su-mitigated",
            ExchangeHost { proxynotshell_mitigated: true, ..on_prem("15.2.1118.15", Signals::All, "EX19A") },
        ),
        ("ex2019-cu12-nov23su-proxied", on_prem("15.2.1118.40", Signals::ReverseProxy, "")),
        ("ex2019-cu14-apr24hu", on_prem("15.2.1544.11", Signals::All, "EX19B")),
        ("ex2019-cu15-aug25su-manifest-only", on_prem("15.2.1748.36", Signals::ManifestOnly, "EX19C")),
        ("exse-rtm", on_prem("15.2.2562.17", Signals::All, "EXSE01")),
        ("exse-rtm-aug26su", on_prem("15.2.2562.46", Signals::All, "EXSE02")),
        (
            "exo-frontend",
            ExchangeHost {
                build: "15.20.8835.26".to_owned(),
                x_owa_version: Some("15.20.8835.26".to_owned()),
                online: true,
                server_header: IIS10.to_owned(),
                fe_server: Some("CY4PR02CA0010".to_owned()),
                ..ExchangeHost::default()
            },
        ),
    ];
    let mut specs = Vec::new();
    let mut next = 0usize;
    let mut address = || {
        next += 1;
        nth_address(base, next - 1)
    };
    for (label, host) in exchange {
        specs.push(HostSpec::exchange(format!("{label}.{DOMAIN}"), address(), port, host));
    }
    for decoy in Decoy::ALL {
        specs.push(HostSpec::decoy(format!("decoy-{}.{DOMAIN}", decoy.label()), address(), port, decoy));
    }
    let hostile = [
        Hostile::Trickle,
        Hostile::EndlessHeaders,
        Hostile::EndlessBody,
        Hostile::TlsGarbage,
        Hostile::RedirectToMetadata,
        Hostile::RedirectOffTarget("owa.example.com".to_owned()),
        Hostile::InstantClose,
    ];
    for kind in hostile {
        specs.push(HostSpec::hostile(format!("hostile-{}.{DOMAIN}", kind.label()), address(), port, kind));
    }
    specs
}

/// Exchange published the ways real deployments publish it (issue 13), each with the build a
/// scanner should report: OWA under a renamed directory behind a root redirect (with and
/// without a reverse proxy stripping the version headers), OWA turned off with only EWS and
/// ActiveSync published, and OWA off behind a proxy (found, build unknown).
pub fn deployment_fleet(base: Ipv4Addr, port: u16) -> Vec<HostSpec> {
    let webmail = |build: &str, signals: Signals, fe: &str, vdir: &str| ExchangeHost {
        owa_vdir: Some(vdir.to_owned()),
        ..on_prem(build, signals, fe)
    };
    let ews_and_activesync_only = ["/mapi", "/autodiscover", "/oab", "/rpc"].map(str::to_owned).to_vec();
    let exchange: Vec<(&str, ExchangeHost)> = vec![
        ("ex2019-cu12-webmail", webmail("15.2.1118.40", Signals::All, "EX19W", "/webmail")),
        ("ex2016-cu23-mail-proxied", webmail("15.1.2507.39", Signals::ReverseProxy, "", "/mail")),
        (
            "ex2016-cu23-owa-off",
            ExchangeHost {
                owa_disabled: true,
                unpublished: ews_and_activesync_only.clone(),
                ..on_prem("15.1.2507.16", Signals::All, "EX16OFF")
            },
        ),
        (
            "ex2019-cu14-owa-off-proxied",
            ExchangeHost {
                owa_disabled: true,
                unpublished: ews_and_activesync_only,
                activesync_basic: true,
                ..on_prem("15.2.1544.11", Signals::ReverseProxy, "")
            },
        ),
    ];
    exchange
        .into_iter()
        .enumerate()
        .map(|(i, (label, host))| HostSpec::exchange(format!("{label}.{DOMAIN}"), nth_address(base, i), port, host))
        .collect()
}

/// (build, ProxyLogon-vulnerable, ProxyShell-vulnerable) for the benchmark's rotation.
const BENCH_BUILDS: [(&str, bool, bool); 12] = [
    ("14.3.513.0", false, false),
    ("15.0.1497.2", true, true),
    ("15.0.1497.48", false, false),
    ("15.1.2106.13", false, true),
    ("15.1.2375.37", false, false),
    ("15.1.2507.72", false, false),
    ("15.2.721.13", false, true),
    ("15.2.986.14", false, false),
    ("15.2.1118.40", false, false),
    ("15.2.1544.11", false, false),
    ("15.2.1748.36", false, false),
    ("15.2.2562.46", false, false),
];

/// `count` Exchange-like hosts with varied builds for benchmarks (addresses base, base+1, ...
/// wrapping into the next octets). Most show every signal; every fifth shows only its logon path
/// and every fifth sits behind a reverse proxy, so a scanner exercises its fallbacks too.
pub fn bench_fleet(base: Ipv4Addr, port: u16, count: usize) -> Vec<HostSpec> {
    (0..count)
        .map(|i| {
            let (build, proxylogon, proxyshell) = BENCH_BUILDS[i % BENCH_BUILDS.len()];
            let signals = match i % 5 {
                3 => Signals::LogonPathOnly,
                4 => Signals::ReverseProxy,
                _ => Signals::All,
            };
            let host = with_flags(on_prem(build, signals, &format!("EXB{i:05}")), proxylogon, proxyshell);
            HostSpec::exchange(format!("bench-{i:05}.{DOMAIN}"), nth_address(base, i), port, host)
        })
        .collect()
}

/// `base + n`, carrying into the higher octets. Leaving 127.0.0.0/8 is caught by
/// [`crate::Fleet::start`], which refuses to bind anything else.
pub fn nth_address(base: Ipv4Addr, n: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base).wrapping_add(n as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_carry_into_the_next_octet() {
        assert_eq!(nth_address(Ipv4Addr::new(127, 77, 0, 254), 3), Ipv4Addr::new(127, 77, 1, 1));
    }

    #[test]
    fn signals_switch_off_what_they_say() {
        let proxied = on_prem("15.2.1118.40", Signals::ReverseProxy, "EX");
        assert_eq!((proxied.x_owa_version, proxied.fe_server), (None, None));
        assert_eq!(proxied.logon_path_version.as_deref(), Some("15.2.1118"));
        assert_eq!(proxied.server_header, "nginx");
        let legacy = on_prem("14.3.513.0", Signals::All, "EX");
        assert_eq!(legacy.logon_path_version.as_deref(), Some("14.3.513.0"));
        assert_eq!(legacy.manifest_version, None);
    }
}
