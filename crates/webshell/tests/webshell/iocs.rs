//! `--ioc FILE` formats: each parses, keeps its groups, and feeds the
//! scanner's hash, path and network lookups.

use std::path::{Path, PathBuf};

use seawall_kb::IocKind;
use seawall_webshell::{ScannerConfig, load_ioc_file, parse_ioc_text};

use crate::scanner;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ioc").join(name)
}

#[test]
fn stix_bundle_with_indicates_relationship() {
    let parse = load_ioc_file(&fixture("bundle.stix.json")).expect("stix parses");
    assert_eq!(parse.format, "stix");
    let hash = parse.set.ioc_for_hash(&"1".repeat(64));
    assert_eq!(hash.len(), 1);
    assert_eq!(hash[0].actor.as_deref(), Some("HAFNIUM"), "actor from the indicates relationship");
    assert_eq!(hash[0].source, "bundle.stix.json");
    assert_eq!(parse.set.ioc_for_ip("198.51.100.7").len(), 1);
    assert_eq!(parse.set.ioc_for_domain("www.c2.example.net").len(), 1);
    assert_eq!(parse.set.ioc_for_hash("d41d8cd98f00b204e9800998ecf8427e").len(), 1);
    assert_eq!(parse.skipped, 1, "the sigma-pattern indicator is skipped and counted");
}

#[test]
fn misp_event_with_tags_objects_and_composites() {
    let parse = load_ioc_file(&fixture("event.misp.json")).expect("misp parses");
    assert_eq!(parse.format, "misp");
    let set = &parse.set;
    assert_eq!(set.ioc_for_hash(&"2".repeat(64))[0].actor.as_deref(), Some("Tick"));
    assert_eq!(set.ioc_for_ip("203.0.113.50").len(), 1);
    assert_eq!(set.ioc_for_ip("203.0.113.51:443").len(), 1);
    assert_eq!(set.ioc_for_domain("update.example.org").len(), 1);
    assert_eq!(set.ioc_for_user_agent("Mozilla/5.0+(x-test-agent)").len(), 1);
    assert_eq!(set.ioc_for_path(r"D:\site\shellx.aspx").len(), 1, "filename half of filename|md5");
    assert_eq!(set.ioc_for_hash("0123456789abcdef0123456789abcdef").len(), 1, "md5 half of filename|md5");
    assert_eq!(set.ioc_for_hash(&"3".repeat(40)).len(), 1, "attribute inside an object");
    assert_eq!(parse.skipped, 1, "the vulnerability attribute is not an indicator");
}

#[test]
fn other_csv_with_typed_and_untyped_rows() {
    let parse = load_ioc_file(&fixture("mixed.csv")).expect("csv parses");
    assert_eq!(parse.format, "csv");
    assert_eq!(parse.set.ioc_for_path("/e/C/inetpub/wwwroot/aspnet_client/probe_csv.aspx").len(), 1);
    assert_eq!(parse.set.ioc_for_hash(&"4".repeat(64)).len(), 1);
    assert_eq!(parse.set.ioc_for_ip("198.51.100.99").len(), 1, "kind inferred when the type cell is empty");
    assert_eq!(parse.skipped, 1);
}

#[test]
fn plain_hash_list() {
    let parse = load_ioc_file(&fixture("hashes.txt")).expect("list parses");
    assert_eq!(parse.format, "list");
    assert_eq!(parse.set.count(IocKind::Sha256), 1);
    assert_eq!(parse.set.count(IocKind::Sha1), 1);
    assert_eq!(parse.set.count(IocKind::Md5), 1);
    assert_eq!(parse.set.ioc_for_hash(&"5".repeat(64))[0].note.as_deref(), Some("Webshell seen in case 12"));
}

#[test]
fn seawall_csv_keeps_actor_and_source() {
    let parse = load_ioc_file(&fixture("seawall.csv")).expect("seawall csv parses");
    assert_eq!(parse.format, "seawall-csv");
    let hit = parse.set.ioc_for_hash(&"8".repeat(64));
    assert_eq!(hit[0].actor.as_deref(), Some("Winnti Group"));
    assert_eq!(hit[0].source, "case-12");
}

#[test]
fn malformed_input_is_an_error_or_skipped_never_a_panic() {
    for text in
        ["{", "[{\"Event\": 3}]", "{\"type\": \"bundle\", \"objects\": 7}", "\u{0}\u{1}", "kind,value\nmd5,zz\n"]
    {
        let _ = parse_ioc_text(text, "junk");
    }
    assert!(
        parse_ioc_text("{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"pattern\":\"[x = '\"}]}", "j")
            .is_ok()
    );
}

#[test]
fn scanner_merges_ioc_files_and_reports_skipped_entries() {
    let config = ScannerConfig {
        ioc_files: vec![fixture("bundle.stix.json"), fixture("event.misp.json")],
        ..ScannerConfig::default()
    };
    let (scanner, diagnostics) = scanner(&config);
    assert_eq!(diagnostics.iter().filter(|d| d.code == "ioc").count(), 2, "{diagnostics:?}");
    assert_eq!(scanner.iocs().ioc_for_ip("198.51.100.7").len(), 1);
    assert!(!scanner.iocs().ioc_for_ip("103.77.192.219").is_empty(), "the knowledge base's IOCs stay");
}
