//! Sigma rules in a hunt: the shared SigmaHQ rules over the corpus evidence fire where they
//! should, stay silent on the benign IIS logs, and change nothing of seawall's own findings.

use std::path::{Path, PathBuf};

use seawall_hunt::{Extras, HuntOptions, HuntResult, hunt, hunt_with, spray::SprayConfig};
use seawall_model::{Confidence, Finding, Location, RuleSource, Severity};
use seawall_rules::RuleSet;
use seawall_sigma::SigmaEngine;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
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

fn sigma() -> SigmaEngine {
    let (engine, report) = SigmaEngine::load_paths(&[shared().join("rules/sigma")]).expect("mappings");
    assert_eq!(report.loaded, 116);
    engine
}

fn run(paths: Vec<PathBuf>, threads: usize, engine: &SigmaEngine) -> HuntResult {
    let rules = RuleSet::embedded().expect("rules");
    hunt_with(&options(paths, threads), &rules, &Extras { sigma: Some(engine), ..Extras::default() })
}

fn sigma_findings(result: &HuntResult) -> Vec<&Finding> {
    result.findings.iter().filter(|f| f.rule.source == RuleSource::Sigma).collect()
}

fn file_of(finding: &Finding) -> &str {
    match &finding.location {
        Location::File { path, .. } => path.rsplit('/').next().unwrap_or_default(),
        Location::Host { host, .. } => host,
    }
}

/// (file name fragment, Sigma rule title) pairs the corpus must give.
const EXPECTED: &[(&str, &str)] = &[
    ("memdump_comsvcs_minidump", "Process Memory Dump Via Comsvcs.DLL"),
    ("LM_typical_IIS_webshell", "Suspicious Process By Web Server Process"),
    ("iis_pwd_and_config_discovery_appcmd", "Microsoft IIS Service Account Password Dumped"),
    ("iis_pwd_and_config_discovery_appcmd", "Webshell Hacking Activity Patterns"),
    ("Powershell_4104_MiniDumpWriteDump_Lsass", "PowerShell Get-Process LSASS in ScriptBlock"),
    ("sysmon_10_11_lsass_memdump", "LSASS Process Memory Dump Files"),
    ("sysmon_10_11_lsass_memdump", "LSASS Memory Access by Tool With Dump Keyword In Name"),
    ("Failed_to_install_an_Exchange_transport_agent", "Failed MSExchange Transport Agent Installation"),
];

#[test]
fn shared_rules_fire_on_the_corpus_evtx_where_they_should() {
    let engine = sigma();
    let result = run(vec![shared().join("logs/evtx")], 2, &engine);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let found: Vec<(&str, &str)> =
        sigma_findings(&result).iter().map(|f| (file_of(f), f.rule.title.as_str())).collect();
    for (file, title) in EXPECTED {
        assert!(found.iter().any(|(f, t)| f.contains(file) && t == title), "{title} on {file}: {found:#?}");
    }
    // The spraying samples fire only the shared aggregation rules about spraying (the legacy
    // `| count(...) by ... > N` conditions, judged in their timeframe); the group change fires none.
    const SPRAY_AGGREGATIONS: &[&str] = &[
        "Password Spraying via Explicit Credentials",
        "Disabled Users Failing To Authenticate From Source Using Kerberos",
        "Valid Users Failing to Authenticate From Single Source Using Kerberos",
    ];
    assert!(found.iter().any(|(f, t)| f.contains("password-spray") && *t == SPRAY_AGGREGATIONS[0]), "{found:#?}");
    for (file, title) in &found {
        if file.contains("password-spray") || file.contains("Kerbrute") {
            assert!(SPRAY_AGGREGATIONS.contains(title), "{title} on {file}");
        }
        assert!(!file.contains("Exchange_admin_group"), "{title} on {file}");
    }
    let comsvcs = sigma_findings(&result)
        .into_iter()
        .find(|f| f.rule.title == "Process Memory Dump Via Comsvcs.DLL")
        .expect("comsvcs finding");
    assert_eq!(comsvcs.rule.id, "646ea171-dded-4578-8a4d-65e9822892e3");
    assert_eq!(comsvcs.severity, Severity::High);
    assert_eq!(comsvcs.confidence, Confidence::Medium, "status: test");
    assert!(!comsvcs.references.is_empty());
    assert!(comsvcs.time.is_some());
    assert!(matches!(comsvcs.location, Location::File { record: Some(_), .. }));
    let about = comsvcs.evidence.iter().find(|e| e.source == "sigma").expect("sigma evidence");
    assert!(about.display_text().contains("attack.t1003.001"), "{}", about.display_text());
    assert!(comsvcs.evidence.iter().any(|e| e.source == "fields" && e.display_text().contains("comsvcs")));
}

#[test]
fn shared_rules_stay_silent_on_the_benign_iis_logs() {
    let engine = sigma();
    let benign: Vec<PathBuf> = [
        "elastic-beats_access-full.log",
        "elastic-beats_test-iis-7.5.log",
        "elastic-integrations_test-iis10-access.log",
    ]
    .iter()
    .map(|n| shared().join("logs/iis_w3c").join(n))
    .collect();
    let result = run(benign, 2, &engine);
    assert!(result.stats.events > 0);
    let loud = sigma_findings(&result);
    assert!(loud.is_empty(), "{loud:#?}");
}

#[test]
fn web_rules_read_iis_and_httpproxy_logs() {
    let engine = sigma();
    let dir = tempfile::tempdir().expect("dir");
    let iis = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n\
2021-08-09 10:00:00 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 198.51.100.7 python-requests/2.25.1 - 200 0 0 12\n\
2020-02-25 10:00:00 10.0.0.5 GET /ecp/default.aspx __VIEWSTATEGENERATOR=B97B4E27&__VIEWSTATE=%2FwEyhAYAAQ 443 - 198.51.100.7 ysoserial - 200 0 0 12\n\
2021-08-09 10:00:01 10.0.0.5 GET /owa/ - 443 - 198.51.100.8 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 12\n";
    std::fs::write(dir.path().join("u_ex210809.log"), iis).expect("write");
    let proxy = "#Software: Microsoft Exchange Server\n#Log-type: HttpProxy Logs\n#Fields: DateTime,RequestId,UrlHost,UrlStem,UrlQuery,Method,HttpStatus,UserAgent,ClientIpAddress,AnchorMailbox\n\
2021-08-09T10:00:00.000Z,1,mail.x,/autodiscover/autodiscover.json,@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com,GET,200,python-requests/2.25.1,198.51.100.7,\n";
    let proxy_dir = dir.path().join("Logging/HttpProxy/Autodiscover");
    std::fs::create_dir_all(&proxy_dir).expect("dir");
    std::fs::write(proxy_dir.join("HttpProxy_2021080910-1.LOG"), proxy).expect("write");
    let result = run(vec![dir.path().to_owned()], 1, &engine);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let found: Vec<(&str, &str)> =
        sigma_findings(&result).iter().map(|f| (file_of(f), f.rule.title.as_str())).collect();
    assert!(found.contains(&("u_ex210809.log", "Successful Exchange ProxyShell Attack")), "{found:#?}");
    assert!(found.contains(&("HttpProxy_2021080910-1.LOG", "Successful Exchange ProxyShell Attack")), "{found:#?}");
    let viewstate = sigma_findings(&result)
        .into_iter()
        .find(|f| f.rule.id == "fce2c2e2-0fb5-41ab-a14c-5391e1fd70a5")
        .expect("CVE-2020-0688 rule fires");
    assert_eq!(viewstate.cves, vec!["CVE-2020-0688".to_owned()]);
    assert_eq!(viewstate.severity, Severity::Critical);
    assert!(matches!(viewstate.location, Location::File { line: Some(4), .. }));
    assert!(!found.iter().any(|(_, t)| t.contains("User Agent")), "the benign line is silent: {found:#?}");
}

#[test]
fn seawall_findings_are_unchanged_and_output_is_deterministic() {
    let engine = sigma();
    let rules = RuleSet::embedded().expect("rules");
    let without = hunt(&options(vec![shared().join("logs")], 2), &rules);
    let one = run(vec![shared().join("logs")], 1, &engine);
    let many = run(vec![shared().join("logs")], 4, &engine);
    let native: Vec<&Finding> = one.findings.iter().filter(|f| f.rule.source != RuleSource::Sigma).collect();
    let render = |f: &[&Finding]| serde_json::to_string(f).expect("json");
    assert_eq!(render(&native), render(&without.findings.iter().collect::<Vec<_>>()));
    let all = |r: &HuntResult| serde_json::to_string(&r.findings).expect("json");
    assert_eq!(all(&one), all(&many));
    assert!(sigma_findings(&one).len() >= EXPECTED.len());
}

#[test]
fn the_prefilter_changes_no_finding() {
    let mut engine = sigma();
    let with = run(vec![shared().join("logs")], 2, &engine);
    engine.set_prefilter(false);
    let without = run(vec![shared().join("logs")], 2, &engine);
    let render = |r: &HuntResult| serde_json::to_string(&sigma_findings(r)).expect("json");
    assert_eq!(render(&with), render(&without));
}
