#![no_main]
//! Entra sign-in exports, CSV and JSON, through the streaming reader.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sign_ins = 0u64;
    let summary = seawall_sources::entra::read_export(data, 1 << 20, |_| sign_ins += 1);
    assert_eq!(summary.sign_ins, sign_ins);
    assert!(summary.errors.len() <= seawall_sources::entra::MAX_LISTED_ERRORS);
    assert!(summary.bytes <= data.len() as u64);
    let _ = seawall_sources::entra::looks_like_sign_ins(&String::from_utf8_lossy(data));
});
