//! Consistency checks over the data files: the table must be sound before any verdict is.

use std::collections::BTreeSet;

use crate::catalog::KnowledgeBase;

impl KnowledgeBase {
    /// Every inconsistency found, as a sentence naming the row or CVE; empty when sound.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.lint_rows(&mut problems);
        self.lint_products(&mut problems);
        self.lint_cves(&mut problems);
        problems
    }

    fn lint_rows(&self, problems: &mut Vec<String>) {
        let rows = self.rows();
        for pair in rows.windows(2) {
            if pair[0].build == pair[1].build {
                problems.push(format!("builds.csv: build {} appears twice", pair[0].build));
            }
        }
        for row in rows {
            let fits = self
                .product_line(&row.product)
                .is_some_and(|line| line.matches(row.build.major, row.build.minor, row.build.build));
            if !fits {
                problems
                    .push(format!("builds.csv: {} is outside the version range of product {}", row.build, row.product));
            }
        }
        let mut names = BTreeSet::new();
        for group in self.groups() {
            let first = self.row(group.rows[0]);
            if !first.update.is_empty() {
                problems.push(format!(
                    "builds.csv: {} {} starts with an update ({}) instead of the CU itself",
                    group.line, group.cu, first.build
                ));
            }
            for pair in group.rows.windows(2) {
                let (a, b) = (self.row(pair[0]), self.row(pair[1]));
                if b.released < a.released {
                    problems.push(format!(
                        "builds.csv: {} {}: {} is dated before the lower build {}",
                        group.line, group.cu, b.build, a.build
                    ));
                }
            }
            for &i in &group.rows {
                let row = self.row(i);
                if !names.insert((row.product.clone(), row.cu.clone(), row.update.clone())) {
                    problems.push(format!("builds.csv: two rows named {} {} {}", row.product, row.cu, row.update));
                }
            }
        }
        for line in self.product_lines() {
            let groups: Vec<_> = self.groups_of(&line.id).collect();
            for pair in groups.windows(2) {
                let last = self.row(pair[0].rows[pair[0].rows.len() - 1]).build;
                let next = self.row(pair[1].rows[0]).build;
                if last.cu_key() >= next.cu_key() {
                    problems.push(format!(
                        "builds.csv: {} {} reaches {} which overlaps {} from {}",
                        line.id, pair[0].cu, last, pair[1].cu, next
                    ));
                }
            }
        }
    }

    fn lint_products(&self, problems: &mut Vec<String>) {
        for line in self.product_lines() {
            if let Some(successor) = &line.successor
                && self.product_line(successor).is_none()
            {
                problems.push(format!("products.toml: {} names unknown successor {successor}", line.id));
            }
            if let Some(cutoff) = &line.mitigation_cutoff
                && !self.rows().iter().any(|row| &row.update == cutoff)
            {
                problems
                    .push(format!("products.toml: {} mitigation cut-off {cutoff} is no update in builds.csv", line.id));
            }
            if line.sources.is_empty() {
                problems.push(format!("products.toml: {} cites no source", line.id));
            }
        }
    }

    fn lint_cves(&self, problems: &mut Vec<String>) {
        let mut ids = BTreeSet::new();
        for cve in self.cves() {
            if !ids.insert(cve.id.clone()) {
                problems.push(format!("cves.toml: {} defined twice", cve.id));
            }
            if cve.sources.is_empty() {
                problems.push(format!("cves.toml: {} cites no source", cve.id));
            }
            if cve.config.is_some() != cve.config_note.is_some() {
                problems.push(format!("cves.toml: {} needs both config and config_note", cve.id));
            }
            if self.fix_date(&cve.fixed_by).is_none() {
                problems.push(format!("cves.toml: {} is fixed by {:?}, which no build carries", cve.id, cve.fixed_by));
            }
            for product in &cve.products {
                let Some(line) = self.product_line(product) else {
                    problems.push(format!("cves.toml: {} names unknown product {product}", cve.id));
                    continue;
                };
                let has_fix = self.rows_of(product).any(|row| cve.fixed_by.contains(&row.update));
                let released_after = self.line_released_after_fix(line, &cve.fixed_by);
                if !has_fix && !released_after {
                    problems.push(format!(
                        "cves.toml: {} affects {product} but no {product} build carries {:?}",
                        cve.id, cve.fixed_by
                    ));
                }
            }
            self.lint_msrc_affected(cve, problems);
        }
        for cluster in self.clusters() {
            for id in &cluster.cves {
                if self.cve(id).is_none() {
                    problems.push(format!("cves.toml: cluster {} names undefined {id}", cluster.name));
                }
            }
        }
    }

    /// Every CU Microsoft lists as affected must have a fixing update in the table.
    fn lint_msrc_affected(&self, cve: &crate::Cve, problems: &mut Vec<String>) {
        for cu in &cve.msrc_affected {
            let Ok(query) = crate::BuildQuery::parse(cu) else {
                problems.push(format!("cves.toml: {} msrc_affected {cu:?} is not a build", cve.id));
                continue;
            };
            let Some(line) = self.line_for(query.major, query.minor, query.build) else {
                problems.push(format!("cves.toml: {} msrc_affected {cu} belongs to no product", cve.id));
                continue;
            };
            if !cve.products.contains(&line.id) {
                problems.push(format!("cves.toml: {} msrc_affected {cu} is {} which products omits", cve.id, line.id));
                continue;
            }
            let Some(group) = self.group_for(&line.id, query) else {
                problems.push(format!("cves.toml: {} msrc_affected {cu} is no CU in builds.csv", cve.id));
                continue;
            };
            let fixed_in_group = group.rows.iter().any(|&i| cve.fixed_by.contains(&self.row(i).update));
            let newest_fix =
                self.rows_of(&line.id).filter(|row| cve.fixed_by.contains(&row.update)).map(|row| row.build).max();
            let newer_cu = newest_fix.is_some_and(|fix| self.row(group.rows[0]).build >= fix);
            let covered = fixed_in_group
                || newer_cu
                || (self.fix_rows(&line.id, &cve.fixed_by).is_empty()
                    && self.line_released_after_fix(line, &cve.fixed_by));
            if !covered {
                problems.push(format!(
                    "cves.toml: {} msrc_affected {cu} ({}) has no build carrying {:?}",
                    cve.id, group.cu, cve.fixed_by
                ));
            }
        }
    }
}
