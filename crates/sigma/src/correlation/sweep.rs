//! The sliding window over one group's matches, sorted by time, and the folding of the
//! windows that hold into bursts (one finding each).

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use super::state::{At, Observation};
use super::{CorrelationSpec, Measure, holds, meets};

/// Sample references kept per burst: the first few and the last few matches.
const SAMPLE_HEAD: usize = 3;
const SAMPLE_TAIL: usize = 2;
/// Distinct values kept per burst (`value_count`); more are counted, not kept.
const MAX_VALUES: usize = 1_024;

/// Where one match of a correlation was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRef {
    /// The file (as the caller named it with `set_origin`).
    pub origin: String,
    pub line: Option<u64>,
    pub record: Option<u64>,
    pub time: jiff::Timestamp,
}

/// A correlation that held: one burst of overlapping windows of one group.
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    /// Index into [`crate::SigmaEngine::rules`] (the correlation or aggregation rule).
    pub rule: usize,
    /// The group: each group-by name and its value (`None` when the events lack the field).
    pub group: Vec<(String, Option<String>)>,
    /// Matches in the burst.
    pub count: u64,
    /// `value_count`: distinct values in the burst (at least this many when `values` was capped).
    pub distinct_values: Option<u64>,
    /// A few of those values, sorted.
    pub values: Vec<String>,
    /// Engine indices of the correlated rules that matched in the burst.
    pub rules: Vec<usize>,
    pub first: jiff::Timestamp,
    pub last: jiff::Timestamp,
    /// First and last matches of the burst.
    pub samples: Vec<SampleRef>,
    /// Matches of this group that were dropped by the memory bound (not in `count`).
    pub dropped: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Sample {
    time_ms: i64,
    at: At,
}

/// Overlapping windows that held, folded.
#[derive(Debug, Clone)]
pub(crate) struct Burst {
    /// Indices into the swept slice; empty once detached from it.
    pub(crate) range: Range<usize>,
    pub(crate) count: u64,
    pub(crate) first_ms: i64,
    pub(crate) last_ms: i64,
    pub(crate) positions: u64,
    pub(crate) values: BTreeSet<Box<str>>,
    pub(crate) values_capped: bool,
    pub(crate) samples: Vec<Sample>,
}

impl Burst {
    pub(crate) fn detach(mut self) -> Burst {
        self.range = 0..0;
        self
    }

    fn absorb(&mut self, other: Burst) {
        self.count += other.count;
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
        self.positions |= other.positions;
        self.values_capped |= other.values_capped;
        for value in other.values {
            if self.values.len() >= MAX_VALUES {
                self.values_capped = true;
                break;
            }
            self.values.insert(value);
        }
        self.samples.extend(other.samples);
        self.samples = bounded_samples(std::mem::take(&mut self.samples));
    }
}

fn bounded_samples(mut samples: Vec<Sample>) -> Vec<Sample> {
    samples.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.at.cmp(&b.at)));
    samples.dedup_by(|a, b| a.at == b.at);
    if samples.len() > SAMPLE_HEAD + SAMPLE_TAIL {
        samples.drain(SAMPLE_HEAD..samples.len() - SAMPLE_TAIL);
    }
    samples
}

/// The bursts of one group's matches (sorted by time): every window `(t - timespan, t]`
/// ending at a match where the condition holds, overlapping windows folded together.
/// `fires`, when given, receives the index of every match that ends a window that holds.
pub(crate) fn sweep_group(
    spec: &CorrelationSpec,
    events: &[Observation],
    mut fires: Option<&mut Vec<usize>>,
) -> Vec<Burst> {
    let mut counts = vec![0u32; spec.inputs.len()];
    let mut values: HashMap<&str, u32> = HashMap::new();
    let mut start = 0usize;
    let mut bursts = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for (end, event) in events.iter().enumerate() {
        counts[usize::from(event.position)] += 1;
        if let Some(value) = &event.value {
            *values.entry(value).or_insert(0) += 1;
        }
        if let Some(span) = spec.timespan_ms {
            while events[start].time_ms <= event.time_ms.saturating_sub(span) {
                let old = &events[start];
                counts[usize::from(old.position)] -= 1;
                if let Some(value) = &old.value
                    && let Some(n) = values.get_mut(value.as_ref())
                {
                    *n -= 1;
                    if *n == 0 {
                        values.remove(value.as_ref());
                    }
                }
                start += 1;
            }
        }
        if !window_holds(spec, &events[start..=end], &counts, values.len()) {
            continue;
        }
        if let Some(fires) = fires.as_deref_mut() {
            fires.push(end);
        }
        match &mut current {
            Some(range) if start < range.end => range.end = end + 1,
            _ => {
                if let Some(range) = current.take() {
                    bursts.push(burst_of(events, range));
                }
                current = Some(start..end + 1);
            }
        }
    }
    if let Some(range) = current {
        bursts.push(burst_of(events, range));
    }
    bursts
}

fn window_holds(spec: &CorrelationSpec, window: &[Observation], counts: &[u32], distinct: usize) -> bool {
    match &spec.measure {
        Measure::EventCount => meets(&spec.predicates, window.len() as u64),
        Measure::ValueCount => meets(&spec.predicates, distinct as u64),
        Measure::Temporal { ordered: false, expression } => {
            let present: Vec<bool> = counts.iter().map(|&n| n > 0).collect();
            match expression {
                Some(expression) => holds(expression, &spec.input_refs, &present),
                None if spec.predicates.is_empty() => present.iter().all(|&p| p),
                None => meets(&spec.predicates, present.iter().filter(|&&p| p).count() as u64),
            }
        }
        Measure::Temporal { ordered: true, .. } => {
            // The window ends at the last rule of the sequence, and holds the others before it in order.
            let last = spec.inputs.len() - 1;
            if window.last().map(|e| usize::from(e.position)) != Some(last) {
                return false;
            }
            let mut next = 0usize;
            for event in window {
                if usize::from(event.position) == next {
                    next += 1;
                    if next == spec.inputs.len() {
                        return true;
                    }
                }
            }
            false
        }
    }
}

fn burst_of(events: &[Observation], range: Range<usize>) -> Burst {
    let slice = &events[range.clone()];
    let mut values = BTreeSet::new();
    let mut values_capped = false;
    let mut positions = 0u64;
    for event in slice {
        positions |= 1u64 << (event.position.min(63));
        if let Some(value) = &event.value {
            if values.len() < MAX_VALUES {
                values.insert(value.clone());
            } else if !values.contains(value) {
                values_capped = true;
            }
        }
    }
    let fresh: Vec<&Observation> = slice.iter().filter(|e| !e.counted).collect();
    let pick: Vec<&Observation> = if fresh.is_empty() { slice.iter().collect() } else { fresh.clone() };
    let samples = bounded_samples(pick.iter().map(|e| Sample { time_ms: e.time_ms, at: e.at.clone() }).collect());
    Burst {
        count: fresh.len() as u64,
        first_ms: slice.first().map_or(0, |e| e.time_ms),
        last_ms: slice.last().map_or(0, |e| e.time_ms),
        positions,
        values,
        values_capped,
        samples,
        range,
    }
}

/// Fold a group's bursts (from compactions and the final sweep) that overlap in time.
pub(crate) fn fold_bursts(mut bursts: Vec<Burst>) -> Vec<Burst> {
    bursts.sort_by_key(|b| (b.first_ms, b.last_ms));
    let mut folded: Vec<Burst> = Vec::new();
    for burst in bursts {
        match folded.last_mut() {
            Some(last) if burst.first_ms <= last.last_ms => last.absorb(burst),
            _ => folded.push(burst),
        }
    }
    folded.retain(|b| b.count > 0);
    folded
}

/// A folded burst as the caller sees it.
pub(crate) fn hit_of(
    spec: &CorrelationSpec,
    key: &[Option<Box<str>>],
    burst: Burst,
    dropped: u64,
) -> Option<CorrelationHit> {
    let time = |ms: i64| jiff::Timestamp::from_millisecond(ms).ok();
    let distinct = matches!(spec.measure, Measure::ValueCount).then_some(burst.values.len() as u64);
    Some(CorrelationHit {
        rule: spec.rule as usize,
        group: spec.group_by.iter().cloned().zip(key.iter().map(|v| v.as_deref().map(str::to_owned))).collect(),
        count: burst.count,
        distinct_values: distinct,
        values: burst.values.iter().take(10).map(|v| v.to_string()).collect(),
        rules: spec
            .inputs
            .iter()
            .enumerate()
            .filter(|(i, _)| burst.positions & (1u64 << (*i).min(63)) != 0)
            .map(|(_, &r)| r as usize)
            .collect(),
        first: time(burst.first_ms)?,
        last: time(burst.last_ms)?,
        samples: burst
            .samples
            .into_iter()
            .filter_map(|s| {
                Some(SampleRef {
                    origin: s.at.origin.to_string(),
                    line: s.at.line,
                    record: s.at.record,
                    time: time(s.time_ms)?,
                })
            })
            .collect(),
        dropped,
    })
}
