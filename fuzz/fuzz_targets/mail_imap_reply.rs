#![no_main]
//! IMAP greetings, CAPABILITY lines and tagged answers, then the cleartext-auth verdict.

use libfuzzer_sys::fuzz_target;
use seawall_scan::protocols::mail::banners::{Banners, exchange_server_name};
use seawall_scan::protocols::imap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if let Some(greeting) = imap::parse_greeting(line) {
            let _ = exchange_server_name(&greeting.text);
            if let Ok(banners) = Banners::embedded() {
                let _ = banners.match_greeting("imap", &greeting.text, "greeting");
            }
            if let Some(caps) = greeting.capabilities {
                let _ = imap::auth_exposure(&caps, line);
            }
        }
        if let Some(caps) = imap::parse_capability_line(line) {
            let _ = imap::auth_mechanisms(&caps);
            let _ = imap::auth_exposure(&caps, line);
        }
        let _ = imap::tagged_status(line, "sw1");
    }
});
