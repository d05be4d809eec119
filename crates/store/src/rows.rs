//! Records as rows: keys, the columns worth querying, and the record itself as JSON.
//!
//! Rows of one transaction are deduplicated (last wins) and sorted by key, so every writer
//! takes row locks in the same order: concurrent shards that meet on a key (a host listed
//! twice) wait for each other instead of deadlocking.

use std::collections::BTreeMap;

use seawall_model::{ErrorRecord, Finding, Record, Service};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Batch, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ServiceRow {
    pub(super) host: String,
    pub(super) port: i32,
    pub(super) protocol: String,
    pub(super) product: Option<String>,
    pub(super) version: Option<String>,
    pub(super) data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FindingRow {
    pub(super) id: String,
    pub(super) rule_id: String,
    pub(super) rule_source: String,
    pub(super) severity: String,
    /// `host:port`, or the evidence path with its line or record.
    pub(super) location: String,
    pub(super) data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ErrorRow {
    pub(super) key: String,
    pub(super) source: String,
    pub(super) message: String,
    pub(super) data: String,
}

/// Everything one transaction writes.
#[derive(Debug, Default)]
pub(super) struct Rows {
    pub(super) services: Vec<ServiceRow>,
    pub(super) findings: Vec<FindingRow>,
    pub(super) errors: Vec<ErrorRow>,
    pub(super) done: Vec<i64>,
}

impl Rows {
    pub(super) fn from_batches(batches: &[Batch]) -> Result<Rows, StoreError> {
        let mut services = BTreeMap::new();
        let mut findings = BTreeMap::new();
        let mut errors = BTreeMap::new();
        let mut done = Vec::new();
        for batch in batches {
            if let Some(ordinal) = batch.ordinal {
                done.push(ordinal_to_sql(ordinal)?);
            }
            for record in &batch.records {
                match record {
                    Record::Service(service) => {
                        let row = service_row(service)?;
                        services.insert((row.host.clone(), row.port), row);
                    }
                    Record::Finding(finding) => {
                        let row = finding_row(finding)?;
                        findings.insert(row.id.clone(), row);
                    }
                    Record::Error(error) => {
                        let row = error_row(error)?;
                        errors.insert(row.key.clone(), row);
                    }
                    // Bookends belong to the session row.
                    Record::RunStart(_) | Record::RunEnd(_) => {}
                }
            }
        }
        done.sort_unstable();
        done.dedup();
        Ok(Rows {
            services: services.into_values().collect(),
            findings: findings.into_values().collect(),
            errors: errors.into_values().collect(),
            done,
        })
    }
}

/// Text for a plain column: PostgreSQL's text cannot hold NUL, which evidence and network
/// answers may contain. Columns are for queries; the record itself (the `data` JSON, where
/// NUL is the escape `\u0000`) keeps every byte.
fn column(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

fn service_row(service: &Service) -> Result<ServiceRow, StoreError> {
    Ok(ServiceRow {
        host: column(&service.host),
        port: i32::from(service.port),
        protocol: column(&service.protocol),
        product: service.product.as_deref().map(column),
        version: service.version.as_deref().map(column),
        data: to_json(service)?,
    })
}

fn finding_row(finding: &Finding) -> Result<FindingRow, StoreError> {
    Ok(FindingRow {
        id: column(finding.id.as_str()),
        rule_id: column(&finding.rule.id),
        rule_source: serde_json::to_value(finding.rule.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        severity: finding.severity.as_str().to_owned(),
        location: column(&finding.location.key()),
        data: to_json(finding)?,
    })
}

fn error_row(error: &ErrorRecord) -> Result<ErrorRow, StoreError> {
    Ok(ErrorRow {
        key: seawall_model::runs::error_key(error),
        source: column(&error.source),
        message: column(&error.message),
        data: to_json(error)?,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Decode(format!("encoding a record: {e}")))
}

pub(super) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode(format!("{what}: {e}")))
}

/// Ordinals are below 2^62 (the target space's bound), so they fit a signed BIGINT.
pub(super) fn ordinal_to_sql(ordinal: u64) -> Result<i64, StoreError> {
    i64::try_from(ordinal).map_err(|_| StoreError::Decode(format!("ordinal {ordinal} out of range")))
}

/// Seeds use all 64 bits: stored as the BIGINT with the same bits.
pub(super) fn seed_to_sql(seed: u64) -> i64 {
    i64::from_ne_bytes(seed.to_ne_bytes())
}

pub(super) fn seed_from_sql(seed: i64) -> u64 {
    u64::from_ne_bytes(seed.to_ne_bytes())
}

pub(super) fn shard_to_sql(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Decode(format!("shard number {value} out of range")))
}

pub(super) fn u64_from_sql(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Decode(format!("{what} {value} is negative")))
}

#[cfg(test)]
mod tests {
    use seawall_model::{Confidence, Location, RuleRef, RuleSource, Severity};

    use super::*;

    fn finding(host: &str, evidence: &str) -> Record {
        Record::Finding(Finding::new(
            RuleRef { id: "SW-T".into(), title: "t".into(), source: RuleSource::Kb },
            Severity::High,
            Confidence::High,
            Location::Host { host: host.into(), port: 443 },
            vec![],
            &[evidence],
        ))
    }

    #[test]
    fn rows_are_deduplicated_and_sorted_by_key() {
        let service = |host: &str, product: &str| {
            Record::Service(Service {
                host: host.into(),
                port: 443,
                protocol: "https".into(),
                product: Some(product.into()),
                ..Service::default()
            })
        };
        let batches = vec![
            Batch { ordinal: Some(9), records: vec![service("b", "x"), finding("b", "1")] },
            Batch { ordinal: Some(2), records: vec![service("a", "x"), finding("a", "1")] },
            Batch { ordinal: Some(9), records: vec![service("b", "exchange"), finding("b", "1")] },
        ];
        let rows = Rows::from_batches(&batches).expect("rows");
        assert_eq!(rows.done, vec![2, 9]);
        assert_eq!(rows.services.iter().map(|s| s.host.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(rows.services[1].product.as_deref(), Some("exchange"), "last wins");
        assert_eq!(rows.findings.len(), 2);
        assert!(rows.findings[0].id < rows.findings[1].id);
        assert_eq!(rows.findings[0].rule_source, "kb");
    }

    #[test]
    fn seeds_keep_all_their_bits() {
        for seed in [0, 1, u64::MAX, 1 << 63, 0x5eaa_0000_1234] {
            assert_eq!(seed_from_sql(seed_to_sql(seed)), seed);
        }
    }
}
