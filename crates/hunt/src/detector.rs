//! The contract between the record loop and everything that looks at records.
//!
//! A [`Detector`] is built once per run (its automata, its loaded rules) and
//! shared by every worker; for each file it hands out a [`FileDetector`] that
//! holds what it needs while that file is read. The loop asks each file
//! detector whether a record's stored bytes interest it (cheap, before parsing),
//! parses the record once if any does, and gives it to those that asked.

use seawall_model::Finding;
use seawall_sources::Record;
use seawall_sources::entra::SignIn;
use seawall_sources::evtx::EvtxEvent;

use crate::fold::Folder;
use crate::spray::AuthLog;
use crate::stages::Stage;

/// One record as the readers produce it.
#[derive(Clone, Copy)]
pub(crate) enum Subject<'r> {
    /// A line of a text log (IIS W3C, Exchange CSV logs).
    Line(&'r dyn Record),
    /// An event of a Windows event log.
    Evtx(&'r EvtxEvent),
    /// An Entra ID sign-in (exports carry no raw line worth matching).
    SignIn(&'r SignIn),
}

impl<'r> Subject<'r> {
    /// The record view, for detectors that read fields.
    pub(crate) fn record(&self) -> Option<&'r dyn Record> {
        match *self {
            Subject::Line(record) => Some(record),
            Subject::Evtx(event) => Some(event),
            Subject::SignIn(_) => None,
        }
    }
}

/// What the detectors of one file (or one piece of a file) found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Findings of this file, repeated hits folded.
    pub(crate) findings: Folder,
    /// Authentication attempts, judged once every file is read.
    pub(crate) auth: AuthLog,
}

impl Found {
    pub(crate) fn push(&mut self, finding: Finding, record: Option<&dyn Record>) {
        self.findings.push(finding, record);
    }

    /// Join a later piece of the same file.
    pub(crate) fn extend(&mut self, later: Found) {
        self.findings.absorb(later.findings);
        self.auth.extend(later.auth);
    }
}

/// A detection engine, built once per run and shared by the workers.
pub(crate) trait Detector: Sync {
    /// The stage its time is counted under (`--stage-times`).
    fn stage(&self) -> Stage;

    /// Its working state for one file of log `family` (`iis`, `httpproxy`, `evtx`, `entra`, ...),
    /// or `None` when it reads no records of that family.
    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>>;

    /// Literals (ASCII case ignored) one of which is in every record that a *gated* file
    /// detector of this detector wants ([`FileDetector::gated`]); the run searches their
    /// union once per record ([`crate::gate::LineGate`]).
    fn gate_literals(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A detector while one file is read.
pub(crate) trait FileDetector {
    /// Whether [`FileDetector::wants`] can only accept a record that holds one of the
    /// detector's [`Detector::gate_literals`]: such a detector is not asked about records
    /// the gate turns away.
    fn gated(&self) -> bool {
        false
    }
    /// The cheap test on a record's stored bytes (a line, an event's JSON) before
    /// any field is parsed: whether [`FileDetector::check`] should see this record.
    fn wants(&mut self, raw: &[u8]) -> bool;
    /// The column names in force for the records that follow (a W3C `#Fields:` directive),
    /// for detectors whose [`FileDetector::wants`] looks at a column of the raw line.
    fn columns(&mut self, _names: &[String]) {}
    /// Look at a record that [`FileDetector::wants`] accepted (and that lies in the time range).
    fn check(&mut self, subject: Subject<'_>, found: &mut Found);
    /// The file is read: hand over what was held back.
    fn finish(self: Box<Self>, found: &mut Found);
}
