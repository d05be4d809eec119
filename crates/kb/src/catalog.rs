//! The loaded knowledge base and its indexes.

use std::path::Path;

use crate::LoadError;
use crate::data::{self, BuildRow, Cluster, Cve, ProductLine, ReleaseDate};
use crate::version::{BuildNumber, BuildQuery};

const EMBEDDED_PRODUCTS: &str = include_str!("../../../data/kb/products.toml");
const EMBEDDED_BUILDS: &str = include_str!("../../../data/kb/builds.csv");
const EMBEDDED_CVES: &str = include_str!("../../../data/kb/cves.toml");

/// The builds of one CU (or, for 2010, one service pack with its rollups).
#[derive(Debug, Clone)]
pub struct CuGroup {
    pub line: String,
    pub cu: String,
    /// Indexes into [`KnowledgeBase::rows`], in build order.
    pub rows: Vec<usize>,
}

/// Exchange builds, product lines, CVEs and clusters, indexed for lookups.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    lines: Vec<ProductLine>,
    rows: Vec<BuildRow>,
    groups: Vec<CuGroup>,
    cves: Vec<Cve>,
    clusters: Vec<Cluster>,
    origin: String,
}

impl KnowledgeBase {
    /// The knowledge base compiled into the binary.
    pub fn embedded() -> Result<KnowledgeBase, LoadError> {
        KnowledgeBase::from_texts(EMBEDDED_PRODUCTS, EMBEDDED_BUILDS, EMBEDDED_CVES, "embedded")
    }

    /// A knowledge base from a directory holding `products.toml`, `builds.csv`
    /// and `cves.toml` (the `--kb DIR` override).
    pub fn from_dir(dir: &Path) -> Result<KnowledgeBase, LoadError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| LoadError::Io { path: path.display().to_string(), source })
        };
        KnowledgeBase::from_texts(
            &read("products.toml")?,
            &read("builds.csv")?,
            &read("cves.toml")?,
            &dir.display().to_string(),
        )
    }

    pub fn from_texts(products: &str, builds: &str, cves: &str, origin: &str) -> Result<KnowledgeBase, LoadError> {
        let lines = data::parse_products(products)?;
        let mut rows = data::parse_builds(builds)?;
        let cves_file = data::parse_cves(cves)?;
        for row in &rows {
            if !lines.iter().any(|line| line.id == row.product) {
                return Err(LoadError::data("builds.csv", format!("{}: unknown product {:?}", row.build, row.product)));
            }
        }
        rows.sort_by_key(|row| row.build);
        let groups = group_rows(&rows);
        Ok(KnowledgeBase {
            lines,
            rows,
            groups,
            cves: cves_file.cve,
            clusters: cves_file.cluster,
            origin: origin.to_owned(),
        })
    }

    /// `embedded` or the directory the data came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn product_lines(&self) -> &[ProductLine] {
        &self.lines
    }

    pub fn product_line(&self, id: &str) -> Option<&ProductLine> {
        self.lines.iter().find(|line| line.id == id)
    }

    pub fn line_for(&self, major: u32, minor: u32, build: u32) -> Option<&ProductLine> {
        self.lines.iter().find(|line| line.matches(major, minor, build))
    }

    /// Every build row, in build order.
    pub fn rows(&self) -> &[BuildRow] {
        &self.rows
    }

    pub fn row(&self, index: usize) -> &BuildRow {
        &self.rows[index]
    }

    pub fn row_by_build(&self, build: BuildNumber) -> Option<&BuildRow> {
        self.rows.binary_search_by_key(&build, |row| row.build).ok().map(|index| &self.rows[index])
    }

    pub fn groups(&self) -> &[CuGroup] {
        &self.groups
    }

    pub fn groups_of<'a>(&'a self, line: &str) -> impl Iterator<Item = &'a CuGroup> + 'a {
        let line = line.to_owned();
        self.groups.iter().filter(move |group| group.line == line)
    }

    /// The CU group a query belongs to: the one with a row of the same
    /// `major.minor.build`, or (2010) the one whose rows span it.
    pub fn group_for(&self, line: &str, query: BuildQuery) -> Option<&CuGroup> {
        let key = query.cu_key();
        let groups: Vec<&CuGroup> = self.groups_of(line).collect();
        if let Some(group) = groups.iter().find(|group| group.rows.iter().any(|&i| self.rows[i].build.cu_key() == key))
        {
            return Some(group);
        }
        let low = query.lowest();
        groups.into_iter().find(|group| {
            let first = self.rows[group.rows[0]].build;
            let last = self.rows[group.rows[group.rows.len() - 1]].build;
            first.cu_key() < key && low <= last
        })
    }

    /// Rows of a product line, in build order.
    pub fn rows_of<'a>(&'a self, line: &str) -> impl Iterator<Item = &'a BuildRow> + 'a {
        let line = line.to_owned();
        self.rows.iter().filter(move |row| row.product == line)
    }

    pub fn cves(&self) -> &[Cve] {
        &self.cves
    }

    pub fn cve(&self, id: &str) -> Option<&Cve> {
        self.cves.iter().find(|cve| cve.id.eq_ignore_ascii_case(id))
    }

    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// The clusters a CVE belongs to.
    pub fn clusters_of<'a>(&'a self, cve: &'a str) -> impl Iterator<Item = &'a Cluster> + 'a {
        self.clusters.iter().filter(move |cluster| cluster.cves.iter().any(|c| c == cve))
    }

    /// Rows of `line` carrying one of `updates`, in build order.
    pub fn fix_rows(&self, line: &str, updates: &[String]) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| self.rows[i].product == line && updates.contains(&self.rows[i].update))
            .collect()
    }

    /// When the first of `updates` shipped, in any product line.
    pub fn fix_date(&self, updates: &[String]) -> Option<ReleaseDate> {
        self.rows.iter().filter(|row| updates.contains(&row.update)).map(|row| row.released).min()
    }

    /// A line released after the fix shipped contains it without carrying the update
    /// (Exchange SE and the April 2025 hotfix).
    pub fn line_released_after_fix(&self, line: &ProductLine, updates: &[String]) -> bool {
        matches!((line.released, self.fix_date(updates)), (Some(released), Some(fix)) if released > fix)
    }

    /// A display name for a row: `Exchange Server 2019 CU9 Apr21SU`.
    pub fn row_name(&self, row: &BuildRow) -> String {
        let product = self.product_line(&row.product).map_or(row.product.as_str(), |line| line.name.as_str());
        if row.update.is_empty() {
            format!("{product} {}", row.cu)
        } else {
            format!("{product} {} {}", row.cu, row.update)
        }
    }
}

fn group_rows(rows: &[BuildRow]) -> Vec<CuGroup> {
    let mut groups: Vec<CuGroup> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match groups.iter_mut().find(|g| g.line == row.product && g.cu == row.cu) {
            Some(group) => group.rows.push(index),
            None => groups.push(CuGroup { line: row.product.clone(), cu: row.cu.clone(), rows: vec![index] }),
        }
    }
    groups
}
