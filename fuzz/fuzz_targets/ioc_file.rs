#![no_main]
//! `--ioc FILE` contents as an attacker or a broken export writes them: STIX
//! 2.1 bundles, MISP JSON, CSV, plain lists; then every lookup on the result.

use libfuzzer_sys::fuzz_target;
use seawall_webshell::parse_ioc_text;

fuzz_target!(|text: &str| {
    if let Ok(parse) = parse_ioc_text(text, "fuzz") {
        for ioc in parse.set.iter() {
            let _ = parse.set.ioc_for_hash(&ioc.value);
            let _ = parse.set.ioc_for_ip(&ioc.value);
            let _ = parse.set.ioc_for_domain(&ioc.value);
            let _ = parse.set.ioc_for_user_agent(&ioc.value);
            let _ = parse.set.ioc_for_path(&ioc.value);
        }
    }
});
