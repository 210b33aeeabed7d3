//! One plan made with bounded MFA reads: choose the switches to read ([`select`]), read them,
//! take the rest from the cache, diff, then read every switch the plan would change that came
//! from the cache and diff again if any was not what the cache said. The plan shown therefore
//! never changes a switch on the cache's word alone. The pool reader and the diff are passed in:
//! this module knows neither the client nor the diff engine.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use crate::model::{Completeness, LiveState, LiveUser, ManagedMfa, UserId};
use crate::plan::{MfaReads, Plan};

use super::select::{self, ReadPolicy, select, to_confirm};
use super::{Known, MfaCache};

/// Fills in the MFA switch of every live user whose flag `managed` covers (read, or from the
/// cache), makes the plan with `diff`, confirms the changes that rest on the cache, and records
/// every switch read in `cache` at `now`. `read` reads the switches of the users it is given, in
/// their order. The reads are `None` when no flag is managed.
pub async fn resolve<E, R, D>(
    live: &mut LiveState,
    managed: &ManagedMfa,
    cache: &mut MfaCache,
    policy: ReadPolicy,
    now: Timestamp,
    read: R,
    diff: D,
) -> Result<(Plan, Option<MfaReads>), E>
where
    R: AsyncFn(&[&LiveUser]) -> Result<Vec<bool>, E>,
    D: Fn(&LiveState) -> Result<Plan, E>,
{
    if managed.is_empty() {
        return Ok((diff(live)?, None));
    }
    let positions: Vec<usize> = live
        .users
        .iter()
        .enumerate()
        .filter(|(_, user)| managed.covers(user))
        .map(|(index, _)| index)
        .collect();
    let selection = {
        let ids: Vec<&UserId> = positions
            .iter()
            .map(|&index| &live.users[index].id)
            .collect();
        select(&ids, cache, policy)
    };
    let first: Vec<usize> = selection
        .read
        .iter()
        .map(|&chosen| positions[chosen])
        .collect();
    let mut cached: HashMap<usize, Known> = selection
        .cached
        .iter()
        .map(|(chosen, known)| (positions[*chosen], *known))
        .collect();
    read_into(live, &first, cache, now, &read).await?;
    for (&index, known) in &cached {
        live.users[index].mfa = Some(known.enabled);
    }
    let mut read_count = first.len();
    let mut plan = diff(live)?;

    let confirm: Vec<usize> = {
        let by_id: HashMap<&UserId, usize> = cached
            .keys()
            .map(|&index| (&live.users[index].id, index))
            .collect();
        let from_cache: HashSet<&UserId> = by_id.keys().copied().collect();
        to_confirm(&plan, &from_cache)
            .iter()
            .filter_map(|id| by_id.get(id).copied())
            .collect()
    };
    if !confirm.is_empty() {
        let said: Vec<Option<bool>> = confirm
            .iter()
            .map(|index| cached.remove(index).map(|known| known.enabled))
            .collect();
        read_into(live, &confirm, cache, now, &read).await?;
        read_count += confirm.len();
        let moved = confirm
            .iter()
            .zip(said)
            .any(|(&index, said)| live.users[index].mfa != said);
        if moved {
            plan = diff(live)?;
        }
    }
    if live.completeness == Completeness::Complete {
        cache.retain_live(live.users.iter().map(|user| &user.id));
    }
    let reads = select::reads(read_count, cached.values(), policy, now);
    Ok((plan, Some(reads)))
}

/// Reads the switches of the live users at `positions` into `live` and the cache.
async fn read_into<E, R>(
    live: &mut LiveState,
    positions: &[usize],
    cache: &mut MfaCache,
    now: Timestamp,
    read: &R,
) -> Result<(), E>
where
    R: AsyncFn(&[&LiveUser]) -> Result<Vec<bool>, E>,
{
    if positions.is_empty() {
        return Ok(());
    }
    let states = {
        let users: Vec<&LiveUser> = positions.iter().map(|&index| &live.users[index]).collect();
        read(&users).await?
    };
    for (&index, enabled) in positions.iter().zip(states) {
        let user = &mut live.users[index];
        user.mfa = Some(enabled);
        cache.record(user.id.clone(), enabled, now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::mfa_cache::CacheKey;
    use crate::model::{Field, FieldValue, MatchOn, Origin, Profile, UserKey};
    use crate::plan::{Change, Fingerprint, MfaChange, MfaTarget};

    fn now(minute: u32) -> Timestamp {
        format!("2026-11-27T03:{minute:02}:00Z").parse().unwrap()
    }

    fn email(i: usize) -> String {
        format!("u{i}@example.com")
    }

    /// A pool of `n` users u0..u(n-1); `on` says whose MFA is on.
    struct Pool {
        on: RefCell<Vec<bool>>,
        reads: RefCell<Vec<String>>,
    }

    impl Pool {
        fn new(on: Vec<bool>) -> Self {
            Self {
                on: RefCell::new(on),
                reads: RefCell::new(Vec::new()),
            }
        }

        fn live(&self) -> LiveState {
            let users = (0..self.on.borrow().len())
                .map(|i| {
                    let mut profile = Profile::default();
                    profile.set(Field::Email, Some(FieldValue::Text(email(i))));
                    LiveUser {
                        id: UserId::new(format!("id{i}")),
                        profile,
                        mfa: None,
                    }
                })
                .collect();
            LiveState {
                users,
                ..LiveState::default()
            }
        }

        async fn read(&self, users: &[&LiveUser]) -> Result<Vec<bool>, String> {
            Ok(users
                .iter()
                .map(|user| {
                    self.reads.borrow_mut().push(user.id.as_str().to_string());
                    let index: usize = user.id.as_str()[2..].parse().unwrap();
                    self.on.borrow()[index]
                })
                .collect())
        }

        fn take_reads(&self) -> usize {
            self.reads.take().len()
        }
    }

    /// Every user should have MFA `wanted`; a plan of the switches that differ.
    fn diff(wanted: bool) -> impl Fn(&LiveState) -> Result<Plan, String> {
        move |live: &LiveState| {
            let origin = Origin::new(Arc::from(Path::new("users.yaml")), 1);
            let changes = live
                .users
                .iter()
                .filter(|user| user.mfa.unwrap_or(false) != wanted)
                .map(|user| {
                    Change::Mfa(MfaChange {
                        key: UserKey::of(&user.profile, MatchOn::Email).unwrap(),
                        target: MfaTarget::Existing {
                            id: user.id.clone(),
                            fingerprint: Fingerprint::of_user(user),
                        },
                        enable: wanted,
                        origin: origin.clone(),
                    })
                })
                .collect();
            Ok(Plan {
                changes,
                ..Plan::default()
            })
        }
    }

    fn everyone(n: usize) -> ManagedMfa {
        ManagedMfa {
            match_on: MatchOn::Email,
            keys: (0..n).map(|i| UserKey::from_email(&email(i))).collect(),
            ids: Default::default(),
        }
    }

    async fn run(
        pool: &Pool,
        cache: &mut MfaCache,
        policy: ReadPolicy,
        minute: u32,
    ) -> (Plan, MfaReads) {
        let mut live = pool.live();
        let managed = everyone(live.users.len());
        let (plan, reads) = resolve(
            &mut live,
            &managed,
            cache,
            policy,
            now(minute),
            async |users: &[&LiveUser]| pool.read(users).await,
            diff(false),
        )
        .await
        .unwrap();
        (plan, reads.unwrap())
    }

    fn key() -> CacheKey {
        CacheKey::new("v1", "local", "pool")
    }

    #[tokio::test]
    async fn exact_reads_everything_and_fills_the_cache() {
        let pool = Pool::new(vec![false; 10]);
        let mut cache = MfaCache::empty(key());
        let (plan, reads) = run(&pool, &mut cache, ReadPolicy::Exact, 0).await;
        assert!(plan.is_empty());
        assert_eq!((reads.read, reads.from_cache), (10, 0));
        assert_eq!(pool.take_reads(), 10);
        assert_eq!(cache.len(), 10);
    }

    #[tokio::test]
    async fn a_budget_reads_what_it_allows_and_finds_an_outside_change_in_time() {
        let pool = Pool::new(vec![false; 10]);
        let mut cache = MfaCache::empty(key());
        // Nothing seen yet: everything is read, whatever the budget.
        let (_, reads) = run(&pool, &mut cache, ReadPolicy::Budget(3), 0).await;
        assert_eq!(reads.read, 10);
        pool.take_reads();
        // MFA turned on outside the tool for u7.
        pool.on.borrow_mut()[7] = true;
        let mut found = None;
        for run_number in 1..=4 {
            cache = reload(&cache);
            let (plan, reads) = run(&pool, &mut cache, ReadPolicy::Budget(3), run_number).await;
            assert_eq!(reads.read, 3, "run {run_number}");
            assert_eq!(reads.from_cache, 7);
            assert_eq!(pool.take_reads(), 3);
            if !plan.is_empty() {
                found = Some(run_number);
                break;
            }
        }
        assert!(found.is_some(), "within ceil(10 / 3) = 4 runs");
    }

    /// The cache as the next run loads it.
    fn reload(cache: &MfaCache) -> MfaCache {
        let entries = cache
            .entries()
            .map(|(id, known)| (id.clone(), *known))
            .collect();
        MfaCache::from_parts(cache.key().clone(), cache.generation(), entries)
    }

    #[tokio::test]
    async fn a_change_resting_on_the_cache_is_confirmed_before_it_is_planned() {
        let pool = Pool::new(vec![false; 5]);
        let mut cache = MfaCache::empty(key());
        run(&pool, &mut cache, ReadPolicy::Exact, 0).await;
        pool.take_reads();
        // The cache wrongly says u2 and u3 are on (say the cache was older than a change made
        // outside): the plan would turn them off, so both are read first. u3 really is on.
        cache.record(UserId::new("id2"), true, now(0));
        cache.record(UserId::new("id3"), true, now(0));
        pool.on.borrow_mut()[3] = true;
        cache = reload(&cache);
        let (plan, reads) = run(&pool, &mut cache, ReadPolicy::Budget(0), 1).await;
        let targets: Vec<&str> = plan.changes.iter().map(Change::target).collect();
        assert_eq!(
            targets,
            ["u3@example.com"],
            "u2's change rested on a stale cache"
        );
        assert_eq!(reads.read, 2, "the two confirmations");
        assert_eq!(reads.from_cache, 3);
        assert_eq!(
            cache.get(&UserId::new("id2")).map(|k| k.enabled),
            Some(false)
        );
        assert_eq!(pool.take_reads(), 2);
    }

    #[tokio::test]
    async fn refresh_reads_everything_and_ids_gone_from_the_pool_are_dropped() {
        let pool = Pool::new(vec![false; 4]);
        let mut cache = MfaCache::empty(key());
        cache.record(UserId::new("gone"), true, now(0));
        let (_, reads) = run(&pool, &mut cache, ReadPolicy::Refresh, 1).await;
        assert_eq!((reads.read, reads.from_cache, reads.budget), (4, 0, None));
        assert_eq!(cache.len(), 4);
        assert!(cache.get(&UserId::new("gone")).is_none());
    }

    #[tokio::test]
    async fn nothing_managed_reads_nothing() {
        let pool = Pool::new(vec![true; 3]);
        let mut cache = MfaCache::empty(key());
        let mut live = pool.live();
        let (plan, reads) = resolve(
            &mut live,
            &ManagedMfa::default(),
            &mut cache,
            ReadPolicy::Exact,
            now(0),
            async |users: &[&LiveUser]| pool.read(users).await,
            |_: &LiveState| Ok::<_, String>(Plan::default()),
        )
        .await
        .unwrap();
        assert!(plan.is_empty() && reads.is_none());
        assert_eq!(pool.take_reads(), 0);
    }
}
