//! The knowledge base must be sound before any verdict drawn from it is.

use seawall_kb::KnowledgeBase;

#[test]
fn embedded_knowledge_base_is_consistent() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let problems = kb.lint();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(kb.cves().len() >= 120, "every Exchange CVE since 2020: {}", kb.cves().len());
    for cluster in ["ProxyLogon", "ProxyShell", "ProxyNotShell", "OWASSRF"] {
        assert!(kb.clusters().iter().any(|c| c.name == cluster), "{cluster}");
    }
}

#[test]
fn every_build_row_and_cve_cites_a_source() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    assert!(kb.rows().iter().all(|row| row.source.starts_with("https://")));
    assert!(kb.cves().iter().all(|cve| cve.sources.iter().any(|s| s.starts_with("https://"))));
}

#[test]
fn release_dates_increase_within_every_cu() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    for group in kb.groups() {
        let dates: Vec<_> = group.rows.iter().map(|&i| kb.row(i).released).collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{} {}", group.line, group.cu);
    }
}

const PRODUCTS: &str = r#"
[[product]]
id = "2019"
name = "Exchange Server 2019"
major = 15
minor = 2
released = "2018-10-22"
successor = "SE"
sources = ["test"]
"#;

const CVES: &str = r#"
[[cve]]
id = "CVE-2021-0001"
published = "2021-03-02"
fixed_by = ["Mar21SU"]
products = ["2019"]
msrc_affected = ["15.2.792", "15.2.999"]
sources = ["test"]

[[cve]]
id = "CVE-2021-0002"
published = "2021-03-02"
fixed_by = ["Jan30SU"]
products = ["2019"]
sources = ["test"]

[[cluster]]
name = "Broken"
cves = ["CVE-2021-0001", "CVE-2099-0001"]
summary = "test"
sources = ["test"]
"#;

#[test]
fn lint_reports_each_kind_of_inconsistency() {
    let builds = "product,cu,update,build,released,kb,source\n\
        2019,CU8,,15.2.792.3,2020-12-15,,s\n\
        2019,CU8,Mar21SU,15.2.792.10,2020-03-02,,s\n\
        2019,CU8,Mar21SU,15.2.792.11,2021-03-02,,s\n\
        2019,CU9,,15.2.792.5,2021-03-16,,s\n";
    let kb = KnowledgeBase::from_texts(PRODUCTS, builds, CVES, "test").expect("loads");
    let problems = kb.lint().join("\n");
    for expected in [
        "is dated before the lower build",
        "two rows named 2019 CU8 Mar21SU",
        "overlaps",
        "names unknown successor SE",
        "which no build carries",
        "msrc_affected 15.2.999 is no CU",
        "cluster Broken names undefined CVE-2099-0001",
    ] {
        assert!(problems.contains(expected), "missing {expected:?} in:\n{problems}");
    }
}

#[test]
fn a_row_of_an_unknown_product_is_a_load_error() {
    let builds = "product,cu,update,build,released,kb,source\n2099,CU1,,15.2.1.1,2020-01-01,,s\n";
    let err =
        KnowledgeBase::from_texts(PRODUCTS, builds, CVES, "test").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("unknown product"), "{err}");
}

#[test]
fn a_malformed_row_names_its_line() {
    let builds = "product,cu,update,build,released,kb,source\n2019,CU8,,15.2.792,2020-12-15,,s\n";
    let err =
        KnowledgeBase::from_texts(PRODUCTS, builds, CVES, "test").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("builds.csv") && err.contains("row 2"), "{err}");
}
