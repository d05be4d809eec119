//! The data files of `data/kb/` as they are written: parsed, not yet indexed.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::LoadError;
use crate::version::BuildNumber;

/// A release date as the source gives it: a day, or only a month for some
/// pre-2019 updates. Ordered by the first day it can mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseDate {
    pub date: Date,
    pub month_only: bool,
}

impl ReleaseDate {
    pub fn parse(text: &str) -> Result<ReleaseDate, BadReleaseDate> {
        let text = text.trim();
        let bad = |source| BadReleaseDate { text: text.to_owned(), source };
        if text.len() == 7 {
            let date: Date = format!("{text}-01").parse().map_err(bad)?;
            return Ok(ReleaseDate { date, month_only: true });
        }
        let date: Date = text.parse().map_err(bad)?;
        Ok(ReleaseDate { date, month_only: false })
    }
}

/// A release date that is neither `YYYY-MM-DD` nor `YYYY-MM`.
#[derive(Debug, thiserror::Error)]
#[error("date {text:?}: {source}")]
pub struct BadReleaseDate {
    pub text: String,
    #[source]
    pub source: jiff::Error,
}

impl fmt::Display for ReleaseDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.month_only { write!(f, "{}", self.date.strftime("%Y-%m")) } else { write!(f, "{}", self.date) }
    }
}

impl Serialize for ReleaseDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReleaseDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ReleaseDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn build_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BuildNumber, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn optional_build_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<BuildNumber>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
}

/// `products.toml`: one product line each (Exchange 2016, 2019, SE, Online...).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductsFile {
    pub(crate) product: Vec<ProductLine>,
}

/// A product line and the version range that identifies it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductLine {
    /// Short id used by the other files: `2010`, `2013`, `2016`, `2019`, `SE`, `online`.
    pub id: String,
    pub name: String,
    pub major: u32,
    /// Absent: any minor of `major`.
    #[serde(default)]
    pub minor: Option<u32>,
    /// Exchange Online answers with 15.20 and up.
    #[serde(default)]
    pub minor_from: Option<u32>,
    #[serde(default)]
    pub build_from: Option<u32>,
    #[serde(default)]
    pub build_below: Option<u32>,
    #[serde(default)]
    pub online: bool,
    /// In 2010 every rollup has its own build number, so `14.3.468` names one update.
    #[serde(default)]
    pub update_changes_build: bool,
    #[serde(default)]
    pub released: Option<ReleaseDate>,
    #[serde(default)]
    pub end_of_support: Option<ReleaseDate>,
    /// First build with the Exchange Emergency Mitigation Service.
    #[serde(default, deserialize_with = "optional_build_number")]
    pub eems_from: Option<BuildNumber>,
    /// Update below which EEMS can no longer fetch mitigations (signing certificate change).
    #[serde(default)]
    pub mitigation_cutoff: Option<String>,
    /// Product to move to once this one is out of support.
    #[serde(default)]
    pub successor: Option<String>,
    #[serde(default)]
    pub upgrade_note: Option<String>,
    pub sources: Vec<String>,
}

impl ProductLine {
    pub(crate) fn matches(&self, major: u32, minor: u32, build: u32) -> bool {
        major == self.major
            && self.minor.is_none_or(|m| m == minor)
            && self.minor_from.is_none_or(|m| minor >= m)
            && self.build_from.is_none_or(|b| build >= b)
            && self.build_below.is_none_or(|b| build < b)
    }
}

/// One row of `builds.csv`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRow {
    pub product: String,
    /// `CU23`, `RTM`, `SP1` (2013), `SP3` (2010).
    pub cu: String,
    /// Empty for the CU itself; else `Mar21SU`, `Apr25HU`, `Nov24SUv2`, `RU32`.
    #[serde(default)]
    pub update: String,
    #[serde(deserialize_with = "build_number")]
    pub build: BuildNumber,
    pub released: ReleaseDate,
    #[serde(default)]
    pub kb: String,
    pub source: String,
}

/// `cves.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CvesFile {
    pub(crate) cve: Vec<Cve>,
    #[serde(default)]
    pub(crate) cluster: Vec<Cluster>,
}

/// How configuration also decides a CVE, beyond the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigDependence {
    /// Extended Protection must be on (CVE-2024-21410 and the August 2022 set).
    ExtendedProtection,
    /// Hybrid deployments must move to the dedicated hybrid app (CVE-2025-53786).
    HybridApp,
    /// A setting override must be in effect.
    SettingOverride,
    /// Active Directory must be prepared again from the fixed build.
    PrepareAd,
    /// The Download Domains feature must be configured.
    DownloadDomains,
}

/// A CVE fixed by an Exchange update.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cve {
    pub id: String,
    pub published: ReleaseDate,
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub cvss: Option<f32>,
    /// Update names (as in `builds.csv`) whose builds carry the fix.
    pub fixed_by: Vec<String>,
    /// Product line ids affected.
    pub products: Vec<String>,
    /// The `major.minor.build` CUs Microsoft lists as affected (with a fix).
    #[serde(default)]
    pub msrc_affected: Vec<String>,
    #[serde(default)]
    pub kev: bool,
    #[serde(default)]
    pub kev_added: Option<ReleaseDate>,
    #[serde(default)]
    pub exploited: bool,
    #[serde(default)]
    pub config: Option<ConfigDependence>,
    #[serde(default)]
    pub config_note: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A named family of CVEs exploited together (ProxyLogon, ProxyShell, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    pub cves: Vec<String>,
    pub summary: String,
    pub sources: Vec<String>,
}

pub(crate) fn parse_products(text: &str) -> Result<Vec<ProductLine>, LoadError> {
    let file: ProductsFile = toml::from_str(text).map_err(|e| LoadError::data("products.toml", e.to_string()))?;
    Ok(file.product)
}

pub(crate) fn parse_builds(text: &str) -> Result<Vec<BuildRow>, LoadError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (index, row) in reader.deserialize::<BuildRow>().enumerate() {
        let row = row.map_err(|e| LoadError::data("builds.csv", format!("row {}: {e}", index + 2)))?;
        rows.push(row);
    }
    Ok(rows)
}

pub(crate) fn parse_cves(text: &str) -> Result<CvesFile, LoadError> {
    toml::from_str(text).map_err(|e| LoadError::data("cves.toml", e.to_string()))
}
