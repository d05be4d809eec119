//! seawall's log rules (`data/detections/*.toml`) as a detector.

use seawall_rules::RuleSet;

use crate::detector::{Detector, FileDetector, Found, Subject};
use crate::finding::from_match;

pub(crate) struct RulesDetector<'a> {
    pub(crate) rules: &'a RuleSet,
}

impl Detector for RulesDetector<'_> {
    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>> {
        self.rules.reads(family).then(|| {
            Box::new(RulesInFile {
                rules: self.rules,
                family: family.to_owned(),
                path: path.to_owned(),
                candidates: Vec::new(),
            }) as Box<dyn FileDetector + 'd>
        })
    }
}

struct RulesInFile<'a> {
    rules: &'a RuleSet,
    family: String,
    path: String,
    /// The rules whose literals the last record holds.
    candidates: Vec<usize>,
}

impl FileDetector for RulesInFile<'_> {
    fn wants(&mut self, raw: &[u8]) -> bool {
        self.rules.candidates(&self.family, raw, &mut self.candidates);
        !self.candidates.is_empty()
    }

    fn check(&mut self, subject: Subject<'_>, found: &mut Found) {
        let Some(record) = subject.record() else { return };
        for &index in &self.candidates {
            let rule = self.rules.rule(index);
            if rule.matches(record) {
                found.push(from_match(rule, record, &self.path), Some(record));
            }
        }
    }

    fn finish(self: Box<Self>, _found: &mut Found) {}
}
