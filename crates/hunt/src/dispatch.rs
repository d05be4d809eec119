//! One evidence file: open, classify, read with the right reader, match.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use seawall_model::{ErrorRecord, Finding};
use seawall_rules::RuleSet;
use seawall_sigma::{SigmaEngine, SigmaHit, SigmaRecord, SigmaScratch};
use seawall_sources::csvlog::{CsvRecord, CsvSchema};
use seawall_sources::evtx::{EvtxEvent, read_path};
use seawall_sources::lines::LineReader;
use seawall_sources::w3c::{self, W3cLine, W3cRecord, W3cSchema};
use seawall_sources::{LogKind, Record, classify, open};
use seawall_webshell::{FileScanner, WebshellScanner};

use crate::HuntOptions;
use crate::chunks::{self, Start};
use crate::finding::{from_match, from_sigma};
use crate::ioc_match::{IocHits, LogIocs};
use crate::spray::{AuthEvent, AuthLog, auth_event_from_evtx, auth_event_from_iis};

/// What reading one file gave.
#[derive(Debug, Default)]
pub(crate) struct FileOutcome {
    pub(crate) kind: String,
    pub(crate) bytes: u64,
    pub(crate) events: u64,
    pub(crate) findings: Vec<Finding>,
    pub(crate) errors: Vec<ErrorRecord>,
    pub(crate) auth: AuthLog,
    /// Not examined for webshells: over the size cap.
    pub(crate) skipped: bool,
}

/// Everything that looks at records: seawall's rules and, when loaded, Sigma rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detectors<'a> {
    pub(crate) rules: &'a RuleSet,
    pub(crate) sigma: Option<&'a SigmaEngine>,
    pub(crate) files: Option<&'a WebshellScanner>,
    pub(crate) log_iocs: Option<&'a LogIocs>,
}

/// Sigma's working memory for one file, and its matches turned into findings.
struct SigmaPass<'a> {
    engine: Option<&'a SigmaEngine>,
    scratch: SigmaScratch,
    hits: Vec<SigmaHit>,
}

impl<'a> SigmaPass<'a> {
    fn new(engine: Option<&'a SigmaEngine>, family: &str) -> SigmaPass<'a> {
        SigmaPass { engine: engine.filter(|e| e.reads(family)), scratch: SigmaScratch::default(), hits: Vec::new() }
    }

    /// The cheap literal pass over a line's bytes.
    fn may_match(&mut self, family: &str, raw: &[u8]) -> bool {
        self.engine.is_some_and(|engine| engine.prefilter(family, [raw], &mut self.scratch))
    }

    /// Evaluate the candidates left by `may_match` (or, for EVTX, prefilter and evaluate).
    fn check(&mut self, record: SigmaRecord<'_>, raw: &dyn Record, path: &str, findings: &mut Vec<Finding>) {
        let Some(engine) = self.engine else { return };
        self.hits.clear();
        match record {
            SigmaRecord::Evtx(event) => engine.scan_evtx(event, &mut self.scratch, &mut self.hits),
            SigmaRecord::Line(_) => engine.evaluate(record, &mut self.scratch, &mut self.hits),
        }
        findings.extend(self.hits.iter().map(|hit| from_sigma(engine, hit, raw, path)));
    }
}

pub(crate) fn read_all(files: &[PathBuf], options: &HuntOptions, detectors: &Detectors<'_>) -> Vec<FileOutcome> {
    // One YARA scanning context per worker: reusing it across files is what makes content scanning fast.
    files
        .par_iter()
        .map_init(
            || detectors.files.map(WebshellScanner::file_scanner),
            |scanner, path| crate::guard::read_guarded(path, || read_file(path, options, detectors, scanner.as_mut())),
        )
        .collect()
}

fn error(path: &str, message: String, position: Option<String>) -> ErrorRecord {
    ErrorRecord { source: path.to_owned(), message, position }
}

fn in_range(options: &HuntOptions, time: Option<jiff::Timestamp>) -> bool {
    let Some(time) = time else { return true };
    options.from.is_none_or(|from| time >= from) && options.to.is_none_or(|to| time < to)
}

pub(crate) fn read_file(
    path: &Path,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    scanner: Option<&mut FileScanner<'_>>,
) -> FileOutcome {
    let display = path.display().to_string();
    let mut outcome = FileOutcome::default();
    if let Some(files) = detectors.files {
        outcome.findings.extend(files.check_location(&display));
    }
    let opened = match open::open(path) {
        Ok(opened) => opened,
        Err(e) => {
            outcome.kind = "unreadable".into();
            outcome.errors.push(error(&display, format!("cannot open: {e}"), None));
            return outcome;
        }
    };
    let kind = classify(&display, &opened.head);
    outcome.kind = kind.name();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let text_log = matches!(
        kind,
        LogKind::IisW3c | LogKind::HttpProxy(_) | LogKind::EcpServer | LogKind::OabGenerator | LogKind::ExchangeCsv(_)
    );
    // Big plain-text logs with directives are read in pieces on every core.
    let has_directives = opened.head.starts_with(b"#") || opened.head.windows(8).any(|w| w == b"#Fields:");
    if text_log && !opened.gzip && has_directives && size >= 2 * chunks::PIECE && rayon::current_num_threads() > 1 {
        drop(opened);
        read_in_pieces(path, &display, &kind, size, options, detectors, &mut outcome);
        return outcome;
    }
    let whole = Start { first_line: 1, fields: None };
    match kind {
        LogKind::Evtx => read_evtx(path, &display, options, detectors, &mut outcome),
        LogKind::IisW3c => read_w3c(opened.reader, &display, &whole, options, detectors, &mut outcome),
        LogKind::HttpProxy(_) | LogKind::EcpServer | LogKind::OabGenerator | LogKind::ExchangeCsv(_) => {
            read_csv(opened.reader, &display, kind.family(), &whole, options, detectors, &mut outcome)
        }
        LogKind::EntraSignIns => read_entra(opened.reader, &display, options, &mut outcome),
        LogKind::HeaderCsv | LogKind::Unknown => {
            outcome.bytes = size;
            if let Some(scanner) = scanner {
                // Everything that is not a log is examined as a possible webshell or IOC file.
                let examined = scanner.scan_file(path, &display);
                outcome.findings.extend(examined.findings);
                outcome.skipped = examined.skipped.is_some();
                if let Some(message) = examined.error {
                    outcome.errors.push(error(&display, message, None));
                }
            }
        }
    }
    outcome
}

/// Read a large text log as pieces in parallel and join what they found, in file order.
fn read_in_pieces(
    path: &Path,
    display: &str,
    kind: &LogKind,
    size: u64,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let pieces = match chunks::plan(path, size, size.div_ceil(chunks::PIECE)) {
        Ok(pieces) => pieces,
        Err(e) => {
            outcome.errors.push(error(display, format!("cannot read: {e}"), None));
            return;
        }
    };
    let parts: Vec<FileOutcome> = pieces
        .par_iter()
        .map(|piece| {
            let mut part = FileOutcome::default();
            match piece.reader(path) {
                Ok(reader) if *kind == LogKind::IisW3c => {
                    read_w3c(reader, display, &piece.start(), options, detectors, &mut part)
                }
                Ok(reader) => read_csv(reader, display, kind.family(), &piece.start(), options, detectors, &mut part),
                Err(e) => part.errors.push(error(
                    display,
                    format!("cannot read: {e}"),
                    Some(format!("byte {}", piece.offset)),
                )),
            }
            part
        })
        .collect();
    for part in parts {
        outcome.bytes += part.bytes;
        outcome.events += part.events;
        outcome.findings.extend(part.findings);
        outcome.errors.extend(part.errors);
        outcome.auth.extend(part.auth);
    }
}

fn check(record: &dyn Record, rules: &RuleSet, candidates: &[usize], path: &str, outcome: &mut FileOutcome) {
    for &index in candidates {
        let rule = rules.rule(index);
        if rule.matches(record) {
            outcome.findings.push(from_match(rule, record, path));
        }
    }
}

fn read_w3c(
    reader: Box<dyn std::io::BufRead + Send>,
    path: &str,
    start: &Start,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let family = "iis";
    let rules = detectors.rules;
    let mut sigma = SigmaPass::new(detectors.sigma, family);
    let mut lines = LineReader::starting_at(reader, start.first_line);
    let mut schema = match &start.fields {
        Some(fields) => W3cSchema::parse(&String::from_utf8_lossy(fields)),
        None => W3cSchema::parse(w3c::IIS_DEFAULT_FIELDS),
    };
    let mut candidates = Vec::new();
    let auth_prefilter = options.spray.prefilter();
    let mut ioc_hits = IocHits::default();
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                outcome.errors.push(error(
                    path,
                    format!("read error: {e}"),
                    Some(format!("byte {}", lines.bytes_read())),
                ));
                break;
            }
        };
        match w3c::line_kind(line.bytes) {
            W3cLine::Fields(fields) => schema = W3cSchema::parse(fields),
            W3cLine::Directive | W3cLine::Blank => {}
            W3cLine::Invalid(_) => outcome.errors.push(error(
                path,
                "directive line is not text".into(),
                Some(format!("line {}", line.number)),
            )),
            W3cLine::Data => {
                outcome.events += 1;
                rules.candidates(family, line.bytes, &mut candidates);
                // Successes only matter once a source has failed: skip them until then.
                let auth_relevant = auth_prefilter.is_match(line.bytes)
                    && (outcome.auth.has_failures() || crate::spray::may_be_failure(line.bytes));
                let sigma_relevant = sigma.may_match(family, line.bytes);
                let ioc_relevant = detectors.log_iocs.is_some_and(|iocs| iocs.may_match(line.bytes));
                if candidates.is_empty() && !auth_relevant && !sigma_relevant && !ioc_relevant {
                    continue;
                }
                let record = W3cRecord::new(&schema, line.bytes, line.number);
                if !in_range(options, record.time()) {
                    continue;
                }
                check(&record, rules, &candidates, path, outcome);
                if sigma_relevant {
                    sigma.check(SigmaRecord::Line(&record), &record, path, &mut outcome.findings);
                }
                if auth_relevant && let Some(event) = auth_event_from_iis(&record, path, &options.spray) {
                    outcome.auth.push(event);
                }
                if ioc_relevant && let Some(iocs) = detectors.log_iocs {
                    for (ioc, seen) in iocs.matches(&record) {
                        ioc_hits.record(ioc, &seen, &record, path);
                    }
                }
            }
        }
    }
    outcome.findings.extend(ioc_hits.into_findings());
    outcome.bytes = lines.bytes_read();
    if let Some(cut) = lines.cut_lines() {
        outcome.errors.push(error(path, cut.message(), Some(format!("line {}", cut.first_line))));
    }
}

fn read_csv(
    reader: Box<dyn std::io::BufRead + Send>,
    path: &str,
    family: &str,
    start: &Start,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let rules = detectors.rules;
    let mut sigma = SigmaPass::new(detectors.sigma, family);
    let mut lines = LineReader::starting_at(reader, start.first_line);
    let mut schema = start.fields.as_deref().map(CsvSchema::parse).unwrap_or_default();
    let mut candidates = Vec::new();
    let mut ioc_hits = IocHits::default();
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                outcome.errors.push(error(
                    path,
                    format!("read error: {e}"),
                    Some(format!("byte {}", lines.bytes_read())),
                ));
                break;
            }
        };
        let bytes = line.bytes;
        if let Some(fields) = bytes.strip_prefix(b"#Fields:") {
            schema = CsvSchema::parse(fields);
            continue;
        }
        if bytes.first() == Some(&b'#') || bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if schema.is_empty() && bytes.contains(&b',') && (bytes.starts_with(b"\"") || family == "httpproxy") {
            // A header row (Export-Csv style) instead of #Fields.
            schema = CsvSchema::parse(bytes);
            continue;
        }
        outcome.events += 1;
        rules.candidates(family, bytes, &mut candidates);
        let sigma_relevant = sigma.may_match(family, bytes);
        let ioc_relevant = detectors.log_iocs.is_some_and(|iocs| iocs.may_match(bytes));
        if candidates.is_empty() && !sigma_relevant && !ioc_relevant {
            continue;
        }
        let record = CsvRecord::new(&schema, bytes, line.number);
        if !in_range(options, record.time()) {
            continue;
        }
        check(&record, rules, &candidates, path, outcome);
        if sigma_relevant {
            sigma.check(SigmaRecord::Line(&record), &record, path, &mut outcome.findings);
        }
        if ioc_relevant && let Some(iocs) = detectors.log_iocs {
            for (ioc, seen) in iocs.matches(&record) {
                ioc_hits.record(ioc, &seen, &record, path);
            }
        }
    }
    outcome.findings.extend(ioc_hits.into_findings());
    outcome.bytes = lines.bytes_read();
    if let Some(cut) = lines.cut_lines() {
        outcome.errors.push(error(path, cut.message(), Some(format!("line {}", cut.first_line))));
    }
}

fn read_evtx(path: &Path, display: &str, options: &HuntOptions, detectors: &Detectors<'_>, outcome: &mut FileOutcome) {
    let rules = detectors.rules;
    let mut sigma = SigmaPass::new(detectors.sigma, "evtx");
    let mut candidates = Vec::new();
    let mut found = Vec::new();
    let mut auth = AuthLog::default();
    let mut errors = Vec::new();
    let mut events = 0u64;
    let read = read_path(
        path,
        options.max_evtx_bytes,
        |event: EvtxEvent| {
            events += 1;
            if !in_range(options, event.time) {
                return;
            }
            let raw = event.raw();
            rules.candidates("evtx", &raw, &mut candidates);
            for &index in &candidates {
                let rule = rules.rule(index);
                if rule.matches(&event) {
                    found.push(from_match(rule, &event, display));
                }
            }
            sigma.check(SigmaRecord::Evtx(&event), &event, display, &mut found);
            if let Some(a) = auth_event_from_evtx(&event, display) {
                auth.push(a);
            }
        },
        |message| errors.push(error(display, format!("EVTX: {message}"), None)),
    );
    match read {
        Ok(bytes) => outcome.bytes = bytes,
        Err(e) => errors.push(error(display, format!("EVTX not read: {e}"), None)),
    }
    outcome.events = events;
    outcome.findings.extend(found);
    outcome.auth.extend(auth);
    outcome.errors.extend(errors);
}

/// Entra sign-in exports (portal exports cap at 100,000 rows), streamed up to 512 MiB.
fn read_entra(reader: Box<dyn std::io::BufRead + Send>, path: &str, options: &HuntOptions, outcome: &mut FileOutcome) {
    let auth = &mut outcome.auth;
    let summary = seawall_sources::entra::read_export(reader, 512 << 20, |sign_in| {
        if in_range(options, Some(sign_in.time)) {
            auth.push(AuthEvent {
                time: sign_in.time,
                source_ip: sign_in.ip,
                account: sign_in.user,
                success: sign_in.success,
                user_agent: sign_in.user_agent,
                path: path.to_owned(),
                position: format!("line {}", sign_in.position),
            });
        }
    });
    outcome.bytes = summary.bytes;
    outcome.events = summary.sign_ins;
    outcome.errors.extend(summary.errors.into_iter().map(|e| error(path, e.message, Some(e.position))));
    if summary.errors_not_listed > 0 {
        let message = format!("{} more unreadable rows, not listed one by one", summary.errors_not_listed);
        outcome.errors.push(error(path, message, None));
    }
}
