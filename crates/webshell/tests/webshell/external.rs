//! `--yara DIR`: signature-base compiles and runs, external variables are
//! set per file, and rules yara-x rejects are named and skipped.

use seawall_model::{RuleSource, Severity};
use seawall_webshell::ScannerConfig;

use crate::{TempDir, corpus, scanner};

/// How many rules the signature-base set in shared/corpus holds, and how
/// many yara-x (with libyara-compatible regex syntax) rejects.
const SIGNATURE_BASE_COMPILED: usize = 888;
const SIGNATURE_BASE_REJECTED: usize = 0;

#[test]
fn signature_base_loads_every_rule() {
    let rules = corpus().join("rules/yara");
    assert!(rules.is_dir(), "{} missing: tests expect ../shared beside the clone", rules.display());
    let config = ScannerConfig { builtin_rules: false, yara_dirs: vec![rules], ..ScannerConfig::default() };
    let (scanner, diagnostics) = scanner(&config);
    let rejected: Vec<_> = diagnostics.iter().filter(|d| d.code != "ioc").collect();
    assert_eq!(rejected.len(), SIGNATURE_BASE_REJECTED, "{rejected:?}");
    assert_eq!(scanner.counts().external_rules, SIGNATURE_BASE_COMPILED);
    assert_eq!(scanner.counts().builtin_rules, 0);
}

#[test]
fn signature_base_matches_a_chopper_one_liner_with_its_score() {
    let config = ScannerConfig {
        builtin_rules: false,
        yara_dirs: vec![corpus().join("rules/yara")],
        ..ScannerConfig::default()
    };
    let (scanner, _) = scanner(&config);
    let dir = TempDir::new("sb");
    // The ProxyLogon OAB webshell form that signature-base's HAFNIUM rules describe.
    let page = b"<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"exec_code\"],\"unsafe\");Response.End();}</script>";
    let path = dir.write("shell.aspx", page);
    let outcome = scanner.scan_file(&path, r"C:\inetpub\wwwroot\aspnet_client\shell.aspx");
    let yara: Vec<_> = outcome.findings.iter().filter(|f| f.rule.source == RuleSource::Yara).collect();
    assert!(!yara.is_empty(), "no signature-base rule fired: {:?}", outcome.findings);
    assert!(yara.iter().all(|f| f.severity >= Severity::Low));
}

#[test]
fn external_variables_are_set_per_file() {
    let dir = TempDir::new("vars");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(
        rules.join("vars.yar"),
        r#"
rule uses_filename { meta: score = 80 condition: filename == "probe.aspx" }
rule uses_extension { meta: severity = "medium" condition: extension == ".aspx" }
rule uses_filepath { condition: filepath contains "\\aspnet_client\\" }
rule uses_filetype { meta: score = 95 condition: filetype == "GIF" }
rule uses_owner { condition: owner == "" and filesize > 0 }
"#,
    )
    .expect("write rules");
    let config = ScannerConfig { builtin_rules: false, yara_dirs: vec![rules], ..ScannerConfig::default() };
    let (scanner, diagnostics) = scanner(&config);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let path = dir.write("files/probe.aspx", b"GIF89a hello");
    let outcome = scanner.scan_file(&path, "/evidence/C/inetpub/wwwroot/aspnet_client/probe.aspx");
    let fired = |id: &str| outcome.findings.iter().find(|f| f.rule.id == id).map(|f| f.severity);
    assert_eq!(fired("uses_filename"), Some(Severity::High), "score 80 is high");
    assert_eq!(fired("uses_extension"), Some(Severity::Medium), "severity meta is taken as is");
    assert_eq!(fired("uses_filepath"), Some(Severity::High), "no score counts as Loki's 75");
    assert_eq!(fired("uses_filetype"), Some(Severity::Critical));
    assert!(fired("uses_owner").is_some());

    let other = dir.write("files/readme.txt", b"plain");
    let outcome = scanner.scan_file(&other, "/evidence/docs/readme.txt");
    assert!(outcome.findings.iter().all(|f| f.rule.id == "uses_owner"), "{:?}", outcome.findings);
}

#[test]
fn rejected_rules_are_named_and_the_rest_of_the_file_loads() {
    let dir = TempDir::new("reject");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(
        rules.join("mixed.yar"),
        r#"
rule good_one { strings: $a = "needle" condition: $a }
rule bad_unknown_ident { condition: no_such_variable > 1 }
rule good_two { condition: filesize == 6 }
"#,
    )
    .expect("write rules");
    std::fs::write(rules.join("broken.yara"), "rule broken { condition: ( }\n").expect("write rules");
    let config = ScannerConfig { builtin_rules: false, yara_dirs: vec![rules], ..ScannerConfig::default() };
    let (scanner, diagnostics) = scanner(&config);
    assert_eq!(scanner.counts().external_rules, 2, "{diagnostics:?}");
    let unknown = diagnostics.iter().find(|d| d.file.ends_with("mixed.yar")).expect("mixed.yar diagnostic");
    assert_eq!(unknown.rule.as_deref(), Some("bad_unknown_ident"));
    assert!(unknown.reason.contains("unknown identifier"), "{unknown:?}");
    let broken = diagnostics.iter().find(|d| d.file.ends_with("broken.yara")).expect("broken.yara diagnostic");
    assert_eq!(broken.rule.as_deref(), Some("broken"));
    assert!(broken.to_string().contains("(skipped)"));

    let path = dir.write("x/n.txt", b"needle");
    let ids: Vec<String> = scanner.scan_file(&path, "n.txt").findings.into_iter().map(|f| f.rule.id).collect();
    assert_eq!(ids, vec!["good_one".to_owned(), "good_two".to_owned()]);
}
