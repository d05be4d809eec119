//! Procedure-local names of VBScript and VB.NET code kept apart.
//!
//! The taint pass follows names across the whole page. A name `Dim`med inside a `Sub` or
//! `Function` (or a parameter of one) is that procedure's own, though: the `x` that holds a
//! posted field in one procedure is not the `x` that holds an XML document in another. Such
//! names get a mark and the procedure's number (`x` becomes `xǂ3`), so each procedure's
//! locals are distinct names; [`unscoped`] takes the mark off again for evidence.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::Quotes;

/// Joins a local name to its procedure's number. A letter, so names stay words (`\w`).
const MARK: char = 'ǂ';

/// Lines a procedure may span before it is left as it is (an unclosed one, a broken page).
const MAX_PROCEDURE_LINES: usize = 5000;

/// The words a procedure header may start with.
const HEADER_WORDS: [&str; 16] = [
    "Function",
    "Sub",
    "Property",
    "Public",
    "Private",
    "Protected",
    "Friend",
    "Shared",
    "Static",
    "Overrides",
    "Overridable",
    "Overloads",
    "Default",
    "Async",
    "Shadows",
    "NotOverridable",
];

/// `[modifiers] Function|Sub|Property Get/Let/Set Name[(parameters)]` at a line's start.
static PROCEDURE_START: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^(?:(?:Public|Private|Friend|Protected|Shared|Static|Overrides|Overridable|Overloads|Default|Async|Shadows|NotOverridable)\s+)*(?:Function|Sub|Property\s+(?:Get|Let|Set))\s+([A-Za-z_]\w*)\s*(?:\(([^()\n]*(?:\([^()\n]*\)[^()\n]*)*)\))?",
    )
});
static PROCEDURE_END: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?im)(?:^|:)\s*End\s+(?:Function|Sub|Property)\b"));
/// A VB.NET multi-line lambda opens inside a procedure and closes with its own `End Sub`.
static LAMBDA_START: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)\b(?:Function|Sub)\s*\([^()\n]*\)\s*$"));
static DIM: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?im)(?:^|:)\s*(?:Dim|Static)\s+([^:\n]+)"));
static EVALUATES: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?i)\b(?:Execute(?:Global)?|Eval)\b"));
static LITERAL: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(crate::normalize::LITERAL_PATTERN));
static WORD: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"[A-Za-z_]\w*"));

/// `code` with the locals of every VB procedure marked with the procedure's number, or
/// `None` when no procedure declares any.
pub(crate) fn scope_vb_locals(code: &str) -> Option<String> {
    if !memchr::memmem::find(code.as_bytes(), b"End ").is_some_and(|_| PROCEDURE_END.is_match(code)) {
        return None;
    }
    let lines: Vec<&str> = code.split_inclusive('\n').collect();
    let mut out = String::with_capacity(code.len() + 64);
    let (mut i, mut number, mut changed) = (0usize, 0usize, false);
    while i < lines.len() {
        let line = lines[i].trim_start();
        // Every procedure header starts with one of these words (Function, Sub, Private, ...).
        let first = line.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
        let header = HEADER_WORDS.iter().any(|w| first.eq_ignore_ascii_case(w));
        let Some(start) = header.then(|| PROCEDURE_START.captures(line)).flatten() else {
            out.push_str(lines[i]);
            i += 1;
            continue;
        };
        let Some(end) = procedure_end(&lines, i) else {
            out.push_str(lines[i]);
            i += 1;
            continue;
        };
        let block = lines[i..=end].concat();
        let own = start[1].to_ascii_lowercase();
        let mut locals: HashSet<String> = HashSet::new();
        if let Some(parameters) = start.get(2) {
            for piece in crate::normalize::split_arguments(&format!("({})", parameters.as_str())) {
                locals.extend(crate::normalize::parameter_name(piece).map(str::to_ascii_lowercase));
            }
        }
        for dim in DIM.captures_iter(&block) {
            for piece in crate::normalize::split_arguments(&format!("({})", &dim[1])) {
                locals.extend(WORD.find(piece.trim()).map(|w| w.as_str().to_ascii_lowercase()));
            }
        }
        locals.remove(&own);
        // Code in a literal run by Execute/Eval (`Execute "r=Eval(a)"`) is read apart from the
        // procedure, where its names are the page's: those names stay unmarked.
        for line in block.lines().filter(|l| l.contains('"') && EVALUATES.is_match(l)) {
            for literal in LITERAL.find_iter(line) {
                for word in WORD.find_iter(literal.as_str()) {
                    locals.remove(&word.as_str().to_ascii_lowercase());
                }
            }
        }
        if locals.is_empty() {
            out.push_str(&block);
        } else {
            number += 1;
            out.push_str(&mark(&block, &locals, number));
            changed = true;
        }
        i = end + 1;
    }
    changed.then_some(out)
}

/// The line that closes the procedure opened at `start` (lambdas inside counted).
fn procedure_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (offset, line) in lines.iter().enumerate().skip(start).take(MAX_PROCEDURE_LINES) {
        if offset > start && PROCEDURE_START.is_match(line.trim_start()) {
            // A procedure opened before this one closed: the page is not what it seems.
            return None;
        }
        if offset > start && LAMBDA_START.is_match(line) {
            depth += 1;
        }
        if PROCEDURE_END.is_match(line) {
            if depth == 0 {
                return Some(offset);
            }
            depth -= 1;
        }
    }
    None
}

/// `block` with each of `locals` (as a name outside literals, not a member after `.`)
/// followed by the mark and `number`.
fn mark(block: &str, locals: &HashSet<String>, number: usize) -> String {
    let mut out = String::with_capacity(block.len() + 32);
    let mut quotes = Quotes::default();
    let mut word_start: Option<usize> = None;
    let flush = |out: &mut String, from: usize, to: usize| {
        let word = &block[from..to];
        out.push_str(word);
        if !block[..from].ends_with('.') && locals.contains(&word.to_ascii_lowercase()) {
            out.push(MARK);
            out.push_str(&number.to_string());
        }
    };
    for (i, ch) in block.char_indices() {
        let in_literal = quotes.feed(ch);
        if !in_literal && (ch.is_alphanumeric() || ch == '_') {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(from) = word_start.take() {
            flush(&mut out, from, i);
        }
        out.push(ch);
    }
    if let Some(from) = word_start {
        flush(&mut out, from, block.len());
    }
    out
}

/// Text of marked code with the marks taken off (`xǂ3` is `x` again).
pub(crate) fn unscoped(text: &str) -> Cow<'_, str> {
    if !text.contains(MARK) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == MARK {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locals_of_each_procedure_are_their_own_names() {
        let code = "Sub Read()\nDim x,j\nx=Split(Request(\"k\"),\"=\")\nEnd Sub\n\
                    Sub Install(p)\nDim x, d(2)\nSet x=CreateObject(\"Microsoft.XMLDOM\")\nFor Each d In x.selectNodes(p)\n\
                    s.SaveToFile d.Text\nNext\nEnd Sub\ny=x";
        let scoped = scope_vb_locals(code).unwrap_or_default();
        assert!(scoped.contains("Dim xǂ1,jǂ1\nxǂ1=Split(Request(\"k\"),\"=\")"), "{scoped}");
        assert!(scoped.contains("Sub Install(pǂ2)\nDim xǂ2, dǂ2(2)\nSet xǂ2=CreateObject(\"Microsoft.XMLDOM\")"));
        assert!(scoped.contains("For Each dǂ2 In xǂ2.selectNodes(pǂ2)\ns.SaveToFile dǂ2.Text"), "{scoped}");
        assert!(scoped.ends_with("End Sub\ny=x"), "names outside procedures are the page's");
        assert_eq!(unscoped(&scoped), code);
    }

    #[test]
    fn literals_members_and_the_procedures_own_name_are_left() {
        let code = "Function g(a)\nDim g2,b\ng=a&\"a b\"&o.b\nEnd Function";
        assert_eq!(
            scope_vb_locals(code).as_deref(),
            Some("Function g(aǂ1)\nDim g2ǂ1,bǂ1\ng=aǂ1&\"a b\"&o.b\nEnd Function")
        );
        let vbnet = "Protected Sub Page_Load(ByVal sender As Object,ByVal e As EventArgs)\n\
                     Dim h = Sub(x)\nDim q=1\nEnd Sub\nDim t As String=e.ToString()\nEnd Sub\nt=1";
        let scoped = scope_vb_locals(vbnet).unwrap_or_default();
        assert!(scoped.contains("Dim tǂ1 As String=eǂ1.ToString()\nEnd Sub\nt=1"), "{scoped}");
        assert_eq!(scope_vb_locals("Sub a()\nx=1\nEnd Sub"), None, "nothing declared");
        let evaluated = "Function P(a)\nDim r,o\nExecute \"r=Eval(a)\"\no=a\nEnd Function";
        assert_eq!(
            scope_vb_locals(evaluated).as_deref(),
            Some("Function P(a)\nDim r,oǂ1\nExecute \"r=Eval(a)\"\noǂ1=a\nEnd Function"),
            "names of code in a literal are the page's"
        );
        assert_eq!(scope_vb_locals("Sub a(b)\nx=b"), None, "an unclosed procedure is left");
    }
}
