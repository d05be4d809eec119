#![no_main]
//! Exchange CSV logs: quoted fields, escapes, headers.

use libfuzzer_sys::fuzz_target;
use seawall_sources::Record;
use seawall_sources::csvlog::{CsvRecord, CsvSchema, split_csv};

fuzz_target!(|data: &[u8]| {
    let (header, rest) = data.split_at(data.iter().position(|b| *b == b'\n').unwrap_or(data.len()));
    let schema = CsvSchema::parse(header);
    for line in rest.split(|b| *b == b'\n') {
        let _ = split_csv(line);
        let record = CsvRecord::new(&schema, line, 2);
        let _ = record.time();
        let _ = record.field("AnchorMailbox");
    }
});
