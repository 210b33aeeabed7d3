//! Which MFA switches a plan reads, decided without I/O: from the users whose switch is managed,
//! what the cache knows, the policy, and (for the confirmations) the plan made so far.

use std::collections::HashSet;

use jiff::Timestamp;

use crate::model::UserId;
use crate::plan::{Change, MfaReads, MfaTarget, Plan};

use super::{Known, MfaCache};

/// How many MFA switches a plan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadPolicy {
    /// Every managed switch (the default).
    #[default]
    Exact,
    /// Those never seen, then this many of the oldest cached ones; the planned changes are
    /// confirmed whatever the budget.
    Budget(u64),
    /// Every managed switch, renewing the cache (`--refresh`).
    Refresh,
}

impl ReadPolicy {
    /// The budget, when one bounds the reads.
    pub fn budget(self) -> Option<u64> {
        match self {
            ReadPolicy::Budget(budget) => Some(budget),
            ReadPolicy::Exact | ReadPolicy::Refresh => None,
        }
    }
}

/// The managed users split by where their switch comes from, as positions in the list given
/// to [`select`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Read from the pool now: the never seen, then the oldest cached ones the budget allows.
    pub read: Vec<usize>,
    /// Taken from the cache, with what it knows.
    pub cached: Vec<(usize, Known)>,
}

/// Splits the managed users (`managed`, each id once) into those read now and those taken
/// from the cache. With a budget, the cached ones are read oldest first: by the run that read
/// them, then by time, then by id, so successive runs go round the whole pool.
pub fn select(managed: &[&UserId], cache: &MfaCache, policy: ReadPolicy) -> Selection {
    let budget = match policy {
        ReadPolicy::Exact | ReadPolicy::Refresh => {
            return Selection {
                read: (0..managed.len()).collect(),
                cached: Vec::new(),
            };
        }
        ReadPolicy::Budget(budget) => usize::try_from(budget).unwrap_or(usize::MAX),
    };
    let mut read = Vec::new();
    let mut seen: Vec<(usize, Known)> = Vec::new();
    for (index, id) in managed.iter().enumerate() {
        match cache.get(id) {
            None => read.push(index),
            Some(known) => seen.push((index, *known)),
        }
    }
    seen.sort_unstable_by(|(a, known_a), (b, known_b)| {
        (known_a.generation, known_a.at, managed[*a]).cmp(&(
            known_b.generation,
            known_b.at,
            managed[*b],
        ))
    });
    let oldest = budget.min(seen.len());
    read.extend(seen.iter().take(oldest).map(|(index, _)| *index));
    let cached = seen.split_off(oldest);
    Selection { read, cached }
}

/// The users whose switch the plan changes although it came from the cache: read them before
/// the plan is shown.
pub fn to_confirm(plan: &Plan, from_cache: &HashSet<&UserId>) -> Vec<UserId> {
    plan.changes
        .iter()
        .filter_map(|change| match change {
            Change::Mfa(change) => match &change.target {
                MfaTarget::Existing { id, .. } if from_cache.contains(id) => Some(id.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// What the plan says about its MFA reads.
pub fn reads<'a>(
    read: usize,
    cached: impl IntoIterator<Item = &'a Known>,
    policy: ReadPolicy,
    now: Timestamp,
) -> MfaReads {
    let mut from_cache = 0;
    let mut oldest: Option<Timestamp> = None;
    for known in cached {
        from_cache += 1;
        oldest = Some(oldest.map_or(known.at, |oldest| oldest.min(known.at)));
    }
    MfaReads {
        read,
        from_cache,
        oldest_cached_at: oldest.map(|at| at.to_string()),
        oldest_cached_age_seconds: oldest
            .map(|at| u64::try_from(now.as_second().saturating_sub(at.as_second())).unwrap_or(0)),
        budget: policy.budget(),
        refresh: policy == ReadPolicy::Refresh,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::mfa_cache::CacheKey;
    use crate::model::{LiveUser, Origin, Profile, UserKey};
    use crate::plan::{Fingerprint, MfaChange};

    fn at(minute: u32) -> Timestamp {
        format!("2026-11-27T02:{minute:02}:00Z").parse().unwrap()
    }

    fn ids(names: &[&str]) -> Vec<UserId> {
        names.iter().map(|name| UserId::new(*name)).collect()
    }

    /// A cache knowing `known`: (id, generation, minute).
    fn cache(known: &[(&str, u64, u32)]) -> MfaCache {
        let entries: HashMap<UserId, Known> = known
            .iter()
            .map(|(id, generation, minute)| {
                (
                    UserId::new(*id),
                    Known {
                        enabled: false,
                        generation: *generation,
                        at: at(*minute),
                    },
                )
            })
            .collect();
        let newest = known.iter().map(|(_, g, _)| *g).max().unwrap_or(0);
        MfaCache::from_parts(CacheKey::new("v1", "local", "p"), newest, entries)
    }

    fn names(managed: &[UserId], positions: impl IntoIterator<Item = usize>) -> Vec<String> {
        positions
            .into_iter()
            .map(|index| managed[index].as_str().to_string())
            .collect()
    }

    #[test]
    fn without_a_budget_every_switch_is_read() {
        let managed = ids(&["a", "b", "c"]);
        let refs: Vec<&UserId> = managed.iter().collect();
        let known = cache(&[("a", 1, 0), ("b", 1, 0)]);
        for policy in [ReadPolicy::Exact, ReadPolicy::Refresh] {
            let selection = select(&refs, &known, policy);
            assert_eq!(selection.read, [0, 1, 2]);
            assert!(selection.cached.is_empty());
        }
    }

    #[test]
    fn a_budget_reads_the_unseen_then_the_oldest() {
        let managed = ids(&["new1", "a", "b", "c", "d", "new2"]);
        let refs: Vec<&UserId> = managed.iter().collect();
        // d is the oldest run; b and c share a run, b read earlier; a is the newest.
        let known = cache(&[("a", 3, 0), ("b", 2, 5), ("c", 2, 9), ("d", 1, 59)]);
        let selection = select(&refs, &known, ReadPolicy::Budget(2));
        assert_eq!(
            names(&managed, selection.read.clone()),
            ["new1", "new2", "d", "b"]
        );
        assert_eq!(
            names(&managed, selection.cached.iter().map(|(index, _)| *index)),
            ["c", "a"]
        );
        // A budget of 0 reads only the unseen; a budget beyond the cache reads everything.
        assert_eq!(select(&refs, &known, ReadPolicy::Budget(0)).read.len(), 2);
        let all = select(&refs, &known, ReadPolicy::Budget(u64::MAX));
        assert_eq!(all.read.len(), 6);
        assert!(all.cached.is_empty());
    }

    #[test]
    fn runs_order_the_queue_whatever_the_clocks_said() {
        // Run 2 was made on a machine whose clock was an hour behind: its entries are still
        // newer than run 1's.
        let managed = ids(&["x", "y"]);
        let refs: Vec<&UserId> = managed.iter().collect();
        let known = cache(&[("x", 2, 0), ("y", 1, 30)]);
        let selection = select(&refs, &known, ReadPolicy::Budget(1));
        assert_eq!(names(&managed, selection.read), ["y"]);
    }

    #[test]
    fn successive_budgeted_runs_go_round_the_whole_pool() {
        let managed: Vec<UserId> = (0..10).map(|i| UserId::new(format!("u{i}"))).collect();
        let refs: Vec<&UserId> = managed.iter().collect();
        let mut known = cache(&[]);
        for id in &managed {
            known.record(id.clone(), false, at(0));
        }
        let mut seen = std::collections::BTreeSet::new();
        for run in 1..=4 {
            // Each run starts from what the last one saved.
            let entries: HashMap<UserId, Known> =
                known.entries().map(|(id, k)| (id.clone(), *k)).collect();
            let generation = known.generation();
            known = MfaCache::from_parts(known.key().clone(), generation, entries);
            let selection = select(&refs, &known, ReadPolicy::Budget(3));
            assert_eq!(selection.read.len(), 3, "run {run}");
            for index in selection.read {
                assert!(
                    seen.insert(index) || run == 4,
                    "u{index} read twice before the round ended"
                );
                known.record(managed[index].clone(), false, at(run));
            }
        }
        assert_eq!(seen.len(), 10, "ceil(10 / 3) = 4 runs read every switch");
    }

    #[test]
    fn only_changes_of_cached_switches_are_confirmed() {
        let origin = Origin::new(Arc::from(Path::new("users.yaml")), 1);
        let change = |id: &str| {
            let user = LiveUser {
                id: UserId::new(id),
                profile: Profile::default(),
                mfa: Some(false),
            };
            Change::Mfa(MfaChange {
                key: UserKey::from_email(&format!("{id}@example.com")),
                target: MfaTarget::Existing {
                    id: user.id.clone(),
                    fingerprint: Fingerprint::of_user(&user),
                },
                enable: true,
                origin: origin.clone(),
            })
        };
        let new_user = Change::Mfa(MfaChange {
            key: UserKey::from_email("n@example.com"),
            target: MfaTarget::New,
            enable: true,
            origin: origin.clone(),
        });
        let plan = Plan {
            changes: vec![change("a"), change("b"), new_user],
            ..Plan::default()
        };
        let a = UserId::new("a");
        let from_cache: HashSet<&UserId> = [&a].into_iter().collect();
        assert_eq!(to_confirm(&plan, &from_cache), ids(&["a"]));
    }

    #[test]
    fn the_reads_name_the_oldest_cached_switch_and_its_age() {
        let known = [
            Known {
                enabled: true,
                generation: 1,
                at: at(10),
            },
            Known {
                enabled: false,
                generation: 2,
                at: at(20),
            },
        ];
        let reads = reads(5, &known, ReadPolicy::Budget(3), at(40));
        assert_eq!(
            reads,
            MfaReads {
                read: 5,
                from_cache: 2,
                oldest_cached_at: Some("2026-11-27T02:10:00Z".into()),
                oldest_cached_age_seconds: Some(30 * 60),
                budget: Some(3),
                refresh: false,
            }
        );
        let exact = super::reads(7, [], ReadPolicy::Exact, at(40));
        assert_eq!(
            (exact.from_cache, exact.oldest_cached_at, exact.budget),
            (0, None, None)
        );
    }
}
