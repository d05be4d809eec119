//! Where a hunt's time goes, by stage, when asked (`--stage-times`): each stage's time
//! summed over the worker threads, so the parts add up to the CPU the hunt used, not to
//! its wall time. Off by default: the clock is read around every record when on.

use std::time::{Duration, Instant};

/// The stages a hunt's time is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Listing the evidence and planning collections.
    Walk,
    /// Reading logs: lines, directives, event records, field splitting of wanted records.
    Read,
    /// The one literal search per record for the gated detectors.
    Gate,
    /// seawall's log rules.
    Rules,
    /// Community Sigma rules.
    Sigma,
    /// The authentication detector (sprays, brute force, success after failures).
    Auth,
    /// IOC addresses and user agents in web logs.
    Ioc,
    /// Webshell, YARA and IOC examination of files that are not logs.
    FileScan,
}

impl Stage {
    pub const ALL: [Stage; 8] =
        [Stage::Walk, Stage::Read, Stage::Gate, Stage::Rules, Stage::Sigma, Stage::Auth, Stage::Ioc, Stage::FileScan];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Walk => "walk",
            Stage::Read => "read",
            Stage::Gate => "gate",
            Stage::Rules => "rules",
            Stage::Sigma => "sigma",
            Stage::Auth => "auth",
            Stage::Ioc => "ioc",
            Stage::FileScan => "file_scan",
        }
    }
}

/// Time per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes([Duration; Stage::ALL.len()]);

impl StageTimes {
    pub fn add(&mut self, stage: Stage, time: Duration) {
        self.0[stage as usize] += time;
    }

    pub fn get(&self, stage: Stage) -> Duration {
        self.0[stage as usize]
    }

    pub fn absorb(&mut self, other: &StageTimes) {
        for stage in Stage::ALL {
            self.add(stage, other.get(stage));
        }
    }

    /// Everything but reading: what a reader's own time is left with once the
    /// detectors it called are taken out.
    pub(crate) fn detection(&self) -> Duration {
        Stage::ALL.iter().filter(|s| **s != Stage::Read).map(|s| self.get(*s)).sum()
    }
}

/// A clock that is read only when stage times were asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock(Option<Instant>);

impl Clock {
    pub(crate) fn start(on: bool) -> Clock {
        Clock(on.then(Instant::now))
    }

    /// Time since start (zero when off).
    pub(crate) fn elapsed(&self) -> Duration {
        self.0.map_or(Duration::ZERO, |started| started.elapsed())
    }

    pub(crate) fn is_on(&self) -> bool {
        self.0.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_and_reading_is_what_detection_leaves() {
        let mut times = StageTimes::default();
        times.add(Stage::Gate, Duration::from_millis(3));
        times.add(Stage::Auth, Duration::from_millis(5));
        times.add(Stage::Read, Duration::from_millis(7));
        let mut total = StageTimes::default();
        total.absorb(&times);
        total.absorb(&times);
        assert_eq!(total.get(Stage::Auth), Duration::from_millis(10));
        assert_eq!(times.detection(), Duration::from_millis(8));
        assert_eq!(Stage::ALL.map(Stage::name).len(), 8);
    }

    #[test]
    fn a_clock_that_is_off_reads_zero() {
        let clock = Clock::start(false);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert!(Clock::start(true).is_on());
    }
}
