//! The one record loop: every reader (W3C, Exchange CSV, EVTX, Entra) hands its
//! records here, and the loop gives each to the detectors that want it.

use seawall_model::ErrorRecord;
use seawall_sources::Record;
use seawall_sources::entra::SignIn;
use seawall_sources::evtx::EvtxEvent;

use crate::HuntOptions;
use crate::detector::{Detector, FileDetector, Found, Subject};

/// Error records listed per file; the rest are counted (a flood of bad lines must not
/// become a flood of records).
pub(crate) const MAX_ERRORS_PER_FILE: usize = 100;

/// The detectors of one file (or piece of a file) and what they found.
pub(crate) struct RecordLoop<'d> {
    path: String,
    options: &'d HuntOptions,
    detectors: Vec<Box<dyn FileDetector + 'd>>,
    /// Indexes of the detectors that want the current record.
    wanting: Vec<usize>,
    found: Found,
    errors: Vec<ErrorRecord>,
    errors_not_listed: u64,
    events: u64,
}

/// What the loop gives back when a file (or piece) is read.
pub(crate) struct LoopEnd {
    pub(crate) found: Found,
    pub(crate) errors: Vec<ErrorRecord>,
    /// Errors beyond [`MAX_ERRORS_PER_FILE`], counted.
    pub(crate) errors_not_listed: u64,
    pub(crate) events: u64,
}

impl<'d> RecordLoop<'d> {
    pub(crate) fn new(detectors: &'d [&'d dyn Detector], family: &str, path: &str, options: &'d HuntOptions) -> Self {
        RecordLoop {
            path: path.to_owned(),
            options,
            detectors: detectors.iter().filter_map(|d| d.for_file(family, path)).collect(),
            wanting: Vec::new(),
            found: Found::default(),
            errors: Vec::new(),
            errors_not_listed: 0,
            events: 0,
        }
    }

    /// A text line whose stored bytes are `raw`; `parse` makes the record only if a detector wants it.
    pub(crate) fn line<R: Record>(&mut self, raw: &[u8], parse: impl FnOnce() -> R) {
        self.events += 1;
        if !self.select(raw) {
            return;
        }
        let record = parse();
        if self.in_range(record.time()) {
            self.dispatch(Subject::Line(&record));
        }
    }

    pub(crate) fn evtx(&mut self, event: &EvtxEvent) {
        self.events += 1;
        if !self.in_range(event.time) {
            return;
        }
        if self.select(&event.raw()) {
            self.dispatch(Subject::Evtx(event));
        }
    }

    pub(crate) fn sign_in(&mut self, sign_in: &SignIn) {
        self.events += 1;
        if self.in_range(Some(sign_in.time)) && self.select(b"") {
            self.dispatch(Subject::SignIn(sign_in));
        }
    }

    /// A problem in the file, at `position` when known.
    pub(crate) fn error(&mut self, message: String, position: Option<String>) {
        if self.errors.len() < MAX_ERRORS_PER_FILE {
            self.errors.push(ErrorRecord { source: self.path.clone(), message, position });
        } else {
            self.errors_not_listed += 1;
        }
    }

    pub(crate) fn finish(mut self) -> LoopEnd {
        for detector in self.detectors {
            detector.finish(&mut self.found);
        }
        LoopEnd {
            found: self.found,
            errors: self.errors,
            errors_not_listed: self.errors_not_listed,
            events: self.events,
        }
    }

    fn select(&mut self, raw: &[u8]) -> bool {
        self.wanting.clear();
        for (index, detector) in self.detectors.iter_mut().enumerate() {
            if detector.wants(raw) {
                self.wanting.push(index);
            }
        }
        !self.wanting.is_empty()
    }

    fn dispatch(&mut self, subject: Subject<'_>) {
        for &index in &self.wanting {
            self.detectors[index].check(subject, &mut self.found);
        }
    }

    fn in_range(&self, time: Option<jiff::Timestamp>) -> bool {
        let Some(time) = time else { return true };
        self.options.from.is_none_or(|from| time >= from) && self.options.to.is_none_or(|to| time < to)
    }
}
