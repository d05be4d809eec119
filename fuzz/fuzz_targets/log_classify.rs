#![no_main]
//! Classification of evidence by its first bytes and path.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(0);
    let path = String::from_utf8_lossy(&data[..split]);
    let _ = seawall_sources::classify(&path, &data[split..]);
    let _ = seawall_sources::classify::normalise_path(&path);
});
