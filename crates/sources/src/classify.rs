//! What kind of evidence a file is: by content first, by its path second.

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
    let text = String::from_utf8_lossy(&head[..head.len().min(8192)]);
    if crate::entra::looks_like_sign_ins(text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default())
        || (text.trim_start().starts_with(['[', '{']) && crate::entra::looks_like_sign_ins(&text))
    {
        return LogKind::EntraSignIns;
    }
    let norm = normalise_path(path);
    let protocol_from_path = || {
        norm.split("/logging/httpproxy/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    if text.contains("#Software: Microsoft Exchange Server") || text.contains("#Log-type:") {
        let log_type =
            text.lines().find_map(|l| l.strip_prefix("#Log-type:")).map(|t| t.trim().to_owned()).unwrap_or_default();
        let lower = log_type.to_ascii_lowercase();
        return if lower.contains("httpproxy") || norm.contains("/logging/httpproxy/") {
            LogKind::HttpProxy(protocol_from_path())
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
    if looks_iis_line && (norm.contains("/w3svc") || norm.rsplit('/').next().is_some_and(|n| n.starts_with("u_ex"))) {
        return LogKind::IisW3c;
    }
    let header = first_data.to_ascii_lowercase();
    if header.contains("anchormailbox") && header.contains(',') {
        return LogKind::HttpProxy(protocol_from_path());
    }
    if norm.contains("/logging/httpproxy/") && norm.ends_with(".log") {
        return LogKind::HttpProxy(protocol_from_path());
    }
    if norm.contains("/logging/ecp/server/") {
        return LogKind::EcpServer;
    }
    if norm.contains("/oabgeneratorlog/") {
        return LogKind::OabGenerator;
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
    fn windows_paths_compare_either_way() {
        assert_eq!(
            normalise_path(r"C:\Inetpub\WWWRoot\aspnet_client\X.aspx"),
            "c:/inetpub/wwwroot/aspnet_client/x.aspx"
        );
    }
}
