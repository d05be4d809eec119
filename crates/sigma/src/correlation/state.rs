//! The matches a correlation has seen, per group, in bounded memory.
//!
//! Bounds: at most [`MAX_OPEN_GROUPS`] groups and [`MAX_EVENTS_PER_GROUP`] kept matches per
//! group. A group over its bound is compacted: its windows are swept, the bursts found are kept
//! as summaries, and only the matches inside the last window stay (evidence is mostly in time
//! order within a file, so later matches meet those). What cannot be kept is counted in
//! [`CorrelationStats`], never silently lost.

use std::collections::HashMap;
use std::sync::Arc;

use super::CorrelationSpec;
use super::sweep::{Burst, sweep_group};

/// Groups (correlation × group-by values) open at once; a new group past this is dropped and counted.
pub const MAX_OPEN_GROUPS: usize = 50_000;
/// Matches kept per group before it is compacted.
pub const MAX_EVENTS_PER_GROUP: usize = 4_096;

/// What the correlation layer saw and what it had to leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelationStats {
    /// Matches of correlated rules fed to the windows.
    pub observed: u64,
    /// Matches without an event time (they cannot be placed in a window).
    pub untimed: u64,
    /// Matches of groups not opened because [`MAX_OPEN_GROUPS`] were open.
    pub dropped_groups_events: u64,
    /// Distinct groups refused for that reason (counted once per state).
    pub dropped_groups: u64,
    /// Matches dropped from a group that had more than [`MAX_EVENTS_PER_GROUP`] inside one window.
    pub dropped_events: u64,
    /// Group compactions (sweeps before the end of the evidence).
    pub compactions: u64,
}

impl CorrelationStats {
    fn add(&mut self, other: &CorrelationStats) {
        self.observed += other.observed;
        self.untimed += other.untimed;
        self.dropped_groups_events += other.dropped_groups_events;
        self.dropped_groups += other.dropped_groups;
        self.dropped_events += other.dropped_events;
        self.compactions += other.compactions;
    }
}

/// Where a match was read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct At {
    pub(crate) origin: Arc<str>,
    pub(crate) line: Option<u64>,
    pub(crate) record: Option<u64>,
}

/// One match of a correlated rule.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) time_ms: i64,
    /// Position of the rule in the correlation's inputs.
    pub(crate) position: u16,
    /// The `value_count` field's value.
    pub(crate) value: Option<Box<str>>,
    pub(crate) at: At,
    /// Already counted in a burst summarised by a compaction.
    pub(crate) counted: bool,
}

pub(crate) type GroupKey = Box<[Option<Box<str>>]>;

#[derive(Debug, Default)]
pub(crate) struct Group {
    pub(crate) events: Vec<Observation>,
    /// Bursts summarised by compactions.
    pub(crate) bursts: Vec<Burst>,
    /// Matches of this group that were dropped (over the bound inside one window).
    pub(crate) dropped: u64,
    /// Where the condition held, found by compactions (for a correlation another one reads).
    pub(crate) fires: Vec<(i64, At)>,
}

/// The matches of correlated rules seen so far (one file, one worker or a whole run).
/// `Send`; merge states with [`CorrelationState::merge`], end with [`crate::SigmaEngine::finish`].
#[derive(Debug, Default)]
pub struct CorrelationState {
    pub(crate) groups: HashMap<(u32, GroupKey), Group>,
    pub(crate) stats: CorrelationStats,
    origin: Option<Arc<str>>,
}

impl CorrelationState {
    /// Name the file the next matches come from (sample references carry it).
    pub fn set_origin(&mut self, origin: &str) {
        if self.origin.as_deref() != Some(origin) {
            self.origin = Some(Arc::from(origin));
        }
    }

    pub fn stats(&self) -> CorrelationStats {
        self.stats
    }

    /// Whether nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.stats == CorrelationStats::default()
    }

    pub(crate) fn origin(&self) -> Arc<str> {
        self.origin.clone().unwrap_or_else(|| Arc::from(""))
    }

    /// Record one match; `time_ms` is the event time in Unix milliseconds.
    pub(crate) fn observe(
        &mut self,
        spec: &CorrelationSpec,
        correlation: u32,
        key: GroupKey,
        observation: Option<Observation>,
    ) {
        self.stats.observed += 1;
        let Some(observation) = observation else {
            self.stats.untimed += 1;
            return;
        };
        let open = self.groups.len();
        let group = match self.groups.entry((correlation, key)) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                if open >= MAX_OPEN_GROUPS {
                    self.stats.dropped_groups_events += 1;
                    self.stats.dropped_groups += 1;
                    return;
                }
                entry.insert(Group::default())
            }
        };
        group.events.push(observation);
        if group.events.len() > MAX_EVENTS_PER_GROUP {
            self.stats.compactions += 1;
            self.stats.dropped_events += compact(spec, group);
        }
    }

    /// Take in another state's matches (another file's, another worker's).
    pub(crate) fn merge_with(&mut self, other: CorrelationState, specs: &[CorrelationSpec]) {
        self.stats.add(&other.stats);
        for (key, mut theirs) in other.groups {
            let open = self.groups.len();
            match self.groups.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut entry) => {
                    let ours = entry.get_mut();
                    ours.events.append(&mut theirs.events);
                    ours.bursts.append(&mut theirs.bursts);
                    ours.fires.append(&mut theirs.fires);
                    ours.dropped += theirs.dropped;
                    let spec = &specs[entry.key().0 as usize];
                    let ours = entry.get_mut();
                    while ours.events.len() > MAX_EVENTS_PER_GROUP {
                        self.stats.compactions += 1;
                        let before = ours.events.len();
                        self.stats.dropped_events += compact(spec, ours);
                        if ours.events.len() >= before {
                            break;
                        }
                    }
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    if open >= MAX_OPEN_GROUPS {
                        self.stats.dropped_groups += 1;
                        self.stats.dropped_groups_events += theirs.events.len() as u64;
                        continue;
                    }
                    entry.insert(theirs);
                }
            }
        }
    }
}

/// Sweep a group's windows, keep the bursts found as summaries and only the matches of the
/// last window (those that later matches can still meet). Returns the matches dropped.
fn compact(spec: &CorrelationSpec, group: &mut Group) -> u64 {
    group.events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
    let mut fires = Vec::new();
    let bursts = sweep_group(spec, &group.events, spec.feeds_parent.then_some(&mut fires));
    for index in fires {
        if group.fires.len() < MAX_EVENTS_PER_GROUP {
            group.fires.push((group.events[index].time_ms, group.events[index].at.clone()));
        } else {
            group.dropped += 1;
        }
    }
    for burst in &bursts {
        for event in &mut group.events[burst.range.clone()] {
            event.counted = true;
        }
    }
    group.bursts.extend(bursts.into_iter().map(Burst::detach));
    let newest = group.events.last().map_or(0, |e| e.time_ms);
    let keep_from = match spec.timespan_ms {
        Some(span) => group.events.partition_point(|e| e.time_ms < newest.saturating_sub(span)),
        None => 0,
    };
    group.events.drain(..keep_from);
    // Still over the bound inside one window (or no window at all): drop the oldest half.
    if group.events.len() > MAX_EVENTS_PER_GROUP {
        let excess = group.events.len() - MAX_EVENTS_PER_GROUP / 2;
        let dropped = group.events.drain(..excess).filter(|e| !e.counted).count() as u64;
        group.dropped += dropped;
        return dropped;
    }
    0
}
