//! The live pool as a desired state that declares exactly what the pool holds, for `export`:
//! users sorted by key, every field of the field table the pool holds a value for (booleans
//! always, `false` when the pool reports none), MFA and the whitelist when asked for, the user's
//! id with `with_ids`. It plans straight back to "No changes.".
//!
//! A value a manifest could not hold (a malformed email or phone) is left unmanaged and counted
//! in [`Omissions`], so the export always validates; a user without a key, or sharing its key
//! with another, cannot be declared and is left out (counted too). The whitelist is declared
//! whole or not at all: a phone left out of it would be removed.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::model::{
    DesiredState, DesiredUser, DesiredWhitelist, Email, Field, FieldRef, Identity, LiveState,
    MatchOn, Normalizer, Origin, Phone, ProfileBuilder, PruneSettings, check_date,
};

/// What to declare besides the users' profiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    pub match_on: MatchOn,
    /// Each user's MFA switch (the live state must have read them).
    pub with_mfa: bool,
    /// The whitelist and its switch (the live state must have read them).
    pub with_whitelist: bool,
    /// Each user's `id`, so that a later key change keeps the user.
    pub with_ids: bool,
}

/// What could not be declared, to be said to whoever exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Omissions {
    /// Users left out: they share a key with another user.
    pub shared_keys: usize,
    /// Users left out: they have no value for the key.
    pub unkeyed: usize,
    /// The users (key, or id where the key is the bad email) whose email a manifest cannot hold
    /// (the value was left unmanaged; under `match_on: email`, the user was left out).
    pub bad_emails: Vec<String>,
    /// The users (key) whose phone a manifest cannot hold (left unmanaged).
    pub bad_phones: Vec<String>,
    /// The users (field, key) with a date field a manifest cannot hold (not a calendar date, as
    /// an older pool may hold free text; left unmanaged).
    pub bad_dates: Vec<(Field, String)>,
    /// The whitelist holds a phone a manifest cannot hold: only its switch was declared.
    pub whitelist_unmanaged: bool,
}

/// The desired state that declares what `live` holds.
pub fn from_live(live: &LiveState, options: ExportOptions) -> (DesiredState, Omissions) {
    let match_on = options.match_on;
    let origin = Origin::new(Arc::from(Path::new("<export>")), 0);
    let mut omissions = Omissions::default();
    let mut users: Vec<DesiredUser> = Vec::with_capacity(live.users.len());
    let mut profile = ProfileBuilder::default();
    'users: for user in &live.users {
        let Some(key) = user.key(match_on) else {
            omissions.unkeyed += 1;
            continue;
        };
        profile.clear();
        for field in Field::ALL {
            match user.profile.get(field) {
                None if field.is_bool() => profile.flag(field, false),
                None => {}
                Some(FieldRef::Bool(value)) => profile.flag(field, value),
                Some(FieldRef::Text(text)) => {
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    match field.normalizer() {
                        Some(Normalizer::Email) if Email::check(text).is_err() => {
                            if field == match_on.field() {
                                omissions
                                    .bad_emails
                                    .push(format!("id {}", user.id.as_str()));
                                continue 'users;
                            }
                            omissions.bad_emails.push(key.as_str().to_string());
                        }
                        Some(Normalizer::Phone) if Phone::parse(text).is_err() => {
                            omissions.bad_phones.push(key.as_str().to_string());
                        }
                        Some(Normalizer::Date) if check_date(text).is_err() => {
                            omissions.bad_dates.push((field, key.as_str().to_string()));
                        }
                        _ => profile.text(field, text),
                    }
                }
            }
        }
        let mut desired = DesiredUser::new(key, profile.build(), origin.clone());
        desired.mfa = options.with_mfa.then(|| user.mfa.unwrap_or(false));
        if options.with_ids {
            desired = desired.with_identity(Identity::Id(user.id.clone()));
        }
        users.push(desired);
    }
    users.sort_by(|a, b| a.key.cmp(&b.key));
    let before = users.len();
    let mut seen = HashSet::new();
    users.retain(|user| seen.insert(user.key.clone()));
    omissions.shared_keys = before - users.len();

    let whitelist = live
        .whitelist
        .as_ref()
        .filter(|_| options.with_whitelist)
        .map(|whitelist| {
            let parsed: Result<Vec<Phone>, _> = whitelist
                .phones
                .iter()
                .map(|phone| Phone::parse(&phone.raw))
                .collect();
            let phones = match parsed {
                Ok(mut phones) => {
                    phones.sort();
                    phones.dedup();
                    Some(
                        phones
                            .into_iter()
                            .map(|phone| (phone, origin.clone()))
                            .collect(),
                    )
                }
                Err(_) => {
                    omissions.whitelist_unmanaged = true;
                    None
                }
            };
            DesiredWhitelist {
                enabled: Some((whitelist.enabled, origin.clone())),
                phones,
            }
        });
    let state = DesiredState {
        match_on,
        users,
        whitelist,
        prune: PruneSettings::default(),
        sources: Vec::new(),
    };
    (state, omissions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LivePhone, LiveUser, LiveWhitelist, Profile, UserId};

    fn live_user(id: &str, profile: Profile) -> LiveUser {
        LiveUser {
            id: UserId::new(id),
            profile,
            mfa: Some(true),
        }
    }

    #[test]
    fn every_field_the_pool_holds_is_declared_and_what_a_manifest_cannot_hold_is_counted() {
        let full: Profile = Field::ALL
            .into_iter()
            .map(|field| {
                let value = match field.normalizer() {
                    None => true.into(),
                    Some(Normalizer::Email) => "Full@Example.com".into(),
                    Some(Normalizer::Phone) => "+86 138 0000 0001".into(),
                    Some(Normalizer::Trim) => format!(" {field} ").into(),
                    Some(Normalizer::Date) => "1990-04-01".into(),
                };
                (field, value)
            })
            .collect();
        let live = LiveState {
            users: vec![
                live_user("u1", full),
                live_user(
                    "u2",
                    Profile::default()
                        .with(Field::Email, "b@example.com")
                        .with(Field::Phone, "not a phone")
                        .with(Field::Nickname, "  "),
                ),
                live_user("u3", Profile::default().with(Field::Email, "not an email")),
                live_user("u4", Profile::default().with(Field::Username, "keyless")),
                live_user("u5", Profile::default().with(Field::Email, "B@example.com")),
            ],
            whitelist: Some(LiveWhitelist {
                enabled: true,
                phones: vec![LivePhone::new("139 0000 0000"), LivePhone::new("x")],
            }),
            ..LiveState::default()
        };
        let options = ExportOptions {
            with_mfa: true,
            with_whitelist: true,
            with_ids: true,
            ..ExportOptions::default()
        };
        let (state, omissions) = from_live(&live, options);
        assert_eq!(
            omissions,
            Omissions {
                shared_keys: 1,
                unkeyed: 1,
                bad_emails: vec!["id u3".into()],
                bad_phones: vec!["b@example.com".into()],
                bad_dates: Vec::new(),
                whitelist_unmanaged: true,
            }
        );
        let keys: Vec<&str> = state.users.iter().map(|user| user.key.as_str()).collect();
        assert_eq!(keys, ["b@example.com", "full@example.com"]);
        let full = &state.users[1];
        assert_eq!(full.id(), Some(&UserId::new("u1")));
        assert_eq!(full.mfa, Some(true));
        for field in Field::ALL {
            let value = full.profile.get(field);
            match field.normalizer() {
                None => assert_eq!(value, Some(FieldRef::Bool(true)), "{field}"),
                Some(Normalizer::Trim) => {
                    assert_eq!(value, Some(FieldRef::Text(field.name())), "{field}")
                }
                Some(_) => assert!(value.is_some(), "{field}"),
            }
        }
        let partial = &state.users[0];
        assert_eq!(partial.profile.text(Field::Phone), None);
        assert_eq!(partial.profile.text(Field::Nickname), None);
        assert_eq!(partial.profile.flag(Field::Blocked), Some(false));
        let whitelist = state.whitelist.as_ref().unwrap();
        assert_eq!(whitelist.phones, None);
        assert_eq!(whitelist.enabled.as_ref().map(|(on, _)| *on), Some(true));
    }
}
