//! `--active`: checks that exercise a vulnerability's request path. Each sends
//! exactly one GET, documented here and in the README, and writes nothing:
//!
//! - ProxyLogon (CVE-2021-26855), the check of Microsoft's own nmap script
//!   `http-vuln-cve2021-26855.nse`: `GET /owa/auth/x.js` with
//!   `Cookie: X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;`.
//!   Vulnerable when the answer carries `X-CalculatedBETarget` naming localhost:
//!   the front end routed our cookie to a back end of our choosing.
//! - ProxyShell (CVE-2021-34473): `GET /autodiscover/autodiscover.json?@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com`.
//!   Vulnerable when the MAPI/HTTP endpoint answers ("Exchange MAPI/HTTP Connectivity Endpoint").
//! - ProxyNotShell mitigation (CVE-2022-41040): `GET /autodiscover/autodiscover.json?a@foo.var/owa/?&Email=autodiscover/autodiscover.json?a@foo.var&Protocol=XYZ&FooProtocol=Powershell`.
//!   The URL-rewrite mitigation answers 403; an unmitigated front end redirects (302);
//!   401 means authentication is required first (the CronUp checker's reading).

use seawall_model::{Evidence, Finding, Location};

use crate::detectors::{DetectorId, describe};
use crate::protocols::http::HttpSession;

pub const PROXYLOGON_PATH: &str = "/owa/auth/x.js";
pub const PROXYLOGON_COOKIE: &str = "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;";
pub const PROXYSHELL_PATH: &str =
    "/autodiscover/autodiscover.json?@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com";
pub const PROXYNOTSHELL_PATH: &str = "/autodiscover/autodiscover.json?a@foo.var/owa/?&Email=autodiscover/autodiscover.json?a@foo.var&Protocol=XYZ&FooProtocol=Powershell";

/// A finding of detector `id` (in the situations `variants`; text in `data/detectors/scan.toml`).
fn finding(id: DetectorId, variants: &[&str], location: &Location, evidence: Evidence) -> Finding {
    describe(id, variants, &[]).finding(location, vec![evidence], &[])
}

/// Run the three active checks; returns findings and, if one failed, why.
/// `proxynotshell_open`: whether the build leaves ProxyNotShell open (an absent
/// mitigation only matters then).
pub async fn active_checks(
    session: &mut HttpSession,
    location: &Location,
    proxynotshell_open: bool,
) -> (Vec<Finding>, Option<String>) {
    let mut findings = Vec::new();
    let get = http::Method::GET;
    match session.request(&get, PROXYLOGON_PATH, &[("Cookie", PROXYLOGON_COOKIE)]).await {
        Ok(r) => {
            let target = r.header("x-calculatedbetarget");
            if target.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("localhost")) {
                findings.push(finding(
                    DetectorId::ActiveProxyLogon,
                    &[],
                    location,
                    Evidence::text(
                        format!("GET {PROXYLOGON_PATH} header X-CalculatedBETarget"),
                        target.as_deref().unwrap_or_default(),
                    ),
                ));
            }
        }
        Err(e) => return (findings, Some(format!("active check ProxyLogon: {e}"))),
    }
    match session.request(&get, PROXYSHELL_PATH, &[]).await {
        Ok(r) if r.status == 200 && r.body_text().contains("Exchange MAPI/HTTP Connectivity Endpoint") => {
            findings.push(finding(
                DetectorId::ActiveProxyShell,
                &[],
                location,
                Evidence::bytes(format!("GET {PROXYSHELL_PATH}"), &r.body[..r.body.len().min(300)]),
            ));
        }
        Ok(_) => {}
        Err(e) => return (findings, Some(format!("active check ProxyShell: {e}"))),
    }
    match session.request(&get, PROXYNOTSHELL_PATH, &[]).await {
        Ok(r) => {
            let verdict: Option<(DetectorId, &[&str])> = match r.status {
                403 => Some((DetectorId::ActiveProxyNotShellMitigated, &[])),
                302 if proxynotshell_open => Some((DetectorId::ActiveProxyNotShellUnmitigated, &[])),
                302 => Some((DetectorId::ActiveProxyNotShellUnmitigated, &["fixed"])),
                _ => None,
            };
            if let Some((id, variants)) = verdict {
                findings.push(finding(
                    id,
                    variants,
                    location,
                    Evidence::text(format!("GET {PROXYNOTSHELL_PATH}"), &format!("HTTP {}", r.status)),
                ));
            }
        }
        Err(e) => return (findings, Some(format!("active check ProxyNotShell: {e}"))),
    }
    (findings, None)
}
