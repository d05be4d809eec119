//! One way to compile the crate's regular expressions over page text.
//!
//! Word boundaries are ASCII (`(?-u:\b)`): a Unicode `\b` makes the regex
//! crate's DFAs give up on any haystack holding a non-ASCII byte and fall back
//! to its slowest engine, which cost most of the file scan's time on pages
//! with a `©` or Chinese comments. Identifiers the rules look for are ASCII,
//! so the boundary means the same for them.

use regex::Regex;

/// `pattern` with every `\b`/`\B` made ASCII (escaped backslashes left alone).
pub(crate) fn ascii_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) => {
                out.push_str("(?-u:\\");
                out.push(b);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Compile `pattern` with ASCII word boundaries.
pub(crate) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&ascii_boundaries(pattern))
}

/// Compile a pattern written in this crate's source; a bad one is a bug.
pub(crate) fn builtin(pattern: &str) -> Regex {
    compile(pattern).unwrap_or_else(|err| panic!("built-in pattern {pattern}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_become_ascii_and_escapes_stay() {
        assert_eq!(ascii_boundaries(r"\bRequest\b"), r"(?-u:\b)Request(?-u:\b)");
        assert_eq!(ascii_boundaries(r"a\\b\B\w"), r"a\\b(?-u:\B)\w");
        let re = builtin(r"(?i)\bexecute\b");
        assert!(re.is_match("© 2024 — Execute(x)"));
        assert!(!re.is_match("reexecuted"));
    }
}
