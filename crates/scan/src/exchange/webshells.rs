//! `--probe-webshells`: GET the webshell paths of the public ProxyLogon-era IOC
//! lists (`data/probes/webshell-paths.toml`) and tell a live file from Exchange's
//! own 404, a redirect to the logon page or a catch-all 200.

use std::collections::BTreeMap;

use seawall_model::{Confidence, Evidence, Finding, Location};
use serde::Deserialize;

use super::parse;
use crate::data::DataError;
use crate::detectors::{DetectorId, describe};
use crate::protocols::http::{HttpResponse, HttpSession};

const EMBEDDED_PATHS: &str = include_str!("../../../../data/probes/webshell-paths.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebshellPath {
    pub path: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebshellPaths {
    pub path: Vec<WebshellPath>,
}

impl WebshellPaths {
    pub fn embedded() -> Result<WebshellPaths, DataError> {
        let paths: WebshellPaths =
            toml::from_str(EMBEDDED_PATHS).map_err(|e| DataError::new("webshell-paths.toml", e.to_string()))?;
        if let Some(bad) = paths.path.iter().find(|p| !p.path.starts_with('/') || p.path.contains(' ')) {
            return Err(DataError::new("webshell-paths.toml", format!("malformed path {:?}", bad.path)));
        }
        Ok(paths)
    }
}

/// What a folder answers for a file that cannot exist.
struct Baseline {
    status: u16,
    len: usize,
    title: Option<String>,
}

fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("/", |(folder, _)| folder)
}

/// A 200 that is neither the folder's answer for a missing file nor an OWA page.
fn looks_live(response: &HttpResponse, baseline: Option<&Baseline>) -> Option<Confidence> {
    if response.status != 200 || parse::logon_markers(&response.body).is_owa_logon() {
        return None;
    }
    match baseline {
        Some(b) if b.status == 200 => {
            let same_title = parse::page_title(&response.body) == b.title;
            let len = response.body.len();
            let similar_len = len.abs_diff(b.len) <= b.len / 5 + 16;
            (!(same_title && similar_len)).then_some(Confidence::Medium)
        }
        _ => Some(Confidence::High),
    }
}

/// Probe every listed path over the session; one finding per path that answers like a live file.
pub async fn probe_webshells(
    session: &mut HttpSession,
    paths: &WebshellPaths,
    random: &str,
    location: &Location,
) -> (Vec<Finding>, Option<String>) {
    let mut baselines: BTreeMap<String, Option<Baseline>> = BTreeMap::new();
    let mut findings = Vec::new();
    for entry in &paths.path {
        let folder = folder_of(&entry.path).to_owned();
        if !baselines.contains_key(&folder) {
            let missing = format!("{folder}/{random}.aspx");
            let baseline = match session.request(&http::Method::GET, &missing, &[]).await {
                Ok(r) => Some(Baseline { status: r.status, len: r.body.len(), title: parse::page_title(&r.body) }),
                Err(e) => return (findings, Some(format!("webshell probe {missing}: {e}"))),
            };
            baselines.insert(folder.clone(), baseline);
        }
        let response = match session.request(&http::Method::GET, &entry.path, &[]).await {
            Ok(response) => response,
            Err(e) => return (findings, Some(format!("webshell probe {}: {e}", entry.path))),
        };
        let baseline = baselines.get(&folder).and_then(Option::as_ref);
        if let Some(confidence) = looks_live(&response, baseline) {
            let mut evidence = vec![Evidence::text(
                format!("GET {}", entry.path),
                &format!(
                    "HTTP {} with {} bytes{}",
                    response.status,
                    response.body.len(),
                    parse::page_title(&response.body).map(|t| format!(", title {t:?}")).unwrap_or_default()
                ),
            )];
            if let Some(b) = baseline {
                evidence.push(Evidence::text(
                    format!("GET {folder}/<random>.aspx"),
                    &format!("HTTP {} with {} bytes (a file that cannot exist)", b.status, b.len),
                ));
            }
            evidence.push(Evidence::bytes(
                format!("GET {} body", entry.path),
                &response.body[..response.body.len().min(512)],
            ));
            let mut described = describe(DetectorId::ExchWebshellPath, &[], &[("path", &entry.path)]);
            // How much the answer differs from a file that cannot exist decides how sure.
            described.confidence = confidence;
            let mut finding = described.finding(location, evidence, &[&entry.path]);
            finding.references = entry.sources.iter().map(|s| format!("IOC list: {s}")).collect();
            findings.push(finding);
        }
    }
    (findings, None)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: Bytes::from(body.to_owned()),
            body_truncated: false,
            body_timed_out: false,
        }
    }

    #[test]
    fn embedded_list_loads_with_sources() {
        let paths = WebshellPaths::embedded().expect("loads");
        assert!(paths.path.len() > 30);
        assert!(paths.path.iter().all(|p| !p.sources.is_empty()));
        assert!(paths.path.iter().any(|p| p.path == "/aspnet_client/shell.aspx"));
    }

    #[test]
    fn a_200_where_missing_files_404_is_live() {
        let baseline = Baseline { status: 404, len: 1245, title: Some("404 - File or directory not found.".into()) };
        assert_eq!(
            looks_live(&response(200, "<form><input name=cmd></form>"), Some(&baseline)),
            Some(Confidence::High)
        );
        assert_eq!(looks_live(&response(404, "nope"), Some(&baseline)), None);
        assert_eq!(looks_live(&response(302, ""), Some(&baseline)), None);
    }

    #[test]
    fn a_catch_all_200_is_not_live() {
        let page = "<html><title>Welcome</title>".to_owned() + &"x".repeat(500);
        let baseline = Baseline { status: 200, len: page.len(), title: Some("Welcome".into()) };
        assert_eq!(looks_live(&response(200, &page), Some(&baseline)), None);
        assert_eq!(looks_live(&response(200, "<form>cmd</form>"), Some(&baseline)), Some(Confidence::Medium));
    }
}
