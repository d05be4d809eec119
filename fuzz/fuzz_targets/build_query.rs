#![no_main]
//! Build strings as users, servers and admin centers write them, through the kb.

use libfuzzer_sys::fuzz_target;
use seawall_kb::{BuildQuery, KnowledgeBase};

fuzz_target!(|text: &str| {
    if let Ok(query) = BuildQuery::parse(text) {
        if let Ok(kb) = KnowledgeBase::embedded() {
            let today = "2026-11-30".parse().expect("date");
            let _ = kb.assess(query, text, today);
        }
    }
});
