//! Razor views (`.cshtml`, `.vbhtml`): ASP.NET MVC and Web Pages run the code in them on the
//! server like a page's, with `@` in place of `<% %>`.
//!
//! C# Razor: `@{ ... }`, `@functions { ... }` and `@code { ... }` blocks, control blocks
//! (`@if (...) { ... }`, `@foreach`, `@using`, ...), explicit `@( ... )` and implicit
//! `@Name.Member(...)` expressions. VB Razor: `@Code ... End Code`, `@Functions ... End
//! Functions`, `@If ... End If` and the other blocks, and `@expression`. The code is cut out
//! of the markup and canonicalised as the page's code; markup lines inside a block (`<p>`,
//! `@:` text) are left out of it.

use std::sync::LazyLock;

use regex::Regex;

use super::lexer::{Dialect, Segment, braced_block, bracketed, canonical_code, collapse_markup};

/// Bytes of one Razor block read as code.
const MAX_BLOCK: usize = 256 * 1024;

/// Bytes the reader may scan looking for the ends of constructs, per byte of the view: an
/// unclosed `@(` or `@If` scans far, and a view of thousands of them would scan without end.
const SCAN_PER_BYTE: usize = 16;

/// What is left of the bytes the reader may scan.
struct Budget(std::cell::Cell<usize>);

impl Budget {
    /// Take `bytes`; false once the budget is spent.
    fn spend(&self, bytes: usize) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(bytes));
        left >= bytes
    }

    fn spent(&self) -> bool {
        self.0.get() == 0
    }
}

static CSHARP_MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?m)(?:^|[\s>;}])@(?:\{|(?:functions|code)\s*\{|(?:using|model|inherits|inject|page)\s+[A-Za-z_])",
    )
});
static VB_MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"(?im)(?:^|[\s>])@(?:Code|Functions)\s*$|^@(?:ModelType|Imports|Inherits)\s+[A-Za-z_]")
});

/// Compile the patterns now (see `normalize::warm`): by reading two small views.
pub(crate) fn warm() {
    let _ = razor_dialect("@{ }");
    let _ = razor_segments("@{ var a = 1; }\n@if (a) { b(); }\n@A.B(c)[0] @(d)", Dialect::CLike);
    let _ = razor_segments("@Code\nDim a = 1\nEnd Code\n@If a Then\nb()\nEnd If\n@A.B(c)", Dialect::Vb);
}

/// The Razor dialect of a text without `<% %>` markers, if it is a Razor view.
pub(crate) fn razor_dialect(text: &str) -> Option<Dialect> {
    let head = &text[..text.floor_char_boundary(64 * 1024)];
    if VB_MARKERS.is_match(head) {
        Some(Dialect::Vb)
    } else if CSHARP_MARKERS.is_match(head) {
        Some(Dialect::CLike)
    } else {
        None
    }
}

/// A Razor view cut into markup and canonical code, and whether the reader stopped looking for
/// code before the end (its scan budget spent; the rest is markup).
pub(crate) fn razor_segments(text: &str, dialect: Dialect) -> (Vec<Segment>, bool) {
    let budget = Budget(std::cell::Cell::new(text.len().saturating_mul(SCAN_PER_BYTE).max(MAX_BLOCK)));
    // VB blocks end with keywords, looked for case-insensitively in one lower-cased copy.
    let lower = if dialect == Dialect::Vb { text.to_ascii_lowercase() } else { String::new() };
    let mut segments = Vec::new();
    let mut markup_from = 0;
    let mut pos = 0;
    while let Some(offset) = text[pos..].find('@') {
        let at = pos + offset;
        pos = at + 1;
        // `name@host` and `@@` are text.
        if text[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '@' || c == '_') {
            continue;
        }
        let found = match dialect {
            Dialect::CLike => csharp_code_at(text, at + 1, &budget),
            Dialect::Vb => vb_code_at(text, &lower, at + 1, &budget),
        };
        if budget.spent() {
            break;
        }
        let Some((code, end)) = found else { continue };
        if markup_from < at {
            segments.push(Segment::Markup(collapse_markup(&text[markup_from..at])));
        }
        segments.push(Segment::Code(canonical_code(&without_markup_lines(&code), dialect)));
        markup_from = end;
        pos = end;
    }
    if markup_from < text.len() {
        segments.push(Segment::Markup(collapse_markup(&text[markup_from..])));
    }
    (segments, budget.spent())
}

/// C# code that starts after an `@` at `from`, and where it ends.
fn csharp_code_at(text: &str, from: usize, budget: &Budget) -> Option<(String, usize)> {
    static KEYWORD_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(r"^(?:functions|code|if|foreach|for|while|using|switch|lock|try|do)\b[^{\n]{0,400}")
    });
    static IMPLICIT: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"));
    let rest = &text[from..];
    if rest.starts_with('{') {
        let (body, _) = braced_block(rest, MAX_BLOCK)?;
        budget.spend(body.len());
        // An unclosed block runs to the text's end.
        return Some((body.to_owned(), (from + 1 + body.len() + 1).min(text.len())));
    }
    if rest.starts_with('(') {
        let inner = balanced(rest, '(', ')', budget)?;
        return Some((inner.to_owned(), from + inner.len()));
    }
    if let Some(header) = KEYWORD_BLOCK.find(rest) {
        let open = from + header.end();
        if text[open..].starts_with('{') {
            let (body, _) = braced_block(&text[open..], MAX_BLOCK)?;
            budget.spend(body.len());
            let keyword = header.as_str().trim();
            // `@functions { ... }` holds members; a control block is a statement with its body.
            let code = if keyword.starts_with("functions") || keyword.starts_with("code") {
                body.to_owned()
            } else {
                format!("{keyword}{{\n{body}\n}}")
            };
            return Some((code, (open + 1 + body.len() + 1).min(text.len())));
        }
        return None;
    }
    // An implicit expression: a name, members, calls and indexers (`@Request.Form["x"]`).
    let name = IMPLICIT.find(rest)?;
    if matches!(name.as_str(), "model" | "using" | "inherits" | "inject" | "page" | "section" | "helper") {
        return None;
    }
    let mut end = name.end();
    while let Some(next) = rest[end..].chars().next() {
        let piece = match next {
            '(' => balanced(&rest[end..], '(', ')', budget),
            '[' => balanced(&rest[end..], '[', ']', budget),
            '.' => IMPLICIT.find(&rest[end + 1..]).map(|m| &rest[end..end + 1 + m.end()]),
            _ => None,
        };
        let Some(piece) = piece else { break };
        end += piece.len();
    }
    Some((format!("{};", &rest[..end]), from + end))
}

/// VB code that starts after an `@` at `from`, and where it ends.
fn vb_code_at(text: &str, lower: &str, from: usize, budget: &Budget) -> Option<(String, usize)> {
    static BLOCK: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"(?i)^(Code|Functions|If|For|While|Do|Select|Using|Try|With)\b"));
    static IMPLICIT: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"));
    let rest = &text[from..];
    if let Some(keyword) = BLOCK.captures(rest) {
        let word = keyword[1].to_ascii_lowercase();
        // `@Code` ... `End Code`; `@If` ... `End If`; `@For` ... `Next`; `@Do` ... `Loop`.
        let close = match word.as_str() {
            "for" => "next".to_owned(),
            "do" => "loop".to_owned(),
            "while" => "end while".to_owned(),
            _ => format!("end {word}"),
        };
        let window = &lower[from..lower.floor_char_boundary(from + MAX_BLOCK)];
        let end = window.match_indices(&close).find(|(i, _)| {
            window[..*i].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
                && window[i + close.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric())
        });
        budget.spend(end.map_or(window.len(), |(i, _)| i));
        let end = end?;
        let block_end = end.0 + close.len();
        let code = if word == "code" || word == "functions" {
            rest[keyword[0].len()..end.0].to_owned()
        } else {
            rest[..block_end].to_owned()
        };
        return Some((code, from + block_end));
    }
    if rest.starts_with('(') {
        let inner = balanced(rest, '(', ')', budget)?;
        return Some((inner.to_owned(), from + inner.len()));
    }
    let name = IMPLICIT.find(rest)?;
    if matches!(
        name.as_str().to_ascii_lowercase().as_str(),
        "modeltype" | "imports" | "inherits" | "section" | "helper"
    ) {
        return None;
    }
    let mut end = name.end();
    while rest[end..].starts_with('(') {
        let Some(call) = balanced(&rest[end..], '(', ')', budget) else { break };
        end += call.len();
        if rest[end..].starts_with('.')
            && let Some(member) = IMPLICIT.find(&rest[end + 1..])
        {
            end += 1 + member.end();
        }
    }
    Some((rest[..end].to_owned(), from + end))
}

/// The text from an opening bracket to its closing one, both included, outside literals; what
/// was scanned is taken from the budget.
fn balanced<'t>(text: &'t str, open: char, close: char, budget: &Budget) -> Option<&'t str> {
    let found = bracketed(text, open, close, MAX_BLOCK);
    budget.spend(found.map_or(text.len().min(MAX_BLOCK), str::len));
    found
}

/// Code without the markup lines Razor allows inside blocks (`<p>...</p>`, `@:text`).
fn without_markup_lines(code: &str) -> String {
    code.lines()
        .filter(|line| {
            let line = line.trim_start();
            (line.starts_with("<<") || !line.starts_with('<')) && !line.starts_with("@:")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> String {
        let dialect = razor_dialect(text).unwrap_or_else(|| panic!("not Razor: {text}"));
        razor_segments(text, dialect)
            .0
            .into_iter()
            .filter_map(|s| match s {
                Segment::Code(code) => Some(code),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn csharp_razor_blocks_and_expressions_are_code() {
        let view = "@using System.Diagnostics\n@{\n    var c = Request.Headers[\"X-Trace\"];\n    <p>hi</p>\n}\n\
                    <div>@Request.Form[\"n\"].Trim() mail a@b.com @@x</div>\n@if (c != null) {\n    Process.Start(\"cmd.exe\", \"/c \" + c);\n}\n\
                    @functions {\n    string Run(string s) { return s; }\n}\n<span>@(ViewBag.Title + \"!\")</span>";
        let code = code_of(view);
        assert!(code.contains("var c=Request.Headers[\"X-Trace\"];"), "{code}");
        assert!(!code.contains("<p>"), "markup lines inside blocks are not code: {code}");
        assert!(code.contains("Request.Form[\"n\"].Trim();"), "{code}");
        assert!(code.contains("if(c!=null){"), "{code}");
        assert!(code.contains("Process.Start(\"cmd.exe\",\"/c \"+c);"), "{code}");
        assert!(code.contains("string Run(string s){return s;}"), "{code}");
        assert!(code.contains("(ViewBag.Title+\"!\")"), "{code}");
        assert!(!code.contains("b.com"), "an address is text: {code}");
    }

    #[test]
    fn vb_razor_blocks_are_code() {
        let view = "@ModelType Site.Models.Page\n@Code\n    Dim f = Request.Form(\"feedback\")\nEnd Code\n<p>@f</p>\n\
                    @If f <> \"\" Then\n    CreateObject(\"WScript.Shell\").Exec(f)\nEnd If";
        let code = code_of(view);
        assert!(code.contains("Dim f=Request.Form(\"feedback\")"), "{code}");
        assert!(code.contains("If f<>\"\" Then"), "{code}");
        assert!(code.contains("CreateObject(\"WScript.Shell\").Exec(f)"), "{code}");
        assert!(code.contains("End If"), "{code}");
    }

    #[test]
    fn razor_views_are_read_as_pages() {
        let view = "@Code\n    Dim fb As String = Request.Form(\"fb\")\nEnd Code\n<p>@fb</p>";
        let normalized = super::super::normalize(view.as_bytes()).unwrap_or_else(|| panic!("no code"));
        assert!(normalized.code.contains("Dim fb As String=Request.Form(\"fb\")"), "{}", normalized.code);
        assert!(!normalized.source_file);
    }

    #[test]
    fn unclosed_blocks_run_to_the_end() {
        // Found by the webshell_page fuzz target: the end of an unclosed block was read past
        // the text's end.
        for view in ["@{\nvar a=Request[\"x\"];", "<p>x</p>\n@if (a) {\nb();", "@functions {"] {
            let (segments, _) = razor_segments(view, Dialect::CLike);
            assert!(segments.iter().any(|s| matches!(s, Segment::Code(_))), "{view}");
        }
    }

    #[test]
    fn a_view_of_unclosed_constructs_spends_a_bounded_scan() {
        // Each unclosed `@(` would scan to the end: the budget stops the reader, and says so.
        let hostile = "@(".repeat(200_000);
        let (segments, limited) = razor_segments(&hostile, Dialect::CLike);
        assert!(limited && segments.iter().any(|s| matches!(s, Segment::Markup(_))));
        let vb = "@If x Then\n".repeat(50_000);
        assert!(razor_segments(&vb, Dialect::Vb).1);
        assert!(!razor_segments("@Code\nDim a=1\nEnd Code", Dialect::Vb).1);
    }

    #[test]
    fn pages_without_razor_are_not_razor() {
        assert_eq!(razor_dialect("<style>@media print { body { x: 1 } }</style> write to a@b.com"), None);
        assert_eq!(razor_dialect("@font-face { font-family: x; }"), None);
    }
}
