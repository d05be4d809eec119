//! One pass over a line for the literals of every detector that needs one.
//!
//! Most lines of a busy server interest no rule and no indicator. Each gated detector
//! used to search the line with its own automaton (rules, IOC addresses and user
//! agents); one automaton over the union answers "none of them" in a single pass, and
//! only the few lines it lets through reach the detectors' own tests.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::detector::Detector;

/// The union of the gated detectors' literals, ASCII case ignored.
pub(crate) struct LineGate {
    automaton: Option<AhoCorasick>,
}

impl LineGate {
    pub(crate) fn new(detectors: &[&dyn Detector]) -> LineGate {
        let mut literals: Vec<String> = detectors.iter().flat_map(|d| d.gate_literals()).collect();
        literals.sort_unstable();
        literals.dedup();
        // Only "is any there" is asked: a DFA with leftmost-first semantics stops at the first.
        let automaton = (!literals.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostFirst)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&literals)
                    .or_else(|_| AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&literals))
                    .ok()
            })
            .flatten();
        LineGate { automaton }
    }

    /// Whether `raw` holds any gated literal. Without an automaton (no literals, or one
    /// that could not be built) every line passes, so the gate never hides a line.
    pub(crate) fn passes(&self, raw: &[u8]) -> bool {
        self.automaton.as_ref().is_none_or(|automaton| automaton.is_match(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::FileDetector;

    struct Literals(Vec<&'static str>);

    impl Detector for Literals {
        fn stage(&self) -> crate::stages::Stage {
            crate::stages::Stage::Rules
        }

        fn for_file<'d>(&'d self, _family: &str, _path: &str) -> Option<Box<dyn FileDetector + 'd>> {
            None
        }

        fn gate_literals(&self) -> Vec<String> {
            self.0.iter().map(|l| (*l).to_owned()).collect()
        }
    }

    #[test]
    fn passes_lines_with_any_detectors_literal_in_any_case() {
        let rules = Literals(vec!["/ecp/", "/owa/auth/x.js"]);
        let iocs = Literals(vec!["python-requests/2.25.1", "203.0.113.9"]);
        let gate = LineGate::new(&[&rules, &iocs]);
        assert!(gate.passes(b"GET /OWA/Auth/X.js - 443"));
        assert!(gate.passes(b"POST /foo - 443 - 203.0.113.9 curl"));
        assert!(gate.passes(b"GET /x - 443 - 10.0.0.1 Python-Requests/2.25.1"));
        assert!(!gate.passes(b"GET /owa/auth/logon.aspx - 443 - 10.0.0.1 Mozilla/5.0"));
    }

    #[test]
    fn without_literals_every_line_passes() {
        let gate = LineGate::new(&[&Literals(Vec::new())]);
        assert!(gate.passes(b"anything"));
    }
}
