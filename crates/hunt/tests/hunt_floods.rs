//! Floods of bad or rule-firing lines stay bounded: findings fold, error records are
//! capped per file, and every hit and error is still counted. See: issue 14 (a 29 KB
//! gzip of 10 M malformed `#` lines gave 10 M error records; 3 M rule-firing lines gave
//! 3 M findings) and issue 11 (scanner noise burying the real findings).

use std::io::Write;
use std::path::PathBuf;

use seawall_hunt::{HuntOptions, HuntResult, hunt, spray::SprayConfig};
use seawall_rules::RuleSet;

const HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

fn run(path: PathBuf) -> HuntResult {
    let options = HuntOptions {
        paths: vec![path],
        from: None,
        to: None,
        threads: Some(2),
        max_evtx_bytes: 1 << 26,
        spray: SprayConfig::embedded().expect("spray config"),
        stage_times: false,
    };
    hunt(&options, &RuleSet::embedded().expect("rules"))
}

fn write_log(dir: &tempfile::TempDir, lines: impl Iterator<Item = Vec<u8>>) -> PathBuf {
    let path = dir.path().join("u_ex240501.log");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    file.write_all(HEADER.as_bytes()).expect("write");
    for line in lines {
        file.write_all(&line).expect("write");
    }
    file.flush().expect("flush");
    path
}

/// The hits a finding stands for: 1, or the count in its `folded` evidence.
fn hits(finding: &seawall_model::Finding) -> u64 {
    finding
        .evidence
        .iter()
        .find(|e| e.source == "folded")
        .and_then(|e| e.excerpt.as_deref())
        .and_then(|text| text.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

#[test]
fn a_flood_of_malformed_directive_lines_gives_a_capped_list_and_a_count() {
    let dir = tempfile::tempdir().expect("dir");
    let lines = 300_000u64;
    let path = write_log(&dir, (0..lines).map(|_| b"#\xff\xfe\n".to_vec()));
    let result = run(path);
    assert!(result.errors.len() <= 101, "{} error records", result.errors.len());
    assert_eq!(result.stats.errors_not_listed + result.errors.len() as u64 - 1, lines);
    let last = result.errors.iter().find(|e| e.message.contains("more errors in this file not listed"));
    assert!(last.is_some_and(|e| e.message.starts_with(&format!("{} more", lines - 100))), "{last:?}");
}

#[test]
fn repeated_hits_of_one_rule_from_one_source_fold_into_one_finding_per_window() {
    let dir = tempfile::tempdir().expect("dir");
    let lines = 120_000u64;
    // Three scanners, two hours: one line every 0.18 s.
    let path = write_log(
        &dir,
        (0..lines).map(|i| {
            let second = i * 6 / 100;
            format!(
                "2024-05-01 {:02}:{:02}:{:02} 10.0.0.5 POST /ecp/y.js - 443 - 203.0.113.{} curl/8.4.0 - 500 0 0 1\n",
                second / 3600,
                second / 60 % 60,
                second % 60,
                i % 3 + 1
            )
            .into_bytes()
        }),
    );
    let result = run(path);
    assert!(result.findings.iter().all(|f| f.rule.id == "SW-LOG-PROXYLOGON-IIS-POST"), "{:?}", result.findings[0]);
    assert_eq!(result.findings.len(), 6, "three sources, two windows");
    assert_eq!(result.findings.iter().map(hits).sum::<u64>(), lines, "every hit is counted");
    assert_eq!(result.stats.finding_hits, lines);
    let first = &result.findings[0];
    let folded = first.evidence.iter().find(|e| e.source == "folded").and_then(|e| e.excerpt.clone());
    let folded = folded.expect("folded evidence");
    assert!(
        folded.contains("from c-ip 203.0.113.1 to /ecp/y.js")
            && folded.contains("between 2024-05-01T00:00:00Z and 2024-05-01T00:59:59"),
        "{folded}"
    );
    assert_eq!(folded.matches(".log:").count(), 10, "a bounded sample of line references: {folded}");
}

#[test]
fn distinct_sources_beyond_the_per_file_cap_fold_per_rule_and_stay_counted() {
    let dir = tempfile::tempdir().expect("dir");
    let lines = 12_000u64;
    let path = write_log(
        &dir,
        (0..lines).map(|i| {
            format!(
                "2024-05-01 10:00:00 10.0.0.5 POST /ecp/y.js - 443 - 10.{}.{}.{} curl/8.4.0 - 500 0 0 1\n",
                i / 65536,
                i / 256 % 256,
                i % 256
            )
            .into_bytes()
        }),
    );
    let result = run(path);
    assert_eq!(result.findings.len(), 10_001);
    assert_eq!(result.findings.iter().map(hits).sum::<u64>(), lines);
}

#[test]
fn probes_from_many_addresses_fold_per_file_with_a_sample_of_the_addresses() {
    let dir = tempfile::tempdir().expect("dir");
    let lines = 5_000u64;
    let path = write_log(
        &dir,
        (0..lines).map(|i| {
            format!(
                "2024-05-01 10:{:02}:00 10.0.0.5 GET /aspnet_client/shell.aspx - 443 - 192.0.2.{} zgrab/0.x - 404 0 2 1\n",
                i % 60,
                i % 200
            )
            .into_bytes()
        }),
    );
    let result = run(path);
    assert_eq!(result.findings.len(), 1);
    let finding = &result.findings[0];
    assert_eq!((finding.rule.id.as_str(), finding.severity), ("SW-LOG-WEBSHELL-PROBE", seawall_model::Severity::Low));
    assert_eq!(hits(finding), lines);
    let folded =
        finding.evidence.iter().find(|e| e.source == "folded").and_then(|e| e.excerpt.clone()).unwrap_or_default();
    assert!(
        folded.contains("from this file")
            && folded.contains("sources: c-ip 192.0.2.0, c-ip 192.0.2.1,")
            && folded.ends_with(", ..."),
        "{folded}"
    );
}

#[test]
fn two_webshells_used_from_one_address_stay_two_findings() {
    let dir = tempfile::tempdir().expect("dir");
    let lines = [
        "2024-05-01 10:00:00 10.0.0.5 POST /aspnet_client/a.aspx - 443 - 198.51.100.9 curl/8.4.0 - 200 0 0 1\n",
        "2024-05-01 10:00:05 10.0.0.5 POST /owa/auth/b.aspx - 443 - 198.51.100.9 curl/8.4.0 - 200 0 0 1\n",
        "2024-05-01 10:00:09 10.0.0.5 POST /aspnet_client/a.aspx - 443 - 198.51.100.9 curl/8.4.0 - 200 0 0 1\n",
    ];
    let result = run(write_log(&dir, lines.iter().map(|l| l.as_bytes().to_vec())));
    let found: Vec<(&str, u64)> = result.findings.iter().map(|f| (f.rule.id.as_str(), hits(f))).collect();
    assert_eq!(found, vec![("SW-LOG-WEBSHELL-POST", 2), ("SW-LOG-WEBSHELL-POST", 1)]);
}
