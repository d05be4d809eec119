#![no_main]
//! Entra sign-in exports, CSV and JSON.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = seawall_sources::entra::parse_csv(text);
    let _ = seawall_sources::entra::parse_json(text);
    let _ = seawall_sources::entra::looks_like_sign_ins(text);
});
