//! An Exchange front end (IIS + the Client Access proxy) as the network sees it: redirects into
//! OWA, the forms logon page, 401s on the protocol virtual directories, the export tool manifest,
//! and realistic answers to the opt-in ProxyLogon / ProxyShell / ProxyNotShell probes.
//! Nothing a request does changes the host's state.

use bytes::Bytes;

use crate::http::{ConnInfo, Request, Response, Site};
use crate::spec::ExchangeHost;
use crate::{ids, pages};

const EXPORTTOOL_FILE: &str = "/exporttool/microsoft.exchange.ediscovery.exporttool.application";
/// The forest name errorFE redirects leak; any internal-looking name does.
const FOREST: &str = "corp.contoso.local";

pub(crate) struct ExchangeSite {
    host: ExchangeHost,
    /// Rendered once per host: a benchmark fetches it thousands of times.
    logon: Bytes,
    manifest: Option<Bytes>,
    /// Lowercased: IIS paths are case-insensitive.
    webshells: Vec<String>,
    be_server: Option<String>,
    /// Exchange 2010 and older: "Outlook Web App" title, 401 instead of 440 on /owa/service.
    legacy: bool,
    /// OWA's virtual directory, lowercased, without a trailing slash ("/owa" by default).
    vdir: String,
}

impl ExchangeSite {
    pub(crate) fn new(name: &str, host: &ExchangeHost) -> ExchangeSite {
        let legacy = is_legacy(&host.build) || host.logon_path_version.as_deref().is_some_and(is_legacy);
        let vdir = host.owa_vdir.as_deref().map_or("/owa".to_owned(), |v| format!("/{}", v.trim_matches('/')));
        let vdir = vdir.to_ascii_lowercase();
        let mut logon = pages::owa_logon(host.logon_path_version.as_deref(), legacy, name);
        if vdir != "/owa" {
            // A renamed directory serves its pages' resources under its own name.
            logon = logon.replace("/owa/", &format!("{vdir}/"));
        }
        ExchangeSite {
            logon: logon.into(),
            manifest: host.manifest_version.as_deref().map(|v| pages::exporttool_manifest(v).into()),
            webshells: host.webshells.iter().map(|p| p.to_ascii_lowercase()).collect(),
            // Exchange Online pairs a CAFE front end (..CA..) with a mailbox back end (..MB..).
            be_server: host.online.then(|| host.fe_server.as_deref().map(|fe| fe.replacen("CA", "MB", 1))).flatten(),
            legacy,
            vdir,
            host: host.clone(),
        }
    }

    /// The path as the default layout names it (`/webmail/auth/logon.aspx` → `/owa/auth/logon.aspx`),
    /// or `None` when this host does not publish it (404).
    fn internal_path(&self, path: &str) -> Option<String> {
        let under = |dir: &str| path.strip_prefix(dir).filter(|rest| rest.is_empty() || rest.starts_with('/'));
        if self.host.unpublished.iter().any(|dir| under(&dir.to_ascii_lowercase()).is_some()) {
            return None;
        }
        let owa_path = if self.vdir == "/owa" {
            path.to_owned()
        } else if under("/owa").is_some() {
            return None;
        } else if let Some(rest) = under(&self.vdir) {
            format!("/owa{rest}")
        } else {
            path.to_owned()
        };
        let disabled =
            self.host.owa_disabled && (owa_path == "/owa" || owa_path.starts_with("/owa/") || under("/ecp").is_some());
        (!disabled).then_some(owa_path)
    }

    /// Headers every answer of this server carries.
    fn base(&self, status: u16) -> Response {
        let mut response = Response::new(status)
            .header_opt("Server", Some(&self.host.server_header))
            .header("request-id", ids::uuid_v4())
            .header_opt("X-FEServer", self.host.fe_server.as_deref())
            .header_opt("X-BEServer", self.be_server.as_deref());
        if self.host.online {
            response = response.header("X-Proxy-RoutingCorrectness", "1");
        }
        response.header("X-Powered-By", "ASP.NET")
    }

    fn with_version(&self, response: Response) -> Response {
        response.header_opt("X-OWA-Version", self.host.x_owa_version.as_deref())
    }

    fn redirect(&self, location: String) -> Response {
        let body = format!(
            "<html><head><title>Object moved</title></head><body>\r\n<h2>Object moved to <a href=\"{}\">here</a>.</h2>\r\n</body></html>\r\n",
            location.replace('&', "&amp;")
        );
        self.base(302)
            .header("Cache-Control", "no-cache")
            .header("Location", location)
            .body("text/html; charset=utf-8", body)
    }

    /// OWA's redirect to forms logon, carrying where to go afterwards in `url=`.
    fn to_logon(&self, request: &Request, conn: &ConnInfo, after: &str, reason: u8) -> Response {
        let authority = conn.authority(request);
        let back = aspnet_url_encode(&format!("{}://{}{}", conn.scheme(), authority, after));
        self.redirect(format!(
            "{}://{}{}/auth/logon.aspx?url={}&reason={}",
            conn.scheme(),
            authority,
            self.vdir,
            back,
            reason
        ))
    }

    fn logon_page(&self) -> Response {
        // The Lookback capture had no X-OWA-Version on this 200.
        self.base(200)
            .header("Cache-Control", "no-cache, no-store")
            .header("Pragma", "no-cache")
            .header("Expires", "-1")
            .header("X-AspNet-Version", "4.0.30319")
            .header("X-Frame-Options", "SAMEORIGIN")
            .body("text/html; charset=utf-8", self.logon.clone())
    }

    /// The anonymous challenge of a protocol virtual directory.
    fn unauthorized(&self) -> Response {
        self.base(401).header("WWW-Authenticate", "Negotiate").header("WWW-Authenticate", "NTLM")
    }

    fn not_found(&self) -> Response {
        self.base(404).body("text/html", pages::IIS_404)
    }

    fn manifest(&self, path: &str) -> Response {
        let Some(manifest) = &self.manifest else { return self.not_found() };
        let folder = path.strip_prefix("/ecp/").and_then(|rest| rest.strip_suffix(EXPORTTOOL_FILE));
        let version = self.host.manifest_version.as_deref().unwrap_or_default();
        // Besides Current, the ECP keeps a folder named after its build; scanners guess it.
        if !folder.is_some_and(|f| f == "current" || f.eq_ignore_ascii_case(version)) {
            return self.not_found();
        }
        self.base(200)
            .header("Accept-Ranges", "bytes")
            .header("ETag", format!("\"{:016x}\"", ids::next_u64()))
            .body("application/x-ms-application", manifest.clone())
    }

    /// CVE-2021-26855: a vulnerable front end trusts the X-BEResource cookie as the back end to
    /// proxy to, fails to reach it, and says where it tried in X-CalculatedBETarget.
    fn proxylogon_probe(&self, request: &Request) -> Response {
        let backend = request.header("Cookie").and_then(|cookie| {
            cookie.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("X-BEResource").then(|| value.split(['/', '~']).next().unwrap_or(""))
            })
        });
        match backend {
            Some(target) if self.host.proxylogon_vulnerable && !target.is_empty() => {
                self.base(500).header("X-CalculatedBETarget", target.to_owned())
            }
            _ => self.not_found(),
        }
    }

    /// /autodiscover/autodiscover.json: where ProxyShell's explicit-logon SSRF and the
    /// ProxyNotShell probe land.
    fn autodiscover_json(&self, request: &Request, conn: &ConnInfo) -> Response {
        let query = percent_decode(request.query().unwrap_or("")).to_ascii_lowercase();
        // "?[user]@domain/<backend path>": a vulnerable front end takes this for an explicit logon,
        // strips it and proxies the rest to the back end as LocalSystem.
        let backend = match (query.find('@'), query.find('/')) {
            (Some(at), Some(slash)) if at < slash => Some(&query[slash..]),
            _ => None,
        };
        let version = self.host.x_owa_version.as_deref().unwrap_or(&self.host.build);
        let fe = self.host.fe_server.as_deref().unwrap_or("EXCH01");
        match backend {
            Some(path) if self.host.proxyshell_vulnerable && path.starts_with("/mapi/nspi") => self
                .base(200)
                .header("X-CalculatedBETarget", format!("{}.{FOREST}", fe.to_ascii_lowercase()))
                .header("X-ServerApplication", format!("Exchange/{}", long_build(version)))
                .body("text/html", pages::mapi_endpoint(version, fe)),
            Some(path)
                if path.starts_with("/owa") && (self.host.proxyshell_vulnerable || query.contains("powershell")) =>
            {
                // The back end cannot find a user for the anonymous session and OWA bounces to errorFE.
                self.redirect(format!(
                    "{}://{}/owa/auth/errorFE.aspx?httpCode=500&owaError=Microsoft.Exchange.Clients.Owa2.Server.Core.OwaADUserNotFoundException&owaVer={}&be={}&fe={}&forest={FOREST}",
                    conn.scheme(),
                    conn.authority(request),
                    version,
                    fe,
                    fe
                ))
            }
            _ => self.unauthorized(),
        }
    }
}

impl Site for ExchangeSite {
    fn respond(&self, request: &Request, conn: &ConnInfo) -> Response {
        let method = request.method.to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "HEAD" | "POST") {
            return self
                .base(405)
                .header("Allow", "GET, HEAD, POST")
                .body("text/html", "<h1>405 Method Not Allowed</h1>");
        }
        // IIS URL Rewrite runs before any handler; Microsoft's ProxyNotShell rule matches the decoded
        // URI containing both words.
        let decoded = percent_decode(&request.target).to_ascii_lowercase();
        if self.host.proxynotshell_mitigated && decoded.contains("autodiscover") && decoded.contains("powershell") {
            return self.base(403).body("text/html", pages::IIS_403);
        }
        let path = request.path().to_ascii_lowercase();
        if self.webshells.contains(&path) {
            return self.base(200).header("Cache-Control", "private").body("text/html; charset=utf-8", pages::WEBSHELL);
        }
        let Some(path) = self.internal_path(&path) else { return self.not_found() };
        let owa_after = format!("{}/", self.vdir);
        match path.as_str() {
            "/" if self.host.owa_disabled => self.base(200).body("text/html", pages::IIS_START),
            "/" => {
                // The root redirect Exchange setup configures always names https, whatever the request came in on.
                let location = format!("https://{}{}/", conn.authority(request), self.vdir);
                Response::new(302)
                    .header("Cache-Control", "no-cache")
                    .header("Pragma", "no-cache")
                    .header("Location", location)
                    .header_opt("Server", Some(&self.host.server_header))
                    .header_opt("X-FEServer", self.host.fe_server.as_deref())
                    .header("X-RequestId", ids::uuid_v4())
                    .header("X-Powered-By", "ASP.NET")
            }
            "/owa" | "/owa/" => self.with_version(self.to_logon(request, conn, &owa_after, 0)),
            "/owa/auth/logon.aspx" => self.logon_page(),
            "/owa/auth.owa" => self.to_logon(request, conn, &owa_after, 2),
            "/owa/service" if self.legacy => self.with_version(self.unauthorized()),
            "/owa/service" => self.with_version(self.base(440).header("X-OWA-Error", "LoginTimeout")),
            "/owa/auth/x.js" => self.proxylogon_probe(request),
            "/ecp" | "/ecp/" => self.to_logon(request, conn, "/ecp/", 0),
            "/autodiscover/autodiscover.json" => self.autodiscover_json(request, conn),
            p if p.starts_with("/ecp/") && p.ends_with(EXPORTTOOL_FILE) => self.manifest(p),
            p if self.host.activesync_basic && p.starts_with("/microsoft-server-activesync") => self.with_version(
                self.base(401).header("WWW-Authenticate", format!("Basic realm=\"{}\"", conn.authority(request))),
            ),
            p if needs_authentication(p) => self.with_version(self.unauthorized()),
            _ => self.not_found(),
        }
    }
}

/// The virtual directories that challenge anonymous clients, with and without the trailing slash.
fn needs_authentication(path: &str) -> bool {
    const EXACT: [&str; 3] = ["/ews/exchange.asmx", "/autodiscover/autodiscover.xml", "/rpc/rpcproxy.dll"];
    const DIRS: [&str; 5] = ["/ews", "/mapi", "/oab", "/microsoft-server-activesync", "/rpc"];
    EXACT.contains(&path)
        || DIRS.iter().any(|dir| path.strip_prefix(dir).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

fn is_legacy(version: &str) -> bool {
    version.split('.').next().and_then(|major| major.parse::<u32>().ok()).is_some_and(|major| major < 15)
}

/// "15.2.858.2" as Exchange writes it in X-ServerApplication: "15.02.0858.002".
fn long_build(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    match parts.as_slice() {
        [major, minor, build, revision] => format!("{}.{:0>2}.{:0>4}.{:0>3}", major, minor, build, revision),
        _ => version.to_owned(),
    }
}

/// ASP.NET's HttpUtility.UrlEncode: lowercase hex, everything but unreserved characters escaped.
fn aspnet_url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'!' | b'*' | b'(' | b')') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02x}"));
        }
    }
    out
}

/// %XX decoding for matching only; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_like_aspnet() {
        assert_eq!(aspnet_url_encode("https://10.0.0.1:8443/owa/"), "https%3a%2f%2f10.0.0.1%3a8443%2fowa%2f");
        assert_eq!(percent_decode("a%3Fb%2fc%zz%4"), "a?b/c%zz%4");
        assert_eq!(long_build("15.2.858.2"), "15.02.0858.002");
    }

    #[test]
    fn authentication_paths_include_directories_only_on_boundaries() {
        assert!(
            needs_authentication("/mapi/") && needs_authentication("/mapi") && needs_authentication("/mapi/emsmdb/")
        );
        assert!(needs_authentication("/ews/exchange.asmx") && needs_authentication("/microsoft-server-activesync"));
        assert!(!needs_authentication("/mapifoo") && !needs_authentication("/owa/"));
    }

    #[test]
    fn legacy_is_anything_before_15() {
        assert!(is_legacy("14.3.513.0") && is_legacy("8.3.83.6"));
        assert!(!is_legacy("15.0.1497.2") && !is_legacy("") && !is_legacy("x"));
    }
}
