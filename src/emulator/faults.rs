//! Injected faults, the request-rate limit and Authing's per-IP register limit, for testing
//! clients' retries.
//!
//! One seeded RNG is drawn once per POST /graphql, in arrival order, so a run with the same
//! `--fault-seed` and the same request sequence sees the same faults. With probability
//! `--fault-rate` a request gets one of the [`Fault`] kinds, picked uniformly.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Http500,
    Http502,
    Http503,
    /// 429 with `Retry-After: 1`.
    Http429,
    /// The connection is dropped before the request is executed.
    DropBefore,
    /// The request is executed (a mutation happens) and then the connection is dropped.
    DropAfter,
}

impl Fault {
    const ALL: [Fault; 6] = [
        Fault::Http500,
        Fault::Http502,
        Fault::Http503,
        Fault::Http429,
        Fault::DropBefore,
        Fault::DropAfter,
    ];

    /// The name used in stats and the request log.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Http500 => "http_500",
            Fault::Http502 => "http_502",
            Fault::Http503 => "http_503",
            Fault::Http429 => "http_429",
            Fault::DropBefore => "drop_before",
            Fault::DropAfter => "drop_after",
        }
    }
}

/// The seeded fault sequence.
#[derive(Debug)]
pub struct FaultPlan {
    rate: f64,
    rng: Mutex<StdRng>,
}

impl FaultPlan {
    pub fn new(rate: f64, seed: u64) -> Self {
        Self {
            rate: if rate.is_finite() {
                rate.clamp(0.0, 1.0)
            } else {
                0.0
            },
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The fault for the next request, if any. Draws from the RNG only when faults are on, so
    /// the sequence depends on the seed and the request order alone.
    pub fn next(&self) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|poison| poison.into_inner());
        let roll: f64 = rng.random();
        let kind = rng.random_range(0..Fault::ALL.len());
        (roll < self.rate).then(|| Fault::ALL[kind])
    }
}

/// `--rate-limit N`: at most N requests in each wall-clock second.
#[derive(Debug)]
pub struct RateLimit {
    limit: u32,
    window: Mutex<(Instant, u32)>,
}

impl RateLimit {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Counts a request; false when it is over the limit for the current second.
    pub fn admit(&self, now: Instant) -> bool {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= self.limit
    }
}

/// `--register-limit N --register-window SECONDS`: Authing's frequent-registration check. At most
/// N `register` calls from one client address in any sliding window; the calls refused do not
/// count.
#[derive(Debug)]
pub struct RegisterLimit {
    limit: usize,
    window: Duration,
    calls: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

impl RegisterLimit {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// The calls allowed in one window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The sliding window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Counts a `register` call from `ip`; false when `ip` used up its calls in the window.
    pub fn admit(&self, ip: Option<IpAddr>, now: Instant) -> bool {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let window = self.window;
        calls.retain(|_, times| {
            while times
                .front()
                .is_some_and(|first| now.saturating_duration_since(*first) >= window)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        let times = calls.entry(ip).or_default();
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let a = FaultPlan::new(0.3, 7);
        let b = FaultPlan::new(0.3, 7);
        let first: Vec<_> = (0..200).map(|_| a.next()).collect();
        let second: Vec<_> = (0..200).map(|_| b.next()).collect();
        assert_eq!(first, second);
        let faults = first.iter().flatten().count();
        assert!((30..=90).contains(&faults), "{faults} faults in 200 at 0.3");
        for kind in Fault::ALL {
            assert!(first.contains(&Some(kind)), "{kind:?} never drawn");
        }
        let c = FaultPlan::new(0.3, 8);
        let third: Vec<_> = (0..200).map(|_| c.next()).collect();
        assert_ne!(first, third);
    }

    #[test]
    fn zero_rate_never_faults() {
        let plan = FaultPlan::new(0.0, 1);
        assert!((0..100).all(|_| plan.next().is_none()));
        let always = FaultPlan::new(1.0, 1);
        assert!((0..100).all(|_| always.next().is_some()));
    }

    #[test]
    fn rate_limit_refuses_past_n_in_a_second() {
        let limit = RateLimit::new(3);
        let start = Instant::now();
        let admitted: Vec<bool> = (0..5).map(|_| limit.admit(start)).collect();
        assert_eq!(admitted, [true, true, true, false, false]);
        assert!(limit.admit(start + Duration::from_millis(1001)));
    }

    #[test]
    fn register_limit_counts_per_address_in_a_sliding_window() {
        let limit = RegisterLimit::new(2, Duration::from_secs(300));
        let start = Instant::now();
        let one = Some(IpAddr::from([127, 0, 0, 1]));
        let two = Some(IpAddr::from([127, 0, 0, 2]));
        assert!(limit.admit(one, start));
        assert!(limit.admit(one, start + Duration::from_secs(100)));
        assert!(!limit.admit(one, start + Duration::from_secs(200)));
        assert!(limit.admit(two, start + Duration::from_secs(200)));
        // The first call leaves the window at 300 s: one more, not two.
        assert!(limit.admit(one, start + Duration::from_secs(300)));
        assert!(!limit.admit(one, start + Duration::from_secs(301)));
        assert!(limit.admit(one, start + Duration::from_secs(400)));
    }
}
