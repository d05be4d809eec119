//! Where request data goes in normalised server code: a small taint pass.
//!
//! Statements are the lines and `;`-separated pieces of canonical code. A
//! name is tainted when it is assigned (`x = ...`, `x += ...`, `Dim x = ...`,
//! `var x = ...`, `Session["k"] = ...`, a VB function's own name) from an
//! expression that holds a source pattern or an already tainted name, or when
//! it is the parameter of a function called with tainted arguments. The pass
//! repeats until nothing new is tainted (bounded). A sink receives request
//! data when the text after it, up to the statement's end, is tainted.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{Quotes, parameter_name, split_arguments};

/// Passes over the code before giving up on a fixed point.
const MAX_PASSES: usize = 8;
/// Functions whose parameters are followed, and call sites per function.
const MAX_FUNCTIONS: usize = 2000;
const MAX_CALL_SITES: usize = 200;
/// Web methods whose parameters are read as request data.
pub(crate) const MAX_WEB_METHODS: usize = 200;
/// Bytes of a function body searched for its `return`s.
const MAX_BODY: usize = 200_000;
/// Characters of a statement shown as evidence.
const EVIDENCE_CHARS: usize = 200;

static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"([A-Za-z_]\w*)(?:\[[^\]\n]{0,80}\]|\([^()\n]{0,80}\))?(?:\+|&)?=([^=].*)$")
});

/// The members an object initializer sets: `new T { A = x, B = y }` (C#, on one line once
/// canonical).
static INITIALIZER: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"\bnew\s+[A-Za-z_][\w.]*(?:<[^<>\n]{0,80}>)?(?:\([^()\n]{0,80}\))?\s*\{([^{}\n]{1,2000})\}",
    )
});

/// VBScript classes of the page (`Class GuestEntry`) and the names set to their instances
/// (`Set e = New GuestEntry`): member calls on those reach the class's own procedures.
static VB_CLASS: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?im)^\s*(?:Public\s+|Private\s+)?Class\s+([A-Za-z_]\w*)\s*$"));
static NEW_INSTANCE: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)\bSet\s+([A-Za-z_]\w*)\s*=\s*New\s+([A-Za-z_]\w*)"));
/// A statement that calls a member of an object: `e.Apply x`, `Call e.Apply(x)`, `e.Apply(x)`.
static MEMBER_CALL: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"(?i)^(?:call\s+)?([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?:[ \t]+([^=\s(][^=]*|\(.*)|(\(.*\)))$")
});
/// VBScript `Property Let Name(v)` / `Property Set Name(v)`: `obj.Name = x` hands x to v.
static PROPERTY_LET: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)\bProperty\s+(?:Let|Set)\s+([A-Za-z_]\w*)\s*\(([^()\n]*)\)"));

/// C# class definitions up to their opening brace (`public class T : Base {`).
static CLASS_DEFINITION: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"\bclass\s+([A-Za-z_]\w*)[^{;()]{0,200}\{"));

/// At most this many classes of a page are read as holders of their members' data.
const MAX_CLASSES: usize = 64;

/// Function definitions: C#/JScript (`type name(params){`, `List<T>name(params){` as canonical
/// code writes it), VB (`Function name(params)`).
static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)(?:\b(?:function|sub)\s+([A-Za-z_]\w*)\(([^()\n]*)\))|(?:\b[A-Za-z_][\w.<>\[\],]*?(?:\s+|[>\]])([A-Za-z_]\w*)\(([^()\n]*)\)\s*\{)",
    )
});

/// A VB statement calling a procedure without parentheses around its arguments:
/// `Name arg1, arg2` or `Call Name(args)` (the name, the argument text).
static BARE_CALL: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)^(?:call\s+)?([A-Za-z_]\w*)[ \t]+([^=\s(.][^=]*|\(.*)$"));

/// A name set to a new instance of a class (lowercase code): `x = new T(`, `x As New T`.
static NEW_OF_CLASS: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"\b([a-z_]\w*)\s*(?:=|\bas)\s*new\s+([a-z_][\w.]*)\s*(?:[(\n]|$)"));

/// VB's single-line `If cond Then statement` (the statement).
static SINGLE_LINE_IF: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)^(?:else)?if\b.+?\bthen[ \t]+(\S.*)$"));

/// `Set f = GetRef(name)` (VBScript): calls through `f` call the procedure named (the alias,
/// the argument).
static GET_REF: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)^(?:set\s+)?([A-Za-z_]\w*)\s*=\s*GetRef\s*\((.*)\)\s*$"));

/// Which procedures a `GetRef` argument may name: the one a literal names, those starting
/// with a literal the argument starts with (`"On_" & action`), or any (a computed name).
#[derive(Debug)]
enum RefTarget {
    Named(String),
    Prefix(String),
    Any,
}

impl RefTarget {
    fn of(argument: &str) -> RefTarget {
        let argument = argument.trim();
        let literal = |text: &str| -> Option<(String, usize)> {
            let inner = text.strip_prefix('"')?;
            let end = inner.find('"')?;
            Some((inner[..end].to_ascii_lowercase(), end + 2))
        };
        match literal(argument) {
            Some((name, len)) if len == argument.len() => RefTarget::Named(name),
            Some((prefix, _)) if !prefix.is_empty() => RefTarget::Prefix(prefix),
            _ => RefTarget::Any,
        }
    }

    fn names(&self, procedure: &str) -> bool {
        match self {
            RefTarget::Named(name) => name == procedure,
            RefTarget::Prefix(prefix) => procedure.starts_with(prefix.as_str()),
            RefTarget::Any => true,
        }
    }
}

/// `source.Read(buffer, ...)`, `source.CopyTo(target)`: the receiver's data lands in the first
/// argument (the receiver text, the argument name).
static FILLED_ARGUMENT: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)([A-Za-z_][\w.\[\]()]*)\.(?:Read|ReadBlock|CopyTo|CopyToAsync|ReadAsync)\(\s*([A-Za-z_]\w*)",
    )
});

/// `name.Append(...)`, `name.push(...)`: a string builder or array takes data (the receiver
/// name, the arguments). Streams and dictionaries are left out: upload classes write the whole
/// request body into one, file every field in the other, and read paths back from them.
/// `d.Add k, v`, `list.Insert(i, v)`, `q.Enqueue(v)`: a collection takes data (the receiver
/// name, the arguments). Followed only by capabilities that ask for it (`follow_containers`):
/// code that runs what a collection holds, not the paths upload classes file in them.
static FILLED_CONTAINER: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?i)(?:^|[^.\w])([A-Za-z_]\w*)\.(?:Add|Insert|Enqueue|Unshift)\b(.*)$"));

static FILLED_RECEIVER: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"(?i)(?:^|[^.\w])([A-Za-z_]\w*)\.(?:Push|Append|AppendLine|AppendFormat|Concat)\b(.*)$")
});

/// `For Each item [As T] In collection` (VB), `foreach([T] item in collection)` (C#),
/// `for(var item in collection)` (JScript) up to the collection: the item.
static FOR_EACH: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^(?:For[ \t]+Each[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?:[ \t]+As[ \t]+[A-Za-z0-9_.()]+)?[ \t]+In[ \t]|(?:\}[ \t]*)?for(?:each)?[ \t]*\([ \t]*(?:(?:var|let|const|[A-Za-z0-9_.<>\[\],]+)[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]+in[ \t])",
    )
});

/// `Array.Copy(` / `Buffer.BlockCopy(`.
static BLOCK_COPY: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"\b(?:Array\.Copy|Buffer\.BlockCopy)\("));

/// VB.NET declarations with a value: `Dim x As T = value`, `Dim x As New T(args)` (the name,
/// the value or the constructor's arguments).
static VB_DECLARATION: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^(?:Dim|Private|Public|Protected|Friend|Static|Shared|Const)\s+(?:Shared\s+|ReadOnly\s+)*([A-Za-z_]\w*)(?:\(\)\s*|\s+)As\s+(?:New\s+[\w.]+(?:\(\))?(\(.*)|[\w.\[\]]+(?:\(\))?\s*=\s*(.*))$",
    )
});

/// `return value` in a C-like function body.
static RETURN: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"^\}?\s*return\s+(.+?)\s*;?$"));

/// A procedure the page defines (VBScript `Function`/`Sub`, JScript `function`), by name.
static PROCEDURE: LazyLock<Regex> =
    // `[ \t]`, not `\s`: "End Sub" then a statement on the next line is not a definition.
    LazyLock::new(|| crate::pattern::builtin(r"(?i)\b(?:function|sub)[ \t]+([A-Za-z_]\w*)"));

/// `Set name = [Server.]CreateObject("ProgID")`: the variable and the ProgID.
static CREATED_OBJECT: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r#"(?i)\bset\s+([A-Za-z_]\w*)\s*=\s*(?:server\s*\.\s*)?createobject\s*\(\s*"([^"]+)""#)
});

/// `x = new T(...)` (C#, JScript .NET; `var`/a type in front or none): the variable and the
/// type's last name.
static NEW_OBJECT: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"\b([A-Za-z_]\w*)\s*=\s*new\s+(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)\s*\("));

/// `t = typeof(T)` / `t = Type.GetType("N.T, Assembly")` (C#, or VB `Dim t As Type = ...`).
static TYPE_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r#"\b([A-Za-z_]\w*)(?:\s+As\s+[\w.]+)?\s*=\s*(?:typeof\(|(?:[\w.]+\.)?GetType\(\s*")[^\n]*"#,
    )
});

/// `o = [(Cast)]Activator.CreateInstance(...)` to the line's end (the name, the arguments).
static REFLECTED_OBJECT: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"\b([A-Za-z_]\w*)(?:\s+As\s+[\w.]+)?\s*=\s*(?:\([\w.]+\)\s*)?(?:[\w.]+\.)?CreateInstance\(([^\n]*)",
    )
});

/// The last name of the type a text reflects on: `typeof(T)`, `GetType("N.T, ...")`, or a
/// dotted literal (`CreateInstance("System.Web", "System.Web.UI.LosFormatter")`), lower case.
fn reflected_type(text: &str) -> Option<String> {
    static NAMED: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r#"\btypeof\(\s*(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)\s*\)|"(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)\s*(?:,[^"]*)?""#,
        )
    });
    NAMED
        .captures_iter(text)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)))
        .last()
        .map(|m| m.as_str().to_ascii_lowercase())
}

/// A text stream opened on a file: `Set f = fso.CreateTextFile(...)` / `OpenTextFile`
/// (VBScript, JScript `var f = ...`), `new StreamWriter(...)` / `File.CreateText(...)` (.NET).
static OPENED_STREAM: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)\b([A-Za-z_]\w*)\s*=\s*(?:[\w.]+\.(?:CreateTextFile|OpenTextFile)\b|new\s+(?:System\.IO\.)?StreamWriter\(|(?:System\.IO\.)?File\.(?:CreateText|AppendText)\()",
    )
});

/// What `OPENED_STREAM` variables are, among the ProgIDs of created objects: a stream on a
/// file, and one on a file whose path holds request data.
const TEXT_STREAM: &str = "textstream";
/// ... a stream that appends to its file (`OpenTextFile(p, 8)`, `File.AppendText`,
/// `new StreamWriter(p, true)`): what a log is written through.
const TEXT_STREAM_APPENDING: &str = "textstream-appending";
const TEXT_STREAM_AT_REQUEST_PATH: &str = "textstream-at-request-path";
/// ... a stream opened on a path ending in a server-page extension, and on one that is both.
const TEXT_STREAM_AT_SERVER_PAGE: &str = "textstream-at-server-page";
const TEXT_STREAM_AT_REQUEST_PAGE: &str = "textstream-at-request-page";

/// The arguments of a writer opened over a stream that is no file: an outgoing HTTP request's
/// body, a response's, a socket's, memory.
static OVER_A_STREAM: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^\(\s*(?:[\w.]+(?:\(\))?\.(?:GetRequestStream|GetResponseStream|GetStream)\(\s*\)|[\w.]+\.(?:OutputStream|BaseStream)|new (?:System\.IO\.)?MemoryStream\([^()\n]*\))\s*[,)]",
    )
});

/// `fs = new FileStream(path, FileMode.Append, ...)` / `fs = File.Open(path, FileMode.Append)`.
static APPENDING_FILE_STREAM: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"\b([A-Za-z_]\w*)\s*=\s*(?:new\s+(?:System\.IO\.)?FileStream|(?:System\.IO\.)?File\.Open)\([^;\n]{0,200}?\bFileMode\.Append\b",
    )
});

/// Whether the arguments of `OpenTextFile(path, mode, ...)` / `new StreamWriter(path, append)`
/// open the file for appending: the mode 8 (`ForAppending`) or the flag `true` second.
fn appends(args: &str) -> bool {
    let pieces = crate::normalize::split_arguments(args);
    pieces.get(1).is_some_and(|mode| {
        let mode = mode.trim();
        mode == "8" || mode.eq_ignore_ascii_case("ForAppending") || mode.eq_ignore_ascii_case("true")
    })
}

/// A literal ending in an extension IIS runs as script.
static SERVER_PAGE_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r#"(?i)\.(?:asp|aspx|ashx|asmx|asa|cer|cdx)""#));

static WORD: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"[A-Za-z_]\w*"));

const KEYWORDS: [&str; 24] = [
    "if", "then", "else", "end", "dim", "set", "var", "new", "return", "string", "object", "byte", "int", "true",
    "false", "null", "nothing", "and", "or", "not", "call", "this", "me", "function",
];

/// The code split into statements: at line ends and, outside literals, at `;` and, in
/// code without semicolons (VBScript, VB.NET), at the `:` that separates statements.
pub(crate) fn statements(code: &str) -> Vec<&str> {
    let mut quotes = Quotes::default();
    let colon_separates = !strip_literals(code).contains(';');
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, ch) in code.char_indices() {
        let split = match ch {
            '\n' => {
                quotes = Quotes::default();
                true
            }
            ';' => !quotes.feed(ch),
            ':' => !quotes.feed(ch) && colon_separates,
            _ => {
                quotes.feed(ch);
                false
            }
        };
        if split {
            pieces.push(&code[start..i]);
            start = i + 1;
        }
    }
    pieces.push(&code[start..]);
    pieces.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// How much of an expression request data must make for the expression to carry it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Reach<'a> {
    /// Request data anywhere in it (`"select ... where id=" & Request("id")`).
    #[default]
    Anywhere,
    /// Request data at its start, so the visitor supplies all of it: a path with no folder of
    /// the application in front, a whole connection string. `server_filled` are `Request`
    /// members the server fills (the application's own folders), which never count.
    Whole { server_filled: &'a [Regex] },
}

/// Functions that hand their (first) argument on as it is, give or take case, blanks,
/// escapes and base64: the visitor still supplies all of what comes out.
static PASS_THROUGH: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)^(?:(?:Server|HttpUtility|WebUtility)\s*\.\s*(?:UrlDecode|HtmlDecode)|Trim|LTrim|RTrim|CStr|LCase|UCase|Replace|Unescape|decodeURIComponent|decodeURI|String|Convert\.ToString|(?:System\.IO\.)?Path\.(?:Combine|GetFullPath)|(?:System\.Text\.)?Encoding\.\w+\.GetString|(?:System\.)?Convert\.FromBase64String)\s*\(",
    )
});

/// What a page reaches the request through: `this.`, `Me.`, `context.`, `HttpContext.Current.`.
static OWNER: LazyLock<Regex> = LazyLock::new(|| {
    // A handler's `context` parameter may carry its procedure's mark (see `scope`).
    crate::pattern::builtin(
        r"(?i)^(?:this|me|page|(?:http)?context(?:ǂ\d+)?(?:\s*\.\s*current)?)\s*\.\s*(?:context\s*\.\s*)?",
    )
});

/// The start of an expression that decides who supplies all of it: opening parentheses,
/// pass-through functions, `"" &` (a cast to string) and `this.`/`Me.` skipped.
fn head(expression: &str) -> &str {
    let mut text = expression;
    loop {
        let mut next = text.trim_start_matches(|c: char| c == '(' || c.is_whitespace());
        if let Some(rest) = next.strip_prefix("\"\"").map(str::trim_start)
            && let Some(rest) = rest.strip_prefix(['&', '+'])
        {
            next = rest;
        }
        if let Some(call) = PASS_THROUGH.find(next) {
            text = &next[call.end()..];
            continue;
        }
        if let Some(owner) = OWNER.find(next) {
            next = &next[owner.end()..];
        }
        if next.len() == text.len() {
            return next;
        }
        text = next;
    }
}

/// The values a C-like conditional expression `c ? a : b` may take (`a` and `b`), or the
/// expression itself.
fn branches(expression: &str) -> Vec<&str> {
    let mut quotes = Quotes::default();
    let (mut depth, mut question) = (0i32, None);
    for (i, ch) in expression.char_indices() {
        if quotes.feed(ch) {
            continue;
        }
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '?' if depth == 0 && question.is_none() => question = Some(i),
            ':' if depth == 0 => {
                if let Some(q) = question {
                    return vec![&expression[q + 1..i], &expression[i + 1..]];
                }
            }
            _ => {}
        }
    }
    vec![expression]
}

/// Whether stripped code starts with a source (and not with a member the server fills), and
/// is not the request's body stream: a reader over a stream reads no path.
fn starts_with_source(code: &str, sources: &[Regex], server_filled: &[Regex]) -> bool {
    static STREAM: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r"(?i)(?:\.InputStream|\bGetBufferlessInputStream\(\)|\bGetBufferedInputStream\(\))\s*\)?\s*$",
        )
    });
    sources.iter().any(|s| s.find(code).is_some_and(|m| m.start() == 0))
        && !server_filled.iter().any(|s| s.find(code).is_some_and(|m| m.start() == 0))
        && !STREAM.is_match(code)
}

/// Names carrying request data.
#[derive(Debug, Default)]
pub(crate) struct Taint<'r> {
    names: HashSet<String>,
    /// How the names carry it: anywhere in their values, or as the whole of them.
    reach: Reach<'r>,
    /// Request members the server or the connection sets (the peer's address, the method): not
    /// data the visitor writes, blanked before sources are looked for.
    server_values: &'r [Regex],
    /// The passes stopped at their bound before nothing new was tainted.
    pub(crate) capped: bool,
}

impl Taint<'_> {
    /// Whether a sink's `args` receive request data: any of them holds it, or with
    /// [`Reach::Whole`] the first argument is all request data.
    pub(crate) fn reaches(&self, args: &str, sources: &[Regex]) -> bool {
        let Reach::Whole { server_filled } = self.reach else {
            return self.holds(args, sources);
        };
        let first = split_arguments(args).into_iter().next().unwrap_or(args);
        let code = strip_literals(head(first));
        if starts_with_source(&code, sources, server_filled) {
            return true;
        }
        WORD.find(&code).is_some_and(|w| w.start() == 0 && self.names.contains(&w.as_str().to_ascii_lowercase()))
    }

    /// Whether `text` holds request data: a source pattern or a tainted name
    /// (outside string literals).
    pub(crate) fn holds(&self, text: &str, sources: &[Regex]) -> bool {
        let blanked = without_server_values(text, self.server_values);
        let code = strip_literals(&blanked);
        // A source that names a literal (a form field called "password") is looked for with
        // the literals in; the others without, so text that mentions `Request` is no source.
        if sources.iter().any(|s| source_in(s, &code, &blanked)) {
            return true;
        }
        if self.names.is_empty() {
            return false;
        }
        WORD.find_iter(&code).any(|w| self.names.contains(&w.as_str().to_ascii_lowercase()))
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names.contains(&name.to_ascii_lowercase())
    }
}

/// Whether a source is in an expression: looked for without the literals (text that mentions
/// `Request` is no source), unless the source names a literal itself (a form field called
/// "password"), then with them.
fn source_in(source: &Regex, stripped: &str, with_literals: &str) -> bool {
    if source.as_str().contains('"') { source.is_match(with_literals) } else { source.is_match(stripped) }
}

/// A dictionary the page creates: `Set d = CreateObject("Scripting.Dictionary")`,
/// `var d = new Dictionary<string, string>()` / `new Hashtable()`.
static DICTIONARY: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r#"(?i)\bset\s+([A-Za-z_]\w*)\s*=\s*(?:server\s*\.\s*)?createobject\s*\(\s*"Scripting\.Dictionary"\s*\)|\b([A-Za-z_]\w*)\s*=\s*new\s+(?:System\.Collections(?:\.Generic)?\.)?(?:Dictionary<[^<>\n]{1,80}>|Hashtable)\s*\(\s*\)\s*;"#,
    )
});

/// At most this many dictionaries are looked at per page.
pub(crate) const MAX_DICTIONARIES: usize = 16;

/// Lookups in the page's dictionaries that hold literals only (every `d.Add k, v`, `d(k) = v`,
/// `d[k] = v` stores a literal or a number): `d(key)` is one of those literals whatever the key,
/// so a key from the request does not make it request data (a dispatch table of the page's own
/// procedure names). Patterns of such lookups, to blank as the server's own values are.
/// Also whether the page creates more dictionaries than are looked at.
pub(crate) fn literal_table_lookups(code: &str) -> (Vec<Regex>, bool) {
    if !code.contains("Dictionary") && !code.contains("Hashtable") {
        return (Vec::new(), false);
    }
    let mut lookups = Vec::new();
    let mut dictionaries = DICTIONARY.captures_iter(code);
    for c in dictionaries.by_ref().take(MAX_DICTIONARIES) {
        let Some(name) = c.get(1).or_else(|| c.get(2)) else { continue };
        let name = regex::escape(name.as_str());
        let Ok(setter) = Regex::new(&format!(
            r"(?im)(?:^|[^.\w]){name}(?:\.Add\b\s*\(?(?P<add>[^\n]*)|(?:\.Item)?\s*[(\[][^\n]*?[)\]]\s*=(?P<set>[^=\n][^\n]*))$"
        )) else {
            continue;
        };
        let mut setters = 0usize;
        let literal_only = setter.captures_iter(code).all(|s| {
            setters += 1;
            let value = match (s.name("add"), s.name("set")) {
                (Some(add), _) => {
                    let args = add.as_str().trim().trim_end_matches(';').trim_end_matches(')');
                    split_arguments(args).get(1).map_or("", |v| v.trim())
                }
                (None, Some(set)) => set.as_str().trim().trim_end_matches(';'),
                _ => "",
            };
            literal_or_number(value)
        });
        if setters > 0
            && literal_only
            && let Ok(lookup) = Regex::new(&format!(r"(?i)\b{name}(?:\.Item)?\s*(?:\([^()\n]*\)|\[[^\[\]\n]*\])"))
        {
            lookups.push(lookup);
        }
    }
    (lookups, dictionaries.next().is_some())
}

/// A literal (`"text"`, `'c'`) or a number, as canonical code writes them.
fn literal_or_number(value: &str) -> bool {
    static LITERAL: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(&format!(
            "^(?:{}|-?\\d+(?:\\.\\d+)?|true|false|True|False)$",
            crate::normalize::LITERAL_PATTERN
        ))
    });
    LITERAL.is_match(value)
}

/// `code` with the request members the server sets blanked (see [`Taint`]).
fn without_server_values<'t>(code: &'t str, server_values: &[Regex]) -> std::borrow::Cow<'t, str> {
    let mut code = std::borrow::Cow::Borrowed(code);
    for pattern in server_values {
        if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&code, "ServerValue") {
            code = std::borrow::Cow::Owned(replaced);
        }
    }
    code
}

/// `code` (without literals) with the arguments of calls that make a number emptied: what
/// `CDbl(w)` or `Len(s)` reads carries none of its text into the expression around it. Not
/// where the expression makes characters of numbers (`Chr(CLng("&H"&Mid(s,i,2)) Xor k)`):
/// there the numbers are the text, one character at a time.
fn without_number_arguments(code: &str) -> std::borrow::Cow<'_, str> {
    static CHARACTERS_OF_NUMBERS: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(r"(?i)\b(?:Chr[WB]?|fromCharCode|ToChar|ConvertFromUtf32)\s*\(|\(\s*char\s*\)")
    });
    static NUMBER_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r"(?i)(?:^|[^.\w])(?:CInt|CLng|CDbl|CSng|CBool|CCur|Len|LenB|UBound|LBound|parseInt|parseFloat|Int|Fix|Abs|IsNumeric|InStr|InStrRev|(?:Convert\.)?ToInt(?:16|32|64)|(?:int|long|double|decimal|Int32|Int64|Double|Decimal)\.(?:Try)?Parse)\s*\(",
        )
    });
    if !NUMBER_FUNCTION.is_match(code) || CHARACTERS_OF_NUMBERS.is_match(code) {
        return std::borrow::Cow::Borrowed(code);
    }
    let mut out = String::with_capacity(code.len());
    let mut copied = 0;
    for call in NUMBER_FUNCTION.find_iter(code) {
        let open = call.end() - 1;
        if open < copied {
            continue;
        }
        let arguments = argument_text(&code[open..]);
        out.push_str(&code[copied..open]);
        out.push_str("()");
        copied = open + arguments.len().max(1);
    }
    out.push_str(&code[copied.min(code.len())..]);
    std::borrow::Cow::Owned(out)
}

/// Lowercase names of the procedures the page defines (`Function x`, `Sub x`, `function x`).
pub(crate) fn own_procedures(code: &str) -> HashSet<String> {
    PROCEDURE.captures_iter(code).map(|c| c[1].to_ascii_lowercase()).collect()
}

/// Characters in the longest `"..."` literal of canonical code.
pub(crate) fn longest_literal(code: &str) -> usize {
    let mut quotes = Quotes::default();
    let (mut longest, mut current) = (0usize, 0usize);
    for ch in code.chars() {
        if quotes.feed(ch) {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest.saturating_sub(2)
}

/// Whether a sink's argument is one name the page tested against an anchored pattern of digits,
/// operators and blanks only (`re.Pattern="^[0-9.+*/() -]{1,64}$"`, then `re.Test(expr)`, JScript
/// `/^[\d+*\/ -]+$/.test(expr)`): a calculator's expression, a number, carries no code or path.
fn validated_arithmetic(code: &str, args: &str) -> bool {
    static NAME: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"^[\s(]*([A-Za-z_]\w*)[\s)]*$"));
    static VB_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r#"(?i)\b([A-Za-z_]\w*)\.Pattern\s*=\s*"\^\[([^\]"\n]{1,60})\](?:\{\d{1,4}(?:,\d{0,4})?\}|[+*])\$""#,
        )
    });
    static JS_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r"/\^\[((?:[^\]/\\\n]|\\.){1,60})\](?:\{\d{1,4}(?:,\d{0,4})?\}|[+*])\$/\.test\(\s*([A-Za-z_]\w*)\s*\)",
        )
    });
    let Some(name) = NAME.captures(args).map(|c| c[1].to_ascii_lowercase()) else { return false };
    // Digits, operators, blanks, parentheses and the escapes \d \s \. only: no letter of code.
    let arithmetic = |class: &str| {
        let unescaped = class.replace("\\\\", "\\").replace("\\d", "").replace("\\s", "");
        !unescaped.chars().any(|c| c.is_ascii_alphabetic())
    };
    let tested = |object: &str| {
        let test = format!("{}.test(", object.to_ascii_lowercase());
        code.to_ascii_lowercase().match_indices(&test).any(|(at, _)| {
            NAME.captures(argument_text(&code[at + test.len() - 1..])).is_some_and(|c| c[1].eq_ignore_ascii_case(&name))
        })
    };
    VB_PATTERN.captures_iter(code).any(|c| arithmetic(&c[2]) && tested(&c[1]))
        || JS_PATTERN.captures_iter(code).any(|c| arithmetic(&c[1]) && c[2].eq_ignore_ascii_case(&name))
}

/// Whether byte `offset` of a canonical statement is inside a `"..."` literal.
pub(crate) fn inside_literal(statement: &str, offset: usize) -> bool {
    let mut quotes = Quotes::default();
    statement[..statement.floor_char_boundary(offset)].chars().for_each(|ch| {
        quotes.feed(ch);
    });
    quotes.in_string
}

/// Code text with the insides of literals blanked (names in strings are not names).
fn strip_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quotes = Quotes::default();
    for ch in text.chars() {
        let was_inside = quotes.in_string;
        // Keep the opening and closing quotes, nothing between them.
        if !quotes.feed(ch) || (ch == '"' && was_inside != quotes.in_string) {
            out.push(ch);
        }
    }
    out
}

/// The arguments of the call whose `(` is at the start of `text`, or the
/// rest of the statement when the call has no parentheses.
pub(crate) fn argument_text(text: &str) -> &str {
    // Canonical code holds a call on one line: an unclosed one ends there, not at the code's end
    // (a page of calls after one unclosed parenthesis would be read once per call).
    let line = text.find('\n').map_or(text, |end| &text[..end]);
    let trimmed = line.trim_start();
    if !trimmed.starts_with('(') {
        return trimmed;
    }
    let mut depth = 0usize;
    let mut quotes = Quotes::default();
    for (i, ch) in trimmed.char_indices() {
        if quotes.feed(ch) {
            continue;
        }
        match ch {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &trimmed[..=i];
                }
            }
            _ => {}
        }
    }
    trimmed
}

/// Parameters of the page's web methods (`[WebMethod]`, `<WebMethod()>`, JScript .NET
/// `WebMethodAttribute function`): ASP.NET fills them from the SOAP or HTTP request. With
/// them, whether there were more than [`MAX_WEB_METHODS`] web methods (the rest not read).
pub(crate) fn web_method_parameters(code: &str) -> (Vec<String>, bool) {
    static WEB_METHOD: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r"(?i)\bWebMethod(?:Attribute)?(?:\([^()\n]{0,200}\))?\W\s*[^{\n]{0,200}?\b\w+\s*\(([^()\n]*)\)",
        )
    });
    let mut names = Vec::new();
    let mut methods = WEB_METHOD.captures_iter(code);
    let push_parameters = |names: &mut Vec<String>, parameters: &str| {
        for piece in split_arguments(parameters) {
            // JScript .NET writes `name : Type`.
            let piece = piece.split(':').next().unwrap_or(piece);
            names.extend(parameter_name(piece).map(str::to_owned));
        }
    };
    for c in methods.by_ref().take(MAX_WEB_METHODS) {
        push_parameters(&mut names, &c[1]);
    }
    let mut more = methods.next().is_some();
    // WCF: the service contract's operations (`[OperationContract]` on the interface) are
    // implemented by methods of the same name, whose parameters WCF fills from the message.
    let operations = operation_names(code);
    more |= operations.len() > MAX_WEB_METHODS;
    if !operations.is_empty() {
        for c in DEFINITION.captures_iter(code) {
            let (Some(name), Some(parameters)) = (c.get(1).or_else(|| c.get(3)), c.get(2).or_else(|| c.get(4))) else {
                continue;
            };
            if operations.iter().take(MAX_WEB_METHODS).any(|o| o.eq_ignore_ascii_case(name.as_str())) {
                push_parameters(&mut names, parameters.as_str());
            }
        }
    }
    (names, more)
}

/// Names of the WCF operations the code declares: the method after each `[OperationContract]`
/// (`<OperationContract()>` in VB.NET), past other attributes on their own lines.
fn operation_names(code: &str) -> Vec<String> {
    static CALLED_NAME: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"(?i)(?:\b(?:Function|Sub)\s+)?([A-Za-z_]\w*)\s*\("));
    let mut names = Vec::new();
    for found in memchr::memmem::find_iter(code.as_bytes(), b"OperationContract").take(MAX_WEB_METHODS + 1) {
        // The rest of the attribute's line after it closes, then the lines that follow.
        let line_end = code[found..].find('\n').map_or(code.len(), |i| found + i);
        let after = code[found..line_end].find([']', '>']).map_or(line_end, |i| found + i + 1);
        let mut lines = std::iter::once(&code[after..line_end])
            .chain(code[line_end..].split('\n'))
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('[') && !l.starts_with('<'));
        if let Some(declaration) = lines.next()
            && let Some(c) = CALLED_NAME.captures(declaration)
        {
            names.push(c[1].to_owned());
        }
    }
    names
}

/// Whether an expression is a number made from its operands (a position, length, count, a
/// parsed or converted number, a GUID): one call of such a function, or a `.length`/`.Count`.
fn is_number(expression: &str) -> bool {
    static NUMBER_CALL: LazyLock<Regex> = LazyLock::new(|| {
        crate::pattern::builtin(
            r"(?i)^(?:new\s+(?:System\.)?Guid|(?:[\w\[\]]+\.)*(?:indexOf|lastIndexOf|InStr|InStrRev|Len|LenB|UBound|LBound|CInt|CLng|CDbl|CSng|CByte|CBool|parseInt|parseFloat|Int|Fix|Abs|Asc|AscW|AscB|IsNumeric|IsEmpty|IsNull|IsArray|IsObject|Parse|TryParse|ToInt16|ToInt32|ToInt64|ToBoolean|ToDouble|Compare|search))\s*\(",
        )
    });
    static LENGTH: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"(?i)^[\w.\[\]()]+\.(?:length|Count)\s*$"));
    // VB `For i = a To b`: the counter is a number between the bounds.
    static FOR_BOUNDS: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?i)^\S.*?\sTo\s"));
    let expression = expression.trim().trim_end_matches(';').trim_end();
    if LENGTH.is_match(expression) || FOR_BOUNDS.is_match(&strip_literals(expression)) {
        return true;
    }
    let Some(call) = NUMBER_CALL.find(expression) else { return false };
    // The call is the whole expression (not `InStr(a, b) & rest`).
    argument_text(&expression[call.end() - 1..]).len() == expression.len() - (call.end() - 1)
}

/// One way data moves into a name: an assignment's right-hand side or an
/// argument handed to a parameter, read once (the passes only look ids up).
struct Edge {
    /// The name that receives the data; `None` for a keyword (never tainted).
    target: Option<usize>,
    /// The expression holds a source pattern itself.
    from_source: bool,
    /// Names the expression reads (outside literals).
    reads: Vec<usize>,
}

/// Every move of a page read for data anywhere in it.
struct ReadMoves<'c> {
    /// Lower-case names in order of appearance, and their ids.
    names: Vec<String>,
    ids: HashMap<String, usize>,
    edges: Vec<ReadEdge<'c>>,
}

/// A move read once for data anywhere in it (see [`Names::read_edge`]).
struct ReadEdge<'c> {
    target: Option<usize>,
    /// A number made from its operands: carries nothing.
    number: bool,
    stripped: String,
    /// The expression as written, literals in: for sources that name a literal.
    with_literals: &'c str,
    reads: Vec<usize>,
}

/// Lower-case names numbered in order of appearance.
#[derive(Default)]
struct Names<'r> {
    ids: HashMap<String, usize>,
    names: Vec<String>,
    /// See [`Taint`].
    server_values: &'r [Regex],
}

impl Names<'_> {
    fn id(&mut self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if KEYWORDS.contains(&lower.as_str()) {
            return None;
        }
        if let Some(&id) = self.ids.get(&lower) {
            return Some(id);
        }
        let id = self.names.len();
        self.names.push(lower.clone());
        self.ids.insert(lower, id);
        Some(id)
    }

    /// What a move reads, for data anywhere in it: its names and its code without literals (a
    /// source is looked for in it per set of sources).
    fn read_edge<'c>(&mut self, target: &str, expression: &'c str) -> ReadEdge<'c> {
        let target = self.id(target);
        if is_number(expression) {
            return ReadEdge { target, number: true, stripped: String::new(), with_literals: "", reads: Vec::new() };
        }
        let stripped = strip_literals(&without_server_values(expression, self.server_values));
        let stripped = without_number_arguments(&stripped).into_owned();
        let mut reads: Vec<usize> = WORD.find_iter(&stripped).filter_map(|w| self.id(w.as_str())).collect();
        reads.sort_unstable();
        reads.dedup();
        ReadEdge { target, number: false, stripped, with_literals: expression, reads }
    }

    /// What a move carries when only a value the request makes whole counts: what the
    /// expression (or a branch of `c ? a : b`) starts with.
    fn whole_edge(&mut self, target: &str, expression: &str, sources: &[Regex], server_filled: &[Regex]) -> Edge {
        let target = self.id(target);
        if is_number(expression) {
            // A count, position or parsed number carries none of the text it was taken from.
            return Edge { target, from_source: false, reads: Vec::new() };
        }
        let (mut from_source, mut reads) = (false, Vec::new());
        for branch in branches(expression) {
            let code = strip_literals(head(branch));
            if starts_with_source(&code, sources, server_filled) {
                from_source = true;
            } else if let Some(w) = WORD.find(&code).filter(|w| w.start() == 0) {
                reads.extend(self.id(w.as_str()));
            }
        }
        Edge { target, from_source, reads }
    }
}

/// Where data moves in a page's code, found once and followed for any sources: each move is
/// a name and the expression it receives (an assignment, an argument handed to a parameter,
/// a buffer filled, a function's return).
pub(crate) struct Flows<'c> {
    code: &'c str,
    /// The code's statements (see [`statements`]), split once for every sink search.
    pub(crate) statements: Vec<&'c str>,
    moves: Vec<(&'c str, &'c str)>,
    /// Collections filled (`d.Add k, v`) and class properties set (`Property Let`), for the
    /// capabilities that follow them.
    container_moves: Vec<(&'c str, &'c str)>,
    /// The moves read for data anywhere in them (names, ids, edges), built by the first
    /// [`propagate_from`] at that reach; every later one on the page passes the same server values.
    anywhere: std::cell::OnceCell<ReadMoves<'c>>,
    /// The code without the insides of its literals, made once.
    stripped: std::cell::OnceCell<String>,
    /// Bounds of the analysis the page reached (functions, call sites, body size).
    pub(crate) limits: Vec<String>,
}

impl Flows<'_> {
    /// Whether the page fills collections or sets class properties (see `container_moves`).
    pub(crate) fn fills_containers(&self) -> bool {
        !self.container_moves.is_empty()
    }
}

/// A C-like statement that opens with a control header (`using (var r = ...) x = r.Read();`,
/// `if (a) b = c;`) as its two statements: the header's inside and what follows it; any other
/// statement as it is.
fn header_and_body(statement: &str) -> Vec<&str> {
    static HEADER: LazyLock<Regex> =
        LazyLock::new(|| crate::pattern::builtin(r"^\}?\s*(?:else\s+)?(?:using|if|while|for|foreach|lock|fixed)\s*\("));
    let Some(open) = HEADER.find(statement) else { return vec![statement] };
    let header = argument_text(&statement[open.end() - 1..]);
    let inside = header.strip_prefix('(').and_then(|h| h.strip_suffix(')'));
    let rest = statement[open.end() - 1 + header.len()..].trim_start_matches(['{', ' ']);
    match inside {
        Some(inside) if !rest.is_empty() => vec![inside, rest],
        Some(inside) => vec![inside],
        None => vec![statement],
    }
}

/// Every move of data in `code` (see [`Flows`]).
pub(crate) fn flows(code: &str) -> Flows<'_> {
    let mut moves = Vec::new();
    let mut container_moves = Vec::new();
    let mut limits = Vec::new();
    // VB statements that call a procedure without parentheses (`Run a, b`, `Call Run(a)`).
    let mut bare_calls: HashMap<String, Vec<&str>> = HashMap::new();
    // Procedure references taken with GetRef: calls through the alias reach the procedure.
    let mut references: Vec<(String, RefTarget)> = Vec::new();
    let split = statements(code);
    // Names that hold instances of the page's own VBScript classes.
    let instances: HashSet<String> = if VB_CLASS.is_match(code) {
        let classes: HashSet<String> = VB_CLASS.captures_iter(code).map(|c| c[1].to_ascii_lowercase()).collect();
        NEW_INSTANCE
            .captures_iter(code)
            .filter(|c| classes.contains(&c[2].to_ascii_lowercase()))
            .map(|c| c[1].to_ascii_lowercase())
            .collect()
    } else {
        HashSet::new()
    };
    for &statement in &split {
        if !instances.is_empty()
            && let Some(c) = MEMBER_CALL.captures(statement)
            && instances.contains(&c[1].to_ascii_lowercase())
            && let Some(args) = c.get(3).or_else(|| c.get(4))
        {
            // `e.Apply x` calls the class's procedure `Apply` (matched by name, as bare calls are).
            bare_calls.entry(c[2].to_ascii_lowercase()).or_default().push(args.as_str());
        }
        if let Some(c) = GET_REF.captures(statement) {
            if references.len() < MAX_FUNCTIONS {
                references.push((c[1].to_ascii_lowercase(), RefTarget::of(&c[2])));
            } else if !limits.iter().any(|l: &String| l.contains("GetRef")) {
                limits.push(format!("calls through GetRef followed for the first {MAX_FUNCTIONS} references only"));
            }
        }
        for (name, rest) in bare_calls_in(statement) {
            bare_calls.entry(name.to_ascii_lowercase()).or_default().push(rest);
        }
        for c in FILLED_ARGUMENT.captures_iter(statement) {
            // `source.Read(buffer, ...)`, `source.CopyTo(stream)`: the argument receives the data.
            if let (Some(source), Some(target)) = (c.get(1), c.get(2)) {
                moves.push((target.as_str(), source.as_str()));
            }
        }
        for c in FILLED_RECEIVER.captures_iter(statement) {
            // `sb.Append(x)`: the builder now holds x.
            if let (Some(receiver), Some(args)) = (c.get(1), c.get(2)) {
                moves.push((receiver.as_str(), args.as_str()));
            }
        }
        for c in FILLED_CONTAINER.captures_iter(statement) {
            if let (Some(receiver), Some(args)) = (c.get(1), c.get(2)) {
                container_moves.push((receiver.as_str(), args.as_str()));
            }
        }
        if let Some(call) = BLOCK_COPY.find(statement) {
            // Array.Copy(src, dst, n) / (src, i, dst, j, n), Buffer.BlockCopy(src, i, dst, j, n).
            let args = split_arguments(argument_text(&statement[call.end() - 1..]));
            let target = if args.len() >= 5 { args.get(2) } else { args.get(1) };
            if let (Some(source), Some(target)) = (args.first(), target) {
                moves.push((target.trim(), source));
            }
        }
        // A loop variable holds the items of what it loops over (`For Each p In parts`,
        // `foreach(var p in parts)`, JScript `for(var k in o)`).
        if statement.starts_with(['F', 'f', '}'])
            && let Some(c) = FOR_EACH.captures(statement)
            && let (Some(item), Some(whole)) = (c.get(1).or_else(|| c.get(2)), c.get(0))
        {
            moves.push((item.as_str(), &statement[whole.end()..]));
        }
        // Every assignment holds `=`; most statements do not.
        if !statement.contains('=') {
            continue;
        }
        if let Some(c) = VB_DECLARATION.captures(statement)
            && let Some(name) = c.get(1)
        {
            moves.push((name.as_str(), c.get(2).or_else(|| c.get(3)).map_or("", |m| m.as_str())));
            continue;
        }
        for piece in header_and_body(statement) {
            for c in ASSIGNMENT.captures_iter(piece) {
                if let (Some(target), Some(value)) = (c.get(1), c.get(2)) {
                    moves.push((target.as_str(), value.as_str()));
                }
            }
        }
        // An object initializer sets members as `o.Host = x` does: `new Pipe { Host = x }`.
        if statement.contains('{') {
            for c in INITIALIZER.captures_iter(statement) {
                let Some(inside) = c.get(1) else { continue };
                for member in split_arguments(inside.as_str()) {
                    if let Some((name, value)) = member.split_once('=')
                        && !value.starts_with('=')
                        && WORD.find(name.trim()).is_some_and(|w| w.as_str() == name.trim())
                    {
                        moves.push((name.trim(), value));
                    }
                }
            }
        }
    }
    // `obj.Name = x` assigns the name `Name`; its Property Let's parameter receives it. Followed
    // by the code-running capabilities only, as collections are: upload classes carry the
    // client's file names through properties into their save paths.
    for c in PROPERTY_LET.captures_iter(code) {
        if let (Some(name), Some(params)) = (c.get(1), c.get(2))
            && let Some(parameter) = split_arguments(params.as_str()).into_iter().filter_map(parameter_name).next_back()
        {
            container_moves.push((parameter, name.as_str()));
        }
    }
    // A class the page defines holds what its body reads: `new T()` handed to a sink hands
    // over the data the page stored in T's members (`T.Content = Request.Form["src"]`).
    for (index, c) in CLASS_DEFINITION.captures_iter(code).enumerate() {
        if index == MAX_CLASSES {
            limits.push(format!("classes read as holders of their members' data: the first {MAX_CLASSES} only"));
            break;
        }
        let (Some(name), Some(whole)) = (c.get(1), c.get(0)) else { continue };
        if let Some((body, cut)) = crate::normalize::braced_block(&code[whole.end() - 1..], MAX_BODY) {
            if cut && !limits.iter().any(|l| l.contains("class body")) {
                limits.push(format!("a class body read for its first {MAX_BODY} bytes only"));
            }
            moves.push((name.as_str(), body));
        }
    }
    // Each function: what it returns, and the argument lists of its call sites.
    let lower = code.to_ascii_lowercase();
    let mut functions = 0usize;
    let mut calls: Option<HashMap<&str, Vec<usize>>> = None;
    for c in DEFINITION.captures_iter(code) {
        let (Some(name), Some(params)) = (c.get(1).or_else(|| c.get(3)), c.get(2).or_else(|| c.get(4))) else {
            continue;
        };
        if functions >= MAX_FUNCTIONS {
            limits.push(format!("data flow followed into the first {MAX_FUNCTIONS} functions only"));
            break;
        }
        functions += 1;
        // A C-like function's result is what it returns.
        let opening = c.get(0).map_or(0, |m| if m.as_str().ends_with('{') { m.end() - 1 } else { m.end() });
        if let Some((body, cut)) = crate::normalize::braced_block(&code[opening..], MAX_BODY) {
            if cut && !limits.iter().any(|l| l.contains("function body")) {
                limits.push(format!("a function body followed for its first {MAX_BODY} bytes only"));
            }
            for statement in statements(body) {
                if let Some(value) = RETURN.captures(statement).and_then(|r| r.get(1)) {
                    moves.push((name.as_str(), value.as_str()));
                }
            }
        }
        let params: Vec<&str> = split_arguments(params.as_str()).into_iter().filter_map(parameter_name).collect();
        if params.is_empty() {
            continue;
        }
        let lower_name = name.as_str().to_ascii_lowercase();
        let calls = calls.get_or_insert_with(|| call_sites(&lower));
        // The procedure is called by its name and through every reference that may name it.
        let callers = std::iter::once(lower_name.as_str())
            .chain(references.iter().filter(|(_, target)| target.names(&lower_name)).map(|(alias, _)| alias.as_str()));
        let (mut parenthesised, mut bare) = (Vec::new(), Vec::new());
        for caller in callers {
            let sites = calls.get(caller).map_or(&[][..], Vec::as_slice);
            parenthesised.extend(sites.iter().map(|&at| argument_text(&code[at + caller.len()..])));
            bare.extend(bare_calls.get(caller).map_or(&[][..], Vec::as_slice));
        }
        if parenthesised.len() + bare.len() > MAX_CALL_SITES && !limits.iter().any(|l| l.contains("call sites")) {
            limits.push(format!("parameters followed from the first {MAX_CALL_SITES} call sites of a function only"));
        }
        let parenthesised = parenthesised.into_iter().take(MAX_CALL_SITES);
        for args in parenthesised.chain(bare.into_iter().take(MAX_CALL_SITES)) {
            moves.extend(params.iter().copied().zip(split_arguments(args)));
        }
    }
    Flows {
        code,
        statements: split,
        moves,
        container_moves,
        anywhere: std::cell::OnceCell::new(),
        stripped: std::cell::OnceCell::new(),
        limits,
    }
}

/// Follow request data (`sources`, at the `reach` given) through the page's moves until
/// nothing new is tainted.
#[cfg(test)]
pub(crate) fn propagate<'r>(
    flows: &Flows<'_>,
    sources: &[Regex],
    reach: Reach<'r>,
    server_values: &'r [Regex],
) -> Taint<'r> {
    propagate_from(flows, sources, &HashSet::new(), reach, server_values, false)
}

/// [`propagate`], with `seeds` (lowercase names) carrying the data from the start: what a
/// page's own procedures return, for capabilities that follow those; with `containers`, the
/// collections the page fills carry what they were given.
pub(crate) fn propagate_from<'r>(
    flows: &Flows<'_>,
    sources: &[Regex],
    seeds: &HashSet<String>,
    reach: Reach<'r>,
    server_values: &'r [Regex],
    containers: bool,
) -> Taint<'r> {
    // Without a source anywhere, nothing can be tainted.
    let stripped = flows.stripped.get_or_init(|| strip_literals(flows.code));
    if seeds.is_empty() && !sources.iter().any(|s| source_in(s, stripped, flows.code)) {
        return Taint { names: HashSet::new(), reach, server_values, capped: false };
    }
    // Which sources name a literal (see `source_in`), asked once.
    let literal_sources: Vec<bool> = sources.iter().map(|s| s.as_str().contains('"')).collect();
    // Data anywhere in an expression: the expressions' names and stripped text are the same for
    // any sources, read once per page; only whether each holds a source is asked again.
    let built;
    let (names, ids, edges) = match reach {
        Reach::Anywhere => {
            let table = flows.anywhere.get_or_init(|| {
                let mut names = Names { server_values, ..Names::default() };
                let edges =
                    flows.moves.iter().map(|(target, expression)| names.read_edge(target, expression)).collect();
                ReadMoves { names: names.names, ids: names.ids, edges }
            });
            let edge_of = |read: &ReadEdge| {
                let from_source = !read.number
                    && sources
                        .iter()
                        .zip(&literal_sources)
                        .any(|(s, &literal)| s.is_match(if literal { read.with_literals } else { &read.stripped }));
                Edge { target: read.target, from_source, reads: read.reads.clone() }
            };
            let mut edges: Vec<Edge> = table.edges.iter().map(edge_of).collect();
            if containers && !flows.container_moves.is_empty() {
                // The page's moves as read once, and the collections' on top of them.
                let mut names = Names { server_values, names: table.names.clone(), ids: table.ids.clone() };
                for (target, expression) in &flows.container_moves {
                    edges.push(edge_of(&names.read_edge(target, expression)));
                }
                built = names;
                (&built.names, &built.ids, edges)
            } else {
                (&table.names, &table.ids, edges)
            }
        }
        Reach::Whole { server_filled } => {
            let mut names = Names::default();
            let container_moves = if containers { &flows.container_moves[..] } else { &[] };
            let edges: Vec<Edge> = flows
                .moves
                .iter()
                .chain(container_moves)
                .map(|(target, expression)| names.whole_edge(target, expression, sources, server_filled))
                .collect();
            built = names;
            (&built.names, &built.ids, edges)
        }
    };
    let mut tainted = vec![false; names.len()];
    for seed in seeds {
        if let Some(&id) = ids.get(seed) {
            tainted[id] = true;
        }
    }
    let mut capped = true;
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        for edge in &edges {
            let Some(target) = edge.target else { continue };
            if !tainted[target] && (edge.from_source || edge.reads.iter().any(|&read| tainted[read])) {
                tainted[target] = true;
                changed = true;
            }
        }
        if !changed {
            capped = false;
            break;
        }
    }
    let mut names: HashSet<String> =
        names.iter().zip(tainted).filter(|(_, tainted)| *tainted).map(|(name, _)| name.clone()).collect();
    names.extend(seeds.iter().cloned());
    Taint { names, reach, server_values, capped }
}

/// The VB calls without parentheses of a statement (`Run a, b`, `Call Run(a)`), also after a
/// single-line `If c Then`: the name and the argument text.
fn bare_calls_in(statement: &str) -> impl Iterator<Item = (&str, &str)> {
    let then_body = SINGLE_LINE_IF.captures(statement).and_then(|c| c.get(1)).map(|m| m.as_str());
    std::iter::once(statement).chain(then_body).filter_map(|call| {
        let c = BARE_CALL.captures(call)?;
        Some((c.get(1)?.as_str(), c.get(2)?.as_str()))
    })
}

/// Calls [`called_with`] examines on one page at most.
pub(crate) const MAX_CALLS_EXAMINED: usize = 10_000;

/// The procedures `flows`' code calls with request data (`taint`) in their arguments,
/// lowercase: by name or as a member (`Tools.Run(x)`, `util.Save(x)`: the class may be in
/// another file), with or without parentheses; and whether calls beyond
/// [`MAX_CALLS_EXAMINED`] were left.
pub(crate) fn called_with(flows: &Flows<'_>, taint: &Taint<'_>, sources: &[Regex]) -> (HashSet<String>, bool) {
    static CALL: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"\b([A-Za-z_]\w*)[ \t]*\("));
    let mut called = HashSet::new();
    let mut calls = CALL.captures_iter(flows.code);
    for c in calls.by_ref().take(MAX_CALLS_EXAMINED) {
        let (Some(name), Some(whole)) = (c.get(1), c.get(0)) else { continue };
        let args = argument_text(&flows.code[whole.end() - 1..]);
        if args.len() > 2 && taint.holds(args, sources) {
            called.insert(name.as_str().to_ascii_lowercase());
        }
    }
    let more = calls.next().is_some();
    for &statement in &flows.statements {
        for (name, rest) in bare_calls_in(statement) {
            if taint.holds(rest, sources) {
                called.insert(name.to_ascii_lowercase());
            }
        }
    }
    (called, more)
}

/// Every call in lowercase code: the name before each `(` that starts a word
/// (not a member after `.`), with the offsets where it is called, in order.
/// One pass over the code, however many functions the page defines.
fn call_sites(lower: &str) -> HashMap<&str, Vec<usize>> {
    // `Helper.Run(x)` on a class the page declares (or `this.Run(x)`) calls the page's own `Run`.
    let mut classes: HashSet<&str> =
        crate::normalize::CLASS_NAME.captures_iter(lower).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect();
    // And through an instance of one: `util = new ReportUtil()`, `Dim util As New ReportUtil`.
    let instances: Vec<&str> = if classes.is_empty() {
        Vec::new()
    } else {
        NEW_OF_CLASS
            .captures_iter(lower)
            .filter(|c| c.get(2).is_some_and(|class| classes.contains(class.as_str().rsplit('.').next().unwrap_or(""))))
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect()
    };
    classes.extend(instances);
    classes.insert("this");
    let mut sites: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut word_start: Option<usize> = None;
    let mut before_word: Option<char> = None;
    let mut previous: Option<char> = None;
    let mut last_word: Option<(usize, usize)> = None;
    let mut on_page_class = false;
    for (i, ch) in lower.char_indices() {
        if ch.is_alphanumeric() || ch == '_' {
            if word_start.is_none() {
                word_start = Some(i);
                before_word = previous;
                on_page_class = previous == Some('.')
                    && last_word.is_some_and(|(start, end)| end + 1 == i && classes.contains(&lower[start..end]));
            }
        } else {
            if let Some(start) = word_start.take() {
                last_word = Some((start, i));
                if ch == '(' && (before_word != Some('.') || on_page_class) {
                    sites.entry(&lower[start..i]).or_default().push(start);
                }
            }
        }
        previous = Some(ch);
    }
    sites
}

/// The first statement where a sink receives request data, for evidence.
/// The sinks of one capability.
pub(crate) struct Sinks<'a> {
    pub(crate) patterns: &'a [Regex],
    /// Whether a sink may be a member (`x.Name`): otherwise a match after `.` or a word does not count.
    pub(crate) methods: bool,
    /// Lowercase ProgIDs whose objects' methods are not these sinks.
    pub(crate) not_on_objects: &'a [String],
    /// When not empty, method sinks (`.Name`) count only when called on objects of these
    /// kinds (lowercase ProgIDs, or `textstream` / `textstream-at-request-path`).
    pub(crate) only_on_objects: &'a [String],
    /// Arguments that make a sink not one.
    pub(crate) ignore_arguments: &'a [Regex],
    /// A sink call whose result is used as these say (the text right after the call) is not one.
    pub(crate) ignore_following: &'a [Regex],
    /// Code the page reads from its own files (through a procedure that reads a file) is the
    /// application's: template and plugin engines run it.
    pub(crate) ignore_file_code: bool,
}

/// APIs that read a file's text or bytes.
static FILE_READ: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?i)\.OpenTextFile\b|\.OpenAsTextStream\b|\.LoadFromFile\b|\bFile\.(?:ReadAllText|ReadAllLines|ReadAllBytes|OpenText|OpenRead)\(",
    )
});

/// The body of the page's procedure `name` (lowercase): VB `Function`/`Sub` to its `End`, a
/// C-like function's braces; bounded by [`MAX_BODY`].
fn procedure_body<'c>(code: &'c str, name: &str) -> Option<&'c str> {
    static END: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?i)\bend[ \t]+(?:function|sub)\b"));
    let definition = PROCEDURE.captures_iter(code).find(|c| c[1].eq_ignore_ascii_case(name))?;
    let from = definition.get(0)?.end();
    let rest = &code[from..code.floor_char_boundary((from + MAX_BODY).min(code.len()))];
    let brace = rest.find('{');
    let line_end = rest.find('\n').unwrap_or(rest.len());
    if let Some(open) = brace.filter(|&b| b <= line_end + 1)
        && let Some((body, _)) = crate::normalize::braced_block(&rest[open..], MAX_BODY)
    {
        return Some(body);
    }
    Some(END.find(rest).map_or(rest, |end| &rest[..end.start()]))
}

/// Whether `args` call a procedure of the page (`own`, see [`own_procedures`]) that reads a
/// file (the code run is a file's), directly or through a name assigned such a call
/// (`compiled = Compile(ReadTemplate(name))` then `ExecuteGlobal compiled`).
pub(crate) fn calls_file_reader(code: &str, own: &HashSet<String>, args: &str) -> bool {
    // No procedure reads a file where the page reads none.
    if !FILE_READ.is_match(code) {
        return false;
    }
    let reads_file =
        |name: &str| own.contains(name) && procedure_body(code, name).is_some_and(|b| FILE_READ.is_match(b));
    let direct =
        |text: &str| WORD.find_iter(&strip_literals(text)).any(|w| reads_file(&w.as_str().to_ascii_lowercase()));
    if direct(args) {
        return true;
    }
    let lower = code.to_ascii_lowercase();
    WORD.find_iter(&strip_literals(args)).any(|w| assigned_values(code, &lower, w.as_str()).into_iter().any(direct))
}

/// The values `name` is assigned in `code` (`name = value`, `Set name = value`, `Then name =
/// value`), each to the end of its line, ignoring case (`lower` is `code` in lowercase).
fn assigned_values<'c>(code: &'c str, lower: &str, name: &str) -> Vec<&'c str> {
    let name = name.to_ascii_lowercase();
    let mut values = Vec::new();
    for (at, _) in lower.match_indices(name.as_str()) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| !(c.is_whitespace() || c == ':' || c == ';')) {
            continue;
        }
        let line_end = code[at..].find('\n').map_or(code.len(), |i| at + i);
        let rest = code[at + name.len()..line_end].trim_start();
        if let Some(value) = rest.strip_prefix('=').filter(|v| !v.starts_with('=')) {
            values.push(value);
        }
    }
    values
}

/// Variables holding known objects: `Set x = CreateObject("ProgID")` -> ProgID, `x = new T()`
/// -> T (its last name), and
/// streams opened on files -> `textstream`, `textstream-at-request-path` when the opening
/// call's arguments hold request data, `textstream-at-server-page` when they name a server
/// page, `textstream-at-request-page` when both (all lowercase).
fn known_objects(code: &str, taint: &Taint<'_>, sources: &[Regex]) -> HashMap<String, String> {
    let mut objects: HashMap<String, String> =
        CREATED_OBJECT.captures_iter(code).map(|c| (c[1].to_ascii_lowercase(), c[2].to_ascii_lowercase())).collect();
    for c in NEW_OBJECT.captures_iter(code) {
        objects.entry(c[1].to_ascii_lowercase()).or_insert_with(|| c[2].to_ascii_lowercase());
    }
    // Objects built by reflection from a named type: `t = Type.GetType("N.T")` (or `typeof(T)`),
    // then `o = Activator.CreateInstance(t)`, are instances of T as much as `new T()` is.
    if memchr::memmem::find(code.as_bytes(), b"CreateInstance(").is_some() {
        let types: HashMap<String, String> = TYPE_NAMED
            .captures_iter(code)
            .filter_map(|c| Some((c[1].to_ascii_lowercase(), reflected_type(c.get(0)?.as_str())?)))
            .collect();
        for c in REFLECTED_OBJECT.captures_iter(code) {
            let args = &c[2];
            let kind = reflected_type(args)
                .or_else(|| WORD.find_iter(args).find_map(|w| types.get(&w.as_str().to_ascii_lowercase()).cloned()));
            if let Some(kind) = kind {
                objects.entry(c[1].to_ascii_lowercase()).or_insert(kind);
            }
        }
    }
    for c in OPENED_STREAM.captures_iter(code) {
        let Some(call) = c.get(0) else { continue };
        let line_end = code[call.end()..].find('\n').map_or(code.len(), |i| call.end() + i);
        let from = if call.as_str().ends_with('(') { call.end() - 1 } else { call.end() };
        let args = argument_text(&code[from..line_end]);
        if OVER_A_STREAM.is_match(args) {
            // A writer over an HTTP body, a socket or memory writes no file.
            continue;
        }
        let kind = match (taint.holds(args, sources), SERVER_PAGE_LITERAL.is_match(args)) {
            (true, true) => TEXT_STREAM_AT_REQUEST_PAGE,
            (true, false) => TEXT_STREAM_AT_REQUEST_PATH,
            (false, true) => TEXT_STREAM_AT_SERVER_PAGE,
            // `File.AppendText(` appends whatever its arguments.
            (false, false) if call.as_str().to_ascii_lowercase().ends_with("appendtext(") || appends(args) => {
                TEXT_STREAM_APPENDING
            }
            (false, false) => TEXT_STREAM,
        };
        objects.insert(c[1].to_ascii_lowercase(), kind.to_owned());
    }
    // A byte stream opened to append (`new FileStream(p, FileMode.Append)`, `File.Open(p,
    // FileMode.Append)`) is a log as much as an appending text stream is.
    if code.contains("FileMode.Append") {
        for c in APPENDING_FILE_STREAM.captures_iter(code) {
            objects.insert(c[1].to_ascii_lowercase(), TEXT_STREAM_APPENDING.to_owned());
        }
    }
    objects
}

/// Which statements (slices of `code`) a sink may match in: those that overlap a match of it
/// in the whole code. A match inside a statement is a match in the code at the same place,
/// unless an earlier match in the code covers that place, and that one overlaps the statement
/// too. Patterns anchored to a line or text edge are tried on every statement.
fn candidate_statements(code: &str, statements: &[&str], sink: &Regex) -> Vec<bool> {
    let base = code.as_ptr() as usize;
    let spans: Option<Vec<(usize, usize)>> = statements
        .iter()
        .map(|s| {
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            (start + s.len() <= code.len()).then_some((start, start + s.len()))
        })
        .collect();
    let Some(spans) = spans.filter(|_| !has_edge_anchor(sink.as_str())) else {
        return vec![true; statements.len()];
    };
    let mut candidates = vec![false; statements.len()];
    for found in sink.find_iter(code) {
        // Statements are in code order: the first that ends after the match starts, and on.
        let first = spans.partition_point(|&(_, end)| end <= found.start());
        for (index, &(start, _)) in spans.iter().enumerate().skip(first) {
            if start >= found.end().max(found.start() + 1) {
                break;
            }
            candidates[index] = true;
        }
    }
    candidates
}

/// Whether a pattern holds `^` or `$` outside a bracket class (a line or text edge).
fn has_edge_anchor(pattern: &str) -> bool {
    let (mut in_class, mut escaped) = (false, false);
    for ch in pattern.chars() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '^' | '$' if !in_class => return true,
            _ => {}
        }
    }
    false
}

pub(crate) fn tainted_sink(
    code: &str,
    statements: &[&str],
    sinks: &Sinks<'_>,
    taint: &Taint<'_>,
    sources: &[Regex],
) -> Option<String> {
    let mut procedures: Option<HashSet<String>> = None;
    let mut objects: Option<HashMap<String, String>> = None;
    let candidates: Vec<Vec<bool>> =
        sinks.patterns.iter().map(|sink| candidate_statements(code, statements, sink)).collect();
    for (index, &statement) in statements.iter().enumerate() {
        for (sink, candidates) in sinks.patterns.iter().zip(&candidates) {
            if !candidates[index] {
                continue;
            }
            for found in sink.find_iter(statement) {
                // A sink's name inside a string (client script written out, a pattern) is text.
                if inside_literal(statement, found.start()) {
                    continue;
                }
                let before = statement[..found.start()].chars().next_back();
                // `$` is part of a JScript name (`scope.$eval`).
                if !sinks.methods && before.is_some_and(|c| c == '.' || c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                // `rs.Open sql, conn` on an ADODB.Recordset runs a query; Connection.Open takes
                // the connection string: the object a method is called on decides the API.
                if !sinks.not_on_objects.is_empty() || !sinks.only_on_objects.is_empty() {
                    let receiver = found
                        .as_str()
                        .starts_with('.')
                        .then(|| {
                            WORD.find_iter(&statement[..found.start()]).last().filter(|w| w.end() == found.start())
                        })
                        .flatten();
                    let objects = objects.get_or_insert_with(|| known_objects(code, taint, sources));
                    let kind = receiver.and_then(|r| objects.get(&r.as_str().to_ascii_lowercase()));
                    let method = receiver.is_some() || found.as_str().starts_with('.');
                    if kind.is_some_and(|k| sinks.not_on_objects.contains(k))
                        || (method
                            && !sinks.only_on_objects.is_empty()
                            && !kind.is_some_and(|k| sinks.only_on_objects.contains(k)))
                    {
                        continue;
                    }
                }
                // A name the page defines as its own procedure (a class's `Function Execute`
                // running SQL) is that procedure when called, not the language's evaluator;
                // a method of an object (`fso.GetFolder`) is the object's whatever the page names.
                let own = procedures.get_or_insert_with(|| own_procedures(code));
                let called_on_object = found.as_str().starts_with('.') || before == Some('.');
                if !called_on_object
                    && WORD
                        .find_iter(found.as_str())
                        .last()
                        .is_some_and(|name| own.contains(&name.as_str().to_ascii_lowercase()))
                {
                    continue;
                }
                let rest = &statement[found.end()..];
                // A sink ending in `(` or `=` is followed by its argument directly.
                let args = if found.as_str().ends_with('(') {
                    argument_text(&statement[found.end() - 1..])
                } else {
                    argument_text(rest)
                };
                // What the call's result is used for: `new FileInfo(name).Name` parses a name.
                let after = if found.as_str().ends_with('(') {
                    &statement[(found.end() - 1 + args.len()).min(statement.len())..]
                } else {
                    ""
                };
                let ignored = args.trim().is_empty()
                    || sinks.ignore_arguments.iter().any(|ignored| ignored.is_match(args.trim_start()))
                    || sinks.ignore_following.iter().any(|ignored| ignored.is_match(after));
                // The file test reads procedure bodies: last, for sinks that receive request data.
                let reached = !ignored && taint.reaches(args, sources);
                if reached
                    && !(sinks.ignore_file_code
                        && calls_file_reader(code, procedures.get_or_insert_with(|| own_procedures(code)), args))
                    && !validated_arithmetic(code, args)
                {
                    return Some(statement.chars().take(EVIDENCE_CHARS).collect());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_sites_are_word_starts_before_a_parenthesis_and_not_members() {
        let sites = call_sites("run(a);x.run(b);rerun(c);run (d);\nrun(e)");
        assert_eq!(sites.get("run"), Some(&vec![0, 34]));
        let classed = call_sites("class probe\n{\n}\nprobe.eval(t);x.eval(u);this.eval(v)");
        assert_eq!(classed.get("eval"), Some(&vec![22, 45]), "the page's class and `this`, not another object");
        assert_eq!(sites.get("rerun"), Some(&vec![16]));
        assert!(!sites.contains_key("x"));
    }

    fn sources() -> Vec<Regex> {
        vec![Regex::new(r"(?i)\bRequest\b").unwrap_or_else(|e| panic!("{e}"))]
    }

    /// Sinks without object or argument conditions.
    fn plain_sinks(patterns: &[Regex], methods: bool) -> Sinks<'_> {
        Sinks {
            patterns,
            methods,
            not_on_objects: &[],
            only_on_objects: &[],
            ignore_arguments: &[],
            ignore_following: &[],
            ignore_file_code: false,
        }
    }

    fn sink(pattern: &str) -> Vec<Regex> {
        vec![Regex::new(pattern).unwrap_or_else(|e| panic!("{e}"))]
    }

    #[test]
    fn a_procedure_the_page_defines_is_not_the_languages_evaluator() {
        let taint_of = |code: &str| propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        let eval = sink(r"(?im)(?:^|:|\bthen |\belse )\s*Execute(?:Global)?\b");
        let own = "Class Db\nPublic Function Execute(Command)\nSet Execute=Conn.Execute(Command)\nEnd Function\nEnd Class\n\
                   id=Request(\"id\")\nExecute(\"Update t Set n=0 Where ID=\"&id)";
        assert_eq!(tainted_sink(own, &statements(own), &plain_sinks(&eval, false), &taint_of(own), &sources()), None);
        let statement = "id=Request(\"id\")\nExecute(\"Update t Set n=0 Where ID=\"&id)";
        assert!(
            tainted_sink(
                statement,
                &statements(statement),
                &plain_sinks(&eval, false),
                &taint_of(statement),
                &sources()
            )
            .is_some()
        );
    }

    #[test]
    fn a_single_line_if_calls_as_a_statement_does() {
        let code =
            "Sub Apply(p)\nExecuteGlobal p\nEnd Sub\nIf Request.Cookies(\"x\")<>\"\" Then Apply Request.Cookies(\"x\")";
        assert!(propagate(&flows(code), &sources(), Reach::Anywhere, &[]).contains("p"));
        let fixed = code.replace("Then Apply Request.Cookies(\"x\")", "Then Apply \"fixed\"");
        assert!(!propagate(&flows(&fixed), &sources(), Reach::Anywhere, &[]).contains("p"));
    }

    #[test]
    fn calls_through_an_instance_of_a_class_of_the_code_reach_its_procedure() {
        let sites = call_sites("class tools\n{\n}\nvar u = new tools();\nu.save(a);\nv.save(b);");
        assert_eq!(sites.get("save").map(Vec::len), Some(1), "{sites:?}");
        let vb = call_sites("class tools\nend class\ndim u as new tools\nu.save(a)");
        assert_eq!(vb.get("save").map(Vec::len), Some(1), "{vb:?}");
        // An instance of a class the code does not define is any object.
        assert_eq!(call_sites("var u = new other();\nu.save(a);").get("save"), None);
    }

    #[test]
    fn taint_follows_assignments_and_function_results() {
        let code = "Function g()\ng=Request(\"a\")\nEnd Function\nDim o:o=g()\np=o&\"x\"\nq=\"Request\"";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        assert!(taint.contains("g") && taint.contains("o") && taint.contains("p"));
        assert!(!taint.contains("q"), "a literal naming Request is not request data");
    }

    #[test]
    fn taint_follows_parameters_of_called_functions() {
        let code = "void Run(string cmd, int n){Process.Start(\"cmd.exe\",cmd);}\nRun(Request.Form[\"c\"],1);";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        assert!(taint.contains("cmd"));
        assert!(!taint.contains("n"));
        let hit = tainted_sink(
            code,
            &statements(code),
            &Sinks {
                patterns: &sink(r"\bProcess\.Start\("),
                methods: true,
                not_on_objects: &[],
                only_on_objects: &[],
                ignore_arguments: &[],
                ignore_following: &[],
                ignore_file_code: false,
            },
            &taint,
            &sources(),
        );
        assert_eq!(hit.as_deref(), Some("void Run(string cmd, int n){Process.Start(\"cmd.exe\",cmd)"));
    }

    #[test]
    fn sinks_need_request_data_and_statement_sinks_skip_methods() {
        let code = "conn.Execute(\"select 1 where a=\"&Request(\"id\"))\nExecute x\nx=Request(\"c\")";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        let eval = sink(r"(?i)\bExecute\b");
        assert_eq!(
            tainted_sink(code, &statements(code), &plain_sinks(&eval, false), &taint, &sources()).as_deref(),
            Some("Execute x")
        );
        let clean = "conn.Execute(\"select 1 where a=\"&Request(\"id\"))\nExecute \"y=1\"";
        let taint = propagate(&flows(clean), &sources(), Reach::Anywhere, &[]);
        assert!(tainted_sink(clean, &statements(clean), &plain_sinks(&eval, false), &taint, &sources()).is_none());
    }

    #[test]
    fn the_bounds_of_the_analysis_are_reported() {
        let many: String = (0..=MAX_FUNCTIONS).map(|i| format!("function f{i}(a){{return a;}}\n")).collect();
        assert!(flows(&many).limits.iter().any(|l| l.contains("functions")));
        let calls: String = std::iter::repeat_n("run(request(\"x\"))\n", MAX_CALL_SITES + 1).collect();
        let code = format!("function run(c){{eval(c);}}\n{calls}");
        assert!(flows(&code).limits.iter().any(|l| l.contains("call sites")));
        let long = format!("function g(a){{var s=\"{}\";return a;}}", "x".repeat(MAX_BODY + 10));
        assert!(flows(&long).limits.iter().any(|l| l.contains("function body")));
        assert!(flows("function g(a){return a;}\ng(request(\"x\"))").limits.is_empty());
        let refs: String = (0..=MAX_FUNCTIONS).map(|i| format!("Set r{i}=GetRef(\"P\")\n")).collect();
        assert!(flows(&refs).limits.iter().any(|l| l.contains("GetRef")));
        let methods: String =
            (0..=MAX_WEB_METHODS).map(|i| format!("[WebMethod]\npublic string M{i}(string a{i}){{}}\n")).collect();
        let (names, more) = web_method_parameters(&methods);
        assert!(more && names.len() == MAX_WEB_METHODS && names[0] == "a0");
        assert!(!web_method_parameters("[WebMethod]\npublic string M(string a){}").1);
    }

    #[test]
    fn parameters_of_wcf_operations_are_request_data() {
        let code = "[ServiceContract]\npublic interface IFeed\n{\n[OperationContract,WebGet(UriTemplate=\"l?c={c}\")]\n\
                    List<Item>Latest(int c);\n[OperationContract]\n[WebInvoke(Method=\"POST\")]\nstring Ingest(Stream body);\n}\n\
                    public class Feed:IFeed\n{\npublic List<Item>Latest(int count)\n{\nreturn null;\n}\n\
                    public string Ingest(Stream payload)\n{\nreturn Run(payload);\n}\nstring Run(string s)\n{\nreturn s;\n}\n}";
        let (names, more) = web_method_parameters(code);
        assert!(!more);
        for name in ["count", "payload"] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n == "s"), "a helper's parameter is not the message's");
        let vb = "<OperationContract()>\nFunction Ping(ByVal host As String) As String\nEnd Interface\n\
                  Public Function Ping(ByVal target As String) As String Implements IDiag.Ping";
        assert_eq!(web_method_parameters(vb).0, vec!["host", "target"]);
    }

    #[test]
    fn loop_variables_hold_the_items_of_their_collections() {
        let code = "pref=Request.Cookies(\"v\")\nseg=Split(pref,\".\")\nFor Each p In seg\nz=z&ChrW(CLng(p)-17)\nNext\n\
                    foreach(string f in Request.Form.AllKeys)\nk=f;\nfor(var j in Request.QueryString)q=j;\n\
                    For Each w As String In words\nu=w\nNext";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        for name in ["p", "z", "f", "k", "j", "q"] {
            assert!(taint.contains(name), "{name}");
        }
        assert!(!taint.contains("w") && !taint.contains("u"), "a list of the page's own");
    }

    #[test]
    fn an_expression_tested_to_be_arithmetic_carries_no_code() {
        let eval = sink(r"(?i)\bEval\b");
        let calc = "expr=Trim(Request.Form(\"expr\"))\nSet re=New RegExp\nre.Pattern=\"^[0-9\\\\.\\\\s\\\\+\\\\-\\\\*/\\\\(\\\\)]{1,64}$\"\n\
                    If re.Test(expr)Then\nresult=Eval(expr)";
        let found = |code: &str| {
            let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
            tainted_sink(code, &statements(code), &plain_sinks(&eval, false), &taint, &sources())
        };
        assert_eq!(found(calc), None);
        assert!(found(&calc.replace("0-9", "0-9a-z")).is_some(), "letters make code");
        assert!(found(&calc.replace("re.Test(expr)", "re.Test(other)")).is_some(), "another name was tested");
        let js = "var e=String(Request.Form(\"e\"));\nif(/^[\\d+\\-*\\/(). ]+$/.test(e))r=eval(e);";
        assert_eq!(found(js), None);
        assert!(found(&js.replace("\\d", "\\w")).is_some());
    }

    #[test]
    fn calls_through_a_procedure_reference_reach_the_procedure() {
        let code = "Sub Handler_Run(arg)\nExecuteGlobal arg\nEnd Sub\nSub Show(t)\nEnd Sub\n\
                    Set fn=GetRef(name)\nfn Request(\"job\")";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        assert!(taint.contains("arg") && taint.contains("t"), "a computed name may be any procedure");
        let prefixed = "Sub On_Run(arg)\nEnd Sub\nSub Show(t)\nEnd Sub\nSet h=GetRef(\"On_\"&a)\nh(Request(\"x\"))";
        let taint = propagate(&flows(prefixed), &sources(), Reach::Anywhere, &[]);
        assert!(taint.contains("arg") && !taint.contains("t"));
        let named = "Sub Run(arg)\nEnd Sub\nSub Show(t)\nEnd Sub\nSet h=GetRef(\"Show\")\nh Request(\"x\")";
        let taint = propagate(&flows(named), &sources(), Reach::Anywhere, &[]);
        assert!(taint.contains("t") && !taint.contains("arg"));
    }

    #[test]
    fn assignments_after_a_control_header_are_followed() {
        let code = "using(var sr=new StreamReader(Request.InputStream))blob=sr.ReadToEnd();\nif(ok)copy=blob;";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        assert!(taint.contains("sr") && taint.contains("blob") && taint.contains("copy"));
        assert_eq!(header_and_body("if(a==1)b=c"), vec!["a==1", "b=c"]);
        assert_eq!(header_and_body("x=f(a)"), vec!["x=f(a)"]);
    }

    #[test]
    fn numbers_taken_from_request_data_carry_none_of_it() {
        let code = "s=Request(\"t\")\nn=ss.indexOf(s.charAt(i))\nm=CInt(s)+1\nk=Len(s)\nl=s.length\nt=InStr(s,\"x\")&s\n\
                    For c=0 To UBound(s)\nu=\"Sent To \"&s\ng=new Guid(s)\nh=New System.Guid(s)\nw=new GuidText(s)";
        let taint = propagate(&flows(code), &sources(), Reach::Anywhere, &[]);
        assert!(!taint.contains("n") && !taint.contains("k") && !taint.contains("l") && !taint.contains("c"));
        assert!(!taint.contains("g") && !taint.contains("h") && taint.contains("w"), "a GUID is hex digits");
        let nested =
            "w=Request.Form(\"w\")\ne=Replace(f,\"{w}\",Replace(CStr(CDbl(w)),\",\",\".\"))\nq=\"n=\"&Len(w)&w";
        let nested_taint = propagate(&flows(nested), &sources(), Reach::Anywhere, &[]);
        assert!(!nested_taint.contains("e"), "only a number was made of the request data");
        assert!(nested_taint.contains("q"), "the text itself is there too");
        let decoder = "d=Request.Form(\"d\")\nFor i=1 To Len(d) Step 2\no=o&Chr(CLng(\"&H\"&Mid(d,i,2)) Xor 7)\nNext";
        assert!(propagate(&flows(decoder), &sources(), Reach::Anywhere, &[]).contains("o"), "characters of numbers");
        assert!(taint.contains("u"));
        assert!(taint.contains("t"), "a number and the text is more than a number");
        assert!(!taint.contains("m"), "a number plus one is a number");
    }

    #[test]
    fn sinks_are_tried_on_the_statements_their_matches_overlap() {
        let code = "a=1;b=Request(\"x\")\nProcess.Start(b);c=2";
        let split = statements(code);
        let start = Regex::new(r"\bProcess\.Start\(").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(candidate_statements(code, &split, &start), vec![false, false, true, false]);
        // A match that runs over a statement's end makes both statements candidates.
        let across = Regex::new(r"Request[^\n]*").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(candidate_statements(code, &split, &across), vec![false, true, false, false]);
        let anchored = Regex::new(r"(?m)^c").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(candidate_statements(code, &split, &anchored), vec![true; 4]);
        assert!(has_edge_anchor(r"(?im)(?:^|:)\s*Execute") && !has_edge_anchor(r"[^,\n]{0,9}\.asp[$]"));
        // Statements that are not slices of the code are all tried.
        assert_eq!(candidate_statements(code, &["Process.Start(b)"], &start), vec![true]);
    }

    #[test]
    fn classes_beyond_the_bound_are_a_recorded_limit() {
        let classes: String = (0..=MAX_CLASSES).map(|i| format!("class C{i}\n{{int x;}}\n")).collect();
        assert!(flows(&classes).limits.iter().any(|l| l.starts_with("classes read")));
        assert!(flows("class C\n{int x;}").limits.is_empty());
        let code = "c=1\nSet c = Read(n)\ncount=2:c==3;c2=4\nIf c=\"\" Then c=Load(n)";
        let values = assigned_values(code, &code.to_ascii_lowercase(), "c");
        assert_eq!(values, vec!["1", " Read(n)", "\"\" Then c=Load(n)", "Load(n)"]);
    }

    #[test]
    fn argument_text_is_balanced() {
        assert_eq!(argument_text("(a(b),\")\")+1"), "(a(b),\")\")");
        assert_eq!(argument_text(" request(\"x\")"), "request(\"x\")");
        assert_eq!(argument_text("(a, b\nc(d)"), "(a, b", "an unclosed call ends at its line");
        assert_eq!(split_arguments("(a, f(b, c), \"x,y\")"), vec!["a", " f(b, c)", " \"x,y\""]);
        assert_eq!(parameter_name("ByVal cmd As String"), Some("cmd"));
        assert_eq!(parameter_name("string code = \"\""), Some("code"));
        assert_eq!(parameter_name("ByVal ParamArray codes()As Integer"), Some("codes"), "canonical VB writes `()As`");
        assert_eq!(parameter_name("ByVal"), None);
    }
}
