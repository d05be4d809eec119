//! Escaping of attacker-controlled strings for each output medium.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Text safe to print on a terminal: control characters (ESC, BEL, CR,
/// backspace, C1 controls, bidi overrides...) are shown as `\u{..}` escapes
/// instead of being interpreted. Newlines and tabs are escaped too, so one
/// record stays on one line.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_for_terminal(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        // Bidirectional overrides and isolates reorder what a reader sees.
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// A CSV cell that a spreadsheet will not run as a formula: cells starting
/// with `=`, `+`, `-`, `@`, tab or carriage return get a leading `'`
/// (OWASP's CSV injection guidance).
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_ansi_and_bell_but_keeps_unicode() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J é 漢";
        let safe = terminal(hostile);
        assert!(!safe.contains('\u{1b}'));
        assert!(!safe.contains('\u{7}'));
        assert!(safe.contains("\\u{1b}]0;pwned\\u{7}"));
        assert!(safe.ends_with("é 漢"));
    }

    #[test]
    fn terminal_escapes_newlines_c1_and_bidi() {
        let safe = terminal("a\nb\r\u{9b}31m\u{202e}gpj.exe");
        assert_eq!(safe, "a\\u{a}b\\u{d}\\u{9b}31m\\u{202e}gpj.exe");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(terminal("15.2.858.2"), Cow::Borrowed(_)));
        assert!(matches!(csv_cell("15.2.858.2"), Cow::Borrowed(_)));
    }

    #[test]
    fn csv_neutralises_formula_prefixes() {
        for payload in ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(csv_cell(payload).starts_with('\''), "{payload:?}");
        }
        assert_eq!(csv_cell("a=1"), "a=1");
    }
}
