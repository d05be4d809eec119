//! Splitting a page into markup and server code, and rewriting the code in a
//! canonical form: comments gone, whitespace collapsed (one space between
//! words, none around punctuation, one newline where lines ended), every
//! string literal written as `"..."` with `\` escapes whatever its dialect
//! wrote (VB `""`, C# verbatim `@"..."`, `'...'`, `\x41`, `\u0041`).

/// How the code of one region is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Dialect {
    /// VBScript, VB.NET: `'` comments, `""` escapes, `_` line continuation.
    Vb,
    /// C#, JScript, JScript.NET: `//` and `/* */` comments, `\` escapes.
    #[default]
    CLike,
}

/// One piece of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text IIS sends as it is (HTML), whitespace collapsed.
    Markup(String),
    /// Directives and server tags (`<%@ ... %>`, `<script runat=server>`), kept.
    Tag(String),
    /// Server code in canonical form.
    Code(String),
}

/// The dialect a language name stands for (`C#`, `VBScript.Encode`, `JScript`).
pub(crate) fn dialect_of_language(name: &str) -> Option<Dialect> {
    let lower = name.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace()).to_ascii_lowercase();
    if lower.starts_with("vb") {
        Some(Dialect::Vb)
    } else if lower.starts_with('c')
        || lower.starts_with("js")
        || lower.starts_with("jscript")
        || lower.starts_with("javascript")
    {
        Some(Dialect::CLike)
    } else {
        None
    }
}

/// The value of `name=` in a tag or directive, lowercase name match.
pub(crate) fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let value = value.trim_start_matches(['"', '\'']);
        let end = value
            .find(|c: char| c == '"' || c == '\'' || c.is_whitespace() || c == '%' || c == '>')
            .unwrap_or(value.len());
        return Some(&value[..end]);
    }
    None
}

/// The page's default code dialect: the first directive's `Language`, else a
/// guess from the text (VB keywords against C punctuation).
pub(crate) fn page_dialect(text: &str) -> Dialect {
    let mut from = 0;
    while let Some(found) = text[from..].find("<%@") {
        let at = from + found;
        let end = text[at..].find("%>").map_or(text.len(), |e| at + e);
        if let Some(dialect) = attribute(&text[at..end], "language").and_then(dialect_of_language) {
            return dialect;
        }
        from = end;
    }
    // Signs are counted outside string literals: a long encrypted or packed literal is
    // full of braces and semicolons whatever the language.
    let lower = outside_quotes(text).to_ascii_lowercase();
    let vb = ["dim ", "end if", "end sub", "end function", " then", "set ", "response.write \""]
        .iter()
        .map(|k| memchr::memmem::find_iter(lower.as_bytes(), k).count())
        .sum::<usize>();
    let c = [";\n", ";\r", ";%>", "{", "var "]
        .iter()
        .map(|k| memchr::memmem::find_iter(lower.as_bytes(), k).count())
        .sum::<usize>();
    // Without a sign either way, the server's default: VBScript for ASP pages and VB for
    // ASP.NET (`<compilation defaultLanguage="vb">`).
    if vb >= c { Dialect::Vb } else { Dialect::CLike }
}

/// `text` without what stands between double quotes on one line (the quotes kept).
fn outside_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                out.push(ch);
            }
            '\n' => {
                quoted = false;
                out.push(ch);
            }
            _ if !quoted => out.push(ch),
            _ => {}
        }
    }
    out
}

/// ASCII case-insensitive search from `from`: candidates are found by their
/// first byte in either case with memchr, so a page costs one fast scan.
fn find_ci(haystack: &str, needle: &str, from: usize) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut at = from;
    while at <= last_start {
        let found =
            at + memchr::memchr2(first.to_ascii_lowercase(), first.to_ascii_uppercase(), &hay[at..=last_start])?;
        if hay[found + 1..found + needle.len()].eq_ignore_ascii_case(rest) {
            return Some(found);
        }
        at = found + 1;
    }
    None
}

/// Whether a file holds server code at all (page markers, or a code file).
pub(crate) fn has_server_markers(text: &str) -> bool {
    text.contains("<%") || find_ci(text, "runat", 0).is_some()
}

/// Whether text without page markers is a C# or VB source file (App_Code,
/// code-behind), and in which dialect.
pub(crate) fn source_file_dialect(text: &str) -> Option<Dialect> {
    let head = &text[..text.floor_char_boundary(16 * 1024)];
    if head.contains("Imports System") || find_ci(head, "end class", 0).is_some() && head.contains("Imports ") {
        Some(Dialect::Vb)
    } else if head.contains("using System") || head.contains("namespace ") && head.contains('{') {
        Some(Dialect::CLike)
    } else {
        None
    }
}

/// A page cut into segments, code canonicalised.
pub(crate) fn segment(text: &str) -> Vec<Segment> {
    let default = page_dialect(text);
    let mut segments = Vec::new();
    let mut rest_is_code: Option<Dialect> = None;
    let mut pos = 0;
    // The next `<script` at or after `pos`, found once per tag rather than per block.
    let mut script_cache: Option<Option<usize>> = None;
    while pos < text.len() {
        if let Some(dialect) = rest_is_code {
            segments.push(Segment::Code(canonical_code(&text[pos..], dialect)));
            break;
        }
        let next_asp = text[pos..].find("<%").map(|i| pos + i);
        let next_script = match script_cache {
            Some(Some(at)) if at >= pos => Some(at),
            Some(None) => None,
            _ => {
                let found = find_ci(text, "<script", pos);
                script_cache = Some(found);
                found
            }
        };
        let next = match (next_asp, next_script) {
            (Some(a), Some(s)) => a.min(s),
            (Some(a), None) => a,
            (None, Some(s)) => s,
            (None, None) => text.len(),
        };
        if next > pos {
            segments.push(Segment::Markup(collapse_markup(&text[pos..next])));
        }
        if next >= text.len() {
            break;
        }
        if Some(next) == next_asp {
            let rest = &text[next..];
            if rest.starts_with("<%--") {
                pos = rest.find("--%>").map_or(text.len(), |e| next + e + 4);
                continue;
            }
            let end = rest.find("%>").map_or(text.len(), |e| next + e);
            let close = (end + 2).min(text.len());
            if rest.starts_with("<%@") {
                let directive = &text[next..close];
                segments.push(Segment::Tag(collapse_markup(directive)));
                let lower = directive.to_ascii_lowercase();
                // .ashx, .asmx and a WCF .svc with its code inline: what follows is the class.
                if lower.contains("webhandler") || lower.contains("webservice") || lower.contains("servicehost") {
                    rest_is_code =
                        Some(attribute(directive, "language").and_then(dialect_of_language).unwrap_or(default));
                }
                pos = close;
                continue;
            }
            let mut body_start = next + 2;
            if text[body_start..].starts_with(['=', ':', '#']) {
                body_start += 1;
            }
            segments.push(Segment::Tag(text[next..body_start].to_owned()));
            segments.push(Segment::Code(canonical_code(&text[body_start..end.max(body_start)], default)));
            segments.push(Segment::Tag("%>".to_owned()));
            pos = close;
        } else {
            let tag_end = text[next..].find('>').map_or(text.len(), |e| next + e + 1);
            let tag = &text[next..tag_end];
            let server = attribute(tag, "runat").is_some_and(|v| v.eq_ignore_ascii_case("server"));
            if !server {
                // Client script is sent to the browser as markup, but IIS runs `<% %>` blocks
                // wherever they stand, inside a client script too: read on after the tag.
                segments.push(Segment::Markup(collapse_markup(tag)));
                pos = tag_end;
                continue;
            }
            let close = find_ci(text, "</script", tag_end).unwrap_or(text.len());
            let dialect = attribute(tag, "language").and_then(dialect_of_language).unwrap_or(default);
            segments.push(Segment::Tag(collapse_markup(tag)));
            segments.push(Segment::Code(canonical_code(&text[tag_end..close], dialect)));
            segments.push(Segment::Tag("</script>".to_owned()));
            pos = text[close..].find('>').map_or(text.len(), |e| close + e + 1);
        }
    }
    segments
}

/// Markup with whitespace runs made one space (or one newline).
pub(crate) fn collapse_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending: Option<char> = None;
    for ch in text.chars() {
        if ch.is_whitespace() {
            if ch == '\n' || pending.is_none() {
                pending = Some(if ch == '\n' { '\n' } else { ' ' });
            }
            continue;
        }
        if let Some(ws) = pending.take()
            && !out.is_empty()
        {
            out.push(ws);
        }
        out.push(ch);
    }
    out
}

fn is_word(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_' || ch == '"' || ch == '$'
}

/// Whether a walk over canonical code is inside a `"..."` literal (`\\` escapes).
#[derive(Default)]
pub(crate) struct Quotes {
    pub(crate) in_string: bool,
    escaped: bool,
}

impl Quotes {
    /// Take the next character; true when it belongs to a literal, its quotes included.
    pub(crate) fn feed(&mut self, ch: char) -> bool {
        if !self.in_string {
            self.in_string = ch == '"';
            return self.in_string;
        }
        match ch {
            _ if self.escaped => self.escaped = false,
            '\\' => self.escaped = true,
            '"' => self.in_string = false,
            _ => {}
        }
        true
    }
}

/// Writes canonical code: decides on the whitespace between tokens.
struct Writer {
    out: String,
    pending_space: bool,
    pending_newline: bool,
    /// C-like code: a line break inside an expression (after `=`, `+`, `(`, `,`, before `.`,
    /// `+`, `)`) continues the statement, which ends at `;`, and is dropped.
    join_continued: bool,
}

impl Writer {
    fn space(&mut self) {
        self.pending_space = true;
    }

    fn newline(&mut self) {
        self.pending_newline = true;
    }

    /// Whether a line break before `next` is inside an expression.
    fn continues(&self, next: char) -> bool {
        let prev = self.out.chars().next_back();
        let after_operator =
            prev.is_some_and(|p| "=+-*/,(&|?:".contains(p)) && !self.out.ends_with("++") && !self.out.ends_with("--");
        self.join_continued && (after_operator || "+-*/.?:&|)".contains(next))
    }

    fn flush(&mut self, next: char) {
        if self.pending_newline && self.continues(next) {
            self.pending_newline = false;
            self.pending_space = true;
        }
        if self.pending_newline && !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        } else if self.pending_space && !self.pending_newline {
            let prev = self.out.chars().next_back();
            if prev.is_some_and(|p| is_word(p) && is_word(next)) {
                self.out.push(' ');
            }
        }
        self.pending_space = false;
        self.pending_newline = false;
    }

    fn push(&mut self, ch: char) {
        self.flush(ch);
        self.out.push(ch);
    }

    fn literal(&mut self, value: &str) {
        self.flush('"');
        self.out.push('"');
        escape_into(&mut self.out, value);
        self.out.push('"');
    }
}

/// Append `value` escaped for a canonical literal.
pub(crate) fn escape_into(out: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// A canonical literal for `value`.
pub(crate) fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    escape_into(&mut out, value);
    out.push('"');
    out
}

/// The value of a canonical literal's inside (between the quotes).
pub(crate) fn unescape_canonical(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// One region of server code in canonical form.
pub(crate) fn canonical_code(code: &str, dialect: Dialect) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut w = Writer {
        out: String::with_capacity(code.len()),
        pending_space: false,
        pending_newline: false,
        join_continued: dialect == Dialect::CLike,
    };
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\n' {
            w.newline();
            i += 1;
            continue;
        }
        if ch.is_whitespace() {
            w.space();
            i += 1;
            continue;
        }
        match dialect {
            Dialect::Vb => {
                if ch == '\'' {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                if ch == '_' && at(i + 1).is_some_and(|c| c == '\r' || c == '\n' || c == ' ' || c == '\t') {
                    // Line continuation: `_` then only whitespace up to the line end.
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j] == ' ' || chars[j] == '\t' || chars[j] == '\r') {
                        j += 1;
                    }
                    if j >= chars.len() || chars[j] == '\n' {
                        w.space();
                        i = j + 1;
                        continue;
                    }
                }
                if ch == '"' {
                    let (value, next) = vb_string(&chars, i + 1, false);
                    w.literal(&value);
                    i = next;
                    // VB.NET char literal suffix: "a"c.
                    if at(i).is_some_and(|c| c == 'c' || c == 'C') && !at(i + 1).is_some_and(is_word) {
                        i += 1;
                    }
                    continue;
                }
                if (ch == 'r' || ch == 'R')
                    && chars.get(i..i + 3).is_some_and(|s| s.iter().collect::<String>().eq_ignore_ascii_case("rem"))
                    && at(i + 3).is_some_and(char::is_whitespace)
                    && (w.pending_newline || w.out.is_empty() || w.out.ends_with(':'))
                {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
            }
            Dialect::CLike => {
                if ch == '/' && at(i + 1) == Some('/') {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                if ch == '/' && at(i + 1) == Some('*') {
                    i += 2;
                    while i < chars.len() && !(chars[i] == '*' && at(i + 1) == Some('/')) {
                        i += 1;
                    }
                    i = (i + 2).min(chars.len());
                    w.space();
                    continue;
                }
                if ch == '@' && at(i + 1) == Some('"') {
                    let (value, next) = vb_string(&chars, i + 2, true);
                    w.literal(&value);
                    i = next;
                    continue;
                }
                if ch == '"' || ch == '\'' {
                    let (value, next) = c_string(&chars, i + 1, ch);
                    w.literal(&value);
                    i = next;
                    continue;
                }
                // C# and JScript take `\u0041` in an identifier as the letter itself
                // (`\u0041ssembly.\u004Coad`): read the name as the compiler does.
                if ch == '\\'
                    && at(i + 1) == Some('u')
                    && let Some(letter) = identifier_escape(&chars, i + 2)
                {
                    w.push(letter);
                    i += 6;
                    continue;
                }
            }
        }
        w.push(ch);
        i += 1;
    }
    w.out
}

/// The letter a `\uXXXX` escape (its four hex digits at `from`) stands for in an identifier:
/// a letter, digit or `_`; anything else is left as written.
fn identifier_escape(chars: &[char], from: usize) -> Option<char> {
    let digits: String = chars.get(from..from + 4)?.iter().collect();
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let letter = char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?;
    (letter.is_alphanumeric() || letter == '_').then_some(letter)
}

/// A `"..."` string with `""` escapes starting after the opening quote; ends at
/// the closing quote or, unless `multiline` (C# verbatim strings), the line end
/// (unterminated, VBScript).
fn vb_string(chars: &[char], mut i: usize, multiline: bool) -> (String, usize) {
    let mut value = String::new();
    while i < chars.len() {
        match chars[i] {
            '"' if chars.get(i + 1) == Some(&'"') => {
                value.push('"');
                i += 2;
            }
            '"' => return (value, i + 1),
            // VBScript strings do not span lines: an unclosed one (a broken or damaged page)
            // must not swallow the code after it.
            '\n' if !multiline => return (value, i),
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    (value, i)
}

/// A C#/JScript string or char literal with backslash escapes.
fn c_string(chars: &[char], mut i: usize, quote: char) -> (String, usize) {
    let mut value = String::new();
    while i < chars.len() {
        let ch = chars[i];
        if ch == quote {
            return (value, i + 1);
        }
        if ch == '\n' {
            return (value, i);
        }
        if ch != '\\' {
            value.push(ch);
            i += 1;
            continue;
        }
        let Some(&escaped) = chars.get(i + 1) else { break };
        i += 2;
        let hex_run = |from: usize, max: usize| -> (Option<char>, usize) {
            let digits: String = chars[from..].iter().take(max).take_while(|c| c.is_ascii_hexdigit()).collect();
            let len = digits.len();
            (u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32), len)
        };
        match escaped {
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            't' => value.push('\t'),
            '0' => value.push('\0'),
            'x' => {
                let (c, len) = hex_run(i, 4);
                // JScript takes exactly two digits, C# up to four: two is the common ground.
                let (c, len) = if len > 2 { hex_run(i, 2) } else { (c, len) };
                if let Some(c) = c {
                    value.push(c);
                }
                i += len;
            }
            'u' => {
                let (c, len) = hex_run(i, 4);
                if let Some(c) = c {
                    value.push(c);
                }
                i += len;
            }
            other => value.push(other),
        }
    }
    (value, i)
}

/// The body of the `{ ... }` block that `text` starts with (after blanks), without its braces,
/// and whether it was cut at `max` bytes; an unclosed block runs to the end.
pub(crate) fn braced_block(text: &str, max: usize) -> Option<(&str, bool)> {
    let body = text.trim_start().strip_prefix('{')?;
    let mut quotes = Quotes::default();
    let mut depth = 1usize;
    for (i, ch) in body.char_indices() {
        if i > max {
            return Some((&body[..body.floor_char_boundary(max)], true));
        }
        if quotes.feed(ch) {
            continue;
        }
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], false));
                }
            }
            _ => {}
        }
    }
    Some((body, false))
}

/// The text from the opening bracket `text` starts with to its closing one, both included,
/// brackets inside literals left out; `None` when it does not close within `max` bytes.
pub(crate) fn bracketed(text: &str, open: char, close: char, max: usize) -> Option<&str> {
    let mut quotes = Quotes::default();
    let mut depth = 0usize;
    for (i, ch) in text.char_indices().take_while(|(i, _)| *i < max) {
        if quotes.feed(ch) {
            continue;
        }
        if ch == open {
            depth += 1;
        } else if ch == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(&text[..i + close.len_utf8()]);
            }
        }
    }
    None
}

/// A parameter's name: the word before `As` (VB, `ByVal a As T`, canonical `a()As T`), else
/// the last word before any default value (C#, JScript); modifiers alone are no name.
pub(crate) fn parameter_name(piece: &str) -> Option<&str> {
    let before_default = piece.split('=').next().unwrap_or(piece);
    let words: Vec<&str> = before_default
        // Letters beyond ASCII too: the scoper marks procedure locals with one (`nǂ1`).
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_alphabetic() || c == '_'))
        .collect();
    let name = match words.iter().position(|w| w.eq_ignore_ascii_case("as")) {
        Some(at) => words.get(at.checked_sub(1)?)?,
        None => words.last()?,
    };
    let modifier = ["byval", "byref", "optional", "paramarray"].iter().any(|m| name.eq_ignore_ascii_case(m));
    (!modifier).then_some(name)
}

/// Top-level comma-separated pieces of an argument list `(a, f(b, c))`.
pub(crate) fn split_arguments(args: &str) -> Vec<&str> {
    let inner = args.trim().strip_prefix('(').map_or(args, |a| a.strip_suffix(')').unwrap_or(a));
    let mut pieces = Vec::new();
    let (mut depth, mut start, mut in_string) = (0i32, 0usize, false);
    for (i, ch) in inner.char_indices() {
        match ch {
            '"' => in_string = !in_string,
            '(' | '[' | '{' if !in_string => depth += 1,
            ')' | ']' | '}' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                pieces.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&inner[start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_search_finds_every_case_and_respects_the_start() {
        assert_eq!(find_ci("<SCRIPT runat=Server>", "runat", 0), Some(8));
        assert_eq!(find_ci("xRuNaT", "runat", 0), Some(1));
        assert_eq!(find_ci("runat runat", "runat", 1), Some(6));
        assert_eq!(find_ci("run", "runat", 0), None);
        assert_eq!(find_ci("é runat", "runat", 0), Some(3));
    }

    fn code_of(page: &str) -> String {
        segment(page)
            .into_iter()
            .filter_map(|s| match s {
                Segment::Code(c) => Some(c),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn vb_comments_whitespace_and_strings() {
        let page = "<%@ Language=VBScript %>\n<%\r\n  Dim  a ' a comment \"x\"\r\n  a = \"say \"\"hi\"\"\"   &   b\r\nRem gone\r\n Execute  (a)\r\n%>";
        assert_eq!(code_of(page), "Dim a\na=\"say \\\"hi\\\"\"&b\nExecute(a)");
    }

    #[test]
    fn server_blocks_inside_a_client_script_are_code() {
        let page = "<script language=\"VBScript\">\n<% Set o = CreateObject(\"x\") %>\nalert(1)</script><% y = 1 %>";
        assert_eq!(code_of(page), "Set o=CreateObject(\"x\")|y=1");
    }

    #[test]
    fn c_statements_continued_on_more_lines_are_one_line() {
        let page = "<%@ Page Language=\"C#\" %><% string s =\n  \"a\" +\n  x\n  .Trim();\nvar t = @\"l1\nl2\";\ni++\nj = 1; %>";
        assert_eq!(code_of(page), "string s=\"a\"+x.Trim();\nvar t=\"l1\\nl2\";\ni++\nj=1;");
    }

    #[test]
    fn an_unclosed_vb_string_ends_at_its_line() {
        let page = "<%\nu=http://x/\" 'site\nExecute code\n%>";
        assert_eq!(code_of(page), "u=http://x/\" 'site\"\nExecute code");
    }

    #[test]
    fn c_comments_escapes_and_verbatim_strings() {
        let page = "<%@ Page Language=\"C#\" %><% /* x */ var s = \"\\x65v\\u0061l\" + 'x' + @\"a\"\"b\"; // gone\n%>";
        assert_eq!(code_of(page), "var s=\"eval\"+\"x\"+\"a\\\"b\";");
    }

    #[test]
    fn vb_line_continuation_and_char_suffix() {
        let page = "<script runat=\"server\" language=\"vb\">\nDim c = New Char() {\"e\"c, _\n  \"v\"c}\n</script>";
        assert_eq!(code_of(page), "Dim c=New Char(){\"e\",\"v\"}");
    }

    #[test]
    fn server_comments_dropped_client_script_kept_as_markup() {
        let segments = segment("<%-- eval --%><script>var a = 1; // x\n</script><%= x %>");
        assert!(segments.iter().all(|s| !matches!(s, Segment::Code(c) if c.contains("eval"))));
        assert!(segments.iter().any(|s| matches!(s, Segment::Markup(m) if m.contains("// x"))));
        assert!(segments.contains(&Segment::Code("x".to_owned())));
    }

    #[test]
    fn handler_body_after_directive_is_code() {
        let svc = "<%@ ServiceHost Language=\"C#\" Service=\"S\" %>\nusing System;\npublic class S { string M(string a) { return a + \"x\"; } }";
        assert!(segment(svc).iter().any(|s| matches!(s, Segment::Code(c) if c.contains("return a+\"x\";"))));
        let page = "<%@ WebHandler Language=\"C#\" Class=\"H\" %>\nusing System; // c\npublic class H { }";
        assert_eq!(code_of(page), "using System;\npublic class H{}");
    }

    #[test]
    fn html_apostrophes_and_urls_do_not_eat_code() {
        let page = "<p>Don't http://x</p><%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"z\"],\"unsafe\");%>";
        assert_eq!(code_of(page), "eval(Request.Item[\"z\"],\"unsafe\");");
    }

    #[test]
    fn dialect_from_directive_or_text() {
        assert_eq!(page_dialect("<%@ LANGUAGE = \"VBScript.Encode\" %>"), Dialect::Vb);
        assert_eq!(page_dialect("<%@ Page Language='C#' %>"), Dialect::CLike);
        assert_eq!(page_dialect("<% Dim x\nIf a Then\nEnd If %>"), Dialect::Vb);
        assert_eq!(page_dialect("<% var x = 1;\n%>"), Dialect::CLike);
        // Braces and semicolons inside a literal are not C; a page without signs is VB.
        let packed = format!("<%\nDim k\nk=\"{}\"\nExecute(Session(\"k\"))\n%>", "{a;\\n}var ".repeat(50));
        assert_eq!(page_dialect(&packed), Dialect::Vb);
        assert_eq!(page_dialect("<%\nx=replace(y,\"0\",\"\")\neval x\n%>"), Dialect::Vb);
    }

    #[test]
    fn source_detection_cuts_on_a_character_boundary() {
        let mut text = "a".repeat(16 * 1024 - 1);
        text.push('\u{20AC}');
        text.push_str("using System;");
        assert_eq!(source_file_dialect(&text), None);
    }

    #[test]
    fn canonical_literals_round_trip() {
        let value = "a\"b\\c\nd\u{1}";
        let lit = literal(value);
        assert_eq!(unescape_canonical(&lit[1..lit.len() - 1]), value);
    }

    #[test]
    fn escaped_letters_in_c_sharp_names_are_read_as_the_letters() {
        let code = r#"System.Reflection.\u0041ssembly.\u004Coad(\u0062).CreateInstance("\u0055")"#;
        assert_eq!(canonical_code(code, Dialect::CLike), r#"System.Reflection.Assembly.Load(b).CreateInstance("U")"#);
        // An escape that is not a letter, or not four hex digits, stays as written.
        assert_eq!(canonical_code(r"a\u0020b\u00zz", Dialect::CLike), r"a\u0020b\u00zz");
    }
}
