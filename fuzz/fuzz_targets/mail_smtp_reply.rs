#![no_main]
//! SMTP replies as a hostile server sends them: reply framing, EHLO keywords, AUTH exposure, greeting product.

use libfuzzer_sys::fuzz_target;
use seawall_scan::protocols::mail::banners::Banners;
use seawall_scan::protocols::smtp;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.split('\n').map(|l| l.trim_end_matches('\r').to_owned()).collect();
    for line in &lines {
        let _ = smtp::reply_line(line);
        let _ = smtp::ends_reply(line.as_bytes());
    }
    if let Ok(reply) = smtp::parse_reply(&lines) {
        let ehlo = smtp::parse_ehlo(&reply);
        let _ = ehlo.starttls();
        let _ = smtp::auth_exposure(&ehlo);
        let greeting = smtp::greeting_text(&reply);
        if let Ok(banners) = Banners::embedded() {
            let _ = banners.match_greeting("smtp", &greeting, "greeting");
            let _ = banners.match_keywords(&ehlo.keywords);
        }
    }
});
