//! Authentication verdicts across files. See: issue 11 (a success after failures must be
//! failures of that account from that source; daily logs cut an attack at midnight).

use seawall_hunt::{HuntOptions, hunt, spray::SprayConfig};
use seawall_model::Severity;
use seawall_rules::RuleSet;

const HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

#[test]
fn a_spray_before_midnight_and_the_guessed_password_after_it_are_joined() {
    let dir = tempfile::tempdir().expect("dir");
    let mut day1 = HEADER.to_owned();
    for k in 0..15 {
        day1.push_str(&format!(
            "2024-05-06 23:55:{:02} 10.0.0.5 POST /EWS/Exchange.asmx - 443 user{k:02}@example.org 203.0.113.77 fasthttp - 401 1 1326 3\n",
            k * 3
        ));
    }
    let mut day2 = HEADER.to_owned();
    // An ordinary user first, then the sprayed account from the spraying address.
    day2.push_str("2024-05-07 00:01:00 10.0.0.5 POST /mapi/emsmdb/ - 443 alice@example.org 10.1.2.3 Microsoft+Office/16.0 - 200 0 0 3\n");
    day2.push_str("2024-05-07 00:03:00 10.0.0.5 POST /EWS/Exchange.asmx - 443 user07@example.org 203.0.113.77 fasthttp - 200 0 0 3\n");
    std::fs::write(dir.path().join("u_ex240506.log"), day1).expect("write");
    std::fs::write(dir.path().join("u_ex240507.log"), day2).expect("write");
    let options = HuntOptions {
        paths: vec![dir.path().to_owned()],
        from: None,
        to: None,
        threads: Some(2),
        max_evtx_bytes: 1 << 26,
        spray: SprayConfig::embedded().expect("spray config"),
        stage_times: false,
    };
    let result = hunt(&options, &RuleSet::embedded().expect("rules"));
    let found: Vec<(&str, Severity)> = result.findings.iter().map(|f| (f.rule.id.as_str(), f.severity)).collect();
    assert!(found.contains(&("SW-LOG-PASSWORD-SPRAY", Severity::High)), "{found:?}");
    let compromised = result.findings.iter().find(|f| f.rule.id == "SW-LOG-SUCCESS-AFTER-FAILURES");
    let compromised = compromised.unwrap_or_else(|| panic!("no success after failures in {found:?}"));
    assert_eq!((compromised.severity, compromised.outcome.as_deref()), (Severity::Critical, Some("success")));
    assert!(compromised.rule.title.contains("user07@example.org"), "{}", compromised.rule.title);
    assert!(
        !found
            .iter()
            .any(|(_, s)| *s >= Severity::Medium && result.findings.iter().any(|f| f.rule.title.contains("alice")))
    );
}
