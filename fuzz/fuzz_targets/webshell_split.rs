#![no_main]
//! A page and a helper it runs, both as an attacker writes them: the companion reader (the
//! helper's procedures found, the ones the page calls sliced out) and the capability engine
//! over the page read with them. Input: the page's bytes, a NUL, the helper's bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (page, helper) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let found = seawall_webshell::capabilities_through_helper(page, helper);
    assert!(found.is_ok(), "the embedded capability data loads: {found:?}");
});
