//! The page's own character decoders, run on the literals they are called with.
//!
//! Obfuscated pages hide names behind small procedures that make each character from a
//! number or from another character: `Part(114,101,103)` with `s &= Chr(c)` over a
//! `ParamArray`, `Dec("X~xyjr", 5)` with `(char)(c - k)`. A procedure counts as such a decoder
//! when its body makes characters (`Chr`, `ChrW`, `(char)`, `fromCharCode`) from a shift or
//! XOR of a constant or of one of its parameters; each call on literals is replaced by the
//! text it returns, so the rules and the data-flow engine see the names.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::lexer::{literal, unescape_canonical};

/// At most this many decoders are read per page, and this much of each body.
pub(crate) const MAX_DECODERS: usize = 16;
const MAX_BODY: usize = 1500;

/// VB `Function Name(params)` ... `End Function`; C-like `Name(params){` (C#, JScript).
static VB_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?im)^(?:(?:Public|Private|Friend|Shared|Static)\s+)*Function\s+([A-Za-z_]\w*)\s*\(([^()\n]*(?:\(\)[^()\n]*)*)\)",
    )
});
/// Calls that make a character or reverse a text, found fast.
static MAKER: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)\bChr[WB]?\s*\(|\(char\)|\bfromCharCode\b|\bConvert\.ToChar\b|\bArray\.Reverse\(|\bStrReverse\(|\.reverse\(\)",
    )
});
static VB_END: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?i)\bEnd\s+Function\b"));
static C_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"\b(?:function\s+|[A-Za-z_][\w.<>\[\]]*\s+)([A-Za-z_$][\w$]*)\s*\(([^()\n]*)\)\s*\{")
});
/// An array of numbers written in place: VB.NET `New Integer(){...}`, C# `new int[]{...}` /
/// `new[]{...}`, VBScript `Array(...)`, JScript `[...]`.
static NUMBER_ARRAY: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^(?:New\s+\w+\(\)\s*\{([\d,\s]+)\}|new\s*\w*\[\]\s*\{([\d,\s]+)\}|Array\(([\d,\s]+)\)|\[([\d,\s]+)\])$",
    )
});
static LITERAL_ARGUMENT: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(&format!("^{}$", super::fold::STR)));

/// How a decoder makes each character from the code of its input (`x`): an arithmetic
/// expression of `x`, integer constants and at most one of its parameters (`p`), as
/// `ChrW((n Xor 19) - 3)`, `(char)(c - k)` or `String.fromCharCode(s.charCodeAt(i) ^ 7)` write it.
#[derive(Debug, Clone, PartialEq)]
struct CharExpr {
    tokens: Vec<Token>,
    /// The parameter the expression reads, by position.
    parameter: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    X,
    P,
    Number(i64),
    /// `+ - * / %` and `x` for exclusive or.
    Op(char),
    Open,
    Close,
}

/// Compile the patterns now (see `normalize::warm`): by running the reader on a small page.
pub(crate) fn warm() {
    let page = "Function W(ParamArray c())\nFor Each v In c\ns=s&Chr(v Xor 1)\nNext\nW=s\nEnd Function\n\
                static string R(string s){char[]a=s.ToCharArray();Array.Reverse(a);return new string(a);}";
    let _ = Decoders::of([page].into_iter()).apply("x=W(64,67)&R(\"cba\")&W(New Integer(){64})");
}

/// The text between a parenthesis that `text` starts with and its match.
fn inside_parentheses(text: &str) -> Option<&str> {
    super::bracketed(text, '(', ')', 400).map(|b| &b[1..b.len() - 1])
}

/// What a decoder does to its input.
#[derive(Debug)]
enum Make {
    /// Makes each character by an expression of the input's code.
    Characters(CharExpr),
    /// Reverses the text (`char[] a = s.ToCharArray(); Array.Reverse(a); return new string(a);`).
    Reverse,
}

/// The character decoders a page defines.
#[derive(Debug, Default)]
pub(crate) struct Decoders {
    /// By lower-case name.
    found: HashMap<String, Make>,
    /// More decoders were defined than [`MAX_DECODERS`].
    pub(crate) capped: bool,
}

impl Decoders {
    /// The decoders defined in the page's code regions.
    pub(crate) fn of<'a>(regions: impl Iterator<Item = &'a str>) -> Decoders {
        let mut decoders = Decoders::default();
        for region in regions {
            // Where characters are made: a definition counts only with one within its body's reach.
            let makers: Vec<usize> = MAKER.find_iter(region).map(|m| m.start()).collect();
            if makers.is_empty() {
                continue;
            }
            let near_maker = |start: usize| {
                let first = makers.partition_point(|&at| at < start);
                makers.get(first).is_some_and(|&at| at < start + MAX_BODY)
            };
            let mut definitions: Vec<(String, String, String, bool)> = Vec::new();
            for c in VB_FUNCTION.captures_iter(region) {
                let Some(start) = c.get(0).filter(|m| near_maker(m.end())) else { continue };
                let rest = &region[start.end()..region.floor_char_boundary(start.end() + MAX_BODY)];
                if let Some(end) = VB_END.find(rest) {
                    definitions.push((c[1].to_owned(), c[2].to_owned(), rest[..end.start()].to_owned(), true));
                }
            }
            for c in C_FUNCTION.captures_iter(region) {
                let Some(start) = c.get(0).filter(|m| near_maker(m.end())) else { continue };
                if let Some((body, false)) = super::braced_block(&region[start.end() - 1..], MAX_BODY) {
                    definitions.push((c[1].to_owned(), c[2].to_owned(), body.to_owned(), false));
                }
            }
            for (name, parameters, body, vb) in definitions {
                let make = match char_expression(&body, &parameters, vb) {
                    Some(expression) => Make::Characters(expression),
                    None if reverses(&body, &parameters) => Make::Reverse,
                    None => continue,
                };
                if decoders.found.len() == MAX_DECODERS {
                    decoders.capped = true;
                    return decoders;
                }
                decoders.found.entry(name.to_ascii_lowercase()).or_insert(make);
            }
        }
        decoders
    }

    /// `code` with every call of a decoder on literals replaced by the text it returns.
    pub(crate) fn apply(&self, code: &str) -> Option<String> {
        // One pattern for every call, the name looked up: no regex compiled per decoder.
        static CALL: LazyLock<Regex> =
            LazyLock::new(|| crate::pattern::builtin(r"(^|[^.\w$])([A-Za-z_]\w*)\(((?:[^()\n]|\(\))*)\)"));
        if self.found.is_empty() {
            return None;
        }
        let replaced = CALL.replace_all(code, |c: &regex::Captures<'_>| {
            let decoded = self.found.get(&c[2].to_ascii_lowercase()).and_then(|make| decode(make, &c[3]));
            match decoded {
                Some(text) => format!("{}{}", &c[1], literal(&text)),
                None => c[0].to_owned(),
            }
        });
        (replaced != code).then(|| replaced.into_owned())
    }
}

/// Whether a one-parameter body reverses its text and does nothing else to it.
fn reverses(body: &str, parameters: &str) -> bool {
    static REVERSE: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"(?i)\bArray\.Reverse\(|\bStrReverse\(|\.reverse\(\)|\.Reverse\(\)"));
    static OTHER_WORK: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r#"(?i)\bChr[WB]?\s*\(|\(char\)|fromCharCode|\bReplace\(|\.replace\(|\bMid\(|Substring\(|"[^"]+""#,
        )
    });
    !parameters.contains(',') && body.len() <= 400 && REVERSE.is_match(body) && !OTHER_WORK.is_match(body)
}

/// The text a decoder call on literals returns.
fn decode(make: &Make, arguments: &str) -> Option<String> {
    match make {
        Make::Characters(expression) => decode_call(expression, arguments),
        Make::Reverse => {
            let c = LITERAL_ARGUMENT.captures(arguments.trim())?;
            printable(unescape_canonical(&c[1]).chars().rev().collect())
        }
    }
}

/// How the body makes its characters, when it makes them in a loop over its input.
fn char_expression(body: &str, parameters: &str, vb: bool) -> Option<CharExpr> {
    static LOOP: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"(?i)\bFor\b|\bforeach\b|\bwhile\b|\.Select\(|\.map\("));
    // What stands for the input's character code: Asc/AscW of a piece, charCodeAt, an int cast.
    static CODE_OF: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r"(?i)\bAsc[WB]?\s*\((?:[^()]|\([^()]*\))*\)|[A-Za-z_][\w.]*\.charCodeAt\([^()]*\)|\(int\)\s*[A-Za-z_]\w*(?:\[[^\]]*\])?|\bConvert\.ToInt32\([^()]*\)",
        )
    });
    if !LOOP.is_match(body) {
        return None;
    }
    let maker = MAKER.find(body)?;
    let after = &body[maker.end()..];
    // `Chr(` ends at its parenthesis; `(char)` is followed by a parenthesised or bare operand.
    let argument = if maker.as_str().ends_with('(') {
        inside_parentheses(&body[maker.end() - 1..])?
    } else if after.trim_start().starts_with('(') {
        inside_parentheses(after.trim_start())?
    } else {
        let name = after.trim_start();
        &name[..name.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(name.len())]
    };
    let argument = CODE_OF.replace_all(argument, " X ");
    let names: Vec<String> =
        parameters.split(',').filter_map(super::parameter_name).map(str::to_ascii_lowercase).collect();
    let mut tokens = Vec::new();
    let (mut parameter, mut input): (Option<usize>, Option<String>) = (None, None);
    let mut chars = argument.char_indices().peekable();
    while let Some((at, ch)) = chars.next() {
        match ch {
            ' ' | '\t' => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '+' | '-' | '*' | '/' | '\\' | '%' => tokens.push(Token::Op(if ch == '\\' { '/' } else { ch })),
            // `^` is VB's power, C#'s and JScript's exclusive or.
            '^' if !vb => tokens.push(Token::Op('x')),
            '0'..='9' => {
                let mut end = at + 1;
                while chars.peek().is_some_and(|(_, c)| c.is_ascii_digit()) {
                    end = chars.next().map_or(end, |(i, c)| i + c.len_utf8());
                }
                tokens.push(Token::Number(argument[at..end].parse().ok()?));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = at + c.len_utf8();
                while chars.peek().is_some_and(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.') {
                    end = chars.next().map_or(end, |(i, c)| i + c.len_utf8());
                }
                let word = argument[at..end].to_ascii_lowercase();
                match word.as_str() {
                    "xor" => tokens.push(Token::Op('x')),
                    "mod" => tokens.push(Token::Op('%')),
                    "x" if &argument[at..end] == "X" => tokens.push(Token::X),
                    _ => {
                        if let Some(index) = names.iter().position(|n| *n == word) {
                            // The loop reads the input; a parameter read in the expression is the key.
                            if names.len() > 1 && index > 0 {
                                if parameter.replace(index).is_some_and(|p| p != index) {
                                    return None;
                                }
                                tokens.push(Token::P);
                                continue;
                            }
                        }
                        // Anything else is the loop's item: one name only, indexed or not.
                        if input.get_or_insert_with(|| word.clone()) != &word {
                            return None;
                        }
                        if chars.peek().is_some_and(|(_, c)| *c == '(' || *c == '[') {
                            let (open, _) = chars.next()?;
                            let close = if argument[open..].starts_with('(') { ')' } else { ']' };
                            for (_, c) in chars.by_ref() {
                                if c == close {
                                    break;
                                }
                            }
                        }
                        tokens.push(Token::X);
                    }
                }
            }
            _ => return None,
        }
    }
    let make = CharExpr { tokens, parameter };
    // It must compute: one input code gives one number.
    evaluate(&make.tokens, 65, 1).map(|_| make)
}

/// The value of the expression for input code `x` and parameter `p` (`*` `/` `%` before `+`
/// `-`, before exclusive or), `None` when it does not compute.
fn evaluate(tokens: &[Token], x: i64, p: i64) -> Option<i64> {
    fn level(tokens: &[Token], at: &mut usize, x: i64, p: i64, depth: u8) -> Option<i64> {
        let ops: &[char] = match depth {
            0 => &['x'],
            1 => &['+', '-'],
            _ => &['*', '/', '%'],
        };
        let mut value = if depth == 2 { operand(tokens, at, x, p)? } else { level(tokens, at, x, p, depth + 1)? };
        while let Some(Token::Op(op)) =
            tokens.get(*at).copied().filter(|t| matches!(t, Token::Op(o) if ops.contains(o)))
        {
            *at += 1;
            let right = if depth == 2 { operand(tokens, at, x, p)? } else { level(tokens, at, x, p, depth + 1)? };
            value = match op {
                'x' => value ^ right,
                '+' => value.checked_add(right)?,
                '-' => value.checked_sub(right)?,
                '*' => value.checked_mul(right)?,
                '/' => value.checked_div(right)?,
                _ => value.checked_rem(right)?,
            };
        }
        Some(value)
    }
    fn operand(tokens: &[Token], at: &mut usize, x: i64, p: i64) -> Option<i64> {
        let token = *tokens.get(*at)?;
        *at += 1;
        match token {
            Token::X => Some(x),
            Token::P => Some(p),
            Token::Number(n) => Some(n),
            Token::Op('-') => operand(tokens, at, x, p)?.checked_neg(),
            Token::Open => {
                let value = level(tokens, at, x, p, 0)?;
                (tokens.get(*at) == Some(&Token::Close)).then(|| *at += 1)?;
                Some(value)
            }
            _ => None,
        }
    }
    if !tokens.contains(&Token::X) {
        return None;
    }
    let mut at = 0;
    let value = level(tokens, &mut at, x, p, 0)?;
    (at == tokens.len()).then_some(value)
}

/// The text a decoder call returns: a literal made over character by character, or a list of
/// numbers made into characters; `None` unless it is all printable text with a letter and
/// differs from its input.
fn decode_call(make: &CharExpr, arguments: &str) -> Option<String> {
    let args: Vec<&str> = super::split_arguments(arguments);
    let number = |text: &str| -> Option<i64> { text.trim().parse().ok() };
    let p = match make.parameter {
        Some(index) => number(args.get(index)?)?,
        None => 0,
    };
    let apply = |n: i64| -> Option<char> { char::from_u32(u32::try_from(evaluate(&make.tokens, n, p)?).ok()?) };
    // One array of numbers as the argument: `D(New Integer(){261,249})`, `d(new[]{83,65})`.
    if let Some(c) = NUMBER_ARRAY.captures(args.first()?.trim()) {
        let list = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)).or_else(|| c.get(4))?;
        let numbers: Option<Vec<i64>> = list.as_str().split(',').map(number).collect();
        return printable(numbers?.into_iter().map(apply).collect::<Option<_>>()?);
    }
    if let Some(c) = LITERAL_ARGUMENT.captures(args.first()?.trim()) {
        let input = unescape_canonical(&c[1]);
        let text: String = input.chars().map(|ch| apply(i64::from(u32::from(ch)))).collect::<Option<_>>()?;
        return if text == input { None } else { printable(text) };
    }
    // A list of numbers as the arguments (`ParamArray`), the parameter's own left out.
    let numbers: Option<Vec<i64>> =
        args.iter().enumerate().filter(|(i, _)| Some(*i) != make.parameter).map(|(_, a)| number(a)).collect();
    let numbers = numbers?;
    if numbers.len() < 2 {
        return None;
    }
    printable(numbers.into_iter().map(apply).collect::<Option<_>>()?)
}

/// The text when it is all printable ASCII with a letter.
fn printable(text: String) -> Option<String> {
    (text.len() >= 2 && text.chars().all(|c| matches!(c, ' '..='~')) && text.chars().any(|c| c.is_ascii_alphabetic()))
        .then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(definition: &str, code: &str) -> Option<String> {
        Decoders::of([definition].into_iter()).apply(code)
    }

    #[test]
    fn decoders_of_numbers_and_shifted_literals_run_on_their_calls() {
        let part = "Private Function Part(ByVal ParamArray codes()As Integer)As String\nDim s As String=\"\"\n\
                    For Each c As Integer In codes\ns&=Chr(c)\nNext\nReturn s\nEnd Function";
        assert_eq!(decoded(part, "t=Part(114,101,103,46,101,120,101)&x").as_deref(), Some("t=\"reg.exe\"&x"));
        let dec = "private static string Dec(string s,int k)\n{\nvar sb=new StringBuilder(s.Length);\n\
                   foreach(char c in s)sb.Append((char)(c-k));\nreturn sb.ToString();\n}";
        assert_eq!(
            decoded(dec, "Type t=m.GetType(Dec(\"\\\\ns87dUwthjxx\",5));").as_deref(),
            Some("Type t=m.GetType(\"Win32_Process\");")
        );
        let js =
            "function u(s){var o=\"\";for(var i=0;i<s.length;i++)o+=String.fromCharCode(s.charCodeAt(i)^7);return o;}";
        assert_eq!(decoded(js, "x=u(\"Dhu\")").as_deref(), Some("x=\"Cor\""));
        // Not decoders: no loop, or calls on what is not a literal, or text that is not text.
        assert_eq!(decoded("Function One(c)\nOne=Chr(c)\nEnd Function", "a=One(65,66)"), None);
        assert_eq!(decoded(part, "t=Part(a,b)"), None);
        assert_eq!(decoded(part, "t=Part(1,2,3)"), None);
        let reverse = "static string T(string s){char[]a=s.ToCharArray();Array.Reverse(a);return new string(a);}";
        assert_eq!(
            decoded(reverse, "Type pt=sys.GetType(T(\"ssecorP.scitsongaiD.metsyS\"));").as_deref(),
            Some("Type pt=sys.GetType(\"System.Diagnostics.Process\");")
        );
        let vb_reverse = "Function R(v)\nR=StrReverse(v)\nEnd Function";
        assert_eq!(decoded(vb_reverse, "x=R(\"llehS.tpircSW\")").as_deref(), Some("x=\"WScript.Shell\""));
        let not_only =
            "static string T(string s){char[]a=s.Substring(1).ToCharArray();Array.Reverse(a);return new string(a);}";
        assert_eq!(decoded(not_only, "x=T(\"abc\")"), None, "more than a reversal");
        let chained = "Function Q(ParamArray v()As Integer)As String\nDim sb As New System.Text.StringBuilder()\n\
                       For Each n As Integer In v\nsb.Append(ChrW((n Xor 19)-3))\nNext\nReturn sb.ToString()\nEnd Function";
        let codes: Vec<String> = "cmd.exe".chars().map(|c| ((u32::from(c) + 3) ^ 19).to_string()).collect();
        assert_eq!(decoded(chained, &format!("f=Q({})", codes.join(","))).as_deref(), Some("f=\"cmd.exe\""));
        let thirds = "Function D(ByVal a()As Integer)As String\nDim s As String=\"\"\nFor Each n As Integer In a\ns&=ChrW(n\\3)\nNext\nReturn s\nEnd Function";
        assert_eq!(
            decoded(thirds, "o=CreateObject(D(New Integer(){261,249,297,342,315,336,348,138,249,312,303,324,324}))")
                .as_deref(),
            Some("o=CreateObject(\"WScript.Shell\")")
        );
        let hex = "Function cd(ByVal s,ByVal key)\nFor i=1 To Len(s)Step 2\nc=Mid(s,i,2)\ncd=cd&Chr((\"&H\"&c)-p)\nNext\nEnd Function";
        assert_eq!(decoded(hex, "Execute cd(\"hwem+sirx\",\"1314\")"), None, "a shift this reading cannot follow");
        // A body cut inside a character is cut before it.
        let body = "\nFor Each v In c\ns&=Chr(v)\nNext\n";
        let long = format!(
            "Function P(ByVal ParamArray c()As Integer){body}{}é\nEnd Function",
            "x".repeat(MAX_BODY - body.len() - 1)
        );
        assert_eq!(decoded(&long, "t=P(65,66)"), None);
    }
}
