//! The stale-plan check of `apply --plan`: re-read just the objects the plan touches (`userPatch`
//! for users, `queryMFA` for MFA switches, the whitelist queries; the pool's users when the plan
//! creates some) and compare them with what the plan recorded. Anything a foreign hand moved is
//! listed and nothing is written.
//!
//! An object already in the state the plan leads to is not drift but done (an earlier run of this
//! plan was interrupted): an updated user whose planned fields hold their new values and whose
//! other fields are as the plan saw them, a deleted user that is gone, a created user whose key
//! holds a user with every declared value, an MFA switch already turned, whitelist entries
//! already added or removed. Those changes are left out, and the rest is applied: a saved plan
//! can be finished by running it again.
//!
//! A user that appeared under a key the plan creates, or that holds a username, email or phone
//! the plan gives a new user, is drift (the creation would fail with 2026, or worse, find them).
//! So is a deletion the plan's recorded prune policy does not allow (a hand-edited plan).

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};

use crate::diff::{Policy, UNIQUE, comparable, freed_values};
use crate::model::{
    Field, FieldValue, LivePhone, LiveUser, LiveWhitelist, Profile, UserId, UserKey, field_matches,
};
use crate::plan::{Change, Create, Fingerprint, MfaChange, MfaTarget, Plan, Update};
use crate::remote::{self, FetchScope, Remote, RemoteError};
use crate::report::Silent;

use super::Refusal;

/// The part of a saved plan still to do.
#[derive(Debug)]
pub struct Resumed {
    /// The plan without the changes already done.
    pub plan: Plan,
    /// How many of the plan's changes were already done.
    pub done: usize,
}

/// What is left of the plan, or why it is stale or not to be trusted.
pub async fn check_drift(
    plan: &Plan,
    policy: &Policy,
    client: &Remote,
    concurrency: usize,
) -> Result<Result<Resumed, Refusal>, RemoteError> {
    let deletes = plan.deletes().count();
    if deletes > 0 && !policy.prune {
        return Ok(Err(Refusal::Tampered {
            reason: format!(
                "it deletes {deletes} user{}, and it was made without prune",
                if deletes == 1 { "" } else { "s" }
            ),
        }));
    }

    let mut ids: Vec<UserId> = plan
        .changes
        .iter()
        .filter_map(Change::live_id)
        .cloned()
        .collect();
    ids.sort();
    ids.dedup();
    let now: HashMap<UserId, LiveUser> = remote::users_by_id(client, &ids, concurrency)
        .await?
        .into_iter()
        .map(|user| (user.id.clone(), user))
        .collect();
    let creates: Vec<&Create> = plan
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::Create(create) => Some(create),
            _ => None,
        })
        .collect();
    let pool = if creates.is_empty() {
        Vec::new()
    } else {
        let scope = FetchScope {
            match_on: plan.match_on,
            ..FetchScope::default()
        };
        remote::fetch(client, &scope, concurrency, &Silent)
            .await?
            .users
    };

    let mut check = Check::default();
    // Users whose update is done: their fingerprint moved, by this plan's own hand.
    let mut updated: HashSet<&UserId> = HashSet::new();
    for (at, change) in plan.changes.iter().enumerate() {
        match change {
            Change::Update(update) => match now.get(&update.id) {
                None => check.drift(&update.id, update.key.as_str(), "no longer exists"),
                Some(user) if Fingerprint::of_user(user) == update.fingerprint => {}
                Some(user) if update_done(update, user) => {
                    updated.insert(&update.id);
                    check.done.insert(at);
                }
                Some(_) => check.drift(&update.id, update.key.as_str(), "was changed"),
            },
            Change::Delete(delete) => match now.get(&delete.id) {
                None => {
                    check.done.insert(at);
                }
                Some(user) if !policy.may_delete(user) => {
                    return Ok(Err(Refusal::Tampered {
                        reason: format!(
                            "it deletes {} (id {}), which the prune policy it was made under does not allow",
                            delete.label, delete.id
                        ),
                    }));
                }
                Some(user) if Fingerprint::of_user(user) != delete.fingerprint => {
                    check.drift(&delete.id, &delete.label, "was changed")
                }
                Some(_) => {}
            },
            _ => {}
        }
    }

    // Creations: the key free (to do) or held by the user the plan declares (done).
    let mut created: HashMap<&UserKey, &LiveUser> = HashMap::new();
    if !creates.is_empty() {
        // What the plan's own updates move away (a rename's old key, a phone moved to a new
        // user) is free by the time the creations run.
        let moving: HashMap<&UserId, HashSet<(Field, String)>> = plan
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::Update(update) => Some((&update.id, freed_values(update))),
                _ => None,
            })
            .collect();
        let moves = |user: &LiveUser, value: &(Field, String)| {
            moving
                .get(&user.id)
                .is_some_and(|freed| freed.contains(value))
        };
        let mut by_key: HashMap<UserKey, Vec<&LiveUser>> = HashMap::new();
        for user in &pool {
            if let Some(key) = user.key(plan.match_on)
                && !moves(user, &(plan.match_on.field(), key.as_str().to_string()))
            {
                by_key.entry(key).or_default().push(user);
            }
        }
        let holders = Holders::of(&creates, &pool, &moves);
        for (at, change) in plan.changes.iter().enumerate() {
            let Change::Create(create) = change else {
                continue;
            };
            match by_key.get(&create.key).map(Vec::as_slice) {
                None | Some([]) => {
                    for (field, holder) in holders.conflicts(create) {
                        check.drifted.push(format!(
                            "{}: the {} the plan gives this new user now belongs to {} (id {})",
                            create.key,
                            field.name(),
                            holder.label(),
                            holder.id
                        ));
                    }
                }
                Some([user]) if profile_done(&create.profile, &user.profile) => {
                    created.insert(&create.key, user);
                    check.done.insert(at);
                }
                Some(users) => {
                    let found: Vec<String> = users
                        .iter()
                        .map(|user| format!("{} (id {})", user.label(), user.id))
                        .collect();
                    check.drifted.push(format!(
                        "{}: a user the plan creates now exists ({}), created after the plan was made",
                        create.key,
                        found.join(", ")
                    ));
                }
            }
        }
    }

    // MFA switches: of a user the plan saw or has finished updating, or of one it created.
    let mut remaining_mfa: Vec<(usize, UserId, bool, String)> = Vec::new();
    let mut converted: HashMap<usize, MfaTarget> = HashMap::new();
    for (at, change) in plan.changes.iter().enumerate() {
        let Change::Mfa(mfa) = change else { continue };
        match &mfa.target {
            MfaTarget::Existing { id, fingerprint } => match now.get(id) {
                None => check.drift(id, mfa.key.as_str(), "no longer exists"),
                Some(user)
                    if Fingerprint::of_user(user) == *fingerprint || updated.contains(id) =>
                {
                    remaining_mfa.push((at, id.clone(), mfa.enable, mfa.key.to_string()));
                }
                Some(_) => check.drift(id, mfa.key.as_str(), "was changed"),
            },
            MfaTarget::New => {
                if let Some(user) = created.get(&mfa.key) {
                    converted.insert(
                        at,
                        MfaTarget::Existing {
                            id: user.id.clone(),
                            fingerprint: Fingerprint::of_user(user),
                        },
                    );
                    remaining_mfa.push((at, user.id.clone(), mfa.enable, mfa.key.to_string()));
                }
            }
        }
    }
    let switched: Vec<(usize, bool)> = stream::iter(remaining_mfa)
        .map(|(at, id, enable, label)| async move {
            Ok::<_, RemoteError>((at, client.mfa_enabled(&id, &label).await? == enable))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    for (at, already) in switched {
        if already {
            check.done.insert(at);
        }
    }

    if let Some(fingerprint) = &plan.whitelist_fingerprint {
        let whitelist = client.whitelist().await?;
        if &Fingerprint::of_whitelist(&whitelist) != fingerprint {
            match whitelist_done(plan, &whitelist, fingerprint) {
                Some(done) => check.done.extend(done),
                None => check
                    .drifted
                    .push("the phone-registration whitelist was changed".to_string()),
            }
        }
    }

    if !check.drifted.is_empty() {
        return Ok(Err(Refusal::Stale {
            drifted: check.drifted,
        }));
    }
    let changes = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(at, _)| !check.done.contains(at))
        .map(|(at, change)| match (change, converted.remove(&at)) {
            (Change::Mfa(mfa), Some(target)) => Change::Mfa(MfaChange {
                target,
                ..mfa.clone()
            }),
            (change, _) => change.clone(),
        })
        .collect();
    Ok(Ok(Resumed {
        plan: Plan {
            changes,
            ..plan.clone()
        },
        done: check.done.len(),
    }))
}

#[derive(Default)]
struct Check<'a> {
    drifted: Vec<String>,
    reported: HashSet<&'a UserId>,
    /// Indexes of the plan's changes already done.
    done: HashSet<usize>,
}

impl<'a> Check<'a> {
    fn drift(&mut self, id: &'a UserId, label: &str, what: &str) {
        if self.reported.insert(id) {
            self.drifted.push(format!("{label} (id {id}) {what}"));
        }
    }
}

/// Whether a user is where the update leads: every planned field holds its new value, and put
/// back to the planned `before` values the user is the one the plan saw (its fingerprint), so
/// no other field moved. A verification flag Authing clears with an email or phone change the
/// update does not set may have any value.
fn update_done(update: &Update, user: &LiveUser) -> bool {
    let arrived = update.fields.iter().all(|change| {
        field_matches(
            change.field,
            change.after.as_ref(),
            user.profile.get(change.field),
        )
    });
    if !arrived {
        return false;
    }
    let mut before = user.profile.clone();
    for change in &update.fields {
        before.set(change.field, change.before.clone());
    }
    let changes = |field: Field| update.fields.iter().any(|change| change.field == field);
    let free: Vec<Field> = [
        (Field::Email, Field::EmailVerified),
        (Field::Phone, Field::PhoneVerified),
    ]
    .into_iter()
    .filter(|(field, flag)| changes(*field) && !changes(*flag))
    .map(|(_, flag)| flag)
    .collect();
    let values = [None, Some(false), Some(true)];
    let combinations = values.len().pow(free.len() as u32);
    (0..combinations).any(|mut combination| {
        let mut candidate = before.clone();
        for flag in &free {
            candidate.set(
                *flag,
                values[combination % values.len()].map(FieldValue::Bool),
            );
            combination /= values.len();
        }
        let user = LiveUser {
            id: user.id.clone(),
            profile: candidate,
            mfa: None,
        };
        Fingerprint::of_user(&user) == update.fingerprint
    })
}

/// Whether a live user holds every value a creation declares.
fn profile_done(declared: &Profile, live: &Profile) -> bool {
    declared
        .fields()
        .all(|(field, value)| field_matches(field, value, live.get(field)))
}

/// The whitelist changes already made, when the only difference from what the plan saw is this
/// plan's own work: the list with its additions taken out, its removals put back and the switch
/// as it was has the recorded fingerprint. `None` when a foreign hand changed it.
fn whitelist_done(plan: &Plan, now: &LiveWhitelist, recorded: &Fingerprint) -> Option<Vec<usize>> {
    let mut before = now.clone();
    let mut done = Vec::new();
    for (at, change) in plan.changes.iter().enumerate() {
        match change {
            Change::WhitelistAdd(entry) => {
                let present = before.phones.iter().any(|phone| phone.raw == entry.phone);
                before.phones.retain(|phone| phone.raw != entry.phone);
                if present {
                    done.push(at);
                }
            }
            Change::WhitelistRemove(entry)
                if !now.phones.iter().any(|phone| phone.raw == entry.phone) =>
            {
                before.phones.push(LivePhone::new(entry.phone.clone()));
                done.push(at);
            }
            Change::WhitelistSwitch(switch) => {
                if now.enabled == switch.to {
                    done.push(at);
                }
                before.enabled = switch.from;
            }
            _ => {}
        }
    }
    (Fingerprint::of_whitelist(&before) == *recorded).then_some(done)
}

/// Live users holding the unique values (email, username, phone) that new users declare.
struct Holders<'a> {
    values: HashMap<(Field, String), &'a LiveUser>,
}

impl<'a> Holders<'a> {
    fn of(
        creates: &[&Create],
        pool: &'a [LiveUser],
        moves: &dyn Fn(&LiveUser, &(Field, String)) -> bool,
    ) -> Self {
        let wanted: HashSet<(Field, String)> = creates
            .iter()
            .flat_map(|create| {
                UNIQUE.into_iter().filter_map(|field| {
                    let value = create.profile.text(field)?;
                    Some((field, comparable(field, value)))
                })
            })
            .collect();
        let mut values = HashMap::new();
        for user in pool {
            for field in UNIQUE {
                if let Some(value) = user.profile.text(field).filter(|v| !v.trim().is_empty()) {
                    let value = (field, comparable(field, value));
                    if wanted.contains(&value) && !moves(user, &value) {
                        values.entry(value).or_insert(user);
                    }
                }
            }
        }
        Holders { values }
    }

    /// The declared unique values of a creation that live users hold.
    fn conflicts(&self, create: &Create) -> Vec<(Field, &'a LiveUser)> {
        UNIQUE
            .into_iter()
            .filter_map(|field| {
                let value = create.profile.text(field)?;
                let holder = self.values.get(&(field, comparable(field, value)))?;
                Some((field, *holder))
            })
            .collect()
    }
}
