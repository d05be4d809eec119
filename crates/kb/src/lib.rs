//! seawall's knowledge base: Exchange builds, the CVEs their updates fix, end
//! of support and mitigation capability, loaded from `data/kb/` (embedded in
//! the binary, or a directory given with `--kb`). Pure lookups: no network,
//! no files at run time beyond `--kb`.

mod assess;
mod catalog;
mod cve_view;
mod data;
mod ioc;
mod lint;
mod version;

pub use assess::{
    BuildRef, BuildReport, ClusterVerdict, CveStatus, CveVerdict, Eems, EndOfSupport, Precision, Recommendation,
    UnknownProduct,
};
pub use catalog::{CuGroup, KnowledgeBase};
pub use cve_view::{CuFix, CveReport, LineFixes};
pub use data::{BuildRow, Cluster, ConfigDependence, Cve, ProductLine, ReleaseDate};
pub use ioc::{Ioc, IocKind, IocSet, UnknownIocKind, refang};
pub use version::{BuildNumber, BuildQuery, ParseBuildError};

/// A knowledge base that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Data { file: String, message: String },
}

impl LoadError {
    pub(crate) fn data(file: &str, message: String) -> LoadError {
        LoadError::Data { file: file.to_owned(), message }
    }
}
