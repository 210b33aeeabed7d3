//! MFA reads at scale (issue 16): what the tool knows of each user's MFA switch, and how many
//! switches a plan reads from the pool.
//!
//! Neither Authing API lists MFA switches: each is one call (v1 `queryMFA`, v3
//! `get-user-mfa-info`), so a plan that manages MFA for N users costs N reads. By default every
//! plan still reads them all ([`ReadPolicy::Exact`]). With `--mfa-read-budget N`
//! ([`ReadPolicy::Budget`]) a plan reads the switches it has never seen and those it is about to
//! change (to confirm them) whatever the budget, then the N oldest it knows; the rest come from
//! the cache. `--refresh` ([`ReadPolicy::Refresh`]) reads them all.
//!
//! - [`MfaCache`] (here): user id → switch, with the run ([`Known::generation`]) and the time it
//!   was last read or written. Runs, not clocks, order the entries, so a runner whose clock is
//!   behind cannot keep the same users at the front of the queue.
//! - [`file`]: the cache on disk, one file per pool and API under `--cache-dir`, written
//!   atomically; a file that is corrupt, foreign or another pool's is ignored with a warning,
//!   never trusted and never fatal. It holds user ids and switches, nothing else.
//! - [`select`]: pure: which switches to read given the cache, the policy and the plan.
//! - [`resolve`]: one plan made with those reads (the pool reader and the diff are passed in, so
//!   this module knows neither the client nor the diff engine).

pub mod file;
pub mod resolve;
pub mod select;

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use crate::model::UserId;
use crate::plan::{Change, MfaChange, MfaTarget, Plan};

pub use file::{CacheKey, load, save};
pub use resolve::resolve;
pub use select::{ReadPolicy, Selection, select, to_confirm};

/// What the tool knows of one user's MFA switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub enabled: bool,
    /// The run that read or wrote it: runs count up, one per run that recorded anything.
    pub generation: u64,
    /// When it was read or written.
    pub at: Timestamp,
}

/// The MFA switches of one pool as last read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaCache {
    key: CacheKey,
    /// The newest generation the cache held when it was loaded; this run records under the next.
    loaded_generation: u64,
    entries: HashMap<UserId, Known>,
}

impl MfaCache {
    /// A cache that knows nothing yet.
    pub fn empty(key: CacheKey) -> Self {
        Self {
            key,
            loaded_generation: 0,
            entries: HashMap::new(),
        }
    }

    pub fn key(&self) -> &CacheKey {
        &self.key
    }

    pub fn get(&self, id: &UserId) -> Option<&Known> {
        self.entries.get(id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The generation this run records under.
    pub fn generation(&self) -> u64 {
        self.loaded_generation.saturating_add(1)
    }

    /// The switch was read (or written) at `at` in this run.
    pub fn record(&mut self, id: UserId, enabled: bool, at: Timestamp) {
        let generation = self.generation();
        self.entries.insert(
            id,
            Known {
                enabled,
                generation,
                at,
            },
        );
    }

    /// The switch is not known any more (a write whose outcome is unknown): the next plan reads it.
    pub fn forget(&mut self, id: &UserId) {
        self.entries.remove(id);
    }

    /// Drops the users that are not in the pool any more (only call with a complete listing).
    pub fn retain_live<'a>(&mut self, live: impl IntoIterator<Item = &'a UserId>) {
        let live: HashSet<&UserId> = live.into_iter().collect();
        self.entries.retain(|id, _| live.contains(id));
    }

    /// After an apply: the switches it set are known as written at `at`; those the plan was to
    /// change but that were not confirmed set (failed, skipped, interrupted) are forgotten, so
    /// the next plan reads them.
    pub fn record_apply(&mut self, plan: &Plan, written: &[(UserId, bool)], at: Timestamp) {
        let set: HashSet<&UserId> = written.iter().map(|(id, _)| id).collect();
        for change in &plan.changes {
            if let Change::Mfa(MfaChange {
                target: MfaTarget::Existing { id, .. },
                ..
            }) = change
                && !set.contains(id)
            {
                self.entries.remove(id);
            }
        }
        for (id, enabled) in written {
            self.record(id.clone(), *enabled, at);
        }
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&UserId, &Known)> {
        self.entries.iter()
    }

    pub(crate) fn from_parts(
        key: CacheKey,
        loaded_generation: u64,
        entries: HashMap<UserId, Known>,
    ) -> Self {
        Self {
            key,
            loaded_generation,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey::new("v1", "https://users.authing.cn/graphql", "pool1")
    }

    #[test]
    fn a_run_records_under_the_generation_after_the_loaded_one() {
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let mut cache = MfaCache::from_parts(key(), 7, HashMap::new());
        cache.record(UserId::new("a"), true, at);
        assert_eq!(
            cache.get(&UserId::new("a")),
            Some(&Known {
                enabled: true,
                generation: 8,
                at
            })
        );
        cache.forget(&UserId::new("a"));
        assert!(cache.is_empty());
    }

    #[test]
    fn an_apply_records_what_it_set_and_forgets_what_it_may_not_have() {
        use std::path::Path;
        use std::sync::Arc;

        use crate::model::{LiveUser, Origin, Profile, UserKey};
        use crate::plan::Fingerprint;

        let before: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let after: Timestamp = "2026-11-27T10:05:00Z".parse().unwrap();
        let mut cache = MfaCache::empty(key());
        for id in ["set", "failed", "untouched"] {
            cache.record(UserId::new(id), false, before);
        }
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
                origin: Origin::new(Arc::from(Path::new("users.yaml")), 1),
            })
        };
        let plan = Plan {
            changes: vec![change("set"), change("failed")],
            ..Plan::default()
        };
        // "created" is a user the apply created and then switched on.
        let written = [(UserId::new("set"), true), (UserId::new("created"), true)];
        cache.record_apply(&plan, &written, after);
        let state = |id: &str| cache.get(&UserId::new(id)).map(|k| (k.enabled, k.at));
        assert_eq!(state("set"), Some((true, after)));
        assert_eq!(state("created"), Some((true, after)));
        assert_eq!(state("failed"), None);
        assert_eq!(state("untouched"), Some((false, before)));
    }

    #[test]
    fn users_gone_from_the_pool_are_dropped() {
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let mut cache = MfaCache::empty(key());
        for id in ["a", "b", "c"] {
            cache.record(UserId::new(id), false, at);
        }
        let live = [UserId::new("b"), UserId::new("z")];
        cache.retain_live(&live);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&UserId::new("b")).is_some());
    }
}
