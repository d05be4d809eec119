#![no_main]
//! Collection archives from hostile bytes: a zip listed and every entry read, a tar (and the
//! same bytes as a gzip'd tar) visited, every name mapped back to a Windows path, all within
//! small bounds so a bomb ends in an error, never in memory growth or a panic.

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use seawall_sources::archive::{self, ArchiveLimits, Bounded, Budget, Ratio, ZipReader};
use seawall_sources::collection;

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits { max_entries: 64, max_total_bytes: 4 << 20, max_ratio: 400, max_nested_in_memory: 1 << 20 };
    if let Ok(mut zip) = ZipReader::from_reader(Cursor::new(data)) {
        let budget = Budget::default();
        let (entries, _) = zip.entries(&limits);
        for entry in entries {
            let _ = collection::original_path(&entry.info.name);
            if let Ok(reader) = zip.open_entry(entry.index) {
                let _ = std::io::copy(&mut Bounded::new(reader, &budget, limits, Ratio::Entry(entry.stored)), &mut std::io::sink());
            }
        }
    }
    let budget = Budget::default();
    let _ = archive::visit_tar(Cursor::new(data), &limits, &budget, Ratio::Unknown, |info, reader| {
        let _ = collection::original_path(&info.name);
        let mut buf = [0u8; 4096];
        while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
    });
    let budget = Budget::default();
    let gz = flate2::read::MultiGzDecoder::new(Cursor::new(data));
    let _ = archive::visit_tar(gz, &limits, &budget, Ratio::Archive(data.len() as u64), |_, _| {});
    let _ = collection::original_path(&String::from_utf8_lossy(data));
});
