//! One evidence file: open, classify, read with the right reader, match.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use seawall_model::ErrorRecord;
use seawall_sources::archive::{self, ZipReader};
use seawall_sources::csvlog::{CsvRecord, CsvSchema};
use seawall_sources::evtx::{EvtxEvent, read_stream as read_evtx_stream};
use seawall_sources::lines::LineReader;
use seawall_sources::w3c::{self, W3cLine, W3cRecord, W3cSchema};
use seawall_sources::{LogKind, classify, open};
use seawall_webshell::{FileScanner, WebshellScanner};

use crate::HuntOptions;
use crate::chunks::{self, Start};
use crate::collected::{self, Item};
use crate::detector::{Detector, Found};
use crate::gate::LineBatch;
use crate::record_loop::{LoopEnd, MAX_ERRORS_PER_FILE, RecordLoop};
use crate::stages::{Clock, Stage};

/// What reading one file gave.
#[derive(Debug, Default)]
pub(crate) struct FileOutcome {
    /// The file as shown: its path, or its original Windows path inside a collection.
    pub(crate) source: String,
    /// The collection archive it was read from.
    pub(crate) container: Option<String>,
    /// For an archive: its entries and the bytes they expanded to.
    pub(crate) archive_entries: u64,
    pub(crate) archive_bytes: u64,
    pub(crate) kind: String,
    pub(crate) bytes: u64,
    pub(crate) events: u64,
    /// Findings (folded) and authentication attempts of the file.
    pub(crate) found: Found,
    /// At most [`MAX_ERRORS_PER_FILE`]; the rest are counted.
    pub(crate) errors: Vec<ErrorRecord>,
    pub(crate) errors_not_listed: u64,
    /// Not examined for webshells: over the size cap.
    pub(crate) skipped: bool,
    /// Examined, but the webshell scanner's normalising stage or data-flow analysis stopped at
    /// one of its bounds (the original bytes were still scanned in full).
    pub(crate) normalisation_limited: bool,
    /// Time per stage (`--stage-times`).
    pub(crate) times: crate::stages::StageTimes,
}

impl FileOutcome {
    fn absorb(&mut self, end: LoopEnd) {
        self.events += end.events;
        self.times.absorb(&end.times);
        self.found.extend(end.found);
        self.errors_not_listed += end.errors_not_listed;
        self.add_errors(end.errors);
    }

    fn add_errors(&mut self, errors: Vec<ErrorRecord>) {
        let room = MAX_ERRORS_PER_FILE.saturating_sub(self.errors.len());
        self.errors_not_listed += errors.len().saturating_sub(room) as u64;
        self.errors.extend(errors.into_iter().take(room));
    }
}

/// What examines evidence: the record detectors (built once per run) and the file scanner.
#[derive(Clone, Copy)]
pub(crate) struct Detectors<'a> {
    pub(crate) records: &'a [&'a dyn Detector],
    /// The union of the gated record detectors' literals.
    pub(crate) gate: &'a crate::gate::LineGate,
    pub(crate) files: Option<&'a WebshellScanner>,
}

/// What one worker thread keeps between items: its YARA scanning context (reusing it is what
/// makes content scanning fast) and its handle on the zip archive it last read from.
pub(crate) struct Worker<'s> {
    pub(crate) scanner: LazyScanner<'s>,
    pub(crate) zip: Option<(PathBuf, ZipReader)>,
}

/// A worker's file scanner, built when its first file needs one (building one costs about
/// a millisecond: not something to do per file).
pub(crate) struct LazyScanner<'s> {
    owner: Option<&'s WebshellScanner>,
    built: Option<FileScanner<'s>>,
}

impl<'s> LazyScanner<'s> {
    pub(crate) fn new(owner: Option<&'s WebshellScanner>) -> Self {
        LazyScanner { owner, built: None }
    }

    /// The scanner, `None` when files are not scanned (`--no-file-scan`).
    pub(crate) fn get(&mut self) -> Option<&mut FileScanner<'s>> {
        let owner = self.owner?;
        Some(self.built.get_or_insert_with(|| owner.file_scanner()))
    }
}

/// Every item read on the pool, outcomes in item order (an archive gives one per entry).
pub(crate) fn read_all(items: &[Item], options: &HuntOptions, detectors: &Detectors<'_>) -> Vec<FileOutcome> {
    let sizes: Vec<u64> = items.iter().map(Item::size_on_disk).collect();
    let read = |index: usize, worker: &mut Worker<'_>| {
        let item = &items[index];
        let outcomes = crate::guard::read_guarded(item.display(), || match item {
            Item::File { path, display } => read_file(path, display, worker, options, detectors),
            Item::ZipEntry { archive, entry } => collected::read_zip_entry(archive, entry, worker, options, detectors),
        });
        (index, outcomes)
    };
    let new_worker = || Worker { scanner: LazyScanner::new(detectors.files), zip: None };
    // Largest first, so no big file is left to one core at the end (a stable sort: archive
    // entries, of no size here, stay in archive order).
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(sizes[index]));
    let (big, small) = order.split_at(order.partition_point(|&index| sizes[index] >= 2 * chunks::PIECE));
    // Big files one task each: a log is read in pieces that idle workers take up.
    let mut outcomes: Vec<(usize, Vec<FileOutcome>)> =
        big.par_iter().with_max_len(1).map_init(new_worker, |worker, &index| read(index, worker)).collect();
    // The rest from a shared counter by every worker of the pool, each with its own scanner:
    // split up front (as rayon's iterators split), one worker was left scanning a long run of
    // small files alone at the end.
    let next = AtomicUsize::new(0);
    let per_worker: Vec<Vec<(usize, Vec<FileOutcome>)>> = rayon::broadcast(|_| {
        let mut worker = new_worker();
        let mut done = Vec::new();
        while let Some(&index) = small.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push(read(index, &mut worker));
        }
        done
    });
    outcomes.extend(per_worker.into_iter().flatten());
    // Back to walk order: the order of work changes nothing else.
    outcomes.sort_unstable_by_key(|(index, _)| *index);
    outcomes.into_iter().flat_map(|(_, outcomes)| outcomes).collect()
}

fn error(path: &str, message: String, position: Option<String>) -> ErrorRecord {
    ErrorRecord { source: path.to_owned(), message, position }
}

pub(crate) fn read_file(
    path: &Path,
    display: &str,
    worker: &mut Worker<'_>,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
) -> Vec<FileOutcome> {
    let mut outcome = FileOutcome { source: display.to_owned(), ..FileOutcome::default() };
    let opened = match open::open(path) {
        Ok(opened) => opened,
        Err(e) => {
            outcome.kind = "unreadable".into();
            outcome.errors.push(error(display, format!("cannot open: {e}"), None));
            return vec![outcome];
        }
    };
    if let Some(kind) = archive::sniff(&opened.head, opened.gzip) {
        drop(opened);
        return collected::read_archive_file(path, display, kind, worker, options, detectors);
    }
    if let Some(files) = detectors.files {
        for finding in files.check_location(display) {
            outcome.found.push(finding, None);
        }
    }
    let kind = classify(display, &opened.head);
    outcome.kind = kind.name();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    // Big plain-text logs with directives are read in pieces on every core. The pieces
    // are the same whatever the number of threads (what a detector keeps from the start
    // of a piece depends on where pieces begin), so the output is too.
    let has_directives = opened.head.starts_with(b"#") || opened.head.windows(8).any(|w| w == b"#Fields:");
    if is_text_log(&kind) && !opened.gzip && has_directives && size >= 2 * chunks::PIECE {
        drop(opened);
        read_in_pieces(path, display, &kind, size, options, detectors, &mut outcome);
        return vec![outcome];
    }
    if matches!(kind, LogKind::HeaderCsv | LogKind::Unknown) {
        outcome.bytes = size;
        if let Some(scanner) = worker.scanner.get() {
            // Everything that is not a log is examined as a possible webshell or IOC file.
            let clock = Clock::start(options.stage_times);
            let examined = scanner.scan_file(path, display);
            outcome.times.add(Stage::FileScan, clock.elapsed());
            add_examined(&mut outcome, examined, display);
        }
        return vec![outcome];
    }
    let mut reader = opened.reader;
    read_log(&kind, display, &mut reader, options, detectors, &mut outcome);
    vec![outcome]
}

fn is_text_log(kind: &LogKind) -> bool {
    matches!(
        kind,
        LogKind::IisW3c | LogKind::HttpProxy(_) | LogKind::EcpServer | LogKind::OabGenerator | LogKind::ExchangeCsv(_)
    )
}

/// A log of `kind` read from the start with its reader.
fn read_log(
    kind: &LogKind,
    display: &str,
    reader: &mut dyn BufRead,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let whole = Start { first_line: 1, fields: None };
    match kind {
        LogKind::Evtx => read_evtx(reader, display, options, detectors, outcome),
        LogKind::IisW3c => read_w3c(reader, display, &whole, options, detectors, outcome),
        LogKind::HttpProxy(_) | LogKind::EcpServer | LogKind::OabGenerator | LogKind::ExchangeCsv(_) => {
            read_csv(reader, display, kind.family(), &whole, options, detectors, outcome)
        }
        LogKind::EntraSignIns => read_entra(reader, display, options, detectors, outcome),
        LogKind::HeaderCsv | LogKind::Unknown => {}
    }
}

fn add_examined(outcome: &mut FileOutcome, examined: seawall_webshell::FileOutcome, display: &str) {
    // Findings about the helpers a page runs are located at them; they are reported with
    // the page's, which showed them.
    for finding in examined.findings.into_iter().chain(examined.companion_findings) {
        outcome.found.push(finding, None);
    }
    outcome.skipped = examined.skipped.is_some();
    outcome.normalisation_limited = !examined.normalisation_limits.is_empty();
    if let Some(message) = examined.error {
        outcome.errors.push(error(display, message, None));
    }
}

/// A file that is not on disk (an entry of a collection archive): classified and read like a
/// file, a gzip'd copy read through; pages are read into memory up to the file scanner's cap.
pub(crate) fn read_stream(
    display: &str,
    size: Option<u64>,
    reader: &mut dyn BufRead,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    scanner: Option<&mut FileScanner<'_>>,
) -> FileOutcome {
    let mut outcome = FileOutcome { source: display.to_owned(), ..FileOutcome::default() };
    if let Some(files) = detectors.files {
        for finding in files.check_location(display) {
            outcome.found.push(finding, None);
        }
    }
    let gzip = reader.fill_buf().is_ok_and(|head| head.starts_with(&[0x1f, 0x8b]));
    let mut gunzipped;
    let reader: &mut dyn BufRead = if gzip {
        gunzipped = BufReader::with_capacity(256 * 1024, flate2::read::MultiGzDecoder::new(reader));
        &mut gunzipped
    } else {
        reader
    };
    let head = match reader.fill_buf() {
        Ok(head) => head[..head.len().min(open::HEAD_LEN)].to_vec(),
        Err(e) => {
            outcome.kind = "unreadable".into();
            outcome.errors.push(error(display, format!("cannot read: {}", archive::unwrap_limit(e)), None));
            return outcome;
        }
    };
    let kind = classify(display, &head);
    outcome.kind = kind.name();
    if !matches!(kind, LogKind::HeaderCsv | LogKind::Unknown) {
        read_log(&kind, display, reader, options, detectors, &mut outcome);
        return outcome;
    }
    let Some(scanner) = scanner else {
        outcome.bytes = size.unwrap_or(0);
        return outcome;
    };
    let cap = detectors.files.map_or(0, WebshellScanner::max_file_size);
    if size.is_some_and(|size| size > cap) {
        outcome.skipped = true;
        outcome.bytes = size.unwrap_or(0);
        return outcome;
    }
    let mut data = Vec::new();
    match reader.take(cap.saturating_add(1)).read_to_end(&mut data) {
        Ok(_) if data.len() as u64 > cap => {
            outcome.skipped = true;
            outcome.bytes = data.len() as u64;
        }
        Ok(_) => {
            let clock = Clock::start(options.stage_times);
            let examined = scanner.scan_data(&data, display);
            outcome.times.add(Stage::FileScan, clock.elapsed());
            add_examined(&mut outcome, examined, display);
            outcome.bytes = data.len() as u64;
        }
        Err(e) => outcome.errors.push(error(display, format!("cannot read: {}", archive::unwrap_limit(e)), None)),
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
        outcome.times.absorb(&part.times);
        outcome.found.extend(part.found);
        outcome.errors_not_listed += part.errors_not_listed;
        outcome.add_errors(part.errors);
    }
}

fn read_w3c(
    reader: impl BufRead,
    path: &str,
    start: &Start,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let mut records = RecordLoop::new(detectors, "iis", path, options);
    let mut lines = LineReader::starting_at(reader, start.first_line);
    let mut schema = match &start.fields {
        Some(fields) => W3cSchema::parse(&String::from_utf8_lossy(fields)),
        None => W3cSchema::parse(w3c::IIS_DEFAULT_FIELDS),
    };
    records.columns(schema.names());
    // Data lines are judged in batches; anything that changes how a line is read, or adds an
    // error, first judges the lines before it so the order stays the file's.
    let mut batch = LineBatch::default();
    let judge = |records: &mut RecordLoop<'_>, batch: &mut LineBatch, schema: &W3cSchema| {
        records.lines(batch, |raw, number| W3cRecord::new(schema, raw, number));
        batch.clear();
    };
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                judge(&mut records, &mut batch, &schema);
                records.error(format!("read error: {e}"), Some(format!("byte {}", lines.bytes_read())));
                break;
            }
        };
        match w3c::line_kind(line.bytes) {
            W3cLine::Fields(fields) => {
                judge(&mut records, &mut batch, &schema);
                schema = W3cSchema::parse(fields);
                records.columns(schema.names());
            }
            W3cLine::Directive | W3cLine::Blank => {}
            W3cLine::Invalid(_) => {
                judge(&mut records, &mut batch, &schema);
                records.error("directive line is not text".into(), Some(format!("line {}", line.number)))
            }
            W3cLine::Data => {
                batch.push(line.bytes, line.number);
                if batch.is_full() {
                    judge(&mut records, &mut batch, &schema);
                }
            }
        }
    }
    judge(&mut records, &mut batch, &schema);
    outcome.absorb(records.finish());
    outcome.bytes = lines.bytes_read();
    if let Some(cut) = lines.cut_lines() {
        outcome.errors.push(error(path, cut.message(), Some(format!("line {}", cut.first_line))));
    }
}

fn read_csv(
    reader: impl BufRead,
    path: &str,
    family: &str,
    start: &Start,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let mut records = RecordLoop::new(detectors, family, path, options);
    let mut lines = LineReader::starting_at(reader, start.first_line);
    let mut schema = start.fields.as_deref().map(CsvSchema::parse).unwrap_or_default();
    // Batched as in `read_w3c`.
    let mut batch = LineBatch::default();
    let judge = |records: &mut RecordLoop<'_>, batch: &mut LineBatch, schema: &CsvSchema| {
        records.lines(batch, |raw, number| CsvRecord::new(schema, raw, number));
        batch.clear();
    };
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                judge(&mut records, &mut batch, &schema);
                records.error(format!("read error: {e}"), Some(format!("byte {}", lines.bytes_read())));
                break;
            }
        };
        let bytes = line.bytes;
        if let Some(fields) = bytes.strip_prefix(b"#Fields:") {
            judge(&mut records, &mut batch, &schema);
            schema = CsvSchema::parse(fields);
            continue;
        }
        if bytes.first() == Some(&b'#') || bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if schema.is_empty() && bytes.contains(&b',') && (bytes.starts_with(b"\"") || family == "httpproxy") {
            // A header row (Export-Csv style) instead of #Fields.
            judge(&mut records, &mut batch, &schema);
            schema = CsvSchema::parse(bytes);
            continue;
        }
        batch.push(bytes, line.number);
        if batch.is_full() {
            judge(&mut records, &mut batch, &schema);
        }
    }
    judge(&mut records, &mut batch, &schema);
    outcome.absorb(records.finish());
    outcome.bytes = lines.bytes_read();
    if let Some(cut) = lines.cut_lines() {
        outcome.errors.push(error(path, cut.message(), Some(format!("line {}", cut.first_line))));
    }
}

fn read_evtx(
    reader: impl Read,
    display: &str,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let records = std::cell::RefCell::new(RecordLoop::new(detectors, "evtx", display, options));
    outcome.bytes = read_evtx_stream(
        reader,
        options.max_evtx_bytes,
        |event: EvtxEvent| records.borrow_mut().evtx(&event),
        |message| records.borrow_mut().error(format!("EVTX: {message}"), None),
    );
    outcome.absorb(records.into_inner().finish());
}

/// Entra sign-in exports (portal exports cap at 100,000 rows), streamed up to 512 MiB.
fn read_entra(
    reader: impl BufRead,
    path: &str,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    outcome: &mut FileOutcome,
) {
    let mut records = RecordLoop::new(detectors, "entra", path, options);
    let summary = seawall_sources::entra::read_export(reader, 512 << 20, |sign_in| records.sign_in(&sign_in));
    outcome.bytes = summary.bytes;
    for e in summary.errors {
        records.error(e.message, Some(e.position));
    }
    if summary.errors_not_listed > 0 {
        let message = format!("{} more unreadable rows, not listed one by one", summary.errors_not_listed);
        records.error(message, None);
    }
    outcome.absorb(records.finish());
}
