#![no_main]
//! POP3 greetings and CAPA answers, then the cleartext-auth verdict and the IMPLEMENTATION product.

use libfuzzer_sys::fuzz_target;
use seawall_scan::protocols::mail::banners::Banners;
use seawall_scan::protocols::pop3;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.split('\n').map(|l| l.trim_end_matches('\r').to_owned()).collect();
    if let Some(first) = lines.first() {
        let _ = pop3::parse_greeting(first);
    }
    if let Ok(caps) = pop3::parse_capa(&lines) {
        let _ = pop3::auth_exposure(&caps);
        let _ = pop3::sasl_mechanisms(&caps);
        if let (Some(implementation), Ok(banners)) = (pop3::implementation(&caps), Banners::embedded()) {
            let _ = banners.match_greeting("pop3", implementation, "capa-implementation");
        }
    }
});
