//! `GET /__emulator/stats`: what tests assert on. Counts POST /graphql requests (faults
//! included), executions per root field, executed mutations, injected faults, rate-limited
//! requests, the most requests seen in any sliding one-second window, and the most in flight at once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A copy of the counters, as served.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// POST /graphql requests received, faulted and rate-limited ones included.
    pub total: u64,
    /// Executions per root GraphQL field name, e.g. `"users": 3`.
    pub operations: BTreeMap<String, u64>,
    /// Executed mutation fields (each root field of a mutation counts once).
    pub writes: u64,
    /// Requests answered with an injected fault (`--fault-rate`).
    pub faults: u64,
    /// Faults by kind (`http_500`, `http_429`, `drop_before`, ...).
    pub fault_kinds: BTreeMap<String, u64>,
    /// Requests refused by `--rate-limit`.
    pub rate_limited: u64,
    /// The most requests seen in any one-second sliding window.
    pub max_requests_per_second: u64,
    /// The most POST /graphql requests being answered at the same time.
    pub max_in_flight: u64,
}

#[derive(Debug, Default)]
struct Inner {
    snapshot: StatsSnapshot,
    window: VecDeque<Instant>,
    in_flight: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        f(&mut guard)
    }

    /// Counts an arriving POST /graphql.
    pub fn request(&self, now: Instant) {
        self.with(|inner| {
            inner.snapshot.total += 1;
            while inner
                .window
                .front()
                .is_some_and(|first| now.duration_since(*first) >= Duration::from_secs(1))
            {
                inner.window.pop_front();
            }
            inner.window.push_back(now);
            let in_window = inner.window.len() as u64;
            if in_window > inner.snapshot.max_requests_per_second {
                inner.snapshot.max_requests_per_second = in_window;
            }
        });
    }

    /// Marks a request as being answered until the guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        self.with(|inner| {
            inner.in_flight += 1;
            inner.snapshot.max_in_flight = inner.snapshot.max_in_flight.max(inner.in_flight);
        });
        InFlight { stats: self }
    }

    pub fn fault(&self, kind: &str) {
        self.with(|inner| {
            inner.snapshot.faults += 1;
            *inner
                .snapshot
                .fault_kinds
                .entry(kind.to_string())
                .or_default() += 1;
        });
    }

    pub fn rate_limited(&self) {
        self.with(|inner| inner.snapshot.rate_limited += 1);
    }

    /// Counts one executed root field.
    pub fn operation(&self, name: &str, is_mutation: bool) {
        self.with(|inner| {
            *inner
                .snapshot
                .operations
                .entry(name.to_string())
                .or_default() += 1;
            if is_mutation {
                inner.snapshot.writes += 1;
            }
        });
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        self.with(|inner| inner.snapshot.clone())
    }
}

/// A request being answered; see [`Stats::enter`].
pub struct InFlight<'a> {
    stats: &'a Stats,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats
            .with(|inner| inner.in_flight = inner.in_flight.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_finds_the_busiest_second() {
        let stats = Stats::default();
        let start = Instant::now();
        for ms in [0, 100, 900, 1100, 1200, 1300, 1950, 3000] {
            stats.request(start + Duration::from_millis(ms));
        }
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.total, 8);
        // 900, 1100, 1200, 1300 (the window ending at 1300) or 1100..1950.
        assert_eq!(snapshot.max_requests_per_second, 4);
    }

    #[test]
    fn the_most_requests_in_flight_are_remembered() {
        let stats = Stats::default();
        let first = stats.enter();
        let second = stats.enter();
        drop(first);
        let third = stats.enter();
        drop((second, third));
        let _fourth = stats.enter();
        assert_eq!(stats.snapshot().max_in_flight, 2);
    }
}
