//! The ProxyLogon, ProxyShell, ProxyNotShell and OWASSRF verdicts for every
//! build of the scraped Microsoft table in shared/fixtures, against an oracle
//! written independently from Microsoft's published fix builds (collected in
//! shared/research/exchange-network.md §4), not from `data/kb`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::civil::date;
use seawall_kb::{BuildNumber, BuildQuery, KnowledgeBase};

/// Per product line: the fixing build per CU (`major.minor.build` → fix), and
/// the first CU that already contains the fix.
struct Fix {
    per_cu: &'static [&'static str],
    contained_from: &'static str,
}

impl Fix {
    fn is_fixed(&self, build: BuildNumber) -> bool {
        // Any build of a CU that contains the fix, whatever revision it reports.
        if build.cu_key() >= parse(self.contained_from).cu_key() {
            return true;
        }
        self.per_cu.iter().map(|b| parse(b)).find(|fix| fix.cu_key() == build.cu_key()).is_some_and(|fix| build >= fix)
    }
}

fn parse(text: &str) -> BuildNumber {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// March 2021 SU (ProxyLogon; 2010 only CVE-2021-26857, fixed by RU32).
const PROXYLOGON: &[Fix] = &[
    Fix {
        per_cu: &[
            "15.2.221.18",
            "15.2.330.11",
            "15.2.397.11",
            "15.2.464.15",
            "15.2.529.13",
            "15.2.595.8",
            "15.2.659.12",
            "15.2.721.13",
            "15.2.792.10",
        ],
        contained_from: "15.2.858.5",
    },
    Fix {
        per_cu: &[
            "15.1.1415.10",
            "15.1.1466.16",
            "15.1.1531.12",
            "15.1.1591.18",
            "15.1.1713.10",
            "15.1.1779.8",
            "15.1.1847.12",
            "15.1.1913.12",
            "15.1.1979.8",
            "15.1.2044.13",
            "15.1.2106.13",
            "15.1.2176.9",
        ],
        contained_from: "15.1.2242.4",
    },
    Fix { per_cu: &["15.0.847.64", "15.0.1395.12", "15.0.1473.6", "15.0.1497.12"], contained_from: "15.0.9999.0" },
    Fix { per_cu: &[], contained_from: "14.3.513.0" },
];

/// April 2021 SU: CVE-2021-34473 and CVE-2021-34523.
const PROXYSHELL_APR: &[Fix] = &[
    Fix { per_cu: &["15.2.792.13", "15.2.858.10"], contained_from: "15.2.922.7" },
    Fix { per_cu: &["15.1.2176.12", "15.1.2242.8"], contained_from: "15.1.2308.8" },
    Fix { per_cu: &["15.0.1497.15"], contained_from: "15.0.9999.0" },
];

/// May 2021 SU: CVE-2021-31207.
const PROXYSHELL_MAY: &[Fix] = &[
    Fix { per_cu: &["15.2.792.15", "15.2.858.12"], contained_from: "15.2.922.7" },
    Fix { per_cu: &["15.1.2176.14", "15.1.2242.10"], contained_from: "15.1.2308.8" },
    Fix { per_cu: &["15.0.1497.18"], contained_from: "15.0.9999.0" },
];

/// November 2022 SU: ProxyNotShell and OWASSRF.
const NOV22: &[Fix] = &[
    Fix { per_cu: &["15.2.986.36", "15.2.1118.20"], contained_from: "15.2.1258.12" },
    Fix { per_cu: &["15.1.2375.37", "15.1.2507.16"], contained_from: "15.1.9999.0" },
    Fix { per_cu: &["15.0.1497.44"], contained_from: "15.0.9999.0" },
];

fn fix_for(fixes: &'static [Fix], build: BuildNumber) -> Option<&'static Fix> {
    fixes.iter().find(|fix| {
        let first = fix.per_cu.first().copied().unwrap_or(fix.contained_from);
        let key = parse(first);
        key.major == build.major && key.minor == build.minor
    })
}

/// The open CVEs of each cluster the oracle expects; `None` when the cluster does not apply.
fn expected(build: BuildNumber) -> BTreeMap<&'static str, Option<Vec<&'static str>>> {
    let se = build.major == 15 && build.minor == 2 && build.build >= 2562;
    let open = |fixes: &'static [Fix], cves: &[&'static str]| -> Option<Vec<&'static str>> {
        if se {
            return None;
        }
        let fix = fix_for(fixes, build)?;
        Some(if fix.is_fixed(build) { vec![] } else { cves.to_vec() })
    };
    let mut clusters = BTreeMap::new();
    let logon_cves: &[&str] = if build.major == 14 {
        &["CVE-2021-26857"]
    } else {
        &["CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"]
    };
    clusters.insert("ProxyLogon", open(PROXYLOGON, logon_cves));
    let shell = match (
        open(PROXYSHELL_APR, &["CVE-2021-34473", "CVE-2021-34523"]),
        open(PROXYSHELL_MAY, &["CVE-2021-31207"]),
    ) {
        (Some(mut apr), Some(may)) => {
            apr.extend(may);
            apr.sort();
            Some(apr)
        }
        _ => None,
    };
    clusters.insert("ProxyShell", shell);
    clusters.insert("ProxyNotShell", open(NOV22, &["CVE-2022-41040", "CVE-2022-41082"]));
    clusters.insert("OWASSRF", open(NOV22, &["CVE-2022-41080", "CVE-2022-41082"]));
    clusters
}

fn fixture_builds() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/exchange/builds/righel-ms-exchange-unique-versions-dict.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).expect("fixture is JSON");
    table.keys().filter(|k| k.starts_with("14.3.") || k.starts_with("15.")).cloned().collect()
}

#[test]
fn cluster_cves_are_right_for_every_build_in_the_fixture_table() {
    let kb = KnowledgeBase::embedded().expect("embedded kb loads");
    let builds = fixture_builds();
    assert!(builds.len() > 300, "fixture table has {} builds", builds.len());
    let mut failures = Vec::new();
    for text in &builds {
        let build = parse(text);
        let report = kb.assess(BuildQuery::parse(text).expect("parses"), text, date(2026, 11, 30)).expect("known");
        for (cluster, want) in expected(build) {
            let got = report.clusters.iter().find(|c| c.name == cluster).map(|c| {
                let mut open: Vec<&str> = c.cves.iter().map(String::as_str).collect();
                open.sort();
                open
            });
            let want = want.map(|mut w| {
                w.sort();
                w
            });
            if got != want {
                failures.push(format!("{text} {cluster}: got {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} builds wrong:\n{}", failures.len(), builds.len(), failures.join("\n"));
}
