//! `seawall kb cve`: which lines a CVE affects and which build fixes it per CU.

use serde::Serialize;

use crate::assess::BuildRef;
use crate::catalog::KnowledgeBase;
use crate::data::{ConfigDependence, ReleaseDate};

/// The fixing build of one CU.
#[derive(Debug, Clone, Serialize)]
pub struct CuFix {
    pub cu: String,
    pub fix: BuildRef,
}

/// One affected product line.
#[derive(Debug, Clone, Serialize)]
pub struct LineFixes {
    pub product: String,
    pub product_id: String,
    pub fixes: Vec<CuFix>,
    /// The first build of a later CU (or product) that already contains the fix.
    pub contained_from: Option<BuildRef>,
    /// CUs older than the fix that never received it: upgrade them.
    pub cus_without_fix: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CveReport {
    pub id: String,
    pub published: ReleaseDate,
    pub impact: Option<String>,
    pub cvss: Option<f32>,
    pub kev: bool,
    pub kev_added: Option<ReleaseDate>,
    pub exploited: bool,
    pub clusters: Vec<String>,
    pub config: Option<ConfigDependence>,
    pub config_note: Option<String>,
    pub note: Option<String>,
    pub lines: Vec<LineFixes>,
    pub sources: Vec<String>,
}

impl KnowledgeBase {
    pub fn cve_report(&self, id: &str) -> Option<CveReport> {
        let cve = self.cve(id)?;
        let mut lines = Vec::new();
        for line in cve.products.iter().filter_map(|p| self.product_line(p)) {
            let fix_rows = self.fix_rows(&line.id, &cve.fixed_by);
            let newest_fix = fix_rows.iter().map(|&i| self.row(i).build).max();
            let mut fixes = Vec::new();
            let mut cus_without_fix = Vec::new();
            let mut contained_from = None;
            for group in self.groups_of(&line.id) {
                let base = self.row(group.rows[0]).build;
                match group.rows.iter().find(|i| fix_rows.contains(i)) {
                    Some(&fix) => fixes.push(CuFix { cu: group.cu.clone(), fix: self.build_ref(fix) }),
                    None if newest_fix.is_none_or(|newest| base > newest) => {
                        if contained_from.is_none() {
                            contained_from = Some(self.build_ref(group.rows[0]));
                        }
                    }
                    None => cus_without_fix.push(group.cu.clone()),
                }
            }
            lines.push(LineFixes {
                product: line.name.clone(),
                product_id: line.id.clone(),
                fixes,
                contained_from,
                cus_without_fix,
            });
        }
        Some(CveReport {
            id: cve.id.clone(),
            published: cve.published,
            impact: cve.impact.clone(),
            cvss: cve.cvss,
            kev: cve.kev,
            kev_added: cve.kev_added,
            exploited: cve.exploited || cve.kev,
            clusters: self.clusters_of(&cve.id).map(|c| c.name.clone()).collect(),
            config: cve.config,
            config_note: cve.config_note.clone(),
            note: cve.note.clone(),
            lines,
            sources: cve.sources.clone(),
        })
    }
}
