//! One pass over a line for the literals of every detector that needs one.
//!
//! Most lines of a busy server interest no rule and no indicator. Each gated detector
//! used to search the line with its own automaton (rules, IOC addresses and user
//! agents); one automaton over the union answers "none of them" in a single pass, and
//! only the few lines it lets through reach the detectors' own tests.
//!
//! The pass was a third of a hunt's time: a DFA step waits on the previous one, so one
//! walk over a line runs at the speed of a memory load per byte. The gate walks four
//! lanes at once (each starting where the previous one ends, less the longest literal),
//! which lets the processor overlap the steps; readers hand it batches of lines (about
//! 64 KiB) walked as one block, so short lines get lanes too and pay the overlap once.
//! Literals are cut to [`LITERAL_CAP`] bytes for the gate so the lanes' overlap stays
//! short: a line holding a literal holds its head, and the detectors test the whole
//! literal after the gate.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, MatchKind};

use crate::detector::Detector;

/// Bytes of each literal the gate searches (longer ones are cut). Measured on a busy
/// IIS day: 24 lets through 3% more lines than whole literals, 16 ten times more.
const LITERAL_CAP: usize = 24;
/// Lanes walked together.
const LANES: usize = 4;

/// The union of the gated detectors' literals, ASCII case ignored.
pub(crate) struct LineGate {
    search: Search,
}

enum Search {
    /// No literals, or an automaton that could not be built: every line passes, so the
    /// gate never hides a line.
    Open,
    Lanes(Box<Lanes>),
    /// The union was too large for a DFA.
    Automaton(AhoCorasick),
}

struct Lanes {
    dfa: DFA,
    start: StateID,
    /// Bytes a lane shares with the next (the longest cut literal, less one).
    overlap: usize,
    /// No literal holds a line feed, so a batch of lines can be walked as one block: no
    /// match spans two lines, and after a line feed the automaton is back at its start.
    lines_apart: bool,
}

/// Lines gathered for one pass of the gate: each line's bytes followed by a line feed.
#[derive(Debug, Default)]
pub(crate) struct LineBatch {
    block: Vec<u8>,
    /// Offset of each line's line feed in `block`.
    ends: Vec<usize>,
    numbers: Vec<u64>,
}

impl LineBatch {
    /// Bytes after which a batch is judged (lines are bounded by the reader's limit).
    const BYTES: usize = 64 * 1024;

    pub(crate) fn push(&mut self, line: &[u8], number: u64) {
        self.block.extend_from_slice(line);
        self.ends.push(self.block.len());
        self.block.push(b'\n');
        self.numbers.push(number);
    }

    pub(crate) fn is_full(&self) -> bool {
        self.block.len() >= Self::BYTES
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each line with its number, in order.
    pub(crate) fn lines(&self) -> impl Iterator<Item = (&[u8], u64)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|end| end + 1));
        starts.zip(&self.ends).zip(&self.numbers).map(|((start, &end), &number)| (&self.block[start..end], number))
    }

    pub(crate) fn clear(&mut self) {
        self.block.clear();
        self.ends.clear();
        self.numbers.clear();
    }
}

impl LineGate {
    pub(crate) fn new(detectors: &[&dyn Detector]) -> LineGate {
        let mut literals: Vec<Vec<u8>> = detectors
            .iter()
            .flat_map(|d| d.gate_literals())
            .map(|literal| literal.as_bytes()[..literal.len().min(LITERAL_CAP)].to_vec())
            .filter(|literal| !literal.is_empty())
            .collect();
        literals.sort_unstable();
        literals.dedup();
        if literals.is_empty() {
            return LineGate { search: Search::Open };
        }
        let lanes =
            DFA::builder().ascii_case_insensitive(true).match_kind(MatchKind::Standard).build(&literals).ok().and_then(
                |dfa| {
                    let start = dfa.start_state(Anchored::No).ok()?;
                    let overlap = literals.iter().map(Vec::len).max().unwrap_or(1) - 1;
                    let lines_apart = !literals.iter().any(|literal| literal.contains(&b'\n'));
                    Some(Lanes { dfa, start, overlap, lines_apart })
                },
            );
        let search = match lanes {
            Some(lanes) => Search::Lanes(Box::new(lanes)),
            None => AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&literals)
                .map_or(Search::Open, Search::Automaton),
        };
        LineGate { search }
    }

    /// Whether `raw` holds any gated literal (cut to [`LITERAL_CAP`] bytes).
    pub(crate) fn passes(&self, raw: &[u8]) -> bool {
        match &self.search {
            Search::Open => true,
            Search::Lanes(lanes) => lanes.any_in(raw),
            Search::Automaton(automaton) => automaton.is_match(raw),
        }
    }

    /// [`passes`](Self::passes) for every line of `batch`, into `passed`.
    pub(crate) fn passes_each(&self, batch: &LineBatch, passed: &mut Vec<bool>) {
        passed.clear();
        match &self.search {
            Search::Open => passed.resize(batch.ends.len(), true),
            Search::Lanes(lanes) if lanes.lines_apart => {
                passed.resize(batch.ends.len(), false);
                lanes.mark(&batch.block, &batch.ends, passed);
            }
            _ => passed.extend(batch.lines().map(|(line, _)| self.passes(line))),
        }
    }
}

impl Lanes {
    /// Marks the lines of `block` that hold a literal. The block is cut into lanes walked
    /// together like a long line's; a lane that finds a literal skips to the next line, which
    /// spares the rest of a line already let through.
    fn mark(&self, block: &[u8], ends: &[usize], passed: &mut [bool]) {
        let mut lanes = self.lanes(block.len());
        let mut states = [self.start; LANES];
        // The line holding `at`, marked; where its lane goes on from.
        let mut found = |at: usize| {
            let line = ends.partition_point(|&end| end < at);
            passed[line] = true;
            ends[line] + 1
        };
        loop {
            let together = lanes.iter().map(|&(at, end)| end - at).min().unwrap_or(0);
            if together == 0 {
                break;
            }
            let mut matched = false;
            for step in 0..together {
                for (state, &(at, _)) in states.iter_mut().zip(&lanes) {
                    *state = self.dfa.next_state(Anchored::No, *state, block[at + step]);
                }
                if states.iter().any(|&state| self.dfa.is_special(state))
                    && states.iter().any(|&state| self.dfa.is_match(state))
                {
                    for (state, lane) in states.iter_mut().zip(lanes.iter_mut()) {
                        let at = lane.0 + step;
                        if self.dfa.is_match(*state) {
                            lane.0 = found(at).min(lane.1);
                            *state = self.start;
                        } else {
                            lane.0 = at + 1;
                        }
                    }
                    matched = true;
                    break;
                }
            }
            if !matched {
                for lane in &mut lanes {
                    lane.0 += together;
                }
            }
        }
        // Lanes still open run alone to their ends.
        for (mut state, (mut at, end)) in states.into_iter().zip(lanes) {
            while at < end {
                state = self.dfa.next_state(Anchored::No, state, block[at]);
                if self.dfa.is_special(state) && self.dfa.is_match(state) {
                    at = found(at).min(end);
                    state = self.start;
                } else {
                    at += 1;
                }
            }
        }
    }

    /// `(start, end)` of each lane over `len` bytes. Lane k covers [k * step, k * step +
    /// length): consecutive lanes share `overlap` bytes, so every literal lies whole inside
    /// one lane; the last lane runs to the end. Lanes pay off once each is well longer than
    /// the overlap they repeat: shorter input is one lane, the others empty.
    fn lanes(&self, len: usize) -> [(usize, usize); LANES] {
        let mut lanes = [(0, 0); LANES];
        if len < LANES * (self.overlap + 32) {
            lanes[0] = (0, len);
            return lanes;
        }
        let length = (len + (LANES - 1) * self.overlap).div_ceil(LANES);
        let step = length - self.overlap;
        for (k, lane) in lanes.iter_mut().enumerate() {
            let start = k * step;
            *lane = (start, if k == LANES - 1 { len } else { start + length });
        }
        lanes
    }

    fn any_in(&self, line: &[u8]) -> bool {
        let lanes: [&[u8]; LANES] = self.lanes(line.len()).map(|(start, end)| &line[start..end]);
        let together = lanes.iter().map(|lane| lane.len()).min().unwrap_or(0);
        let mut states = [self.start; LANES];
        for at in 0..together {
            for (state, lane) in states.iter_mut().zip(lanes) {
                *state = self.dfa.next_state(Anchored::No, *state, lane[at]);
            }
            if states.iter().any(|&state| self.dfa.is_special(state))
                && states.iter().any(|&state| self.dfa.is_match(state))
            {
                return true;
            }
        }
        states.iter().zip(lanes).any(|(&state, lane)| self.walk(state, &lane[together..]))
    }

    /// One lane from `state` to its end.
    fn walk(&self, mut state: StateID, bytes: &[u8]) -> bool {
        for &byte in bytes {
            state = self.dfa.next_state(Anchored::No, state, byte);
            if self.dfa.is_special(state) && self.dfa.is_match(state) {
                return true;
            }
        }
        false
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

    #[test]
    fn a_literal_anywhere_in_a_long_line_is_found_across_lane_edges() {
        let long_literal = "Mozilla/5.0+(compatible;+ExampleBot/2.0;++http://bot.example/)";
        let rules = Literals(vec!["/ecp/", "x.js", long_literal]);
        let gate = LineGate::new(&[&rules]);
        for length in [10usize, 100, 300, 1_000, 5_000] {
            let filler: Vec<u8> = (0..length).map(|i| b"abcdefghij klmnop/"[i % 18]).collect();
            assert!(!gate.passes(&filler), "length {length}");
            for literal in ["/ECP/", "x.js", long_literal] {
                for at in 0..=length {
                    let mut line = filler[..at].to_vec();
                    line.extend_from_slice(literal.as_bytes());
                    line.extend_from_slice(&filler[at..]);
                    assert!(gate.passes(&line), "{literal} at {at} of {length}");
                }
            }
        }
    }

    #[test]
    fn a_batch_is_judged_line_by_line_as_each_line_alone() {
        let long_literal = "Mozilla/5.0+(compatible;+ExampleBot/2.0;++http://bot.example/)";
        let gate = LineGate::new(&[&Literals(vec!["/ecp/", "x.js", "203.0.113.9", long_literal])]);
        let pieces =
            ["GET /owa/ ", "/ECP/", "x.j", "s ", "203.0.113.", "9", " Mozilla/5.0+(compatible;", long_literal, "-"];
        let mut seed = 11u64;
        for round in 0..400 {
            let mut batch = LineBatch::default();
            let mut lines = Vec::new();
            for number in 0..(round % 60) {
                let mut line = String::new();
                for _ in 0..(seed % 40) {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    line.push_str(pieces[(seed >> 40) as usize % pieces.len()]);
                }
                batch.push(line.as_bytes(), number);
                lines.push(line);
            }
            let mut passed = Vec::new();
            gate.passes_each(&batch, &mut passed);
            let alone: Vec<bool> = lines.iter().map(|line| gate.passes(line.as_bytes())).collect();
            assert_eq!(passed, alone, "round {round}");
            let numbers: Vec<u64> = batch.lines().map(|(_, number)| number).collect();
            assert_eq!(numbers, (0..lines.len() as u64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_long_literal_is_searched_by_its_head() {
        let gate = LineGate::new(&[&Literals(vec!["0123456789abcdefghijklmnopqrstuvwxyz"])]);
        assert!(gate.passes(b"x 0123456789ABCDEFGHIJKLMN y"));
        assert!(!gate.passes(b"x 0123456789abcdefghijklm y"));
    }
}
