//! The one record loop: every reader (W3C, Exchange CSV, EVTX, Entra) hands its
//! records here, and the loop gives each to the detectors that want it.

use seawall_model::ErrorRecord;
use seawall_sources::Record;
use seawall_sources::entra::SignIn;
use seawall_sources::evtx::EvtxEvent;

use crate::HuntOptions;
use crate::detector::{FileDetector, Found, Subject};
use crate::dispatch::Detectors;
use crate::gate::{LineBatch, LineGate};
use crate::stages::{Clock, Stage, StageTimes};

/// Error records listed per file; the rest are counted (a flood of bad lines must not
/// become a flood of records).
pub(crate) const MAX_ERRORS_PER_FILE: usize = 100;

/// The detectors of one file (or piece of a file) and what they found.
pub(crate) struct RecordLoop<'d> {
    path: String,
    options: &'d HuntOptions,
    detectors: Vec<Box<dyn FileDetector + 'd>>,
    /// Per detector: asked only about records the gate lets through.
    gated: Vec<bool>,
    gate: &'d LineGate,
    /// The gate's verdicts on the batch being read (kept to reuse its memory).
    passed: Vec<bool>,
    any_gated: bool,
    /// Per detector: the stage its time goes to.
    stages: Vec<Stage>,
    /// Running when stage times were asked for: started with the reader.
    clock: Clock,
    times: StageTimes,
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
    pub(crate) times: StageTimes,
}

impl<'d> RecordLoop<'d> {
    pub(crate) fn new(detectors: &Detectors<'d>, family: &str, path: &str, options: &'d HuntOptions) -> Self {
        let (stages, file_detectors): (Vec<Stage>, Vec<Box<dyn FileDetector + 'd>>) =
            detectors.records.iter().filter_map(|d| Some((d.stage(), d.for_file(family, path)?))).unzip();
        let gated: Vec<bool> = file_detectors.iter().map(|d| d.gated()).collect();
        RecordLoop {
            path: path.to_owned(),
            options,
            any_gated: gated.contains(&true),
            gated,
            gate: detectors.gate,
            passed: Vec::new(),
            detectors: file_detectors,
            stages,
            clock: Clock::start(options.stage_times),
            times: StageTimes::default(),
            wanting: Vec::new(),
            found: Found::default(),
            errors: Vec::new(),
            errors_not_listed: 0,
            events: 0,
        }
    }

    /// Every text line of `batch`, in order; the gate judges the batch in one pass. `parse`
    /// makes a line's record from its bytes and number, only if a detector wants the line.
    pub(crate) fn lines<'b, R: Record>(&mut self, batch: &'b LineBatch, mut parse: impl FnMut(&'b [u8], u64) -> R) {
        if batch.is_empty() {
            return;
        }
        let timing = self.clock.is_on();
        let mut passed = std::mem::take(&mut self.passed);
        if self.any_gated {
            let gate = self.gate;
            timed(timing, &mut self.times, Stage::Gate, || gate.passes_each(batch, &mut passed));
        }
        for (index, (raw, number)) in batch.lines().enumerate() {
            self.events += 1;
            let open = self.any_gated && passed[index];
            if !self.select_after_gate(raw, open) {
                continue;
            }
            let record = parse(raw, number);
            if self.in_range(record.time()) {
                self.dispatch(Subject::Line(&record));
            }
        }
        self.passed = passed;
    }

    /// The reader's column names changed (or were first read).
    pub(crate) fn columns(&mut self, names: &[String]) {
        for detector in &mut self.detectors {
            detector.columns(names);
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
        let timing = self.clock.is_on();
        for (detector, stage) in self.detectors.into_iter().zip(self.stages) {
            timed(timing, &mut self.times, stage, || detector.finish(&mut self.found));
        }
        // The reader's own time: everything since it started that no detector took.
        self.times.add(Stage::Read, self.clock.elapsed().saturating_sub(self.times.detection()));
        LoopEnd {
            times: self.times,
            found: self.found,
            errors: self.errors,
            errors_not_listed: self.errors_not_listed,
            events: self.events,
        }
    }

    fn select(&mut self, raw: &[u8]) -> bool {
        let timing = self.clock.is_on();
        let gate = self.gate;
        let open = self.any_gated && timed(timing, &mut self.times, Stage::Gate, || gate.passes(raw));
        self.select_after_gate(raw, open)
    }

    /// The detectors that want a line the gate let through (`open`) or not.
    fn select_after_gate(&mut self, raw: &[u8], open: bool) -> bool {
        self.wanting.clear();
        let timing = self.clock.is_on();
        for (index, detector) in self.detectors.iter_mut().enumerate() {
            if (open || !self.gated[index])
                && timed(timing, &mut self.times, self.stages[index], || detector.wants(raw))
            {
                self.wanting.push(index);
            }
        }
        !self.wanting.is_empty()
    }

    fn dispatch(&mut self, subject: Subject<'_>) {
        let timing = self.clock.is_on();
        for &index in &self.wanting {
            let (detector, found) = (&mut self.detectors[index], &mut self.found);
            timed(timing, &mut self.times, self.stages[index], || detector.check(subject, found));
        }
    }

    fn in_range(&self, time: Option<jiff::Timestamp>) -> bool {
        let Some(time) = time else { return true };
        self.options.from.is_none_or(|from| time >= from) && self.options.to.is_none_or(|to| time < to)
    }
}

/// `work`, its time added to `stage` when timing.
fn timed<T>(timing: bool, times: &mut StageTimes, stage: Stage, work: impl FnOnce() -> T) -> T {
    if !timing {
        return work();
    }
    let clock = Clock::start(true);
    let result = work();
    times.add(stage, clock.elapsed());
    result
}
