//! Evidence as responders collect it: files below a collection folder and entries of
//! collection archives (zip, tar, tar.gz; nested ones one level deep) become work items
//! shown at their original Windows paths. Zip entries are items of their own, so every
//! worker reads a collection zip at once; tar streams are read in order by one worker.
//! Nothing is unpacked to disk; every cap that bites is an error record.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use seawall_model::{ErrorRecord, Evidence};
use seawall_sources::archive::{
    self, ArchiveError, ArchiveKind, ArchiveLimits, Bounded, Budget, Ratio, ZipEntry, ZipReader,
};
use seawall_sources::collection;

use crate::HuntOptions;
use crate::dispatch::{self, Detectors, FileOutcome, LazyScanner, Worker};

/// One unit of work: a file on disk, or one entry of a zip archive on disk.
#[derive(Debug)]
pub(crate) enum Item {
    File { path: PathBuf, display: String },
    ZipEntry { archive: Arc<ZipSource>, entry: ZipEntry },
}

/// A zip archive whose entries are items: where it is, how it is shown, its shared budget.
#[derive(Debug)]
pub(crate) struct ZipSource {
    pub(crate) path: PathBuf,
    pub(crate) display: String,
    pub(crate) budget: Budget,
}

impl Item {
    /// Bytes of a file on disk (0 when unknown, and for archive entries: they are read in
    /// archive order, one open archive per worker).
    pub(crate) fn size_on_disk(&self) -> u64 {
        match self {
            Item::File { path, .. } => std::fs::metadata(path).map_or(0, |m| m.len()),
            Item::ZipEntry { .. } => 0,
        }
    }

    pub(crate) fn display(&self) -> &str {
        match self {
            Item::File { display, .. } => display,
            Item::ZipEntry { entry, .. } => &entry.info.display,
        }
    }
}

/// How a file below one of the hunted `roots` is shown: its original Windows path when the
/// root is a Velociraptor or KAPE collection folder, else the path as given.
pub(crate) fn display_of(path: &Path, roots: &[PathBuf]) -> String {
    for root in roots {
        if let Ok(relative) = path.strip_prefix(root)
            && !relative.as_os_str().is_empty()
            && let Some((original, _)) = collection::original_path(&relative.to_string_lossy())
        {
            return original;
        }
    }
    path.display().to_string()
}

/// The work items of a walk: files as they are, zip archives (by name and magic) as their
/// entries. Archives that cannot be listed become error records and are not read further.
pub(crate) fn plan(files: Vec<PathBuf>, roots: &[PathBuf], limits: &ArchiveLimits) -> Plan {
    let mut items = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    let mut zips = Vec::new();
    for path in files {
        let display = display_of(&path, roots);
        if !is_zip(&path) {
            items.push(Item::File { path, display });
            continue;
        }
        let mut zip = match ZipReader::open(&path) {
            Ok(zip) => zip,
            Err(e) => {
                errors.push(error(&display, e.to_string(), None));
                continue;
            }
        };
        let (entries, left_out) = zip.entries(limits);
        for (e, count) in left_out {
            errors.push(error(&display, format!("{e} ({count} entries not read)"), None));
        }
        let source = Arc::new(ZipSource { path, display, budget: Budget::default() });
        items.extend(entries.into_iter().map(|entry| Item::ZipEntry { archive: Arc::clone(&source), entry }));
        zips.push(source);
    }
    Plan { items, errors, zips }
}

/// The work of a hunt, and the zip archives read through it (their budgets count what they expanded to).
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) items: Vec<Item>,
    pub(crate) errors: Vec<ErrorRecord>,
    pub(crate) zips: Vec<Arc<ZipSource>>,
}

/// A zip by its name and first bytes (a zip without the extension is still read, in order).
fn is_zip(path: &Path) -> bool {
    let named = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let mut magic = [0u8; 4];
    named && File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"PK\x03\x04"
}

fn error(source: &str, message: String, position: Option<String>) -> ErrorRecord {
    ErrorRecord { source: source.to_owned(), message, position }
}

/// Read one zip entry with this worker's handle on its archive (opened once per worker).
pub(crate) fn read_zip_entry(
    archive: &Arc<ZipSource>,
    entry: &ZipEntry,
    worker: &mut Worker<'_>,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
) -> Vec<FileOutcome> {
    let cached = worker.zip.as_ref().is_some_and(|(path, _)| *path == archive.path);
    if !cached {
        match ZipReader::open(&archive.path) {
            Ok(zip) => worker.zip = Some((archive.path.clone(), zip)),
            Err(e) => return vec![failed(&entry.info.display, &archive.display, e)],
        }
    }
    let Some((_, zip)) = worker.zip.as_mut() else { return Vec::new() };
    let reader = match zip.open_entry(entry.index) {
        Ok(reader) => reader,
        Err(e) => return vec![failed(&entry.info.display, &archive.display, e)],
    };
    let limits = ArchiveLimits::default();
    let bounded = Bounded::new(reader, &archive.budget, limits, Ratio::Entry(entry.stored));
    let mut reader = BufReader::with_capacity(256 * 1024, bounded);
    let info = &entry.info;
    read_entry(&info.display, &archive.display, info.size, &mut reader, 0, &mut worker.scanner, options, detectors)
}

/// A tar or tar.gz file (or a zip met without its extension), its entries read in order.
pub(crate) fn read_archive_file(
    path: &Path,
    display: &str,
    kind: ArchiveKind,
    worker: &mut Worker<'_>,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
) -> Vec<FileOutcome> {
    let budget = Budget::default();
    match kind {
        ArchiveKind::Zip => match ZipReader::open(path) {
            Ok(mut zip) => read_zip_in_order(&mut zip, display, &budget, 0, &mut worker.scanner, options, detectors),
            Err(e) => vec![failed(display, display, e)],
        },
        ArchiveKind::Tar | ArchiveKind::TarGz => match archive::open_tar(path, kind) {
            Ok((stream, stored)) => {
                let ratio = if kind == ArchiveKind::TarGz { Ratio::Archive(stored) } else { Ratio::Unknown };
                read_tar(stream, display, &budget, ratio, 0, &mut worker.scanner, options, detectors)
            }
            Err(e) => vec![failed(display, display, e)],
        },
    }
    .into_iter()
    .chain(std::iter::once(archive_outcome(display, &budget)))
    .collect()
}

/// The archive's own line in the stats: how many entries it had and what they expanded to.
fn archive_outcome(display: &str, budget: &Budget) -> FileOutcome {
    FileOutcome {
        kind: "archive".into(),
        source: display.to_owned(),
        archive_entries: budget.entries(),
        archive_bytes: budget.bytes(),
        ..FileOutcome::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn read_zip_in_order<R: Read + std::io::Seek>(
    zip: &mut ZipReader<R>,
    container: &str,
    budget: &Budget,
    depth: u8,
    scanner: &mut LazyScanner<'_>,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
) -> Vec<FileOutcome> {
    let limits = ArchiveLimits::default();
    let (entries, left_out) = zip.entries(&limits);
    let mut outcomes = Vec::new();
    for (e, count) in left_out {
        outcomes.push(failed(container, container, format!("{e} ({count} entries not read)")));
    }
    for entry in entries {
        let reader = match zip.open_entry(entry.index) {
            Ok(reader) => reader,
            Err(e) => {
                outcomes.push(failed(&entry.info.display, container, e));
                continue;
            }
        };
        let bounded = Bounded::new(reader, budget, limits, Ratio::Entry(entry.stored));
        let mut reader = BufReader::with_capacity(256 * 1024, bounded);
        let info = &entry.info;
        outcomes.extend(read_entry(
            &info.display,
            container,
            info.size,
            &mut reader,
            depth,
            scanner,
            options,
            detectors,
        ));
    }
    outcomes
}

#[allow(clippy::too_many_arguments)]
fn read_tar(
    stream: impl Read,
    container: &str,
    budget: &Budget,
    ratio: Ratio,
    depth: u8,
    scanner: &mut LazyScanner<'_>,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
) -> Vec<FileOutcome> {
    let limits = ArchiveLimits::default();
    let mut outcomes = Vec::new();
    let visited = archive::visit_tar(stream, &limits, budget, ratio, |info, reader| {
        outcomes.extend(read_entry(&info.display, container, info.size, reader, depth, scanner, options, detectors));
    });
    match visited {
        Ok(skips) => {
            if skips.over_entry_cap > 0 {
                let message = format!(
                    "{} ({} entries not read)",
                    ArchiveError::TooManyEntries(limits.max_entries),
                    skips.over_entry_cap
                );
                outcomes.push(failed(container, container, message));
            }
            if skips.not_regular > 0 {
                let message = format!("{} links or special entries not read", skips.not_regular);
                outcomes.push(failed(container, container, message));
            }
        }
        Err(e) => outcomes.push(failed(container, container, e)),
    }
    outcomes
}

/// One file inside an archive: a nested archive is opened (one level deep), anything else is
/// read like a file on disk; findings name the collection they came from.
#[allow(clippy::too_many_arguments)]
fn read_entry(
    display: &str,
    container: &str,
    size: Option<u64>,
    reader: &mut dyn BufRead,
    depth: u8,
    scanner: &mut LazyScanner<'_>,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
) -> Vec<FileOutcome> {
    let head = match reader.fill_buf() {
        Ok(head) => head.to_vec(),
        Err(e) => return vec![failed(display, container, archive::unwrap_limit(e))],
    };
    if let Some(kind) = archive::sniff(&head, false).or_else(|| gzip_tar(&head)) {
        return read_nested(display, kind, size, reader, depth, options, detectors, scanner);
    }
    let mut outcome = dispatch::read_stream(display, size, reader, options, detectors, scanner.get());
    outcome.container = Some(container.to_owned());
    vec![outcome]
}

/// A gzip stream that may hold a tar (decided once it is opened).
fn gzip_tar(head: &[u8]) -> Option<ArchiveKind> {
    head.starts_with(&[0x1f, 0x8b]).then_some(ArchiveKind::TarGz)
}

#[allow(clippy::too_many_arguments)]
fn read_nested(
    display: &str,
    kind: ArchiveKind,
    size: Option<u64>,
    reader: &mut dyn BufRead,
    depth: u8,
    options: &HuntOptions,
    detectors: &Detectors<'_>,
    scanner: &mut LazyScanner<'_>,
) -> Vec<FileOutcome> {
    let limits = ArchiveLimits::default();
    let budget = Budget::default();
    match kind {
        // A gzip'd log inside a collection is a log, not an archive: look inside first.
        ArchiveKind::TarGz => {
            let mut inner = BufReader::with_capacity(256 * 1024, flate2::read::MultiGzDecoder::new(reader));
            let head = inner.fill_buf().map(<[u8]>::to_vec).unwrap_or_default();
            if archive::sniff(&head, true).is_none() {
                let mut outcome = dispatch::read_stream(display, None, &mut inner, options, detectors, scanner.get());
                outcome.container = Some(display.to_owned());
                return vec![outcome];
            }
            if depth > 0 {
                return vec![failed(display, display, ArchiveError::TooDeep)];
            }
            read_tar(inner, display, &budget, Ratio::Unknown, depth + 1, scanner, options, detectors)
        }
        _ if depth > 0 => vec![failed(display, display, ArchiveError::TooDeep)],
        ArchiveKind::Tar => read_tar(reader, display, &budget, Ratio::Unknown, depth + 1, scanner, options, detectors),
        ArchiveKind::Zip => match archive::read_nested(reader, size, &limits)
            .and_then(|bytes| ZipReader::from_reader(Cursor::new(bytes)))
        {
            Ok(mut zip) => read_zip_in_order(&mut zip, display, &budget, depth + 1, scanner, options, detectors),
            Err(e) => vec![failed(display, display, e)],
        },
    }
}

/// An outcome that only carries an error about `display` (an entry or the archive).
fn failed(display: &str, container: &str, e: impl ToString) -> FileOutcome {
    let mut outcome = FileOutcome { kind: "unreadable".into(), source: display.to_owned(), ..FileOutcome::default() };
    outcome.container = Some(container.to_owned());
    outcome.errors.push(error(display, e.to_string(), None));
    outcome
}

/// The evidence item that names the collection a finding was read from.
pub(crate) fn collection_evidence(container: &str) -> Evidence {
    Evidence::text("collection", container)
}
