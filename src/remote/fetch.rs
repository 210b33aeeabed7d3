//! Reading the live pool with the fewest calls the API allows, through [`Remote`] whichever API
//! is behind it: the first page (v1 `users`, 200 a page; v3 `list-users`, 50 a page) gives
//! `totalCount`, the other pages are read concurrently (at most `concurrency` at once);
//! users are de-duplicated by `_id`; a pool that changes while it is read is read again, and if
//! it will not hold still the state is marked incomplete (so nothing is deleted on its strength),
//! never silently half-read. MFA switches are read only for the users whose flag is managed; the
//! whitelist only when a manifest manages it.

use futures::{StreamExt, TryStreamExt, stream};

use crate::model::{Completeness, LiveState, LiveUser, ManagedMfa, MatchOn, UserId};
use crate::report::FetchReporter;

use super::api::Remote;
use super::error::RemoteError;

/// How many times a moving pool is read before it is reported incomplete.
const READ_ATTEMPTS: usize = 3;

/// Whose MFA switch to read.
#[derive(Debug, Clone, Default)]
pub enum MfaScope {
    #[default]
    None,
    /// The users whose flag a manifest manages (by key, earlier key or id).
    Managed(ManagedMfa),
    /// Every user (export).
    All,
}

/// What to read besides the users.
#[derive(Debug, Clone, Default)]
pub struct FetchScope {
    pub match_on: MatchOn,
    pub mfa: MfaScope,
    pub whitelist: bool,
}

/// Reads the live state.
pub async fn fetch(
    client: &Remote,
    scope: &FetchScope,
    concurrency: usize,
    reporter: &dyn FetchReporter,
) -> Result<LiveState, RemoteError> {
    let (mut users, completeness) = list_users(client, concurrency, reporter).await?;
    let whitelist = if scope.whitelist {
        Some(client.whitelist().await?)
    } else {
        None
    };
    read_mfa(client, &mut users, scope, concurrency, reporter).await?;
    reporter.finished();
    Ok(LiveState {
        users,
        whitelist,
        completeness,
    })
}

/// Re-reads chosen users (v1 `userPatch`, 80 ids a call; v3 `list-users` filtered by id, 50 a
/// call); unknown ids are left out.
pub async fn users_by_id(
    client: &Remote,
    ids: &[UserId],
    concurrency: usize,
) -> Result<Vec<LiveUser>, RemoteError> {
    let batches: Vec<Vec<LiveUser>> = stream::iter(ids.chunks(client.reread_batch().max(1)))
        .map(|batch| client.users_by_ids(batch))
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(batches.into_iter().flatten().collect())
}

/// Every user of the pool, in the pool's order.
async fn list_users(
    client: &Remote,
    concurrency: usize,
    reporter: &dyn FetchReporter,
) -> Result<(Vec<LiveUser>, Completeness), RemoteError> {
    let mut last = Vec::new();
    let mut reason = String::new();
    for attempt in 1..=READ_ATTEMPTS {
        if attempt > 1 {
            reporter.relisting(&reason);
            tracing::debug!(
                attempt,
                reason = reason.as_str(),
                "the pool changed while it was read; reading it again"
            );
        }
        let listing = read_all_pages(client, concurrency, reporter).await?;
        match listing.settle(client.page_size()) {
            (users, None) => return Ok((users, Completeness::Complete)),
            (users, Some(why)) => {
                reason = why;
                last = users;
            }
        }
    }
    Ok((
        last,
        Completeness::Incomplete {
            reason: format!("the pool changed while it was read {READ_ATTEMPTS} times: {reason}"),
        },
    ))
}

/// The pages of one pass over the pool.
struct Listing {
    total: u64,
    /// Per page (index 0 = page 1): the total it reported and how many users it held.
    pages: Vec<(u64, usize)>,
    /// The users of every page, in page order (one vector: a million users are not held twice
    /// while the pages are joined).
    users: Vec<LiveUser>,
}

impl Listing {
    /// The users in page order, each id once, and what shows the pool moved during the pass,
    /// if anything.
    fn settle(mut self, page_size: u64) -> (Vec<LiveUser>, Option<String>) {
        let repeated = repeated_ids(&self.users);
        let distinct = repeated.iter().filter(|repeat| !**repeat).count();
        let inconsistency = self.inconsistency(distinct, page_size);
        let mut at = 0;
        self.users.retain(|_| {
            let keep = !repeated[at];
            at += 1;
            keep
        });
        (self.users, inconsistency)
    }

    fn inconsistency(&self, distinct: usize, page_size: u64) -> Option<String> {
        let expected_pages = self.pages.len() as u64;
        for (index, (total, users)) in self.pages.iter().enumerate() {
            let page = index as u64 + 1;
            if *total != self.total {
                return Some(format!(
                    "page {page} reported {total} users, page 1 reported {}",
                    self.total
                ));
            }
            let expected = if page < expected_pages {
                page_size
            } else {
                self.total - page_size * (expected_pages - 1)
            };
            if *users as u64 != expected {
                return Some(format!(
                    "page {page} held {users} users, expected {expected}"
                ));
            }
        }
        if distinct as u64 != self.total {
            return Some(format!(
                "{distinct} distinct users read, the pool reported {}",
                self.total
            ));
        }
        None
    }
}

/// Per user: whether an earlier user has the same id. Sorting `(hash, position)` pairs (16
/// bytes a user, ties broken by the ids themselves) costs a fraction of a set of a million
/// cloned ids, and never depends on a hash being unique.
fn repeated_ids(users: &[LiveUser]) -> Vec<bool> {
    use std::hash::BuildHasher;
    let hasher = hashbrown::DefaultHashBuilder::default();
    let id = |at: usize| users[at].id.as_str();
    let mut order: Vec<(u64, usize)> = (0..users.len())
        .map(|at| (hasher.hash_one(id(at)), at))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| id(a.1).cmp(id(b.1)))
            .then(a.1.cmp(&b.1))
    });
    let mut repeated = vec![false; users.len()];
    for pair in order.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        if earlier.0 == later.0 && id(earlier.1) == id(later.1) {
            repeated[later.1] = true;
        }
    }
    repeated
}

async fn read_all_pages(
    client: &Remote,
    concurrency: usize,
    reporter: &dyn FetchReporter,
) -> Result<Listing, RemoteError> {
    let first = client.users_page(1).await?;
    let total = first.total;
    let page_count = total.div_ceil(client.page_size()).max(1);
    reporter.listing(total, page_count);
    reporter.page_read(first.users.len());
    let mut pages = vec![(first.total, first.users.len())];
    // Sized from what was read, never from what the server claims.
    let mut users = first.users;
    let mut rest = stream::iter(2..=page_count)
        .map(|page| async move {
            let read = client.users_page(page).await?;
            reporter.page_read(read.users.len());
            Ok::<_, RemoteError>((read.total, read.users))
        })
        .buffered(concurrency.max(1));
    while let Some((total, page)) = rest.try_next().await? {
        pages.push((total, page.len()));
        users.extend(page);
    }
    Ok(Listing {
        total,
        pages,
        users,
    })
}

async fn read_mfa(
    client: &Remote,
    users: &mut [LiveUser],
    scope: &FetchScope,
    concurrency: usize,
    reporter: &dyn FetchReporter,
) -> Result<(), RemoteError> {
    let wanted: Vec<usize> = match &scope.mfa {
        MfaScope::None => return Ok(()),
        MfaScope::All => (0..users.len()).collect(),
        MfaScope::Managed(managed) => users
            .iter()
            .enumerate()
            .filter(|(_, user)| managed.covers(user))
            .map(|(index, _)| index)
            .collect(),
    };
    if wanted.is_empty() {
        return Ok(());
    }
    let chosen: Vec<&LiveUser> = wanted.iter().map(|&index| &users[index]).collect();
    let switches = mfa_states(client, &chosen, concurrency, reporter).await?;
    for (index, enabled) in wanted.into_iter().zip(switches) {
        users[index].mfa = Some(enabled);
    }
    Ok(())
}

/// Reads the MFA switch of each of these users (one v1 `queryMFA` or v3 `get-user-mfa-info`
/// each, at most `concurrency` at once), in their order.
pub async fn mfa_states(
    client: &Remote,
    users: &[&LiveUser],
    concurrency: usize,
    reporter: &dyn FetchReporter,
) -> Result<Vec<bool>, RemoteError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    reporter.mfa_reading(users.len() as u64);
    let mut switches: Vec<(usize, bool)> = stream::iter(users.iter().enumerate())
        .map(|(index, user)| async move {
            let enabled = client.mfa_enabled(&user.id, user.label()).await?;
            reporter.mfa_read();
            Ok::<_, RemoteError>((index, enabled))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    switches.sort_unstable_by_key(|(index, _)| *index);
    Ok(switches.into_iter().map(|(_, enabled)| enabled).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;

    fn user(id: &str) -> LiveUser {
        LiveUser {
            id: UserId::new(id),
            profile: Profile::default(),
            mfa: None,
        }
    }

    fn listing(total: u64, pages: &[(u64, &[&str])]) -> Listing {
        Listing {
            total,
            pages: pages
                .iter()
                .map(|(total, ids)| (*total, ids.len()))
                .collect(),
            users: pages
                .iter()
                .flat_map(|(_, ids)| ids.iter().map(|id| user(id)))
                .collect(),
        }
    }

    fn inconsistency(listing: Listing) -> Option<String> {
        listing.settle(200).1
    }

    #[test]
    fn a_consistent_listing_passes() {
        let ids: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
        let first: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(
            inconsistency(listing(201, &[(201, &first), (201, &["last"])])),
            None
        );
        assert_eq!(inconsistency(listing(0, &[(0, &[])])), None);
    }

    #[test]
    fn a_moving_pool_is_noticed() {
        let ids: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
        let first: Vec<&str> = ids.iter().map(String::as_str).collect();
        // The total moved between pages.
        assert!(inconsistency(listing(201, &[(201, &first), (202, &["last"])])).is_some());
        // A page came back short (a user was deleted and the rest shifted).
        assert!(inconsistency(listing(202, &[(202, &first), (202, &["last"])])).is_some());
        // A user was seen twice (shifted across a page boundary), so one was missed.
        let mut doubled = first.clone();
        doubled[199] = "u0";
        assert_eq!(
            inconsistency(listing(201, &[(201, &doubled), (201, &["last"])])).as_deref(),
            Some("200 distinct users read, the pool reported 201")
        );
    }

    #[test]
    fn users_are_deduplicated_in_page_order() {
        let (users, _) = listing(3, &[(3, &["a", "b"]), (3, &["b", "c"])]).settle(200);
        let ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        // Many repeats of one id, interleaved with others: the first of each, in order.
        let many: Vec<&str> = ["x", "y", "x", "z", "y", "x", "x", "w"].repeat(3);
        let (users, _) = listing(4, &[(4, &many)]).settle(200);
        let ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
        assert_eq!(ids, ["x", "y", "z", "w"]);
    }
}
