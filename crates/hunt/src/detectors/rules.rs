//! seawall's log rules (`data/detections/*.toml`) as a detector. A record that
//! matches several rules of one group is reported under the most specific
//! (`data/detections/clusters.toml`).

use seawall_rules::RuleSet;

use super::attribution::Attribution;
use crate::detector::{Detector, FileDetector, Found, Subject};
use crate::finding::from_match;

pub(crate) struct RulesDetector<'a> {
    pub(crate) rules: &'a RuleSet,
    pub(crate) attribution: &'a Attribution,
}

impl Detector for RulesDetector<'_> {
    fn stage(&self) -> crate::stages::Stage {
        crate::stages::Stage::Rules
    }

    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>> {
        self.rules.reads(family).then(|| {
            Box::new(RulesInFile {
                detector: self,
                family: family.to_owned(),
                path: path.to_owned(),
                candidates: Vec::new(),
                matched: Vec::new(),
            }) as Box<dyn FileDetector + 'd>
        })
    }

    fn gate_literals(&self) -> Vec<String> {
        self.rules.literals().to_vec()
    }
}

struct RulesInFile<'a> {
    detector: &'a RulesDetector<'a>,
    family: String,
    path: String,
    /// The rules whose literals the last record holds.
    candidates: Vec<usize>,
    matched: Vec<usize>,
}

impl FileDetector for RulesInFile<'_> {
    fn gated(&self) -> bool {
        self.detector.rules.every_rule_filtered(&self.family)
    }

    fn wants(&mut self, raw: &[u8]) -> bool {
        self.detector.rules.candidates(&self.family, raw, &mut self.candidates);
        !self.candidates.is_empty()
    }

    fn check(&mut self, subject: Subject<'_>, found: &mut Found) {
        let Some(record) = subject.record() else { return };
        let rules = self.detector.rules;
        self.matched.clear();
        self.matched.extend(self.candidates.iter().copied().filter(|&index| rules.rule(index).matches(record)));
        if self.matched.is_empty() {
            return;
        }
        let attribution = self.detector.attribution;
        for (index, beaten) in attribution.resolve(&self.matched) {
            let mut finding = from_match(rules.rule(index), record, &self.path);
            attribution.annotate(&mut finding, record, index, &beaten, rules);
            found.push(finding, Some(record));
        }
    }

    fn finish(self: Box<Self>, _found: &mut Found) {}
}
