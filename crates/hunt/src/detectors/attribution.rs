//! Which attack cluster a log rule points to, and which rule names a record that
//! matched several (`data/detections/clusters.toml`).

use seawall_model::{Evidence, Finding};
use seawall_rules::RuleSet;
use seawall_sources::Record;
use serde::Deserialize;

const EMBEDDED: &str = include_str!("../../../../data/detections/clusters.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    scanner_checks: Vec<String>,
    cluster: Vec<ClusterSpec>,
    group: Vec<GroupSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSpec {
    name: String,
    rules: Vec<String>,
    #[serde(default)]
    status: Vec<StatusMeaning>,
}

/// What an HTTP status means for requests of one cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusMeaning {
    codes: Vec<String>,
    meaning: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    #[allow(dead_code)]
    name: String,
    order: Vec<String>,
}

/// A problem in `clusters.toml`.
#[derive(Debug, thiserror::Error)]
#[error("data/detections/clusters.toml: {0}")]
pub(crate) struct AttributionError(#[from] toml::de::Error);

/// Per rule of a [`RuleSet`] (by index): its cluster, its group and rank, whether it is a
/// public scanner's check.
#[derive(Debug, Default)]
pub(crate) struct Attribution {
    cluster: Vec<Option<String>>,
    /// Per rule, the status meanings of its cluster.
    status: Vec<Vec<StatusMeaning>>,
    rank: Vec<Option<(usize, usize)>>,
    scanner_check: Vec<bool>,
    /// Ids named in the file that the rule set does not have.
    pub(crate) unknown: Vec<String>,
}

impl Attribution {
    pub(crate) fn embedded(rules: &RuleSet) -> Result<Attribution, AttributionError> {
        Attribution::parse(EMBEDDED, rules)
    }

    fn parse(text: &str, rules: &RuleSet) -> Result<Attribution, AttributionError> {
        let file: ClusterFile = toml::from_str(text)?;
        let count = rules.rules().len();
        let mut attribution = Attribution {
            cluster: vec![None; count],
            status: vec![Vec::new(); count],
            rank: vec![None; count],
            scanner_check: vec![false; count],
            unknown: Vec::new(),
        };
        let index_of = |id: &str, unknown: &mut Vec<String>| {
            let found = rules.rules().iter().position(|r| r.spec.id == id);
            if found.is_none() && !unknown.iter().any(|u| u == id) {
                unknown.push(id.to_owned());
            }
            found
        };
        let mut unknown = Vec::new();
        for cluster in &file.cluster {
            for id in &cluster.rules {
                if let Some(index) = index_of(id, &mut unknown) {
                    attribution.cluster[index] = Some(cluster.name.clone());
                    attribution.status[index] = cluster.status.clone();
                }
            }
        }
        for (group, spec) in file.group.iter().enumerate() {
            for (rank, id) in spec.order.iter().enumerate() {
                if let Some(index) = index_of(id, &mut unknown) {
                    attribution.rank[index] = Some((group, rank));
                }
            }
        }
        for id in &file.scanner_checks {
            if let Some(index) = index_of(id, &mut unknown) {
                attribution.scanner_check[index] = true;
            }
        }
        attribution.unknown = unknown;
        Ok(attribution)
    }

    /// Of the rules that matched one record, those to report, each with the rules of its
    /// group it was preferred to.
    pub(crate) fn resolve(&self, matched: &[usize]) -> Vec<(usize, Vec<usize>)> {
        let rank = |index: usize| self.rank.get(index).copied().flatten();
        let mut reported: Vec<(usize, Vec<usize>)> = Vec::new();
        for &index in matched {
            let Some((group, _)) = rank(index) else {
                reported.push((index, Vec::new()));
                continue;
            };
            let best = matched
                .iter()
                .copied()
                .filter(|&other| rank(other).is_some_and(|(g, _)| g == group))
                .min_by_key(|&other| rank(other).map(|(_, r)| r))
                .unwrap_or(index);
            if best == index {
                let beaten = matched
                    .iter()
                    .copied()
                    .filter(|&other| other != index && rank(other).is_some_and(|(g, _)| g == group))
                    .collect();
                reported.push((index, beaten));
            }
        }
        reported
    }

    /// Name the cluster (with what the record's HTTP status means for it), the other rules
    /// the record matched, and a scanner check's outcome.
    pub(crate) fn annotate(
        &self,
        finding: &mut Finding,
        record: &dyn Record,
        index: usize,
        beaten: &[usize],
        rules: &RuleSet,
    ) {
        if let Some(Some(cluster)) = self.cluster.get(index) {
            finding.evidence.push(Evidence::text("cluster", cluster));
            let status = record.field("sc-status").or_else(|| record.field("HttpStatus"));
            let meaning = status.as_deref().and_then(|status| {
                self.status[index]
                    .iter()
                    .find(|m| m.codes.iter().any(|c| c == status.trim()))
                    .map(|m| (status.trim().to_owned(), &m.meaning))
            });
            if let Some((status, meaning)) = meaning {
                finding.evidence.push(Evidence::text("status", &format!("{status}: {meaning}")));
            }
        }
        if !beaten.is_empty() {
            let others: Vec<String> = beaten
                .iter()
                .map(|&other| {
                    let rule = rules.rule(other);
                    match self.cluster.get(other).cloned().flatten() {
                        Some(cluster) => format!("{} ({cluster})", rule.spec.id),
                        None => rule.spec.id.clone(),
                    }
                })
                .collect();
            finding.evidence.push(Evidence::text("also matches", &others.join(", ")));
        }
        if self.scanner_check.get(index).copied().unwrap_or(false) {
            finding.outcome = Some("attempt".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_named_in_clusters_toml_exists() {
        let rules = RuleSet::embedded().unwrap_or_else(|e| panic!("{e:?}"));
        let attribution = Attribution::embedded(&rules).unwrap_or_else(|e| panic!("{e}"));
        assert!(attribution.unknown.is_empty(), "unknown ids: {:?}", attribution.unknown);
    }

    #[test]
    fn the_most_specific_rule_of_a_group_names_the_record() {
        let rules = RuleSet::embedded().unwrap_or_else(|e| panic!("{e:?}"));
        let attribution = Attribution::embedded(&rules).unwrap_or_else(|e| panic!("{e}"));
        let index = |id: &str| rules.rules().iter().position(|r| r.spec.id == id).unwrap_or(usize::MAX);
        let (check, shell, agent) =
            (index("SW-LOG-PROXYNOTSHELL-CHECK"), index("SW-LOG-PROXYSHELL"), index("SW-LOG-HAFNIUM-USER-AGENT"));
        let reported = attribution.resolve(&[shell, agent, check]);
        assert_eq!(reported, vec![(agent, vec![]), (check, vec![shell])]);
    }
}
