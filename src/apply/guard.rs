//! The deletion guard, checked before the first write: a plan that deletes more users than the
//! limit is refused whole. The limit comes from `--max-deletes`, else `prune.max_deletes`, else
//! a conservative default of 10 users.

use std::fmt;

use crate::model::{MaxDeletes, Origin};
use crate::plan::{Change, Plan};

use super::Refusal;

/// The limit when neither `--max-deletes` nor `prune.max_deletes` is given.
pub const DEFAULT_MAX_DELETES: u64 = 10;

/// Where the deletion limit comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteLimit {
    Flag(MaxDeletes),
    Manifest(MaxDeletes, Option<Origin>),
    Default,
}

impl DeleteLimit {
    /// The flag wins over the manifest; neither gives the default.
    pub fn new(
        flag: Option<MaxDeletes>,
        manifest: Option<MaxDeletes>,
        origin: Option<Origin>,
    ) -> Self {
        match (flag, manifest) {
            (Some(flag), _) => DeleteLimit::Flag(flag),
            (None, Some(manifest)) => DeleteLimit::Manifest(manifest, origin),
            (None, None) => DeleteLimit::Default,
        }
    }

    /// The most deletions allowed in a pool of `live_users` users.
    pub fn allowed(&self, live_users: usize) -> u64 {
        match self {
            DeleteLimit::Flag(limit) | DeleteLimit::Manifest(limit, _) => limit.limit(live_users),
            DeleteLimit::Default => DEFAULT_MAX_DELETES,
        }
    }
}

impl fmt::Display for DeleteLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteLimit::Flag(limit) => write!(f, "--max-deletes {limit}"),
            DeleteLimit::Manifest(limit, Some(origin)) => {
                write!(f, "prune.max_deletes {limit} at {origin}")
            }
            DeleteLimit::Manifest(limit, None) => write!(f, "prune.max_deletes {limit}"),
            DeleteLimit::Default => {
                write!(f, "the default limit of {DEFAULT_MAX_DELETES} deletions")
            }
        }
    }
}

/// Refuses a plan whose user deletions, or whose whitelist removals, exceed the limit (a
/// percentage is of the users, or of the phones, the pool holds).
pub fn check_deletes(plan: &Plan, limit: &DeleteLimit) -> Result<(), Refusal> {
    let deletes = plan.deletes().count();
    let allowed = limit.allowed(plan.live_users);
    if deletes as u64 > allowed {
        return Err(Refusal::TooManyDeletes {
            what: "deletions",
            count: deletes,
            allowed,
            limit: limit.to_string(),
            held: format!("the pool holds {} users", plan.live_users),
        });
    }
    let removals = plan
        .changes
        .iter()
        .filter(|change| matches!(change, Change::WhitelistRemove(_)))
        .count();
    let allowed = limit.allowed(plan.live_phones);
    if removals as u64 > allowed {
        return Err(Refusal::TooManyDeletes {
            what: "whitelist removals",
            count: removals,
            allowed,
            limit: limit.to_string(),
            held: format!("the whitelist holds {} phones", plan.live_phones),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;
    use crate::plan::{Change, Delete, Fingerprint};

    fn plan_with_deletes(count: usize, live_users: usize) -> Plan {
        let changes = (0..count)
            .map(|i| {
                Change::Delete(Delete {
                    id: UserId::new(format!("u{i}")),
                    key: crate::model::UserKey::from_email(&format!("u{i}@example.com")),
                    label: format!("u{i}@example.com"),
                    origin: None,
                    fingerprint: Fingerprint::of_whitelist(&Default::default()),
                })
            })
            .collect();
        Plan {
            changes,
            live_users,
            ..Plan::default()
        }
    }

    #[test]
    fn the_default_allows_ten() {
        assert!(check_deletes(&plan_with_deletes(10, 1000), &DeleteLimit::Default).is_ok());
        let err = check_deletes(&plan_with_deletes(11, 1000), &DeleteLimit::Default).unwrap_err();
        assert!(
            err.to_string()
                .contains("11 deletions exceed the limit of 10"),
            "{err}"
        );
    }

    #[test]
    fn whitelist_removals_have_the_same_guard() {
        let changes = (0..11)
            .map(|i| {
                Change::WhitelistRemove(crate::plan::WhitelistPhone {
                    phone: format!("1380000{i:04}"),
                    origin: None,
                })
            })
            .collect();
        let plan = Plan {
            changes,
            live_phones: 40,
            ..Plan::default()
        };
        let err = check_deletes(&plan, &DeleteLimit::Default).unwrap_err();
        assert!(
            err.to_string()
                .contains("11 whitelist removals exceed the limit of 10"),
            "{err}"
        );
        assert!(
            err.to_string().contains("the whitelist holds 40 phones"),
            "{err}"
        );
        assert!(check_deletes(&plan, &DeleteLimit::Flag(MaxDeletes::Percent(30.0))).is_ok());
    }

    #[test]
    fn percentages_are_of_the_live_pool_and_the_flag_wins() {
        let limit = DeleteLimit::new(
            Some(MaxDeletes::Percent(5.0)),
            Some(MaxDeletes::Count(1)),
            None,
        );
        assert!(check_deletes(&plan_with_deletes(50, 1000), &limit).is_ok());
        assert!(check_deletes(&plan_with_deletes(51, 1000), &limit).is_err());
        let manifest = DeleteLimit::new(None, Some(MaxDeletes::Count(1)), None);
        assert!(check_deletes(&plan_with_deletes(2, 1000), &manifest).is_err());
        assert!(
            check_deletes(
                &plan_with_deletes(0, 0),
                &DeleteLimit::Flag(MaxDeletes::Count(0))
            )
            .is_ok()
        );
    }
}
