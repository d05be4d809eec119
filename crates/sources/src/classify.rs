//! What kind of evidence a file is: by content first, by its path second.

use std::borrow::Cow;

/// The evidence kinds seawall reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    IisW3c,
    /// HttpProxy logs; the protocol folder (Owa, Ecp, Ews, Autodiscover, PowerShell, Mapi, ...) when known.
    HttpProxy(String),
    EcpServer,
    OabGenerator,
    /// Another Exchange CSV log (message tracking, RPC client access, ...).
    ExchangeCsv(String),
    Evtx,
    /// An Entra ID sign-in log export (CSV or JSON).
    EntraSignIns,
    /// A CSV with a header row that is none of the above.
    HeaderCsv,
    Unknown,
}

impl LogKind {
    pub fn name(&self) -> String {
        match self {
            LogKind::IisW3c => "iis".into(),
            LogKind::HttpProxy(p) if p.is_empty() => "httpproxy".into(),
            LogKind::HttpProxy(p) => format!("httpproxy/{}", p.to_ascii_lowercase()),
            LogKind::EcpServer => "ecp-server".into(),
            LogKind::OabGenerator => "oab-generator".into(),
            LogKind::ExchangeCsv(t) => format!("exchange-csv/{}", t.to_ascii_lowercase().replace(' ', "-")),
            LogKind::Evtx => "evtx".into(),
            LogKind::EntraSignIns => "entra-sign-ins".into(),
            LogKind::HeaderCsv => "csv".into(),
            LogKind::Unknown => "unknown".into(),
        }
    }

    /// The family a detection names in its `logs` list (`iis`, `httpproxy`, `ecp-server`, ...).
    pub fn family(&self) -> &'static str {
        match self {
            LogKind::IisW3c => "iis",
            LogKind::HttpProxy(_) => "httpproxy",
            LogKind::EcpServer => "ecp-server",
            LogKind::OabGenerator => "oab-generator",
            LogKind::ExchangeCsv(_) => "exchange-csv",
            LogKind::Evtx => "evtx",
            LogKind::EntraSignIns => "entra",
            LogKind::HeaderCsv => "csv",
            LogKind::Unknown => "unknown",
        }
    }
}

/// Windows paths compare case-insensitively with either separator.
pub fn normalise_path(path: &str) -> String {
    path.replace('\\', "/").to_ascii_lowercase()
}

/// Classify from the first bytes (decompressed) and the path.
pub fn classify(path: &str, head: &[u8]) -> LogKind {
    if head.starts_with(b"ElfFile\0") {
        return LogKind::Evtx;
    }
    let head = &head[..head.len().min(HEAD_TEXT)];
    let norm = normalise_path(path);
    let text = match std::str::from_utf8(head) {
        Ok(text) => Cow::Borrowed(text),
        // Replacing every invalid byte of an image or a DLL was most of this function's cost on a
        // web root; such heads are judged by path unless a text test could pass on them.
        Err(_) if !may_be_text_log(head, &norm) => return by_path(&norm).unwrap_or(LogKind::Unknown),
        Err(_) => String::from_utf8_lossy(head),
    };
    classify_text(&norm, &text)
}

/// Bytes of the head the content tests read.
const HEAD_TEXT: usize = 8192;

/// The content tests of [`classify_text`], widened so that a `false` here means none of them
/// can pass: each looks for ASCII text, which replacing invalid UTF-8 neither makes nor breaks.
fn may_be_text_log(raw: &[u8], norm: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    let has = |needle: &str| memchr::memmem::find(&lower, needle.as_bytes()).is_some();
    let sign_ins = (has("userprincipalname") && has("createddatetime") && has("ipaddress"))
        || (has("ip address") && has("date (utc)") && has("user"));
    let headers = has("#software: microsoft") || has("#log-type:") || raw.starts_with(b"#Fields: date time");
    let csv_header = first_data_line(raw).is_some_and(|line| {
        let commas = line.iter().filter(|&&b| b == b',').count();
        commas > 0 && !line.contains(&b' ') && (line.starts_with(b"\"") || commas >= 2)
    });
    sign_ins || headers || iis_by_name(norm) || has("anchormailbox") || csv_header
}

/// The first line that is neither a `#` comment nor blank, as `str::lines` splits them.
fn first_data_line(raw: &[u8]) -> Option<&[u8]> {
    raw.split(|&b| b == b'\n').find(|line| {
        let blank = std::str::from_utf8(line).is_ok_and(|l| l.trim().is_empty());
        !line.starts_with(b"#") && !blank
    })
}

/// An IIS log's folder (`W3SVC<n>`) or file name (`u_ex...`).
fn iis_by_name(norm: &str) -> bool {
    norm.contains("/w3svc") || norm.rsplit('/').next().is_some_and(|n| n.starts_with("u_ex"))
}

/// The HttpProxy protocol folder (`owa`, `ecp`, ...) in a normalised path.
fn protocol_from_path(norm: &str) -> String {
    norm.split("/logging/httpproxy/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned)
        .unwrap_or_default()
}

/// The path-only tests, which decide when the content says nothing.
fn by_path(norm: &str) -> Option<LogKind> {
    if norm.contains("/logging/httpproxy/") && norm.ends_with(".log") {
        return Some(LogKind::HttpProxy(protocol_from_path(norm)));
    }
    if norm.contains("/logging/ecp/server/") {
        return Some(LogKind::EcpServer);
    }
    if norm.contains("/oabgeneratorlog/") {
        return Some(LogKind::OabGenerator);
    }
    None
}

fn classify_text(norm: &str, text: &str) -> LogKind {
    if crate::entra::looks_like_sign_ins(text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default())
        || (text.trim_start().starts_with(['[', '{']) && crate::entra::looks_like_sign_ins(text))
    {
        return LogKind::EntraSignIns;
    }
    if text.contains("#Software: Microsoft Exchange Server") || text.contains("#Log-type:") {
        let log_type =
            text.lines().find_map(|l| l.strip_prefix("#Log-type:")).map(|t| t.trim().to_owned()).unwrap_or_default();
        let lower = log_type.to_ascii_lowercase();
        return if lower.contains("httpproxy") || norm.contains("/logging/httpproxy/") {
            LogKind::HttpProxy(protocol_from_path(norm))
        } else if lower.contains("ecp server") || norm.contains("/logging/ecp/server") {
            LogKind::EcpServer
        } else if lower.contains("oab") || norm.contains("oabgeneratorlog") {
            LogKind::OabGenerator
        } else {
            LogKind::ExchangeCsv(log_type)
        };
    }
    if text.contains("#Software: Microsoft Internet Information Services") || text.starts_with("#Fields: date time") {
        return LogKind::IisW3c;
    }
    let first_data = text.lines().find(|l| !l.starts_with('#') && !l.trim().is_empty()).unwrap_or_default();
    let looks_iis_line = first_data.len() > 20
        && first_data.as_bytes()[..10]
            .iter()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
        && first_data.as_bytes().get(10) == Some(&b' ');
    if looks_iis_line && iis_by_name(norm) {
        return LogKind::IisW3c;
    }
    let header = first_data.to_ascii_lowercase();
    if header.contains("anchormailbox") && header.contains(',') {
        return LogKind::HttpProxy(protocol_from_path(norm));
    }
    if let Some(kind) = by_path(norm) {
        return kind;
    }
    if header.contains(',') && (header.starts_with('"') || header.split(',').count() >= 3) && !header.contains(' ') {
        return LogKind::HeaderCsv;
    }
    LogKind::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_before_name() {
        assert_eq!(classify("x.dat", b"ElfFile\0\0\0"), LogKind::Evtx);
        assert_eq!(
            classify(
                "whatever.txt",
                b"#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time\r\n"
            ),
            LogKind::IisW3c
        );
        let proxy =
            b"#Software: Microsoft Exchange Server\r\n#Version: 15.01.2106.013\r\n#Log-type: HttpProxy Logs\r\n";
        assert_eq!(
            classify(
                r"C:\Program Files\Microsoft\Exchange Server\V15\Logging\HttpProxy\Ecp\HttpProxy_2021030306-1.LOG",
                proxy
            ),
            LogKind::HttpProxy("ecp".into())
        );
        assert_eq!(
            classify("x.log", b"#Software: Microsoft Exchange Server\n#Log-type: ECP Server Log\n"),
            LogKind::EcpServer
        );
    }

    #[test]
    fn headerless_iis_files_are_recognised_by_line_shape_and_name() {
        let line = b"2021-03-03 06:49:42 10.0.0.5 POST /ecp/y.js - 443 - 198.51.100.7 ua 200 0 0 12\n";
        assert_eq!(classify("C:/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", line), LogKind::IisW3c);
        assert_eq!(classify("notes.txt", line), LogKind::Unknown);
    }

    #[test]
    fn export_csv_of_httpproxy_is_recognised() {
        let text = b"#TYPE Selected.System.Management.Automation.PSCustomObject\n\"DateTime\",\"RequestId\",\"AnchorMailbox\",\"HttpStatus\"\n";
        assert_eq!(classify("hits.csv", text), LogKind::HttpProxy(String::new()));
    }

    #[test]
    fn binary_heads_judged_without_decoding_match_the_decoded_judgement() {
        let paths = [
            "c:/inetpub/wwwroot/img/a.png",
            "c:/inetpub/logs/logfiles/w3svc1/u_ex210303.log",
            "c:/program files/microsoft/exchange server/v15/logging/httpproxy/owa/a.log",
            "c:/x/logging/ecp/server/b.log",
            "d:/oabgeneratorlog/c.log",
            "export.csv",
        ];
        let pieces: [&[u8]; 12] = [
            b"\xff\xfe",
            b"\x89PNG\r\n",
            b",",
            b"\"a\",\"b\"",
            b" ",
            b"\n",
            b"#Log-type: HttpProxy Logs\n",
            b"2021-03-03 06:49:42 10.0.0.5 GET / - 443 - 1.2.3.4 ua 200 0 0 1\n",
            b"AnchorMailbox,x,y\n",
            b"userPrincipalName,createdDateTime,ipAddress\n",
            b"\xe2\x80\xa8\n",
            b"#Fields: date time\n",
        ];
        let mut seed = 7u64;
        for _ in 0..20_000 {
            let mut head = Vec::new();
            for _ in 0..(seed % 6) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                head.extend_from_slice(pieces[(seed >> 40) as usize % pieces.len()]);
            }
            head.push(0xC3); // never valid UTF-8 at the end
            for path in paths {
                let decoded = classify_text(&normalise_path(path), &String::from_utf8_lossy(&head));
                assert_eq!(classify(path, &head), decoded, "{path} {head:?}");
            }
        }
    }

    #[test]
    fn windows_paths_compare_either_way() {
        assert_eq!(
            normalise_path(r"C:\Inetpub\WWWRoot\aspnet_client\X.aspx"),
            "c:/inetpub/wwwroot/aspnet_client/x.aspx"
        );
    }
}
