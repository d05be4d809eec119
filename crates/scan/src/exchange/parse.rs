//! Parsers of what Exchange front ends answer. Every input is hostile: each
//! parser reads a bounded prefix and returns `None` rather than guessing.

use seawall_kb::BuildQuery;

/// Bytes of a body looked at: the version paths sit in the first kilobytes of a real logon page.
const SCAN_PREFIX: usize = 128 * 1024;

/// A version read from an `X-OWA-Version` value such as `15.2.858.2`.
pub fn owa_version_header(value: &str) -> Option<BuildQuery> {
    let value = value.trim();
    if value.len() > 32 {
        return None;
    }
    let query = BuildQuery::parse(value).ok()?;
    (query.revision.is_some() && plausible(query)).then_some(query)
}

/// Exchange majors are 6 (2003), 8 (2007), 14 (2010) and 15 (2013 and later, Online).
fn plausible(query: BuildQuery) -> bool {
    matches!(query.major, 6 | 8 | 14 | 15) && query.minor < 100
}

/// A version found in the resource paths of an OWA logon page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathVersion {
    pub query: BuildQuery,
    /// `/owa/auth/15.2.858/`: only the CU. `/owa/14.3.123.3/` (2007/2010): four parts.
    pub four_part: bool,
}

/// The version in `/owa/auth/<a.b.c>/` (2013 and later) or `/owa/<a.b.c.d>/` (2007/2010) paths.
pub fn logon_page_version(body: &[u8]) -> Option<PathVersion> {
    logon_page_version_under(body, "/owa/")
}

/// [`logon_page_version`] for OWA published under another virtual directory (`/webmail/`):
/// the page's resource paths are under that directory, and under `/owa/` in most pages.
pub fn logon_page_version_under(body: &[u8], vdir: &str) -> Option<PathVersion> {
    let found = version_under(body, vdir.as_bytes());
    if found.is_none() && !vdir.eq_ignore_ascii_case("/owa/") { version_under(body, b"/owa/") } else { found }
}

fn version_under(body: &[u8], vdir: &[u8]) -> Option<PathVersion> {
    let body = &body[..body.len().min(SCAN_PREFIX)];
    let mut rest = body;
    while let Some(at) = find(rest, vdir) {
        let after = &rest[at + vdir.len()..];
        let (after, auth) = match after.strip_prefix(b"auth/") {
            Some(tail) => (tail, true),
            None => (after, false),
        };
        let digits = after.iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count();
        if after.get(digits) == Some(&b'/') && digits > 0 {
            let text = std::str::from_utf8(&after[..digits]).unwrap_or_default();
            if let Ok(query) = BuildQuery::parse(text)
                && plausible(query)
            {
                let four_part = query.revision.is_some();
                // 2013+ use three parts under /owa/auth/; 2007/2010 four parts under /owa/.
                if (auth && !four_part) || (!auth && four_part) {
                    return Some(PathVersion { query, four_part });
                }
            }
        }
        rest = &rest[at + vdir.len()..];
    }
    None
}

/// The markers of a real OWA logon page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogonMarkers {
    /// `<!-- OwaPage = ASP.auth_logon_aspx -->`
    pub owa_page_comment: bool,
    /// `{57A118C6-2DA9-419d-BE9A-F92B0F9A418B}`, in every OWA logon page since 2010.
    pub guid_comment: bool,
    /// "To use Outlook, browser settings must allow scripts to run."
    pub scripts_notice: bool,
    pub title: Option<String>,
}

impl LogonMarkers {
    /// At least two independent markers: one can be copied by accident, a page built to look like OWA copies all.
    pub fn is_owa_logon(&self) -> bool {
        let title_owa = self.title.as_deref().is_some_and(|t| t.contains("Outlook"));
        [self.owa_page_comment, self.guid_comment, self.scripts_notice, title_owa].iter().filter(|m| **m).count() >= 2
    }
}

pub fn logon_markers(body: &[u8]) -> LogonMarkers {
    let body = &body[..body.len().min(SCAN_PREFIX)];
    LogonMarkers {
        owa_page_comment: find(body, b"OwaPage = ASP.auth_logon_aspx").is_some(),
        guid_comment: find_ignore_case(body, b"{57A118C6-2DA9-419d-BE9A-F92B0F9A418B}").is_some(),
        scripts_notice: find(body, b"browser settings must allow scripts to run").is_some(),
        title: page_title(body),
    }
}

/// The text of `<title>`, at most 200 characters.
pub fn page_title(body: &[u8]) -> Option<String> {
    let body = &body[..body.len().min(SCAN_PREFIX)];
    let open = find_ignore_case(body, b"<title")?;
    let start = open + body[open..].iter().position(|b| *b == b'>')? + 1;
    let len = find_ignore_case(&body[start..], b"</title")?;
    let text = String::from_utf8_lossy(&body[start..start + len.min(2000)]);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(text.chars().take(200).collect())
}

/// The `version` of the exporttool ClickOnce manifest's `assemblyIdentity`.
pub fn exporttool_manifest_version(body: &[u8]) -> Option<BuildQuery> {
    let body = &body[..body.len().min(SCAN_PREFIX)];
    let mut rest = body;
    while let Some(at) = find(rest, b"<assemblyIdentity") {
        let element = &rest[at..];
        let end = element.iter().position(|b| *b == b'>').unwrap_or(element.len());
        let element = &element[..end];
        if find_ignore_case(element, b"microsoft.exchange.ediscovery.exporttool").is_some()
            && let Some(value) = attribute(element, b"version")
            && let Ok(query) = BuildQuery::parse(value)
            && query.revision.is_some()
            && plausible(query)
        {
            return Some(query);
        }
        rest = &rest[at + 1..];
    }
    None
}

fn attribute<'a>(element: &'a [u8], name: &[u8]) -> Option<&'a str> {
    let mut rest = element;
    while let Some(at) = find(rest, name) {
        let before_ok = at == 0 || rest[at - 1].is_ascii_whitespace();
        let tail = &rest[at + name.len()..];
        if before_ok && let Some(tail) = tail.strip_prefix(b"=\"") {
            let end = tail.iter().position(|b| *b == b'"')?;
            return std::str::from_utf8(&tail[..end]).ok();
        }
        rest = &rest[at + name.len()..];
    }
    None
}

/// Exchange Online front- and back-end names: `CY4PR02CA0010`, `BY2PR06MB549`, `AM6PR04MB1234`.
pub fn looks_like_exo_server_name(name: &str) -> bool {
    let name = name.trim();
    let Some(at) = name.find("PR") else { return false };
    let (site, rest) = (&name[..at], &name[at + 2..]);
    let site_ok = (3..=5).contains(&site.len()) && site.bytes().all(|b| b.is_ascii_alphanumeric());
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let role = &rest[digits..];
    let role_ok = role.len() > 2
        && role.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && role.as_bytes()[2..].iter().all(u8::is_ascii_digit);
    site_ok && (1..=3).contains(&digits) && role_ok && name.len() <= 20
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOKBACK_HEAD: &[u8] = br#"<!-- Copyright (c) 2011 Microsoft Corporation.  All rights reserved. -->
<!-- OwaPage = ASP.auth_logon_aspx -->
<!-- {57A118C6-2DA9-419d-BE9A-F92B0F9A418B} -->
<html><head><link rel="shortcut icon" href="/owa/auth/15.2.858/themes/resources/favicon.ico" type="image/x-icon">
<title>Outlook</title>"#;

    #[test]
    fn reads_the_cu_from_a_2013_plus_logon_page() {
        let v = logon_page_version(LOOKBACK_HEAD);
        assert_eq!(v.map(|v| (v.query.to_string(), v.four_part)), Some(("15.2.858".to_owned(), false)));
        assert!(logon_markers(LOOKBACK_HEAD).is_owa_logon());
        assert_eq!(page_title(LOOKBACK_HEAD).as_deref(), Some("Outlook"));
    }

    #[test]
    fn reads_four_parts_from_a_2010_page() {
        let body = br#"<link href="/owa/14.3.123.3/themes/resources/logon.css" rel="stylesheet">"#;
        let v = logon_page_version(body);
        assert_eq!(v.map(|v| (v.query.to_string(), v.four_part)), Some(("14.3.123.3".to_owned(), true)));
    }

    #[test]
    fn ignores_paths_that_are_not_versions() {
        for body in
            [&b"/owa/auth/logon.aspx"[..], b"/owa/auth/1.2.3/", b"/owa/auth/15.2/", b"/owa/15.2.858/x", b"/owa/"]
        {
            assert_eq!(logon_page_version(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn header_values_must_be_four_part_exchange_versions() {
        assert_eq!(owa_version_header(" 15.2.858.2 ").map(|q| q.to_string()).as_deref(), Some("15.2.858.2"));
        for bad in ["15.2.858", "9.1.2.3", "15.2.858.2; x", "", "15.2.858.2.1"] {
            assert_eq!(owa_version_header(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_the_exporttool_manifest() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?><asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd" manifestVersion="1.0">
<assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="15.1.2242.5" publicKeyToken="b03f5f7f11d50a3a" language="neutral" processorArchitecture="msil" xmlns="urn:schemas-microsoft-com:asm.v1" />"#;
        assert_eq!(exporttool_manifest_version(body).map(|q| q.to_string()).as_deref(), Some("15.1.2242.5"));
        let other = br#"<assemblyIdentity name="something.else" version="15.1.2242.5" />"#;
        assert_eq!(exporttool_manifest_version(other), None);
    }

    #[test]
    fn one_marker_is_not_a_logon_page() {
        assert!(!logon_markers(b"<title>Outlook</title>").is_owa_logon());
    }

    #[test]
    fn recognises_exchange_online_server_names() {
        for name in ["CY4PR02CA0010", "BY2PR06MB549", "AM6PR04MB1234"] {
            assert!(looks_like_exo_server_name(name), "{name}");
        }
        for name in ["WIN-12OUO7A66M7", "EXCH01", "PRINTER01", "", "CY4PR02CA"] {
            assert!(!looks_like_exo_server_name(name), "{name}");
        }
    }
}
