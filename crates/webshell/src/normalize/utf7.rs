//! UTF-7 (RFC 2152) for classic ASP pages that declare `CodePage=65000`: IIS
//! decodes the page as UTF-7 before running it, so `+AGUAdgBhAGw-` is `eval`
//! to ASP and must be to the rules too.

use base64::Engine as _;

/// Whether the page asks ASP for UTF-7 (`<%@ CodePage=65000 %>`, `Response.CodePage=65000`).
pub(crate) fn declared(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("codepage") && lower.contains("65000")
}

/// The page decoded from UTF-7; runs that are not valid stay as they are.
pub(crate) fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(plus) = rest.find('+') {
        out.push_str(&rest[..plus]);
        let after = &rest[plus + 1..];
        let run_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/')).unwrap_or(after.len());
        let run = &after[..run_len];
        let tail = &after[run_len..];
        let tail = tail.strip_prefix('-').unwrap_or(tail);
        if run.is_empty() {
            // "+-" is a literal plus.
            out.push('+');
            rest = after.strip_prefix('-').unwrap_or(after);
            continue;
        }
        let usable = run.len() - run.len() % 4;
        let padded = match run.len() % 4 {
            0 => run.to_owned(),
            2 => format!("{run}=="),
            3 => format!("{run}="),
            _ => run[..usable].to_owned(),
        };
        match base64::engine::general_purpose::STANDARD.decode(padded) {
            Ok(bytes) => {
                let units: Vec<u16> = bytes.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
                out.push_str(&String::from_utf16_lossy(&units));
                rest = tail;
            }
            Err(_) => {
                out.push('+');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2152_examples_and_plus() {
        // RFC 2152: "Hi Mom -+Jjo--!" is "Hi Mom -☺-!"
        assert_eq!(decode("Hi Mom -+Jjo--!"), "Hi Mom -\u{263A}-!");
        assert_eq!(decode("1 +- 1"), "1 + 1");
        assert_eq!(decode("+AGUAdgBhAGw-(x)"), "eval(x)");
    }

    #[test]
    fn declaration_is_detected() {
        assert!(declared("<%@ codepage=65000%>"));
        assert!(!declared("<%@ codepage=936%>"));
    }
}
