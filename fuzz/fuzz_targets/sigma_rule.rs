#![no_main]
//! Sigma rule files from hostile bytes: parse, support checks, rewrites, compilation and
//! prefilter extraction, then matching whatever loaded against a W3C line.

use libfuzzer_sys::fuzz_target;
use seawall_sigma::{Mappings, RuleText, SigmaEngine, SigmaRecord, SigmaScratch};
use seawall_sources::w3c::{W3cRecord, W3cSchema};

const LINE: &[u8] = b"2021-03-03 06:49:42 10.0.0.5 POST /ecp/y.js a=b 443 - 198.51.100.7 python-requests/2.25.1 - 200 0 0 12";

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(mappings) = Mappings::embedded() else { return };
    let text = String::from_utf8_lossy(data).into_owned();
    let (engine, report) = SigmaEngine::load(&[RuleText { origin: "fuzz.yml".into(), text }], mappings);
    // rules() also lists correlations and the internal event-counting half of each v1 aggregation.
    assert!(report.loaded + report.correlations <= engine.rules().len());
    let schema = W3cSchema::parse(seawall_sources::w3c::IIS_DEFAULT_FIELDS);
    let record = W3cRecord::new(&schema, LINE, 1);
    let mut scratch = SigmaScratch::default();
    let mut hits = Vec::new();
    for family in ["iis", "httpproxy"] {
        if engine.prefilter(family, [LINE], &mut scratch) {
            engine.evaluate(SigmaRecord::Line(&record), &mut scratch, &mut hits);
        }
    }
});
