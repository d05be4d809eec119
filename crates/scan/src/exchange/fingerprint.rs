//! From the answers to the probe plan to "is it Exchange, which build, how sure".

use seawall_kb::BuildQuery;
use seawall_model::Evidence;

use super::parse::{self, LogonMarkers};
use crate::protocols::http::HttpResponse;

/// One probe's answer, or none when the request failed (the plan's runner returns why).
#[derive(Debug)]
pub struct Answer {
    pub id: String,
    pub method: String,
    pub path: String,
    pub response: Option<HttpResponse>,
}

impl Answer {
    fn ok(&self) -> Option<&HttpResponse> {
        self.response.as_ref()
    }

    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A version read by one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSignal {
    /// `x-owa-version`, `exporttool-manifest`, `owa-logon-path`.
    pub method: &'static str,
    /// Where it was read, e.g. `GET /owa/ header X-OWA-Version`.
    pub source: String,
    pub raw: String,
    pub query: BuildQuery,
    /// Only major.minor.build (the logon page path of 2013 and later).
    pub cu_only: bool,
}

/// What the answers say about the service.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    pub exchange: bool,
    pub online: bool,
    /// Looks like an OWA logon page, but nothing else of Exchange answers.
    pub lookalike: bool,
    pub versions: Vec<VersionSignal>,
    /// The version the assessment uses: the most precise.
    pub chosen: Option<VersionSignal>,
    /// Methods that disagree on the CU (a load balancer in front of mixed builds).
    pub conflict: Option<String>,
    /// Fingerprint methods that agreed Exchange is there.
    pub methods: Vec<String>,
    pub fe_server: Option<String>,
    pub server_header: Option<String>,
    pub title: Option<String>,
    pub auth_schemes: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// The virtual directory OWA answered under (`/owa/`, or one a same-host redirect named).
    pub owa_vdir: Option<String>,
    /// Where `fe_server` was read (also in `evidence`).
    pub fe_server_evidence: Option<Evidence>,
}

/// Whether the first-stage answers are worth the rest of the plan: an Exchange header, a
/// redirect into OWA, an OWA page, or an integrated-auth challenge from a protocol directory.
pub fn looks_promising(answers: &[Answer]) -> bool {
    answers.iter().any(|answer| {
        let Some(r) = answer.ok() else { return false };
        r.header("x-owa-version").is_some()
            || r.header("x-feserver").is_some()
            || r.header("location").is_some_and(|l| l.to_ascii_lowercase().contains("/owa"))
            || parse::logon_markers(&r.body).is_owa_logon()
            || parse::logon_page_version_under(&r.body, &vdir_of(&answer.path)).is_some()
            || (PROTOCOL_ENDPOINTS.contains(&answer.id.as_str()) && integrated_auth(r))
    })
}

/// The protocol directories besides OWA: published even where OWA is turned off.
const PROTOCOL_ENDPOINTS: [&str; 6] = ["ews", "mapi", "activesync", "autodiscover", "oab", "rpc"];
const AUTH_ENDPOINTS: [&str; 7] = ["ews", "mapi", "activesync", "autodiscover", "oab", "rpc", "owa-service"];

/// A 401 that offers NTLM or Negotiate (Windows integrated authentication).
fn integrated_auth(response: &HttpResponse) -> bool {
    response.status == 401
        && response.header_all("www-authenticate").iter().any(|v| {
            v.split_whitespace()
                .next()
                .is_some_and(|s| s.eq_ignore_ascii_case("NTLM") || s.eq_ignore_ascii_case("Negotiate"))
        })
}

/// The virtual directory a request path is under: `/webmail/auth/logon.aspx` → `/webmail/`,
/// `/exchange/owa/auth/logon.aspx` → `/exchange/owa/` (down to an `owa` segment when there is one).
pub fn vdir_of(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let depth = segments.iter().take(4).position(|s| s.eq_ignore_ascii_case("owa")).map_or(1, |at| at + 1);
    format!("/{}/", segments[..depth.min(segments.len())].join("/"))
}

pub fn fingerprint(answers: &[Answer]) -> Fingerprint {
    let mut fp = Fingerprint::default();
    let mut markers = LogonMarkers::default();
    let mut auth_401 = Vec::new();
    for answer in answers {
        let Some(response) = answer.ok() else { continue };
        if fp.server_header.is_none() {
            fp.server_header = response.header("server");
        }
        if let Some(value) = response.header("x-owa-version") {
            match parse::owa_version_header(&value) {
                Some(query) => fp.versions.push(VersionSignal {
                    method: "x-owa-version",
                    source: format!("{} header X-OWA-Version", answer.label()),
                    raw: value,
                    query,
                    cu_only: false,
                }),
                None => fp
                    .evidence
                    .push(Evidence::text(format!("{} header X-OWA-Version (unparsed)", answer.label()), &value)),
            }
        }
        for name in ["x-feserver", "x-beserver"] {
            if let Some(server) = response.header(name) {
                if parse::looks_like_exo_server_name(&server) {
                    fp.online = true;
                }
                if name == "x-feserver" && fp.fe_server.is_none() {
                    let evidence = Evidence::text(format!("{} header X-FEServer", answer.label()), &server);
                    fp.evidence.push(evidence.clone());
                    fp.fe_server_evidence = Some(evidence);
                    fp.fe_server = Some(server);
                }
            }
        }
        let owa_signal = matches!(answer.id.as_str(), "owa" | "logon" | "owa-service")
            && (response.header("x-owa-version").is_some() || (answer.id == "logon" && response.status == 200));
        if owa_signal && fp.owa_vdir.is_none() {
            fp.owa_vdir = Some(vdir_of(&answer.path));
        }
        if answer.id == "logon" && response.status == 200 {
            let found = parse::logon_markers(&response.body);
            // Keep the best page when OWA answered under more than one directory.
            if !markers.is_owa_logon() {
                markers = found;
                fp.title = markers.title.clone();
            }
            if let Some(path) = parse::logon_page_version_under(&response.body, &vdir_of(&answer.path)) {
                fp.versions.push(VersionSignal {
                    method: "owa-logon-path",
                    source: format!("{} body resource path", answer.label()),
                    raw: path.query.to_string(),
                    query: path.query,
                    cu_only: !path.four_part,
                });
            }
        }
        if answer.id == "exporttool"
            && response.status == 200
            && let Some(query) = parse::exporttool_manifest_version(&response.body)
        {
            fp.versions.push(VersionSignal {
                method: "exporttool-manifest",
                source: format!("{} assemblyIdentity version", answer.label()),
                raw: query.to_string(),
                query,
                cu_only: false,
            });
        }
        if AUTH_ENDPOINTS.contains(&answer.id.as_str()) && response.status == 401 {
            let schemes: Vec<String> = response
                .header_all("www-authenticate")
                .iter()
                .filter_map(|v| v.split_whitespace().next().map(str::to_owned))
                .collect();
            if schemes.iter().any(|s| s.eq_ignore_ascii_case("NTLM") || s.eq_ignore_ascii_case("Negotiate")) {
                if !auth_401.contains(&answer.id) {
                    auth_401.push(answer.id.clone());
                }
                for scheme in schemes {
                    if !fp.auth_schemes.contains(&scheme) {
                        fp.auth_schemes.push(scheme);
                    }
                }
            }
        }
    }
    if fp.versions.iter().any(|v| v.query.major == 15 && v.query.minor >= 20) {
        fp.online = true;
    }
    let catch_all = answers.iter().any(|a| a.id == "baseline" && a.ok().is_some_and(|r| r.status == 200));
    // A site that challenges every path (Windows authentication on the whole site) says
    // nothing about Exchange with its 401s.
    let challenges_everything = answers.iter().any(|a| a.id == "baseline" && a.ok().is_some_and(integrated_auth));
    if challenges_everything {
        auth_401.clear();
    }
    let exact = fp.versions.iter().any(|v| !v.cu_only);
    let logon = markers.is_owa_logon();
    let path = fp.versions.iter().any(|v| v.method == "owa-logon-path");
    // OWA turned off or blocked: two protocol directories challenge (one at least with
    // NTLM/Negotiate; ActiveSync and Autodiscover often offer Basic only), and the answers carry
    // what Exchange's front end adds (X-FEServer, request-id).
    let integrated = auth_401.iter().any(|id| PROTOCOL_ENDPOINTS.contains(&id.as_str()));
    let mut challenged: Vec<&str> = answers
        .iter()
        .filter(|a| PROTOCOL_ENDPOINTS.contains(&a.id.as_str()))
        .filter(|a| a.ok().is_some_and(|r| r.status == 401 && r.header("www-authenticate").is_some()))
        .map(|a| a.id.as_str())
        .collect();
    challenged.dedup();
    let protocols_401 = if integrated && !challenges_everything { challenged.len() } else { 0 };
    let exchange_headers = answers
        .iter()
        .filter(|a| PROTOCOL_ENDPOINTS.contains(&a.id.as_str()))
        .filter_map(Answer::ok)
        .any(|r| r.header("x-feserver").is_some() || r.header("request-id").is_some());
    fp.exchange =
        fp.online || exact || ((logon || path) && !auth_401.is_empty()) || (protocols_401 >= 2 && exchange_headers);
    fp.lookalike = !fp.exchange && (logon || path);
    if catch_all && !exact && auth_401.is_empty() {
        fp.exchange = false;
        fp.lookalike = logon || path;
    }
    if !fp.exchange {
        if fp.lookalike {
            fp.evidence.push(Evidence::text(
                "GET /owa/auth/logon.aspx",
                &format!(
                    "OWA logon markers, but no X-OWA-Version, no manifest and no NTLM/Negotiate 401 from EWS, MAPI, ActiveSync or Autodiscover{}",
                    if catch_all { "; a random path also answers 200" } else { "" }
                ),
            ));
        }
        return fp;
    }
    let mut methods: Vec<String> = fp.versions.iter().map(|v| v.method.to_owned()).collect();
    if logon {
        methods.push("owa-logon-page".into());
    }
    methods.extend(auth_401.iter().map(|id| format!("{id}-401")));
    if fp.online {
        methods.push("exchange-online".into());
    }
    let mut unique = Vec::new();
    for m in methods {
        if !unique.contains(&m) {
            unique.push(m);
        }
    }
    fp.methods = unique;
    choose_version(&mut fp);
    // One piece of evidence per method and value, naming how many endpoints agreed.
    let mut seen: Vec<(&str, &str, usize, &str)> = Vec::new();
    for signal in &fp.versions {
        match seen.iter_mut().find(|(m, raw, _, _)| *m == signal.method && *raw == signal.raw) {
            Some(entry) => entry.2 += 1,
            None => seen.push((signal.method, &signal.raw, 1, &signal.source)),
        }
    }
    let mut evidence: Vec<Evidence> = seen
        .iter()
        .map(|(_, raw, count, source)| {
            let source =
                if *count > 1 { format!("{source} (same on {count} endpoints)") } else { (*source).to_owned() };
            Evidence::text(source, raw)
        })
        .collect();
    fp.evidence.append(&mut evidence);
    fp
}

/// The most precise signal wins. Exact signals within one CU: the highest
/// revision (updates replace files unevenly). Across CUs: the lowest, so that
/// no open CVE is hidden, and the disagreement is reported.
fn choose_version(fp: &mut Fingerprint) {
    let exact: Vec<&VersionSignal> = fp.versions.iter().filter(|v| !v.cu_only).collect();
    let cu_only: Vec<&VersionSignal> = fp.versions.iter().filter(|v| v.cu_only).collect();
    let chosen = if exact.is_empty() {
        cu_only.iter().min_by_key(|v| v.query.lowest()).map(|v| (*v).clone())
    } else {
        let first_cu = exact[0].query.cu_key();
        if exact.iter().all(|v| v.query.cu_key() == first_cu) {
            exact.iter().max_by_key(|v| v.query.lowest()).map(|v| (*v).clone())
        } else {
            exact.iter().min_by_key(|v| v.query.lowest()).map(|v| (*v).clone())
        }
    };
    let cus: Vec<(u32, u32, u32)> = {
        let mut keys: Vec<_> = fp.versions.iter().map(|v| v.query.cu_key()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    };
    if cus.len() > 1 {
        let described: Vec<String> = fp.versions.iter().map(|v| format!("{} says {}", v.method, v.raw)).collect();
        fp.conflict = Some(described.join("; "));
    }
    fp.chosen = chosen;
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Option<HttpResponse> {
        Some(HttpResponse {
            status,
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), Bytes::from(v.to_string()))).collect(),
            body: Bytes::from(body.to_owned()),
            body_truncated: false,
            body_timed_out: false,
        })
    }

    fn answer(id: &str, path: &str, response: Option<HttpResponse>) -> Answer {
        Answer { id: id.into(), method: "GET".into(), path: path.into(), response }
    }

    const LOGON: &str = "<!-- OwaPage = ASP.auth_logon_aspx --><!-- {57A118C6-2DA9-419d-BE9A-F92B0F9A418B} --><title>Outlook</title><link href=\"/owa/auth/15.2.858/themes/resources/favicon.ico\">";

    #[test]
    fn header_beats_path_and_revision_drift_is_no_conflict() {
        let answers = vec![
            answer("owa", "/owa/", response(302, &[("X-OWA-Version", "15.2.858.2")], "")),
            answer("logon", "/owa/auth/logon.aspx", response(200, &[], LOGON)),
        ];
        let fp = fingerprint(&answers);
        assert!(fp.exchange && !fp.online && !fp.lookalike);
        assert_eq!(fp.chosen.as_ref().map(|v| v.raw.as_str()), Some("15.2.858.2"));
        assert_eq!(fp.conflict, None);
        assert_eq!(fp.methods, vec!["x-owa-version", "owa-logon-path", "owa-logon-page"]);
    }

    #[test]
    fn logon_page_alone_with_ntlm_401s_is_exchange_at_cu_precision() {
        let answers = vec![
            answer("logon", "/owa/auth/logon.aspx", response(200, &[("Server", "nginx")], LOGON)),
            answer(
                "ews",
                "/EWS/Exchange.asmx",
                response(401, &[("WWW-Authenticate", "Negotiate"), ("www-authenticate", "NTLM")], ""),
            ),
        ];
        let fp = fingerprint(&answers);
        assert!(fp.exchange);
        let chosen = fp.chosen.expect("version");
        assert!(chosen.cu_only);
        assert_eq!(chosen.query.to_string(), "15.2.858");
        assert!(fp.methods.contains(&"ews-401".to_owned()));
    }

    #[test]
    fn a_logon_clone_on_a_catch_all_server_is_a_lookalike() {
        let answers = vec![
            answer("logon", "/owa/auth/logon.aspx", response(200, &[("Server", "nginx")], LOGON)),
            answer("ews", "/EWS/Exchange.asmx", response(200, &[], LOGON)),
            answer("baseline", "/seawall-x.aspx", response(200, &[], LOGON)),
        ];
        let fp = fingerprint(&answers);
        assert!(!fp.exchange);
        assert!(fp.lookalike);
    }

    #[test]
    fn exchange_online_is_recognised_by_version_or_server_name() {
        let by_version =
            fingerprint(&[answer("owa", "/owa/", response(302, &[("x-owa-version", "15.20.7452.28")], ""))]);
        assert!(by_version.exchange && by_version.online);
        let by_name = fingerprint(&[answer(
            "owa",
            "/owa/",
            response(302, &[("X-OWA-Version", "15.1.1240.20"), ("X-FEServer", "CY4PR02CA0010")], ""),
        )]);
        assert!(by_name.online);
    }

    #[test]
    fn different_cus_are_reported_and_the_lowest_is_used() {
        let answers = vec![
            answer("owa", "/owa/", response(302, &[("X-OWA-Version", "15.2.1118.7")], "")),
            answer(
                "exporttool",
                "/ecp/Current/exporttool/x.application",
                response(
                    200,
                    &[],
                    "<assemblyIdentity name=\"microsoft.exchange.ediscovery.exporttool.application\" version=\"15.2.986.5\" />",
                ),
            ),
        ];
        let fp = fingerprint(&answers);
        assert_eq!(fp.chosen.map(|v| v.raw), Some("15.2.986.5".to_owned()));
        assert!(fp.conflict.is_some_and(|c| c.contains("15.2.1118.7") && c.contains("15.2.986.5")));
    }

    #[test]
    fn an_iis_default_page_is_not_exchange() {
        let fp = fingerprint(&[answer(
            "root",
            "/",
            response(200, &[("Server", "Microsoft-IIS/10.0")], "<title>IIS Windows Server</title>"),
        )]);
        assert!(!fp.exchange && !fp.lookalike);
    }

    #[test]
    fn virtual_directories_of_paths() {
        assert_eq!(vdir_of("/owa/auth/logon.aspx"), "/owa/");
        assert_eq!(vdir_of("/webmail/auth/logon.aspx"), "/webmail/");
        assert_eq!(vdir_of("/exchange/owa/service"), "/exchange/owa/");
        assert_eq!(vdir_of("/mail/"), "/mail/");
    }
}
