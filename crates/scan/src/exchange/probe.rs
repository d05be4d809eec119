//! Running the probe plan against one endpoint: the first stage (every published Exchange
//! protocol), the redirect hints, then the rest of the plan when something looked like
//! Exchange. Never more requests than the plan's budget.

use super::fingerprint::{Answer, looks_promising};
use super::plan::{OWA_VDIR, ProbePlan, ProbeRequest};
use crate::protocols::http::{HttpResponse, HttpSession, HttpTarget, ProbeError};

/// What running the plan gave.
#[derive(Debug, Default)]
pub struct PlanRun {
    pub answers: Vec<Answer>,
    /// The transport error that ended the run early (connect, TLS, a response never read).
    pub error: Option<ProbeError>,
    pub requests_sent: usize,
    /// The plan wanted more requests than the budget allows.
    pub budget_exhausted: bool,
    /// Directories named by same-host redirects, probed as OWA's.
    pub hinted_vdirs: Vec<String>,
    /// Redirects that were not followed: (the request's path, the Location as sent).
    pub redirects: Vec<(String, String)>,
}

impl PlanRun {
    async fn send(
        &mut self,
        session: &mut HttpSession,
        plan: &ProbePlan,
        request: &ProbeRequest,
        path: String,
    ) -> bool {
        if self.requests_sent >= plan.budget.max_requests {
            self.budget_exhausted = true;
            return false;
        }
        self.requests_sent += 1;
        let answer = |response: Option<HttpResponse>| Answer {
            id: request.id.clone(),
            method: request.method.clone(),
            path: path.clone(),
            response,
        };
        match session.request(&ProbePlan::method(request), &path, &[]).await {
            Ok(response) => {
                self.answers.push(answer(Some(response)));
                true
            }
            Err(error) => {
                self.answers.push(answer(None));
                self.error = Some(error);
                false
            }
        }
    }
}

/// Send the plan over one session (see the module docs). Stops at the first transport error.
pub async fn run_plan(session: &mut HttpSession, plan: &ProbePlan, random: &str) -> PlanRun {
    let mut run = PlanRun::default();
    let path_of = |request: &ProbeRequest| request.path.replace("{random}", random);
    for request in plan.request.iter().filter(|r| r.gate) {
        if !run.send(session, plan, request, path_of(request)).await {
            return run;
        }
    }
    let (hints, others) = redirect_hints(&run.answers, session.target(), plan.budget.redirect_hints);
    run.redirects = others;
    for vdir in hints {
        for request in plan.request.iter().filter(|r| r.owa) {
            let path = format!("{vdir}{}", &path_of(request)[OWA_VDIR.len()..]);
            if !run.send(session, plan, request, path).await {
                run.hinted_vdirs.push(vdir);
                return run;
            }
        }
        run.hinted_vdirs.push(vdir);
    }
    if !looks_promising(&run.answers) {
        return run;
    }
    for request in plan.request.iter().filter(|r| !r.gate) {
        if !run.send(session, plan, request, path_of(request)).await {
            return run;
        }
    }
    run
}

/// Directories that Exchange itself publishes: a redirect to one of them is no hint.
const EXCHANGE_VDIRS: [&str; 9] =
    ["owa", "ecp", "ews", "mapi", "microsoft-server-activesync", "autodiscover", "oab", "rpc", "powershell"];

/// From the redirects among `answers`: the directories (at most `max`) that a Location on the
/// same scheme, host and port names, and every other redirect, which is recorded only.
pub fn redirect_hints(answers: &[Answer], target: &HttpTarget, max: usize) -> (Vec<String>, Vec<(String, String)>) {
    let mut hints: Vec<String> = Vec::new();
    let mut others = Vec::new();
    for answer in answers {
        let Some(response) = answer.response.as_ref() else { continue };
        let location = if (300..400).contains(&response.status) {
            response.header("location")
        } else if response.status == 200 && answer.path == "/" {
            // A start page that sends browsers on with <meta http-equiv="refresh">.
            meta_refresh_url(&response.body)
        } else {
            None
        };
        let Some(location) = location else { continue };
        match same_origin_path(&location, target).and_then(|path| hint_vdir(&path)) {
            Some(vdir) if hints.contains(&vdir) => {}
            Some(vdir) if hints.len() < max => hints.push(vdir),
            Some(_) => others.push((answer.path.clone(), location)),
            None if same_origin_path(&location, target).is_some() => {}
            None => others.push((answer.path.clone(), location)),
        }
    }
    (hints, others)
}

/// The URL of a `<meta http-equiv="refresh" content="0; url=/webmail/">` in the first 8 KiB of a page.
pub fn meta_refresh_url(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(8 * 1024)]).to_ascii_lowercase();
    let at = head.find("http-equiv")?;
    let tag_start = head[..at].rfind('<')?;
    let tag_end = at + head[at..].find('>')?;
    let tag = &head[tag_start..tag_end];
    if !tag.contains("refresh") {
        return None;
    }
    let url = &tag[tag.find("url=")? + 4..];
    let url = url.trim_start_matches(['\'', '"']);
    let end = url.find(['\'', '"', ' ', '>']).unwrap_or(url.len());
    // Lower-cased for matching; paths on IIS are case-insensitive, so the hint still holds.
    Some(url[..end].to_owned()).filter(|u| !u.is_empty())
}

/// The path of a Location that stays on the target's scheme, host and port.
pub fn same_origin_path(location: &str, target: &HttpTarget) -> Option<String> {
    let location = location.trim();
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(location.to_owned());
    }
    let (scheme, rest) = location.split_once("://")?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    if tls != target.tls {
        return None;
    }
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return None;
    }
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = split_authority(authority, default_port)?;
    let target_host = target.host.clone().unwrap_or_else(|| target.addr.ip().to_string());
    let same_host = host.eq_ignore_ascii_case(&target_host)
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip == target.addr.ip());
    (same_host && port == target.addr.port())
        .then(|| if path.starts_with('/') { path.to_owned() } else { format!("/{path}") })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), default_port)),
    }
}

/// The directory a same-host redirect names, when it is not one Exchange publishes anyway:
/// the first segment (`/webmail/`, `/mail/`), or the path down to an `owa` segment below it
/// (`/exchange/owa/`, OWA behind a path-based reverse proxy); plain names only.
fn hint_vdir(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let plain = |s: &str| {
        s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !s.starts_with('.')
    };
    let first = *segments.first()?;
    if !plain(first) || EXCHANGE_VDIRS.iter().any(|v| v.eq_ignore_ascii_case(first)) {
        return None;
    }
    let owa_below = segments.iter().take(4).position(|s| s.eq_ignore_ascii_case("owa")).filter(|&at| at > 0);
    let depth = owa_below.map_or(1, |at| at + 1);
    if !segments[..depth].iter().all(|s| plain(s)) {
        return None;
    }
    Some(format!("/{}/", segments[..depth].join("/")))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;

    use super::*;

    fn target(host: Option<&str>, port: u16, tls: bool) -> HttpTarget {
        HttpTarget { addr: SocketAddr::from(([192, 0, 2, 10], port)), host: host.map(str::to_owned), tls }
    }

    fn redirect(path: &str, location: &str) -> Answer {
        Answer {
            id: "root".into(),
            method: "GET".into(),
            path: path.into(),
            response: Some(HttpResponse {
                status: 302,
                headers: vec![("location".into(), Bytes::from(location.to_owned()))],
                body: Bytes::new(),
                body_truncated: false,
                body_timed_out: false,
            }),
        }
    }

    #[test]
    fn same_origin_is_scheme_host_and_port() {
        let t = target(Some("mail.example.org"), 443, true);
        assert_eq!(same_origin_path("/webmail/", &t).as_deref(), Some("/webmail/"));
        assert_eq!(same_origin_path("https://MAIL.example.org/mail/", &t).as_deref(), Some("/mail/"));
        assert_eq!(same_origin_path("https://mail.example.org:443/x", &t).as_deref(), Some("/x"));
        assert_eq!(same_origin_path("https://mail.example.org:8443/x", &t), None, "another port");
        assert_eq!(same_origin_path("http://mail.example.org/x", &t), None, "another scheme");
        assert_eq!(same_origin_path("https://owa.example.com/owa/", &t), None, "another host");
        assert_eq!(same_origin_path("//evil.example/x", &t), None, "scheme-relative is another host");
        assert_eq!(same_origin_path("https://mail.example.org@evil.example/x", &t), None);
        let by_ip = target(None, 8443, true);
        assert_eq!(same_origin_path("https://192.0.2.10:8443/webmail", &by_ip).as_deref(), Some("/webmail"));
    }

    #[test]
    fn hints_are_bounded_and_other_redirects_recorded() {
        let t = target(None, 443, true);
        let answers = vec![
            redirect("/", "https://192.0.2.10/webmail/"),
            redirect("/owa/", "https://192.0.2.10/owa/auth/logon.aspx?url=x"),
            redirect("/mapi/", "/mail/"),
            redirect("/ews/", "/third/"),
            redirect("/x", "http://169.254.169.254/latest/meta-data/"),
        ];
        let (hints, others) = redirect_hints(&answers, &t, 2);
        assert_eq!(hints, vec!["/webmail/", "/mail/"]);
        assert_eq!(hint_vdir("/exchange/owa/auth/logon.aspx"), Some("/exchange/owa/".to_string()));
        let page = br#"<html><head><META HTTP-EQUIV="Refresh" CONTENT="0; URL=/Webmail/"></head></html>"#;
        assert_eq!(meta_refresh_url(page).as_deref(), Some("/webmail/"));
        assert_eq!(meta_refresh_url(b"<meta http-equiv=\"content-type\" content=\"text/html\">"), None);
        assert_eq!(hint_vdir("/webmail"), Some("/webmail/".to_string()));
        assert_eq!(hint_vdir("/OWA/"), None, "probed anyway");
        assert_eq!(hint_vdir("/a%0d%0a/"), None);
        assert_eq!(hint_vdir("/"), None);
        assert_eq!(
            others,
            vec![
                ("/ews/".to_string(), "/third/".to_string()),
                ("/x".to_string(), "http://169.254.169.254/latest/meta-data/".to_string())
            ]
        );
    }
}
