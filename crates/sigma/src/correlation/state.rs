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
pub const MAX_OPEN_GROUPS: usize = 250_000;
/// Matches kept per group before it is compacted.
pub const MAX_EVENTS_PER_GROUP: usize = 4_096;
/// Matches kept in one state, all groups together (about 80 bytes each): past it, every group
/// is compacted, and what still does not fit is dropped and counted.
pub const MAX_KEPT_EVENTS: usize = 1_000_000;

/// What the correlation layer saw and what it had to leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelationStats {
    /// Matches of correlated rules fed to the windows.
    pub observed: u64,
    /// Matches without an event time (they cannot be placed in a window).
    pub untimed: u64,
    /// Matches of groups not opened because [`MAX_OPEN_GROUPS`] were open (stale groups are
    /// evicted first).
    pub dropped_groups_events: u64,
    /// Whole groups of another state refused when merging, for the same reason.
    pub dropped_groups: u64,
    /// Groups closed because their last match is more than a window older than the newest
    /// match seen (in time order, nothing can join them any more).
    pub evicted_groups: u64,
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
        self.evicted_groups += other.evicted_groups;
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
    /// Matches kept, all groups together.
    kept: usize,
    /// Matches observed since the last compaction of every group.
    since_full_compaction: usize,
    /// The newest match time seen, and matches observed since the last eviction.
    newest_ms: i64,
    since_eviction: usize,
    limits: Limits,
}

/// The bounds of a state (the constants above; smaller in tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) groups: usize,
    pub(crate) per_group: usize,
    pub(crate) kept: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { groups: MAX_OPEN_GROUPS, per_group: MAX_EVENTS_PER_GROUP, kept: MAX_KEPT_EVENTS }
    }
}

impl CorrelationState {
    #[cfg(test)]
    pub(crate) fn with_limits(limits: Limits) -> CorrelationState {
        CorrelationState { limits, ..CorrelationState::default() }
    }

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

    /// Record one match of a rule feeding `specs[correlation]`; `None` when it has no time.
    pub(crate) fn observe(
        &mut self,
        specs: &[CorrelationSpec],
        correlation: u32,
        key: GroupKey,
        observation: Option<Observation>,
    ) {
        self.stats.observed += 1;
        let Some(observation) = observation else {
            self.stats.untimed += 1;
            return;
        };
        self.since_full_compaction += 1;
        if self.kept >= self.limits.kept && self.since_full_compaction >= self.limits.kept / 8 {
            self.compact_all(specs);
        }
        self.newest_ms = self.newest_ms.max(observation.time_ms);
        self.since_eviction += 1;
        if self.groups.len() >= self.limits.groups && self.since_eviction >= self.limits.groups / 8 {
            self.evict_stale(specs);
        }
        let limits = self.limits;
        let open = self.groups.len();
        let group = match self.groups.entry((correlation, key)) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                if open >= limits.groups {
                    self.stats.dropped_groups_events += 1;
                    return;
                }
                entry.insert(Group::default())
            }
        };
        if self.kept >= limits.kept {
            group.dropped += 1;
            self.stats.dropped_events += 1;
            return;
        }
        group.events.push(observation);
        self.kept += 1;
        if group.events.len() > limits.per_group {
            let before = group.events.len();
            self.stats.compactions += 1;
            self.stats.dropped_events += compact(&specs[correlation as usize], group, limits.per_group);
            self.kept -= before - group.events.len();
        }
    }

    /// Close the groups no later match can join: a window, no burst, no firing, nothing
    /// dropped, and the last match more than a window before the newest match seen. Their
    /// matches held the condition nowhere (or they would have a burst), so nothing is lost.
    fn evict_stale(&mut self, specs: &[CorrelationSpec]) {
        self.since_eviction = 0;
        let newest = self.newest_ms;
        let before = self.groups.len();
        let mut freed = 0;
        self.groups.retain(|(correlation, _), group| {
            let Some(span) = specs[*correlation as usize].timespan_ms else { return true };
            let last = group.events.iter().map(|e| e.time_ms).max().unwrap_or(i64::MIN);
            let stale = group.bursts.is_empty()
                && group.fires.is_empty()
                && group.dropped == 0
                && last < newest.saturating_sub(span);
            if stale {
                let fresh = sweep_group(&specs[*correlation as usize], &sorted(&group.events), None);
                if !fresh.is_empty() {
                    return true;
                }
                freed += group.events.len();
            }
            !stale
        });
        self.kept -= freed;
        self.stats.evicted_groups += (before - self.groups.len()) as u64;
    }

    /// Compact every group with a window (the matches before their last window go).
    fn compact_all(&mut self, specs: &[CorrelationSpec]) {
        self.since_full_compaction = 0;
        let per_group = self.limits.per_group;
        for ((correlation, _), group) in &mut self.groups {
            let spec = &specs[*correlation as usize];
            if spec.timespan_ms.is_none() || group.events.is_empty() {
                continue;
            }
            let before = group.events.len();
            self.stats.compactions += 1;
            self.stats.dropped_events += compact(spec, group, per_group);
            self.kept -= before - group.events.len();
        }
    }

    /// Take in another state's matches (another file's, another worker's).
    pub(crate) fn merge_with(&mut self, other: CorrelationState, specs: &[CorrelationSpec]) {
        self.stats.add(&other.stats);
        let limits = self.limits;
        for (key, mut theirs) in other.groups {
            if self.kept + theirs.events.len() > limits.kept {
                self.compact_all(specs);
            }
            let room = limits.kept.saturating_sub(self.kept);
            if theirs.events.len() > room {
                // Keep the newest that fit: the oldest are the likeliest to be outside every window.
                theirs.events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
                let excess = theirs.events.len() - room;
                let dropped = theirs.events.drain(..excess).filter(|e| !e.counted).count() as u64;
                theirs.dropped += dropped;
                self.stats.dropped_events += dropped;
            }
            let open = self.groups.len();
            match self.groups.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut entry) => {
                    let spec = &specs[entry.key().0 as usize];
                    let ours = entry.get_mut();
                    self.kept += theirs.events.len();
                    ours.events.append(&mut theirs.events);
                    ours.bursts.append(&mut theirs.bursts);
                    ours.fires.append(&mut theirs.fires);
                    ours.dropped += theirs.dropped;
                    while ours.events.len() > limits.per_group {
                        self.stats.compactions += 1;
                        let before = ours.events.len();
                        self.stats.dropped_events += compact(spec, ours, limits.per_group);
                        self.kept -= before - ours.events.len();
                        if ours.events.len() >= before {
                            break;
                        }
                    }
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    if open >= limits.groups {
                        self.stats.dropped_groups += 1;
                        self.stats.dropped_groups_events += theirs.events.len() as u64;
                        continue;
                    }
                    self.kept += theirs.events.len();
                    entry.insert(theirs);
                }
            }
        }
    }
}

fn sorted(events: &[Observation]) -> Vec<Observation> {
    let mut events = events.to_vec();
    events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
    events
}

/// Sweep a group's windows, keep the bursts found as summaries and only the matches of the
/// last window (those that later matches can still meet). Returns the matches dropped.
fn compact(spec: &CorrelationSpec, group: &mut Group, per_group: usize) -> u64 {
    group.events.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
    let mut fires = Vec::new();
    let bursts = sweep_group(spec, &group.events, spec.feeds_parent.then_some(&mut fires));
    for index in fires {
        if group.fires.len() < per_group {
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
    if group.events.len() > per_group {
        let excess = group.events.len() - per_group / 2;
        let dropped = group.events.drain(..excess).filter(|e| !e.counted).count() as u64;
        group.dropped += dropped;
        return dropped;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::{Measure, finish};
    use rsigma_parser::ConditionOperator;

    fn spec(timespan_ms: Option<i64>) -> CorrelationSpec {
        CorrelationSpec {
            rule: 0,
            measure: Measure::EventCount,
            inputs: vec![0],
            input_refs: vec![vec!["r".into()]],
            group_by: vec!["IpAddress".into()],
            timespan_ms,
            predicates: vec![(ConditionOperator::Gte, 3)],
            chained: Vec::new(),
            feeds_parent: false,
        }
    }

    fn observation(time_ms: i64, record: u64) -> Option<Observation> {
        Some(Observation {
            time_ms,
            position: 0,
            value: None,
            at: At { origin: Arc::from("f.evtx"), line: None, record: Some(record) },
            counted: false,
        })
    }

    fn key(ip: &str) -> GroupKey {
        vec![Some(Box::<str>::from(ip))].into_boxed_slice()
    }

    #[test]
    fn the_total_bound_holds_and_every_match_is_counted_or_kept() {
        let specs = [spec(Some(1_000))];
        let limits = Limits { groups: 2, per_group: 8, kept: 20 };
        let mut state = CorrelationState::with_limits(limits);
        // Two groups, 100 matches each, a second apart (a window holds one match, never 3).
        for i in 0..100 {
            state.observe(&specs, 0, key("a"), observation(i * 1_000, i as u64));
            state.observe(&specs, 0, key("b"), observation(i * 1_000, i as u64));
            assert!(state.kept <= limits.kept);
            assert_eq!(state.kept, state.groups.values().map(|g| g.events.len()).sum::<usize>());
        }
        // A third group is refused and counted.
        state.observe(&specs, 0, key("c"), observation(0, 1));
        assert_eq!((state.stats.dropped_groups, state.stats.dropped_groups_events), (0, 1));
        // Compaction keeps only the last window: nothing had to be dropped.
        assert_eq!(state.stats.dropped_events, 0);
        assert!(finish(&specs, state).hits.is_empty());
    }

    #[test]
    fn groups_past_the_bound_are_refused_after_stale_ones_are_evicted() {
        let specs = [spec(Some(1_000))];
        let limits = Limits { groups: 16, per_group: 8, kept: 1_000 };
        let mut state = CorrelationState::with_limits(limits);
        // 16 addresses once each at t = 0..16 s, then 16 new ones an hour later: the old
        // groups cannot meet a later match (window 1 s) and are closed to make room.
        for i in 0..16 {
            state.observe(&specs, 0, key(&format!("old{i}")), observation(i * 1_000, i as u64));
        }
        for i in 0..16 {
            state.observe(&specs, 0, key(&format!("new{i}")), observation(3_600_000 + i, i as u64));
        }
        assert_eq!(state.stats.evicted_groups, 16);
        assert_eq!(state.stats.dropped_groups_events, 0);
        assert_eq!(state.kept, 16);
        // Sixteen more at the same time as the newest: no group is stale, they are refused.
        for i in 0..16 {
            state.observe(&specs, 0, key(&format!("more{i}")), observation(3_600_020, i as u64));
        }
        assert_eq!(state.stats.dropped_groups_events, 16);
        // A stale group whose matches held the condition is kept for its finding.
        let mut state = CorrelationState::with_limits(Limits { groups: 2, per_group: 8, kept: 1_000 });
        for i in 0..3 {
            state.observe(&specs, 0, key("burst"), observation(i, i as u64));
        }
        for i in 0..8 {
            state.observe(&specs, 0, key(&format!("late{i}")), observation(10_000_000 + i, i as u64));
        }
        assert!(state.groups.contains_key(&(0, key("burst"))));
        let report = finish(&specs, state);
        assert_eq!(report.hits.len(), 1);
        assert_eq!(report.hits[0].count, 3);
    }

    #[test]
    fn without_a_window_matches_are_folded_not_lost_and_past_the_total_bound_counted() {
        // One group: compactions fold the matches into bursts; all 50 are counted.
        let specs = [spec(None)];
        let mut state = CorrelationState::with_limits(Limits { groups: 4, per_group: 8, kept: 10 });
        for i in 0..50 {
            state.observe(&specs, 0, key("a"), observation(i, i as u64));
        }
        assert_eq!(state.stats.dropped_events, 0);
        let report = finish(&specs, state);
        assert_eq!((report.hits.len(), report.hits[0].count, report.hits[0].dropped), (1, 50, 0));
        // Three groups past the total bound (nothing to compact away without a window): the
        // excess is dropped, and each hit says how many of its matches were.
        let mut state = CorrelationState::with_limits(Limits { groups: 4, per_group: 8, kept: 10 });
        for i in 0..50 {
            for ip in ["a", "b", "c"] {
                state.observe(&specs, 0, key(ip), observation(i, i as u64));
            }
        }
        let dropped = state.stats.dropped_events;
        assert!(dropped > 0);
        assert!(state.kept <= 10);
        let report = finish(&specs, state);
        assert_eq!(report.hits.len(), 3);
        for hit in &report.hits {
            assert_eq!(hit.count + hit.dropped, 50, "{hit:?}");
        }
        assert_eq!(report.hits.iter().map(|h| h.dropped).sum::<u64>(), dropped);
    }
}
