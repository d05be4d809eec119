//! The hunt's code detectors as data: every `SW-*` id the authentication judge and the log
//! IOC matcher emit has its title, kind, severity, confidence, remediation, references and
//! source in `data/detectors/hunt.toml`, embedded in the binary. The checks name their
//! detector by [`DetectorId`]; the unit tests hold the file and this list equal.

use seawall_model::catalog::{CodeDetector, EmbeddedCatalog, Uses};

/// The embedded catalog, parsed on first use and checked to describe every [`DetectorId`].
pub static CATALOG: EmbeddedCatalog<DetectorId> =
    EmbeddedCatalog::new("data/detectors/hunt.toml", include_str!("../../../../data/detectors/hunt.toml"));

/// Every code detector of the hunt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectorId {
    PasswordSpray,
    BruteForce,
    SuccessAfterFailures,
    StaleClientFailures,
    SprayToolAgent,
    IocIp,
    IocUserAgent,
}

/// What the authentication verdicts fill in.
const ACCOUNT_SOURCE_FAILURES: &[&str] = &["account", "source", "failures"];

impl CodeDetector for DetectorId {
    const ALL: &'static [DetectorId] = &[
        DetectorId::PasswordSpray,
        DetectorId::BruteForce,
        DetectorId::SuccessAfterFailures,
        DetectorId::StaleClientFailures,
        DetectorId::SprayToolAgent,
        DetectorId::IocIp,
        DetectorId::IocUserAgent,
    ];

    fn as_str(self) -> &'static str {
        match self {
            DetectorId::PasswordSpray => "SW-LOG-PASSWORD-SPRAY",
            DetectorId::BruteForce => "SW-LOG-BRUTE-FORCE",
            DetectorId::SuccessAfterFailures => "SW-LOG-SUCCESS-AFTER-FAILURES",
            DetectorId::StaleClientFailures => "SW-LOG-STALE-CLIENT-FAILURES",
            DetectorId::SprayToolAgent => "SW-LOG-SPRAY-TOOL-AGENT",
            DetectorId::IocIp => "SW-IOC-IP",
            DetectorId::IocUserAgent => "SW-IOC-USER-AGENT",
        }
    }

    fn uses(self) -> Uses {
        match self {
            DetectorId::PasswordSpray => Uses::new(&["source", "accounts", "minutes"], &[]),
            DetectorId::BruteForce => Uses::new(&["whom", "source", "failures", "minutes"], &[]),
            DetectorId::SuccessAfterFailures => Uses::new(ACCOUNT_SOURCE_FAILURES, &["other-client", "no-attack"]),
            DetectorId::StaleClientFailures => Uses::new(&["account", "source"], &[]),
            DetectorId::SprayToolAgent => Uses::new(&["source"], &[]),
            DetectorId::IocIp | DetectorId::IocUserAgent => Uses::new(&["actor"], &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_describes_exactly_the_detectors_of_the_code() {
        assert_eq!(CATALOG.disagreements(), Vec::<String>::new());
    }
}
