//! "This server says 15.2.858.2: what is it, is it patched, what must I install?"

use jiff::civil::Date;
use serde::Serialize;
use thiserror::Error;

use crate::catalog::{CuGroup, KnowledgeBase};
use crate::data::{ConfigDependence, Cve, ProductLine, ReleaseDate};
use crate::version::{BuildNumber, BuildQuery};

/// How precisely the build is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// The build is in the table: its update is known.
    Exact,
    /// The revision is not in the table (a re-released update, a hotfix build): it lies after
    /// one known build of its CU and before the next, or after the last known update of a CU
    /// no longer updated, or below the CU's official build. `placement` names the builds.
    /// CVEs fixed by the next build are possibly open, never open.
    Between,
    /// Only the CU is known (`15.2.858`, the `/owa/auth/15.2.858/` path).
    Cu,
    /// Newer than anything in the table: every known CVE is fixed, newer ones may not be.
    NewerThanKnown,
    /// Only the product line is known.
    Product,
}

/// Where a build stands against one CVE's fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CveStatus {
    Fixed,
    /// The build has the fix, but configuration also decides (Extended Protection, hybrid app, overrides).
    ConfigDependent,
    /// Only the CU is known: open unless the update named in `fix` was installed.
    PossiblyOpen,
    Open,
}

/// One CVE's verdict for a build.
#[derive(Debug, Clone, Serialize)]
pub struct CveVerdict {
    pub id: String,
    pub status: CveStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    pub exploited: bool,
    pub kev: bool,
    /// The update of this build's CU that fixes it; absent when the CU never got one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<BuildRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigDependence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_note: Option<String>,
}

/// A build named for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildRef {
    pub build: BuildNumber,
    pub name: String,
    pub released: ReleaseDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kb: Option<String>,
}

/// A CVE family's state for a build: the worst state of its CVEs.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterVerdict {
    pub name: String,
    pub status: CveStatus,
    /// The cluster's CVEs that are not fixed.
    pub cves: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndOfSupport {
    pub date: ReleaseDate,
    pub passed: bool,
}

/// The Exchange Emergency Mitigation Service.
#[derive(Debug, Clone, Serialize)]
pub struct Eems {
    pub present: bool,
    /// Whether it can still fetch new mitigations; `null` when only the CU is known.
    pub receives_mitigations: Option<bool>,
    pub note: String,
}

/// What to install.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    #[serde(flatten)]
    pub target: BuildRef,
    pub up_to_date: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Everything the knowledge base says about one build.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub input: String,
    pub build: String,
    pub product: Option<String>,
    pub product_id: Option<String>,
    pub on_premises: bool,
    pub cu: Option<String>,
    pub su: Option<String>,
    pub name: Option<String>,
    pub release_date: Option<ReleaseDate>,
    pub precision: Precision,
    /// How a revision that is not in the table was placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    pub open_cves: Vec<String>,
    pub possibly_open_cves: Vec<String>,
    pub exploited_open_cves: Vec<String>,
    pub exploited_possibly_open_cves: Vec<String>,
    pub config_dependent_cves: Vec<String>,
    pub clusters: Vec<ClusterVerdict>,
    /// Every CVE of this product line that is not plainly fixed.
    pub cves: Vec<CveVerdict>,
    pub end_of_support: Option<EndOfSupport>,
    pub eems: Option<Eems>,
    pub recommended: Option<Recommendation>,
    /// The product to move to once this line is out of support.
    pub upgrade: Option<Recommendation>,
    pub notes: Vec<String>,
}

/// A build no product line claims.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input}: no Exchange Server product has version {major}.{minor}")]
pub struct UnknownProduct {
    pub input: String,
    pub major: u32,
    pub minor: u32,
}

/// Where a build sits in the table.
struct Position<'a> {
    line: &'a ProductLine,
    group: Option<&'a CuGroup>,
    /// Lowest build the server can be running.
    lower: BuildNumber,
    /// Highest build it can be running, when bounded.
    upper: Option<BuildNumber>,
    precision: Precision,
    /// The row it is at, or at least at.
    row: Option<usize>,
    placement: Option<String>,
}

/// The state of one fix (a CVE's or the mitigation cut-off's) for a position.
enum FixState {
    Fixed,
    Open { fix: Option<usize> },
    PossiblyOpen { fix: Option<usize> },
}

impl KnowledgeBase {
    /// Assess a build as of `today` (which decides whether end of support has passed).
    pub fn assess(&self, query: BuildQuery, input: &str, today: Date) -> Result<BuildReport, UnknownProduct> {
        let mut report = BuildReport {
            input: input.trim().to_owned(),
            build: query.to_string(),
            product: None,
            product_id: None,
            on_premises: true,
            cu: None,
            su: None,
            name: None,
            release_date: None,
            precision: Precision::Product,
            placement: None,
            open_cves: Vec::new(),
            possibly_open_cves: Vec::new(),
            exploited_open_cves: Vec::new(),
            exploited_possibly_open_cves: Vec::new(),
            config_dependent_cves: Vec::new(),
            clusters: Vec::new(),
            cves: Vec::new(),
            end_of_support: None,
            eems: None,
            recommended: None,
            upgrade: None,
            notes: Vec::new(),
        };
        let Some(line) = self.line_for(query.major, query.minor, query.build) else {
            if self.is_beyond_every_line(query) {
                report.precision = Precision::NewerThanKnown;
                report.notes.push(format!(
                    "version {}.{} is newer than every Exchange product this knowledge base knows; update seawall",
                    query.major, query.minor
                ));
                return Ok(report);
            }
            return Err(UnknownProduct { input: input.trim().to_owned(), major: query.major, minor: query.minor });
        };
        report.product = Some(line.name.clone());
        report.product_id = Some(line.id.clone());
        if line.online {
            report.on_premises = false;
            report.notes.push(
                "Exchange Online is run and patched by Microsoft: on-premises CVEs and builds do not apply".to_owned(),
            );
            return Ok(report);
        }
        report.end_of_support = line.end_of_support.map(|date| EndOfSupport { date, passed: today > date.date });

        let position = self.position(line, query);
        report.precision = position.precision;
        report.placement = position.placement.clone();
        report.cu = position.group.map(|g| g.cu.clone());
        if let Some(row) = position.row.map(|i| self.row(i)) {
            report.release_date = Some(row.released);
            if position.precision == Precision::Cu {
                report.name = Some(format!("{} {}", line.name, row.cu));
            } else {
                report.su = (!row.update.is_empty()).then(|| row.update.clone());
                report.name = Some(self.row_name(row));
            }
        }
        if position.group.is_none() && position.precision == Precision::Product {
            report
                .notes
                .push(format!("{} is not in the build table of {}: only the product line is known", query, line.name));
        }

        self.judge_cves(&position, &mut report);
        report.eems = Some(self.eems(&position));
        let (recommended, upgrade) = self.recommend(&position, today);
        report.recommended = recommended;
        report.upgrade = upgrade;
        if report.end_of_support.as_ref().is_some_and(|eos| eos.passed) {
            report.notes.push(format!(
                "{} is past end of support: CVEs that Microsoft publishes without listing it are not counted here, yet likely apply",
                line.name
            ));
        }
        Ok(report)
    }

    fn is_beyond_every_line(&self, query: BuildQuery) -> bool {
        self.product_lines()
            .iter()
            .filter(|line| !line.online)
            .all(|line| (query.major, query.minor) > (line.major, line.minor.unwrap_or(u32::MAX)))
    }

    fn position<'a>(&'a self, line: &'a ProductLine, query: BuildQuery) -> Position<'a> {
        let low = query.lowest();
        let group = self.group_for(&line.id, query);
        let newest_row = self.rows_of(&line.id).last().map(|row| row.build);
        let Some(group) = group else {
            let beyond = newest_row.is_some_and(|newest| low.cu_key() > newest.cu_key());
            // A build between two CUs cannot carry fixes that first shipped in the next one.
            let upper = self
                .rows_of(&line.id)
                .map(|row| row.build)
                .find(|build| build.cu_key() > low.cu_key())
                .map(|next| BuildNumber::new(next.major, next.minor, next.build - 1, u32::MAX));
            return Position {
                line,
                group: None,
                lower: low,
                upper,
                precision: if beyond { Precision::NewerThanKnown } else { Precision::Product },
                row: None,
                placement: None,
            };
        };
        let rows = &group.rows;
        let first = rows[0];
        let last = rows[rows.len() - 1];

        let Some(revision) = query.revision else {
            // Only major.minor.build: the lowest row with that key, the highest it may reach.
            let same: Vec<usize> =
                rows.iter().copied().filter(|&i| self.row(i).build.cu_key() == query.cu_key()).collect();
            if same.is_empty() && line.update_changes_build {
                // A 2010-style build number (one per update) that is not in the table.
                let at = rows.iter().copied().rfind(|&i| self.row(i).build.cu_key() < query.cu_key()).unwrap_or(first);
                let next = rows.iter().copied().find(|&i| self.row(i).build.cu_key() > query.cu_key());
                let placement = format!(
                    "{query} is not in the table: after {}{}",
                    self.row(at).build,
                    next.map(|i| format!(" and before {}", self.row(i).build)).unwrap_or_default()
                );
                return Position {
                    line,
                    group: Some(group),
                    lower: self.row(at).build,
                    upper: next.map(|i| self.row(i).build),
                    precision: Precision::Between,
                    row: Some(at),
                    placement: Some(placement),
                };
            }
            let at = same.first().copied().unwrap_or(first);
            let (precision, upper) = if line.update_changes_build {
                (Precision::Exact, same.last().map(|&i| self.row(i).build))
            } else {
                (Precision::Cu, None)
            };
            return Position {
                line,
                group: Some(group),
                lower: self.row(at).build,
                upper,
                precision,
                row: Some(at),
                placement: None,
            };
        };

        let base = self.row(first);
        if low < base.build {
            let placement = format!(
                "revision {revision} is below the official build of {} ({}): read as {} without updates",
                group.cu, base.build, group.cu
            );
            return Position {
                line,
                group: Some(group),
                lower: base.build,
                upper: Some(base.build),
                precision: Precision::Between,
                row: Some(first),
                placement: Some(placement),
            };
        }
        let at = rows.iter().copied().rfind(|&i| self.row(i).build <= low).unwrap_or(first);
        let at_row = self.row(at);
        if at_row.build == low {
            return Position {
                line,
                group: Some(group),
                lower: low,
                upper: Some(low),
                precision: Precision::Exact,
                row: Some(at),
                placement: None,
            };
        }
        if at == last && self.group_is_current(group) {
            let placement = format!(
                "{low} is newer than the newest known update of {} ({}): every CVE known here is fixed; newer ones may not be",
                group.cu, at_row.build
            );
            return Position {
                line,
                group: Some(group),
                lower: low,
                upper: None,
                precision: Precision::NewerThanKnown,
                row: Some(at),
                placement: Some(placement),
            };
        }
        let label =
            |row: &crate::data::BuildRow| if row.update.is_empty() { group.cu.clone() } else { row.update.clone() };
        // The next known build of the CU bounds what this one can carry: a re-released update or
        // a hotfix numbered below it may already hold its fixes, so those are possible, not certain.
        let next = rows.iter().copied().find(|&i| self.row(i).build > low).map(|i| self.row(i));
        let placement = match next {
            Some(next) => format!(
                "{low} is not in the table: between {} ({}) and {} ({}); fixes of {} may be installed",
                label(at_row),
                at_row.build,
                label(next),
                next.build,
                label(next)
            ),
            None => format!(
                "{low} is not in the table: after {} ({}), the last known update of {}",
                label(at_row),
                at_row.build,
                group.cu
            ),
        };
        Position {
            line,
            group: Some(group),
            lower: at_row.build,
            upper: next.map(|next| next.build),
            precision: Precision::Between,
            row: Some(at),
            placement: Some(placement),
        }
    }

    /// A CU still receiving updates: it has a row from the line's newest update date.
    fn group_is_current(&self, group: &CuGroup) -> bool {
        let newest = self.rows_of(&group.line).map(|row| row.released).max();
        newest.is_some_and(|newest| group.rows.iter().any(|&i| self.row(i).released == newest))
    }

    /// The generic "is this position at least one of `updates`" judgement.
    fn fix_state(&self, position: &Position<'_>, updates: &[String]) -> FixState {
        let fix_rows = self.fix_rows(&position.line.id, updates);
        if fix_rows.is_empty() {
            return if self.line_released_after_fix(position.line, updates) {
                FixState::Fixed
            } else {
                FixState::Open { fix: None }
            };
        }
        let newest_fix = fix_rows.iter().map(|&i| self.row(i).build).max();
        if newest_fix.is_some_and(|newest| position.lower >= newest) {
            return FixState::Fixed;
        }
        let Some(group) = position.group else {
            let reachable = fix_rows.iter().any(|&i| position.upper.is_none_or(|upper| self.row(i).build <= upper));
            return if reachable {
                FixState::PossiblyOpen { fix: fix_rows.last().copied() }
            } else {
                FixState::Open { fix: None }
            };
        };
        let cu_fix = group.rows.iter().copied().find(|i| fix_rows.contains(i));
        match cu_fix {
            Some(fix) if position.lower >= self.row(fix).build => FixState::Fixed,
            Some(fix) if position.upper.is_some_and(|upper| upper < self.row(fix).build) => {
                FixState::Open { fix: Some(fix) }
            }
            Some(fix) => FixState::PossiblyOpen { fix: Some(fix) },
            None => FixState::Open { fix: None },
        }
    }

    fn judge_cves(&self, position: &Position<'_>, report: &mut BuildReport) {
        let line = &position.line.id;
        for cve in self.cves().iter().filter(|cve| cve.products.contains(line)) {
            let (status, fix) = match self.fix_state(position, &cve.fixed_by) {
                FixState::Fixed if cve.config.is_some() => (CveStatus::ConfigDependent, None),
                FixState::Fixed => continue,
                FixState::Open { fix } => (CveStatus::Open, fix),
                FixState::PossiblyOpen { fix } => (CveStatus::PossiblyOpen, fix),
            };
            self.record_verdict(cve, status, fix, report);
        }
        for cluster in self.clusters() {
            let applies = cluster.cves.iter().any(|id| self.cve(id).is_some_and(|cve| cve.products.contains(line)));
            if !applies {
                continue;
            }
            let members: Vec<&CveVerdict> = report.cves.iter().filter(|v| cluster.cves.contains(&v.id)).collect();
            let status = members.iter().map(|v| v.status).max().unwrap_or(CveStatus::Fixed);
            report.clusters.push(ClusterVerdict {
                name: cluster.name.clone(),
                status,
                cves: members.iter().map(|v| v.id.clone()).collect(),
            });
        }
    }

    fn record_verdict(&self, cve: &Cve, status: CveStatus, fix: Option<usize>, report: &mut BuildReport) {
        let exploited = cve.exploited || cve.kev;
        match status {
            CveStatus::Open => {
                report.open_cves.push(cve.id.clone());
                if exploited {
                    report.exploited_open_cves.push(cve.id.clone());
                }
            }
            CveStatus::PossiblyOpen => {
                report.possibly_open_cves.push(cve.id.clone());
                if exploited {
                    report.exploited_possibly_open_cves.push(cve.id.clone());
                }
            }
            CveStatus::ConfigDependent => report.config_dependent_cves.push(cve.id.clone()),
            CveStatus::Fixed => {}
        }
        report.cves.push(CveVerdict {
            id: cve.id.clone(),
            status,
            impact: cve.impact.clone(),
            exploited,
            kev: cve.kev,
            fix: fix.map(|i| self.build_ref(i)),
            config: cve.config,
            config_note: cve.config_note.clone(),
        });
    }

    pub(crate) fn build_ref(&self, index: usize) -> BuildRef {
        let row = self.row(index);
        BuildRef {
            build: row.build,
            name: self.row_name(row),
            released: row.released,
            kb: (!row.kb.is_empty()).then(|| row.kb.clone()),
        }
    }

    fn eems(&self, position: &Position<'_>) -> Eems {
        let line = position.line;
        let Some(first) = line.eems_from else {
            return Eems {
                present: false,
                receives_mitigations: Some(false),
                note: format!("{} has no Emergency Mitigation Service", line.name),
            };
        };
        if position.lower < first {
            return Eems {
                present: false,
                receives_mitigations: Some(false),
                note: format!("the Emergency Mitigation Service arrived with build {first}"),
            };
        }
        let Some(cutoff) = &line.mitigation_cutoff else {
            return Eems { present: true, receives_mitigations: Some(true), note: "present".to_owned() };
        };
        let (receives, note) = match self.fix_state(position, std::slice::from_ref(cutoff)) {
            FixState::Fixed => (Some(true), "present and able to fetch mitigations".to_owned()),
            FixState::Open { .. } => (
                Some(false),
                format!(
                    "present but older than the {cutoff} update: it can no longer validate mitigations from Microsoft"
                ),
            ),
            FixState::PossiblyOpen { .. } => {
                (None, format!("present; fetches mitigations only if the {cutoff} update or later is installed"))
            }
        };
        Eems { present: true, receives_mitigations: receives, note }
    }

    fn recommend(&self, position: &Position<'_>, today: Date) -> (Option<Recommendation>, Option<Recommendation>) {
        let line = position.line;
        let recommended = self.newest_for(line, position.group).map(|index| {
            let target = self.build_ref(index);
            let up_to_date = position.lower >= target.build;
            let note = (!up_to_date && position.group.is_some_and(|g| !self.group_is_current(g))).then(|| {
                format!(
                    "{} no longer receives updates: move to a current CU",
                    position.group.map_or("", |g| g.cu.as_str())
                )
            });
            Recommendation { target, up_to_date, note }
        });
        let passed = line.end_of_support.is_some_and(|eos| today > eos.date);
        let upgrade = match (&line.successor, passed) {
            (Some(successor), true) => self.product_line(successor).and_then(|next| {
                self.newest_for(next, None).map(|index| Recommendation {
                    target: self.build_ref(index),
                    up_to_date: false,
                    note: line.upgrade_note.clone(),
                })
            }),
            _ => None,
        };
        (recommended, upgrade)
    }

    /// The newest build to install: the newest update of this CU while it is
    /// still serviced, else of the line's newest current CU.
    fn newest_for(&self, line: &ProductLine, group: Option<&CuGroup>) -> Option<usize> {
        let target = match group {
            Some(group) if self.group_is_current(group) => Some(group),
            _ => self
                .groups_of(&line.id)
                .filter(|g| self.group_is_current(g))
                .max_by_key(|g| self.row(g.rows[g.rows.len() - 1]).build),
        };
        target.map(|g| g.rows[g.rows.len() - 1])
    }
}
