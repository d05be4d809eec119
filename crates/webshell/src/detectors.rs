//! The webshell scanner's code detectors as data: every `SW-*` id it emits besides the YARA
//! rules' own has its title, kind, severity, confidence, remediation, references and source
//! in `data/detectors/webshell.toml`, embedded in the binary. The checks name their detector
//! by [`DetectorId`]; the unit tests hold the file and this list equal.

use seawall_model::catalog::{CodeDetector, EmbeddedCatalog, Uses};

/// The embedded catalog, parsed on first use and checked to describe every [`DetectorId`].
pub static CATALOG: EmbeddedCatalog<DetectorId> =
    EmbeddedCatalog::new("data/detectors/webshell.toml", include_str!("../../../data/detectors/webshell.toml"));

/// Every code detector of the webshell scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectorId {
    IocHash,
    IocPath,
    IocFileName,
    AspnetClientAspx,
    AuthNonStock,
    OabFolderScript,
    LsassDump,
    StagingArchive,
    OabConfigScript,
    Capabilities,
    Helper,
}

impl CodeDetector for DetectorId {
    const ALL: &'static [DetectorId] = &[
        DetectorId::IocHash,
        DetectorId::IocPath,
        DetectorId::IocFileName,
        DetectorId::AspnetClientAspx,
        DetectorId::AuthNonStock,
        DetectorId::OabFolderScript,
        DetectorId::LsassDump,
        DetectorId::StagingArchive,
        DetectorId::OabConfigScript,
        DetectorId::Capabilities,
        DetectorId::Helper,
    ];
    const SHARED_TEXTS: &'static [&'static str] = &[YARA_REMEDIATION];

    fn as_str(self) -> &'static str {
        match self {
            DetectorId::IocHash => "SW-IOC-HASH",
            DetectorId::IocPath => "SW-IOC-PATH",
            DetectorId::IocFileName => "SW-IOC-FILENAME",
            DetectorId::AspnetClientAspx => "SW-FILE-ASPNET-CLIENT-ASPX",
            DetectorId::AuthNonStock => "SW-FILE-EXCHANGE-AUTH-NONSTOCK",
            DetectorId::OabFolderScript => "SW-FILE-EXCHANGE-OAB-SCRIPT",
            DetectorId::LsassDump => "SW-FILE-LSASS-DUMP",
            DetectorId::StagingArchive => "SW-FILE-STAGING-ARCHIVE",
            DetectorId::OabConfigScript => "SW-FILE-OAB-CONFIG-SCRIPT",
            DetectorId::Capabilities => "SW-WEBSHELL-CAPABILITIES",
            DetectorId::Helper => "SW-WEBSHELL-HELPER",
        }
    }

    fn uses(self) -> Uses {
        match self {
            DetectorId::AuthNonStock => Uses::new(&[], &["not-script"]),
            DetectorId::StagingArchive => Uses::new(&[], &["deep", "served-zip"]),
            DetectorId::OabConfigScript => Uses::new(&[], &["other-vdir"]),
            DetectorId::Capabilities => Uses::new(&["score", "capabilities"], &[]),
            DetectorId::Helper => Uses::new(&["capabilities", "page"], &[]),
            DetectorId::IocHash
            | DetectorId::IocPath
            | DetectorId::IocFileName
            | DetectorId::AspnetClientAspx
            | DetectorId::OabFolderScript
            | DetectorId::LsassDump => Uses::new(&[], &[]),
        }
    }
}

/// The shared text that is the remediation of every YARA match.
pub(crate) const YARA_REMEDIATION: &str = "yara-remediation";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_describes_exactly_the_detectors_of_the_code() {
        assert_eq!(CATALOG.disagreements(), Vec::<String>::new());
    }
}
