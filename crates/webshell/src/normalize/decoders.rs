//! The page's own character decoders, run on the literals they are called with.
//!
//! Obfuscated pages hide names behind small procedures that make each character from a
//! number or from another character: `Part(114,101,103)` with `s &= Chr(c)` over a
//! `ParamArray`, `Dec("X~xyjr", 5)` with `(char)(c - k)`. A procedure counts as such a decoder
//! when its body makes characters (`Chr`, `ChrW`, `(char)`, `fromCharCode`) from a shift or
//! XOR of a constant or of one of its parameters; each call on literals is replaced by the
//! text it returns, so the rules and the data-flow engine see the names.

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
/// Calls that make a character (see [`MAKES_CHARACTER`]), found fast.
static MAKER: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)\bChr[WB]?\s*\(|\(char\)|\bfromCharCode\b|\bConvert\.ToChar\b"));
static VB_END: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?i)\bEnd\s+Function\b"));
static C_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"\b(?:function\s+|[A-Za-z_][\w.<>\[\]]*\s+)([A-Za-z_$][\w$]*)\s*\(([^()\n]*)\)\s*\{")
});
/// Making a character: group 1 the operand expression, then the operator (2) and what is
/// shifted by (digits 3 or a name 4), or no shift at all.
static MAKES_CHARACTER: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)(?:\bChr[WB]?|\bfromCharCode|\(char\)|\bConvert\.ToChar)\s*\(\s*(\(?\s*[^()\n]{0,40}?(?:\([^()\n]{0,40}(?:\([^()\n]{0,20}\))?[^()\n]{0,20}\))?[^()\n]{0,20}?)\s*(?:(-|\+|\^|\bXor\b|\\|/|\*)\s*(?:(\d{1,4})|([A-Za-z_]\w*))\s*)?\)",
    )
});
/// An array of numbers written in place: VB.NET `New Integer(){...}`, C# `new int[]{...}` /
/// `new[]{...}`, VBScript `Array(...)`, JScript `[...]`.
static NUMBER_ARRAY: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^(?:New\s+\w+\(\)\s*\{([\d,\s]+)\}|new\s*\w*\[\]\s*\{([\d,\s]+)\}|Array\(([\d,\s]+)\)|\[([\d,\s]+)\])$",
    )
});
static LITERAL_ARGUMENT: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r#"^"((?:[^"\\\n]|\\.)*)"$"#));

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shift {
    None,
    Constant(char, u32),
    /// By the call's argument at this position.
    Parameter(char, usize),
}

#[derive(Debug)]
struct Decoder {
    call: Regex,
    shift: Shift,
}

/// The character decoders a page defines.
#[derive(Debug, Default)]
pub(crate) struct Decoders {
    found: Vec<Decoder>,
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
            let mut definitions: Vec<(String, String, String)> = Vec::new();
            for c in VB_FUNCTION.captures_iter(region) {
                let Some(start) = c.get(0).filter(|m| near_maker(m.end())) else { continue };
                let rest = &region[start.end()..region.floor_char_boundary(start.end() + MAX_BODY)];
                if let Some(end) = VB_END.find(rest) {
                    definitions.push((c[1].to_owned(), c[2].to_owned(), rest[..end.start()].to_owned()));
                }
            }
            for c in C_FUNCTION.captures_iter(region) {
                let Some(start) = c.get(0).filter(|m| near_maker(m.end())) else { continue };
                if let Some((body, false)) = super::braced_block(&region[start.end() - 1..], MAX_BODY) {
                    definitions.push((c[1].to_owned(), c[2].to_owned(), body.to_owned()));
                }
            }
            for (name, parameters, body) in definitions {
                let Some(shift) = shift_of(&body, &parameters) else { continue };
                if decoders.found.len() == MAX_DECODERS {
                    decoders.capped = true;
                    return decoders;
                }
                let Ok(call) = Regex::new(&format!(r"(?i)(^|[^.\w$]){}\(((?:[^()\n]|\(\))*)\)", regex::escape(&name)))
                else {
                    continue;
                };
                decoders.found.push(Decoder { call, shift });
            }
        }
        decoders
    }

    /// `code` with every call of a decoder on literals replaced by the text it returns.
    pub(crate) fn apply(&self, code: &str) -> Option<String> {
        let mut current: Option<String> = None;
        for decoder in &self.found {
            let text = current.as_deref().unwrap_or(code);
            if !decoder.call.is_match(text) {
                continue;
            }
            let replaced =
                decoder.call.replace_all(text, |c: &regex::Captures<'_>| match decode_call(decoder.shift, &c[2]) {
                    Some(decoded) => format!("{}{}", &c[1], literal(&decoded)),
                    None => c[0].to_owned(),
                });
            if replaced != text {
                current = Some(replaced.into_owned());
            }
        }
        current
    }
}

/// How the body makes its characters, when it makes them in a loop over its input.
fn shift_of(body: &str, parameters: &str) -> Option<Shift> {
    static LOOP: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"(?i)\bFor\b|\bforeach\b|\bwhile\b|\.Select\(|\.map\("));
    if !LOOP.is_match(body) {
        return None;
    }
    let c = MAKES_CHARACTER.captures(body)?;
    let op = |text: &str| match text.to_ascii_lowercase().as_str() {
        "-" => '-',
        "+" => '+',
        "\\" | "/" => '/',
        "*" => '*',
        _ => '^',
    };
    static PLAIN: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"^[A-Za-z_]\w*(?:\(\w+\)|\[\w+\])?$"));
    match (c.get(2), c.get(3), c.get(4)) {
        // No shift: the character of a plain number (`Chr(c)`, `Chr(a(i))`), nothing computed.
        (None, _, _) => PLAIN.is_match(c[1].trim()).then_some(Shift::None),
        (Some(o), Some(k), _) => Some(Shift::Constant(op(o.as_str()), k.as_str().parse().ok()?)),
        (Some(o), None, Some(name)) => {
            let index = parameters
                .split(',')
                .position(|p| parameter_name(p).is_some_and(|n| n.eq_ignore_ascii_case(name.as_str())))?;
            Some(Shift::Parameter(op(o.as_str()), index))
        }
        _ => None,
    }
}

/// A parameter's name: the word before `As` (VB), else the last word before a default (C#).
fn parameter_name(piece: &str) -> Option<&str> {
    static WORD: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"[A-Za-z_]\w*"));
    let words: Vec<&str> = WORD.find_iter(piece.split('=').next().unwrap_or(piece)).map(|m| m.as_str()).collect();
    match words.iter().position(|w| w.eq_ignore_ascii_case("as")) {
        Some(at) => at.checked_sub(1).and_then(|i| words.get(i)).copied(),
        None => words.last().copied(),
    }
}

/// The text a decoder call returns: a literal shifted character by character, or a list of
/// numbers made into characters; `None` unless it is all printable text with a letter.
fn decode_call(shift: Shift, arguments: &str) -> Option<String> {
    let args: Vec<&str> = arguments.split(',').map(str::trim).collect();
    let number = |text: &str| -> Option<u32> { text.parse().ok() };
    let (op, k, from) = match shift {
        Shift::None => ('+', 0, args.len()),
        Shift::Constant(op, k) => (op, k, args.len()),
        Shift::Parameter(op, index) => (op, number(args.get(index)?)?, index),
    };
    let apply = |n: u32| -> Option<char> {
        char::from_u32(match op {
            '-' => n.checked_sub(k)?,
            '+' => n.checked_add(k)?,
            '/' => n.checked_div(k)?,
            '*' => n.checked_mul(k)?,
            _ => n ^ k,
        })
    };
    // One array of numbers as the argument: `D(New Integer(){261,249})`, `d(new[]{83,65})`.
    if !matches!(shift, Shift::Parameter(..))
        && let Some(c) = NUMBER_ARRAY.captures(arguments.trim())
    {
        let list = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)).or_else(|| c.get(4))?;
        let numbers: Option<Vec<u32>> = list.as_str().split(',').map(|n| number(n.trim())).collect();
        let text: String = numbers?.into_iter().map(apply).collect::<Option<_>>()?;
        return printable(text);
    }
    let text: String = match LITERAL_ARGUMENT.captures(args.first()?) {
        // A literal comes out as it went in without a shift.
        Some(_) if shift == Shift::None => return None,
        Some(c) => unescape_canonical(&c[1]).chars().map(|ch| apply(ch as u32)).collect::<Option<_>>()?,
        None => {
            let numbers: Option<Vec<u32>> =
                args.iter().enumerate().filter(|(i, _)| *i != from).map(|(_, a)| number(a)).collect();
            let numbers = numbers?;
            if numbers.len() < 2 {
                return None;
            }
            numbers.into_iter().map(apply).collect::<Option<_>>()?
        }
    };
    printable(text)
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
