#![no_main]
//! IIS W3C logs: directives, #Fields changes and data lines from hostile bytes.

use libfuzzer_sys::fuzz_target;
use seawall_sources::Record;
use seawall_sources::lines::LineReader;
use seawall_sources::w3c::{self, W3cLine, W3cRecord, W3cSchema};

fuzz_target!(|data: &[u8]| {
    let mut lines = LineReader::with_limit(data, 4096);
    let mut schema = W3cSchema::parse(w3c::IIS_DEFAULT_FIELDS);
    while let Ok(Some(line)) = lines.next_line() {
        match w3c::line_kind(line.bytes) {
            W3cLine::Fields(fields) => schema = W3cSchema::parse(fields),
            W3cLine::Data => {
                let record = W3cRecord::new(&schema, line.bytes, line.number);
                let _ = record.time();
                let _ = record.field("cs-uri-stem");
                let _ = record.field("_raw");
            }
            _ => {}
        }
    }
});
