#![no_main]
//! EVTX through the evtx crate and seawall's flattening.

use libfuzzer_sys::fuzz_target;
use seawall_sources::Record;
use seawall_sources::evtx::read_events;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"ElfFile\0".to_vec();
    bytes.extend_from_slice(data);
    read_events(bytes, |event| {
        let _ = event.field("CommandLine");
        let _ = event.time();
    }, |_| {});
});
