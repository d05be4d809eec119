#![no_main]
//! Target lists from stdin (ZMap, masscan, plain) and exclude lists.

use libfuzzer_sys::fuzz_target;
use seawall_scan::targets::{parse_exclude_list, parse_ports, parse_target_list};

fuzz_target!(|text: &str| {
    let _ = parse_target_list(text, "fuzz");
    let _ = parse_exclude_list(text, "fuzz");
    let _ = parse_ports(text);
});
