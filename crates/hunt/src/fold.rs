//! Findings of one file as they are found.

use seawall_model::Finding;
use seawall_sources::Record;

/// Findings of one file, in the order they were found.
#[derive(Debug, Default)]
pub(crate) struct Folder {
    findings: Vec<Finding>,
}

impl Folder {
    pub(crate) fn push(&mut self, finding: Finding, _record: Option<&dyn Record>) {
        self.findings.push(finding);
    }

    /// Join the findings of a later piece of the same file.
    pub(crate) fn absorb(&mut self, later: Folder) {
        self.findings.extend(later.findings);
    }

    pub(crate) fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}
