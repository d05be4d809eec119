//! The condition language, the modifiers, wildcards and escapes as the Sigma specification
//! defines them, each with a near miss; what is refused, and why; the IIS field mappings.

use seawall_sigma::{Mappings, RuleText, SigmaEngine, SigmaRecord, SigmaScratch, UnsupportedKind};
use seawall_sources::evtx::EvtxEvent;
use seawall_sources::w3c::{W3cRecord, W3cSchema};

/// An engine holding one rule with `detection` (YAML, indented two spaces) over `logsource`.
fn engine_with(logsource: &str, detection: &str) -> (SigmaEngine, seawall_sigma::LoadReport) {
    let text = format!(
        "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nstatus: test\nlogsource:\n{logsource}\ndetection:\n{detection}\nlevel: high\n"
    );
    SigmaEngine::load(&[RuleText { origin: "test.yml".into(), text }], Mappings::embedded().expect("mappings"))
}

fn evtx_event(fields: &[(&str, &str)]) -> EvtxEvent {
    let data: serde_json::Map<String, serde_json::Value> =
        fields.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned()))).collect();
    let json = serde_json::json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"}, "EventData": data}});
    EvtxEvent::from_json(1, &json)
}

/// Whether a `product: windows` rule with `detection` fires on an event with `fields`,
/// checked with and without the prefilter (it must never change the answer).
fn fires(detection: &str, fields: &[(&str, &str)]) -> bool {
    let (mut engine, report) = engine_with("  product: windows", detection);
    assert_eq!(report.loaded, 1, "{:?}", report.unsupported);
    let event = evtx_event(fields);
    let mut scratch = SigmaScratch::default();
    let mut hits = Vec::new();
    engine.scan_evtx(&event, &mut scratch, &mut hits);
    let with = !hits.is_empty();
    engine.set_prefilter(false);
    hits.clear();
    engine.scan_evtx(&event, &mut scratch, &mut hits);
    assert_eq!(with, !hits.is_empty(), "the prefilter changed the verdict of {detection}");
    with
}

fn refused(detection: &str) -> (UnsupportedKind, String) {
    let (_, report) = engine_with("  product: windows", detection);
    assert_eq!(report.loaded, 0);
    let u = report.unsupported.first().expect("listed");
    (u.kind, u.reason.clone())
}

const CMD: &str = "C:\\Windows\\System32\\cmd.exe";

#[test]
fn plain_values_match_whole_values_case_insensitively() {
    let d = "  sel:\n    Image: 'c:\\windows\\system32\\CMD.EXE'\n  condition: sel";
    assert!(fires(d, &[("Image", CMD)]));
    assert!(!fires(d, &[("Image", "C:\\Windows\\System32\\cmd.exe.bak")]), "near miss: longer value");
    assert!(!fires(d, &[("ParentImage", CMD)]), "near miss: other field");
}

#[test]
fn contains_startswith_endswith() {
    let contains = "  sel:\n    CommandLine|contains: 'MiniDump'\n  condition: sel";
    assert!(fires(contains, &[("CommandLine", "rundll32 comsvcs.dll, minidump 624 x.dmp full")]));
    assert!(!fires(contains, &[("CommandLine", "rundll32 comsvcs.dll, mini dump")]));
    let starts = "  sel:\n    CommandLine|startswith: 'cmd /c'\n  condition: sel";
    assert!(fires(starts, &[("CommandLine", "CMD /C whoami")]));
    assert!(!fires(starts, &[("CommandLine", "x cmd /c whoami")]));
    let ends = "  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel";
    assert!(fires(ends, &[("Image", CMD)]));
    assert!(!fires(ends, &[("Image", "C:\\x\\notcmd.exe")]), "near miss: no backslash before the name");
}

#[test]
fn all_links_values_with_and() {
    let d = "  sel:\n    CommandLine|contains|all: ['lsass', '.dmp']\n  condition: sel";
    assert!(fires(d, &[("CommandLine", "procdump -ma lsass.exe out.dmp")]));
    assert!(!fires(d, &[("CommandLine", "procdump -ma lsass.exe")]));
    let any = "  sel:\n    CommandLine|contains: ['lsass', '.dmp']\n  condition: sel";
    assert!(fires(any, &[("CommandLine", "procdump -ma lsass.exe")]), "a list without all is an or");
}

#[test]
fn cased_makes_matching_case_sensitive() {
    let d = "  sel:\n    CommandLine|contains|cased: 'FromBase64String'\n  condition: sel";
    assert!(fires(d, &[("CommandLine", "[Convert]::FromBase64String($x)")]));
    assert!(!fires(d, &[("CommandLine", "[convert]::frombase64string($x)")]));
}

#[test]
fn regular_expressions() {
    let d = "  sel:\n    CommandLine|re: 'comsvcs(\\.dll)?[, ]+#?(MiniDump|24)'\n  condition: sel";
    assert!(fires(
        d,
        &[("CommandLine", "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\a.dmp full")]
    ));
    assert!(fires(d, &[("CommandLine", "rundll32 comsvcs #24 624")]));
    assert!(fires(d, &[("CommandLine", "rundll32 comsvcs.dll, MiniDumpW")]), "re is unanchored");
    assert!(!fires(d, &[("CommandLine", "rundll32 comsvcs.dll DllRegisterServer")]));
    let case = "  sel:\n    CommandLine|re: 'MINIDUMP'\n  condition: sel";
    assert!(!fires(case, &[("CommandLine", "minidump")]), "re is case-sensitive unless |i");
    let insensitive = "  sel:\n    CommandLine|re|i: 'MINIDUMP'\n  condition: sel";
    assert!(fires(insensitive, &[("CommandLine", "minidump")]));
}

#[test]
fn base64_and_base64offset() {
    // base64('whoami') = d2hvYW1p
    let d = "  sel:\n    CommandLine|base64|contains: 'whoami'\n  condition: sel";
    assert!(fires(d, &[("CommandLine", "powershell -enc d2hvYW1p")]));
    assert!(!fires(d, &[("CommandLine", "powershell -enc whoami")]));
    // 'Invoke-Mimikatz' at any offset of a longer base64 text.
    let offset = "  sel:\n    CommandLine|base64offset|contains: 'Invoke-Mimikatz'\n  condition: sel";
    for prefix in ["", "a", "ab"] {
        let encoded = base64_encode(format!("{prefix}Invoke-Mimikatz -DumpCreds").as_bytes());
        assert!(fires(offset, &[("CommandLine", &format!("powershell -e {encoded}"))]), "offset {}", prefix.len());
    }
    assert!(!fires(offset, &[("CommandLine", &base64_encode(b"Invoke-Mimikittens"))]));
}

#[test]
fn wide_encodes_utf16le_before_base64() {
    let d = "  sel:\n    CommandLine|wide|base64offset|contains: 'lsass'\n  condition: sel";
    let utf16: Vec<u8> = "Get-Process lsass".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(fires(d, &[("CommandLine", &format!("powershell -enc {}", base64_encode(&utf16)))]));
    assert!(!fires(d, &[("CommandLine", &format!("powershell -enc {}", base64_encode(b"Get-Process lsass")))]));
    let alias = "  sel:\n    CommandLine|utf16le|base64offset|contains: 'lsass'\n  condition: sel";
    assert!(fires(alias, &[("CommandLine", &format!("powershell -enc {}", base64_encode(&utf16)))]));
}

#[test]
fn windash_accepts_every_dash_and_the_slash() {
    let d = "  sel:\n    CommandLine|windash|contains: ' -ma '\n  condition: sel";
    for cmd in ["procdump -ma lsass", "procdump /ma lsass", "procdump \u{2013}ma lsass", "procdump \u{2014}ma lsass"] {
        assert!(fires(d, &[("CommandLine", cmd)]), "{cmd}");
    }
    assert!(!fires(d, &[("CommandLine", "procdump ma lsass")]));
}

#[test]
fn cidr_exists_and_numeric_comparisons() {
    let cidr = "  sel:\n    SourceIp|cidr: '10.0.0.0/8'\n  condition: sel";
    assert!(fires(cidr, &[("SourceIp", "10.20.30.40")]));
    assert!(!fires(cidr, &[("SourceIp", "11.0.0.1")]));
    let exists = "  sel:\n    ParentCommandLine|exists: true\n  condition: sel";
    assert!(fires(exists, &[("ParentCommandLine", "cmd")]));
    assert!(!fires(exists, &[("CommandLine", "cmd")]));
    let absent = "  sel:\n    Image|endswith: 'cmd.exe'\n    ParentCommandLine|exists: false\n  condition: sel";
    assert!(fires(absent, &[("Image", CMD)]));
    assert!(!fires(absent, &[("Image", CMD), ("ParentCommandLine", "x")]));
    let gt = "  sel:\n    ProcessId|gt: 1000\n  condition: sel";
    assert!(fires(gt, &[("ProcessId", "4242")]));
    assert!(!fires(gt, &[("ProcessId", "1000")]));
    let gte = "  sel:\n    ProcessId|gte: 1000\n  condition: sel";
    assert!(fires(gte, &[("ProcessId", "1000")]));
    let lt = "  sel:\n    ProcessId|lt: 8\n  condition: sel";
    assert!(fires(lt, &[("ProcessId", "4")]));
    assert!(!fires(lt, &[("ProcessId", "8")]));
    let lte = "  sel:\n    ProcessId|lte: 8\n  condition: sel";
    assert!(fires(lte, &[("ProcessId", "8")]));
    assert!(!fires(lte, &[("ProcessId", "not a number")]));
}

#[test]
fn null_and_empty_values() {
    let null =
        "  sel:\n    Image|endswith: 'cmd.exe'\n  filter:\n    OriginalFileName: null\n  condition: sel and not filter";
    assert!(fires(null, &[("Image", CMD), ("OriginalFileName", "Cmd.Exe")]));
    assert!(!fires(null, &[("Image", CMD)]), "absent field is null");
    let empty = "  sel:\n    Image|endswith: 'cmd.exe'\n  filter:\n    NewValue: ''\n  condition: sel and not filter";
    assert!(!fires(empty, &[("Image", CMD), ("NewValue", "")]));
    assert!(fires(empty, &[("Image", CMD), ("NewValue", "x")]));
}

#[test]
fn wildcards_and_escapes() {
    let star = "  sel:\n    Image: '*\\System32\\\\*.exe'\n  condition: sel";
    assert!(fires(star, &[("Image", CMD)]));
    assert!(!fires(star, &[("Image", "C:\\Windows\\SysWOW64\\cmd.exe")]));
    // `\*` is an escaped star: a literal `*` after the backslash, not a wildcard.
    let escaped = "  sel:\n    Image: '*\\System32\\*.exe'\n  condition: sel";
    assert!(!fires(escaped, &[("Image", CMD)]));
    assert!(fires(escaped, &[("Image", "C:\\Windows\\System32*.exe")]));
    let one = "  sel:\n    Image|endswith: '\\cm?.exe'\n  condition: sel";
    assert!(fires(one, &[("Image", CMD)]));
    assert!(!fires(one, &[("Image", "C:\\x\\cmdd.exe")]), "? is exactly one character");
    // \* is a literal star, \\ a literal backslash, a backslash before anything else stays.
    let literal_star = "  sel:\n    CommandLine|contains: 'dir \\*.aspx'\n  condition: sel";
    assert!(fires(literal_star, &[("CommandLine", "cmd /c dir *.aspx")]));
    assert!(!fires(literal_star, &[("CommandLine", "cmd /c dir shell.aspx")]));
    let double = "  sel:\n    CommandLine|endswith: 'share\\\\'\n  condition: sel";
    assert!(fires(double, &[("CommandLine", "net use \\\\host\\share\\")]));
    let question = "  sel:\n    CommandLine|contains: 'x.aspx\\?cmd'\n  condition: sel";
    assert!(fires(question, &[("CommandLine", "curl x.aspx?cmd=whoami")]));
    assert!(!fires(question, &[("CommandLine", "curl x.aspxAcmd=whoami")]));
}

#[test]
fn wildcards_span_line_breaks() {
    // See: rsigma 0.23 compiles `*` to `.*` without the `s` flag; seawall rewrites it.
    let d = "  sel:\n    ScriptBlockText: '*MiniDumpWriteDump*lsass*'\n  condition: sel";
    assert!(fires(
        d,
        &[("ScriptBlockText", "function Out-Minidump {\n  $m = 'MiniDumpWriteDump'\n  Get-Process\n lsass }")]
    ));
    assert!(!fires(d, &[("ScriptBlockText", "lsass\nMiniDumpWriteDump")]), "order matters");
}

#[test]
fn keywords_search_every_value() {
    let d = "  keywords:\n    - 'New-MailboxExportRequest'\n    - 'Mailbox Import Export'\n  condition: keywords";
    assert!(fires(d, &[("Data", "New-MailboxExportRequest -Mailbox x -FilePath \\\\127.0.0.1\\c$\\s.aspx")]));
    assert!(!fires(d, &[("Data", "Get-MailboxExportRequest")]));
    // See: SigmaHQ win_exchange_proxyshell_mailbox_export: `'|all':` keywords must all be in one value.
    let all = "  sel:\n    '|all':\n      - 'New-MailboxExportRequest'\n      - ' -Mailbox '\n  condition: sel";
    assert!(fires(all, &[("Data", "New-MailboxExportRequest -Mailbox x -FilePath y")]));
    assert!(!fires(all, &[("Data", "New-MailboxExportRequest -FilePath y")]));
    let wild = "  keywords:\n    - '*-FilePath*.aspx*'\n  condition: keywords";
    assert!(fires(wild, &[("Data", "New-MailboxExportRequest\n-FilePath \\\\x\\s.aspx -Mailbox y")]));
}

#[test]
fn and_or_not_and_parentheses() {
    let d = "  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    ParentImage|endswith: '\\w3wp.exe'\n  c:\n    CommandLine|contains: 'echo'\n  condition: a and (b or c) and not (c and b)";
    let w3wp = "C:\\Windows\\System32\\inetsrv\\w3wp.exe";
    assert!(fires(d, &[("Image", CMD), ("ParentImage", w3wp), ("CommandLine", "whoami")]));
    assert!(fires(d, &[("Image", CMD), ("ParentImage", "x.exe"), ("CommandLine", "echo hi")]));
    assert!(!fires(d, &[("Image", CMD), ("ParentImage", w3wp), ("CommandLine", "echo hi")]));
    assert!(!fires(d, &[("Image", CMD), ("ParentImage", "x.exe"), ("CommandLine", "whoami")]));
    // Precedence: not > and > or.
    let p = "  a:\n    Image|endswith: 'a.exe'\n  b:\n    Image|endswith: 'b.exe'\n  c:\n    CommandLine: 'x'\n  condition: a or b and not c";
    assert!(fires(p, &[("Image", "a.exe"), ("CommandLine", "x")]));
    assert!(!fires(p, &[("Image", "b.exe"), ("CommandLine", "x")]));
}

#[test]
fn one_of_all_of_and_them() {
    let sels = "  sel_img:\n    Image|endswith: '\\procdump.exe'\n  sel_cli:\n    CommandLine|contains: 'lsass'\n  filter_x:\n    User|contains: 'svc_backup'\n";
    let one = format!("{sels}  condition: 1 of sel_* and not 1 of filter_*");
    assert!(fires(&one, &[("CommandLine", "x lsass")]));
    assert!(!fires(&one, &[("CommandLine", "x lsass"), ("User", "CORP\\svc_backup")]));
    assert!(!fires(&one, &[("CommandLine", "x")]));
    let all = format!("{sels}  condition: all of sel_*");
    assert!(fires(&all, &[("Image", "C:\\t\\procdump.exe"), ("CommandLine", "-ma lsass")]));
    assert!(!fires(&all, &[("Image", "C:\\t\\procdump.exe"), ("CommandLine", "-ma explorer")]));
    let them = "  a:\n    Image|endswith: 'a.exe'\n  b:\n    CommandLine: 'x'\n  condition: all of them";
    assert!(fires(them, &[("Image", "a.exe"), ("CommandLine", "x")]));
    assert!(!fires(them, &[("Image", "a.exe")]));
    let any = "  a:\n    Image|endswith: 'a.exe'\n  b:\n    CommandLine: 'x'\n  condition: 1 of them";
    assert!(fires(any, &[("CommandLine", "x")]));
    assert!(!fires(any, &[("CommandLine", "y")]));
}

#[test]
fn a_list_of_maps_is_an_or_of_ands() {
    let d = "  sel:\n    - Image|endswith: '\\rundll32.exe'\n      CommandLine|contains: 'comsvcs'\n    - CommandLine|contains: 'MiniDump'\n  condition: sel";
    assert!(fires(d, &[("Image", "C:\\w\\rundll32.exe"), ("CommandLine", "comsvcs.dll #24")]));
    assert!(fires(d, &[("CommandLine", "x MiniDump y")]));
    assert!(!fires(d, &[("Image", "C:\\w\\rundll32.exe"), ("CommandLine", "shell32.dll")]));
}

// Detections are checked by name: the reason named a random one of several (HashMap order).
#[test]
fn the_reason_a_rule_is_refused_is_the_same_every_time() {
    let detection =
        "  sel_b:\n    Image|expand: '%b%'\n  sel_a:\n    CommandLine|expand: '%a%'\n  condition: 1 of sel_*";
    for _ in 0..8 {
        let (kind, reason) = refused(detection);
        assert_eq!(kind, UnsupportedKind::Modifier);
        assert!(reason.contains("sel_a") && !reason.contains("sel_b"), "{reason}");
    }
}

#[test]
fn unsupported_rules_are_listed_with_reasons() {
    let (kind, reason) = refused("  sel:\n    CommandLine|expand: '%admins%'\n  condition: sel");
    assert_eq!(kind, UnsupportedKind::Modifier);
    assert!(reason.contains("expand"), "{reason}");
    assert_eq!(refused("  sel:\n    UtcTime|hour: 3\n  condition: sel").0, UnsupportedKind::Modifier);
    let (kind, reason) = refused("  sel:\n    CommandLine|re: 'a{1000}{1000}'\n  condition: sel");
    assert_eq!(kind, UnsupportedKind::Regex, "{reason}");
    assert_eq!(refused("  sel:\n    CommandLine|re: '(unclosed'\n  condition: sel").0, UnsupportedKind::Regex);
    let (kind, reason) = refused("  sel:\n    Image: x\n  condition: sel and filter");
    assert_eq!(kind, UnsupportedKind::Invalid);
    assert!(reason.contains("filter"), "{reason}");
    assert_eq!(refused("  sel:\n    Image: x\n  condition: 1 of filter_*").0, UnsupportedKind::Invalid);
    // `count()` runs (see tests/correlation.rs); other v1 aggregation functions are listed.
    assert_eq!(refused("  sel:\n    Image: x\n  condition: sel | max(Size) > 5").0, UnsupportedKind::Aggregation);
    assert_eq!(refused("  sel:\n    Image: x\n  condition: sel and (").0, UnsupportedKind::Parse);
}

#[test]
fn correlation_documents_load_with_their_rules() {
    let text = "title: base\nid: base-rule\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n---\ntitle: many failures\ncorrelation:\n  type: event_count\n  rules:\n    - base-rule\n  group-by:\n    - IpAddress\n  timespan: 5m\n  condition:\n    gte: 10\nlevel: high\n";
    let (_, report) =
        SigmaEngine::load(&[RuleText { origin: "c.yml".into(), text: text.into() }], Mappings::embedded().expect("m"));
    // See: issue 11 (correlation rules were listed as unsupported).
    assert_eq!((report.loaded, report.correlations), (1, 1), "{:?}", report.unsupported);
    assert!(report.unsupported.is_empty());
}

#[test]
fn rules_for_logs_seawall_does_not_read_or_fields_iis_lacks_are_listed() {
    let (_, report) =
        engine_with("  category: antivirus", "  sel:\n    Signature|contains: 'ASPXSpy'\n  condition: sel");
    assert_eq!(report.unsupported[0].kind, UnsupportedKind::LogSource);
    let (_, report) =
        engine_with("  category: webserver", "  sel:\n    cs-x-forwarded-for: '1.2.3.4'\n  condition: sel");
    assert_eq!(report.unsupported[0].kind, UnsupportedKind::Field);
    assert!(report.unsupported[0].reason.contains("cs-x-forwarded-for"), "{}", report.unsupported[0].reason);
}

fn iis_hits(detection: &str, fields: &str, line: &str) -> usize {
    let (engine, report) = engine_with("  category: webserver", detection);
    assert_eq!(report.loaded, 1, "{:?}", report.unsupported);
    let schema = W3cSchema::parse(fields);
    let record = W3cRecord::new(&schema, line.as_bytes(), 1);
    let mut scratch = SigmaScratch::default();
    let mut hits = Vec::new();
    if engine.prefilter("iis", [line.as_bytes()], &mut scratch) {
        engine.evaluate(SigmaRecord::Line(&record), &mut scratch, &mut hits);
    }
    hits.len()
}

#[test]
fn iis_fields_are_read_under_sigma_names() {
    let fields = "date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status";
    let ua = "  sel:\n    cs-user-agent|contains: 'Nmap Scripting Engine'\n  condition: sel";
    let line = "2021-03-03 06:49:42 GET / - 198.51.100.7 Mozilla/5.0+(compatible;+Nmap+Scripting+Engine;+https://nmap.org/book/nse.html) 404";
    assert_eq!(iis_hits(ua, fields, line), 1, "IIS writes spaces in the user agent as +");
    assert_eq!(iis_hits(ua, fields, &line.replace("Nmap", "Zmap")), 0);
    // ...and rules that copy the stored form with '+' (SigmaHQ's HAFNIUM rule) match too.
    let stored = "  sel:\n    cs-user-agent: 'Mozilla/5.0+(compatible;+Baiduspider/2.0;++http://www.baidu.com/search/spider.html)'\n  condition: sel";
    let line = "2021-03-03 06:49:42 POST /owa/auth/x.aspx - 198.51.100.7 Mozilla/5.0+(compatible;+Baiduspider/2.0;++http://www.baidu.com/search/spider.html) 200";
    assert_eq!(iis_hits(stored, fields, line), 1);
    // cs-uri-query reads the whole request target (SigmaHQ's rules put paths there).
    let uri = "  sel:\n    cs-uri-query|contains|all: ['/ecp/default.aspx', '__VIEWSTATE=']\n    cs-method: GET\n    sc-status: 200\n  condition: sel";
    let line = "2020-02-25 10:00:00 GET /ecp/default.aspx __VIEWSTATEGENERATOR=B97B4E27&__VIEWSTATE=%2FwEyhAYAAQ 198.51.100.7 ysoserial 200";
    assert_eq!(iis_hits(uri, fields, line), 1);
    assert_eq!(iis_hits(uri, fields, &line.replace(" 200", " 302")), 0);
    assert_eq!(iis_hits(uri, fields, &line.replace("/ecp/default.aspx", "/owa/default.aspx")), 0);
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// See: issue 16 (the rule engine keeps detections in a hash map, so the selections and
// fields of a hit came out in a different order from run to run).
#[test]
fn a_hits_selections_and_fields_come_in_one_order() {
    let names = ["sel_e", "sel_b", "sel_d", "sel_a", "sel_c", "sel_f", "sel_h", "sel_g"];
    let fields = ["Image", "CommandLine", "ParentImage", "User", "Hashes", "Company", "Product", "Description"];
    let mut detection = String::new();
    for (name, field) in names.iter().zip(fields) {
        detection.push_str(&format!("  {name}:\n    {field}|contains: 'x'\n"));
    }
    detection.push_str("  condition: all of sel_*");
    let (engine, report) = engine_with("  product: windows", &detection);
    assert_eq!(report.loaded, 1, "{:?}", report.unsupported);
    let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, "x")).collect();
    let event = evtx_event(&values);
    let mut scratch = SigmaScratch::default();
    let mut hits = Vec::new();
    engine.scan_evtx(&event, &mut scratch, &mut hits);
    let hit = hits.first().expect("fires");
    let mut sorted = hit.selections.clone();
    sorted.sort();
    assert_eq!(hit.selections, sorted);
    assert_eq!(hit.selections.len(), names.len());
    let mut sorted_fields = hit.fields.clone();
    sorted_fields.sort();
    assert_eq!(hit.fields, sorted_fields);
}
