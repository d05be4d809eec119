//! Log detections as data. A rule names the logs it reads, literal prefilters,
//! field conditions (`all`, `any`, `none`), how the outcome is told (attempt or
//! success), and the source its pattern comes from. No expressions, no scripts:
//! a new capability is a new condition kind here, in Rust.

mod compile;
mod glob;
mod schema;

pub use compile::{CompiledRule, Outcome, RuleProblem, RuleSet, RuleSetError};
pub use schema::{Condition, LogFamily, OutcomeSpec, RuleFile, RuleSpec};

/// The detections shipped in `data/detections/`, compiled into the binary.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("proxylogon.toml", include_str!("../../../data/detections/proxylogon.toml")),
    ("later-chains.toml", include_str!("../../../data/detections/later-chains.toml")),
    ("webshell-use.toml", include_str!("../../../data/detections/webshell-use.toml")),
    ("exchange-management.toml", include_str!("../../../data/detections/exchange-management.toml")),
    ("post-exploitation.toml", include_str!("../../../data/detections/post-exploitation.toml")),
    ("evtx-iis-worker.toml", include_str!("../../../data/detections/evtx-iis-worker.toml")),
    ("evtx-privexchange.toml", include_str!("../../../data/detections/evtx-privexchange.toml")),
    ("evtx-exchange-transport.toml", include_str!("../../../data/detections/evtx-exchange-transport.toml")),
];
