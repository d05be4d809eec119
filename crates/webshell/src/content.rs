//! Detectors over a file's bytes that are easier as code than as YARA: the
//! OAB virtual-directory configuration with script in it (CVE-2021-27065),
//! and the file type signature-base's `filetype` variable wants.

use seawall_model::{Evidence, Finding, Location};

use crate::detectors::{CATALOG, DetectorId};

/// How much of a file the configuration check reads: the exported
/// configuration is a few kilobytes of `Name : Value` lines.
const CONFIG_WINDOW: usize = 256 * 1024;

/// Property names of `Get-OabVirtualDirectory` output (and the other
/// virtual-directory cmdlets'), lowercase.
const VDIR_PROPERTIES: [&str; 9] = [
    "offlineaddressbooks",
    "pollinterval",
    "externalurl",
    "internalurl",
    "extendedprotectiontokenchecking",
    "internalauthenticationmethods",
    "externalauthenticationmethods",
    "metabasepath",
    "admindisplayversion",
];

const SCRIPT_MARKERS: [&str; 4] = ["<script", "runat=", "<%", "page_load"];

/// Whether the bytes can hold a virtual-directory configuration at all
/// (`ExternalUrl` or `InternalUrl`, as text or UTF-16LE): a cheap gate before
/// the text is decoded.
pub(crate) fn may_hold_vdir_config(bytes: &[u8]) -> bool {
    const NEEDLES: [&[u8]; 4] =
        [b"xternalUrl", b"nternalUrl", b"x\0t\0e\0r\0n\0a\0l\0U\0r\0l\0", b"n\0t\0e\0r\0n\0a\0l\0U\0r\0l\0"];
    let window = &bytes[..bytes.len().min(CONFIG_WINDOW)];
    NEEDLES.iter().any(|needle| memchr::memmem::find(window, needle).is_some())
}

/// Text of a file for string checks: UTF-16LE turned to UTF-8 when it looks
/// like it (a BOM, or NULs at every odd offset), lossily otherwise.
pub(crate) fn text_of(bytes: &[u8]) -> String {
    decode_text(&bytes[..bytes.len().min(CONFIG_WINDOW)])
}

/// Whether [`decode_text`] reads `bytes` as UTF-16LE (a BOM, or NULs at most odd offsets).
pub(crate) fn is_utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE]) || {
        let sample = &bytes[..bytes.len().min(512)];
        sample.len() >= 8 && sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count() * 10 >= sample.len() * 4
    }
}

/// All of `bytes` as text, UTF-16LE or (lossy) UTF-8, a UTF-8 BOM dropped.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    if is_utf16(bytes) {
        let body = bytes.strip_prefix(&[0xFF, 0xFE]).unwrap_or(bytes);
        let units: Vec<u16> = body.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes)).into_owned()
    }
}

/// `SW-FILE-OAB-CONFIG-SCRIPT`: a file holding an Exchange virtual-directory
/// configuration (as `Set-OabVirtualDirectory` + reset writes it) whose URL
/// properties carry script. ESET counted compromised servers by exactly this.
pub(crate) fn oab_config_script(text: &str, display_path: &str) -> Option<Finding> {
    let lowered = text.to_ascii_lowercase();
    let properties = VDIR_PROPERTIES.iter().filter(|p| lowered.contains(*p)).count();
    if properties < 3 || !SCRIPT_MARKERS.iter().any(|m| lowered.contains(m)) {
        return None;
    }
    // The evidence: the URL property line that carries the script.
    let line = text.lines().find(|line| {
        let l = line.to_ascii_lowercase();
        (l.contains("url") || l.contains("oab")) && SCRIPT_MARKERS.iter().any(|m| l.contains(m))
    })?;
    let oab = lowered.contains("offlineaddressbooks") || lowered.contains("pollinterval");
    let variants: &[&str] = if oab { &[] } else { &["other-vdir"] };
    let location = Location::File { path: display_path.to_owned(), line: None, record: None };
    let evidence = vec![
        Evidence::text("configuration line", line.trim()),
        Evidence::text(
            "why",
            "virtual-directory URL properties never contain script; this file is a page IIS will run",
        ),
    ];
    Some(CATALOG.describe(DetectorId::OabConfigScript, variants, &[]).finding(&location, evidence, &[]))
}

/// A coarse file type from magic bytes, named as THOR/Loki's `filetype`
/// variable names them; empty when unknown.
pub(crate) fn file_type(bytes: &[u8]) -> &'static str {
    const MAGIC: [(&[u8], &str); 11] = [
        (b"MZ", "EXE"),
        (b"PK\x03\x04", "ZIP"),
        (b"Rar!", "RAR"),
        (b"7z\xBC\xAF\x27\x1C", "7Z"),
        (b"GIF8", "GIF"),
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"\x89PNG", "PNG"),
        (b"%PDF", "PDF"),
        (b"!BDN", "PST"),
        (b"MDMP", "DMP"),
        (b"\x7FELF", "ELF"),
    ];
    MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)).map_or("", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use seawall_model::Severity;

    use super::*;

    const OAB: &str = "Name                            : OAB (Default Web Site)\r\n\
        PollInterval                    : 480\r\n\
        OfflineAddressBooks             :\r\n\
        MetabasePath                    : IIS://ex01/W3SVC/1/ROOT/OAB\r\n\
        InternalUrl                     : https://ex01/OAB\r\n\
        ExternalUrl                     : http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){}</script>\r\n";

    #[test]
    fn oab_config_with_script_is_found_in_utf8_and_utf16() {
        let found = oab_config_script(&text_of(OAB.as_bytes()), "/x/auth/a.aspx");
        assert!(found.as_ref().is_some_and(|f| f.severity == Severity::Critical));
        let found = found.expect("found");
        assert_eq!(found.rule.title, "Script in an OAB virtual-directory configuration (CVE-2021-27065 webshell)");
        assert_eq!(found.cves, ["CVE-2021-26858", "CVE-2021-27065"]);
        let other = OAB.replace("PollInterval", "Polling").replace("OfflineAddressBooks", "Books");
        let other = oab_config_script(&text_of(other.as_bytes()), "/x/auth/a.aspx").expect("another vdir");
        assert_eq!(other.rule.title, "Script in an Exchange virtual-directory configuration");
        let mut wide = vec![0xFF, 0xFE];
        wide.extend(OAB.encode_utf16().flat_map(u16::to_le_bytes));
        assert!(oab_config_script(&text_of(&wide), "/x/auth/a.aspx").is_some());
    }

    #[test]
    fn clean_oab_config_is_not() {
        let clean = OAB.replace(
            "http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){}</script>",
            "https://mail.example.com/OAB",
        );
        assert!(oab_config_script(&text_of(clean.as_bytes()), "/x/a.txt").is_none());
    }

    #[test]
    fn file_types_from_magic() {
        assert_eq!(file_type(b"MZ\x90\x00"), "EXE");
        assert_eq!(file_type(b"!BDN\x00"), "PST");
        assert_eq!(file_type(b"<%@ Page"), "");
    }
}
