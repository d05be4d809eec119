use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Longest excerpt kept, in bytes: evidence must show what matched, not carry
/// a whole attacker-sized line into every report.
pub const EXCERPT_LIMIT: usize = 1024;

/// What a finding rests on: where the bytes came from and an excerpt of them.
///
/// Text stays text; bytes that are not UTF-8 are kept as base64 in `bytes` so
/// that no report has to guess an encoding. Excerpts are truncated to
/// [`EXCERPT_LIMIT`] bytes on a character boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The origin of the excerpt: a file path, `GET /owa/ header X-OWA-Version`, an event record.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// Base64 of the raw bytes when they are not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Evidence {
    /// Evidence from text (a header value, a parsed field).
    pub fn text(source: impl Into<String>, text: &str) -> Evidence {
        let (kept, truncated) = truncate_on_char_boundary(text, EXCERPT_LIMIT);
        Evidence { source: source.into(), excerpt: Some(kept.to_owned()), bytes: None, truncated }
    }

    /// Evidence from raw bytes read off the network or out of a file.
    pub fn bytes(source: impl Into<String>, raw: &[u8]) -> Evidence {
        match std::str::from_utf8(raw) {
            Ok(text) => Evidence::text(source, text),
            Err(_) => {
                let truncated = raw.len() > EXCERPT_LIMIT;
                let kept = &raw[..raw.len().min(EXCERPT_LIMIT)];
                Evidence { source: source.into(), excerpt: None, bytes: Some(STANDARD.encode(kept)), truncated }
            }
        }
    }

    /// The excerpt as text for display: decoded bytes are shown lossily.
    pub fn display_text(&self) -> String {
        if let Some(text) = &self.excerpt {
            return text.clone();
        }
        let raw = self.bytes.as_deref().and_then(|b64| STANDARD.decode(b64).ok()).unwrap_or_default();
        String::from_utf8_lossy(&raw).into_owned()
    }
}

fn truncate_on_char_boundary(text: &str, limit: usize) -> (&str, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_truncated_on_a_char_boundary() {
        let text = "é".repeat(EXCERPT_LIMIT); // two bytes each
        let ev = Evidence::text("f", &text);
        let kept = ev.excerpt.as_deref().unwrap_or_default();
        assert!(ev.truncated);
        assert!(kept.len() <= EXCERPT_LIMIT);
        assert!(kept.chars().all(|c| c == 'é'));
    }

    #[test]
    fn non_utf8_bytes_are_kept_as_base64() {
        let ev = Evidence::bytes("f", b"ok\xff\xfe");
        assert_eq!(ev.excerpt, None);
        assert_eq!(ev.bytes.as_deref(), Some("b2v//g=="));
        assert_eq!(ev.display_text(), "ok\u{fffd}\u{fffd}");
    }

    #[test]
    fn utf8_bytes_stay_text() {
        let ev = Evidence::bytes("f", b"ServerInfo~a]@x:444/ecp/y.ecp");
        assert_eq!(ev.excerpt.as_deref(), Some("ServerInfo~a]@x:444/ecp/y.ecp"));
        assert!(!ev.truncated);
    }
}
