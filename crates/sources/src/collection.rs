//! Where a collected file lived on the server: responders collect with Velociraptor
//! (offline collector zips) or KAPE (target folders, zips), which store
//! `C:\inetpub\logs\...` as `uploads/auto/C%3A/inetpub/logs/...` or `C/inetpub/logs/...`.
//! Location heuristics and reports need the original Windows path back.
//!
//! Layouts (from the tools' documentation and their collections as found in practice):
//! - Velociraptor: `[Collection-HOST-TIME/]uploads/<accessor>/<volume>/<path>`, accessor one of
//!   `auto`, `file`, `ntfs`, `mft`, `lazy_ntfs`, `ntfs_vss`, `raw_ntfs`; volume `C%3A`
//!   (`C:`) or `%5C%5C.%5CC%3A` (`\\.\C:`), or a shadow copy device; every component
//!   URL-encoded (`%2E` for a leading dot, `%5C`, `%3A`, `%25`, ...).
//! - KAPE: `<tdest>/[<timestamp>_<target>/]C/<path>`: the drive letter as a folder, sometimes
//!   written `C%3A`; long or odd names URL-encoded the same way.

/// Accessors of Velociraptor whose upload folders hold a volume and then its files.
const VELOCIRAPTOR_ACCESSORS: &[&str] = &["auto", "file", "ntfs", "mft", "lazy_ntfs", "ntfs_vss", "raw_ntfs"];

/// How a collected path was mapped back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Velociraptor,
    Kape,
}

/// The original Windows path (`C:\inetpub\...`) of a file stored at `relative` (a path
/// inside a collection archive or below a collection folder, `/` or `\` separated), or
/// `None` when it is in no known collection layout.
pub fn original_path(relative: &str) -> Option<(String, Layout)> {
    let parts: Vec<&str> = relative.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if let Some(found) = velociraptor(&parts) {
        return Some((found, Layout::Velociraptor));
    }
    kape(&parts).map(|found| (found, Layout::Kape))
}

fn velociraptor(parts: &[&str]) -> Option<String> {
    // `uploads` is the collection's first or second level (a top folder when unzipped by hand).
    let at = parts.iter().take(3).position(|p| p.eq_ignore_ascii_case("uploads"))?;
    let accessor = parts.get(at + 1)?;
    if !VELOCIRAPTOR_ACCESSORS.iter().any(|a| a.eq_ignore_ascii_case(accessor)) {
        return None;
    }
    let volume = percent_decode(parts.get(at + 2)?);
    let rest = &parts[at + 3..];
    if rest.is_empty() {
        return None;
    }
    let root = volume_root(&volume)?;
    Some(join_windows(&root, rest))
}

fn kape(parts: &[&str]) -> Option<String> {
    // The drive folder is the target destination's first level, or the second under a
    // timestamped container folder; deeper single letters are ordinary folder names.
    for at in 0..parts.len().min(2) {
        let decoded = percent_decode(parts[at]);
        if let Some(letter) = drive_letter(&decoded)
            && parts.len() > at + 1
        {
            return Some(join_windows(&format!("{letter}:"), &parts[at + 1..]));
        }
    }
    None
}

/// `C`, `C:` → `C`.
fn drive_letter(name: &str) -> Option<char> {
    let mut chars = name.chars();
    let letter = chars.next().filter(char::is_ascii_alphabetic)?;
    match chars.as_str() {
        "" | ":" => Some(letter.to_ascii_uppercase()),
        _ => None,
    }
}

/// The root a Velociraptor volume folder stands for: `C:`, `\\.\C:` → `C:`; a shadow copy
/// device keeps its device path so its files are not mistaken for the live volume's.
fn volume_root(volume: &str) -> Option<String> {
    if let Some(letter) = drive_letter(volume) {
        return Some(format!("{letter}:"));
    }
    let device = volume.trim_start_matches(['\\', '/']);
    if let Some(rest) = device.strip_prefix(".\\").or_else(|| device.strip_prefix("?\\"))
        && let Some(letter) = drive_letter(rest)
    {
        return Some(format!("{letter}:"));
    }
    if volume.to_ascii_lowercase().contains("harddiskvolumeshadowcopy") {
        return Some(volume.trim_end_matches(['\\', '/']).to_string());
    }
    None
}

fn join_windows(root: &str, rest: &[&str]) -> String {
    let mut out = String::from(root);
    for part in rest {
        out.push('\\');
        out.push_str(&percent_decode(part));
    }
    out
}

/// Decode `%XX` escapes; anything that is not a valid escape stays as it is, and bytes that
/// do not form UTF-8 are replaced (the result is only ever displayed and matched).
pub fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (bytes.get(i + 1).and_then(hex), bytes.get(i + 2).and_then(hex))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: &u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(path: &str) -> Option<String> {
        original_path(path).map(|(p, _)| p)
    }

    #[test]
    fn velociraptor_auto_accessor() {
        assert_eq!(
            mapped("uploads/auto/C%3A/inetpub/logs/LogFiles/W3SVC1/u_ex210302.log").as_deref(),
            Some(r"C:\inetpub\logs\LogFiles\W3SVC1\u_ex210302.log")
        );
    }

    #[test]
    fn velociraptor_ntfs_device_and_encoded_names() {
        assert_eq!(
            mapped("Collection-EXCH01-2026-12-06T10_00_00Z/uploads/ntfs/%5C%5C.%5CC%3A/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/%2Eshell.aspx")
                .as_deref(),
            Some(r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\.shell.aspx")
        );
    }

    #[test]
    fn velociraptor_shadow_copy_keeps_its_device() {
        let path =
            mapped("uploads/ntfs_vss/%5C%5C%3F%5CGLOBALROOT%5CDevice%5CHarddiskVolumeShadowCopy1/Windows/x.evtx")
                .expect("mapped");
        assert!(path.contains("HarddiskVolumeShadowCopy1"), "{path}");
        assert!(path.ends_with(r"\Windows\x.evtx"), "{path}");
    }

    #[test]
    fn kape_drive_folder_at_the_top_or_under_a_container() {
        assert_eq!(
            mapped("C/Windows/System32/winevt/Logs/Security.evtx").as_deref(),
            Some(r"C:\Windows\System32\winevt\Logs\Security.evtx")
        );
        assert_eq!(
            mapped(r"2026-12-06T101010_Exchange\D%3A\ExchangeLogs\HttpProxy\Owa\x.log").as_deref(),
            Some(r"D:\ExchangeLogs\HttpProxy\Owa\x.log")
        );
    }

    #[test]
    fn ordinary_paths_are_left_alone() {
        assert_eq!(mapped("logs/w3svc1/u_ex210302.log"), None);
        assert_eq!(mapped("evidence/server/a/b/c.log"), None, "a deep single letter is a folder name");
        assert_eq!(mapped("uploads/other/C%3A/x"), None, "unknown accessor");
        assert_eq!(mapped("C"), None, "a drive with nothing below it");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%2Eb%zz%4"), "a.b%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
    }
}
