//! The typed plan: a closed set of changes, each with its before/after values, the manifest
//! place it came from and a fingerprint of the live object it touches; notices that are shown
//! but never acted on; and the summary counts.
//!
//! A plan is plain data. The diff engine builds it, renderers show it, the saved-plan file
//! ([`file`]) stores it, and apply executes it. Nothing here decides anything: display-only text
//! (notices) never drives apply.

pub mod file;
pub mod fingerprint;

use serde::{Deserialize, Serialize};

use crate::model::{Field, FieldValue, MatchOn, Origin, Profile, UserId, UserKey};

pub use file::{PlanFile, PlanFileError};
pub use fingerprint::Fingerprint;

/// What a change does, as scripts and summaries name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    MfaEnable,
    MfaDisable,
    WhitelistAdd,
    WhitelistRemove,
    WhitelistSwitch,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::MfaEnable => "mfa_enable",
            Action::MfaDisable => "mfa_disable",
            Action::WhitelistAdd => "whitelist_add",
            Action::WhitelistRemove => "whitelist_remove",
            Action::WhitelistSwitch => "whitelist_switch",
        }
    }
}

/// One field going from `before` (`None`: no value) to `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: Field,
    pub before: Option<FieldValue>,
    pub after: FieldValue,
}

/// Where the password of a new user will come from. A plan never holds the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordPlan {
    /// The environment variable named in the manifest (`${NAME}`).
    Env(String),
    /// Written in the manifest: re-read from that file at apply time.
    Manifest,
    /// None declared: a strong random one, never shown or stored.
    Generated,
}

/// A user to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create {
    pub key: UserKey,
    /// The declared fields (registered, then the ones `register` cannot set are updated).
    pub profile: Profile,
    pub password: PasswordPlan,
    pub origin: Origin,
}

/// Fields of an existing user to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The key the user has once updated.
    pub key: UserKey,
    pub id: UserId,
    pub fields: Vec<FieldChange>,
    /// A rename: the key the user holds now, which the update frees (the key's field is among
    /// `fields`). Apply runs renames before creations, so a new user may take the old key.
    pub renamed_from: Option<UserKey>,
    pub origin: Origin,
    pub fingerprint: Fingerprint,
}

/// A live user to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub id: UserId,
    /// The user's key under `match_on`.
    pub key: UserKey,
    /// Email, else username, else id: how the user is shown.
    pub label: String,
    /// The `prune` declaration that allowed it, when it came from a manifest.
    pub origin: Option<Origin>,
    pub fingerprint: Fingerprint,
}

/// Whom an MFA change is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaTarget {
    Existing {
        id: UserId,
        fingerprint: Fingerprint,
    },
    /// A user this plan creates.
    New,
}

/// MFA switched on or off for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChange {
    pub key: UserKey,
    pub target: MfaTarget,
    pub enable: bool,
    pub origin: Origin,
}

/// A phone added to or removed from the whitelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistPhone {
    /// Added: the normalised phone; removed: the spelling the pool stores (needed to remove it).
    pub phone: String,
    pub origin: Option<Origin>,
}

/// The whitelist switch turned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistSwitch {
    pub from: bool,
    pub to: bool,
    pub origin: Origin,
}

/// One change. The set is closed: apply handles each variant and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create(Create),
    Update(Update),
    Delete(Delete),
    Mfa(MfaChange),
    WhitelistAdd(WhitelistPhone),
    WhitelistRemove(WhitelistPhone),
    WhitelistSwitch(WhitelistSwitch),
}

impl Change {
    pub fn action(&self) -> Action {
        match self {
            Change::Create(_) => Action::Create,
            Change::Update(_) => Action::Update,
            Change::Delete(_) => Action::Delete,
            Change::Mfa(change) if change.enable => Action::MfaEnable,
            Change::Mfa(_) => Action::MfaDisable,
            Change::WhitelistAdd(_) => Action::WhitelistAdd,
            Change::WhitelistRemove(_) => Action::WhitelistRemove,
            Change::WhitelistSwitch(_) => Action::WhitelistSwitch,
        }
    }

    /// Whom or what the change concerns, as shown to people.
    pub fn target(&self) -> &str {
        match self {
            Change::Create(create) => create.key.as_str(),
            Change::Update(update) => update.key.as_str(),
            Change::Delete(delete) => &delete.label,
            Change::Mfa(change) => change.key.as_str(),
            Change::WhitelistAdd(entry) | Change::WhitelistRemove(entry) => &entry.phone,
            Change::WhitelistSwitch(_) => "whitelist",
        }
    }

    /// The live user the change acts on, when it acts on one that exists now (not a
    /// creation, not the MFA switch of a user the plan creates).
    pub fn live_id(&self) -> Option<&UserId> {
        match self {
            Change::Update(update) => Some(&update.id),
            Change::Delete(delete) => Some(&delete.id),
            Change::Mfa(MfaChange {
                target: MfaTarget::Existing { id, .. },
                ..
            }) => Some(id),
            _ => None,
        }
    }

    pub fn origin(&self) -> Option<&Origin> {
        match self {
            Change::Create(create) => Some(&create.origin),
            Change::Update(update) => Some(&update.origin),
            Change::Delete(delete) => delete.origin.as_ref(),
            Change::Mfa(change) => Some(&change.origin),
            Change::WhitelistAdd(entry) | Change::WhitelistRemove(entry) => entry.origin.as_ref(),
            Change::WhitelistSwitch(switch) => Some(&switch.origin),
        }
    }
}

/// Something the plan shows but does not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `renamed_from` names no live user: the user is created under its new key.
    RenameNotFound {
        key: UserKey,
        renamed_from: UserKey,
        origin: Origin,
    },
    /// The user's email changes, which clears its verification, and `email_verified` is not
    /// managed: the address will read as unverified.
    EmailUnverified { key: UserKey, origin: Origin },
    /// The user's phone changes, which clears its verification, and `phone_verified` is not
    /// managed: the number will read as unverified.
    PhoneUnverified { key: UserKey, origin: Origin },
    /// Deletions were not planned because the live state may be incomplete.
    DeletesSuppressed { reason: String },
    /// A user will register with a phone that is not on the whitelist while the whitelist is on:
    /// Authing will refuse the registration.
    PhoneNotWhitelisted {
        key: UserKey,
        phone: String,
        origin: Origin,
    },
    /// The whitelist holds a phone in a spelling other than its normal form (`+86 138-0000-7777`
    /// for `13800007777`). Authing compares the stored text, so a registration with the normal
    /// form is refused. When the manifest manages the phones, the plan adds the normal form and
    /// removes this spelling (`managed`).
    WhitelistSpelling {
        phone: String,
        stored: String,
        managed: bool,
    },
    /// Live users with no value for the `match_on` key: no manifest can declare them, so prune
    /// leaves them alone.
    Unkeyed { users: usize, match_on: MatchOn },
    /// The pool holds a photo on Authing's CDN where the manifest declares an external URL:
    /// most likely the copy Authing made at registration, which no read can tell from another
    /// picture. Not sent again (it would be copied again, every run); see `crate::photo`.
    PhotoCopy {
        key: UserKey,
        declared: String,
        live: String,
        origin: Origin,
    },
}

/// The plan and the facts it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// In review order: deletions, creations, updates, MFA, the whitelist switch, whitelist
    /// additions, whitelist removals.
    pub changes: Vec<Change>,
    pub notices: Vec<Notice>,
    pub match_on: MatchOn,
    /// How many users the pool held when the plan was made (`N%` deletion limits use it).
    pub live_users: usize,
    /// How many phones the whitelist held, when it was read (`N%` limits on removals use it).
    pub live_phones: usize,
    /// The whitelist as it was read, when a whitelist change depends on it.
    pub whitelist_fingerprint: Option<Fingerprint>,
}

/// How many changes of each kind a plan holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub mfa_enable: usize,
    pub mfa_disable: usize,
    pub whitelist_add: usize,
    pub whitelist_remove: usize,
    /// The new switch value, `None` when it does not change.
    pub whitelist_switch: Option<bool>,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }

    /// The number of changes.
    pub fn total(&self) -> usize {
        self.create
            + self.update
            + self.delete
            + self.mfa_enable
            + self.mfa_disable
            + self.whitelist_add
            + self.whitelist_remove
            + usize::from(self.whitelist_switch.is_some())
    }
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change {
                Change::Create(_) => summary.create += 1,
                Change::Update(_) => summary.update += 1,
                Change::Delete(_) => summary.delete += 1,
                Change::Mfa(change) if change.enable => summary.mfa_enable += 1,
                Change::Mfa(_) => summary.mfa_disable += 1,
                Change::WhitelistAdd(_) => summary.whitelist_add += 1,
                Change::WhitelistRemove(_) => summary.whitelist_remove += 1,
                Change::WhitelistSwitch(switch) => summary.whitelist_switch = Some(switch.to),
            }
        }
        summary
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Why deletions were left out of the plan, if they were: the work is then not complete even
    /// when every planned change is applied.
    pub fn deletes_suppressed(&self) -> Option<&str> {
        self.notices.iter().find_map(|notice| match notice {
            Notice::DeletesSuppressed { reason } => Some(reason.as_str()),
            _ => None,
        })
    }

    pub fn deletes(&self) -> impl Iterator<Item = &Delete> {
        self.changes.iter().filter_map(|change| match change {
            Change::Delete(delete) => Some(delete),
            _ => None,
        })
    }
}

/// How the MFA switches a plan compared were known (`--mfa-read-budget`, see `crate::mfa_cache`):
/// read from the pool in this run, or taken from the cache of what the tool last read or wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaReads {
    /// Switches read from the pool (those never seen, those the plan changes, the budget's).
    pub read: usize,
    /// Switches taken from the cache.
    pub from_cache: usize,
    /// When the oldest switch taken from the cache was read or written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_cached_at: Option<String>,
    /// Its age in seconds when the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_cached_age_seconds: Option<u64>,
    /// `--mfa-read-budget`, when one was given (with `refresh`, given but not applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<u64>,
    /// `--refresh`: every managed state was read, whatever the budget.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}
