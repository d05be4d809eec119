//! Escaping of attacker-controlled strings for each output medium.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Text safe to print on a terminal: control characters (ESC, BEL, CR,
/// backspace, C1 controls), bidi overrides and other invisible format
/// characters are shown as `\u{..}` escapes instead of being interpreted.
/// Newlines and tabs are escaped too, so one record stays on one line.
pub fn terminal(text: &str) -> Cow<'_, str> {
    visible(text, false)
}

/// Text whose every character shows as itself, for a human reading a report: control and
/// invisible format characters become `\u{..}`. With `keep_lines`, newline and tab stay
/// (multi-line evidence in HTML and CSV cells); a terminal keeps neither.
pub fn visible(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_hidden_or_reordering(c) && !(keep_lines && matches!(c, '\n' | '\t'));
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Characters that act on the text around them instead of showing: controls (C0, DEL, C1),
/// bidirectional embeddings, overrides, isolates and marks (which reorder what a reader
/// sees: `exe.gpj` shown as `jpg.exe`), zero-width and other invisible format characters,
/// and the line and paragraph separators that break a record's line.
pub fn is_hidden_or_reordering(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// A CSV cell that a spreadsheet will not run as a formula and that shows every character
/// as itself: cells starting with `=`, `+`, `-`, `@`, tab or carriage return get a leading
/// `'` (OWASP's CSV injection guidance); control and bidi characters become `\u{..}`
/// (newlines and tabs inside a cell stay, the CSV writer quotes them).
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let formula = matches!(text.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    match (formula, visible(text, true)) {
        (false, shown) => shown,
        (true, shown) => Cow::Owned(format!("'{shown}")),
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

    // See: issue 14 (CSV kept raw ESC, BEL and bidi overrides).
    #[test]
    fn csv_shows_controls_and_bidi_as_escapes_but_keeps_lines() {
        let cell = csv_cell("a\u{1b}[31m\u{7}\u{202e}gpj.exe\nsecond\tline");
        assert_eq!(cell, "a\\u{1b}[31m\\u{7}\\u{202e}gpj.exe\nsecond\tline");
        assert_eq!(csv_cell("=1\u{202e}"), "'=1\\u{202e}");
    }

    #[test]
    fn zero_width_and_isolates_are_hidden_characters() {
        for c in ['\u{200b}', '\u{2067}', '\u{feff}', '\u{061c}', '\u{2028}'] {
            assert!(is_hidden_or_reordering(c), "{c:?}");
        }
        assert!(!is_hidden_or_reordering('é') && !is_hidden_or_reordering('漢'));
    }
}
