//! seawall's file detectors for hunts: webshells and other attacker files in
//! web roots and Exchange folders.
//!
//! One [`WebshellScanner`] holds the compiled YARA rules (seawall's built-in
//! rules for ASP.NET and classic ASP webshells, plus any `--yara DIR` sets such
//! as signature-base), the IOC sets (the knowledge base's plus `--ioc FILE`s)
//! and the location heuristics. The hunt calls it once per file, from as many
//! threads as it likes:
//!
//! * [`WebshellScanner::check_location`]: detectors that need only the path
//!   (an `.aspx` under `aspnet_client`, a non-stock file in `owa\auth`, path and
//!   file-name IOCs);
//! * [`WebshellScanner::scan_file`]: detectors over the content (YARA, the OAB
//!   configuration check, hash IOCs), size-capped;
//! * [`WebshellScanner::examine`]: both, with IOC attribution carried over to
//!   the file's other findings.
//!
//! Engines never print: everything comes back as [`seawall_model::Finding`]s
//! and [`Diagnostic`]s.

mod capability;
mod companions;
mod content;
pub mod detectors;
mod digest;
mod iocfile;
mod location;
mod normalize;
mod pattern;
mod rules;
mod verdict;

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use seawall_kb::{IocKind, IocSet, KnowledgeBase};
use seawall_model::{Finding, Severity};

pub use digest::FileHashes;
pub use iocfile::{IocFileError, IocParse, load_ioc_file, parse_ioc_text};
pub use rules::Diagnostic;

/// Largest file read by default: webshells are small, evidence drives are not.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// How long YARA may spend on one file before it is reported and left.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the scanner loads.
#[derive(Debug, Clone)]
pub struct ScannerConfig {
    /// seawall's own rules (`data/yara/*.yar`, embedded).
    pub builtin_rules: bool,
    /// `--yara DIR`: every `.yar`/`.yara` file below each directory.
    pub yara_dirs: Vec<PathBuf>,
    /// `--ioc FILE`: seawall CSV, other CSV, plain lists, STIX 2.1, MISP JSON.
    pub ioc_files: Vec<PathBuf>,
    /// Files larger than this are not read; the outcome says so.
    pub max_file_size: u64,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            builtin_rules: true,
            yara_dirs: Vec::new(),
            ioc_files: Vec::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// Why the scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    IocFile { path: PathBuf, source: IocFileError },
    /// The embedded rules or data are broken: a build problem, not a user one.
    #[error("built-in detection data: {0}")]
    Builtin(String),
    #[error("knowledge base: {0}")]
    Kb(#[from] seawall_kb::LoadError),
}

/// The result of scanning one file.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    pub findings: Vec<Finding>,
    /// Set when the file was deliberately not read (too large, not a regular file).
    pub skipped: Option<String>,
    /// Set when reading or scanning failed; findings may be partial.
    pub error: Option<String>,
    /// Bytes read and scanned.
    pub bytes: u64,
    /// The file's hashes (SHA-256 always; MD5/SHA-1 when an IOC set has them).
    pub hashes: Option<FileHashes>,
    /// Limits the normalising stage reached (input or output cap, time
    /// budget) and the bounds of the capability engine's data-flow analysis;
    /// the original bytes were still scanned in full.
    pub normalisation_limits: Vec<String>,
    /// Findings about other files this file's analysis showed: the helpers (included files,
    /// App_Code classes) whose code the page hands request data to run. Located at them.
    pub companion_findings: Vec<Finding>,
}

impl FileOutcome {
    /// The highest severity among the findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// What reading a page with its companions changed (see `WebshellScanner::with_companions`).
#[derive(Debug, Default)]
struct WithCompanions {
    /// The page's finding, raised by what request data reaches in its companions.
    page_finding: Option<Finding>,
    helper_findings: Vec<Finding>,
    limits: Vec<String>,
}

/// Counts of what was loaded, for the run summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadedCounts {
    pub builtin_rules: usize,
    pub external_rules: usize,
    pub iocs: usize,
}

/// The main rule set. The built-in rules alone (no `--yara` sets, whose diagnostics must be
/// known at start) compile on a thread of their own while a hunt reads its logs: compiling
/// was a sixth of a second with one core idle.
#[derive(Debug, Clone)]
struct MainRules(Arc<OnceLock<rules::RuleSet>>);

impl MainRules {
    fn ready(set: rules::RuleSet) -> MainRules {
        MainRules(Arc::new(OnceLock::from(set)))
    }

    fn compile_builtin_in_background() -> MainRules {
        let rules = MainRules(Arc::new(OnceLock::new()));
        let background = rules.clone();
        // If the thread cannot start, the first user compiles them.
        let _ = std::thread::Builder::new().name("yara-compile".into()).spawn(move || {
            background.get();
        });
        rules
    }

    /// The set, waiting for (or doing) the compilation.
    fn get(&self) -> &rules::RuleSet {
        self.0.get_or_init(|| match rules::compile(true, &[]) {
            Ok((set, _)) => set,
            // The embedded rules are compiled by the tests: failing here is a broken build.
            Err(err) => panic!("seawall's built-in YARA rules do not compile: {err}"),
        })
    }
}

/// Compiled rules, IOC sets and heuristics; `Send + Sync`, one per run.
#[derive(Debug)]
pub struct WebshellScanner {
    rules: MainRules,
    /// The built-in rules alone, for the normalised text (external sets were
    /// written for raw bytes).
    normalized_rules: Option<rules::RuleSet>,
    /// The main set is the built-in rules alone and also matches the normalised page.
    normalize_with_main: bool,
    capabilities: capability::CapabilityEngine,
    /// Included files and App_Code classes read with the pages that use them.
    companions: companions::Companions,
    iocs: IocSet,
    stock: location::StockLists,
    want_md5: bool,
    want_sha1: bool,
    max_file_size: u64,
}

impl WebshellScanner {
    /// Compile rules and load IOCs. Rules yara-x rejects, and `--ioc`
    /// entries that hold no usable indicator, come back as diagnostics.
    pub fn new(config: &ScannerConfig, kb: &KnowledgeBase) -> Result<(WebshellScanner, Vec<Diagnostic>), Error> {
        // The code detectors' catalog is compiled in: checked here so a broken build fails
        // at start, not in the middle of a hunt.
        detectors::CATALOG.load().map_err(|e| Error::Builtin(e.to_string()))?;
        // The normalised page is matched by the built-in rules only: with no `--yara` sets
        // those are the main set, compiled once (compiling was most of a hunt's start).
        let own_normalized = config.builtin_rules && !config.yara_dirs.is_empty();
        let normalize_with_main = config.builtin_rules && config.yara_dirs.is_empty();
        let (compiled, normalized_rules) = if normalize_with_main {
            (Ok((MainRules::compile_builtin_in_background(), Vec::new())), None)
        } else {
            std::thread::scope(|scope| {
                let normalized = own_normalized.then(|| scope.spawn(|| rules::compile(true, &[]).map(|(set, _)| set)));
                let compiled = rules::compile(config.builtin_rules, &config.yara_dirs)
                    .map(|(set, diagnostics)| (MainRules::ready(set), diagnostics));
                let normalized = normalized.map(|handle| {
                    handle.join().unwrap_or_else(|_| Err(Error::Builtin("compiling the built-in rules failed".into())))
                });
                (compiled, normalized)
            })
        };
        let (rules, mut diagnostics) = compiled?;
        let normalized_rules = normalized_rules.transpose()?;
        let mut iocs = kb.iocs()?;
        for path in &config.ioc_files {
            let parse = load_ioc_file(path)?;
            if parse.skipped > 0 {
                diagnostics.push(Diagnostic {
                    file: path.display().to_string(),
                    rule: None,
                    code: "ioc".into(),
                    reason: format!(
                        "{} entries hold no indicator seawall uses ({} format)",
                        parse.skipped, parse.format
                    ),
                });
            }
            iocs.extend(parse.set);
        }
        let scanner = WebshellScanner {
            normalized_rules,
            normalize_with_main,
            capabilities: capability::CapabilityEngine::embedded()?,
            companions: companions::Companions::default(),
            want_md5: iocs.count(IocKind::Md5) > 0,
            want_sha1: iocs.count(IocKind::Sha1) > 0,
            rules,
            iocs,
            stock: location::StockLists::embedded()?,
            max_file_size: config.max_file_size,
        };
        Ok((scanner, diagnostics))
    }

    /// The page read with its companions (`companions`): when request data of the page
    /// reaches sinks in them and that raises its verdict to medium or above, the page's finding
    /// with their capabilities and a `SW-WEBSHELL-HELPER` finding for each file holding a sink.
    fn with_companions(
        &self,
        page: &companions::PageView<'_>,
        found: &companions::Found,
        assessment: &capability::Assessment,
        holder: capability::Holder,
    ) -> WithCompanions {
        let (normalized, display_path, shown) = (page.normalized, page.display_path, &assessment.shown);
        let mut with = WithCompanions::default();
        if assessment.called_with_request.is_empty() {
            return with;
        }
        let is_sink = |text: &str| self.capabilities.holds_companion_sink(text);
        let mut slices = Vec::with_capacity(found.companions.len());
        for companion in &found.companions {
            let (slice, cut) = companion.loaded.slice_for(&assessment.called_with_request, is_sink);
            if cut {
                with.limits
                    .push(format!("{}: the procedures the page calls read up to a bound", companion.path.display()));
            }
            slices.push(slice);
        }
        if slices.iter().all(String::is_empty) {
            return with;
        }
        let codes: Vec<&str> = slices.iter().map(String::as_str).collect();
        let (through, limits) = self.capabilities.through_companions(
            &normalized.code,
            &normalized.text,
            normalized.dialect,
            display_path,
            &codes,
        );
        with.limits.extend(limits);
        let mut all = shown.to_vec();
        let mut holders: Vec<(usize, Vec<&capability::Shown>)> = Vec::new();
        for (capability, index) in &through {
            let companion = &found.companions[*index];
            let alone = companion.loaded.alone.get_or_init(|| {
                let (code, dialect) = (&companion.loaded.code, companion.loaded.dialect);
                let display = companions::display_of(page.path, display_path, &companion.path);
                let shown = self.capabilities.assess_page(code, code, dialect, &display).shown;
                shown.into_iter().filter(|s| s.request_driven).map(|s| (s.id, s.evidence)).collect()
            });
            if all.iter().any(|s| s.id == capability.id)
                || alone.iter().any(|(id, evidence)| *id == capability.id && *evidence == capability.evidence)
            {
                continue;
            }
            all.push(capability.clone());
            match holders.iter_mut().find(|(i, _)| i == index) {
                Some((_, held)) => held.push(capability),
                None => holders.push((*index, vec![capability])),
            }
        }
        if holders.is_empty() {
            return with;
        }
        let before = self.capabilities.finding(shown, display_path, &normalized.applied, holder).map(|f| f.severity);
        let Some(mut raised) = self.capabilities.finding(&all, display_path, &normalized.applied, holder) else {
            return with;
        };
        if raised.severity < Severity::Medium || before.is_some_and(|b| b >= raised.severity) {
            return with;
        }
        for (index, held) in &holders {
            let companion = &found.companions[*index];
            let display = companions::display_of(page.path, display_path, &companion.path);
            let how = companion.kind.describe();
            raised.evidence.push(seawall_model::Evidence::text(
                "companion",
                &format!(
                    "{how} {display}: holds the sinks of {}",
                    held.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
            with.helper_findings.push(self.capabilities.helper_finding(held, &display, display_path, how, &raised));
        }
        with.page_finding = Some(raised);
        with
    }

    /// The rules that match the normalised page: the built-in ones.
    fn normalized_set(&self) -> Option<&rules::RuleSet> {
        if self.normalize_with_main { Some(self.rules.get()) } else { self.normalized_rules.as_ref() }
    }

    /// How many rules and indicators are loaded.
    pub fn counts(&self) -> LoadedCounts {
        LoadedCounts {
            builtin_rules: self.rules.get().builtin_count,
            external_rules: self.rules.get().external_count,
            iocs: self.iocs.len(),
        }
    }

    /// The merged IOC set (knowledge base + `--ioc` files), for the log hunt's
    /// IP, domain and user-agent lookups.
    pub fn iocs(&self) -> &IocSet {
        &self.iocs
    }

    /// Files larger than this are not examined (reported as skipped).
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Location-only detectors: the path heuristics and path/file-name IOCs.
    /// `display_path` is the evidence path as the user knows it.
    pub fn check_location(&self, display_path: &str) -> Vec<Finding> {
        let mut findings = location::check(&self.stock, display_path);
        findings.extend(verdict::path_iocs(&self.iocs, display_path));
        findings
    }

    /// A scanner for one thread: it keeps its YARA scanning context between
    /// files, which is several times cheaper than a fresh one per file. Make
    /// one per worker thread and call [`FileScanner::scan_file`] or
    /// [`FileScanner::examine`] for each file. It is not `Send` (yara-x's
    /// scanning context stays on its thread): create it on the thread that
    /// uses it, e.g. rayon's `map_init(|| scanner.file_scanner(), ...)` or at
    /// the top of a scoped worker thread (see `examples/scan_tree.rs`).
    pub fn file_scanner(&self) -> FileScanner<'_> {
        let mut yara = yara_x::Scanner::new(&self.rules.get().rules);
        yara.set_timeout(SCAN_TIMEOUT);
        let yara_normalized = self.normalized_set().map(|set| {
            let mut scanner = yara_x::Scanner::new(&set.rules);
            scanner.set_timeout(SCAN_TIMEOUT);
            scanner
        });
        FileScanner { owner: self, yara, yara_normalized }
    }

    /// Content detectors for one file: YARA, the virtual-directory
    /// configuration check, hash IOCs. Never panics; files over the size cap
    /// or not regular are skipped with the reason in the outcome. (One-off
    /// convenience: a walk should use [`file_scanner`](Self::file_scanner).)
    pub fn scan_file(&self, path: &Path, display_path: &str) -> FileOutcome {
        self.file_scanner().scan_file(path, display_path)
    }

    /// [`check_location`](Self::check_location) and
    /// [`scan_file`](Self::scan_file) together; groups named by the file's
    /// IOC matches are carried to its other findings, the IOC as evidence.
    pub fn examine(&self, path: &Path, display_path: &str) -> FileOutcome {
        self.file_scanner().examine(path, display_path)
    }

    /// The file's bytes, or `None` when it must not be read (size, kind).
    fn read_capped(&self, path: &Path) -> std::io::Result<Option<Vec<u8>>> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() || meta.len() > self.max_file_size {
            return Ok(None);
        }
        let file = File::open(path)?;
        let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // The file may grow between stat and read (a live log): stop at the cap.
        file.take(self.max_file_size.saturating_add(1)).read_to_end(&mut data)?;
        if data.len() as u64 > self.max_file_size {
            return Ok(None);
        }
        Ok(Some(data))
    }

    fn skipped_outcome(&self, path: &Path) -> FileOutcome {
        let reason = match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => "not a regular file".to_owned(),
            Ok(meta) => format!("{} bytes, over the {}-byte limit", meta.len(), self.max_file_size),
            Err(err) => format!("cannot read: {err}"),
        };
        FileOutcome { skipped: Some(reason), ..FileOutcome::default() }
    }
}

/// A [`WebshellScanner`] bound to one thread's YARA scanning context.
pub struct FileScanner<'a> {
    owner: &'a WebshellScanner,
    yara: yara_x::Scanner<'a>,
    yara_normalized: Option<yara_x::Scanner<'a>>,
}

impl std::fmt::Debug for FileScanner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileScanner").field("owner", &self.owner).finish_non_exhaustive()
    }
}

impl FileScanner<'_> {
    /// See [`WebshellScanner::scan_file`].
    pub fn scan_file(&mut self, path: &Path, display_path: &str) -> FileOutcome {
        let owner = self.owner;
        let mut outcome = FileOutcome::default();
        let data = match owner.read_capped(path) {
            Ok(Some(data)) => data,
            Ok(None) => return owner.skipped_outcome(path),
            Err(err) => {
                outcome.error = Some(format!("cannot read: {err}"));
                return outcome;
            }
        };
        self.scan_data_at(&data, display_path, Some(path))
    }

    /// Content detectors over bytes already in memory (a file inside a collection archive);
    /// the caller bounds them by [`WebshellScanner::max_file_size`].
    pub fn scan_data(&mut self, data: &[u8], display_path: &str) -> FileOutcome {
        self.scan_data_at(data, display_path, None)
    }

    /// [`FileScanner::scan_data`] of the file at `path`, when on disk: its includes and its
    /// application's App_Code classes are read with it.
    fn scan_data_at(&mut self, data: &[u8], display_path: &str, path: Option<&Path>) -> FileOutcome {
        let owner = self.owner;
        let mut outcome = FileOutcome { bytes: data.len() as u64, ..FileOutcome::default() };
        let hashes = FileHashes::of(data, owner.want_md5, owner.want_sha1);
        outcome.findings.extend(verdict::hash_iocs(&owner.iocs, &hashes, display_path));
        outcome.hashes = Some(hashes);

        match verdict::yara(&mut self.yara, owner.rules.get(), data, display_path) {
            Ok(findings) => outcome.findings.extend(findings),
            Err(err) => outcome.error = Some(format!("YARA scan: {err}")),
        }
        if content::may_hold_vdir_config(data) {
            let text = content::text_of(data);
            outcome.findings.extend(content::oab_config_script(&text, display_path));
        }
        self.scan_normalized(data, display_path, path, &mut outcome);
        outcome
    }

    /// The normalised page: built-in rules over it (findings the original
    /// did not give are added, marked as such) and the capability verdict.
    fn scan_normalized(&mut self, data: &[u8], display_path: &str, path: Option<&Path>, outcome: &mut FileOutcome) {
        let owner = self.owner;
        // The stage parses hostile text; a bug in it must cost one file's
        // normalised findings, never the run.
        // A client script (jQuery, Angular) with the words of a C# file is not server code: IIS
        // serves .js as a file, and no page of it runs on the server without server markers.
        let may_be_class_file = !is_client_script(display_path);
        let normalized = match std::panic::catch_unwind(|| normalize::normalize_file(data, may_be_class_file)) {
            Ok(Some(normalized)) => normalized,
            Ok(None) => return,
            Err(_) => {
                outcome.error = Some("normalising stage failed on this file (internal error); original scanned".into());
                return;
            }
        };
        outcome.normalisation_limits.clone_from(&normalized.limits);
        let applied = if normalized.applied.is_empty() {
            "comments and whitespace".to_owned()
        } else {
            normalized.applied.join(", ")
        };
        if let (Some(scanner), Some(set)) = (self.yara_normalized.as_mut(), owner.normalized_set()) {
            match verdict::yara(scanner, set, normalized.text.as_bytes(), display_path) {
                Ok(found) => {
                    for mut finding in found {
                        if outcome.findings.iter().any(|f| f.rule.id == finding.rule.id) {
                            continue;
                        }
                        finding.evidence.push(seawall_model::Evidence::text(
                            "normalisation",
                            &format!("matched in the normalised page (offsets are into it), after: {applied}"),
                        ));
                        outcome.findings.push(finding);
                    }
                }
                Err(err) => outcome.error = Some(format!("YARA scan of the normalised page: {err}")),
            }
        }
        // The files the page runs besides itself (on disk only; a class file is not a page).
        let mut found = match path.filter(|_| !normalized.source_file) {
            // The cache's lock is poisoned by a panic; the reader then goes on without it.
            Some(page) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let aspnet = capability::is_aspnet(&normalized.text);
                owner.companions.of_page(page, data, &normalized.code, aspnet)
            }))
            .unwrap_or_else(|_| {
                outcome.error = Some("finding the page's companion files failed (internal error)".into());
                companions::Found::default()
            }),
            None => companions::Found::default(),
        };
        let calls = !found.companions.is_empty();
        // The engine is read-only during assessment, so unwinding cannot leave it half-changed.
        let engine = std::panic::AssertUnwindSafe(&owner.capabilities);
        let assessed = std::panic::catch_unwind(|| {
            engine.assess_page_calls(&normalized.code, &normalized.text, normalized.dialect, display_path, calls)
        });
        match assessed {
            Ok(mut assessment) => {
                // A class file holds a whole application's worth of APIs (uploads, downloads,
                // files, crypto): only a decisive capability or a high score makes it a webshell.
                let holder = owner.capabilities.holder(&normalized.code, normalized.source_file);
                let mut finding =
                    owner.capabilities.finding(&assessment.shown, display_path, &normalized.applied, holder);
                outcome.normalisation_limits.append(&mut assessment.limits);
                outcome.normalisation_limits.append(&mut found.limits);
                if let (Some(page), true) = (path, calls) {
                    let with = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let page_view = companions::PageView { path: page, display_path, normalized: &normalized };
                        owner.with_companions(&page_view, &found, &assessment, holder)
                    }));
                    match with {
                        Ok(with) => {
                            outcome.normalisation_limits.extend(with.limits);
                            if let Some(raised) = with.page_finding {
                                finding = Some(raised);
                                outcome.companion_findings = with.helper_findings;
                            }
                        }
                        Err(_) => {
                            outcome.error =
                                Some("reading the page with its companion files failed (internal error)".into());
                        }
                    }
                }
                outcome.findings.extend(finding);
            }
            Err(_) => outcome.error = Some("capability assessment failed on this file (internal error)".into()),
        }
    }

    /// See [`WebshellScanner::examine`].
    pub fn examine(&mut self, path: &Path, display_path: &str) -> FileOutcome {
        let mut outcome = self.scan_file(path, display_path);
        let mut findings = self.owner.check_location(display_path);
        findings.append(&mut outcome.findings);
        verdict::share_attribution(&mut findings);
        outcome.findings = findings;
        outcome
    }
}

/// Whether the path names a file browsers run (IIS serves it as static content).
fn is_client_script(display_path: &str) -> bool {
    let lower = display_path.to_ascii_lowercase();
    [".js", ".mjs", ".ts", ".json", ".css", ".map"].iter().any(|ext| lower.ends_with(ext))
}

/// The page as the content rules see it after normalisation (Script Encoder
/// and UTF-7 decoded, comments and whitespace gone, literals folded), or
/// `None` when the bytes hold no server code: for analysts asking why a page
/// was or was not flagged.
pub fn normalized_page(bytes: &[u8]) -> Option<String> {
    normalize::normalize(bytes).map(|n| n.text)
}

/// Every capability the built-in engine sees in the page (id, weight, evidence),
/// whether or not they add up to a verdict, then the normalisation's limits
/// (id "normalisation limit"): for analysts asking why a page was
/// or was not flagged.
pub fn capabilities_of(bytes: &[u8], display_path: &str) -> Result<Vec<(String, u32, String)>, Error> {
    let engine = capability::CapabilityEngine::embedded()?;
    let Some(normalized) = normalize::normalize(bytes) else {
        return Ok(Vec::new());
    };
    let assessment = engine.assess_page(&normalized.code, &normalized.text, normalized.dialect, display_path);
    let limits =
        normalized.limits.into_iter().chain(assessment.limits).map(|l| ("normalisation limit".to_owned(), 0, l));
    Ok(assessment.shown.into_iter().map(|s| (s.id, s.weight, s.evidence)).chain(limits).collect())
}

/// The capabilities `page` shows through `helper` read as one of its App_Code classes: what
/// [`FileScanner::scan_file`] does with a page and its companions on disk, in memory, for the
/// fuzz target. Not part of the API.
#[doc(hidden)]
pub fn capabilities_through_helper(page: &[u8], helper: &[u8]) -> Result<Vec<String>, Error> {
    // Compiled once: the fuzz target calls this for every input.
    static ENGINE: OnceLock<Result<capability::CapabilityEngine, String>> = OnceLock::new();
    let engine = ENGINE
        .get_or_init(|| capability::CapabilityEngine::embedded().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Builtin(e.clone()))?;
    let (Some(page), Some(helper)) =
        (normalize::normalize(page), companions::Loaded::of(helper, true, Vec::new(), Vec::new()))
    else {
        return Ok(Vec::new());
    };
    let called = engine.assess_page_calls(&page.code, &page.text, page.dialect, "page.aspx", true).called_with_request;
    let (slice, _) = helper.slice_for(&called, |t| engine.holds_companion_sink(t));
    let (through, _) = engine.through_companions(&page.code, &page.text, page.dialect, "page.aspx", &[slice.as_str()]);
    Ok(through.into_iter().map(|(shown, _)| shown.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn scanner_is_send_and_sync() {
        assert_send_sync::<WebshellScanner>();
    }
}
