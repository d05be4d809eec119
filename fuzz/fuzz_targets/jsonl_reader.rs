#![no_main]
//! The bounded JSONL reader of `seawall report` and `seawall diff`: every line is a record or
//! a numbered bad line, lines over the limit are never kept, the reader always ends.

use libfuzzer_sys::fuzz_target;
use seawall_report::jsonl_reader::{BadLine, JsonlReader};

fuzz_target!(|data: &[u8]| {
    let limit = 256;
    let lines = data.split(|b| *b == b'\n').count() as u64;
    let mut reader = JsonlReader::with_limit(std::io::BufReader::with_capacity(64, data), limit);
    let mut last_line = 0;
    while let Ok(Some(item)) = reader.next_record() {
        if let Err(bad) = item {
            assert!(bad.line() > last_line && bad.line() <= lines, "{bad} of {lines}");
            last_line = bad.line();
            if let BadLine::TooLong { limit: l, .. } = bad {
                assert_eq!(l, limit);
            }
        }
    }
});
