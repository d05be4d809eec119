#![no_main]
//! The OWA logon page parsers take whatever a server sends.

use libfuzzer_sys::fuzz_target;
use seawall_scan::exchange::parse;

fuzz_target!(|body: &[u8]| {
    let _ = parse::logon_page_version(body);
    let _ = parse::logon_markers(body).is_owa_logon();
    let _ = parse::page_title(body);
});
