//! The scanner as the hunt uses it: location heuristics, the OAB
//! configuration check, attribution, size cap and unreadable files.

use seawall_model::{RuleSource, Severity};
use seawall_webshell::ScannerConfig;

use crate::{TempDir, builtin_scanner, scanner};

const OWA_AUTH: &str = r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth";

fn ids(findings: &[seawall_model::Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.id.as_str()).collect()
}

#[test]
fn location_heuristics_by_path_alone() {
    let scanner = builtin_scanner();
    let cases: [(&str, &[&str]); 9] = [
        (r"C:\inetpub\wwwroot\aspnet_client\system_web\4_0_30319\x.aspx", &["SW-FILE-ASPNET-CLIENT-ASPX"]),
        ("/mnt/ev/C/inetpub/wwwroot/aspnet_client/system_web/4_0_30319/WebUIValidation.js", &[]),
        (&format!(r"{OWA_AUTH}\logon.aspx"), &[]),
        (&format!(r"{OWA_AUTH}\healthz.aspx"), &["SW-FILE-EXCHANGE-AUTH-NONSTOCK"]),
        (r"D:\Exchange\FrontEnd\HttpProxy\ecp\auth\TimeoutLogoff.aspx", &[]),
        (r"C:\Windows\Temp\lsass.DMP", &["SW-FILE-LSASS-DUMP"]),
        (r"C:\ProgramData\pst\mail.7z", &["SW-FILE-STAGING-ARCHIVE"]),
        (
            r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\OAB\x.aspx",
            &["SW-FILE-EXCHANGE-OAB-SCRIPT"],
        ),
        ("/srv/site/Default.aspx", &[]),
    ];
    for (path, expected) in cases {
        let found = scanner.check_location(path);
        let native: Vec<&str> =
            found.iter().filter(|f| f.rule.source == RuleSource::Native).map(|f| f.rule.id.as_str()).collect();
        assert_eq!(native, expected, "{path}");
    }
}

#[test]
fn path_iocs_attribute_the_group_and_lend_it_to_content_findings() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("attr");
    // Tick's webshell name in ESET's report, with a one-liner inside.
    let path = dir.write("aspnet.aspx", b"<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"t\"],\"unsafe\");%>");
    let outcome = scanner.examine(&path, r"C:\inetpub\wwwroot\aspnet_client\aspnet.aspx");
    let ioc = outcome.findings.iter().find(|f| f.rule.id == "SW-IOC-PATH").expect("path IOC finding");
    assert!(ioc.actors.contains(&"Tick".to_owned()), "{:?}", ioc.actors);
    assert!(ioc.evidence.iter().any(|e| e.source == "ioc" && e.display_text().contains("aspnet.aspx")));
    let yara = outcome.findings.iter().find(|f| f.rule.id == "SW-YARA-CHOPPER-1").expect("content finding");
    assert!(yara.actors.contains(&"Tick".to_owned()), "attribution carried to the webshell finding");
    assert!(yara.evidence.iter().any(|e| e.source == "ioc"), "with the IOC as evidence");
    assert!(ids(&outcome.findings).contains(&"SW-FILE-ASPNET-CLIENT-ASPX"));
}

#[test]
fn hash_iocs_from_ioc_files_attribute_and_compute_md5_only_when_needed() {
    let dir = TempDir::new("hash");
    let path = dir.write("tool.bin", b"abc");
    // sha256("abc")
    let list = dir.write(
        "case.csv",
        b"kind,value,actor,source,reference,note\nsha256,ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad,Calypso,case,,loader\n",
    );
    let config = ScannerConfig { ioc_files: vec![list], ..ScannerConfig::default() };
    let (scanner, _) = scanner(&config);
    let outcome = scanner.scan_file(&path, r"C:\Users\Public\tool.bin");
    let hit = outcome.findings.iter().find(|f| f.rule.id == "SW-IOC-HASH").expect("hash finding");
    assert_eq!(hit.severity, Severity::Critical);
    assert_eq!(hit.actors, vec!["Calypso".to_owned()]);
    let hashes = outcome.hashes.expect("hashes");
    assert_eq!(hashes.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert!(hashes.md5.is_some(), "the embedded set holds MD5 indicators, so MD5 is computed");
}

#[test]
fn oab_configuration_with_script_is_critical() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("oab");
    let text = "Name                            : OAB (Default Web Site)\r\nPollInterval                    : 480\r\n\
                OfflineAddressBooks             :\r\nInternalUrl                     : https://ex01.corp/OAB\r\n\
                ExternalUrl                     : http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){}</script>\r\n";
    let path = dir.write("x.aspx", text.as_bytes());
    let outcome = scanner.scan_file(&path, &format!(r"{OWA_AUTH}\x.aspx"));
    let oab = outcome.findings.iter().find(|f| f.rule.id == "SW-FILE-OAB-CONFIG-SCRIPT").expect("oab finding");
    assert_eq!(oab.severity, Severity::Critical);
    assert!(oab.cves.contains(&"CVE-2021-27065".to_owned()));
}

#[test]
fn files_over_the_cap_are_skipped_with_the_reason() {
    let dir = TempDir::new("cap");
    let path = dir.write("big.aspx", &vec![b'A'; 4096]);
    let config = ScannerConfig { max_file_size: 1024, ..ScannerConfig::default() };
    let (scanner, _) = scanner(&config);
    let outcome = scanner.scan_file(&path, "big.aspx");
    assert!(outcome.findings.is_empty());
    assert_eq!(outcome.bytes, 0);
    let reason = outcome.skipped.expect("skipped");
    assert!(reason.contains("4096") && reason.contains("1024"), "{reason}");

    let outcome = scanner.scan_file(dir.path(), "a folder");
    assert_eq!(outcome.skipped.as_deref(), Some("not a regular file"));
    let outcome = scanner.scan_file(&dir.path().join("absent"), "absent");
    assert!(outcome.error.is_some() || outcome.skipped.is_some());
}

#[test]
fn benign_page_is_silent() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("benign");
    let page = b"<%@ Page Language=\"C#\" MasterPageFile=\"~/Site.master\" CodeBehind=\"Default.aspx.cs\" Inherits=\"Site.Default\" %>\n\
                 <asp:Content ContentPlaceHolderID=\"main\" runat=\"server\"><h1><%= Title %></h1></asp:Content>";
    let path = dir.write("Default.aspx", page);
    let outcome = scanner.examine(&path, r"C:\inetpub\wwwroot\site\Default.aspx");
    assert!(outcome.findings.is_empty(), "{:?}", ids(&outcome.findings));
    assert_eq!(outcome.bytes, page.len() as u64);
}

#[test]
fn one_file_scanner_serves_many_files_without_carrying_state() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("reuse");
    let shell = dir.write("a.asp", b"<%execute request(\"k\")%>");
    let plain = dir.write("b.aspx", b"<%@ Page Language=\"C#\" %><html><body>hello</body></html>");
    let mut files = scanner.file_scanner();
    for _ in 0..3 {
        let hit = files.scan_file(&shell, "a.asp");
        assert!(ids(&hit.findings).contains(&"SW-YARA-CHOPPER-1"));
        let quiet = files.examine(&plain, r"C:\inetpub\wwwroot\site\b.aspx");
        assert!(quiet.findings.is_empty(), "{:?}", ids(&quiet.findings));
    }
}
