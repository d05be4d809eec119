//! Constant folding over canonical code: expressions made only of literals
//! are replaced by the literal they evaluate to, the way the VBScript, JScript
//! or C# runtime would build the string. Each rule is one documented
//! language construct; [`fold`] applies them until nothing changes or the
//! budget is spent.

use std::collections::HashSet;
use std::sync::LazyLock;

use base64::Engine as _;
use regex::{Captures, Regex};

use super::lexer::{Quotes, literal, unescape_canonical};

/// Whether a member name read by late binding is a plain identifier.
fn is_identifier(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What a reflected call runs on: the target object, or for a static call (`null` target) the
/// type the reflection started from (`typeof(T)`, `Type.GetType("N.T")`, VB `GetType(T)`).
fn reflected_target(receiver: &str, target: &str) -> Option<String> {
    static TYPE_OF: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r#"(?i)^(?:typeof\(([\w.]+)\)|(?:Type\.)?GetType\((?:"([\w.]+)(?:,[^"]*)?"|([\w.]+))\))$"#,
        )
    });
    if !(target.eq_ignore_ascii_case("null") || target.eq_ignore_ascii_case("nothing")) {
        return Some(target.to_owned());
    }
    let c = TYPE_OF.captures(receiver)?;
    c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)).map(|m| m.as_str().to_owned())
}

/// A canonical literal (see `lexer`): group 1 is its escaped inside.
pub(crate) const STR: &str = r#""((?:[^"\\\n]|\\.)*)""#;

/// A literal's value from a capture of [`STR`].
fn value(caps: &Captures<'_>, group: usize) -> String {
    caps.get(group).map(|m| unescape_canonical(m.as_str())).unwrap_or_default()
}

fn re(pattern: &str) -> Regex {
    crate::pattern::builtin(&pattern.replace("STR", STR))
}

/// An integer expression of decimal and `&H`/`0x` numbers joined by `+ - *`
/// (what `Chr(100+1)` obfuscation writes), evaluated without overflow.
fn integer_expression(text: &str) -> Option<u32> {
    let mut total: i64 = 0;
    let mut pending_op = '+';
    let mut term: Option<i64> = None;
    let mut product_with: Option<i64> = None;
    let tokens = TOKEN.find_iter(text);
    for token in tokens {
        let t = token.as_str();
        match t {
            "+" | "-" | "*" => {
                let current = term.take()?;
                if t == "*" {
                    product_with = Some(product_with.map_or(current, |p| p.checked_mul(current).unwrap_or(i64::MAX)));
                    continue;
                }
                let current = product_with.take().map_or(current, |p| p.saturating_mul(current));
                total = if pending_op == '-' { total.checked_sub(current)? } else { total.checked_add(current)? };
                pending_op = t.chars().next()?;
            }
            number => {
                let lower = number.to_ascii_lowercase();
                let parsed = if let Some(hex) = lower.strip_prefix("&h").or_else(|| lower.strip_prefix("0x")) {
                    i64::from_str_radix(hex.trim_end_matches('&'), 16).ok()?
                } else {
                    lower.parse::<i64>().ok()?
                };
                if term.is_some() {
                    return None;
                }
                term = Some(parsed);
            }
        }
    }
    let current = term?;
    let current = product_with.map_or(current, |p| p.saturating_mul(current));
    total = if pending_op == '-' { total.checked_sub(current)? } else { total.checked_add(current)? };
    u32::try_from(total).ok()
}

/// Compile the folding patterns now, so a file's time budget is not spent compiling them.
pub(crate) fn warm() {
    LazyLock::force(&TOKEN);
    LazyLock::force(&RULES);
    LazyLock::force(&LITERAL);
    LazyLock::force(&CONSTANT_ASSIGNMENT);
    LazyLock::force(&ASSIGNED_NAME);
    LazyLock::force(&LOOP_EDGE);
    LazyLock::force(&EMBEDDED_ASSIGNMENT);
    LazyLock::force(&NUMBER_LIST);
    LazyLock::force(&CODE_SHIFT);
    LazyLock::force(&PIECE_GATHERED);
    LazyLock::force(&PIECE_LOOP);
}

static TOKEN: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)&h[0-9a-f]+&?|0x[0-9a-f]+|\d+|[-+*]"));

const NUM_EXPR: &str =
    r"(?:&[hH][0-9a-fA-F]+&?|0[xX][0-9a-fA-F]+|\d+)(?:[-+*](?:&[hH][0-9a-fA-F]+&?|0[xX][0-9a-fA-F]+|\d+))*";

fn char_literal(code: Option<u32>) -> Option<String> {
    code.and_then(char::from_u32).map(|c| literal(&c.to_string()))
}

/// One folding rule: a pattern and what a match becomes (`None` keeps it).
struct Rule {
    name: &'static str,
    /// Lower-case texts of which every match holds at least one: a rule whose
    /// needles are absent from the current code is skipped without running its
    /// pattern (most pages need no folding, and the patterns cost most there).
    needles: &'static [&'static str],
    pattern: Regex,
    apply: fn(&Captures<'_>) -> Option<String>,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let num = NUM_EXPR;
    vec![
        // VBScript Chr/ChrW/ChrB, VB.NET Chr/ChrW, Strings.Chr.
        Rule {
            name: "chr",
            needles: &["chr"],
            pattern: re(&format!(r"(?i)\b(?:Strings\.)?chr[wb]?\(({num})\)")),
            apply: |c| char_literal(integer_expression(&c[1])),
        },
        // C# casts and conversions: (char)101, Convert.ToChar(101), Char.ConvertFromUtf32(101).
        Rule {
            name: "chr",
            needles: &["(char)", "convert.tochar(", "char.convertfromutf32("],
            pattern: re(&format!(
                r"(?i)\(char\)\(?({num})\)?|\bConvert\.ToChar\(({num})\)|\bChar\.ConvertFromUtf32\(({num})\)"
            )),
            apply: |c| {
                let text = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3))?.as_str();
                char_literal(integer_expression(text))
            },
        },
        // JScript String.fromCharCode(101,118,97,108).
        Rule {
            name: "char-codes",
            needles: &["string.fromcharcode("],
            pattern: re(&format!(r"\bString\.fromCharCode\(({num}(?:,{num})*)\)")),
            apply: |c| {
                let text: Option<String> =
                    c[1].split(',').map(|n| integer_expression(n).and_then(char::from_u32)).collect();
                text.map(|t| literal(&t))
            },
        },
        // Char arrays of literals: new string(new char[]{"e","v"}), New String(New Char(){"e","v"}),
        // and a bare new char[]{...} of literals.
        Rule {
            name: "char-array",
            needles: &["char"],
            pattern: re(
                r"(?i)(?:new (?:System\.)?string\()?new (?:System\.)?char(?:\[\d*\]|\(\))\{(STR(?:,STR)*)\}\)?",
            ),
            apply: |c| Some(literal(&join_literals(&c[1]))),
        },
        // Byte arrays of numbers read as text: Encoding.X.GetString(new byte[]{101,118}).
        Rule {
            name: "char-codes",
            needles: &["getstring("],
            pattern: re(&format!(
                r"(?i)(?:System\.)?(?:Text\.)?Encoding\.(?:UTF8|ASCII|Default|GetEncoding\([^()]{{0,20}}\))\.GetString\(new (?:System\.)?byte(?:\[\d*\]|\(\))\{{({num}(?:,{num})*)\}}\)"
            )),
            apply: |c| {
                let bytes: Option<Vec<u8>> =
                    c[1].split(',').map(|n| integer_expression(n).and_then(|v| u8::try_from(v).ok())).collect();
                bytes.map(|b| literal(&String::from_utf8_lossy(&b)))
            },
        },
        // A literal split into a list of literals: VBScript Split("a|b","|") is Array("a","b")
        // (a space when no separator is given), JScript "a|b".split("|") is ["a","b"]; the
        // list can then be joined or carried by a name (see `propagate_constants`).
        Rule {
            name: "split",
            needles: &["split("],
            pattern: re(r#"(?i)\bSplit\(STR(?:,STR)?\)|STR\.split\(STR\)"#),
            apply: |c| {
                let (text, separator, vb) = match (c.get(1), c.get(3)) {
                    (Some(_), _) => (value(c, 1), c.get(2).map_or(" ".to_owned(), |_| value(c, 2)), true),
                    (None, Some(_)) => (value(c, 3), value(c, 4), false),
                    _ => return None,
                };
                // Splitting into characters, or a separator that is absent, is left as written.
                if separator.is_empty() || !text.contains(separator.as_str()) {
                    return None;
                }
                let items: Vec<String> = text.split(separator.as_str()).map(literal).collect();
                Some(if vb { format!("Array({})", items.join(",")) } else { format!("[{}]", items.join(",")) })
            },
        },
        // Lists of literals joined: ["WScript","Shell"].join("."), ["l","l"].reverse().join(""),
        // Join(Array("a","b"),"."),
        // String.Join(".", new[]{"a","b"}).
        Rule {
            name: "join",
            needles: &["join("],
            pattern: re(
                r"(?i)\[(?P<js>STR(?:,STR)*)\](?P<rev>\.reverse\(\))?\.join\((?P<jsep>STR)?\)|\bJoin\(Array\((?P<vb>STR(?:,STR)*)\)(?:,(?P<vbsep>STR))?\)|\bString\.Join\((?P<netsep>STR),new(?: string)?\[\]\{(?P<net>STR(?:,STR)*)\}\)",
            ),
            apply: |c| {
                let inside = |m: regex::Match<'_>| unescape_canonical(&m.as_str()[1..m.len() - 1]);
                let (list, separator) = if let Some(list) = c.name("js") {
                    // JScript joins with "," when no separator is given.
                    (list.as_str(), c.name("jsep").map_or(",".to_owned(), inside))
                } else if let Some(list) = c.name("vb") {
                    // VBScript's Join uses a space by default.
                    (list.as_str(), c.name("vbsep").map_or(" ".to_owned(), inside))
                } else {
                    (c.name("net")?.as_str(), inside(c.name("netsep")?))
                };
                let mut items: Vec<String> = LITERAL.captures_iter(list).map(|i| value(&i, 1)).collect();
                if c.name("rev").is_some() {
                    items.reverse();
                }
                Some(literal(&items.join(&separator)))
            },
        },
        // An item of a list of literals: ["a","b"][1] (JScript, C# arrays carried by name),
        // Array("a","b")(1) (VBScript).
        Rule {
            name: "index",
            needles: &["\"][", "\")("],
            pattern: re(r"(?:\[(?P<js>STR(?:,STR)*)\]\[|\bArray\((?P<vb>STR(?:,STR)*)\)\()(?P<i>\d{1,3})[\])]"),
            apply: |c| {
                let list = c.name("js").or_else(|| c.name("vb"))?;
                let index: usize = c.name("i")?.as_str().parse().ok()?;
                let item = LITERAL.captures_iter(list.as_str()).nth(index)?;
                Some(literal(&value(&item, 1)))
            },
        },
        // Concatenation: "a"+"b" (C#, JScript), "a"&"b" (VB), string.Concat("a","b").
        Rule {
            name: "concat",
            needles: &["\"+\"", "\"&\""],
            pattern: re(r"STR(?:\+|&)STR"),
            apply: |c| Some(literal(&(value(c, 1) + &value(c, 2)))),
        },
        Rule {
            name: "concat",
            needles: &["string.concat(\""],
            pattern: re(r"(?i)\b(?:System\.)?String\.Concat\((STR(?:,STR)*)\)"),
            apply: |c| Some(literal(&join_literals(&c[1]))),
        },
        // Parentheses around a lone literal: ("abc") -> "abc", not after a name (a call).
        Rule {
            name: "concat",
            needles: &["(\""],
            pattern: re(r"([^\w\]\)\s])\(STR\)"),
            apply: |c| Some(format!("{}{}", &c[1], literal(&value(c, 2)))),
        },
        // StrReverse("lave"), "lave".split("").reverse().join(""), new string("lave".Reverse().ToArray()).
        Rule {
            name: "reverse",
            needles: &["reverse"],
            pattern: re(
                r#"(?i)\bStrReverse\(STR\)|STR\.split\(""\)\.reverse\(\)\.join\(""\)|new (?:System\.)?string\(STR\.Reverse\(\)\.ToArray\(\)\)"#,
            ),
            apply: |c| {
                let inner = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3))?;
                Some(literal(&unescape_canonical(inner.as_str()).chars().rev().collect::<String>()))
            },
        },
        // VBScript/VB.NET Replace(expression, find, replacewith[, start, count, compare]).
        Rule {
            name: "replace",
            needles: &["replace(\""],
            pattern: re(r"(?i)\b(?:Strings\.)?Replace\(STR,STR,STR(?:,[^()]{0,40})?\)"),
            apply: |c| replace_all(&value(c, 1), &value(c, 2), &value(c, 3)),
        },
        // .NET String.Replace (all occurrences) and JScript String.replace with a string
        // (first occurrence) or a plain /x/g regular expression (all).
        Rule {
            name: "replace",
            needles: &["\".replace(\""],
            pattern: re(r"STR\.(Replace|replace)\(STR,STR\)"),
            apply: |c| {
                let (text, find, with) = (value(c, 1), value(c, 3), value(c, 4));
                if &c[2] == "Replace" {
                    replace_all(&text, &find, &with)
                } else {
                    Some(literal(&text.replacen(&find, &with, 1)))
                }
            },
        },
        Rule {
            name: "replace",
            needles: &["\".replace(/"],
            pattern: re(r"STR\.replace\(/([A-Za-z0-9_ !#%&',:;<>=@~-]+)/(g?)i?,STR\)"),
            apply: |c| {
                let (text, find, with) = (value(c, 1), c[2].to_owned(), value(c, 4));
                if &c[3] == "g" {
                    replace_all(&text, &find, &with)
                } else {
                    Some(literal(&text.replacen(&find, &with, 1)))
                }
            },
        },
        // Case changes: LCase/UCase, .ToLower()/.ToUpper(), .toLowerCase()/.toUpperCase().
        Rule {
            name: "case",
            needles: &["case(\"", "\".tolower", "\".toupper"],
            pattern: re(r"(?i)\b(L|U)Case\(STR\)|STR\.To(Lower|Upper)(?:Case)?\(\)"),
            apply: |c| {
                let lower = c
                    .get(1)
                    .map(|m| m.as_str().eq_ignore_ascii_case("l"))
                    .or_else(|| c.get(4).map(|m| m.as_str().eq_ignore_ascii_case("lower")))?;
                let text = value(c, if c.get(2).is_some() { 2 } else { 3 });
                Some(literal(&if lower { text.to_lowercase() } else { text.to_uppercase() }))
            },
        },
        // Percent-encoding undone by unescape/decodeURIComponent/UrlDecode.
        Rule {
            name: "url-decode",
            needles: &["unescape(\"", "decodeuri", "urldecode(\""],
            pattern: re(
                r"(?i)\b(?:unescape|decodeURIComponent|decodeURI|(?:System\.Web\.)?(?:HttpUtility|Server)\.UrlDecode)\(STR\)",
            ),
            apply: |c| Some(literal(&percent_decode(&value(c, 1)))),
        },
        // Late binding by name, the call it makes: VB's CallByName(o,"M",CallType.Method,args) is
        // o.M(args) (CallType.Get reads o.M, Let/Set assign it: o.M=(v)).
        Rule {
            name: "late-binding",
            needles: &["callbyname("],
            pattern: re(
                r"(?i)\b(?:(?:Microsoft\.VisualBasic\.)?Interaction\.)?CallByName\(([A-Za-z_][\w.]*(?:\(\))?),STR,(?:(?:Microsoft\.VisualBasic\.)?CallType\.)?(Method|Get|Let|Set|[1248])(,|\))",
            ),
            apply: |c| {
                let member = value(c, 2);
                if !is_identifier(&member) {
                    return None;
                }
                let (object, close) = (&c[1], &c[4] == ")");
                match c[3].to_ascii_lowercase().as_str() {
                    "method" | "get" | "1" | "2" => Some(format!("{object}.{member}({}", if close { ")" } else { "" })),
                    "let" | "set" | "4" | "8" if !close => Some(format!("{object}.{member}=(")),
                    _ => None,
                }
            },
        },
        // Reflection's InvokeMember("M", flags, binder, target, new object[]{args}) is target.M(args)
        // (a static member on the type reflected: typeof(T), Type.GetType("N.T"), VB GetType(T)).
        Rule {
            name: "late-binding",
            needles: &[".invokemember(\""],
            pattern: re(
                r"([A-Za-z_][\w.]*(?:\([^()\n]*\))?)\.InvokeMember\(STR,([^,()\n]*(?:\([^()\n]*\))?[^,()\n]*),(?:null|Nothing),([A-Za-z_][\w.]*(?:\(\))?),(?:new (?:object\[\]|Object\(\))\{([^{}\n]*)\}|null|Nothing)\)",
            ),
            apply: |c| {
                let member = value(c, 2);
                let target = reflected_target(&c[1], &c[4])?;
                if !is_identifier(&member) {
                    return None;
                }
                let args = c.get(5).map_or("", |a| a.as_str());
                if c[3].contains("SetProperty") || c[3].contains("SetField") {
                    Some(format!("{target}.{member}=({args})"))
                } else {
                    Some(format!("{target}.{member}({args})"))
                }
            },
        },
        // ... and GetMethod("M", types).Invoke(target, new object[]{args}).
        Rule {
            name: "late-binding",
            needles: &[".getmethod(\""],
            pattern: re(
                r"([A-Za-z_][\w.]*(?:\([^()\n]*\))?)\.GetMethod\(STR(?:,[^\n]{0,200}?)?\)\.Invoke\(([A-Za-z_][\w.]*(?:\(\))?),(?:new (?:object\[\]|Object\(\))\{([^{}\n]*)\}|null|Nothing)\)",
            ),
            apply: |c| {
                let member = value(c, 2);
                let target = reflected_target(&c[1], &c[3])?;
                if !is_identifier(&member) {
                    return None;
                }
                Some(format!("{target}.{member}({})", c.get(4).map_or("", |a| a.as_str())))
            },
        },
        // ... and GetProperty("P").SetValue(target, value[, null]) is target.P=(value); GetValue(target)
        // reads target.P (fields alike).
        Rule {
            name: "late-binding",
            needles: &[".setvalue(", ".getvalue("],
            pattern: re(
                r"[A-Za-z_][\w.]*(?:\([^()\n]*\))?\.Get(?:Property|Field)\(STR(?:,[^()\n]*)?\)\.(?:SetValue\(([A-Za-z_][\w.]*),([^\n]*?)(?:,(?:null|Nothing))?\)(;|\n|$)|GetValue\(([A-Za-z_][\w.]*)(?:,(?:null|Nothing))?\))",
            ),
            apply: |c| {
                let member = value(c, 1);
                if !is_identifier(&member) {
                    return None;
                }
                match (c.get(2), c.get(3), c.get(4), c.get(5)) {
                    (Some(target), Some(assigned), Some(end), _) => {
                        Some(format!("{}.{member}=({}){}", target.as_str(), assigned.as_str(), end.as_str()))
                    }
                    (_, _, _, Some(target)) => Some(format!("{}.{member}", target.as_str())),
                    _ => None,
                }
            },
        },
        // Eval of a literal expression is the expression: VBScript Eval("request") and JScript
        // eval("Request") return the Request object, so eval("x")(...) is x(...).
        Rule {
            name: "eval-literal",
            needles: &["eval(\""],
            // A leading `.` is captured so members (`x.eval(...)`) are seen and kept; the
            // pattern starts with a literal, so the regex engine can skip to candidates.
            pattern: re(r#"(?i)(\.?)\beval\("([A-Za-z_][\w.]{0,60})"\)"#),
            apply: |c| if c[1].is_empty() { Some(format!("({})", &c[2])) } else { None },
        },
        // Decoding calls around a literal the literal pass already decoded.
        Rule {
            name: "base64",
            needles: &["frombase64string(\""],
            pattern: re(
                r"(?i)(?:System\.)?(?:Text\.)?Encoding\.(?:UTF8|ASCII|Default|Unicode)\.GetString\((?:System\.)?Convert\.FromBase64String\(STR\)\)",
            ),
            apply: |c| {
                let text = value(c, 1);
                decode_text_literal(&text).map(|d| literal(&d)).or_else(|| Some(literal(&text)))
            },
        },
    ]
});

static LITERAL: LazyLock<Regex> = LazyLock::new(|| re("STR"));

fn join_literals(list: &str) -> String {
    LITERAL.captures_iter(list).map(|c| value(&c, 1)).collect()
}

fn replace_all(text: &str, find: &str, with: &str) -> Option<String> {
    if find.is_empty() {
        return None;
    }
    Some(literal(&text.replace(find, with)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
            if bytes.get(i + 1) == Some(&b'u') {
                if let Some(code) = bytes.get(i + 2..i + 6).and_then(hex).and_then(char::from_u32) {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(code.encode_utf8(&mut buf).as_bytes());
                    i += 6;
                    continue;
                }
            } else if let Some(byte) = bytes.get(i + 1..i + 3).and_then(hex).and_then(|v| u8::try_from(v).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text the bytes hold when they are text: UTF-8 or UTF-16LE, nearly all
/// printable. Random bytes (keys, images) are not.
fn as_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 4 {
        return None;
    }
    let printable = |s: &str| {
        let total = s.chars().count();
        let good = s.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')).count();
        total > 0 && good * 100 >= total * 97 && !s.contains('\u{FFFD}')
    };
    if let Ok(text) = std::str::from_utf8(bytes)
        && printable(text)
    {
        return Some(text.to_owned());
    }
    if bytes.len().is_multiple_of(2) && bytes.iter().skip(1).step_by(2).all(|&b| b == 0) {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        let text = String::from_utf16_lossy(&units);
        if printable(&text) {
            return Some(text);
        }
    }
    None
}

/// At most this many literals holding decoded text are read as code per region (see
/// [`Folded::decoded_code`]).
pub(crate) const MAX_DECODED_TEXTS: usize = 8;

/// `code` with every literal that encodes text (base64, hex) replaced by that
/// text (each also added to `decoded`); `None` when there is none. Only literals made of the encodings'
/// alphabets are unescaped and tried, so ordinary strings cost one scan.
fn decode_encoded_literals(code: &str, decoded: &mut Vec<String>) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for found in LITERAL.find_iter(code) {
        let inside = &found.as_str()[1..found.len() - 1];
        let encoded_alphabet = inside.len() >= 12
            && inside.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\t'));
        if !encoded_alphabet {
            continue;
        }
        if let Some(plain) = decode_text_literal(inside) {
            out.push_str(&code[copied..found.start()]);
            out.push_str(&literal(&plain));
            copied = found.end();
            // Bounded by the region: every piece is the text of one of its literals.
            decoded.push(plain);
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&code[copied..]);
    Some(out)
}

/// A literal's text decoded from base64 or hex when it encodes text.
pub(crate) fn decode_text_literal(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.len() >= 12 && trimmed.len().is_multiple_of(2) && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bytes: Option<Vec<u8>> =
            (0..trimmed.len()).step_by(2).map(|i| u8::from_str_radix(&trimmed[i..i + 2], 16).ok()).collect();
        if let Some(decoded) = bytes.as_deref().and_then(as_text) {
            return Some(decoded);
        }
    }
    if trimmed.len() >= 12
        && trimmed.len().is_multiple_of(4)
        && trimmed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        let bytes = base64::engine::general_purpose::STANDARD.decode(trimmed).ok()?;
        return as_text(&bytes);
    }
    None
}

/// Char-code lists decoded as text at most, per region, and the shifts tried on each.
pub(crate) const MAX_CHAR_CODE_LISTS: usize = 32;
pub(crate) const MAX_CODE_SHIFTS: usize = 8;

/// Lists of at least eight small numbers: `Array(69,120,...)` (VBScript), `[118,97,...]`
/// (JScript), `{101,118,...}` (C# and VB.NET initialisers) and a literal of numbers with one
/// separator (`"69|120|..."`, split at run time).
static NUMBER_LIST: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)(?:\bArray\(|\[|\{)(\d{1,5}(?:,\d{1,5}){7,})(?:\)|\]|\})|"(\d{1,5}(?:([,|;:. _/-])\d{1,5}){7,})""#)
});

/// How a page turns each number into a character: `Chr(n - 7)`, `ChrW(n Xor 5)`,
/// `String.fromCharCode(t[i] ^ 5)`, `(char)(b + 3)`, or a list element shifted into a name
/// first (`c = t(i) - 7` then `Chr(c)`): the operator and the constant.
static CODE_SHIFT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)(?:(?:\bchr[wb]?|\bfromCharCode|\(char\))\(\(?\s*[A-Za-z_][\w.]*(?:\([^()]{0,20}\)|\[[^\[\]]{0,20}\])?|=\s*[A-Za-z_]\w*(?:\(\w{1,20}\)|\[\w{1,20}\]))\s*(-|\+|\^|\bxor\b)\s*(\d{1,3})\s*(?:\)|;|:|$)",
    )
});

/// Text that char-code lists in `code` spell: each list read as character codes, as they are
/// or through a shift or XOR the page applies to each (`Chr(n - 7)`), kept when the result
/// reads as text (printable, mostly letters). This is how pages hide code they then run
/// (`Execute` of a string built in a loop), so the result is analysed as code.
/// With the texts, whether more lists or shifts stood in the code than are read
/// ([`MAX_CHAR_CODE_LISTS`], [`MAX_CODE_SHIFTS`]).
pub(crate) fn char_code_payloads(code: &str) -> (Vec<String>, bool) {
    let mut transforms: Vec<(char, u32)> = vec![('+', 0)];
    let mut shifts = CODE_SHIFT.captures_iter(code);
    for c in shifts.by_ref().take(MAX_CODE_SHIFTS) {
        let op = match c[1].to_ascii_lowercase().as_str() {
            "-" => '-',
            "+" => '+',
            _ => '^',
        };
        if let Ok(k) = c[2].parse::<u32>()
            && !transforms.contains(&(op, k))
        {
            transforms.push((op, k));
        }
    }
    let mut payloads = Vec::new();
    let mut lists = NUMBER_LIST.captures_iter(code);
    for c in lists.by_ref().take(MAX_CHAR_CODE_LISTS) {
        let Some(list) = c.get(1).or_else(|| c.get(2)) else { continue };
        let numbers: Vec<u32> =
            list.as_str().split(|ch: char| !ch.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
        let decoded = transforms.iter().find_map(|&(op, k)| {
            let text: Option<String> = numbers
                .iter()
                .map(|&n| {
                    let code = match op {
                        '-' => n.checked_sub(k)?,
                        '+' => n.checked_add(k)?,
                        _ => n ^ k,
                    };
                    char::from_u32(code)
                })
                .collect();
            text.filter(|t| reads_as_text(t))
        });
        payloads.extend(decoded);
    }
    let capped = shifts.next().is_some() || lists.next().is_some();
    (payloads, capped)
}

/// A name that gathers the items of a list of literals one by one: `b=b&Array("Ex","ecute")(i)`
/// in a loop (VBScript, the list carried there by name), `s+=new[]{"Ex","ecute"}[i]` (C#),
/// `s+=["Ex","ecute"][i]` (JScript).
static PIECE_GATHERED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?P<to>[A-Za-z_]\w*)(?:&=|\+=|=(?P<from>[A-Za-z_]\w*)[&+])(?:Array\((?P<vb>STR(?:,STR)+)\)\([A-Za-z_]\w*\)|(?:new(?: ?string)?\[\])?\{(?P<net>STR(?:,STR)+)\}\[[A-Za-z_]\w*\]|\[(?P<js>STR(?:,STR)+)\]\[[A-Za-z_]\w*\])",
    )
});
/// The same through a loop over the list: `For Each p In Array(...)` then `b=b&p` (VBScript),
/// `foreach(var p in new[]{...}) s+=p;` (C#).
static PIECE_LOOP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bFor Each (?P<item>[A-Za-z_]\w*) In Array\((?P<vb>STR(?:,STR)+)\)\n(?P<to>[A-Za-z_]\w*)(?:&=|=(?P<from>[A-Za-z_]\w*)&)(?P<added>[A-Za-z_]\w*)\b|\bforeach\((?:var|string) (?P<nitem>[A-Za-z_]\w*) in (?:new(?: ?string)?\[\])?\{(?P<net>STR(?:,STR)+)\}\)\{?\n?[A-Za-z_]\w*\+=(?P<nadded>[A-Za-z_]\w*)\b",
    )
});

/// Text a page spells as a list of pieces it gathers into one name at run time (`Split` of a
/// literal then a loop that appends each item): the pieces joined, kept when they read as text.
/// The code the page then runs from that name is this text ([`MAX_CHAR_CODE_LISTS`] lists).
pub(crate) fn piece_list_payloads(code: &str) -> (Vec<String>, bool) {
    // Every form holds a list of two literals or more, which canonical code writes `"a","b"`.
    if !code.contains("\",\"") {
        return (Vec::new(), false);
    }
    let same = |c: &Captures<'_>, a: &str, b: &str| match (c.name(a), c.name(b)) {
        (Some(a), Some(b)) => a.as_str().eq_ignore_ascii_case(b.as_str()),
        _ => true,
    };
    let gathered = PIECE_GATHERED.captures_iter(code).filter(|c| same(c, "to", "from"));
    let looped = PIECE_LOOP
        .captures_iter(code)
        .filter(|c| same(c, "to", "from") && same(c, "item", "added") && same(c, "nitem", "nadded"));
    let mut lists = gathered.chain(looped);
    let mut payloads = Vec::new();
    for c in lists.by_ref().take(MAX_CHAR_CODE_LISTS) {
        let Some(list) = c.name("vb").or_else(|| c.name("net")).or_else(|| c.name("js")) else { continue };
        let text: String = LITERAL.captures_iter(list.as_str()).map(|i| value(&i, 1)).collect();
        if text.len() >= 4 && reads_as_text(&text) && !payloads.contains(&text) {
            payloads.push(text);
        }
    }
    (payloads, lists.next().is_some())
}

/// Printable ASCII (and line breaks, tabs) with letters for at least two fifths.
fn reads_as_text(text: &str) -> bool {
    let letters = text.chars().filter(char::is_ascii_alphabetic).count();
    text.chars().all(|c| matches!(c, ' '..='~' | '\t' | '\r' | '\n')) && letters * 5 >= text.len() * 2
}

/// `name = "literal"` (with `Dim`/`Set`/`var`/a C# type in front, or none; VB.NET's
/// `Dim name As String = "literal"`).
static CONSTANT_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"^(?:(?:public|private|protected|internal|static|readonly|const)\s+)*(?:(?:Dim|Set|Const|var|let|string|String|object|dynamic)\s+|string\[\]\s*)?([A-Za-z_]\w{0,60})(?:\s+As\s+String)?=(STR|Array\(STR(?:,STR)*\)|\[STR(?:,STR)*\]|(?:new(?: ?string)?\[\])?\{STR(?:,STR)*\})$"#,
    )
});
static ASSIGNED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?:public|private|protected|internal|static|readonly|const)\s+)*(?:(?:Dim|Set|Const|var|let|string|String|object|dynamic)\s+|string\[\]\s*)?([A-Za-z_]\w{0,60})(?:\s+As\s+[\w.]+(?:\(\))?)?(?:\+|&)?=",
    )
});
/// A statement that starts or ends a loop: VB `For`/`Do`/`While`/`Next`/`Loop`/`Wend`, C-like
/// `for(`/`while(`/`do{`.
static LOOP_EDGE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*(?:For|Do|While|Loop|Next|Wend)\b|\b(?:for|while)\s*\(|\bdo\s*\{"));
/// An assignment inside a statement that is not one: after `Then`/`Else` (VBScript one-line
/// `If`), after a C-like control header or brace (`if(ok)x=...`, `{x+=...`), and every compound
/// assignment (`x&=...`). Group 1 is the name, group 2 what follows the `=` (an `==` is a test).
static EMBEDDED_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    // ASCII classes: with Unicode ones the regex crate runs its slowest engine on every statement.
    re(
        r"(?i)(?:(?:\bthen|\belse)[ \t]+|[){][ \t]*)([A-Za-z_][A-Za-z0-9_]{0,60})[ \t]*=(.|$)|(?:^|[^A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]{0,60})[ \t]*[-+&*/]=",
    )
});

/// Constant propagation: a name assigned a literal stands for that literal in
/// the statements that follow, until it is assigned something else. Names
/// are replaced outside literals only, at most `MAX_SUBSTITUTIONS` times.
pub(crate) fn propagate_constants(code: &str) -> Option<String> {
    const MAX_SUBSTITUTIONS: usize = 4096;
    let mut constants: Vec<(String, String)> = Vec::new();
    let mut crossed: HashSet<String> = HashSet::new();
    let mut out = String::with_capacity(code.len());
    let mut substitutions = 0usize;
    let mut changed = false;
    for piece in statements_outside_literals(code) {
        let (statement, end) = match piece.char_indices().next_back() {
            Some((at, '\n' | ';' | ':')) => (&piece[..at], &piece[at..]),
            _ => (piece, ""),
        };
        let assigned = ASSIGNED_NAME.captures(statement).map(|c| c[1].to_ascii_lowercase());
        // Past a loop's start or end, a name that uses itself (`o=o&Chr(c)`) is being built by
        // the loop: its literal is where the building starts, not its value.
        if !constants.is_empty() && LOOP_EDGE.is_match(statement) {
            crossed.extend(constants.iter().map(|(n, _)| n.clone()));
        }
        if let Some(name) = assigned.as_ref().filter(|n| crossed.contains(*n)) {
            constants.retain(|(n, _)| n != name);
        }
        // A name assigned inside the statement (a one-line `If`, a loop body) is no constant
        // from here on: `z=""` then `If ok Then z=z&c` in a loop builds z.
        if !constants.is_empty() && statement.contains('=') && contains_any_name(statement, &constants) {
            for c in EMBEDDED_ASSIGNMENT.captures_iter(statement) {
                let name = match (c.get(1), c.get(2), c.get(3)) {
                    (Some(name), next, _) if next.is_none_or(|n| n.as_str() != "=") => name.as_str(),
                    (_, _, Some(name)) => name.as_str(),
                    _ => continue,
                };
                let name = name.to_ascii_lowercase();
                constants.retain(|(n, _)| *n != name);
            }
        }
        // The right-hand side (or the whole statement) with known constants put in.
        let rhs_start = if assigned.is_some() { statement.find('=').map_or(0, |i| i + 1) } else { 0 };
        let mut rewritten = statement[..rhs_start].to_owned();
        let rest = &statement[rhs_start..];
        let mut substituted = false;
        if constants.is_empty() || substitutions >= MAX_SUBSTITUTIONS {
            rewritten.push_str(rest);
        } else {
            let replaced = substitute(rest, &constants, &mut substitutions);
            substituted = replaced != rest;
            changed |= substituted;
            rewritten.push_str(&replaced);
        }
        if let Some(name) = assigned {
            constants.retain(|(n, _)| *n != name);
            // Only a statement that just received constants can fold into a new literal
            // (the region was folded already): folding every assignment would cost a
            // fold per statement on large pages.
            let folded =
                if substituted { fold(&rewritten, 4, rewritten.len() * 4 + 64).code } else { rewritten.clone() };
            if let Some(c) = CONSTANT_ASSIGNMENT.captures(&folded) {
                crossed.remove(&name);
                // A C# array initialiser stands for a list the way JScript writes one.
                let value = match (c[2].find('{'), c[2].ends_with('}')) {
                    (Some(open), true) => format!("[{}]", &c[2][open + 1..c[2].len() - 1]),
                    _ => c[2].to_owned(),
                };
                constants.push((name, value));
                if constants.len() > 256 {
                    constants.remove(0);
                }
            }
        }
        out.push_str(&rewritten);
        out.push_str(end);
    }
    changed.then_some(out)
}

/// Whether `text` holds one of the constants' (lower-case) names, in any case.
fn contains_any_name(text: &str, constants: &[(String, String)]) -> bool {
    let lower = text.to_ascii_lowercase();
    constants.iter().any(|(name, _)| memchr::memmem::find(lower.as_bytes(), name.as_bytes()).is_some())
}

/// Canonical code cut after every `\n`, `;` and `:` that is not inside a literal.
fn statements_outside_literals(code: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut in_string, mut escaped) = (0usize, false, false);
    for (i, ch) in code.char_indices() {
        if in_string {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            if ch != '\n' {
                continue;
            }
        }
        match ch {
            '"' => in_string = true,
            '\n' | ';' | ':' => {
                pieces.push(&code[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < code.len() {
        pieces.push(&code[start..]);
    }
    pieces
}

/// `text` with every known name (outside literals, not after `.`) replaced by its literal.
fn substitute(text: &str, constants: &[(String, String)], count: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, count: &mut usize| {
        if word.is_empty() {
            return;
        }
        let lower = word.to_ascii_lowercase();
        let after_dot = out.ends_with('.');
        match constants.iter().rev().find(|(n, _)| *n == lower) {
            Some((_, value)) if !after_dot => {
                out.push_str(value);
                *count += 1;
            }
            _ => out.push_str(word),
        }
        word.clear();
    };
    for ch in text.chars() {
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
            continue;
        }
        if ch.is_alphanumeric() || ch == '_' {
            word.push(ch);
            continue;
        }
        flush(&mut word, &mut out, count);
        if ch == '"' {
            in_string = true;
        }
        out.push(ch);
    }
    flush(&mut word, &mut out, count);
    out
}

/// One-parameter functions whose whole body returns one expression of the parameter
/// (`Function r(x):r=StrReverse(x):End Function`, `function d(s){return unescape(s);}`): the
/// wrappers obfuscators put around decoding calls, so each literal call can be folded.
/// A call of a wrapper on a literal, the body before and after its parameter, and whether the
/// body has literals of its own.
struct Wrapper {
    before: String,
    after: String,
    literal: bool,
}

pub(crate) struct Wrappers {
    /// By lower-case name.
    found: std::collections::HashMap<String, Wrapper>,
    /// More wrappers were defined than [`MAX_WRAPPERS`].
    pub(crate) capped: bool,
}

/// Where `word` stands as a name (not a member after `.`) in `code`, ignoring case.
fn name_uses(code: &str, word: &str) -> Vec<std::ops::Range<usize>> {
    let mut uses = Vec::new();
    let (mut start, mut previous, mut before) = (None, ' ', ' ');
    for (i, ch) in code.char_indices().chain(std::iter::once((code.len(), ' '))) {
        if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            if start.is_none() {
                start = Some(i);
                before = previous;
            }
        } else if let Some(from) = start.take()
            && before != '.'
            && code[from..i].eq_ignore_ascii_case(word)
        {
            uses.push(from..i);
        }
        previous = ch;
    }
    uses
}

/// At most this many wrappers are inlined per page.
pub(crate) const MAX_WRAPPERS: usize = 16;

impl Wrappers {
    /// The wrappers defined anywhere in the page's code regions.
    pub(crate) fn of<'a>(regions: impl Iterator<Item = &'a str>) -> Wrappers {
        static VB: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r"(?i)\bFunction ([A-Za-z_]\w*)\((?:ByVal )?([A-Za-z_]\w*)\)[:\n]([A-Za-z_]\w*)=([^:\n]{1,200})[:\n]End Function",
            )
        });
        static C_LIKE: LazyLock<Regex> =
            LazyLock::new(|| re(r"\bfunction ([A-Za-z_$][\w$]*)\(([A-Za-z_$][\w$]*)\)\{return ([^;{}\n]{1,200});?\}"));
        let mut defined: Vec<(String, String, String)> = Vec::new();
        for region in regions {
            for c in VB.captures_iter(region).filter(|c| c[1].eq_ignore_ascii_case(&c[3])) {
                defined.push((c[1].to_owned(), c[2].to_owned(), c[4].to_owned()));
            }
            for c in C_LIKE.captures_iter(region) {
                defined.push((c[1].to_owned(), c[2].to_owned(), c[3].to_owned()));
            }
        }
        let mut found = std::collections::HashMap::new();
        let mut capped = false;
        for (name, parameter, body) in defined {
            // The body calls something on its parameter, used once (not a bare copy, no literal).
            let uses = name_uses(&body, &parameter);
            let [at] = uses.as_slice() else { continue };
            if !body.contains('(') {
                continue;
            }
            if found.len() == MAX_WRAPPERS {
                capped = true;
                break;
            }
            found.entry(name.to_ascii_lowercase()).or_insert(Wrapper {
                before: body[..at.start].to_owned(),
                after: body[at.end..].to_owned(),
                literal: body.contains('"'),
            });
        }
        Wrappers { found, capped }
    }

    /// `code` with every call of a wrapper on a literal replaced by the wrapper's body.
    pub(crate) fn inline(&self, code: &str) -> Option<String> {
        // One pattern for every call on a literal, the name looked up: no regex per wrapper.
        static CALL: LazyLock<Regex> = LazyLock::new(|| re(r"(^|[^.\w$])([A-Za-z_$][\w$]*)\(STR\)"));
        if self.found.is_empty() {
            return None;
        }
        let replaced = CALL.replace_all(code, |c: &Captures<'_>| {
            let Some(wrapper) = self.found.get(&c[2].to_ascii_lowercase()) else { return c[0].to_owned() };
            let (before, after) = (&wrapper.before, &wrapper.after);
            let inlined = format!("({before}\"{}\"{after})", &c[3]);
            // A body with literals of its own (`Replace(s,"~","")`) is inlined where it folds
            // to one literal: a decoder's, not a template's that wraps its argument in markup.
            if wrapper.literal {
                let folded = fold(&inlined, 8, inlined.len() * 4 + 64).code;
                let inner = folded.strip_prefix('(').and_then(|f| f.strip_suffix(')')).unwrap_or(&folded);
                if LITERAL.find(inner).is_none_or(|m| m.len() != inner.len()) {
                    return c[0].to_owned();
                }
            }
            format!("{}{inlined}", &c[1])
        });
        (replaced != code).then(|| replaced.into_owned())
    }
}

/// The outcome of folding one code region.
pub(crate) struct Folded {
    pub(crate) code: String,
    pub(crate) applied: Vec<&'static str>,
    /// Stopped by the pass limit or output cap before reaching a fixed point.
    pub(crate) incomplete: bool,
    /// Texts decoded from base64/hex literals (see [`Folded::decoded_code`]).
    pub(crate) decoded: Vec<String>,
}

impl Folded {
    /// The folded region's literals that hold decoded text (pieces joined after decoding
    /// included) and look like code: hidden text may be code the page runs through its own
    /// decoder. At most [`MAX_DECODED_TEXTS`]; the flag says more were left out.
    pub(crate) fn decoded_code(&self) -> (Vec<String>, bool) {
        if self.decoded.is_empty() {
            return (Vec::new(), false);
        }
        let mut texts: Vec<String> = LITERAL
            .captures_iter(&self.code)
            .map(|c| unescape_canonical(&c[1]))
            .filter(|t| t.len() > 8 && t.contains('(') && self.decoded.iter().any(|d| t.contains(d.as_str())))
            .take(MAX_DECODED_TEXTS + 1)
            .collect();
        let capped = texts.len() > MAX_DECODED_TEXTS;
        texts.truncate(MAX_DECODED_TEXTS);
        (texts, capped)
    }
}

/// Fold `code` until nothing changes, at most `max_passes` passes, never
/// growing it past `max_len` bytes.
pub(crate) fn fold(code: &str, max_passes: usize, max_len: usize) -> Folded {
    let mut current = code.to_owned();
    let mut applied: Vec<&'static str> = Vec::new();
    let mut decoded = Vec::new();
    let mut lower = current.to_ascii_lowercase();
    for _ in 0..max_passes {
        let mut changed = false;
        // Literals that encode text (base64, hex) are decoded in place.
        if let Some(text) = decode_encoded_literals(&current, &mut decoded) {
            changed = true;
            push_once(&mut applied, "base64-hex");
            current = text;
            lower = current.to_ascii_lowercase();
        }
        for rule in RULES.iter() {
            if !rule.needles.iter().any(|needle| memchr::memmem::find(lower.as_bytes(), needle.as_bytes()).is_some()) {
                continue;
            }
            let mut hit = false;
            let mut next = String::new();
            let mut copied = 0;
            let mut places: Option<Vec<Place>> = None;
            for c in rule.pattern.captures_iter(&current) {
                let Some(whole) = c.get(0) else { continue };
                // A match must start and end at the literals' real edges: the closing quote of
                // one literal and the opening quote of the next also look like a literal.
                let places = places.get_or_insert_with(|| literal_places(&current));
                let last = whole.end().saturating_sub(1).max(whole.start());
                if matches!(places.get(whole.start()), Some(Place::Inside | Place::Closing))
                    || matches!(places.get(last), Some(Place::Inside | Place::Opening))
                {
                    continue;
                }
                if let Some(folded) = (rule.apply)(&c).filter(|folded| folded != whole.as_str()) {
                    hit = true;
                    next.push_str(&current[copied..whole.start()]);
                    next.push_str(&folded);
                    copied = whole.end();
                }
            }
            if hit {
                next.push_str(&current[copied..]);
                if next.len() > max_len {
                    return Folded { code: current, applied, incomplete: true, decoded };
                }
                push_once(&mut applied, rule.name);
                current = next;
                lower = current.to_ascii_lowercase();
                changed = true;
            }
        }
        if !changed {
            return Folded { code: current, applied, incomplete: false, decoded };
        }
    }
    Folded { code: current, applied, incomplete: true, decoded }
}

/// Where a byte of canonical code stands relative to its `"..."` literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Outside,
    Opening,
    Inside,
    Closing,
}

/// The place of every byte of `code` (literals end at a line's end, as the lexer writes them).
fn literal_places(code: &str) -> Vec<Place> {
    let mut quotes = Quotes::default();
    code.bytes()
        .map(|b| {
            if b == b'\n' {
                quotes = Quotes::default();
                return Place::Outside;
            }
            // Quotes and backslashes are ASCII: a byte of a longer character is text.
            let was_inside = quotes.in_string;
            let belongs = quotes.feed(char::from(b));
            match (was_inside, quotes.in_string) {
                (false, true) => Place::Opening,
                (true, false) => Place::Closing,
                _ if belongs => Place::Inside,
                _ => Place::Outside,
            }
        })
        .collect()
}

fn push_once(list: &mut Vec<&'static str>, name: &'static str) {
    if !list.contains(&name) {
        list.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(code: &str) -> String {
        fold(code, 16, 1 << 20).code
    }

    #[test]
    fn concatenation_vb_and_c() {
        assert_eq!(folded(r#"x="ev"&"al"&"(1)""#), r#"x="eval(1)""#);
        assert_eq!(folded(r#"x="ev"+"a"+"l";"#), r#"x="eval";"#);
        assert_eq!(folded(r#"String.Concat("Sy","stem")"#), r#""System""#);
    }

    #[test]
    fn chr_and_char_codes() {
        assert_eq!(folded("Execute(Chr(101)&ChrW(&H76)&chr(96+1)&Chr(108))"), r#"Execute("eval")"#);
        assert_eq!(folded("a=(char)101+\"v\""), r#"a="ev""#);
        assert_eq!(folded("String.fromCharCode(101,118,97,108)"), r#""eval""#);
        assert_eq!(folded(r#"new string(new char[]{"e","v","a","l"})"#), r#""eval""#);
        assert_eq!(folded("Encoding.UTF8.GetString(new byte[]{101,118,97,108})"), r#""eval""#);
        assert_eq!(folded("Chr(99999999999)"), "Chr(99999999999)");
    }

    #[test]
    fn char_code_lists_are_read_as_text_through_the_pages_shift() {
        let vb = "nums=Array(69,120,101,99,117,116,101,32,120)\nFor i=0 To 8\nb=b&Chr(nums(i))\nNext";
        assert_eq!(char_code_payloads(vb).0, vec!["Execute x"]);
        let shifted = "s=\"76|127|108|106|124|123|108|39|127\"\nFor Each n In Split(s,\"|\")\nb=b&ChrW(n-7)\nNext";
        assert_eq!(char_code_payloads(shifted).0, vec!["Execute x"]);
        let through_a_name = "t=Array(76,127,108,106,124,123,108,39,127)\nFor i=0 To 8\nc=t(i)-7\nb=b&Chr(c)\nNext";
        assert_eq!(char_code_payloads(through_a_name).0, vec!["Execute x"]);
        let js = "var t=[101^1,0];var k=[100,119,96,109,41,40,58,33,33];for(i in k)s+=String.fromCharCode(k[i]^1);";
        assert_eq!(char_code_payloads(js).0, vec!["eval();  "]);
        // Tables of numbers that are not text stay numbers: days of months, a CRC table.
        assert!(char_code_payloads("d=Array(31,28,31,30,31,30,31,31,30,31,30,31)").0.is_empty());
        assert!(
            char_code_payloads(
                "var t=[0,1996959894,3993919788,2567524794,124634137,1886057615,3915621685,2657392035];"
            )
            .0
            .is_empty()
        );
        assert!(char_code_payloads("var p=[48,49,50,51,52,53,54,55,56,57];").0.is_empty());
        // More lists than are read is said, not silent.
        let many = "x=Array(69,120,101,99,117,116,101,32,120)\n".repeat(MAX_CHAR_CODE_LISTS + 1);
        let (payloads, capped) = char_code_payloads(&many);
        assert!(capped && payloads.len() == MAX_CHAR_CODE_LISTS);
        assert!(!char_code_payloads(vb).1);
    }

    #[test]
    fn lists_of_pieces_gathered_by_a_loop_are_read_as_their_text() {
        let page = "a=Split(\"Ex|ecu|te R|equest(\\\"v\\\")\",\"|\")\nFor i=0 To UBound(a)\nb=b&a(i)\nNext";
        let folded = folded(&propagate_constants(&folded(page)).unwrap_or_default());
        assert_eq!(piece_list_payloads(&folded).0, vec!["Execute Request(\"v\")"], "{folded}");
        let each = "For Each p In Array(\"Ex\",\"ecute x\")\ns=s&p\nNext";
        assert_eq!(piece_list_payloads(each).0, vec!["Execute x"]);
        let net = "foreach(var p in new[]{\"Sys\",\"tem.Diag\"}){\nr+=p;}";
        assert_eq!(piece_list_payloads(net).0, vec!["System.Diag"]);
        // A list read item by item into another name, or a name that is not the gatherer, is not text.
        assert!(piece_list_payloads("For Each p In Array(\"Ex\",\"ecute x\")\ns=t&p\nNext").0.is_empty());
        assert!(piece_list_payloads("b=c&Array(\"Ex\",\"ecute x\")(i)").0.is_empty());
    }

    #[test]
    fn matches_start_and_end_at_the_edges_of_literals() {
        // `"("+text+")"` holds `("+text+")` and `"+text+"`, which look like a literal in parentheses.
        assert_eq!(folded(r#"j=eval("("+text+")");"#), r#"j=eval("("+text+")");"#);
        assert_eq!(folded(r#"x="=("+a+")";"#), r#"x="=("+a+")";"#);
        assert_eq!(folded(r#"x=("a")+"b";"#), r#"x="ab";"#);
    }

    #[test]
    fn lists_of_literals_joined() {
        assert_eq!(folded(r#"x=["WScr","ipt.Sh","ell"].join("");"#), r#"x="WScript.Shell";"#);
        assert_eq!(folded(r#"x=["a","b"].join();"#), r#"x="a,b";"#);
        assert_eq!(folded(r#"x=Join(Array("WScript","Shell"),".")"#), r#"x="WScript.Shell""#);
        assert_eq!(folded(r#"x=String.Join(".",new[]{"System","Diagnostics"});"#), r#"x="System.Diagnostics";"#);
        assert_eq!(folded(r#"x=[a,"b"].join("")"#), r#"x=[a,"b"].join("")"#);
    }

    #[test]
    fn reverse_forms() {
        assert_eq!(folded(r#"StrReverse("lave")"#), r#""eval""#);
        assert_eq!(folded(r#""lave".split("").reverse().join("")"#), r#""eval""#);
        assert_eq!(folded(r#"new string("lave".Reverse().ToArray())"#), r#""eval""#);
    }

    #[test]
    fn replace_chains() {
        assert_eq!(folded(r#"Replace("exXecXute","X","")"#), r#""execute""#);
        assert_eq!(folded(r#""eZvZal".Replace("Z","").Replace("a","a")"#), r#""eval""#);
        assert_eq!(folded(r#""eZvZal".replace("Z","")"#), r#""evZal""#);
        assert_eq!(folded(r#""eZvZal".replace(/Z/g,"")"#), r#""eval""#);
    }

    #[test]
    fn base64_and_hex_literals_of_text_are_decoded_binary_kept() {
        // "Response.Write" in base64 and in hex
        assert_eq!(folded(r#"x="UmVzcG9uc2UuV3JpdGU=""#), r#"x="Response.Write""#);
        assert_eq!(folded(r#"x="526573706f6e73652e5772697465""#), r#"x="Response.Write""#);
        // a random key stays
        assert_eq!(folded(r#"k="q83v/9kLmA2Xz0+Rt1wPag==""#), r#"k="q83v/9kLmA2Xz0+Rt1wPag==""#);
        // UTF-16LE base64 (what PowerShell -enc writes)
        assert_eq!(folded(r#"x="ZQB2AGEAbAA=""#), r#"x="eval""#);
        assert_eq!(decode_text_literal("ZQB2AGEAbAAoACkA").as_deref(), Some("eval()"));
    }

    #[test]
    fn url_decoding_and_case() {
        assert_eq!(folded(r#"unescape("%65%76%u0061l")"#), r#""eval""#);
        assert_eq!(folded(r#"LCase("EVAL")+"X".ToLower()"#), r#""evalx""#);
    }

    #[test]
    fn layers_fold_to_a_fixed_point_within_the_pass_limit() {
        let code = r#"Execute(StrReverse(Replace(")\"x\"(tseuqer lave","x","z")))"#;
        assert_eq!(folded(code), r#"Execute("eval request(\"z\")")"#);
        let limited = fold(code, 1, 1 << 20);
        assert!(limited.incomplete);
    }

    #[test]
    fn late_binding_by_name_is_the_call_it_makes() {
        assert_eq!(
            folded("CallByName(sh,\"Shell\"&\"Execute\",CallType.Method,Environ(\"ComSpec\"),\"/c \"&t)"),
            "sh.ShellExecute(Environ(\"ComSpec\"),\"/c \"&t)"
        );
        assert_eq!(folded("CallByName(spec,\"Arguments\",CallType.Let,\"/c \"&x)"), "spec.Arguments=(\"/c \"&x)");
        assert_eq!(
            folded("a=CallByName(CallByName(job,\"StandardOutput\",CallType.Get),\"ReadToEnd\",CallType.Method)"),
            "a=job.StandardOutput().ReadToEnd()"
        );
        assert_eq!(folded("CallByName(o,\"a b\",CallType.Method)"), "CallByName(o,\"a b\",CallType.Method)");
        assert_eq!(
            folded("r=t.GetType().InvokeMember(\"Run\",BindingFlags.InvokeMethod,null,sh,new object[]{cmd,0})"),
            "r=sh.Run(cmd,0)"
        );
        assert_eq!(
            folded(
                "typeof(Cfg).InvokeMember(\"Path\",BindingFlags.SetProperty|BindingFlags.Static,null,null,new object[]{p})"
            ),
            "Cfg.Path=(p)"
        );
        assert_eq!(
            folded(
                "Type.GetType(\"System.Diagnostics.Process, System\").GetMethod(\"Start\",new[]{typeof(string),typeof(string)}).Invoke(null,new object[]{\"cmd.exe\",c})"
            ),
            "System.Diagnostics.Process.Start(\"cmd.exe\",c)"
        );
        assert_eq!(
            folded("t.GetMethod(\"AddScript\",new[]{typeof(string)}).Invoke(ps,new object[]{s+\"|x\"})"),
            "ps.AddScript(s+\"|x\")"
        );
        assert_eq!(
            folded("it.GetProperty(\"Arguments\").SetValue(si,\" /c \"+tk,null);\nx=1"),
            "si.Arguments=(\" /c \"+tk);\nx=1"
        );
        assert_eq!(folded("o=pt.GetProperty(\"StandardOutput\").GetValue(pr,null);"), "o=pr.StandardOutput;");
        // a static call on a type held by a variable names no type
        let unknown = "t.GetMethod(\"Create\",Type.EmptyTypes).Invoke(null,null)";
        assert_eq!(folded(unknown), unknown);
        assert_eq!(folded("var h=[\"l\",\"l\",\"e\",\"h\",\"S\"].reverse().join(\"\")"), "var h=\"Shell\"");
    }

    #[test]
    fn eval_of_a_literal_name_is_the_name() {
        assert_eq!(folded(r#"eval(eval(chr(114)+chr(101)+"quest")("a"))"#), r#"eval((request)("a"))"#);
        assert_eq!(folded(r#"x.eval("a")"#), r#"x.eval("a")"#);
        assert_eq!(folded(r#"eval("a b")"#), r#"eval("a b")"#);
    }

    #[test]
    fn constants_flow_into_later_statements() {
        let code = "xxx=\"e0x0ecute(req0uest(\\\"x\\\"))\"\nxxx=replace(xxx,\"0\",\"\")\neval xxx";
        let propagated = propagate_constants(code).unwrap_or_default();
        let folded = fold(&propagated, 8, 1 << 20).code;
        assert!(folded.ends_with("eval \"execute(request(\\\"x\\\"))\""), "{folded}");
        // a name assigned something else stops standing for the literal; members are not names
        let code = "a=\"x\"\nb=a\na=f()\nc=a\nd=o.a\ne=\"u:a\"";
        let propagated = propagate_constants(code).unwrap_or_default();
        assert_eq!(propagated, "a=\"x\"\nb=\"x\"\na=f()\nc=a\nd=o.a\ne=\"u:a\"");
        // a name built inside a one-line If or a loop body is no constant there or after
        let built = "z=\"\"\nFor Each p In s\nIf IsNumeric(p)Then z=z&ChrW(p)\nNext\nEval(z)";
        assert_eq!(propagate_constants(built), None);
        let looped = "o=\"\"\nFor i=1 To Len(s) Step 2\no=o&Chr(CInt(\"&H\"&Mid(s,i,2)))\nNext\nExecuteGlobal o";
        assert_eq!(propagate_constants(looped), None, "built by the loop");
        let array = "static readonly string[]P={\"System.Web.UI.\",\"Object\",\"StateFormatter\"};\nType t=Type.GetType(P[0]+P[1]+P[2]);";
        let folded = fold(&propagate_constants(array).unwrap_or_default(), 8, 4096).code;
        assert!(folded.ends_with("Type t=Type.GetType(\"System.Web.UI.ObjectStateFormatter\");"), "{folded}");
        let vb = "p=Array(\"WScript\",\"Shell\")\nSet o=CreateObject(p(0)&\".\"&p(1))";
        let folded = fold(&propagate_constants(vb).unwrap_or_default(), 8, 4096).code;
        assert!(folded.ends_with("Set o=CreateObject(\"WScript.Shell\")"), "{folded}");
        let typed = "Dim hk As String=\"HKLM\\\\\"\n.Arguments=\"save \"&hk&h";
        assert_eq!(
            propagate_constants(typed).as_deref(),
            Some("Dim hk As String=\"HKLM\\\\\"\n.Arguments=\"save \"&\"HKLM\\\\\"&h")
        );
        let straight = "x=\"Exe\"\nx=x&\"cute\"\ny=x";
        assert_eq!(propagate_constants(straight).as_deref(), Some("x=\"Exe\"\nx=\"Exe\"&\"cute\"\ny=\"Execute\""));
        let braced = "var z=\"\";for(i=0;i<n;i++){z+=c[i];}\neval(z)";
        assert_eq!(propagate_constants(braced), None);
        let tested = "k=\"a\"\nIf k=\"a\" Then x=1\nif(k==\"a\")y=k";
        assert_eq!(
            propagate_constants(tested).as_deref(),
            Some("k=\"a\"\nIf \"a\"=\"a\" Then x=1\nif(\"a\"==\"a\")y=\"a\""),
            "a test is no assignment"
        );
    }

    #[test]
    fn literals_split_into_lists_fold_and_travel_by_name() {
        assert_eq!(folded("Join(Split(\"WScript|Shell\",\"|\"),\".\")"), "\"WScript.Shell\"");
        assert_eq!(folded("\"a,b\".split(\",\")"), "[\"a\",\"b\"]");
        assert_eq!(folded("x=Split(\"a b\")"), "x=Array(\"a\",\"b\")");
        // Into characters, or by an absent separator: left as written.
        assert_eq!(folded("x=Split(\"ab\",\"\")"), "x=Split(\"ab\",\"\")");
        assert_eq!(folded("x=Split(\"ab\",\"|\")"), "x=Split(\"ab\",\"|\")");
        let page = "p=Split(\"Shell|Application\",\"|\")\nSet o=CreateObject(Join(p,\".\"))";
        let propagated = propagate_constants(&fold(page, 8, 4096).code).unwrap_or_default();
        assert!(fold(&propagated, 8, 4096).code.contains("CreateObject(\"Shell.Application\")"), "{propagated}");
    }

    #[test]
    fn wrapper_functions_around_decoders_are_inlined_on_literals() {
        let vb = "Function r(x):r=StrReverse(x):End Function";
        let wrappers = Wrappers::of([vb].into_iter());
        let code = "Set o=Server.CreateObject(r(\"llehS.tpircSW\")):o.Exec(r(\"c/ exe.dmc\")&c):y=obj.r(\"ab\")";
        let inlined = wrappers.inline(code).unwrap_or_default();
        assert_eq!(
            fold(&inlined, 8, 4096).code,
            "Set o=Server.CreateObject(\"WScript.Shell\"):o.Exec(\"cmd.exe /c\"&c):y=obj.r(\"ab\")"
        );
        let js = Wrappers::of(["function d(s){return unescape(s);}"].into_iter());
        assert_eq!(fold(&js.inline("x=d(\"%41B\")").unwrap_or_default(), 8, 4096).code, "x=\"AB\"");
        // A body with literals of its own is inlined where the call folds to one literal.
        let replaces =
            Wrappers::of(["Function U(s)\nU=Replace(Replace(s,\"~\",\"\"),\"^\",\"\")\nEnd Function"].into_iter());
        let inlined = replaces.inline("Set sh=CreateObject(U(\"W~Scr^ipt.Shell\"))").unwrap_or_default();
        assert_eq!(fold(&inlined, 8, 4096).code, "Set sh=CreateObject(\"WScript.Shell\")");
        let markup = Wrappers::of(["Function B(s)\nB=\"<b>\"&Server.HTMLEncode(s)&\"</b>\"\nEnd Function"].into_iter());
        assert_eq!(markup.inline("x=B(\"a\")"), None, "a template's call stays");
        // Not wrappers: a copy, a parameter used twice.
        for page in ["Function f(x):f=x:End Function", "Function f(x):f=Left(x,Len(x)-1):End Function"] {
            assert!(Wrappers::of([page].into_iter()).inline("y=f(\"abc\")").is_none(), "{page}");
        }
    }

    #[test]
    fn integer_expressions() {
        assert_eq!(integer_expression("100+1"), Some(101));
        assert_eq!(integer_expression("&H65"), Some(101));
        assert_eq!(integer_expression("2*50+1"), Some(101));
        assert_eq!(integer_expression("1-2"), None);
        assert_eq!(integer_expression("1 2"), None);
    }
}
