//! Evidence inside collection archives (zip, tar, tar.gz), read as streams without
//! writing anything to disk, bounded against bombs: entry count, total expanded size
//! and expansion ratio are capped and every cap that bites is reported.
//!
//! Zip entries can be opened one by one in any order (the central directory is at the
//! end), so callers may spread them over workers; tar streams are visited in order.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use crate::collection;

/// The archive formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
}

/// Bounds on what one archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Entries read from one archive (directories not counted); the rest are counted as skipped.
    pub max_entries: u64,
    /// Expanded bytes read from one archive, nested archives included.
    pub max_total_bytes: u64,
    /// Expanded size over stored size above which an entry is a bomb (checked on the real
    /// stream, not on the sizes the headers claim).
    pub max_ratio: u64,
    /// A nested zip needs seeking, so it is held in memory up to this size.
    pub max_nested_in_memory: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entries: 200_000,
            max_total_bytes: 64 << 30,
            // Deflate tops out near 1032:1; real logs compress 10-60:1, very repetitive ones ~150:1.
            max_ratio: 400,
            max_nested_in_memory: 256 << 20,
        }
    }
}

/// Why an archive, or an entry of it, was not (fully) read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read archive: {0}")]
    Io(#[from] io::Error),
    #[error("not a readable zip archive: {0}")]
    Zip(String),
    #[error("entry is encrypted; seawall reads no passwords")]
    Encrypted,
    #[error("more than {0} entries; the rest were not read")]
    TooManyEntries(u64),
    #[error("archive expands past {0} bytes; the rest was not read")]
    TotalTooLarge(u64),
    #[error("entry expands more than {0}:1 (a decompression bomb); not read further")]
    Ratio(u64),
    #[error("nested archive of {size} bytes is larger than the {limit}-byte in-memory limit; not read")]
    NestedTooLarge { size: u64, limit: u64 },
    #[error("archive nested more than one level deep; not read")]
    TooDeep,
    #[error("entries whose headers cannot be read; not read")]
    UnreadableEntries,
}

/// One file stored in an archive.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// The name as stored (with the archive's own escapes).
    pub name: String,
    /// What to show and match on: the original Windows path when the archive is a
    /// Velociraptor or KAPE collection, else the stored name.
    pub display: String,
    /// Expanded size when the archive says so (it may lie; reads are bounded regardless).
    pub size: Option<u64>,
}

impl EntryInfo {
    fn new(name: String, size: Option<u64>) -> EntryInfo {
        let display = collection::original_path(&name).map(|(p, _)| p).unwrap_or_else(|| name.clone());
        EntryInfo { name, display, size }
    }
}

/// The archive format from the first bytes of a file (decompressed for gzip).
pub fn sniff(head: &[u8], gzip: bool) -> Option<ArchiveKind> {
    if !gzip && (head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")) {
        return Some(ArchiveKind::Zip);
    }
    // POSIX ustar and GNU tar both put "ustar" at offset 257 of the first header.
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some(if gzip { ArchiveKind::TarGz } else { ArchiveKind::Tar });
    }
    None
}

/// Running totals shared by every entry of one archive (and its nested ones), whichever
/// worker reads them.
#[derive(Debug, Default)]
pub struct Budget {
    pub entries: AtomicU64,
    pub bytes: AtomicU64,
}

impl Budget {
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }
}

/// Reads an entry's bytes and stops with an error once the archive's total or the
/// entry's ratio goes past its limit: the check runs on what is really expanded.
#[derive(Debug)]
pub struct Bounded<'b, R> {
    inner: R,
    budget: &'b Budget,
    limits: ArchiveLimits,
    ratio: Ratio,
    read: u64,
}

/// What an expansion ratio is measured against.
#[derive(Debug, Clone, Copy)]
pub enum Ratio {
    /// The entry's own stored size (zip): the entry's bytes over it.
    Entry(u64),
    /// The whole archive's stored size (a gzip'd tar has no per-entry size): all bytes so far over it.
    Archive(u64),
    Unknown,
}

impl<'b, R: Read> Bounded<'b, R> {
    pub fn new(inner: R, budget: &'b Budget, limits: ArchiveLimits, ratio: Ratio) -> Self {
        Bounded { inner, budget, limits, ratio, read: 0 }
    }
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let total = self.budget.bytes.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limits.max_total_bytes {
            return Err(io::Error::other(ArchiveError::TotalTooLarge(self.limits.max_total_bytes)));
        }
        // Small entries may expand a lot legitimately (a 1 KiB empty-ish log); judge from 1 MiB on.
        let (expanded, stored) = match self.ratio {
            Ratio::Entry(stored) => (self.read, stored),
            Ratio::Archive(stored) => (total, stored),
            Ratio::Unknown => (0, 1),
        };
        if expanded > 1 << 20 && expanded / stored.max(1) > self.limits.max_ratio {
            return Err(io::Error::other(ArchiveError::Ratio(self.limits.max_ratio)));
        }
        Ok(n)
    }
}

/// A zip archive (a file on disk, or a nested one in memory) whose entries are opened by index.
pub struct ZipReader<R = BufReader<File>> {
    archive: zip::ZipArchive<R>,
}

impl<R: Read + Seek> std::fmt::Debug for ZipReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipReader").field("entries", &self.archive.len()).finish()
    }
}

/// A zip entry as listed by the central directory.
#[derive(Debug, Clone)]
pub struct ZipEntry {
    pub index: usize,
    pub info: EntryInfo,
    pub stored: u64,
}

impl ZipReader {
    pub fn open(path: &Path) -> Result<ZipReader, ArchiveError> {
        ZipReader::from_reader(BufReader::with_capacity(64 * 1024, File::open(path)?))
    }
}

impl<R: Read + Seek> ZipReader<R> {
    pub fn from_reader(reader: R) -> Result<ZipReader<R>, ArchiveError> {
        let archive = zip::ZipArchive::new(reader).map_err(|e| ArchiveError::Zip(e.to_string()))?;
        Ok(ZipReader { archive })
    }

    /// The files in the archive (directories left out), at most `limits.max_entries`;
    /// each error says why and how many entries were left out.
    pub fn entries(&mut self, limits: &ArchiveLimits) -> (Vec<ZipEntry>, Vec<(ArchiveError, u64)>) {
        let mut out = Vec::new();
        let mut left_out = 0u64;
        let mut unreadable = 0u64;
        for index in 0..self.archive.len() {
            let Ok(file) = self.archive.by_index_raw(index) else {
                unreadable += 1;
                continue;
            };
            if file.is_dir() {
                continue;
            }
            if out.len() as u64 >= limits.max_entries {
                left_out += 1;
                continue;
            }
            let name = String::from_utf8_lossy(file.name_raw()).into_owned();
            out.push(ZipEntry { index, info: EntryInfo::new(name, Some(file.size())), stored: file.compressed_size() });
        }
        let mut errors = Vec::new();
        if left_out > 0 {
            errors.push((ArchiveError::TooManyEntries(limits.max_entries), left_out));
        }
        if unreadable > 0 {
            errors.push((ArchiveError::UnreadableEntries, unreadable));
        }
        (out, errors)
    }

    /// The expanded bytes of one entry.
    pub fn open_entry(&mut self, index: usize) -> Result<zip::read::ZipFile<'_, R>, ArchiveError> {
        if self.archive.by_index_raw(index).is_ok_and(|file| file.encrypted()) {
            return Err(ArchiveError::Encrypted);
        }
        match self.archive.by_index(index) {
            Ok(file) => Ok(file),
            Err(zip::result::ZipError::UnsupportedArchive(message)) if message.contains("ncrypt") => {
                Err(ArchiveError::Encrypted)
            }
            Err(zip::result::ZipError::InvalidPassword) => Err(ArchiveError::Encrypted),
            Err(e) => Err(ArchiveError::Zip(e.to_string())),
        }
    }
}

/// What a tar visit met besides the entries it handed over.
#[derive(Debug, Default)]
pub struct TarSkips {
    /// Links, devices, FIFOs: no content of their own.
    pub not_regular: u64,
    /// Files over the entry cap.
    pub over_entry_cap: u64,
}

/// Visit every regular file of a tar stream in order. `visit` gets the entry and a
/// bounded reader of its bytes; whatever it leaves unread is skipped by the tar reader.
/// Stops at the first archive-level error (corrupt header, total cap, ratio).
pub fn visit_tar<R: Read>(
    stream: R,
    limits: &ArchiveLimits,
    budget: &Budget,
    ratio: Ratio,
    mut visit: impl FnMut(&EntryInfo, &mut dyn BufRead),
) -> Result<TarSkips, ArchiveError> {
    let mut skips = TarSkips::default();
    let mut archive = tar::Archive::new(stream);
    for entry in archive.entries()? {
        let entry = entry?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_gnu_longname() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions()
        {
            continue;
        }
        if !kind.is_file() {
            skips.not_regular += 1;
            continue;
        }
        if budget.entries.fetch_add(1, Ordering::Relaxed) >= limits.max_entries {
            skips.over_entry_cap += 1;
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let info = EntryInfo::new(name, entry.header().size().ok());
        let mut reader = BufReader::with_capacity(64 * 1024, Bounded::new(entry, budget, *limits, ratio));
        visit(&info, &mut reader);
        // Whatever the visitor did not read must still be read past, within bounds.
        io::copy(&mut reader, &mut io::sink()).map_err(unwrap_limit)?;
    }
    Ok(skips)
}

/// Open a tar or tar.gz file for `visit_tar`.
pub fn open_tar(path: &Path, kind: ArchiveKind) -> Result<(Box<dyn Read + Send>, u64), ArchiveError> {
    let file = File::open(path)?;
    let stored = file.metadata()?.len();
    let reader: Box<dyn Read + Send> = match kind {
        ArchiveKind::TarGz => Box::new(MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, file))),
        _ => Box::new(BufReader::with_capacity(64 * 1024, file)),
    };
    Ok((reader, stored))
}

/// An I/O error raised by `Bounded` back to the archive error it carries.
pub fn unwrap_limit(error: io::Error) -> ArchiveError {
    if error.get_ref().is_some_and(|inner| inner.is::<ArchiveError>()) {
        match error.into_inner().map(|inner| inner.downcast::<ArchiveError>()) {
            Some(Ok(archive)) => *archive,
            Some(Err(other)) => ArchiveError::Io(io::Error::other(other)),
            None => ArchiveError::Io(io::Error::other("archive read failed")),
        }
    } else {
        ArchiveError::Io(error)
    }
}

/// The `limit`-bounded bytes of a nested archive, for formats that need seeking.
pub fn read_nested(reader: &mut dyn Read, size: Option<u64>, limits: &ArchiveLimits) -> Result<Vec<u8>, ArchiveError> {
    if let Some(size) = size
        && size > limits.max_nested_in_memory
    {
        return Err(ArchiveError::NestedTooLarge { size, limit: limits.max_nested_in_memory });
    }
    let mut out = Vec::new();
    reader.take(limits.max_nested_in_memory + 1).read_to_end(&mut out).map_err(unwrap_limit)?;
    if out.len() as u64 > limits.max_nested_in_memory {
        return Err(ArchiveError::NestedTooLarge { size: out.len() as u64, limit: limits.max_nested_in_memory });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, *data).expect("append");
        }
        builder.into_inner().expect("tar")
    }

    #[test]
    fn sniffs_formats_by_content() {
        let tar = tar_of(&[("a.log", b"x")]);
        assert_eq!(sniff(&tar, false), Some(ArchiveKind::Tar));
        assert_eq!(sniff(&tar, true), Some(ArchiveKind::TarGz));
        assert_eq!(sniff(b"PK\x03\x04rest", false), Some(ArchiveKind::Zip));
        assert_eq!(sniff(b"#Software: IIS", false), None);
    }

    #[test]
    fn tar_entries_are_visited_with_original_paths() {
        let tar = tar_of(&[
            ("uploads/auto/C%3A/inetpub/logs/LogFiles/W3SVC1/u_ex1.log", b"#Fields: date\n"),
            ("results/x.json", b"{}"),
        ]);
        let mut seen = Vec::new();
        let budget = Budget::default();
        visit_tar(Cursor::new(tar), &ArchiveLimits::default(), &budget, Ratio::Unknown, |info, reader| {
            let mut text = String::new();
            reader.read_to_string(&mut text).expect("read");
            seen.push((info.display.clone(), text));
        })
        .expect("visit");
        assert_eq!(seen[0].0, r"C:\inetpub\logs\LogFiles\W3SVC1\u_ex1.log");
        assert_eq!(seen[0].1, "#Fields: date\n");
        assert_eq!(seen[1].0, "results/x.json");
        assert_eq!(budget.entries(), 2);
    }

    #[test]
    fn tar_entry_cap_counts_the_rest() {
        let tar = tar_of(&[("a", b"1"), ("b", b"2"), ("c", b"3")]);
        let limits = ArchiveLimits { max_entries: 2, ..ArchiveLimits::default() };
        let mut visited = 0;
        let skips = visit_tar(Cursor::new(tar), &limits, &Budget::default(), Ratio::Unknown, |_, _| visited += 1)
            .expect("visit");
        assert_eq!(visited, 2);
        assert_eq!(skips.over_entry_cap, 1);
    }

    #[test]
    fn total_cap_stops_a_bomb_even_when_headers_lie_small() {
        let big = vec![b'A'; 3 << 20];
        let tar = tar_of(&[("big.log", &big)]);
        let limits = ArchiveLimits { max_total_bytes: 1 << 20, ..ArchiveLimits::default() };
        let result = visit_tar(Cursor::new(tar), &limits, &Budget::default(), Ratio::Unknown, |_, reader| {
            let _ = io::copy(reader, &mut io::sink());
        });
        assert!(matches!(result, Err(ArchiveError::TotalTooLarge(_))), "{result:?}");
    }

    #[test]
    fn ratio_cap_stops_a_gzip_bomb() {
        let zeros = vec![0u8; 8 << 20];
        let tar = tar_of(&[("zeros.log", &zeros)]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&tar).expect("gzip");
        let packed = gz.finish().expect("finish");
        let stored = packed.len() as u64;
        let result = visit_tar(
            MultiGzDecoder::new(Cursor::new(packed)),
            &ArchiveLimits::default(),
            &Budget::default(),
            Ratio::Archive(stored),
            |_, _| {},
        );
        assert!(matches!(result, Err(ArchiveError::Ratio(_))), "{result:?}");
    }

    #[test]
    fn zip_entries_by_index_and_encrypted_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.zip");
        let mut writer = zip::ZipWriter::new(File::create(&path).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        writer.add_directory("C/", options).expect("dir");
        writer.start_file("C/Windows/System32/winevt/Logs/Security.evtx", options).expect("start");
        writer.write_all(b"ElfFile\0...").expect("write");
        writer.finish().expect("finish");
        let mut zip = ZipReader::open(&path).expect("open");
        let (entries, left) = zip.entries(&ArchiveLimits::default());
        assert!(left.is_empty());
        assert_eq!(entries.len(), 1, "directories are not entries");
        assert_eq!(entries[0].info.display, r"C:\Windows\System32\winevt\Logs\Security.evtx");
        let mut data = Vec::new();
        zip.open_entry(entries[0].index).expect("entry").read_to_end(&mut data).expect("read");
        assert!(data.starts_with(b"ElfFile"));
    }

    #[test]
    fn garbage_is_a_zip_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("bad.zip");
        std::fs::write(&path, b"PK\x03\x04 truncated").expect("write");
        assert!(matches!(ZipReader::open(&path), Err(ArchiveError::Zip(_))));
    }

    #[test]
    fn nested_in_memory_is_bounded() {
        let limits = ArchiveLimits { max_nested_in_memory: 10, ..ArchiveLimits::default() };
        let mut data: &[u8] = &[0u8; 20];
        assert!(matches!(read_nested(&mut data, None, &limits), Err(ArchiveError::NestedTooLarge { .. })));
        assert!(matches!(read_nested(&mut (&[][..]), Some(11), &limits), Err(ArchiveError::NestedTooLarge { .. })));
    }
}
