//! The pure diff engine: (desired state, live state, policy) → [`Plan`]. No I/O, no formatting,
//! no clock.
//!
//! Users are matched by `id` first, then by `renamed_from` (an earlier key, when no live user
//! holds the new one: a rename in place), then on the `match_on` key. A declared user with no
//! live match is created; one with a match gets the fields it manages that differ (a rename is
//! the key's field among them); its MFA flag is switched if it differs. Live users that no
//! declared user is are deleted only under prune, only inside `prune.scope`, never when
//! `prune.protect` covers them, never when they have no `match_on` key (no manifest could
//! declare them), and never when the live state may be incomplete. Whatever cannot be decided
//! without a guess (a key matching two live users, an unknown `id`, a `renamed_from` whose old
//! and new keys are both live, two declared users claiming one live user, a rename into a key
//! another live user holds) is an error naming the manifest place and the live users. So is a
//! creation or an update that would take a username, email or phone (unique in a pool; usernames
//! and emails compare case-insensitively) that another live user holds, unless an update in the
//! same plan moves it away first.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use miette::Diagnostic;

use crate::model::{
    Completeness, DesiredState, DesiredUser, Field, FieldRef, FieldValue, LiveState, LiveUser,
    MatchOn, Origin, Pattern, Profile, UserId, UserKey, emails_equal, field_matches,
    normalize_phone, normalized_email, normalized_phone,
};
use crate::plan::file::PruneEntry;
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

    /// The record of this policy in a saved plan; `None` when it does not prune.
    pub fn entry(&self) -> Option<PruneEntry> {
        self.prune.then(|| PruneEntry {
            scope: self.scope.as_ref().map(|scope| scope.as_str().to_string()),
            protect: self
                .protect
                .iter()
                .map(|pattern| pattern.as_str().to_string())
                .collect(),
            origin: crate::plan::file::origin_entry(self.origin.as_ref()),
        })
    }

    /// The policy a saved plan recorded (`None`: it did not prune); `Err` when a pattern does not
    /// parse.
    pub fn from_entry(entry: Option<&PruneEntry>) -> Result<Policy, String> {
        let Some(entry) = entry else {
            return Ok(Policy::default());
        };
        let pattern = |text: &str| Pattern::parse(text).map_err(|err| err.to_string());
        Ok(Policy {
            prune: true,
            scope: entry.scope.as_deref().map(pattern).transpose()?,
            protect: entry
                .protect
                .iter()
                .map(|text| pattern(text))
                .collect::<Result<_, _>>()?,
            origin: entry.origin.as_ref().map(|origin| {
                Origin::new(std::sync::Arc::from(origin.file.as_path()), origin.line)
            }),
        })
    }

    /// Whether the policy lets this live user be deleted.
    pub fn may_delete(&self, user: &LiveUser) -> bool {
        if !self.prune {
            return false;
        }
        let email = user
            .profile
            .text(Field::Email)
            .map(str::trim)
            .filter(|email| !email.is_empty());
        if let Some(scope) = &self.scope
            && !email.is_some_and(|email| scope.matches(email))
        {
            return false;
        }
        let names = [
            email,
            user.profile.text(Field::Username),
            Some(user.id.as_str()),
        ];
        !self
            .protect
            .iter()
            .any(|pattern| names.iter().flatten().any(|name| pattern.matches(name)))
    }
}

/// A live user as a problem names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRef {
    pub id: UserId,
    /// Email, else username, else id.
    pub label: String,
}

impl LiveRef {
    fn of(user: &LiveUser) -> Self {
        Self {
            id: user.id.clone(),
            label: user.label().to_string(),
        }
    }
}

impl fmt::Display for LiveRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.label == self.id.as_str() {
            write!(f, "the user with id {}", self.id)
        } else {
            write!(f, "{} (id {})", self.label, self.id)
        }
    }
}

/// Why a declared user cannot be matched to the pool. Each names the manifest place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The key (or the `renamed_from` key) matches more than one live user.
    Ambiguous {
        key: UserKey,
        origin: Origin,
        candidates: Vec<LiveRef>,
    },
    /// `id` names no live user.
    UnknownId {
        key: UserKey,
        id: UserId,
        origin: Origin,
    },
    /// `renamed_from`, but both the earlier and the new key are live users.
    BothExist {
        key: UserKey,
        renamed_from: UserKey,
        origin: Origin,
        current: LiveRef,
        earlier: LiveRef,
    },
    /// Two declared users claim one live user (an `id` and a `renamed_from`).
    Contested {
        live: LiveRef,
        first: Origin,
        second: Origin,
    },
    /// A rename into a key that another live user holds (also when that user is renamed away
    /// in this same plan: the order of the two would matter).
    KeyHeld {
        key: UserKey,
        origin: Origin,
        holder: LiveRef,
        /// Where the holder is renamed away, when it is.
        moving: Option<Origin>,
    },
    /// A new user, or a change, would take a username, email or phone (unique in a pool) that
    /// another live user holds: Authing refuses it (2026) on every run.
    ValueHeld {
        key: UserKey,
        field: Field,
        value: String,
        origin: Origin,
        holder: LiveRef,
        /// What this plan does to the holder, when it touches it ("deletes", "updates").
        fate: Option<&'static str>,
        /// A creation (else an update).
        create: bool,
    },
    /// Two declared users would be given the same username, email or phone (in any case or
    /// spelling): Authing keeps one of each, so the second fails on every run.
    DeclaredTwice {
        field: Field,
        value: String,
        first: Origin,
        second: Origin,
    },
    /// A field the API cannot write for this change.
    Unwritable {
        key: UserKey,
        field: Field,
        origin: Origin,
    },
}

impl Problem {
    fn origin(&self) -> &Origin {
        match self {
            Problem::Ambiguous { origin, .. }
            | Problem::UnknownId { origin, .. }
            | Problem::BothExist { origin, .. }
            | Problem::KeyHeld { origin, .. }
            | Problem::ValueHeld { origin, .. }
            | Problem::Unwritable { origin, .. } => origin,
            Problem::Contested { second, .. } | Problem::DeclaredTwice { second, .. } => second,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Ambiguous {
                key,
                origin,
                candidates,
            } => {
                let candidates: Vec<String> = candidates.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{origin}: `{key}` matches {} live users: {}",
                    candidates.len(),
                    candidates.join(", ")
                )
            }
            Problem::UnknownId { key, id, origin } => write!(
                f,
                "{origin}: `{key}` has `id: {id}`, and no live user has that id (nothing is created in its place)"
            ),
            Problem::BothExist {
                key,
                renamed_from,
                origin,
                current,
                earlier,
            } => write!(
                f,
                "{origin}: `{key}` is renamed from `{renamed_from}`, but both are live users: {current} and {earlier}"
            ),
            Problem::Contested {
                live,
                first,
                second,
            } => write!(
                f,
                "{second}: {live} is also claimed by the user at {first}; one live user can become only one declared user"
            ),
            Problem::KeyHeld {
                key,
                origin,
                holder,
                moving,
            } => match moving {
                Some(moving) => write!(
                    f,
                    "{origin}: `{key}` is held by {holder}, which {moving} renames away in this same plan; apply the two renames one run apart"
                ),
                None => write!(
                    f,
                    "{origin}: the user cannot be renamed to `{key}`: {holder} holds it"
                ),
            },
            Problem::ValueHeld {
                key,
                field,
                value,
                origin,
                holder,
                fate,
                create,
            } => {
                write!(
                    f,
                    "{origin}: {} `{key}` with the {field} `{value}`, which {holder} holds",
                    if *create {
                        "cannot create"
                    } else {
                        "cannot update"
                    }
                )?;
                match fate {
                    Some(fate) => write!(f, " (this plan {fate} that user, but only later)"),
                    None => Ok(()),
                }
            }
            Problem::DeclaredTwice {
                field,
                value,
                first,
                second,
            } => write!(
                f,
                "{second}: the {field} `{value}` is also given to the user at {first}; a pool holds each {field} once"
            ),
            Problem::Unwritable { key, field, origin } => {
                write!(f, "{origin}: `{key}`: the API cannot write `{field}`")
            }
        }
    }
}

/// Why no plan could be made: every problem at once, in manifest order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the declared users cannot be matched to the pool ({}):\n  {}",
    if .problems.len() == 1 { "1 problem".to_string() } else { format!("{} problems", .problems.len()) },
    .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
pub struct DiffError {
    pub problems: Vec<Problem>,
}

impl Diagnostic for DiffError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("diff::unmatched"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut hints: Vec<&str> = Vec::new();
        for problem in &self.problems {
            let hint = match problem {
                Problem::Ambiguous { .. } => {
                    "the pool holds users whose keys differ only in case or spacing; make them distinct in the Authing console, or match on the other key"
                }
                Problem::UnknownId { .. } => {
                    "an `id` must be a live user's id (`export --with-ids` writes them); drop it to create the user"
                }
                Problem::BothExist { .. } => {
                    "drop `renamed_from` if the rename is done, or remove the other user first"
                }
                Problem::Contested { .. } | Problem::KeyHeld { .. } => {
                    "each live user can be matched once, and a rename needs its new key free"
                }
                Problem::DeclaredTwice { .. } => {
                    "give each user its own username, email and phone (compared in any case and phone spelling)"
                }
                Problem::ValueHeld { .. } => {
                    "a username, email or phone belongs to one user in a pool: if it is the same person, declare `renamed_from` (or `id`) to keep that user; otherwise change the value, or free it on the other user first"
                }
                Problem::Unwritable { .. } => "leave the field out of the manifest",
            };
            if !hints.contains(&hint) {
                hints.push(hint);
            }
        }
        Some(Box::new(hints.join("; ")))
    }
}

/// Which live user a declared user is, and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// By `id`.
    Id(usize),
    /// By `renamed_from`: the live user holds the earlier key.
    Renamed(usize),
    /// By key.
    Key(usize),
}

impl Claim {
    fn index(self) -> usize {
        match self {
            Claim::Id(index) | Claim::Renamed(index) | Claim::Key(index) => index,
        }
    }
}

/// Computes the changes that make `live` what `desired` declares.
pub fn diff(desired: &DesiredState, live: &LiveState, policy: &Policy) -> Result<Plan, DiffError> {
    let index = LiveIndex::new(
        &live.users,
        desired.match_on,
        desired.users.iter().any(|user| user.id().is_some()),
    );
    let Matching {
        claims,
        claimed,
        mut notices,
    } = match_users(desired, live, &index)?;
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut mfa = Vec::new();
    let mut problems = Vec::new();

    for (wanted, claim) in desired.users.iter().zip(&claims) {
        let Some(claim) = claim else {
            for (field, _) in wanted.profile.fields() {
                if !field.registrable() && !field.updatable() {
                    problems.push(Problem::Unwritable {
                        key: wanted.key.clone(),
                        field,
                        origin: wanted.origin.clone(),
                    });
                }
            }
            creates.push(Change::Create(create(wanted)));
            if wanted.mfa == Some(true) {
                mfa.push(Change::Mfa(MfaChange {
                    key: wanted.key.clone(),
                    target: MfaTarget::New,
                    enable: true,
                    origin: wanted.origin.clone(),
                }));
            }
            continue;
        };
        let have = &live.users[claim.index()];
        let fields = compare(wanted, have, &mut notices);
        for change in fields.iter().filter(|change| !change.field.updatable()) {
            problems.push(Problem::Unwritable {
                key: wanted.key.clone(),
                field: change.field,
                origin: wanted.origin.clone(),
            });
        }
        let switch = wanted
            .mfa
            .filter(|enable| have.mfa.unwrap_or(false) != *enable);
        if fields.is_empty() && switch.is_none() {
            continue;
        }
        let fingerprint = Fingerprint::of_user(have);
        if !fields.is_empty() {
            let renamed_from = index.key(claim.index()).filter(|old| *old != wanted.key);
            updates.push(Change::Update(Update {
                key: wanted.key.clone(),
                id: have.id.clone(),
                fields,
                renamed_from,
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
    let deletes = deletes(desired, live, policy, &index, &claimed, &mut notices);
    problems.extend(held_values(
        desired.match_on,
        live,
        &creates,
        &updates,
        &deletes,
    ));
    if !problems.is_empty() {
        problems.sort_by(|a, b| {
            let (a, b) = (a.origin(), b.origin());
            (&a.file, a.line).cmp(&(&b.file, b.line))
        });
        return Err(DiffError { problems });
    }

    let (whitelist, whitelist_fingerprint) = whitelist(desired, live);
    notices.extend(whitelist_spellings(desired, live));
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

/// Which declared user each live user is, by live position: one `u32` per live user.
struct Owners(Vec<u32>);

impl Owners {
    const NONE: u32 = u32::MAX;

    fn new(live_users: usize) -> Self {
        Owners(vec![Owners::NONE; live_users])
    }

    fn get(&self, live_at: &usize) -> Option<usize> {
        self.0
            .get(*live_at)
            .filter(|&&owner| owner != Owners::NONE)
            .map(|&owner| owner as usize)
    }

    fn contains_key(&self, live_at: &usize) -> bool {
        self.get(live_at).is_some()
    }

    fn insert(&mut self, live_at: usize, declared: usize) {
        if let Some(slot) = self.0.get_mut(live_at) {
            *slot = u32::try_from(declared).unwrap_or(Owners::NONE);
        }
    }
}

/// Who is who: per declared user, the live user it is (`None`: to be created).
struct Matching {
    claims: Vec<Option<Claim>>,
    /// The live users some declared user is (never deleted).
    claimed: Owners,
    notices: Vec<Notice>,
}

/// Matches declared users to live users: by `id` first, then by `renamed_from` (only when no
/// live user holds the new key), then by key. A live user claimed by an `id` or a rename no
/// longer holds its key for the others: a declared user with that key is created, after the
/// rename. What cannot be decided without guessing is a [`Problem`].
fn match_users(
    desired: &DesiredState,
    live: &LiveState,
    index: &LiveIndex<'_>,
) -> Result<Matching, DiffError> {
    let users = &desired.users;
    let mut claims: Vec<Option<Claim>> = vec![None; users.len()];
    // Live user → the declared user that claimed it.
    let mut owner = Owners::new(live.users.len());
    let mut problems = Vec::new();
    let mut notices = Vec::new();
    let live_ref = |at: usize| LiveRef::of(&live.users[at]);
    let ambiguous =
        |key: &UserKey, wanted: &DesiredUser, candidates: &[usize]| Problem::Ambiguous {
            key: key.clone(),
            origin: wanted.origin.clone(),
            candidates: candidates.iter().map(|&at| live_ref(at)).collect(),
        };

    // 1. By id.
    for (at, wanted) in users.iter().enumerate() {
        let Some(id) = wanted.id() else { continue };
        match index.by_id.get(id.as_str()) {
            None => problems.push(Problem::UnknownId {
                key: wanted.key.clone(),
                id: id.clone(),
                origin: wanted.origin.clone(),
            }),
            Some(&live_at) => match owner.get(&live_at) {
                // Ids are unique among declared users (the manifest reader sees to it), but a
                // pool may answer one user twice.
                Some(first) => problems.push(Problem::Contested {
                    live: live_ref(live_at),
                    first: users[first].origin.clone(),
                    second: wanted.origin.clone(),
                }),
                None => {
                    owner.insert(live_at, at);
                    claims[at] = Some(Claim::Id(live_at));
                }
            },
        }
    }

    // The live users that some `renamed_from` names: they are leaving their key.
    let renaming: HashMap<usize, usize> = users
        .iter()
        .enumerate()
        .filter_map(|(at, wanted)| match index.find(wanted.renamed_from()?) {
            Match::One(live_at) => Some((live_at, at)),
            _ => None,
        })
        .collect();
    // The declared user that takes this live user away from its key, if any (but `except`).
    let leaving = |owner: &Owners, live_at: usize, except: usize| {
        owner
            .get(&live_at)
            .or_else(|| renaming.get(&live_at).copied())
            .filter(|&mover| mover != except)
    };

    // 2. By `renamed_from`.
    for (at, wanted) in users.iter().enumerate() {
        let Some(old) = wanted.renamed_from() else {
            continue;
        };
        let holder = match index.find(&wanted.key) {
            Match::Many(candidates) => {
                problems.push(ambiguous(&wanted.key, wanted, candidates));
                continue;
            }
            // The new key is taken: matched by key, below.
            Match::One(holder) if leaving(&owner, holder, at).is_none() => continue,
            Match::One(holder) => Some(holder),
            Match::None => None,
        };
        match index.find(old) {
            Match::None => notices.push(Notice::RenameNotFound {
                key: wanted.key.clone(),
                renamed_from: old.clone(),
                origin: wanted.origin.clone(),
            }),
            Match::Many(candidates) => problems.push(ambiguous(old, wanted, candidates)),
            Match::One(live_at) => {
                if let Some(first) = owner.get(&live_at) {
                    problems.push(Problem::Contested {
                        live: live_ref(live_at),
                        first: users[first].origin.clone(),
                        second: wanted.origin.clone(),
                    });
                } else if let Some(holder) = holder {
                    problems.push(Problem::KeyHeld {
                        key: wanted.key.clone(),
                        origin: wanted.origin.clone(),
                        holder: live_ref(holder),
                        moving: leaving(&owner, holder, at)
                            .map(|mover| users[mover].origin.clone()),
                    });
                } else {
                    owner.insert(live_at, at);
                    claims[at] = Some(Claim::Renamed(live_at));
                }
            }
        }
    }

    // 3. By key; a key whose holder was claimed above is free for a new user.
    for (at, wanted) in users.iter().enumerate() {
        if claims[at].is_some() || wanted.id().is_some() {
            continue;
        }
        match index.find(&wanted.key) {
            Match::None => {}
            // Reported in step 2 for a user with `renamed_from`.
            Match::Many(_) if wanted.renamed_from().is_some() => {}
            Match::Many(candidates) => problems.push(ambiguous(&wanted.key, wanted, candidates)),
            Match::One(live_at) if owner.contains_key(&live_at) => {}
            Match::One(live_at) => {
                owner.insert(live_at, at);
                claims[at] = Some(Claim::Key(live_at));
            }
        }
    }

    for (at, wanted) in users.iter().enumerate() {
        match claims[at] {
            // Found by key, and the earlier key is a live user that no one else is: which one
            // is the person? Never a guess.
            Some(Claim::Key(current)) => {
                let Some(old) = wanted.renamed_from() else {
                    continue;
                };
                if let Match::One(earlier) = index.find(old)
                    && !owner.contains_key(&earlier)
                {
                    problems.push(Problem::BothExist {
                        key: wanted.key.clone(),
                        renamed_from: old.clone(),
                        origin: wanted.origin.clone(),
                        current: live_ref(current),
                        earlier: live_ref(earlier),
                    });
                }
            }
            // Found by id, it takes its declared key: no other live user may hold it.
            Some(Claim::Id(live_at)) => {
                let holders: Vec<usize> = match index.find(&wanted.key) {
                    Match::None => Vec::new(),
                    Match::One(holder) => vec![holder],
                    Match::Many(holders) => holders.to_vec(),
                };
                for holder in holders.into_iter().filter(|&holder| holder != live_at) {
                    problems.push(Problem::KeyHeld {
                        key: wanted.key.clone(),
                        origin: wanted.origin.clone(),
                        holder: live_ref(holder),
                        moving: leaving(&owner, holder, at)
                            .map(|mover| users[mover].origin.clone()),
                    });
                }
            }
            _ => {}
        }
    }

    if !problems.is_empty() {
        problems.sort_by(|a, b| {
            let (a, b) = (a.origin(), b.origin());
            (&a.file, a.line).cmp(&(&b.file, b.line))
        });
        return Err(DiffError { problems });
    }
    Ok(Matching {
        claims,
        claimed: owner,
        notices,
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

/// The managed fields that differ. An email or phone change clears its verification (Authing
/// does; the emulator does too): a managed `email_verified` / `phone_verified` is written with
/// it, and an unmanaged one is a notice. A photo that is most likely Authing's CDN copy of the declared one
/// is a notice, not a change.
fn compare(wanted: &DesiredUser, have: &LiveUser, notices: &mut Vec<Notice>) -> Vec<FieldChange> {
    let (copies, mut changes): (Vec<FieldChange>, Vec<FieldChange>) =
        differences(&wanted.profile, &have.profile).partition(is_photo_copy);
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
    let email_changes = changes.iter().any(|change| {
        change.field == Field::Email
            && !emails_equal(
                change.after.as_text().unwrap_or_default(),
                have.profile.text(Field::Email).unwrap_or_default(),
            )
    });
    let phone_changes = changes.iter().any(|change| change.field == Field::Phone);
    if email_changes {
        let notice = Notice::EmailUnverified {
            key: wanted.key.clone(),
            origin: wanted.origin.clone(),
        };
        reverify(
            wanted,
            have,
            Field::EmailVerified,
            notice,
            &mut changes,
            notices,
        );
    }
    if phone_changes {
        let notice = Notice::PhoneUnverified {
            key: wanted.key.clone(),
            origin: wanted.origin.clone(),
        };
        reverify(
            wanted,
            have,
            Field::PhoneVerified,
            notice,
            &mut changes,
            notices,
        );
    }
    changes
}

/// An email or phone change clears its verification (`verified`): a managed flag is written
/// with the change (unless it is already among the changes, or stays false), an unmanaged one
/// that was set is `notice`.
fn reverify(
    wanted: &DesiredUser,
    have: &LiveUser,
    verified: Field,
    notice: Notice,
    changes: &mut Vec<FieldChange>,
    notices: &mut Vec<Notice>,
) {
    if changes.iter().any(|change| change.field == verified) {
        return;
    }
    match wanted.profile.flag(verified) {
        // Unverified it stays: nothing to write.
        Some(false) | None if !have.profile.flag(verified).unwrap_or(false) => {}
        Some(flag) => {
            let at = changes
                .iter()
                .position(|change| change.field > verified)
                .unwrap_or(changes.len());
            changes.insert(
                at,
                FieldChange {
                    field: verified,
                    before: have.profile.get(verified).map(FieldRef::to_owned),
                    after: FieldValue::Bool(flag),
                },
            );
        }
        None => notices.push(notice),
    }
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
    index: &LiveIndex<'_>,
    claimed: &Owners,
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
    if index.unkeyed > 0 {
        notices.push(Notice::Unkeyed {
            users: index.unkeyed,
            match_on: desired.match_on,
        });
    }
    let mut deletes: Vec<Delete> = live
        .users
        .iter()
        .enumerate()
        .filter(|(at, _)| !claimed.contains_key(at))
        .filter(|(_, user)| policy.may_delete(user))
        .filter_map(|(at, user)| Some((user, index.key(at)?)))
        .map(|(user, key)| Delete {
            id: user.id.clone(),
            key,
            label: user.label().to_string(),
            origin: policy.origin.clone(),
            fingerprint: Fingerprint::of_user(user),
        })
        .collect();
    deletes.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.id.cmp(&b.id)));
    deletes.into_iter().map(Change::Delete).collect()
}

/// The whitelist changes: the switch, then additions in declaration order, then removals.
/// The fields a pool holds once: a second user cannot register or be given a value another
/// holds.
pub(crate) const UNIQUE: [Field; 3] = [Field::Email, Field::Username, Field::Phone];

/// A unique value as Authing compares it (emails and usernames case-insensitively; phones in any spelling,
/// which is stricter than Authing's exact comparison but names the same person).
pub(crate) fn comparable(field: Field, value: &str) -> String {
    comparable_text(field, value).into_owned()
}

/// [`comparable`], borrowed when the value is already in that form (checking a million live
/// users' values costs no allocation).
fn comparable_text(field: Field, value: &str) -> Cow<'_, str> {
    match field {
        Field::Phone => normalized_phone(value),
        Field::Email | Field::Username => normalized_email(value),
        _ => Cow::Borrowed(value.trim()),
    }
}

/// The unique values (username, email, phone; as [`comparable`]) an update moves away from
/// its user: what it frees for another user to take.
pub(crate) fn freed_values(update: &Update) -> HashSet<(Field, String)> {
    update
        .fields
        .iter()
        .filter(|change| UNIQUE.contains(&change.field))
        .filter_map(|change| {
            let FieldValue::Text(before) = change.before.as_ref()? else {
                return None;
            };
            let before = comparable(change.field, before);
            let after = change
                .after
                .as_text()
                .map(|after| comparable(change.field, after))
                .unwrap_or_default();
            (!before.is_empty() && before != after).then_some((change.field, before))
        })
        .collect()
}

/// The unique values a creation or an update writes (as [`comparable`]).
pub(crate) fn taken_values(change: &Change) -> Vec<(Field, String)> {
    match change {
        Change::Create(create) => created_values(create),
        Change::Update(update) => updated_values(update),
        _ => Vec::new(),
    }
}

/// The unique values a new user declares (as [`comparable`]).
pub(crate) fn created_values(create: &Create) -> Vec<(Field, String)> {
    UNIQUE
        .into_iter()
        .filter_map(|field| {
            let value = create.profile.text(field)?;
            (!value.trim().is_empty()).then(|| (field, comparable(field, value)))
        })
        .collect()
}

/// The unique values an update writes (as [`comparable`]).
pub(crate) fn updated_values(update: &Update) -> Vec<(Field, String)> {
    update
        .fields
        .iter()
        .filter(|change| UNIQUE.contains(&change.field))
        .filter_map(|change| {
            let value = change.after.as_text()?;
            (!value.trim().is_empty()).then(|| (change.field, comparable(change.field, value)))
        })
        .collect()
}

/// A unique value a creation or an update writes: (field, comparable value, as declared, the
/// user it is for (`None`: a new user), key, origin).
type Wanted<'a> = (
    Field,
    String,
    &'a str,
    Option<&'a UserId>,
    &'a UserKey,
    &'a Origin,
);

/// Creations and updates that would take a username, email or phone another live user holds.
/// The `match_on` key of a creation is not checked here: a creation's key is free, or freed by
/// a rename that runs first.
fn held_values(
    match_on: MatchOn,
    live: &LiveState,
    creates: &[Change],
    updates: &[Change],
    deletes: &[Change],
) -> Vec<Problem> {
    let mut wanted: Vec<Wanted<'_>> = Vec::new();
    for change in creates {
        if let Change::Create(create) = change {
            for field in UNIQUE
                .into_iter()
                .filter(|field| *field != match_on.field())
            {
                if let Some(value) = create.profile.text(field).filter(|v| !v.trim().is_empty()) {
                    wanted.push((
                        field,
                        comparable(field, value),
                        value,
                        None,
                        &create.key,
                        &create.origin,
                    ));
                }
            }
        }
    }
    for change in updates {
        if let Change::Update(update) = change {
            for change in &update.fields {
                if UNIQUE.contains(&change.field)
                    && change.field != match_on.field()
                    && let FieldValue::Text(value) = &change.after
                    && !value.trim().is_empty()
                {
                    wanted.push((
                        change.field,
                        comparable(change.field, value),
                        value,
                        Some(&update.id),
                        &update.key,
                        &update.origin,
                    ));
                }
            }
        }
    }
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let mut first_taker: HashMap<(Field, &str), (&UserKey, &Origin)> = HashMap::new();
    for (field, value, spelling, _, key, origin) in &wanted {
        match first_taker.get(&(*field, value.as_str())) {
            Some((first_key, first)) if *first_key != *key => {
                problems.push(Problem::DeclaredTwice {
                    field: *field,
                    value: spelling.to_string(),
                    first: (*first).clone(),
                    second: (*origin).clone(),
                })
            }
            Some(_) => {}
            None => {
                first_taker.insert((*field, value.as_str()), (*key, *origin));
            }
        }
    }
    let taken: HashSet<(Field, String)> = wanted
        .iter()
        .map(|(field, value, ..)| (*field, value.clone()))
        .collect();
    let looked_for: hashbrown::HashSet<(Field, &str)> = wanted
        .iter()
        .map(|(field, value, ..)| (*field, value.as_str()))
        .collect();
    let mut holders: HashMap<(Field, String), Vec<&LiveUser>> = HashMap::new();
    for user in &live.users {
        for field in UNIQUE {
            if let Some(value) = user.profile.text(field).filter(|v| !v.trim().is_empty()) {
                let value = comparable_text(field, value);
                if looked_for.contains(&(field, &*value)) {
                    holders
                        .entry((field, value.into_owned()))
                        .or_default()
                        .push(user);
                }
            }
        }
    }
    drop(looked_for);
    let deleted: HashSet<&UserId> = deletes
        .iter()
        .filter_map(|change| match change {
            Change::Delete(delete) => Some(&delete.id),
            _ => None,
        })
        .collect();
    let updated: HashSet<&UserId> = updates
        .iter()
        .filter_map(|change| match change {
            Change::Update(update) => Some(&update.id),
            _ => None,
        })
        .collect();
    // Updates that move a unique value away: apply runs them before creations and other
    // updates, so the value is free for whoever takes it (not when the taker moves one too).
    let freeing: HashMap<&UserId, HashSet<(Field, String)>> = updates
        .iter()
        .filter_map(|change| match change {
            Change::Update(update) => {
                let freed = freed_values(update);
                (!freed.is_empty()).then_some((&update.id, freed))
            }
            _ => None,
        })
        .collect();
    for (field, value, spelling, for_user, key, origin) in wanted {
        let Some(users) = holders.get(&(field, value.clone())) else {
            continue;
        };
        let key_value = (field, value.clone());
        // A taker that itself frees a value another change takes runs in the first phase too,
        // alongside the holder: the order between them is not kept (a swap).
        let taker_moves = for_user.is_some_and(|id| {
            freeing
                .get(id)
                .is_some_and(|freed| freed.iter().any(|value| taken.contains(value)))
        });
        for holder in users.iter().filter(|holder| {
            Some(&holder.id) != for_user
                && (taker_moves
                    || !freeing
                        .get(&holder.id)
                        .is_some_and(|freed| freed.contains(&key_value)))
        }) {
            problems.push(Problem::ValueHeld {
                key: key.clone(),
                field,
                value: spelling.to_string(),
                origin: origin.clone(),
                holder: LiveRef::of(holder),
                fate: if deleted.contains(&holder.id) {
                    Some("deletes")
                } else if updated.contains(&holder.id) {
                    Some("updates")
                } else {
                    None
                },
                create: for_user.is_none(),
            });
        }
    }
    problems
}

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
        // Authing compares the stored text: only an entry spelled as the normal form lists a
        // phone. Another spelling of a declared phone is replaced (the normal form added, the
        // spelling removed), and the plan says so.
        let present: HashSet<&str> = have.phones.iter().map(|phone| phone.raw.as_str()).collect();
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
            .filter(|phone| !declared.contains(phone.raw.as_str()))
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
/// Whitelist entries of declared phones in another spelling, which the plan replaces.
fn whitelist_spellings(desired: &DesiredState, live: &LiveState) -> Vec<Notice> {
    let (Some(phones), Some(have)) = (
        desired
            .whitelist
            .as_ref()
            .and_then(|wanted| wanted.phones.as_ref()),
        &live.whitelist,
    ) else {
        return Vec::new();
    };
    let declared: HashSet<&str> = phones.iter().map(|(phone, _)| phone.as_str()).collect();
    have.phones
        .iter()
        .filter(|phone| {
            phone.raw != phone.normalized && declared.contains(phone.normalized.as_str())
        })
        .map(|phone| Notice::WhitelistSpelling {
            phone: phone.normalized.clone(),
            stored: phone.raw.clone(),
            managed: true,
        })
        .collect()
}

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
        // Authing compares the stored text: only the normal form lists a phone.
        None => have.phones.iter().map(|phone| phone.raw.clone()).collect(),
    };
    let mut spelled: HashSet<&str> = HashSet::new();
    creates
        .iter()
        .filter_map(|change| match change {
            Change::Create(create) => {
                let phone = create.profile.text(Field::Phone)?;
                let normal = normalize_phone(phone);
                if listed.contains(&normal) {
                    return None;
                }
                match have.phones.iter().find(|entry| entry.normalized == normal) {
                    // Listed, but in a spelling Authing will not match: said once per entry.
                    Some(entry) if wanted.and_then(|wanted| wanted.phones.as_ref()).is_none() => {
                        spelled
                            .insert(entry.raw.as_str())
                            .then(|| Notice::WhitelistSpelling {
                                phone: normal,
                                stored: entry.raw.clone(),
                                managed: false,
                            })
                    }
                    _ => Some(Notice::PhoneNotWhitelisted {
                        key: create.key.clone(),
                        phone: phone.to_string(),
                        origin: create.origin.clone(),
                    }),
                }
            }
            _ => None,
        })
        .collect()
}

/// Live users by key (and by id, when some declared user has one), without a copy of a million
/// keys: the table holds positions, hashed and compared by each live user's key as
/// [`UserKey::text_of`] borrows it from the profile.
struct LiveIndex<'a> {
    users: &'a [LiveUser],
    match_on: MatchOn,
    hasher: hashbrown::DefaultHashBuilder,
    /// Live users whose key no other live user holds, by position.
    unique: HashTable<u32>,
    /// Keys held by more than one live user (rare: an owned key each).
    shared: HashMap<UserKey, Vec<usize>>,
    /// How many live users have no key under `match_on`.
    unkeyed: usize,
    /// Live users by id; empty unless asked for (a million-user pool is not indexed twice
    /// for nothing).
    by_id: HashMap<&'a str, usize>,
}

enum Match<'a> {
    None,
    One(usize),
    Many(&'a [usize]),
}

impl<'a> LiveIndex<'a> {
    fn new(users: &'a [LiveUser], match_on: MatchOn, by_id: bool) -> Self {
        let hasher = hashbrown::DefaultHashBuilder::default();
        let mut unique: HashTable<u32> = HashTable::with_capacity(users.len());
        let mut shared: HashMap<UserKey, Vec<usize>> = HashMap::new();
        let mut unkeyed = 0;
        let text = |at: usize| UserKey::text_of(&users[at].profile, match_on);
        for (index, user) in users.iter().enumerate() {
            let Some(key) = UserKey::text_of(&user.profile, match_on) else {
                unkeyed += 1;
                continue;
            };
            if let Some(others) = shared.get_mut(&*key) {
                others.push(index);
                continue;
            }
            let hash = hasher.hash_one(&*key);
            let same = |at: &u32| text(*at as usize).as_deref() == Some(&*key);
            match unique.find_entry(hash, same) {
                Ok(first) => {
                    let (first, _) = first.remove();
                    shared.insert(UserKey::from_text(key), vec![first as usize, index]);
                }
                Err(_) => {
                    unique.insert_unique(hash, position(index), |at| {
                        text(*at as usize).map_or(0, |key| hasher.hash_one(&*key))
                    });
                }
            }
        }
        let by_id = if by_id {
            users
                .iter()
                .enumerate()
                .map(|(index, user)| (user.id.as_str(), index))
                .collect()
        } else {
            HashMap::new()
        };
        Self {
            users,
            match_on,
            hasher,
            unique,
            shared,
            unkeyed,
            by_id,
        }
    }

    /// The key of the live user at `at`, as [`UserKey::of`] makes it.
    fn key(&self, at: usize) -> Option<UserKey> {
        UserKey::of(&self.users[at].profile, self.match_on)
    }

    fn find(&self, key: &UserKey) -> Match<'_> {
        let wanted = key.as_str();
        let hash = self.hasher.hash_one(wanted);
        let found = self.unique.find(hash, |at| {
            UserKey::text_of(&self.users[*at as usize].profile, self.match_on).as_deref()
                == Some(wanted)
        });
        if let Some(&at) = found {
            return Match::One(at as usize);
        }
        match self.shared.get(key) {
            Some(indexes) => Match::Many(indexes),
            None => Match::None,
        }
    }
}

/// A live user's position as the index keeps it: four bytes. A pool of more than four billion
/// users cannot be read into memory anyway.
fn position(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
