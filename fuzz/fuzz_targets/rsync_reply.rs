#![no_main]
//! The rsync daemon's greeting, #list answer (MOTD and modules) and module-request answer, then the version table.

use libfuzzer_sys::fuzz_target;
use seawall_scan::protocols::rsync;
use seawall_scan::protocols::rsync::versions::VersionTable;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let first = lines.remove(0);
    if let Some(greeting) = rsync::parse_greeting(&first) {
        let _ = greeting.version_text();
        if let Ok(table) = VersionTable::embedded() {
            let _ = table.lookup(&greeting).map(|row| row.range_json());
        }
    }
    let listing = rsync::parse_listing(&lines);
    for module in &listing.modules {
        assert!(!module.name.is_empty());
    }
    let (_, access) = rsync::parse_module_answer(&lines);
    let _ = access.label();
});
