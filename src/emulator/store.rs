//! The pool in memory: users in a stable insertion order (an `IndexMap` keyed by `_id`), indexes
//! on case-folded email, username and phone, MFA records, the phone whitelist and its switch, and
//! the mailbox of emails that would have been sent. The only way to change it is
//! [`Store::apply`] with an [`Event`].

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::crypto::PasswordHash;
use super::event::Event;
use super::generate;

/// One user. The `_id` is the key it is stored under.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub phone_verified: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocked: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordHash>,
    pub signed_up: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login: Option<i64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub logins_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expired_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// The rarely set profile fields, allocated only when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Box<Profile>>,
    /// What v3 and `createUser` add, allocated only when one is set (most users have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Box<Extras>>,
}

/// The rarely set fields v3 (and v1's `createUser`) add to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Extras {
    /// v3's `status` when it is none of `Activated` and `Suspended` (which `blocked` says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// v3's `externalId`, unique in the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The country code a v3 client gave with the phone (`+86`); `phone` holds the number as v1
    /// sees it: national for `+86` or no code, `+<code><number>` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_country_code: Option<String>,
    /// Made by the pool's owner (`createUser`, v3 `create-user`) rather than by `register`.
    #[serde(skip_serializing_if = "is_false")]
    pub admin_created: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Declares the profile fields once: the [`Profile`] struct (serialised camelCase in the state
/// file), the [`ProfileField`] names, and each field's name on the v3 wire (`UserDto`), where it
/// has one. The v1 names are the camelCase field names of the GraphQL types in `schema`.
macro_rules! profile_fields {
    ($($field:ident / $variant:ident => $v3:expr,)*) => {
        /// The OIDC-style profile and provenance fields of a user (all optional strings).
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub struct Profile {
            $(
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<String>,
            )*
        }

        /// Names one [`Profile`] field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProfileField {
            $($variant,)*
        }

        impl ProfileField {
            /// Every profile field, in declaration order.
            pub const ALL: &'static [ProfileField] = &[$(ProfileField::$variant,)*];

            /// The field's name in v3's `UserDto`, if v3 has it.
            pub fn v3_name(self) -> Option<&'static str> {
                match self {
                    $(ProfileField::$variant => $v3,)*
                }
            }
        }

        impl Profile {
            /// No field set.
            pub const EMPTY: Profile = Profile { $($field: None,)* };

            pub fn get(&self, field: ProfileField) -> Option<&str> {
                match field {
                    $(ProfileField::$variant => self.$field.as_deref(),)*
                }
            }

            pub fn field_mut(&mut self, field: ProfileField) -> &mut Option<String> {
                match field {
                    $(ProfileField::$variant => &mut self.$field,)*
                }
            }
        }
    };
}

profile_fields! {
    unionid / Unionid => None,
    openid / Openid => None,
    oauth / Oauth => None,
    browser / Browser => Some("browser"),
    device / Device => Some("device"),
    name / Name => Some("name"),
    given_name / GivenName => Some("givenName"),
    family_name / FamilyName => Some("familyName"),
    middle_name / MiddleName => Some("middleName"),
    profile / Profile => Some("profile"),
    preferred_username / PreferredUsername => Some("preferredUsername"),
    website / Website => Some("website"),
    gender / Gender => Some("gender"),
    birthdate / Birthdate => Some("birthdate"),
    zoneinfo / Zoneinfo => Some("zoneinfo"),
    locale / Locale => Some("locale"),
    address / Address => Some("address"),
    formatted / Formatted => Some("formatted"),
    street_address / StreetAddress => Some("streetAddress"),
    // v1's `locality` is v3's `city`: the same place, two names.
    locality / Locality => Some("city"),
    region / Region => Some("region"),
    postal_code / PostalCode => Some("postalCode"),
    country / Country => Some("country"),
    // v3 only: `UserDto.province` has no v1 twin.
    province / Province => Some("province"),
}

impl Profile {
    fn is_empty(&self) -> bool {
        ProfileField::ALL
            .iter()
            .all(|field| self.get(*field).is_none())
    }
}

impl UserRecord {
    /// The profile, or an empty one.
    pub fn profile(&self) -> &Profile {
        static EMPTY: Profile = Profile::EMPTY;
        self.profile.as_deref().unwrap_or(&EMPTY)
    }

    /// The profile for writing, allocated on first use.
    pub fn profile_mut(&mut self) -> &mut Profile {
        self.profile.get_or_insert_with(Box::default)
    }

    /// Drops an allocated profile that has no field left.
    pub fn shrink_profile(&mut self) {
        if self.profile.as_deref().is_some_and(Profile::is_empty) {
            self.profile = None;
        }
    }

    /// The extras, or none.
    pub fn extras(&self) -> &Extras {
        static NONE: Extras = Extras {
            status: None,
            external_id: None,
            phone_country_code: None,
            admin_created: false,
        };
        self.extras.as_deref().unwrap_or(&NONE)
    }

    /// Changes the extras, allocating them on first use and dropping them when empty again.
    fn change_extras(&mut self, change: impl FnOnce(&mut Extras)) {
        change(self.extras.get_or_insert_with(Box::default));
        if self
            .extras
            .as_deref()
            .is_some_and(|extras| *extras == Extras::default())
        {
            self.extras = None;
        }
    }

    pub fn external_id(&self) -> Option<&str> {
        self.extras().external_id.as_deref()
    }

    pub fn set_external_id(&mut self, external_id: Option<String>) {
        self.change_extras(|extras| extras.external_id = external_id);
    }

    pub fn phone_country_code(&self) -> Option<&str> {
        self.extras().phone_country_code.as_deref()
    }

    pub fn set_phone_country_code(&mut self, code: Option<String>) {
        self.change_extras(|extras| extras.phone_country_code = code);
    }

    pub fn admin_created(&self) -> bool {
        self.extras().admin_created
    }

    pub fn set_admin_created(&mut self, admin_created: bool) {
        self.change_extras(|extras| extras.admin_created = admin_created);
    }

    /// The v3 `status`: the one stored, else `Suspended` for a blocked user and `Activated`.
    pub fn status(&self) -> &str {
        match &self.extras().status {
            Some(status) => status,
            None if self.blocked => STATUS_SUSPENDED,
            None => STATUS_ACTIVATED,
        }
    }

    /// Sets the v3 `status`; `blocked` follows (every status but `Activated` blocks).
    pub fn set_status(&mut self, status: &str) {
        self.blocked = status != STATUS_ACTIVATED;
        let kept = match status {
            STATUS_ACTIVATED | STATUS_SUSPENDED => None,
            other => Some(other.to_string()),
        };
        self.change_extras(|extras| extras.status = kept);
    }

    /// Sets v1's `blocked`; the v3 status becomes `Suspended` or `Activated`.
    pub fn set_blocked(&mut self, blocked: bool) {
        self.blocked = blocked;
        self.change_extras(|extras| extras.status = None);
    }
}

/// The v3 status of a user who is not blocked.
pub const STATUS_ACTIVATED: &str = "Activated";
/// The v3 status of a blocked user (v1 `blocked: true`), unless v3 set another.
pub const STATUS_SUSPENDED: &str = "Suspended";

/// A user's MFA record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaRecord {
    pub id: String,
    pub user_id: String,
    pub user_pool_id: String,
    pub enable: bool,
    pub share_key: String,
}

/// One phone on the registration whitelist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhitelistEntry {
    pub phone: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The whitelist switch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhitelistState {
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An email the emulator would have sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRecord {
    pub kind: String,
    pub email: String,
    pub at: i64,
}

/// The whole pool.
#[derive(Debug, Default)]
pub struct Store {
    users: IndexMap<String, UserRecord>,
    by_email: HashMap<String, String>,
    by_username: HashMap<String, String>,
    by_phone: HashMap<String, String>,
    by_external_id: HashMap<String, String>,
    mfa: HashMap<String, MfaRecord>,
    mfa_ids: HashMap<String, String>,
    whitelist: IndexMap<String, WhitelistEntry>,
    whitelist_state: WhitelistState,
    mailbox: Vec<MailRecord>,
}

/// The store's contents, as the state file holds them.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreParts {
    pub users: IndexMap<String, UserRecord>,
    pub mfa: Vec<MfaRecord>,
    pub whitelist: Vec<WhitelistEntry>,
    pub whitelist_state: WhitelistState,
    pub mailbox: Vec<MailRecord>,
}

/// Emails and usernames are compared case-insensitively.
pub fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

impl Store {
    pub fn from_parts(parts: StoreParts) -> Self {
        let mut store = Store {
            users: parts.users,
            whitelist_state: parts.whitelist_state,
            mailbox: parts.mailbox,
            ..Store::default()
        };
        store.by_email.reserve(store.users.len());
        store.by_username.reserve(store.users.len());
        let mut indexes = Indexes {
            by_email: &mut store.by_email,
            by_username: &mut store.by_username,
            by_phone: &mut store.by_phone,
            by_external_id: &mut store.by_external_id,
        };
        for (id, user) in &store.users {
            index_user(&mut indexes, id, user);
        }
        for mfa in parts.mfa {
            store.put_mfa(mfa);
        }
        for entry in parts.whitelist {
            store.whitelist.insert(entry.phone.clone(), entry);
        }
        store
    }

    /// The contents, borrowed, for a snapshot.
    pub fn parts(&self) -> StorePartsRef<'_> {
        StorePartsRef {
            users: &self.users,
            mfa: self.mfa.values().collect(),
            whitelist: self.whitelist.values().collect(),
            whitelist_state: &self.whitelist_state,
            mailbox: &self.mailbox,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.whitelist.is_empty()
            && self.mfa.is_empty()
            && self.mailbox.is_empty()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn user(&self, id: &str) -> Option<&UserRecord> {
        self.users.get(id)
    }

    /// Users `start..start + count` in creation order.
    pub fn page(&self, start: usize, count: usize) -> impl Iterator<Item = (&String, &UserRecord)> {
        let end = start.saturating_add(count).min(self.users.len());
        let start = start.min(end);
        self.users.as_slice()[start..end].iter()
    }

    pub fn id_by_email(&self, email: &str) -> Option<&String> {
        self.by_email.get(&fold(email))
    }

    pub fn id_by_username(&self, username: &str) -> Option<&String> {
        self.by_username.get(&fold(username))
    }

    pub fn id_by_phone(&self, phone: &str) -> Option<&String> {
        self.by_phone.get(phone.trim())
    }

    /// A user with its position in creation order and its stored id.
    pub fn user_full(&self, id: &str) -> Option<(usize, &String, &UserRecord)> {
        self.users.get_full(id)
    }

    pub fn id_by_external_id(&self, external_id: &str) -> Option<&String> {
        self.by_external_id.get(external_id)
    }

    /// Every user in creation order.
    pub fn users(&self) -> impl DoubleEndedIterator<Item = (&String, &UserRecord)> {
        self.users.iter()
    }

    pub fn mfa_of(&self, user_id: &str) -> Option<&MfaRecord> {
        self.mfa.get(user_id)
    }

    pub fn mfa_by_id(&self, mfa_id: &str) -> Option<&MfaRecord> {
        self.mfa_ids.get(mfa_id).and_then(|user| self.mfa.get(user))
    }

    pub fn whitelist(&self) -> impl Iterator<Item = &WhitelistEntry> {
        self.whitelist.values()
    }

    pub fn whitelist_entry(&self, phone: &str) -> Option<&WhitelistEntry> {
        self.whitelist.get(phone)
    }

    pub fn whitelist_state(&self) -> &WhitelistState {
        &self.whitelist_state
    }

    pub fn mailbox(&self) -> &[MailRecord] {
        &self.mailbox
    }

    /// Applies one change. Events are applied as recorded: no checks here, the resolvers made
    /// them before the event was written.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Generate { count } => {
                self.users.reserve(*count as usize);
                self.by_email.reserve(*count as usize);
                self.by_username.reserve(*count as usize);
                for i in 1..=*count {
                    let (id, user) = generate::user(i);
                    self.insert_user(id, user);
                }
            }
            Event::GeneratePhones { count } => {
                self.whitelist.reserve(*count as usize);
                for i in 1..=*count {
                    let entry = generate::phone(i);
                    self.whitelist.insert(entry.phone.clone(), entry);
                }
            }
            Event::PutUser { id, user } => {
                self.unindex(id);
                self.insert_user(id.clone(), (**user).clone());
            }
            Event::RemoveUsers { ids } => self.remove_users(ids),
            Event::PutMfa { mfa } => self.put_mfa(mfa.clone()),
            Event::PutWhitelistEntry { entry } => {
                self.whitelist.insert(entry.phone.clone(), entry.clone());
            }
            Event::RemoveWhitelistEntry { phone } => {
                self.whitelist.shift_remove(phone);
            }
            Event::SetWhitelistState { state } => self.whitelist_state = state.clone(),
            Event::Mail { mail } => self.mailbox.push(mail.clone()),
        }
    }

    fn indexes(&mut self) -> Indexes<'_> {
        Indexes {
            by_email: &mut self.by_email,
            by_username: &mut self.by_username,
            by_phone: &mut self.by_phone,
            by_external_id: &mut self.by_external_id,
        }
    }

    fn insert_user(&mut self, id: String, user: UserRecord) {
        index_user(&mut self.indexes(), &id, &user);
        self.users.insert(id, user);
    }

    /// Drops the index entries that point at this user (the record itself stays).
    fn unindex(&mut self, id: &str) {
        let Some(user) = self.users.get(id) else {
            return;
        };
        if let Some(email) = &user.email {
            let key = fold(email);
            if self.by_email.get(&key).is_some_and(|owner| owner == id) {
                self.by_email.remove(&key);
            }
        }
        if let Some(username) = &user.username {
            let key = fold(username);
            if self.by_username.get(&key).is_some_and(|owner| owner == id) {
                self.by_username.remove(&key);
            }
        }
        if let Some(phone) = &user.phone {
            let key = phone.trim();
            if self.by_phone.get(key).is_some_and(|owner| owner == id) {
                self.by_phone.remove(key);
            }
        }
        if let Some(external_id) = user.external_id()
            && self
                .by_external_id
                .get(external_id)
                .is_some_and(|owner| owner == id)
        {
            self.by_external_id.remove(external_id);
        }
    }

    /// One pass over the pool however many ids there are.
    fn remove_users(&mut self, ids: &[String]) {
        let present: Vec<&String> = ids
            .iter()
            .filter(|id| self.users.contains_key(*id))
            .collect();
        if present.is_empty() {
            return;
        }
        let doomed: std::collections::HashSet<String> = present.into_iter().cloned().collect();
        for id in &doomed {
            self.unindex(id);
            if let Some(mfa) = self.mfa.remove(id) {
                self.mfa_ids.remove(&mfa.id);
            }
        }
        self.users.retain(|id, _| !doomed.contains(id));
    }

    fn put_mfa(&mut self, mfa: MfaRecord) {
        if let Some(old) = self.mfa.get(&mfa.user_id) {
            self.mfa_ids.remove(&old.id);
        }
        self.mfa_ids.insert(mfa.id.clone(), mfa.user_id.clone());
        self.mfa.insert(mfa.user_id.clone(), mfa);
    }
}

/// The store's lookup tables, borrowed together.
struct Indexes<'a> {
    by_email: &'a mut HashMap<String, String>,
    by_username: &'a mut HashMap<String, String>,
    by_phone: &'a mut HashMap<String, String>,
    by_external_id: &'a mut HashMap<String, String>,
}

/// Adds a user's email, username, phone and external id to the indexes.
fn index_user(indexes: &mut Indexes<'_>, id: &str, user: &UserRecord) {
    if let Some(email) = &user.email {
        indexes.by_email.insert(fold(email), id.to_string());
    }
    if let Some(username) = &user.username {
        indexes.by_username.insert(fold(username), id.to_string());
    }
    if let Some(phone) = &user.phone {
        indexes
            .by_phone
            .insert(phone.trim().to_string(), id.to_string());
    }
    if let Some(external_id) = user.external_id() {
        indexes
            .by_external_id
            .insert(external_id.to_string(), id.to_string());
    }
}

/// [`StoreParts`] borrowed from a live store, for writing a snapshot without copying it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorePartsRef<'a> {
    pub users: &'a IndexMap<String, UserRecord>,
    pub mfa: Vec<&'a MfaRecord>,
    pub whitelist: Vec<&'a WhitelistEntry>,
    pub whitelist_state: &'a WhitelistState,
    pub mailbox: &'a [MailRecord],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(email: &str, username: &str) -> Box<UserRecord> {
        Box::new(UserRecord {
            email: Some(email.into()),
            username: Some(username.into()),
            ..UserRecord::default()
        })
    }

    #[test]
    fn indexes_follow_puts_and_removals() {
        let mut store = Store::default();
        store.apply(&Event::PutUser {
            id: "a".into(),
            user: user("Alice@Example.com", "Alice"),
        });
        assert_eq!(
            store.id_by_email("alice@example.COM").map(String::as_str),
            Some("a")
        );
        assert_eq!(store.id_by_username("ALICE").map(String::as_str), Some("a"));

        store.apply(&Event::PutUser {
            id: "a".into(),
            user: user("alice2@example.com", "alice"),
        });
        assert!(store.id_by_email("alice@example.com").is_none());
        assert_eq!(
            store.id_by_email("alice2@example.com").map(String::as_str),
            Some("a")
        );
        assert_eq!(store.user_count(), 1);

        store.apply(&Event::PutMfa {
            mfa: MfaRecord {
                id: "m".into(),
                user_id: "a".into(),
                user_pool_id: "p".into(),
                enable: true,
                share_key: "K".into(),
            },
        });
        store.apply(&Event::RemoveUsers {
            ids: vec!["a".into(), "missing".into()],
        });
        assert_eq!(store.user_count(), 0);
        assert!(store.id_by_email("alice2@example.com").is_none());
        assert!(store.mfa_of("a").is_none());
        assert!(store.mfa_by_id("m").is_none());
    }

    #[test]
    fn order_is_creation_order_and_survives_removal() {
        let mut store = Store::default();
        store.apply(&Event::Generate { count: 5 });
        store.apply(&Event::RemoveUsers {
            ids: vec![generate::user_id(2), generate::user_id(4)],
        });
        let emails: Vec<String> = store
            .page(0, 10)
            .filter_map(|(_, user)| user.email.clone())
            .collect();
        assert_eq!(
            emails,
            [
                "user1@example.com",
                "user3@example.com",
                "user5@example.com"
            ]
        );
        assert_eq!(store.page(2, 10).count(), 1);
        assert_eq!(store.page(7, 10).count(), 0);
    }
}
