//! Code a page runs from other files: the files it `#include`s (classic ASP: IIS pastes them
//! into the page before it runs) and the classes of the application's `App_Code` folder it
//! names (ASP.NET compiles them into the application).
//!
//! A webshell split in two, a page that hands request data to a helper that runs it, shows
//! its capability only when both are read together: the page alone passes data to a
//! procedure it does not define, the helper alone runs a parameter as any utility does.
//!
//! Every read is bounded (files, bytes, depth); what a bound leaves out is reported as a
//! limit of the page's analysis. Files are read once per run and kept, within a memory cap.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use regex::Regex;

use crate::normalize::{Dialect, normalize_file};

/// Companions read with one page at most.
const MAX_COMPANIONS: usize = 16;
/// Include files included by include files, this deep at most.
const MAX_INCLUDE_DEPTH: usize = 4;
/// A companion larger than this is not read.
const MAX_COMPANION_BYTES: u64 = 512 * 1024;
/// Files of one `App_Code` folder indexed at most, and its folders' depth.
const MAX_APP_CODE_FILES: usize = 512;
const MAX_APP_CODE_DEPTH: usize = 4;
/// Folders above a page searched for its application's `App_Code`.
const MAX_ANCESTORS: usize = 8;
/// Entries of a folder listed when a name is looked up without regard to case.
const MAX_LISTED: usize = 4096;
/// Normalised companion code kept for the run, in bytes; beyond it files are read again.
const MAX_KEPT_BYTES: usize = 64 * 1024 * 1024;
/// Folders whose application's `App_Code` is remembered; beyond it they are looked up again.
const MAX_FOLDERS_KEPT: usize = 65_536;
/// Include directives of one file followed at most.
const MAX_INCLUDES: usize = MAX_COMPANIONS * 4;
/// Procedures of one companion read with a page, and their bytes, at most.
const MAX_SLICE_PROCEDURES: usize = 64;
const MAX_SLICE_BYTES: usize = 256 * 1024;

/// How a companion is reached from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<!--#include file|virtual="..."-->`.
    Include,
    /// A class of the application's `App_Code` folder the page names.
    AppCode,
}

impl Kind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Include => "included file",
            Kind::AppCode => "App_Code class",
        }
    }
}

/// A companion file's server code, normalised.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) code: String,
    pub(crate) dialect: Dialect,
    /// The files it includes in turn (resolved, existing), and what of its directives was not
    /// followed (see [`includes_of`]).
    includes: Vec<PathBuf>,
    include_limits: Vec<String>,
    /// Its procedures: lowercase name and where its text (header to end) is in `code`.
    procedures: Vec<(String, Range<usize>)>,
    /// For each procedure, the procedures of the file it names (calls).
    calls: Vec<Vec<usize>>,
    /// For each procedure, whether it holds a sink that counts through a page (see
    /// [`Loaded::slice_for`]); found when first asked.
    sinks: OnceLock<Vec<bool>>,
    /// The types it declares, as written.
    types: Vec<String>,
    /// The request-driven capabilities it shows alone (id, evidence), found when first asked:
    /// a file that is a webshell by itself is reported as one, not through each page using it.
    pub(crate) alone: OnceLock<Vec<(String, String)>>,
}

/// One companion of a page.
#[derive(Debug, Clone)]
pub(crate) struct Companion {
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    pub(crate) loaded: Arc<Loaded>,
}

/// The page whose companions are read: where it is, how it is shown, its normalised text.
pub(crate) struct PageView<'a> {
    pub(crate) path: &'a Path,
    pub(crate) display_path: &'a str,
    pub(crate) normalized: &'a crate::normalize::Normalized,
}

/// The companions of one page, and what the bounds left out.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) companions: Vec<Companion>,
    pub(crate) limits: Vec<String>,
}

/// An application's `App_Code` classes: each (lowercase) name and its file.
#[derive(Debug, Default)]
struct AppCode {
    classes: Vec<(String, PathBuf)>,
    /// Files beyond [`MAX_APP_CODE_FILES`] or [`MAX_COMPANION_BYTES`] not indexed.
    left_out: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Per folder of a page: its application's `App_Code` index.
    app_code_of_folder: HashMap<PathBuf, Option<Arc<AppCode>>>,
    /// Per `App_Code` folder: its index (pages of sub-folders share it).
    app_code: HashMap<PathBuf, Arc<AppCode>>,
    /// Companion files read (see [`Loading`]).
    loaded: HashMap<PathBuf, Loading>,
    kept_bytes: usize,
}

/// A companion file read: its code, `None` when it holds no server code, or why it was not read.
type Loading = Result<Option<Arc<Loaded>>, String>;

/// The run's cache of companion files; shared by every scanning thread.
#[derive(Debug, Default)]
pub(crate) struct Companions {
    state: Mutex<State>,
}

/// `<!--#include file="..."-->` and `virtual=`; the quotes are optional to IIS.
static INCLUDE: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r#"(?i)<!--\s*#include\s+(file|virtual)\s*=\s*["']?([^"'<>\r\n]{1,260}?)["']?\s*-->"#)
        .unwrap_or_else(|e| panic!("include pattern: {e}"))
});

/// Type names a C# or VB.NET file declares.
static DECLARED_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(r"(?i)\b(?:class|module|structure|struct|interface)[ \t]+([A-Za-z_]\w{0,80})")
});

impl Companions {
    /// The files `page` runs besides itself: its includes (followed in turn), and the
    /// `App_Code` classes whose names its normalised `code` holds. The language may differ
    /// from the page's (an application compiles C# and VB.NET folders of App_Code together);
    /// the engine reads statements and calls alike in both.
    pub(crate) fn of_page(&self, page: &Path, raw: &[u8], code: &str, aspnet: bool) -> Found {
        let mut found = Found::default();
        let mut seen: HashSet<PathBuf> = HashSet::from([page.to_path_buf()]);
        // Includes, breadth first from the page.
        let (mut level, limits) = includes_of(page, raw);
        found.limits.extend(limits);
        for depth in 0..=MAX_INCLUDE_DEPTH {
            if level.is_empty() {
                break;
            }
            if depth == MAX_INCLUDE_DEPTH {
                found.limits.push(format!("included files followed {MAX_INCLUDE_DEPTH} levels deep only"));
                break;
            }
            let mut next = Vec::new();
            for path in level {
                if !seen.insert(path.clone()) {
                    continue;
                }
                let Some(loaded) = self.load(&path, false, &mut found.limits) else { continue };
                next.extend(loaded.includes.iter().cloned());
                found.limits.extend(loaded.include_limits.iter().cloned());
                if !self.push(&mut found, Companion { path, kind: Kind::Include, loaded }) {
                    return found;
                }
            }
            level = next;
        }
        if aspnet && let Some(app_code) = self.app_code_of(page) {
            if app_code.left_out > 0 {
                found
                    .limits
                    .push(format!("App_Code: {} files not read (over the count or size bounds)", app_code.left_out));
            }
            let words = words_of(code);
            for (class, path) in &app_code.classes {
                if !words.contains(class.as_str()) || !seen.insert(path.clone()) {
                    continue;
                }
                let Some(loaded) = self.load(path, true, &mut found.limits) else { continue };
                if !self.push(&mut found, Companion { path: path.clone(), kind: Kind::AppCode, loaded }) {
                    return found;
                }
            }
        }
        found
    }

    /// Add a companion unless the page has its fill; `false` when it has.
    fn push(&self, found: &mut Found, companion: Companion) -> bool {
        if found.companions.len() == MAX_COMPANIONS {
            found.limits.push(format!("the first {MAX_COMPANIONS} companion files read with the page only"));
            return false;
        }
        found.companions.push(companion);
        true
    }

    /// The file's normalised server code, read once per run (within [`MAX_KEPT_BYTES`]); a file
    /// that could not be read is a line in `limits`.
    fn load(&self, path: &Path, class_file: bool, limits: &mut Vec<String>) -> Option<Arc<Loaded>> {
        let kept = self.state.lock().ok().and_then(|state| state.loaded.get(path).cloned());
        let loading = kept.unwrap_or_else(|| {
            // Read and normalised outside the lock: other threads go on meanwhile.
            let loading: Loading = read_bounded(path).map(|bytes| {
                let (includes, include_limits) =
                    if class_file { Default::default() } else { includes_of(path, &bytes) };
                Loaded::of(&bytes, class_file, includes, include_limits).map(Arc::new)
            });
            if let Ok(mut state) = self.state.lock() {
                let size =
                    loading.as_ref().map_or(0, |l| l.as_ref().map_or(0, |l| l.code.len())) + path.as_os_str().len();
                if state.kept_bytes + size <= MAX_KEPT_BYTES {
                    state.kept_bytes += size;
                    state.loaded.insert(path.to_path_buf(), loading.clone());
                }
            }
            loading
        });
        loading.unwrap_or_else(|reason| {
            limits.push(format!("{}: not read with the page ({reason})", path.display()));
            None
        })
    }

    /// The `App_Code` index of the application holding `page`: the nearest folder above it
    /// with an `App_Code` folder.
    fn app_code_of(&self, page: &Path) -> Option<Arc<AppCode>> {
        let folder = page.parent()?;
        if let Ok(state) = self.state.lock()
            && let Some(known) = state.app_code_of_folder.get(folder)
        {
            return known.clone();
        }
        let app_code = folder.ancestors().take(MAX_ANCESTORS).find_map(|dir| child_named(dir, "App_Code"));
        let index = app_code.map(|dir| {
            if let Ok(state) = self.state.lock()
                && let Some(index) = state.app_code.get(&dir)
            {
                return index.clone();
            }
            let index = Arc::new(index_app_code(&dir));
            if let Ok(mut state) = self.state.lock()
                && state.app_code.len() < MAX_FOLDERS_KEPT
            {
                state.app_code.insert(dir, index.clone());
            }
            index
        });
        if let Ok(mut state) = self.state.lock()
            && state.app_code_of_folder.len() < MAX_FOLDERS_KEPT
        {
            state.app_code_of_folder.insert(folder.to_path_buf(), index.clone());
        }
        index
    }
}

impl Loaded {
    /// A companion's bytes normalised (`None` when they hold no server code); `includes` are
    /// the files it includes in turn, `include_limits` the directives not followed.
    pub(crate) fn of(
        bytes: &[u8],
        class_file: bool,
        includes: Vec<PathBuf>,
        include_limits: Vec<String>,
    ) -> Option<Loaded> {
        let normalized = normalize_file(bytes, class_file)?;
        let code = normalized.code;
        let types = DECLARED_TYPE.captures_iter(&code).map(|c| c[1].to_owned()).collect();
        let procedures = procedures(&code);
        let calls = procedures
            .iter()
            .map(|(_, range)| {
                let named = words_of(&code[range.clone()]);
                (0..procedures.len()).filter(|&i| named.contains(procedures[i].0.as_str())).collect()
            })
            .collect();
        Some(Loaded {
            procedures,
            calls,
            sinks: OnceLock::new(),
            types,
            code,
            dialect: normalized.dialect,
            includes,
            include_limits,
            alone: OnceLock::new(),
        })
    }

    /// What of this file a page runs towards a sink, when it hands request data to the
    /// procedures named `page_words`: those and the ones they call in turn (bounded), kept when they reach
    /// a procedure holding a sink (`is_sink` over its text), after a `class` line for each type
    /// the file declares (calls through the class or an instance of it reach its procedures).
    /// Empty when the page reaches none. Reading a whole library with a page would hand the
    /// page's request data to every procedure any other page calls with it (the data flow is
    /// by name), and cost the library's analysis once per page.
    pub(crate) fn slice_for(&self, page_words: &HashSet<String>, is_sink: impl Fn(&str) -> bool) -> (String, bool) {
        let sinks =
            self.sinks.get_or_init(|| self.procedures.iter().map(|(_, r)| is_sink(&self.code[r.clone()])).collect());
        if !sinks.contains(&true) {
            return (String::new(), false);
        }
        // What the page reaches, breadth first.
        let mut reached: Vec<usize> =
            (0..self.procedures.len()).filter(|&i| page_words.contains(self.procedures[i].0.as_str())).collect();
        let mut seen: HashSet<usize> = reached.iter().copied().collect();
        let mut at = 0;
        while at < reached.len() {
            for &next in &self.calls[reached[at]] {
                if seen.insert(next) {
                    reached.push(next);
                }
            }
            at += 1;
        }
        // Of that, what leads to a sink.
        let mut leads: HashSet<usize> = reached.iter().copied().filter(|&i| sinks[i]).collect();
        loop {
            let before = leads.len();
            for &i in &reached {
                if !leads.contains(&i) && self.calls[i].iter().any(|c| leads.contains(c)) {
                    leads.insert(i);
                }
            }
            if leads.len() == before {
                break;
            }
        }
        let mut taken: Vec<usize> = reached.into_iter().filter(|i| leads.contains(i)).collect();
        if taken.is_empty() {
            return (String::new(), false);
        }
        taken.sort_unstable();
        let (mut bytes, mut cut) = (0usize, false);
        let mut slice: String = self.types.iter().map(|t| format!("class {t}\n")).collect();
        for (n, index) in taken.into_iter().enumerate() {
            let range = self.procedures[index].1.clone();
            if n == MAX_SLICE_PROCEDURES || bytes + range.len() > MAX_SLICE_BYTES {
                cut = true;
                break;
            }
            bytes += range.len();
            slice.push_str(&self.code[range]);
            slice.push('\n');
        }
        (slice, cut)
    }
}

/// A VB procedure's header (modifiers, `Function`/`Sub`/`Property Get|Let|Set`, the name) and
/// its end.
static VB_PROCEDURE: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?im)^[ \t]*(?:(?:public|private|friend|protected|shared|static|overrides|overridable|overloads|default|async)[ \t]+)*(?:function|sub|property[ \t]+(?:get|let|set))[ \t]+([A-Za-z_]\w*)",
    )
});
static VB_END: LazyLock<Regex> =
    LazyLock::new(|| crate::pattern::builtin(r"(?im)^[ \t]*end[ \t]+(?:function|sub|property)\b[^\n]*"));
/// A C-like method or function: a type (or `function`), the name, parameters, `{`.
static CLIKE_PROCEDURE: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?m)^[ \t]*(?:[\w.<>\[\],]+[ \t]+)+([A-Za-z_]\w*)[ \t]*\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\)\s*\{",
    )
});

/// The procedures of normalised `code` (see [`Loaded::procedures`]).
fn procedures(code: &str) -> Vec<(String, Range<usize>)> {
    let mut found = Vec::new();
    for c in VB_PROCEDURE.captures_iter(code) {
        let (Some(whole), Some(name)) = (c.get(0), c.get(1)) else { continue };
        if let Some(end) = VB_END.find_at(code, whole.end()) {
            found.push((name.as_str().to_ascii_lowercase(), whole.start()..end.end()));
        }
    }
    for c in CLIKE_PROCEDURE.captures_iter(code) {
        let (Some(whole), Some(name)) = (c.get(0), c.get(1)) else { continue };
        let keyword = name.as_str().to_ascii_lowercase();
        if matches!(keyword.as_str(), "if" | "for" | "foreach" | "while" | "switch" | "catch" | "using" | "lock") {
            continue;
        }
        let open = whole.end() - 1;
        if let Some((body, _)) = crate::normalize::braced_block(&code[open..], MAX_SLICE_BYTES) {
            let end = (body.as_ptr() as usize - code.as_ptr() as usize + body.len() + 1).min(code.len());
            found.push((keyword, whole.start()..end));
        }
    }
    found
}

/// The file's bytes when it is a regular file within [`MAX_COMPANION_BYTES`], or why not.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    if meta.len() > MAX_COMPANION_BYTES {
        return Err(format!("{} bytes, over the {MAX_COMPANION_BYTES}-byte bound", meta.len()));
    }
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    file.take(MAX_COMPANION_BYTES).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The files `file`'s include directives name that exist: `file=` relative to its folder,
/// `virtual=` to the site's root (tried from its folder upwards, as the root is not known);
/// and a line for each directive not followed (no such file, beyond [`MAX_INCLUDES`]).
fn includes_of(file: &Path, bytes: &[u8]) -> (Vec<PathBuf>, Vec<String>) {
    let (mut found, mut limits) = (Vec::new(), Vec::new());
    let Some(folder) = file.parent() else { return (found, limits) };
    for (n, c) in INCLUDE.captures_iter(bytes).enumerate() {
        if n == MAX_INCLUDES {
            limits.push(format!("{}: the first {MAX_INCLUDES} include directives followed only", file.display()));
            break;
        }
        let target = String::from_utf8_lossy(&c[2]);
        let target = target.trim();
        let resolved = if c[1].eq_ignore_ascii_case(b"file") {
            resolve(folder, target)
        } else {
            folder.ancestors().take(MAX_ANCESTORS).find_map(|root| resolve(root, target))
        };
        match resolved {
            Some(path) if !found.contains(&path) => found.push(path),
            Some(_) => {}
            None => limits.push(format!("{}: included file {target:?} not found", file.display())),
        }
    }
    (found, limits)
}

/// `relative` (`/` or `\` separated, `..` allowed) below `base`, each part matched without
/// regard to case as Windows does; `None` unless it names a regular file.
fn resolve(base: &Path, relative: &str) -> Option<PathBuf> {
    let mut at = base.to_path_buf();
    for part in relative.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            at.pop();
            continue;
        }
        at = child_named(&at, part)?;
    }
    at.is_file().then_some(at)
}

/// `dir`'s entry named `name`, its case as written first, then any case.
fn child_named(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.exists() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .take(MAX_LISTED)
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .map(|e| e.path())
}

/// The C# and VB.NET files below an `App_Code` folder and the types each declares.
fn index_app_code(dir: &Path) -> AppCode {
    let mut index = AppCode::default();
    let mut files = 0usize;
    let mut folders = vec![(dir.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            index.left_out += 1;
            continue;
        };
        let mut entries = entries.filter_map(Result::ok).map(|e| e.path());
        let mut listed: Vec<PathBuf> = entries.by_ref().take(MAX_LISTED).collect();
        index.left_out += entries.count();
        listed.sort();
        for path in listed {
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                if depth + 1 < MAX_APP_CODE_DEPTH {
                    folders.push((path, depth + 1));
                } else {
                    index.left_out += 1;
                }
                continue;
            }
            let source = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("cs") || e.eq_ignore_ascii_case("vb"));
            if !source || !meta.is_file() {
                continue;
            }
            files += 1;
            let bytes = if files > MAX_APP_CODE_FILES { None } else { read_bounded(&path).ok() };
            let Some(bytes) = bytes else {
                index.left_out += 1;
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let names: HashSet<String> =
                DECLARED_TYPE.captures_iter(&text).map(|c| c[1].to_ascii_lowercase()).collect();
            index.classes.extend(names.into_iter().map(|name| (name, path.clone())));
        }
    }
    index
}

/// The words of `code`, lowercased.
pub(crate) fn words_of(code: &str) -> HashSet<String> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The name to show for `companion`, a file near `page` shown as `page_display`: the display
/// path with the part below their shared folder replaced, so it reads as the page's does
/// (a collection's path, a Windows path); the file's own path when they share none.
pub(crate) fn display_of(page: &Path, page_display: &str, companion: &Path) -> String {
    let shared = page.ancestors().skip(1).find(|a| companion.starts_with(a));
    let Some(shared) = shared else { return companion.display().to_string() };
    let (Ok(page_rest), Ok(companion_rest)) = (page.strip_prefix(shared), companion.strip_prefix(shared)) else {
        return companion.display().to_string();
    };
    let separator = if page_display.contains('\\') && !page_display.contains('/') { '\\' } else { '/' };
    let page_rest: Vec<String> = page_rest.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let page_tail = page_rest.join(&separator.to_string());
    match page_display.len().checked_sub(page_tail.len()) {
        Some(cut) if page_display.is_char_boundary(cut) && page_display[cut..].eq_ignore_ascii_case(&page_tail) => {
            let rest: Vec<String> = companion_rest.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            format!("{}{}", &page_display[..cut], rest.join(&separator.to_string()))
        }
        _ => companion.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    #[test]
    fn includes_resolve_by_file_and_virtual_path_in_any_case_and_nest() {
        let dir = tree(&[
            (
                "site/shop/search.asp",
                "<!--#include file=\"inc/Utils.asp\"-->\n<!-- #include virtual=\"/common/db.asp\" -->\n<% x = 1 %>",
            ),
            ("site/shop/INC/utils.asp", "<!--#include file=\"more.asp\"-->\n<% Sub A(p)\nExecute p\nEnd Sub %>"),
            ("site/shop/INC/more.asp", "<% Sub B(p)\nResponse.Write p\nEnd Sub %>"),
            ("site/common/db.asp", "<% Function Db()\nDb = 1\nEnd Function %>"),
            ("site/shop/missing.asp", "<!--#include file=\"nowhere.asp\"-->"),
        ]);
        let page = dir.path().join("site/shop/search.asp");
        let raw = std::fs::read(&page).expect("page");
        let found = Companions::default().of_page(&page, &raw, "x = 1", false);
        let names: Vec<String> = found
            .companions
            .iter()
            .map(|c| c.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default().into_owned())
            .collect();
        assert_eq!(names, ["utils.asp", "db.asp", "more.asp"]);
        assert!(found.companions.iter().all(|c| c.kind == Kind::Include));
        assert!(found.limits.is_empty());
    }

    #[test]
    fn includes_not_found_or_too_large_are_reported() {
        let big = format!("<% x = \"{}\" %>", "a".repeat(MAX_COMPANION_BYTES as usize));
        let dir = tree(&[
            ("site/page.asp", "<!--#include file=\"gone.asp\"-->\n<!--#include file=\"big.asp\"-->\n<% y = 1 %>"),
            ("site/big.asp", &big),
        ]);
        let page = dir.path().join("site/page.asp");
        let raw = std::fs::read(&page).expect("page");
        let found = Companions::default().of_page(&page, &raw, "y = 1", false);
        assert!(found.companions.is_empty());
        assert_eq!(found.limits.len(), 2, "{:?}", found.limits);
        assert!(found.limits[0].contains("\"gone.asp\" not found"), "{:?}", found.limits);
        assert!(found.limits[1].contains("big.asp: not read with the page") && found.limits[1].contains("bound"));
    }

    #[test]
    fn app_code_classes_are_companions_only_when_the_page_names_them() {
        let dir = tree(&[
            (
                "app/App_Code/Tools.cs",
                "using System;\npublic static class SiteTools { public static string Run(string t) { return t; } }",
            ),
            ("app/App_Code/Other.cs", "using System;\npublic class Unused { }"),
            ("app/App_Code/Legacy.vb", "Imports System\nPublic Class VbTools\nEnd Class"),
            ("app/admin/Page.aspx", "<%@ Page Language=\"C#\" %>"),
        ]);
        let page = dir.path().join("app/admin/Page.aspx");
        let companions = Companions::default();
        let code = "string r = SiteTools.Run(Request[\"t\"]); var v = new VbTools();";
        let found = companions.of_page(&page, b"", code, true);
        let names: Vec<&std::ffi::OsStr> = found.companions.iter().filter_map(|c| c.path.file_name()).collect();
        assert_eq!(names, ["Legacy.vb", "Tools.cs"]);
        assert!(found.companions.iter().all(|c| c.kind == Kind::AppCode));
        assert!(found.limits.is_empty());
        // Not an ASP.NET page: no App_Code.
        assert!(companions.of_page(&page, b"", code, false).companions.is_empty());
    }

    #[test]
    fn include_cycles_end_and_depth_is_bounded() {
        let mut files = vec![("a.asp".to_owned(), "<!--#include file=\"b.asp\"-->\n<% x=1 %>".to_owned())];
        files.push((
            "b.asp".to_owned(),
            "<!--#include file=\"a.asp\"-->\n<!--#include file=\"c0.asp\"-->\n<% y=1 %>".to_owned(),
        ));
        for i in 0..8 {
            files.push((format!("c{i}.asp"), format!("<!--#include file=\"c{}.asp\"-->\n<% z{i}=1 %>", i + 1)));
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let dir = tree(&files);
        let page = dir.path().join("a.asp");
        let raw = std::fs::read(&page).expect("page");
        let found = Companions::default().of_page(&page, &raw, "x=1", false);
        // b, c0, c1, c2: four levels; the page itself is not its own companion.
        assert_eq!(found.companions.len(), 4);
        assert_eq!(found.limits, [format!("included files followed {MAX_INCLUDE_DEPTH} levels deep only")]);
    }

    #[test]
    fn a_page_reads_the_procedures_on_its_way_to_a_sink_and_no_others() {
        let vb = "<%\nFunction Dec(s)\nDec=s\nEnd Function\nSub Apply(p)\nExecuteGlobal Dec(p)\nEnd Sub\nSub Other(q)\nExecute q\nEnd Sub\n\
                  Function Fmt(v)\nFmt=Dec(v)\nEnd Function\n%>";
        let loaded = Loaded::of(vb.as_bytes(), false, Vec::new(), Vec::new()).expect("server code");
        let sink = |text: &str| text.contains("Execute");
        let (slice, cut) = loaded.slice_for(&words_of("If x Then Apply Request(\"a\")\nResponse.Write Fmt(1)"), sink);
        assert!(!cut);
        assert!(slice.contains("Sub Apply(p)"), "{slice}");
        // Other is not called; Dec and Fmt lead to no sink (what Dec returns is in its call's text).
        assert!(!slice.contains("Other") && !slice.contains("Fmt") && !slice.contains("Function Dec"), "{slice}");
        assert_eq!(loaded.slice_for(&words_of("Response.Write Fmt(1)"), sink).0, "");

        let cs = "using System;\npublic static class Tools\n{\npublic static string Run(string t)\n{\nif (t != null) { return Exec(t); }\nreturn \"\";\n}\n\
                  static string Exec(string c)\n{\nreturn Process.Start(c).Id.ToString();\n}\npublic static void Unused()\n{\n}\n}";
        let names: Vec<String> = procedures(cs).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["run", "exec", "unused"]);
        let loaded = Loaded::of(cs.as_bytes(), true, Vec::new(), Vec::new()).expect("class");
        let (slice, _) = loaded.slice_for(&words_of("Tools.Run(Request[\"t\"]);"), |t| t.contains("Process.Start"));
        assert!(
            slice.starts_with("class Tools\n") && slice.contains("Exec(string c)") && !slice.contains("Unused"),
            "{slice}"
        );
    }

    #[test]
    fn a_companion_is_shown_as_the_page_is() {
        let page = Path::new("/ev/inetpub/cms/admin/Maintenance.aspx");
        let helper = Path::new("/ev/inetpub/cms/App_Code/SiteMaintenance.cs");
        assert_eq!(
            display_of(page, r"C:\inetpub\cms\admin\Maintenance.aspx", helper),
            r"C:\inetpub\cms\App_Code\SiteMaintenance.cs"
        );
        assert_eq!(
            display_of(page, "inetpub/cms/admin/Maintenance.aspx", helper),
            "inetpub/cms/App_Code/SiteMaintenance.cs"
        );
        assert_eq!(display_of(page, "something else", helper), "/ev/inetpub/cms/App_Code/SiteMaintenance.cs");
    }
}
