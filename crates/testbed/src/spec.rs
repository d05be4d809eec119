//! What a host is: the descriptions a test or the demo hands to [`crate::Fleet::start`].

use std::net::{IpAddr, SocketAddr};

/// One emulated host: where it listens and what it pretends to be.
#[derive(Clone, Debug)]
pub struct HostSpec {
    /// DNS name, put in the certificate's SAN beside `ip`.
    pub name: String,
    /// Must be loopback (127.0.0.0/8 or ::1): the testbed never listens anywhere else.
    pub ip: IpAddr,
    /// 0 asks the OS for a free port ([`RunningHost::addr`] tells which).
    pub port: u16,
    pub tls: bool,
    pub kind: HostKind,
}

#[derive(Clone, Debug)]
pub enum HostKind {
    Exchange(ExchangeHost),
    Decoy(Decoy),
    Hostile(Hostile),
}

/// An Exchange front end, with each version signal switchable on its own so tests can check
/// that a scanner reads every one of them and copes when some are missing.
#[derive(Clone, Debug, Default)]
pub struct ExchangeHost {
    /// The true build, the answer a scanner should give, e.g. "15.2.858.5" (informational for tests).
    pub build: String,
    /// Value of the X-OWA-Version header on /owa/ (302), /owa/service and the 401s of /EWS/Exchange.asmx, /mapi/,
    /// /Microsoft-Server-ActiveSync, /OAB/, /autodiscover/autodiscover.xml; None = header stripped (reverse proxy).
    pub x_owa_version: Option<String>,
    /// The version in the logon page's resource paths: 3-part "15.2.858" gives /owa/auth/15.2.858/themes/...;
    /// a 4-part 2010 value "14.3.123.3" gives /owa/14.3.123.3/themes/...; None = page without it.
    pub logon_path_version: Option<String>,
    /// Version in the ECP exporttool ClickOnce manifest at
    /// /ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application
    /// (assemblyIdentity version="..."); None = 404 there.
    pub manifest_version: Option<String>,
    /// Exchange Online front end (server names like CY4PR02CA0010, X-OWA-Version 15.20.x).
    pub online: bool,
    /// Server header value, e.g. "Microsoft-IIS/10.0"; behind a reverse proxy e.g. "nginx". Empty = no header.
    pub server_header: String,
    /// X-FEServer NetBIOS name, None = absent.
    pub fe_server: Option<String>,
    /// Paths (e.g. "/aspnet_client/system_web/shell.aspx") that answer like a live webshell (200, small HTML form).
    pub webshells: Vec<String>,
    /// OWA published under another virtual directory than `/owa` (e.g. "/webmail"): the root
    /// redirects there, OWA and its logon page's resource paths live under it, `/owa` is 404.
    pub owa_vdir: Option<String>,
    /// OWA (and ECP) turned off: `/owa` and `/ecp` answer 404 and the root the IIS start page,
    /// while the protocol directories still challenge with X-OWA-Version.
    pub owa_disabled: bool,
    /// Protocol directories not published (404), e.g. "/mapi", "/rpc", "/oab", "/autodiscover".
    pub unpublished: Vec<String>,
    /// ActiveSync challenges with Basic only (its default authentication in Exchange 2013+).
    pub activesync_basic: bool,
    /// Behaviour under the opt-in active checks.
    pub proxylogon_vulnerable: bool,
    pub proxyshell_vulnerable: bool,
    pub proxynotshell_mitigated: bool,
}

/// Things that look like web servers, or even like OWA, but are not Exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decoy {
    /// The IIS welcome page at /, 404 elsewhere.
    IisDefault,
    /// "Welcome to nginx!" at /, 404 elsewhere.
    Nginx,
    /// An OWA logon page on every path, without any of Exchange's headers or 401s.
    PhishingClone,
    /// 200 with one generic page for every path.
    CatchAll200,
}

/// Servers that try to hang, exhaust or mislead a scanner. Each connection is cut after
/// [`crate::hostile::MAX_CONNECTION_TIME`] or [`crate::hostile::MAX_CONNECTION_BYTES`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Hostile {
    /// Sends `HTTP/1.1 200 OK\r\n` (and then an endless header) one byte every 2 s.
    Trickle,
    /// A status line, then `X-Pad-N: aaaa...` headers as fast as the client reads.
    EndlessHeaders,
    /// Valid headers without Content-Length, then body bytes as fast as the client reads.
    EndlessBody,
    /// Answers the ClientHello with random bytes that are not TLS, then closes.
    TlsGarbage,
    /// 302 to the cloud metadata address for every path: a scanner must never follow it.
    RedirectToMetadata,
    /// 302 to `https://<host>/owa/` for every path: a host that is not a target.
    RedirectOffTarget(String),
    /// Accepts and closes at once.
    InstantClose,
}

/// A host of a started fleet.
#[derive(Clone, Debug)]
pub struct RunningHost {
    pub spec: HostSpec,
    /// Where it listens (the spec's ip, and the port the OS gave when the spec asked for 0).
    pub addr: SocketAddr,
}

/// One request as a host received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The host that received it.
    pub server: SocketAddr,
    pub method: String,
    /// The raw request-target, exactly as sent (path and query, undecoded).
    pub target: String,
    /// Header names and values in the order sent, names as the client spelled them.
    pub headers: Vec<(String, String)>,
}

impl HostSpec {
    pub fn exchange(name: impl Into<String>, ip: impl Into<IpAddr>, port: u16, host: ExchangeHost) -> HostSpec {
        HostSpec { name: name.into(), ip: ip.into(), port, tls: true, kind: HostKind::Exchange(host) }
    }

    pub fn decoy(name: impl Into<String>, ip: impl Into<IpAddr>, port: u16, decoy: Decoy) -> HostSpec {
        HostSpec { name: name.into(), ip: ip.into(), port, tls: true, kind: HostKind::Decoy(decoy) }
    }

    pub fn hostile(name: impl Into<String>, ip: impl Into<IpAddr>, port: u16, hostile: Hostile) -> HostSpec {
        HostSpec { name: name.into(), ip: ip.into(), port, tls: true, kind: HostKind::Hostile(hostile) }
    }

    /// The same host without TLS.
    pub fn plain(mut self) -> HostSpec {
        self.tls = false;
        self
    }
}

impl HostKind {
    /// A short label for listings: `exchange`, `exchange-online`, `decoy:nginx`, `hostile:trickle`, ...
    pub fn label(&self) -> String {
        match self {
            HostKind::Exchange(host) if host.online => "exchange-online".to_owned(),
            HostKind::Exchange(_) => "exchange".to_owned(),
            HostKind::Decoy(decoy) => format!("decoy:{}", decoy.label()),
            HostKind::Hostile(hostile) => format!("hostile:{}", hostile.label()),
        }
    }

    /// The build a scanner should report, for Exchange hosts.
    pub fn build(&self) -> Option<&str> {
        match self {
            HostKind::Exchange(host) => Some(&host.build),
            HostKind::Decoy(_) | HostKind::Hostile(_) => None,
        }
    }
}

impl Decoy {
    pub const ALL: [Decoy; 4] = [Decoy::IisDefault, Decoy::Nginx, Decoy::PhishingClone, Decoy::CatchAll200];

    pub fn label(self) -> &'static str {
        match self {
            Decoy::IisDefault => "iis-default",
            Decoy::Nginx => "nginx",
            Decoy::PhishingClone => "phishing-clone",
            Decoy::CatchAll200 => "catch-all-200",
        }
    }
}

impl Hostile {
    pub fn label(&self) -> &'static str {
        match self {
            Hostile::Trickle => "trickle",
            Hostile::EndlessHeaders => "endless-headers",
            Hostile::EndlessBody => "endless-body",
            Hostile::TlsGarbage => "tls-garbage",
            Hostile::RedirectToMetadata => "redirect-to-metadata",
            Hostile::RedirectOffTarget(_) => "redirect-off-target",
            Hostile::InstantClose => "instant-close",
        }
    }
}
