//! Table-driven `kb build` cases: one line of `cases/builds.tsv` per build.

use jiff::civil::date;
use seawall_kb::{BuildQuery, BuildReport, CveStatus, KnowledgeBase, Precision};

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::Exact => "exact",
        Precision::Between => "between",
        Precision::Cu => "cu",
        Precision::NewerThanKnown => "newer-than-known",
        Precision::Product => "product",
    }
}

fn dash(text: &str) -> Option<&str> {
    (text != "-").then_some(text)
}

/// True when `item` (a CVE id or a cluster name) is open in the report.
fn is_open(report: &BuildReport, item: &str) -> bool {
    if item.starts_with("CVE-") {
        return report.open_cves.iter().any(|c| c == item);
    }
    report.clusters.iter().any(|c| c.name == item && c.status == CveStatus::Open)
}

#[test]
fn every_case_in_the_table_gives_the_expected_answer() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let table = include_str!("cases/builds.tsv");
    let mut failures = Vec::new();
    let mut cases = 0;
    for (number, line) in table.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        cases += 1;
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 8, "line {}: {line:?}", number + 1);
        let query = BuildQuery::parse(cols[0]).expect("case input parses");
        let report = kb.assess(query, cols[0], date(2026, 11, 30)).expect("case input is a known product");
        let mut fail = |what: String| failures.push(format!("line {} {}: {what}", number + 1, cols[0]));
        if report.product_id.as_deref() != Some(cols[1]) {
            fail(format!("product {:?}, expected {}", report.product_id, cols[1]));
        }
        if report.cu.as_deref() != dash(cols[2]) {
            fail(format!("cu {:?}, expected {}", report.cu, cols[2]));
        }
        if report.su.as_deref() != dash(cols[3]) {
            fail(format!("su {:?}, expected {}", report.su, cols[3]));
        }
        if precision_name(report.precision) != cols[4] {
            fail(format!("precision {:?}, expected {}", report.precision, cols[4]));
        }
        for item in cols[5].split(' ').filter_map(dash) {
            if !is_open(&report, item) {
                fail(format!("{item} should be open"));
            }
        }
        for item in cols[6].split(' ').filter_map(dash) {
            if is_open(&report, item) {
                fail(format!("{item} should not be open"));
            }
        }
        let passed = report.end_of_support.as_ref().map(|e| if e.passed { "yes" } else { "no" }).unwrap_or("-");
        let expected_passed = match cols[7] {
            "no" if report.product_id.as_deref() == Some("SE") => "-",
            other => other,
        };
        if passed != expected_passed {
            fail(format!("end of support passed {passed}, expected {}", cols[7]));
        }
    }
    assert!(cases >= 60, "the table must hold at least 60 builds, has {cases}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn exchange_online_is_never_mapped_to_on_premises_cves() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let query = BuildQuery::parse("15.20.7452.28").expect("parses");
    let report = kb.assess(query, "15.20.7452.28", date(2026, 11, 30)).expect("known");
    assert!(!report.on_premises);
    assert_eq!(report.product.as_deref(), Some("Exchange Online"));
    assert!(report.open_cves.is_empty() && report.possibly_open_cves.is_empty() && report.clusters.is_empty());
    assert!(report.recommended.is_none());
}

#[test]
fn cu_precision_separates_certain_from_possible() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    // 2019 CU9: ProxyShell was fixed by CU9 SUs, ProxyNotShell never reached CU9.
    let report =
        kb.assess(BuildQuery::parse("15.2.858").expect("parses"), "15.2.858", date(2026, 11, 30)).expect("known");
    assert!(report.possibly_open_cves.iter().any(|c| c == "CVE-2021-34473"));
    assert!(!report.open_cves.iter().any(|c| c == "CVE-2021-34473"));
    assert!(report.open_cves.iter().any(|c| c == "CVE-2022-41082"));
    let verdict = report.cves.iter().find(|v| v.id == "CVE-2021-34473").expect("listed");
    let fix = verdict.fix.as_ref().expect("CU9 has a fixing update");
    assert_eq!(fix.build.to_string(), "15.2.858.10");
    assert_eq!(fix.name, "Exchange Server 2019 CU9 Apr21SU");
}

#[test]
fn revision_below_the_official_build_is_read_as_the_cu() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let report =
        kb.assess(BuildQuery::parse("15.2.858.2").expect("parses"), "15.2.858.2", date(2026, 11, 30)).expect("known");
    assert_eq!(report.name.as_deref(), Some("Exchange Server 2019 CU9"));
    assert!(report.placement.as_deref().is_some_and(|p| p.contains("15.2.858.5")));
    let recommended = report.recommended.expect("has a recommendation");
    assert_eq!(recommended.target.build.to_string(), "15.2.1748.49");
    let upgrade = report.upgrade.expect("2019 is past end of support");
    assert_eq!(upgrade.target.name, "Exchange Server SE RTM Aug26SU");
}

#[test]
fn mitigation_service_presence_and_cutoff() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let eems = |b: &str| {
        kb.assess(BuildQuery::parse(b).expect("parses"), b, date(2026, 11, 30)).expect("known").eems.expect("on-prem")
    };
    assert!(!eems("15.2.922.7").present, "2019 CU10 predates EEMS");
    let cu11 = eems("15.2.986.5");
    assert!(cu11.present && cu11.receives_mitigations == Some(false), "CU11 below Mar23SU is cut off");
    assert_eq!(eems("15.2.986.42").receives_mitigations, Some(true));
    assert_eq!(eems("15.1.2375.37").receives_mitigations, Some(false), "2016 CU22 never got Mar23SU");
    assert_eq!(eems("15.1.2507").receives_mitigations, None, "CU only: depends on the SU");
    assert_eq!(eems("15.2.2562.17").receives_mitigations, Some(true));
    assert!(!eems("15.0.1497.48").present);
}

#[test]
fn end_of_support_depends_on_the_date_asked() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let q = BuildQuery::parse("15.2.1748.10").expect("parses");
    let before = kb.assess(q, "15.2.1748.10", date(2025, 10, 14)).expect("known");
    let after = kb.assess(q, "15.2.1748.10", date(2025, 10, 15)).expect("known");
    assert_eq!(before.end_of_support.map(|e| e.passed), Some(false));
    assert_eq!(after.end_of_support.map(|e| e.passed), Some(true));
    assert!(before.upgrade.is_none() && after.upgrade.is_some());
}

#[test]
fn unknown_products_are_errors_and_future_ones_are_newer_than_known() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    assert!(kb.assess(BuildQuery::parse("13.1.1.1").expect("parses"), "13.1.1.1", date(2026, 11, 30)).is_err());
    let future =
        kb.assess(BuildQuery::parse("16.0.100.1").expect("parses"), "16.0.100.1", date(2026, 11, 30)).expect("future");
    assert_eq!(future.precision, Precision::NewerThanKnown);
}

#[test]
fn malformed_input_is_rejected() {
    for bad in ["", "15.2", "15.2.858.5.1", "fifteen", "15.2.858.x", "Version 15.2", "15.2.858.5; rm -rf /"] {
        assert!(BuildQuery::parse(bad).is_err(), "{bad:?}");
    }
}

// See: issue 13. A revision strictly between two known updates of one CU (a re-released
// update, a hotfix build) is neither of them: the upper update's fixes may be installed.
#[test]
fn a_revision_between_two_updates_is_between_and_never_certainly_open() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    // 2019 CU9: Apr21SU is 15.2.858.10, May21SU 15.2.858.12 (CVE-2021-31207 fixed by May21SU).
    let report =
        kb.assess(BuildQuery::parse("15.2.858.11").expect("parses"), "15.2.858.11", date(2026, 11, 30)).expect("known");
    assert_eq!(report.precision, Precision::Between);
    let json = serde_json::to_value(&report).expect("serialises");
    assert_eq!(json["precision"], "between");
    let placement = report.placement.as_deref().expect("placement names both builds");
    assert!(placement.contains("15.2.858.10") && placement.contains("15.2.858.12"), "{placement}");
    assert!(report.possibly_open_cves.iter().any(|c| c == "CVE-2021-31207"), "{:?}", report.possibly_open_cves);
    assert!(!report.open_cves.iter().any(|c| c == "CVE-2021-31207"));
    // Fixed by Apr21SU, below it: certainly fixed.
    assert!(!report.cves.iter().any(|v| v.id == "CVE-2021-34473"));
    // Never reached CU9 at all: certainly open.
    assert!(report.open_cves.iter().any(|c| c == "CVE-2022-41082"));
    // A build that is in the table stays exact.
    let exact =
        kb.assess(BuildQuery::parse("15.2.858.12").expect("parses"), "15.2.858.12", date(2026, 11, 30)).expect("known");
    assert_eq!(exact.precision, Precision::Exact);
}
