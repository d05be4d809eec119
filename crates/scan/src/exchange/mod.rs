//! Exchange over HTTP(S): the read-only probe plan, the fingerprint, the assessment.

pub mod active;
pub mod assess;
pub mod fingerprint;
pub mod parse;
pub mod plan;
pub mod probe;
pub mod webshells;
