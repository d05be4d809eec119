#![no_main]
//! Sigma condition expressions from hostile bytes; a condition that parses must parse again
//! from its normalised form to the same thing.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(normalised) = seawall_sigma::parse_condition(text) {
        match seawall_sigma::parse_condition(&normalised) {
            Ok(again) => assert_eq!(again, normalised, "{text:?}"),
            Err(e) => panic!("{text:?}: its normalised form {normalised:?} does not parse: {e}"),
        }
    }
});
