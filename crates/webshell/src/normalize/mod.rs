//! The normalising stage in front of the content rules: what an obfuscated
//! page means, written plainly. Script Encoder blocks are decoded, the page is
//! cut into markup and server code, code loses comments and redundant
//! whitespace, string literals get one canonical form, and expressions made of
//! literals are folded (concatenation, `Chr`/char codes, `StrReverse`,
//! `Replace`, base64/hex/percent decoding). A literal handed to
//! `Execute`/`ExecuteGlobal`/`Eval` is code, so it is normalised as code too.
//!
//! Bounded: at most [`MAX_INPUT`] bytes are read, the output never exceeds
//! [`MAX_OUTPUT`] bytes, folding stops after a fixed number of passes and the
//! whole stage after [`TIME_BUDGET`]; each limit reached is reported in
//! [`Normalized::limits`].

mod aliases;
mod decoders;
mod fold;
mod lexer;
mod razor;
mod script_encoder;
mod utf7;

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;

pub(crate) use aliases::CLASS as CLASS_NAME;
pub(crate) use fold::STR as LITERAL_PATTERN;
pub(crate) use lexer::{Dialect, Quotes, braced_block, bracketed, parameter_name, split_arguments};

/// Bytes of a file the stage reads; webshells are small.
pub(crate) const MAX_INPUT: usize = 1024 * 1024;
/// Bytes of normalised text it writes at most.
pub(crate) const MAX_OUTPUT: usize = 2 * MAX_INPUT;
/// Wall-clock time one file may take.
pub(crate) const TIME_BUDGET: Duration = Duration::from_millis(250);
/// Folding passes per code region (each pass applies every rule once).
const MAX_FOLD_PASSES: usize = 12;
/// How deep evaluated literals are unpacked (code that builds code that...).
const MAX_EVAL_DEPTH: usize = 3;

/// A page in normalised form.
#[derive(Debug, Clone, Default)]
pub(crate) struct Normalized {
    /// The whole page: markup collapsed, server code canonical and folded.
    pub(crate) text: String,
    /// Only the server code (regions joined by newlines), for the capability engine.
    pub(crate) code: String,
    /// Transformations that changed something (`script-encoder`, `concat`, `chr`, ...).
    pub(crate) applied: Vec<&'static str>,
    /// Limits reached (`input truncated at ...`, `time budget`, ...); empty when none.
    pub(crate) limits: Vec<String>,
    /// The language family of the page's server code.
    pub(crate) dialect: Dialect,
    /// The text is a source file (C#, VB.NET: `using System`, `namespace`), not a page with
    /// server markers: a class the application compiles, or script that is not a page at all.
    pub(crate) source_file: bool,
}

/// Calls that run a string as code: VBScript `Execute`/`ExecuteGlobal`/`Eval`,
/// JScript `eval`, and `Function("...")` constructors.
static EVAL_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r#"(?i)(?:^|[^.\w])(?:Execute|ExecuteGlobal|Eval|new Function)\(?\s*"((?:[^"\\\n]|\\.)*)""#)
});

/// Whether UTF-8 (or single-byte) `bytes` hold anything the steps below act on: server
/// markers, a Script Encoder block, a UTF-7 code page, a source file's `Imports`/`using
/// System`/`namespace`. The decoding keeps ASCII as it is, so searching the bytes answers
/// for the text; most of a web root (scripts, styles) has none and is not copied to text.
fn may_hold_code(bytes: &[u8]) -> bool {
    // Lowercase, searched one by one in lowered copies of the bytes: a case-sensitive
    // search for one literal is vectorised (on its rarest bytes), a case-insensitive one
    // or an automaton over all of them walks every byte.
    // `@{`, `@code` (VB `@Code`), `@functions`, `@model`, `@using `: Razor views.
    const NEEDLES: [&[u8]; 12] = [
        b"<%",
        b"runat",
        b"#@~^",
        b"codepage",
        b"imports ",
        b"using system",
        b"namespace ",
        b"@{",
        b"@code",
        b"@functions",
        b"@model",
        b"@using ",
    ];
    const CHUNK: usize = 16 * 1024;
    const OVERLAP: usize = 11; // the longest needle, less one
    static FINDERS: LazyLock<Vec<memchr::memmem::Finder<'static>>> =
        LazyLock::new(|| NEEDLES.iter().map(memchr::memmem::Finder::new).collect());
    let mut lowered = [0u8; CHUNK + OVERLAP];
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + CHUNK + OVERLAP).min(bytes.len());
        let part = &mut lowered[..end - start];
        part.copy_from_slice(&bytes[start..end]);
        part.make_ascii_lowercase();
        if FINDERS.iter().any(|finder| finder.find(part).is_some()) {
            return true;
        }
        start += CHUNK;
    }
    false
}

/// Normalise a file's bytes; `None` when it holds no server code (plain
/// HTML, JavaScript, images: nothing for the stage to do).
pub(crate) fn normalize(bytes: &[u8]) -> Option<Normalized> {
    normalize_file(bytes, true)
}

/// [`normalize`], where `may_be_class_file` says whether text without server
/// markers may be a C#/VB.NET class file: not for a client script, which IIS
/// serves as a file (its markers still make it a page: an include runs them).
pub(crate) fn normalize_file(bytes: &[u8], may_be_class_file: bool) -> Option<Normalized> {
    // The patterns are compiled once per process; that cost is not this file's budget.
    warm();
    let started = Instant::now();
    let mut limits = Vec::new();
    let window = if bytes.len() > MAX_INPUT {
        limits.push(format!("only the first {MAX_INPUT} of {} bytes normalised", bytes.len()));
        &bytes[..MAX_INPUT]
    } else {
        bytes
    };
    // Binary data (an image, an assembly) is not parsed as a page; only server
    // blocks inside it are, which is how an image with ASP appended runs.
    let extracted;
    let window = if looks_binary(window) {
        let left_out;
        (extracted, left_out) = server_blocks_in_binary(window);
        if left_out > 0 {
            limits.push(format!("binary file: {left_out} closed server blocks left out (over 256 KiB or not text)"));
        }
        if extracted.is_empty() {
            return None;
        }
        limits.push("binary file: only the server blocks inside it normalised".to_owned());
        &extracted[..]
    } else {
        window
    };
    if !crate::content::is_utf16(window) && !may_hold_code(window) {
        return None;
    }
    let mut applied = Vec::new();
    // Script Encoder works on the page's bytes in its ANSI code page, so blocks are
    // decoded before the bytes are read as text (see script_encoder).
    let mut text = if crate::content::is_utf16(window) {
        let text = crate::content::decode_text(window);
        match script_encoder::decode_blocks(text.as_bytes(), MAX_OUTPUT) {
            Some(decoded) => {
                applied.push("script-encoder");
                String::from_utf8_lossy(&decoded).into_owned()
            }
            None => text,
        }
    } else {
        match script_encoder::decode_blocks(window, MAX_OUTPUT) {
            Some(decoded) => {
                applied.push("script-encoder");
                crate::content::decode_text(&decoded)
            }
            None => crate::content::decode_text(window),
        }
    };
    if utf7::declared(&text) {
        text = utf7::decode(&text);
        applied.push("utf-7");
    }
    let (segments, page_dialect, source_file) = if lexer::has_server_markers(&text) {
        (lexer::segment(&text), lexer::page_dialect(&text), false)
    } else if let Some(dialect) = razor::razor_dialect(&text).filter(|_| may_be_class_file) {
        // A Razor view runs on the server like a page.
        let (segments, limited) = razor::razor_segments(&text, dialect);
        if limited {
            limits.push(
                "Razor view: scan budget spent looking for the ends of constructs; the rest read as markup".to_owned(),
            );
        }
        (segments, dialect, false)
    } else if let Some(dialect) = lexer::source_file_dialect(&text).filter(|_| may_be_class_file) {
        (vec![lexer::Segment::Code(lexer::canonical_code(&text, dialect))], dialect, true)
    } else {
        return None;
    };

    let mut out = Normalized { applied, limits, dialect: page_dialect, source_file, ..Normalized::default() };
    // A wrapper defined in one region may decode literals in any other.
    let wrappers = fold::Wrappers::of(segments.iter().filter_map(|s| match s {
        lexer::Segment::Code(code) => Some(code.as_str()),
        _ => None,
    }));
    if wrappers.capped {
        out.limits.push(format!("wrapper functions: only the first {} inlined", fold::MAX_WRAPPERS));
    }
    // ... and so may the page's own character decoders.
    let decoders = decoders::Decoders::of(segments.iter().filter_map(|s| match s {
        lexer::Segment::Code(code) => Some(code.as_str()),
        _ => None,
    }));
    if decoders.capped {
        out.limits.push(format!("character decoders: only the first {} run", decoders::MAX_DECODERS));
    }
    // Wrappers and decoders first, in every region: a name for a method or type may be what a
    // decoder returns (`GetMethod(Flip("...")))`).
    let mut segments = segments;
    for segment in &mut segments {
        if let lexer::Segment::Code(code) = segment {
            if let Some(inlined) = wrappers.inline(code) {
                note_applied(&mut out.applied, "inlined-wrapper");
                *code = inlined;
            }
            if let Some(decoded) = decoders.apply(code) {
                note_applied(&mut out.applied, "page-decoder");
                *code = decoded;
            }
        }
    }
    // ... then names that stand for a method or a type.
    let aliases = aliases::Aliases::of(segments.iter().filter_map(|s| match s {
        lexer::Segment::Code(code) => Some(code.as_str()),
        _ => None,
    }));
    if aliases.capped {
        out.limits.push(format!("method and type aliases: only the first {} of a kind followed", aliases::MAX_ALIASES));
    }
    for segment in segments {
        match segment {
            lexer::Segment::Markup(markup) | lexer::Segment::Tag(markup) => push_capped(&mut out, &markup),
            lexer::Segment::Code(code) => {
                let code = match aliases.apply(&code) {
                    Some(called) => {
                        note_applied(&mut out.applied, "alias");
                        called
                    }
                    None => code,
                };
                let dialect = if code.contains(';') || code.contains('{') { Dialect::CLike } else { Dialect::Vb };
                let folded = fold_with_evaluated(&code, dialect, started, &mut out);
                push_capped(&mut out, &folded);
                if out.code.len() < MAX_OUTPUT {
                    out.code.push_str(&folded);
                    out.code.push('\n');
                }
            }
        }
        if started.elapsed() > TIME_BUDGET {
            out.limits.push(format!("time budget of {} ms spent; rest of the page left out", TIME_BUDGET.as_millis()));
            break;
        }
    }
    Some(out)
}

/// Compile the stage's patterns once per process, before any file's time budget starts: in
/// a fresh process (a test, a one-file run) the first page would otherwise pay for them.
fn warm() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        fold::warm();
        LazyLock::force(&EVAL_LITERAL);
        let _ = fold::Wrappers::of(["Function w(x):w=StrReverse(x):End Function"].into_iter()).inline("y=w(\"a\")");
        decoders::warm();
        aliases::warm();
        razor::warm();
    });
}

/// Record a rewriting step once.
fn note_applied(applied: &mut Vec<&'static str>, name: &'static str) {
    if !applied.contains(&name) {
        applied.push(name);
    }
}

/// Fold one code region, then unpack string literals it evaluates as code
/// (appended after the region), up to [`MAX_EVAL_DEPTH`] levels.
fn fold_with_evaluated(code: &str, dialect: Dialect, started: Instant, out: &mut Normalized) -> String {
    let mut result = String::new();
    let mut pending = vec![(code.to_owned(), 0usize)];
    while let Some((region, depth)) = pending.pop() {
        let mut folded = fold::fold(&region, MAX_FOLD_PASSES, MAX_OUTPUT);
        if started.elapsed() < TIME_BUDGET
            && let Some(propagated) = fold::propagate_constants(&folded.code)
        {
            let again = fold::fold(&propagated, MAX_FOLD_PASSES, MAX_OUTPUT);
            if again.code.len() <= MAX_OUTPUT {
                if !out.applied.contains(&"constants") {
                    out.applied.push("constants");
                }
                folded.applied.extend(again.applied);
                folded.decoded.extend(again.decoded);
                folded.incomplete |= again.incomplete;
                folded.code = again.code;
            }
        }
        for &name in &folded.applied {
            if !out.applied.contains(&name) {
                out.applied.push(name);
            }
        }
        if folded.incomplete && !out.limits.iter().any(|l| l.starts_with("folding")) {
            out.limits.push("folding stopped at its pass or size limit".to_owned());
        }
        if depth < MAX_EVAL_DEPTH && started.elapsed() < TIME_BUDGET {
            for caps in EVAL_LITERAL.captures_iter(&folded.code) {
                let inner = lexer::unescape_canonical(&caps[1]);
                if inner.len() > 3 {
                    if !out.applied.contains(&"evaluated-literal") {
                        out.applied.push("evaluated-literal");
                    }
                    pending.push((lexer::canonical_code(&inner, dialect), depth + 1));
                }
            }
            // Text hidden in base64/hex may be code the page runs through its own decoder.
            let (texts, capped) = folded.decoded_code();
            if capped && !out.limits.iter().any(|l| l.starts_with("decoded literals")) {
                out.limits.push(format!(
                    "decoded literals: only the first {} per region read as code",
                    fold::MAX_DECODED_TEXTS
                ));
            }
            for text in texts {
                if !out.applied.contains(&"decoded-literal") {
                    out.applied.push("decoded-literal");
                }
                pending.push((lexer::canonical_code(&text, dialect), depth + 1));
            }
            // Code spelled as a list of character codes, decoded by a loop at run time.
            let (payloads, capped) = fold::char_code_payloads(&folded.code);
            if capped && !out.limits.iter().any(|l| l.starts_with("char-code")) {
                out.limits.push(format!(
                    "char-code lists: only the first {} per region decoded, with {} shifts",
                    fold::MAX_CHAR_CODE_LISTS,
                    fold::MAX_CODE_SHIFTS
                ));
            }
            for payload in payloads {
                if !out.applied.contains(&"char-code-list") {
                    out.applied.push("char-code-list");
                }
                pending.push((lexer::canonical_code(&payload, dialect), depth + 1));
            }
            // Code spelled as pieces a loop gathers into one name.
            let (payloads, capped) = fold::piece_list_payloads(&folded.code);
            if capped && !out.limits.iter().any(|l| l.starts_with("piece lists")) {
                out.limits.push(format!("piece lists: only the first {} per region read", fold::MAX_CHAR_CODE_LISTS));
            }
            for payload in payloads {
                if !out.applied.contains(&"piece-list") {
                    out.applied.push("piece-list");
                }
                pending.push((lexer::canonical_code(&payload, dialect), depth + 1));
            }
        }
        if !result.is_empty() {
            result.push('\n');
        }
        result.push_str(&folded.code);
        if result.len() > MAX_OUTPUT {
            break;
        }
    }
    result
}

/// Whether the bytes are binary data (images, fonts, assemblies, archives)
/// rather than text in any encoding: more than 1 in 20 of the first 64 KiB
/// are control bytes other than tab, line feed, form feed and carriage return.
/// UTF-16 text (a byte-order mark, or zero bytes in every other place) is text.
/// A page behind an image header (`GIF89a<% ... %>`) stays text, and random
/// bytes that happen to hold `<%` are not parsed as a page.
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return false;
    }
    // One pass over byte pairs, without branches, counted in u8 lanes over blocks of 127
    // pairs (at most 254 controls) so the compiler vectorises it: wide counters were a
    // twentieth of a web root's scan.
    let is_control =
        |b: u8| u8::from(((b < 0x20) & !((b == b'\t') | (b == b'\n') | (b == b'\r') | (b == 0x0C))) | (b == 0x7F));
    let (mut zero_at_even, mut zero_at_odd, mut control) = (0usize, 0usize, 0usize);
    let blocks = sample.chunks_exact(2 * 127);
    let rest = blocks.remainder();
    for block in blocks {
        let (mut even, mut odd, mut controls) = (0u8, 0u8, 0u8);
        for pair in block.chunks_exact(2) {
            even += u8::from(pair[0] == 0);
            odd += u8::from(pair[1] == 0);
            // Two per pair, at most 254 per block.
            controls += is_control(pair[0]) + is_control(pair[1]);
        }
        zero_at_even += usize::from(even);
        zero_at_odd += usize::from(odd);
        control += usize::from(controls);
    }
    let pairs = rest.chunks_exact(2);
    let odd_tail = pairs.remainder();
    for pair in pairs {
        zero_at_even += usize::from(pair[0] == 0);
        zero_at_odd += usize::from(pair[1] == 0);
        control += usize::from(is_control(pair[0]) + is_control(pair[1]));
    }
    for &b in odd_tail {
        zero_at_even += usize::from(b == 0);
        control += usize::from(is_control(b));
    }
    let half = sample.len() / 2;
    if half > 0 && (zero_at_odd * 10 >= half * 9 || zero_at_even * 10 >= half * 9) {
        return false;
    }
    control * 20 > sample.len()
}

/// The closed server blocks (`<% ... %>`, `<script ... runat ...> ... </script>`)
/// in binary data whose bodies are text, one per line (empty when none), and
/// how many closed blocks were left out as too long or not text.
///
/// Linear in the input: the next closing marker after a position is looked up
/// once and reused by every opening before it, so a file of openings without
/// closings costs one scan, not one per opening.
fn server_blocks_in_binary(bytes: &[u8]) -> (Vec<u8>, usize) {
    const MAX_BLOCK: usize = 256 * 1024;
    let lower = bytes.to_ascii_lowercase();
    let mut percent_close = NextMarker::new(b"%>");
    let mut script_close = NextMarker::new(b"</script>");
    let mut tag_close = NextMarker::new(b">");
    let mut out = Vec::new();
    let mut left_out = 0;
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'<', &lower[at..]).map(|i| at + i) {
        let end = if lower[found..].starts_with(b"<%") {
            percent_close.after(&lower, found + 2).map(|close| close + 2)
        } else if lower[found..].starts_with(b"<script") {
            let tag_end = tag_close.after(&lower, found).unwrap_or(lower.len());
            let server = memchr::memmem::find(&lower[found..tag_end], b"runat").is_some();
            script_close.after(&lower, tag_end).filter(|_| server).map(|close| close + 9)
        } else {
            None
        };
        match end {
            Some(end) if end - found <= MAX_BLOCK && !looks_binary(&bytes[found..end]) => {
                out.extend_from_slice(&bytes[found..end]);
                out.push(b'\n');
                at = end;
            }
            Some(_) => {
                left_out += 1;
                at = found + 1;
            }
            None => at = found + 1,
        }
    }
    (out, left_out)
}

/// Where a marker next occurs at or after a position, remembered between calls
/// made with positions that only grow.
struct NextMarker {
    marker: &'static [u8],
    /// The last answer: `Some(None)` when the marker does not occur after the last position asked.
    known: Option<Option<usize>>,
}

impl NextMarker {
    fn new(marker: &'static [u8]) -> NextMarker {
        NextMarker { marker, known: None }
    }

    fn after(&mut self, haystack: &[u8], from: usize) -> Option<usize> {
        match self.known {
            Some(Some(at)) if at >= from => return Some(at),
            Some(None) => return None,
            _ => {}
        }
        let found = memchr::memmem::find(&haystack[from.min(haystack.len())..], self.marker).map(|i| from + i);
        self.known = Some(found);
        found
    }
}

fn push_capped(out: &mut Normalized, piece: &str) {
    if out.text.len() + piece.len() > MAX_OUTPUT {
        if !out.limits.iter().any(|l| l.starts_with("output")) {
            out.limits.push(format!("output capped at {MAX_OUTPUT} bytes"));
        }
        return;
    }
    out.text.push_str(piece);
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn obfuscated_classic_asp_one_liner_reads_plainly() {
        let page = b"<%\r\n' junk\r\nDim o : o = StrReverse(\"etucexE\")\r\nExecute(Chr(101)&\"val requ\"&\"est(\"\"x\"\")\")\r\n%>";
        let n = normalize(page).unwrap_or_default();
        assert!(n.code.contains("Execute(\"eval request(\\\"x\\\")\")"), "{}", n.code);
        assert!(n.code.contains("eval request(\"x\")"), "{}", n.code);
        assert!(n.code.contains("o=\"Execute\""), "{}", n.code);
        assert!(n.applied.contains(&"chr") && n.applied.contains(&"reverse"));
        assert!(n.applied.contains(&"evaluated-literal"));
    }

    #[test]
    fn text_hidden_in_base64_pieces_is_read_as_code_whatever_decodes_it() {
        // The page's own decoder runs the joined pieces; the stage decodes them and reads the
        // joined text as code after the region.
        let page = b"<%\nFunction dec(s)\ndec=s\nEnd Function\np=\"RGltIHY6dj1SZXF1ZXN0LkZv\" & _\n\
                     \"cm0oImsiKTpFeGVjdXRlR2xvYmFsIHY=\"\nExecuteGlobal dec(p)\n%>";
        let n = normalize(page).unwrap_or_default();
        assert!(n.applied.contains(&"decoded-literal"), "{:?}", n.applied);
        assert!(n.code.lines().any(|l| l.starts_with("Dim v:v=Request.Form(\"k\"):ExecuteGlobal v")), "{}", n.code);
        // Decoded text without code stays a literal only.
        let plain = normalize(b"<% t=\"SGVsbG8gd29ybGQgYWdhaW4=\" %>").unwrap_or_default();
        assert!(!plain.applied.contains(&"decoded-literal") && plain.code.contains("\"Hello world again\""));
    }

    #[test]
    fn wrappers_and_decoded_code_beyond_their_bounds_are_recorded_limits() {
        let mut page = String::from("<%\n");
        for i in 0..=fold::MAX_WRAPPERS {
            page.push_str(&format!("Function w{i}(x):w{i}=StrReverse(x):End Function\n"));
        }
        page.push_str("y=w0(\"cba\")\n%>");
        let n = normalize(page.as_bytes()).unwrap_or_default();
        assert!(n.code.contains("y=\"abc\""), "{}", n.code);
        assert!(n.limits.iter().any(|l| l.starts_with("wrapper functions")), "{:?}", n.limits);
        // Nine literals of hidden code: eight read as code, the rest a limit.
        let mut hidden = String::from("<%\n");
        for i in 0..=fold::MAX_DECODED_TEXTS {
            let code = format!("Dim v{i}:v{i}=Request.Form(\"k\")");
            hidden.push_str(&format!("p{i}=\"{}\"\n", base64::engine::general_purpose::STANDARD.encode(code)));
        }
        hidden.push_str("%>");
        let n = normalize(hidden.as_bytes()).unwrap_or_default();
        assert!(n.applied.contains(&"decoded-literal"));
        assert!(n.limits.iter().any(|l| l.starts_with("decoded literals")), "{:?}", n.limits);
    }

    #[test]
    fn text_without_markers_is_a_class_file_only_where_one_may_be() {
        let class = b"using System;\nnamespace N { class C { void F() { var x = 1; } } }";
        assert!(normalize_file(class, true).is_some_and(|n| n.source_file));
        assert!(normalize_file(class, false).is_none());
        // Server markers still make a page of it: an include runs them.
        let page = b"<% eval(Request.Item[\"x\"]); %>";
        assert!(normalize_file(page, false).is_some_and(|n| !n.source_file && n.code.contains("eval(")));
    }

    #[test]
    fn binary_files_are_not_parsed_as_pages_but_image_polyglots_and_utf16_are() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut state = 0x2545_F491_u32;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            png.push(state.to_le_bytes()[0]);
        }
        assert!(normalize(&png).is_none());
        let mut polyglot = png.clone();
        polyglot.extend(b"<% Execute(Request(\"x\")) %>");
        let page = normalize(&polyglot).unwrap_or_default();
        assert!(page.code.contains("Execute(Request(\"x\"))"), "{}", page.code);
        assert!(page.limits.iter().any(|l| l.starts_with("binary file")));
        assert!(normalize(b"GIF89a\x01\x00<% Execute(Request(\"x\")) %>").is_some());
        // Binary data full of openings that never close: nothing, found in one scan
        // per marker (a scan per opening would take minutes on this megabyte).
        let mut hostile = Vec::new();
        for (i, byte) in png.iter().cycle().take(16 * 1024 * 1024 / 17).enumerate() {
            hostile.push(if *byte == b'>' { 0 } else { *byte });
            if i % 60 == 59 {
                hostile.extend(b"<%<script runat");
            }
        }
        assert!(looks_binary(&hostile));
        assert_eq!(server_blocks_in_binary(&hostile[..MAX_INPUT]), (Vec::new(), 0));
        // A closed block whose body is binary is left out and counted.
        let body: Vec<u8> = (0..=255u8).filter(|b| !b"<%>".contains(b)).cycle().take(4096).collect();
        let opaque = [&b"<%"[..], &body, b"%><% x=1 %>"].concat();
        assert_eq!(server_blocks_in_binary(&opaque), (b"<% x=1 %>\n".to_vec(), 1));
        let wide: Vec<u8> = "<% Execute(Request(\"x\")) %>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(!looks_binary(&wide));
    }

    #[test]
    fn the_one_pass_binary_test_agrees_with_the_plain_definition() {
        // The definition written plainly: UTF-16 (zeros at one parity) is text; more than
        // one byte in twenty a control character is binary.
        fn plain(bytes: &[u8]) -> bool {
            let sample = &bytes[..bytes.len().min(64 * 1024)];
            if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
                return false;
            }
            let zero_at_odd = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
            let zero_at_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
            let half = sample.len() / 2;
            if half > 0 && (zero_at_odd * 10 >= half * 9 || zero_at_even * 10 >= half * 9) {
                return false;
            }
            let control = sample
                .iter()
                .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F)
                .count();
            control * 20 > sample.len()
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for length in [0usize, 1, 2, 3, 7, 64, 65, 1000, 70_000] {
            for density in [0u64, 1, 4, 16, 64, 128] {
                let bytes: Vec<u8> = (0..length)
                    .map(|i| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        if state % 256 < density {
                            (state >> 8) as u8 % 0x20
                        } else if i % 2 == 1 && density == 128 {
                            0
                        } else {
                            b'a' + (state % 26) as u8
                        }
                    })
                    .collect();
                assert_eq!(looks_binary(&bytes), plain(&bytes), "length {length} density {density}");
            }
        }
    }

    #[test]
    fn plain_html_and_javascript_are_not_normalised() {
        assert!(normalize(b"<html><body>hi</body></html>").is_none());
        assert!(normalize(b"function f(){ return 1; }").is_none());
    }

    #[test]
    fn code_files_without_markers_are() {
        let n = normalize(b"using System;\nnamespace N { class C { /* x */ } }").unwrap_or_default();
        assert_eq!(n.code, "using System;\nnamespace N{class C{}}\n");
    }

    #[test]
    fn large_input_is_truncated_and_said() {
        let mut page = b"<% x = 1 %>".to_vec();
        page.extend(std::iter::repeat_n(b'a', MAX_INPUT));
        let n = normalize(&page).unwrap_or_default();
        assert!(n.limits.iter().any(|l| l.contains("first")));
        assert!(n.text.len() <= MAX_OUTPUT);
    }

    #[test]
    fn nested_evaluated_literals_stop_at_the_depth_limit() {
        // Execute("Execute(""Execute(""""...)"""")")
        let mut inner = "x=1".to_owned();
        for _ in 0..6 {
            inner = format!("Execute(\"{}\")", inner.replace('"', "\"\""));
        }
        let n = normalize(format!("<% {inner} %>").as_bytes()).unwrap_or_default();
        assert!(n.code.lines().count() <= MAX_EVAL_DEPTH + 2, "{}", n.code);
    }

    #[test]
    fn script_encoded_page_is_decoded() {
        let n = normalize(b"<%@ LANGUAGE = VBScript.Encode %><%#@~^CAAAAA==\x7fnP7b~ \x7f+kCAAAA==^#~@%>")
            .unwrap_or_default();
        assert!(n.applied.contains(&"script-encoder"));
    }

    #[test]
    fn the_code_test_finds_its_needles_in_any_case_across_chunk_edges() {
        let filler = b"var x = 1; function f() { return x; }\n".repeat(2_000);
        assert!(!may_hold_code(&filler));
        for needle in [&b"<%"[..], b"RunAt", b"#@~^", b"CODEPAGE", b"Imports ", b"using System", b"namespace "] {
            for at in [0usize, 16 * 1024 - 3, 16 * 1024, 40_000, filler.len()] {
                let mut bytes = filler[..at].to_vec();
                bytes.extend_from_slice(needle);
                bytes.extend_from_slice(&filler[at..]);
                assert!(may_hold_code(&bytes), "{} at {at}", String::from_utf8_lossy(needle));
            }
        }
    }
}
