//! The pure diff engine: (desired state, live state, policy) → [`Plan`]. No I/O, no formatting,
//! no clock.
//!
//! Users are matched on the `match_on` key. A declared user with no live match is created; one
//! with a match gets the fields it manages that differ (a field the v1 API cannot change becomes
//! a notice); its MFA flag is switched if it differs. Live users that no manifest declares are
//! deleted only under prune, only inside `prune.scope`, never when `prune.protect` covers them,
//! never when they have no `match_on` key (no manifest could declare them), and never when the
//! live state may be incomplete. A declared key that matches two live users
//! is an error naming both, never a guess.

use std::collections::{HashMap, HashSet};
use std::fmt;

use miette::Diagnostic;

use crate::model::{
    Completeness, DesiredState, DesiredUser, Field, FieldValue, LiveState, LiveUser, MatchOn,
    Origin, Pattern, Profile, UserId, UserKey, field_matches, normalize_phone,
};
use crate::plan::{
    Change, Create, Delete, FieldChange, Fingerprint, MfaChange, MfaTarget, Notice, PasswordPlan,
    Plan, Update, WhitelistPhone, WhitelistSwitch,
};

/// What deletions are allowed.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Delete live users that no manifest declares.
    pub prune: bool,
    /// Only users whose email matches may be deleted.
    pub scope: Option<Pattern>,
    /// Users whose key, email or username matches are never deleted.
    pub protect: Vec<Pattern>,
    /// Where the prune settings were declared (shown as the origin of deletions).
    pub origin: Option<Origin>,
}

impl Policy {
    /// The policy a desired state declares, with `--prune` from the command line.
    pub fn from_desired(desired: &DesiredState, prune_flag: bool) -> Policy {
        Policy {
            prune: prune_flag || desired.prune.enabled,
            scope: desired.prune.scope.clone(),
            protect: desired.prune.protect.clone(),
            origin: desired.prune.origin.clone(),
        }
    }

    /// Whether the policy lets this live user be deleted.
    pub fn may_delete(&self, user: &LiveUser) -> bool {
        if !self.prune {
            return false;
        }
        let email = user
            .profile
            .email
            .as_deref()
            .map(str::trim)
            .filter(|email| !email.is_empty());
        if let Some(scope) = &self.scope
            && !email.is_some_and(|email| scope.matches(email))
        {
            return false;
        }
        let names = [
            email,
            user.profile.username.as_deref(),
            Some(user.id.as_str()),
        ];
        !self
            .protect
            .iter()
            .any(|pattern| names.iter().flatten().any(|name| pattern.matches(name)))
    }
}

/// A declared user whose key matches more than one live user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    pub key: UserKey,
    pub origin: Origin,
    pub candidates: Vec<(UserId, String)>,
}

impl fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let candidates: Vec<String> = self
            .candidates
            .iter()
            .map(|(id, label)| format!("{label} (id {id})"))
            .collect();
        write!(
            f,
            "{}: `{}` matches {} live users: {}",
            self.origin,
            self.key,
            candidates.len(),
            candidates.join(", ")
        )
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Diagnostic)]
#[error("{} declared user{} match{} more than one live user:\n  {}",
    .ambiguities.len(),
    if .ambiguities.len() == 1 { "" } else { "s" },
    if .ambiguities.len() == 1 { "es" } else { "" },
    .ambiguities.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
#[diagnostic(
    code(diff::ambiguous_match),
    help(
        "the pool holds users whose keys differ only in case or spacing; make them distinct in the Authing console, or match on the other key"
    )
)]
pub struct DiffError {
    pub ambiguities: Vec<Ambiguity>,
}

/// Computes the changes that make `live` what `desired` declares.
pub fn diff(desired: &DesiredState, live: &LiveState, policy: &Policy) -> Result<Plan, DiffError> {
    let index = LiveIndex::new(&live.users, desired.match_on);
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut mfa = Vec::new();
    let mut notices = Vec::new();
    let mut ambiguities = Vec::new();

    for wanted in &desired.users {
        match index.find(&wanted.key) {
            Match::None => {
                creates.push(Change::Create(create(wanted)));
                if wanted.mfa == Some(true) {
                    mfa.push(Change::Mfa(MfaChange {
                        key: wanted.key.clone(),
                        target: MfaTarget::New,
                        enable: true,
                        origin: wanted.origin.clone(),
                    }));
                }
            }
            Match::Many(indexes) => ambiguities.push(Ambiguity {
                key: wanted.key.clone(),
                origin: wanted.origin.clone(),
                candidates: indexes
                    .iter()
                    .map(|&index| {
                        (
                            live.users[index].id.clone(),
                            live.users[index].label().to_string(),
                        )
                    })
                    .collect(),
            }),
            Match::One(index) => {
                let have = &live.users[index];
                let (fields, unchangeable) = compare(wanted, have);
                notices.extend(unchangeable);
                let switch = wanted
                    .mfa
                    .filter(|enable| have.mfa.unwrap_or(false) != *enable);
                if fields.is_empty() && switch.is_none() {
                    continue;
                }
                let fingerprint = Fingerprint::of_user(have);
                if !fields.is_empty() {
                    updates.push(Change::Update(Update {
                        key: wanted.key.clone(),
                        id: have.id.clone(),
                        fields,
                        origin: wanted.origin.clone(),
                        fingerprint: fingerprint.clone(),
                    }));
                }
                if let Some(enable) = switch {
                    mfa.push(Change::Mfa(MfaChange {
                        key: wanted.key.clone(),
                        target: MfaTarget::Existing {
                            id: have.id.clone(),
                            fingerprint,
                        },
                        enable,
                        origin: wanted.origin.clone(),
                    }));
                }
            }
        }
    }
    if !ambiguities.is_empty() {
        return Err(DiffError { ambiguities });
    }

    let deletes = deletes(desired, live, policy, &index, &mut notices);
    let (whitelist, whitelist_fingerprint) = whitelist(desired, live);
    notices.extend(unlisted_phones(&creates, desired, live));

    let mut changes = deletes;
    changes.extend(creates);
    changes.extend(updates);
    changes.extend(mfa);
    changes.extend(whitelist);
    Ok(Plan {
        changes,
        notices,
        match_on: desired.match_on,
        live_users: live.users.len(),
        live_phones: live
            .whitelist
            .as_ref()
            .map_or(0, |whitelist| whitelist.phones.len()),
        whitelist_fingerprint,
    })
}

fn create(wanted: &DesiredUser) -> Create {
    Create {
        key: wanted.key.clone(),
        profile: wanted.profile.clone(),
        password: match &wanted.password {
            None => PasswordPlan::Generated,
            Some(password) => match &password.source {
                crate::model::PasswordSource::Env(name) => PasswordPlan::Env(name.clone()),
                crate::model::PasswordSource::Manifest => PasswordPlan::Manifest,
            },
        },
        origin: wanted.origin.clone(),
    }
}

/// The managed fields of `wanted` whose values `have` does not hold, each with the value it
/// holds now. Apply uses it too, for a user found under a key it tried to create.
pub fn differences<'a>(
    wanted: &'a Profile,
    have: &'a Profile,
) -> impl Iterator<Item = FieldChange> + 'a {
    wanted.fields().filter_map(move |(field, value)| {
        let current = have.get(field);
        (!field_matches(field, value, current)).then(|| FieldChange {
            field,
            before: current.map(|current| current.to_owned()),
            after: value.to_owned(),
        })
    })
}

/// The managed fields that differ, and notices for those the API cannot change and for photos
/// that are most likely Authing's CDN copy of the declared one.
fn compare(wanted: &DesiredUser, have: &LiveUser) -> (Vec<FieldChange>, Vec<Notice>) {
    let (changes, unchangeable): (Vec<FieldChange>, Vec<FieldChange>) =
        differences(&wanted.profile, &have.profile).partition(|change| change.field.updatable());
    let (copies, changes): (Vec<FieldChange>, Vec<FieldChange>) =
        changes.into_iter().partition(is_photo_copy);
    let mut notices: Vec<Notice> = unchangeable
        .into_iter()
        .map(|change| Notice::Unchangeable {
            key: wanted.key.clone(),
            field: change.field,
            live: change.before,
            wanted: change.after,
            origin: wanted.origin.clone(),
        })
        .collect();
    notices.extend(
        copies
            .into_iter()
            .filter_map(|change| match (change.after, change.before) {
                (FieldValue::Text(declared), Some(FieldValue::Text(live))) => {
                    Some(Notice::PhotoCopy {
                        key: wanted.key.clone(),
                        declared,
                        live,
                        origin: wanted.origin.clone(),
                    })
                }
                _ => None,
            }),
    );
    (changes, notices)
}

/// A photo change from Authing's CDN copy back to the external URL it was most likely made from.
fn is_photo_copy(change: &FieldChange) -> bool {
    match (&change.field, &change.after, &change.before) {
        (Field::Photo, FieldValue::Text(declared), Some(FieldValue::Text(live))) => {
            crate::photo::may_be_cdn_copy(declared, live)
        }
        _ => false,
    }
}

fn deletes(
    desired: &DesiredState,
    live: &LiveState,
    policy: &Policy,
    index: &LiveIndex,
    notices: &mut Vec<Notice>,
) -> Vec<Change> {
    if !policy.prune {
        return Vec::new();
    }
    if let Completeness::Incomplete { reason } = &live.completeness {
        notices.push(Notice::DeletesSuppressed {
            reason: reason.clone(),
        });
        return Vec::new();
    }
    let declared: HashSet<&UserKey> = desired.users.iter().map(|user| &user.key).collect();
    let unkeyed = index.keys.iter().filter(|key| key.is_none()).count();
    if unkeyed > 0 {
        notices.push(Notice::Unkeyed {
            users: unkeyed,
            match_on: desired.match_on,
        });
    }
    let mut deletes: Vec<Delete> = live
        .users
        .iter()
        .zip(&index.keys)
        .filter_map(|(user, key)| Some((user, key.as_ref()?)))
        .filter(|(_, key)| !declared.contains(key))
        .filter(|(user, _)| policy.may_delete(user))
        .map(|(user, key)| Delete {
            id: user.id.clone(),
            key: key.clone(),
            label: user.label().to_string(),
            origin: policy.origin.clone(),
            fingerprint: Fingerprint::of_user(user),
        })
        .collect();
    deletes.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.id.cmp(&b.id)));
    deletes.into_iter().map(Change::Delete).collect()
}

/// The whitelist changes: the switch, then additions in declaration order, then removals.
fn whitelist(desired: &DesiredState, live: &LiveState) -> (Vec<Change>, Option<Fingerprint>) {
    let Some(wanted) = &desired.whitelist else {
        return (Vec::new(), None);
    };
    let have = live.whitelist.clone().unwrap_or_default();
    let mut changes = Vec::new();
    if let Some((enabled, origin)) = &wanted.enabled
        && *enabled != have.enabled
    {
        changes.push(Change::WhitelistSwitch(WhitelistSwitch {
            from: have.enabled,
            to: *enabled,
            origin: origin.clone(),
        }));
    }
    if let Some(phones) = &wanted.phones {
        let present: HashSet<&str> = have
            .phones
            .iter()
            .map(|phone| phone.normalized.as_str())
            .collect();
        let mut added = HashSet::new();
        for (phone, origin) in phones {
            if !present.contains(phone.as_str()) && added.insert(phone.as_str()) {
                changes.push(Change::WhitelistAdd(WhitelistPhone {
                    phone: phone.as_str().to_string(),
                    origin: Some(origin.clone()),
                }));
            }
        }
        // A `Phone` is already in normalised form.
        let declared: HashSet<&str> = phones.iter().map(|(phone, _)| phone.as_str()).collect();
        let first_origin = phones.first().map(|(_, origin)| origin.clone());
        let mut removals: Vec<&str> = have
            .phones
            .iter()
            .filter(|phone| !declared.contains(phone.normalized.as_str()))
            .map(|phone| phone.raw.as_str())
            .collect();
        removals.sort_unstable();
        changes.extend(removals.into_iter().map(|phone| {
            Change::WhitelistRemove(WhitelistPhone {
                phone: phone.to_string(),
                origin: first_origin.clone(),
            })
        }));
    }
    let fingerprint = (!changes.is_empty()).then(|| Fingerprint::of_whitelist(&have));
    (changes, fingerprint)
}

/// Creations with a phone that the whitelist, as it will be after the plan, does not list
/// while it is switched on.
fn unlisted_phones(creates: &[Change], desired: &DesiredState, live: &LiveState) -> Vec<Notice> {
    let have = live.whitelist.clone().unwrap_or_default();
    let wanted = desired.whitelist.as_ref();
    let enabled = wanted
        .and_then(|wanted| wanted.enabled.as_ref())
        .map_or(have.enabled, |(enabled, _)| *enabled);
    if !enabled {
        return Vec::new();
    }
    let listed: HashSet<String> = match wanted.and_then(|wanted| wanted.phones.as_ref()) {
        Some(phones) => phones
            .iter()
            .map(|(phone, _)| phone.as_str().to_string())
            .collect(),
        None => have
            .phones
            .iter()
            .map(|phone| phone.normalized.clone())
            .collect(),
    };
    creates
        .iter()
        .filter_map(|change| match change {
            Change::Create(create) => {
                let phone = create.profile.phone.as_deref()?;
                (!listed.contains(&normalize_phone(phone))).then(|| Notice::PhoneNotWhitelisted {
                    key: create.key.clone(),
                    phone: phone.to_string(),
                    origin: create.origin.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// Live users by key.
struct LiveIndex {
    /// The key of each live user, by position.
    keys: Vec<Option<UserKey>>,
    unique: HashMap<UserKey, usize>,
    /// Keys held by more than one live user.
    shared: HashMap<UserKey, Vec<usize>>,
}

enum Match<'a> {
    None,
    One(usize),
    Many(&'a [usize]),
}

impl LiveIndex {
    fn new(users: &[LiveUser], match_on: MatchOn) -> Self {
        let keys: Vec<Option<UserKey>> = users.iter().map(|user| user.key(match_on)).collect();
        let mut unique = HashMap::with_capacity(users.len());
        let mut shared: HashMap<UserKey, Vec<usize>> = HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            if let Some(others) = shared.get_mut(key) {
                others.push(index);
            } else if let Some(first) = unique.insert(key.clone(), index) {
                unique.remove(key);
                shared.insert(key.clone(), vec![first, index]);
            }
        }
        Self {
            keys,
            unique,
            shared,
        }
    }

    fn find(&self, key: &UserKey) -> Match<'_> {
        if let Some(&index) = self.unique.get(key) {
            return Match::One(index);
        }
        match self.shared.get(key) {
            Some(indexes) => Match::Many(indexes),
            None => Match::None,
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
