#![no_main]
//! The exporttool ClickOnce manifest parser.

use libfuzzer_sys::fuzz_target;
use seawall_scan::exchange::parse;

fuzz_target!(|body: &[u8]| {
    let _ = parse::exporttool_manifest_version(body);
});
