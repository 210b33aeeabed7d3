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
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// The OIDC-style profile and provenance fields of a user (all optional strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Profile {
    pub unionid: Option<String>,
    pub openid: Option<String>,
    pub oauth: Option<String>,
    pub browser: Option<String>,
    pub device: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub profile: Option<String>,
    pub preferred_username: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub zoneinfo: Option<String>,
    pub locale: Option<String>,
    pub address: Option<String>,
    pub formatted: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// Names one [`Profile`] field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    Unionid,
    Openid,
    Oauth,
    Browser,
    Device,
    Name,
    GivenName,
    FamilyName,
    MiddleName,
    Profile,
    PreferredUsername,
    Website,
    Gender,
    Birthdate,
    Zoneinfo,
    Locale,
    Address,
    Formatted,
    StreetAddress,
    Locality,
    Region,
    PostalCode,
    Country,
}

impl Profile {
    pub fn field_mut(&mut self, field: ProfileField) -> &mut Option<String> {
        match field {
            ProfileField::Unionid => &mut self.unionid,
            ProfileField::Openid => &mut self.openid,
            ProfileField::Oauth => &mut self.oauth,
            ProfileField::Browser => &mut self.browser,
            ProfileField::Device => &mut self.device,
            ProfileField::Name => &mut self.name,
            ProfileField::GivenName => &mut self.given_name,
            ProfileField::FamilyName => &mut self.family_name,
            ProfileField::MiddleName => &mut self.middle_name,
            ProfileField::Profile => &mut self.profile,
            ProfileField::PreferredUsername => &mut self.preferred_username,
            ProfileField::Website => &mut self.website,
            ProfileField::Gender => &mut self.gender,
            ProfileField::Birthdate => &mut self.birthdate,
            ProfileField::Zoneinfo => &mut self.zoneinfo,
            ProfileField::Locale => &mut self.locale,
            ProfileField::Address => &mut self.address,
            ProfileField::Formatted => &mut self.formatted,
            ProfileField::StreetAddress => &mut self.street_address,
            ProfileField::Locality => &mut self.locality,
            ProfileField::Region => &mut self.region,
            ProfileField::PostalCode => &mut self.postal_code,
            ProfileField::Country => &mut self.country,
        }
    }
}

impl UserRecord {
    /// The profile, or an empty one.
    pub fn profile(&self) -> &Profile {
        static EMPTY: Profile = Profile {
            unionid: None,
            openid: None,
            oauth: None,
            browser: None,
            device: None,
            name: None,
            given_name: None,
            family_name: None,
            middle_name: None,
            profile: None,
            preferred_username: None,
            website: None,
            gender: None,
            birthdate: None,
            zoneinfo: None,
            locale: None,
            address: None,
            formatted: None,
            street_address: None,
            locality: None,
            region: None,
            postal_code: None,
            country: None,
        };
        self.profile.as_deref().unwrap_or(&EMPTY)
    }

    /// The profile for writing, allocated on first use.
    pub fn profile_mut(&mut self) -> &mut Profile {
        self.profile.get_or_insert_with(Box::default)
    }
}

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
        for (id, user) in &store.users {
            index_user(
                &mut store.by_email,
                &mut store.by_username,
                &mut store.by_phone,
                id,
                user,
            );
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

    fn insert_user(&mut self, id: String, user: UserRecord) {
        index_user(
            &mut self.by_email,
            &mut self.by_username,
            &mut self.by_phone,
            &id,
            &user,
        );
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

/// Adds a user's email, username and phone to the indexes.
fn index_user(
    by_email: &mut HashMap<String, String>,
    by_username: &mut HashMap<String, String>,
    by_phone: &mut HashMap<String, String>,
    id: &str,
    user: &UserRecord,
) {
    if let Some(email) = &user.email {
        by_email.insert(fold(email), id.to_string());
    }
    if let Some(username) = &user.username {
        by_username.insert(fold(username), id.to_string());
    }
    if let Some(phone) = &user.phone {
        by_phone.insert(phone.trim().to_string(), id.to_string());
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
