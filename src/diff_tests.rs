//! Tests of the diff engine, without any I/O: examples, and the properties that hold for any
//! input (diff of a state against itself is empty; applying a plan and diffing again is empty;
//! no delete outside scope, inside protect or without prune).

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::model::{
    DesiredWhitelist, Field, FieldValue, LivePhone, LiveWhitelist, Password, PasswordSource, Phone,
    Profile, PruneSettings,
};
use crate::plan::Action;
use crate::secret::Secret;

fn origin(line: u32) -> Origin {
    Origin::new(Arc::from(Path::new("users.yaml")), line)
}

fn desired_user(email: &str, line: u32) -> DesiredUser {
    DesiredUser {
        key: UserKey::from_email(email),
        profile: Profile {
            email: Some(email.to_string()),
            ..Profile::default()
        },
        mfa: None,
        password: None,
        origin: origin(line),
    }
}

fn live_user(id: &str, email: &str) -> LiveUser {
    LiveUser {
        id: UserId::new(id),
        profile: Profile {
            email: Some(email.to_string()),
            ..Profile::default()
        },
        mfa: None,
    }
}

fn state(users: Vec<DesiredUser>) -> DesiredState {
    DesiredState {
        users,
        ..DesiredState::default()
    }
}

fn live(users: Vec<LiveUser>) -> LiveState {
    LiveState {
        users,
        ..LiveState::default()
    }
}

fn actions(plan: &Plan) -> Vec<(Action, String)> {
    plan.changes
        .iter()
        .map(|change| (change.action(), change.target().to_string()))
        .collect()
}

#[test]
fn a_new_user_is_created_with_its_password_source_and_mfa() {
    let mut alice = desired_user("Alice@Example.com", 3);
    alice.mfa = Some(true);
    alice.password = Some(Password {
        secret: Secret::new("s3cret!"),
        source: PasswordSource::Env("ALICE_PW".into()),
    });
    let plan = diff(&state(vec![alice]), &live(vec![]), &Policy::default()).unwrap();
    assert_eq!(
        actions(&plan),
        [
            (Action::Create, "alice@example.com".into()),
            (Action::MfaEnable, "alice@example.com".into())
        ]
    );
    let Change::Create(create) = &plan.changes[0] else {
        panic!("not a create")
    };
    assert_eq!(create.password, PasswordPlan::Env("ALICE_PW".into()));
    assert_eq!(
        create.profile.email.as_deref(),
        Some("Alice@Example.com"),
        "the declared spelling is written"
    );
    assert_eq!(create.origin, origin(3));
}

#[test]
fn only_managed_fields_that_differ_are_updated() {
    let mut wanted = desired_user("bob@example.com", 7);
    wanted.profile.nickname = Some("Bob".into());
    wanted.profile.company = Some("Example".into());
    wanted.profile.blocked = Some(false);
    let mut have = live_user("u1", "BOB@example.com");
    have.profile.nickname = Some("Bobby".into());
    have.profile.company = Some("Example".into());
    have.profile.photo = Some("https://example.com/bob.png".into());
    let plan = diff(
        &state(vec![wanted]),
        &live(vec![have.clone()]),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(plan.changes.len(), 1);
    let Change::Update(update) = &plan.changes[0] else {
        panic!("not an update")
    };
    assert_eq!(update.id, UserId::new("u1"));
    assert_eq!(
        update.fields,
        [FieldChange {
            field: Field::Nickname,
            before: Some(FieldValue::Text("Bobby".into())),
            after: FieldValue::Text("Bob".into())
        }]
    );
    assert_eq!(update.origin, origin(7));
    assert_eq!(update.fingerprint, Fingerprint::of_user(&have));
}

#[test]
fn a_phone_the_api_cannot_change_is_a_notice_not_a_change() {
    let mut wanted = desired_user("carol@example.com", 2);
    wanted.profile.phone = Some("13900000000".into());
    let mut have = live_user("u1", "carol@example.com");
    have.profile.phone = Some("+86 138 0000 0000".into());
    let plan = diff(&state(vec![wanted]), &live(vec![have]), &Policy::default()).unwrap();
    assert!(plan.changes.is_empty());
    assert!(matches!(
        &plan.notices[..],
        [Notice::Unchangeable {
            field: Field::Phone,
            ..
        }]
    ));
}

#[test]
fn issue_12_a_cdn_copy_of_a_declared_external_photo_is_a_notice_not_an_update() {
    let mut copied = desired_user("copied@example.com", 1);
    copied.profile.photo = Some("https://example.com/copied.png".into());
    let mut changed = desired_user("changed@example.com", 2);
    changed.profile.photo = Some("https://files.authing.co/new.png".into());
    let mut have_copied = live_user("u1", "copied@example.com");
    have_copied.profile.photo =
        Some("https://usercontents.authing.cn/avatar-u1-1582558729878".into());
    let mut have_changed = live_user("u2", "changed@example.com");
    have_changed.profile.photo = Some("https://usercontents.authing.cn/old.png".into());
    let plan = diff(
        &state(vec![copied, changed]),
        &live(vec![have_copied, have_changed]),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(
        actions(&plan),
        [(Action::Update, "changed@example.com".into())],
        "a CDN URL declared on purpose is written"
    );
    assert!(matches!(
        &plan.notices[..],
        [Notice::PhotoCopy { key, declared, live, .. }]
            if key.as_str() == "copied@example.com"
                && declared == "https://example.com/copied.png"
                && live.starts_with("https://usercontents.authing.cn/")
    ));
}

#[test]
fn mfa_is_switched_only_when_it_differs() {
    let mut on = desired_user("on@example.com", 1);
    on.mfa = Some(true);
    let mut off = desired_user("off@example.com", 2);
    off.mfa = Some(false);
    let mut same = desired_user("same@example.com", 3);
    same.mfa = Some(true);
    let mut have_on = live_user("u1", "on@example.com");
    have_on.mfa = Some(false);
    let mut have_off = live_user("u2", "off@example.com");
    have_off.mfa = Some(true);
    let mut have_same = live_user("u3", "same@example.com");
    have_same.mfa = Some(true);
    let plan = diff(
        &state(vec![on, off, same]),
        &live(vec![have_on, have_off, have_same]),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(
        actions(&plan),
        [
            (Action::MfaEnable, "on@example.com".into()),
            (Action::MfaDisable, "off@example.com".into())
        ]
    );
}

#[test]
fn a_key_matching_two_live_users_is_an_error_naming_both() {
    let wanted = desired_user("dup@example.com", 4);
    let users = vec![
        live_user("u1", "dup@example.com"),
        live_user("u2", "DUP@example.com"),
    ];
    let err = diff(&state(vec![wanted]), &live(users), &Policy::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("users.yaml:4"), "{text}");
    assert!(text.contains("id u1") && text.contains("id u2"), "{text}");
}

#[test]
fn deletes_need_prune_and_respect_scope_and_protect() {
    let users = vec![
        live_user("u1", "keep@corp.example"),
        live_user("u2", "leaver@corp.example"),
        live_user("u3", "admin@corp.example"),
        live_user("u4", "partner@other.example"),
    ];
    let desired = state(vec![desired_user("keep@corp.example", 1)]);
    let no_prune = diff(&desired, &live(users.clone()), &Policy::default()).unwrap();
    assert!(no_prune.changes.is_empty());

    let policy = Policy {
        prune: true,
        scope: Some(Pattern::parse("*@corp.example").unwrap()),
        protect: vec![Pattern::parse("admin@corp.example").unwrap()],
        origin: None,
    };
    let plan = diff(&desired, &live(users), &policy).unwrap();
    assert_eq!(
        actions(&plan),
        [(Action::Delete, "leaver@corp.example".into())]
    );
}

#[test]
fn an_incomplete_fetch_plans_no_deletes() {
    let mut pool = live(vec![live_user("u1", "gone@example.com")]);
    pool.completeness = Completeness::Incomplete {
        reason: "page 2 came back short".into(),
    };
    let policy = Policy {
        prune: true,
        ..Policy::default()
    };
    let plan = diff(&state(vec![]), &pool, &policy).unwrap();
    assert!(plan.changes.is_empty());
    assert!(matches!(
        &plan.notices[..],
        [Notice::DeletesSuppressed { .. }]
    ));
}

#[test]
fn whitelist_changes_compare_normalised_phones_and_remove_the_stored_spelling() {
    let phone = |raw: &str| (Phone::parse(raw).unwrap(), origin(9));
    let mut desired = state(vec![]);
    desired.whitelist = Some(DesiredWhitelist {
        enabled: Some((true, origin(8))),
        phones: Some(vec![phone("+86 138-0000-0000"), phone("13900000000")]),
    });
    let mut pool = live(vec![]);
    pool.whitelist = Some(LiveWhitelist {
        enabled: false,
        phones: vec![
            LivePhone::new("138 0000 0000"),
            LivePhone::new("+86-137-0000-0000"),
        ],
    });
    let plan = diff(&desired, &pool, &Policy::default()).unwrap();
    assert_eq!(
        actions(&plan),
        [
            (Action::WhitelistSwitch, "whitelist".into()),
            (Action::WhitelistAdd, "13900000000".into()),
            (Action::WhitelistRemove, "+86-137-0000-0000".into()),
        ]
    );
    assert_eq!(
        plan.whitelist_fingerprint,
        Some(Fingerprint::of_whitelist(pool.whitelist.as_ref().unwrap()))
    );
    let summary = plan.summary();
    assert_eq!(
        (
            summary.whitelist_add,
            summary.whitelist_remove,
            summary.whitelist_switch
        ),
        (1, 1, Some(true))
    );
}

#[test]
fn registering_a_phone_the_whitelist_will_not_list_is_a_notice() {
    let mut listed = desired_user("listed@example.com", 1);
    listed.profile.phone = Some("13800000001".into());
    let mut unlisted = desired_user("unlisted@example.com", 2);
    unlisted.profile.phone = Some("+86 139 0000 0009".into());
    let mut desired = state(vec![listed, unlisted]);
    desired.whitelist = Some(DesiredWhitelist {
        enabled: Some((true, origin(8))),
        phones: Some(vec![(Phone::parse("13800000001").unwrap(), origin(9))]),
    });
    let plan = diff(&desired, &live(vec![]), &Policy::default()).unwrap();
    assert!(
        matches!(&plan.notices[..], [Notice::PhoneNotWhitelisted { key, .. }] if key.as_str() == "unlisted@example.com"),
        "{:?}",
        plan.notices
    );
    // With the switch off, any phone may register.
    desired.whitelist.as_mut().unwrap().enabled = Some((false, origin(8)));
    assert!(
        diff(&desired, &live(vec![]), &Policy::default())
            .unwrap()
            .notices
            .is_empty()
    );
}

#[test]
fn changes_come_in_review_order() {
    let mut desired = state(vec![
        desired_user("new@example.com", 1),
        desired_user("old@example.com", 2),
    ]);
    desired.users[1].profile.nickname = Some("Old".into());
    let pool = live(vec![
        live_user("u1", "old@example.com"),
        live_user("u2", "gone@example.com"),
    ]);
    let plan = diff(
        &desired,
        &pool,
        &Policy {
            prune: true,
            ..Policy::default()
        },
    )
    .unwrap();
    let order: Vec<Action> = plan.changes.iter().map(Change::action).collect();
    assert_eq!(order, [Action::Delete, Action::Create, Action::Update]);
}

// ---- properties ----------------------------------------------------------------------------

/// Applies a plan to an in-memory pool, as a perfect apply would.
fn simulate(plan: &Plan, pool: &LiveState, match_on: MatchOn) -> LiveState {
    let mut pool = pool.clone();
    let mut next_id = 0;
    for change in &plan.changes {
        match change {
            Change::Create(create) => {
                next_id += 1;
                pool.users.push(LiveUser {
                    id: UserId::new(format!("new{next_id}")),
                    profile: create.profile.clone(),
                    mfa: Some(false),
                });
            }
            Change::Update(update) => {
                let user = pool
                    .users
                    .iter_mut()
                    .find(|user| user.id == update.id)
                    .expect("updated user exists");
                for field in &update.fields {
                    user.profile.set(field.field, Some(field.after.clone()));
                }
            }
            Change::Delete(delete) => pool.users.retain(|user| user.id != delete.id),
            Change::Mfa(mfa) => {
                let user = pool
                    .users
                    .iter_mut()
                    .find(|user| user.key(match_on).as_ref() == Some(&mfa.key))
                    .expect("MFA user exists");
                user.mfa = Some(mfa.enable);
            }
            Change::WhitelistAdd(entry) => pool
                .whitelist
                .get_or_insert_with(Default::default)
                .phones
                .push(LivePhone::new(entry.phone.clone())),
            Change::WhitelistRemove(entry) => pool
                .whitelist
                .get_or_insert_with(Default::default)
                .phones
                .retain(|phone| phone.raw != entry.phone),
            Change::WhitelistSwitch(switch) => {
                pool.whitelist.get_or_insert_with(Default::default).enabled = switch.to
            }
        }
    }
    pool
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        "[A-Za-z ]{1,8}".prop_map(Some)
    ]
}

fn flag() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![Just(None), Just(Some(true)), Just(Some(false))]
}

fn phone() -> impl Strategy<Value = String> {
    (0u32..6).prop_map(|n| format!("1380000000{n}"))
}

/// Emails from a small set, so that declared and live users overlap; the case varies.
fn email() -> impl Strategy<Value = String> {
    (
        0u32..12,
        any::<bool>(),
        prop_oneof![Just("corp.example"), Just("other.example")],
    )
        .prop_map(|(n, upper, domain)| {
            let email = format!("user{n}@{domain}");
            if upper { email.to_uppercase() } else { email }
        })
}

/// A profile around an email; the username is the email's local part (its case included), or
/// missing, so that matching on usernames meets users without a key.
fn profile(email: String) -> impl Strategy<Value = Profile> {
    (
        text(),
        text(),
        text(),
        flag(),
        flag(),
        proptest::option::of(phone()),
        proptest::bool::weighted(0.8),
    )
        .prop_map(
            move |(nickname, company, photo, email_verified, blocked, phone, has_username)| {
                Profile {
                    email: Some(email.clone()),
                    username: has_username
                        .then(|| email.split('@').next().unwrap_or_default().to_string()),
                    nickname,
                    company,
                    photo,
                    phone,
                    email_verified,
                    blocked,
                }
            },
        )
}

fn match_on() -> impl Strategy<Value = MatchOn> {
    prop_oneof![Just(MatchOn::Email), Just(MatchOn::Username)]
}

fn desired_users(match_on: MatchOn) -> impl Strategy<Value = Vec<DesiredUser>> {
    proptest::collection::vec((email().prop_flat_map(profile), flag()), 0..10).prop_map(
        move |users| {
            let mut seen = HashSet::new();
            users
                .into_iter()
                .enumerate()
                .filter_map(|(line, (profile, mfa))| {
                    let key = UserKey::of(&profile, match_on)?;
                    seen.insert(key.clone()).then(|| DesiredUser {
                        key,
                        profile,
                        mfa,
                        password: None,
                        origin: origin(line as u32 + 1),
                    })
                })
                .collect()
        },
    )
}

/// Live users with distinct keys under `match_on` (some without a key at all), MFA read for
/// some and not for others.
fn live_users(match_on: MatchOn) -> impl Strategy<Value = Vec<LiveUser>> {
    proptest::collection::vec(
        (
            email().prop_flat_map(profile),
            proptest::option::of(any::<bool>()),
        ),
        0..10,
    )
    .prop_map(move |users| {
        let mut seen = HashSet::new();
        users
            .into_iter()
            .enumerate()
            .filter(|(_, (profile, _))| match UserKey::of(profile, match_on) {
                Some(key) => seen.insert(key),
                None => true,
            })
            .map(|(index, (profile, mfa))| LiveUser {
                id: UserId::new(format!("live{index}")),
                profile,
                mfa,
            })
            .collect()
    })
}

fn whitelists() -> impl Strategy<Value = (Option<DesiredWhitelist>, LiveWhitelist)> {
    (
        proptest::option::of((
            flag(),
            proptest::option::of(proptest::collection::vec(phone(), 0..4)),
        )),
        any::<bool>(),
        proptest::collection::vec(phone(), 0..4),
    )
        .prop_map(|(wanted, enabled, live_phones)| {
            let wanted = wanted.map(|(switch, phones)| DesiredWhitelist {
                enabled: switch.map(|enabled| (enabled, origin(50))),
                phones: phones.map(|phones| {
                    let mut seen = HashSet::new();
                    phones
                        .into_iter()
                        .filter(|phone| seen.insert(phone.clone()))
                        .map(|phone| (Phone::parse(&phone).expect("valid phone"), origin(51)))
                        .collect()
                }),
            });
            let mut seen = HashSet::new();
            let phones = live_phones
                .into_iter()
                .filter(|phone| seen.insert(phone.clone()))
                .map(LivePhone::new)
                .collect();
            (wanted, LiveWhitelist { enabled, phones })
        })
}

fn patterns() -> impl Strategy<Value = (Option<Pattern>, Vec<Pattern>)> {
    (
        proptest::option::of(prop_oneof![Just("*@corp.example"), Just("user1*")]),
        proptest::collection::vec(
            prop_oneof![Just("user2@corp.example"), Just("*3@*"), Just("USER4*")],
            0..2,
        ),
    )
        .prop_map(|(scope, protect)| {
            (
                scope.map(|scope| Pattern::parse(scope).expect("valid pattern")),
                protect
                    .into_iter()
                    .map(|pattern| Pattern::parse(pattern).expect("valid pattern"))
                    .collect(),
            )
        })
}

proptest! {
    #[test]
    fn diff_of_a_pool_against_itself_is_empty(
        (match_on, users) in match_on().prop_flat_map(|m| (Just(m), live_users(m))),
        (_, whitelist) in whitelists(),
        prune: bool,
    ) {
        let desired = DesiredState {
            match_on,
            users: users.iter().filter_map(|user| Some(DesiredUser {
                key: user.key(match_on)?,
                profile: user.profile.clone(),
                mfa: user.mfa,
                password: None,
                origin: origin(1),
            })).collect(),
            whitelist: Some(DesiredWhitelist {
                enabled: Some((whitelist.enabled, origin(2))),
                phones: Some(whitelist.phones.iter().map(|phone| (Phone::parse(&phone.raw).expect("valid"), origin(3))).collect()),
            }),
            ..DesiredState::default()
        };
        let pool = LiveState { users, whitelist: Some(whitelist), ..LiveState::default() };
        let plan = diff(&desired, &pool, &Policy { prune, ..Policy::default() }).expect("keys are unique");
        prop_assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    }

    #[test]
    fn applying_a_plan_then_diffing_again_is_empty(
        (match_on, users, pool_users) in match_on().prop_flat_map(|m| (Just(m), desired_users(m), live_users(m))),
        (wanted_whitelist, live_whitelist) in whitelists(),
        prune: bool,
        (scope, protect) in patterns(),
    ) {
        let desired = DesiredState { match_on, users, whitelist: wanted_whitelist, ..DesiredState::default() };
        let pool = LiveState { users: pool_users, whitelist: Some(live_whitelist), ..LiveState::default() };
        let policy = Policy { prune, scope, protect, origin: None };
        let plan = diff(&desired, &pool, &policy).expect("keys are unique");
        let after = simulate(&plan, &pool, match_on);
        let again = diff(&desired, &after, &policy).expect("keys are unique");
        prop_assert!(again.changes.is_empty(), "first plan {:?}\nsecond plan {:?}", plan.changes, again.changes);
    }

    #[test]
    fn no_delete_outside_scope_inside_protect_or_without_prune(
        (match_on, users, pool_users) in match_on().prop_flat_map(|m| (Just(m), desired_users(m), live_users(m))),
        prune: bool,
        (scope, protect) in patterns(),
    ) {
        let desired = DesiredState { match_on, users, prune: PruneSettings::default(), ..DesiredState::default() };
        let pool = LiveState { users: pool_users, ..LiveState::default() };
        let policy = Policy { prune, scope: scope.clone(), protect: protect.clone(), origin: None };
        let plan = diff(&desired, &pool, &policy).expect("keys are unique");
        let declared: HashSet<UserKey> = desired.users.iter().map(|user| user.key.clone()).collect();
        for delete in plan.deletes() {
            prop_assert!(prune, "a delete without prune");
            let user = pool.users.iter().find(|user| user.id == delete.id).expect("deleted user is live");
            let email = user.profile.email.as_deref().unwrap_or_default();
            if let Some(scope) = &scope {
                prop_assert!(scope.matches(email), "{email} is outside the scope {scope}");
            }
            prop_assert!(!protect.iter().any(|pattern| pattern.matches(email)), "{email} is protected");
            let key = user.key(match_on);
            prop_assert!(key.is_some(), "{email} has no key: no manifest could declare it");
            prop_assert!(!key.is_some_and(|key| declared.contains(&key)), "{email} is declared");
        }
    }
}
