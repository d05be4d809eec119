//! The scanner's code detectors as data: every `SW-*` id the scan emits has its title,
//! kind, severity, confidence, remediation, references and source in
//! `data/detectors/scan.toml`, embedded in the binary. The checks stay in Rust and name
//! their detector by [`DetectorId`]; the unit tests hold the file and this list equal,
//! placeholders, variants and texts included, so a typo fails the build's tests rather
//! than a scan. The catalog's schema is shared with the hunt's detectors
//! ([`seawall_model::catalog`]).

pub use seawall_model::catalog::{
    Catalog, CatalogError, CodeDetector, Described, Detector, EmbeddedCatalog, Uses, Variant,
};

/// Where the embedded catalog comes from, for errors and listings.
pub const FILE: &str = "data/detectors/scan.toml";
static CATALOG: EmbeddedCatalog<DetectorId> =
    EmbeddedCatalog::new(FILE, include_str!("../../../../data/detectors/scan.toml"));

/// Every code detector of the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectorId {
    TlsExpired,
    TlsNotYetValid,
    TlsSelfSigned,
    TlsNameMismatch,
    TlsWeakKey,
    TlsLegacyVersion,
    MailPreauth,
    MailCleartextAuth,
    MailNoTls,
    MailStarttlsBroken,
    RsyncOpenModule,
    RsyncVulnerable,
    HttpOwaLookalike,
    ExchOnline,
    HttpInternalName,
    ExchVersionConflict,
    ExchDetected,
    ExchCluster,
    ExchExploitedCves,
    ExchOpenCves,
    ExchCuOnlyCves,
    ExchEndOfSupport,
    ExchNoEmergencyMitigation,
    ExchNewerThanKnown,
    ActiveProxyLogon,
    ActiveProxyShell,
    ActiveProxyNotShellMitigated,
    ActiveProxyNotShellUnmitigated,
    ExchWebshellPath,
}

const fn uses(placeholders: &'static [&'static str], variants: &'static [&'static str]) -> Uses {
    Uses::new(placeholders, variants)
}

/// The shared texts of the catalog the code uses (`[texts]`).
pub const SHARED_TEXTS: &[&str] = &["install", "then-move"];

/// Placeholders of the kb verdicts: the build's name, and the update to install.
const KB: &[&str] = &["count", "version_name", "install"];

impl DetectorId {
    pub const ALL: [DetectorId; 29] = [
        DetectorId::TlsExpired,
        DetectorId::TlsNotYetValid,
        DetectorId::TlsSelfSigned,
        DetectorId::TlsNameMismatch,
        DetectorId::TlsWeakKey,
        DetectorId::TlsLegacyVersion,
        DetectorId::MailPreauth,
        DetectorId::MailCleartextAuth,
        DetectorId::MailNoTls,
        DetectorId::MailStarttlsBroken,
        DetectorId::RsyncOpenModule,
        DetectorId::RsyncVulnerable,
        DetectorId::HttpOwaLookalike,
        DetectorId::ExchOnline,
        DetectorId::HttpInternalName,
        DetectorId::ExchVersionConflict,
        DetectorId::ExchDetected,
        DetectorId::ExchCluster,
        DetectorId::ExchExploitedCves,
        DetectorId::ExchOpenCves,
        DetectorId::ExchCuOnlyCves,
        DetectorId::ExchEndOfSupport,
        DetectorId::ExchNoEmergencyMitigation,
        DetectorId::ExchNewerThanKnown,
        DetectorId::ActiveProxyLogon,
        DetectorId::ActiveProxyShell,
        DetectorId::ActiveProxyNotShellMitigated,
        DetectorId::ActiveProxyNotShellUnmitigated,
        DetectorId::ExchWebshellPath,
    ];

    /// The id as the catalog writes it (`SW-EXCH-{CLUSTER}` is one id per kb cluster).
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorId::TlsExpired => "SW-TLS-EXPIRED",
            DetectorId::TlsNotYetValid => "SW-TLS-NOT-YET-VALID",
            DetectorId::TlsSelfSigned => "SW-TLS-SELF-SIGNED",
            DetectorId::TlsNameMismatch => "SW-TLS-NAME-MISMATCH",
            DetectorId::TlsWeakKey => "SW-TLS-WEAK-KEY",
            DetectorId::TlsLegacyVersion => "SW-TLS-LEGACY-VERSION",
            DetectorId::MailPreauth => "SW-MAIL-PREAUTH",
            DetectorId::MailCleartextAuth => "SW-MAIL-CLEARTEXT-AUTH",
            DetectorId::MailNoTls => "SW-MAIL-NO-TLS",
            DetectorId::MailStarttlsBroken => "SW-MAIL-STARTTLS-BROKEN",
            DetectorId::RsyncOpenModule => "SW-RSYNC-OPEN-MODULE",
            DetectorId::RsyncVulnerable => "SW-RSYNC-VULNERABLE",
            DetectorId::HttpOwaLookalike => "SW-HTTP-OWA-LOOKALIKE",
            DetectorId::ExchOnline => "SW-EXCH-ONLINE",
            DetectorId::HttpInternalName => "SW-HTTP-INTERNAL-NAME",
            DetectorId::ExchVersionConflict => "SW-EXCH-VERSION-CONFLICT",
            DetectorId::ExchDetected => "SW-EXCH-DETECTED",
            DetectorId::ExchCluster => "SW-EXCH-{CLUSTER}",
            DetectorId::ExchExploitedCves => "SW-EXCH-EXPLOITED-CVES",
            DetectorId::ExchOpenCves => "SW-EXCH-OPEN-CVES",
            DetectorId::ExchCuOnlyCves => "SW-EXCH-CU-ONLY-CVES",
            DetectorId::ExchEndOfSupport => "SW-EXCH-END-OF-SUPPORT",
            DetectorId::ExchNoEmergencyMitigation => "SW-EXCH-NO-EMERGENCY-MITIGATION",
            DetectorId::ExchNewerThanKnown => "SW-EXCH-NEWER-THAN-KNOWN",
            DetectorId::ActiveProxyLogon => "SW-ACTIVE-PROXYLOGON",
            DetectorId::ActiveProxyShell => "SW-ACTIVE-PROXYSHELL",
            DetectorId::ActiveProxyNotShellMitigated => "SW-ACTIVE-PROXYNOTSHELL-MITIGATED",
            DetectorId::ActiveProxyNotShellUnmitigated => "SW-ACTIVE-PROXYNOTSHELL-UNMITIGATED",
            DetectorId::ExchWebshellPath => "SW-EXCH-WEBSHELL-PATH",
        }
    }

    /// The placeholders the code fills, the variants it may apply and the texts it splices.
    pub fn uses(self) -> Uses {
        match self {
            DetectorId::TlsExpired => uses(&["not_after"], &[]),
            DetectorId::TlsNotYetValid => uses(&["not_before"], &[]),
            DetectorId::TlsSelfSigned => uses(&[], &["mx"]),
            DetectorId::TlsNameMismatch => uses(&["name"], &["mx"]),
            DetectorId::TlsWeakKey => uses(&["weakness"], &[]),
            DetectorId::TlsLegacyVersion => uses(&["versions"], &["mx"]),
            DetectorId::MailPreauth | DetectorId::MailStarttlsBroken => uses(&["proto"], &[]),
            DetectorId::MailCleartextAuth => Uses {
                placeholders: &["proto", "mechanisms", "advice", "hint"],
                variants: &[],
                texts: &[
                    "advice-smtp",
                    "advice-imap",
                    "advice-pop3",
                    "hint-postfix",
                    "hint-exim",
                    "hint-dovecot",
                    "hint-exchange-imap",
                    "hint-exchange-pop3",
                    "hint-exchange-smtp",
                    "hint-none",
                ],
            },
            DetectorId::MailNoTls => uses(&["proto"], &["smtp", "no-capa"]),
            DetectorId::RsyncOpenModule => uses(&["module"], &[]),
            DetectorId::RsyncVulnerable => uses(&["label", "protocol"], &[]),
            DetectorId::HttpOwaLookalike
            | DetectorId::ExchOnline
            | DetectorId::HttpInternalName
            | DetectorId::ExchVersionConflict
            | DetectorId::ActiveProxyLogon
            | DetectorId::ActiveProxyShell
            | DetectorId::ActiveProxyNotShellMitigated => uses(&[], &[]),
            DetectorId::ExchDetected => uses(&["version_name", "install"], &["undisclosed"]),
            DetectorId::ExchCluster => {
                uses(&["CLUSTER", "cluster", "version_name", "install"], &["inexact", "possibly-open"])
            }
            DetectorId::ExchExploitedCves | DetectorId::ExchOpenCves | DetectorId::ExchCuOnlyCves => uses(KB, &[]),
            DetectorId::ExchEndOfSupport => uses(&["product", "date", "install", "name", "build"], &["move"]),
            DetectorId::ExchNoEmergencyMitigation => uses(&["note", "install"], &[]),
            DetectorId::ExchNewerThanKnown => uses(&["build", "install"], &[]),
            DetectorId::ActiveProxyNotShellUnmitigated => uses(&[], &["fixed"]),
            DetectorId::ExchWebshellPath => uses(&["path"], &[]),
        }
    }
}

impl CodeDetector for DetectorId {
    const ALL: &'static [DetectorId] = &DetectorId::ALL;
    const SHARED_TEXTS: &'static [&'static str] = SHARED_TEXTS;

    fn as_str(self) -> &'static str {
        DetectorId::as_str(self)
    }

    fn uses(self) -> Uses {
        DetectorId::uses(self)
    }
}

/// The embedded catalog, parsed once and checked to describe every [`DetectorId`].
pub fn embedded() -> Result<&'static Catalog, CatalogError> {
    CATALOG.load()
}

/// The embedded catalog for the detectors' use (see [`EmbeddedCatalog::catalog`]).
pub fn catalog() -> &'static Catalog {
    CATALOG.catalog()
}

/// The catalog entry of a code detector.
pub fn detector(id: DetectorId) -> &'static Detector {
    CATALOG.detector(id)
}

/// A finding's metadata: the detector's entry in the situations `variants`, `values` filled.
pub fn describe(id: DetectorId, variants: &[&str], values: &[(&str, &str)]) -> Described {
    CATALOG.describe(id, variants, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_describes_exactly_the_detectors_of_the_code() {
        assert_eq!(CATALOG.disagreements(), Vec::<String>::new());
    }

    #[test]
    fn every_kb_cluster_gets_a_finding_id_and_every_entry_cites_a_source() {
        let kb = seawall_kb::KnowledgeBase::embedded().expect("kb");
        let template = detector(DetectorId::ExchCluster);
        for cluster in kb.clusters() {
            let upper = cluster.name.to_ascii_uppercase();
            let values = [
                ("CLUSTER", upper.as_str()),
                ("cluster", cluster.name.as_str()),
                ("version_name", "x"),
                ("install", ""),
            ];
            let described = template.describe(&[], &values);
            assert_eq!(described.rule.id, format!("SW-EXCH-{upper}"));
            assert!(!described.rule.id.contains('{'), "{}", described.rule.id);
        }
        let catalog = embedded().expect("catalog");
        assert!(catalog.detector.iter().all(|d| d.source.iter().all(|s| !s.trim().is_empty())));
    }
}
