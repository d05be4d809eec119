#![no_main]
//! A page under a web root as an attacker writes it: the webshell scanner's normalising stage
//! (Script Encoder, literal folding, decoders) and capability engine (data-flow analysis) over
//! it, with the built-in YARA rules on the original and the normalised text.

use std::cell::RefCell;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use seawall_kb::KnowledgeBase;
use seawall_webshell::{FileScanner, ScannerConfig, WebshellScanner};

fn scanner() -> &'static WebshellScanner {
    static SCANNER: OnceLock<WebshellScanner> = OnceLock::new();
    SCANNER.get_or_init(|| {
        let kb = KnowledgeBase::embedded().unwrap_or_else(|e| panic!("knowledge base: {e}"));
        WebshellScanner::new(&ScannerConfig::default(), &kb).unwrap_or_else(|e| panic!("scanner: {e}")).0
    })
}

thread_local! {
    static FILES: RefCell<FileScanner<'static>> = RefCell::new(scanner().file_scanner());
}

fuzz_target!(|data: &[u8]| {
    let outcome = FILES.with(|files| files.borrow_mut().scan_data(data, "C:/inetpub/wwwroot/fuzz/page.aspx"));
    // The stage's own failures are caught per file; one here is a bug it must not hide.
    assert!(outcome.error.as_deref().is_none_or(|e| !e.contains("internal error")), "{:?}", outcome.error);
});
