//! Tests of the diff engine, without any I/O: examples, and the properties that hold for any
//! input (diff of a state against itself is empty; applying a plan and diffing again is empty;
//! no delete outside scope, inside protect or without prune).

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::model::{
    DesiredWhitelist, Field, FieldValue, LivePhone, LiveWhitelist, Password, PasswordSource, Phone,
    Profile, ProfileBuilder, PruneSettings,
};
use crate::plan::Action;
use crate::secret::Secret;

fn origin(line: u32) -> Origin {
    Origin::new(Arc::from(Path::new("users.yaml")), line)
}

fn desired_user(email: &str, line: u32) -> DesiredUser {
    DesiredUser::new(
        UserKey::from_email(email),
        Profile::default().with(Field::Email, email),
        origin(line),
    )
}

fn live_user(id: &str, email: &str) -> LiveUser {
    LiveUser {
        id: UserId::new(id),
        profile: Profile::default().with(Field::Email, email),
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
    alice.password = Some(Box::new(Password {
        secret: Secret::new("s3cret!"),
        source: PasswordSource::Env("ALICE_PW".into()),
    }));
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
        create.profile.text(Field::Email),
        Some("Alice@Example.com"),
        "the declared spelling is written"
    );
    assert_eq!(create.origin, origin(3));
}

#[test]
fn only_managed_fields_that_differ_are_updated() {
    let mut wanted = desired_user("bob@example.com", 7);
    wanted.profile.set(Field::Nickname, Some("Bob".into()));
    wanted.profile.set(Field::Company, Some("Example".into()));
    wanted.profile.set(Field::Blocked, Some(false.into()));
    let mut have = live_user("u1", "bob@example.com");
    have.profile.set(Field::Nickname, Some("Bobby".into()));
    have.profile.set(Field::Company, Some("Example".into()));
    have.profile
        .set(Field::Photo, Some("https://example.com/bob.png".into()));
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
fn an_email_whose_case_changes_is_written_under_the_same_key() {
    let wanted = desired_user("Bob.Chen@Example.com", 3);
    let have = live_user("u1", "bob.chen@example.com");
    let plan = diff(&state(vec![wanted]), &live(vec![have]), &Policy::default()).unwrap();
    let [Change::Update(update)] = &plan.changes[..] else {
        panic!("one update expected: {:?}", plan.changes)
    };
    assert_eq!(update.key, UserKey::from_email("bob.chen@example.com"));
    assert_eq!(update.renamed_from, None, "the key stays: no rename");
    assert_eq!(
        update.fields,
        [FieldChange {
            field: Field::Email,
            before: Some("bob.chen@example.com".into()),
            after: "Bob.Chen@Example.com".into(),
        }]
    );
}

#[test]
fn a_changed_phone_is_updated_and_a_differently_spelt_one_is_not() {
    let mut wanted = desired_user("carol@example.com", 2);
    wanted.profile.set(Field::Phone, Some("13900000000".into()));
    let mut have = live_user("u1", "carol@example.com");
    have.profile
        .set(Field::Phone, Some("+86 138 0000 0000".into()));
    let plan = diff(
        &state(vec![wanted.clone()]),
        &live(vec![have.clone()]),
        &Policy::default(),
    )
    .unwrap();
    assert!(plan.notices.is_empty(), "{:?}", plan.notices);
    let [Change::Update(update)] = &plan.changes[..] else {
        panic!("one update expected: {:?}", plan.changes)
    };
    assert_eq!(
        update.fields,
        [FieldChange {
            field: Field::Phone,
            before: Some("+86 138 0000 0000".into()),
            after: "13900000000".into(),
        }]
    );
    wanted
        .profile
        .set(Field::Phone, Some("138-0000-0000".into()));
    let same = diff(&state(vec![wanted]), &live(vec![have]), &Policy::default()).unwrap();
    assert!(same.changes.is_empty(), "{:?}", same.changes);
}

#[test]
fn issue_12_a_cdn_copy_of_a_declared_external_photo_is_a_notice_not_an_update() {
    let mut copied = desired_user("copied@example.com", 1);
    copied
        .profile
        .set(Field::Photo, Some("https://example.com/copied.png".into()));
    let mut changed = desired_user("changed@example.com", 2);
    changed.profile.set(
        Field::Photo,
        Some("https://files.authing.co/new.png".into()),
    );
    let mut have_copied = live_user("u1", "copied@example.com");
    have_copied.profile.set(
        Field::Photo,
        Some("https://usercontents.authing.cn/avatar-u1-1582558729878".into()),
    );
    let mut have_changed = live_user("u2", "changed@example.com");
    have_changed.profile.set(
        Field::Photo,
        Some("https://usercontents.authing.cn/old.png".into()),
    );
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
    // Authing compares the stored text: `138 0000 0000` does not list 13800000000, so the
    // normal form is added and that spelling removed, and the plan says why.
    assert_eq!(
        actions(&plan),
        [
            (Action::WhitelistSwitch, "whitelist".into()),
            (Action::WhitelistAdd, "13800000000".into()),
            (Action::WhitelistAdd, "13900000000".into()),
            (Action::WhitelistRemove, "+86-137-0000-0000".into()),
            (Action::WhitelistRemove, "138 0000 0000".into()),
        ]
    );
    assert_eq!(
        plan.notices,
        [Notice::WhitelistSpelling {
            phone: "13800000000".into(),
            stored: "138 0000 0000".into(),
            managed: true,
        }]
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
        (2, 2, Some(true))
    );
}

#[test]
fn registering_a_phone_the_whitelist_will_not_list_is_a_notice() {
    let mut listed = desired_user("listed@example.com", 1);
    listed.profile.set(Field::Phone, Some("13800000001".into()));
    let mut unlisted = desired_user("unlisted@example.com", 2);
    unlisted
        .profile
        .set(Field::Phone, Some("+86 139 0000 0009".into()));
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
    desired.users[1]
        .profile
        .set(Field::Nickname, Some("Old".into()));
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

fn renamed(email: &str, from: &str, line: u32) -> DesiredUser {
    desired_user(email, line).with_identity(crate::model::Identity::RenamedFrom(
        UserKey::from_email(from),
    ))
}

fn pinned(email: &str, id: &str, line: u32) -> DesiredUser {
    desired_user(email, line).with_identity(crate::model::Identity::Id(UserId::new(id)))
}

fn prune() -> Policy {
    Policy {
        prune: true,
        ..Policy::default()
    }
}

#[test]
fn renamed_from_updates_the_live_user_in_place_and_prune_keeps_it() {
    let mut have = live_user("u1", "bob@example.com");
    have.mfa = Some(true);
    let mut wanted = renamed("Bob.Chen@example.com", "BOB@example.com", 4);
    wanted.mfa = Some(true);
    let plan = diff(&state(vec![wanted]), &live(vec![have.clone()]), &prune()).unwrap();
    let [Change::Update(update)] = &plan.changes[..] else {
        panic!("one update, no delete, no MFA change: {:?}", plan.changes)
    };
    assert_eq!(update.id, UserId::new("u1"));
    assert_eq!(update.key, UserKey::from_email("bob.chen@example.com"));
    assert_eq!(
        update.renamed_from,
        Some(UserKey::from_email("bob@example.com"))
    );
    assert_eq!(
        update.fields,
        [FieldChange {
            field: Field::Email,
            before: Some("bob@example.com".into()),
            after: "Bob.Chen@example.com".into(),
        }]
    );
    assert_eq!(update.fingerprint, Fingerprint::of_user(&have));
}

#[test]
fn once_renamed_the_user_is_matched_by_its_new_key() {
    let wanted = renamed("bob.chen@example.com", "bob@example.com", 4);
    let plan = diff(
        &state(vec![wanted]),
        &live(vec![live_user("u1", "bob.chen@example.com")]),
        &prune(),
    )
    .unwrap();
    assert!(
        plan.changes.is_empty() && plan.notices.is_empty(),
        "{plan:?}"
    );
}

#[test]
fn a_new_user_may_take_a_key_renamed_away_in_the_same_plan() {
    let users = vec![
        renamed("bob.chen@example.com", "bob@example.com", 4),
        desired_user("bob@example.com", 6),
    ];
    let pool = live(vec![live_user("u1", "bob@example.com")]);
    let plan = diff(&state(users.clone()), &pool, &prune()).unwrap();
    assert_eq!(
        actions(&plan),
        [
            (Action::Create, "bob@example.com".into()),
            (Action::Update, "bob.chen@example.com".into()),
        ]
    );
    // Once applied, both are matched by key; the earlier key belongs to the newcomer.
    let after = live(vec![
        live_user("u1", "bob.chen@example.com"),
        live_user("u2", "bob@example.com"),
    ]);
    let again = diff(&state(users), &after, &prune()).unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

#[test]
fn a_renamed_from_that_matches_nobody_creates_with_a_notice() {
    let plan = diff(
        &state(vec![renamed("new@example.com", "gone@example.com", 2)]),
        &live(vec![]),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(actions(&plan), [(Action::Create, "new@example.com".into())]);
    assert!(
        matches!(&plan.notices[..], [Notice::RenameNotFound { renamed_from, .. }] if renamed_from.as_str() == "gone@example.com"),
        "{:?}",
        plan.notices
    );
}

#[test]
fn an_id_pins_the_user_whatever_its_key() {
    let mut have = live_user("u7", "old@example.com");
    have.profile.set(Field::Username, Some("old".into()));
    let mut wanted = pinned("new@example.com", "u7", 3);
    wanted.profile.set(Field::Username, Some("new".into()));
    let desired = DesiredState {
        match_on: MatchOn::Username,
        users: vec![DesiredUser {
            key: UserKey::from_username("new"),
            ..wanted
        }],
        ..DesiredState::default()
    };
    let plan = diff(&desired, &live(vec![have]), &prune()).unwrap();
    let [Change::Update(update)] = &plan.changes[..] else {
        panic!("one update: {:?}", plan.changes)
    };
    assert_eq!(update.renamed_from, Some(UserKey::from_username("old")));
    let fields: Vec<Field> = update.fields.iter().map(|change| change.field).collect();
    assert_eq!(fields, [Field::Email, Field::Username]);
}

#[test]
fn what_cannot_be_decided_is_an_error_naming_the_place_and_the_users() {
    let pool = live(vec![
        live_user("u1", "bob@example.com"),
        live_user("u2", "bob.chen@example.com"),
        live_user("u3", "carol@example.com"),
        live_user("u4", "dan@example.com"),
        live_user("u5", "erin@example.com"),
    ]);
    let err = diff(
        &state(vec![
            // Both the old and the new key are live.
            renamed("bob.chen@example.com", "bob@example.com", 3),
            // No live user has this id.
            pinned("ghost@example.com", "nope", 5),
            // An id and a renamed_from claim the same live user.
            pinned("carol.new@example.com", "u3", 7),
            renamed("carol.other@example.com", "carol@example.com", 9),
            // An id entry takes a key another live user holds.
            pinned("dan@example.com", "u5", 11),
        ]),
        &pool,
        &Policy::default(),
    )
    .unwrap_err();
    let lines: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].starts_with("users.yaml:3: `bob.chen@example.com` is renamed from `bob@example.com`, but both are live users: bob.chen@example.com (id u2) and bob@example.com (id u1)"), "{}", lines[0]);
    assert!(
        lines[1].starts_with(
            "users.yaml:5: `ghost@example.com` has `id: nope`, and no live user has that id"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            "users.yaml:9: carol@example.com (id u3) is also claimed by the user at users.yaml:7"
        ),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with("users.yaml:11: the user cannot be renamed to `dan@example.com`: dan@example.com (id u4) holds it"), "{}", lines[3]);
    assert!(err.to_string().contains("4 problems"), "{err}");
}

#[test]
fn a_rename_into_a_key_that_is_itself_renamed_away_is_refused_not_ordered() {
    let pool = live(vec![
        live_user("u1", "a@example.com"),
        live_user("u2", "b@example.com"),
    ]);
    // b → c and a → b in one plan: the second depends on the first.
    let err = diff(
        &state(vec![
            renamed("c@example.com", "b@example.com", 2),
            renamed("b@example.com", "a@example.com", 4),
        ]),
        &pool,
        &Policy::default(),
    )
    .unwrap_err();
    let [Problem::KeyHeld { moving, holder, .. }] = &err.problems[..] else {
        panic!("{err}")
    };
    assert_eq!(moving.as_ref(), Some(&origin(2)));
    assert_eq!(holder.id, UserId::new("u2"));
}

#[test]
fn an_email_change_writes_a_managed_verification_again_and_warns_about_an_unmanaged_one() {
    let mut have = live_user("u1", "bob@example.com");
    have.profile.set(Field::EmailVerified, Some(true.into()));
    let mut managed = DesiredState {
        match_on: MatchOn::Username,
        ..DesiredState::default()
    };
    let mut wanted = desired_user("bob.chen@example.com", 2);
    wanted.key = UserKey::from_username("bob");
    wanted.profile.set(Field::Username, Some("bob".into()));
    wanted.profile.set(Field::EmailVerified, Some(true.into()));
    have.profile.set(Field::Username, Some("bob".into()));
    managed.users.push(wanted.clone());
    let plan = diff(&managed, &live(vec![have.clone()]), &Policy::default()).unwrap();
    let [Change::Update(update)] = &plan.changes[..] else {
        panic!("{:?}", plan.changes)
    };
    assert_eq!(
        update.fields[1],
        FieldChange {
            field: Field::EmailVerified,
            before: Some(true.into()),
            after: true.into(),
        }
    );
    assert!(plan.notices.is_empty());

    wanted.profile.set(Field::EmailVerified, None);
    managed.users = vec![wanted];
    let plan = diff(&managed, &live(vec![have]), &Policy::default()).unwrap();
    assert!(
        matches!(&plan.notices[..], [Notice::EmailUnverified { .. }]),
        "{:?}",
        plan.notices
    );
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
                    .find(|user| match &mfa.target {
                        MfaTarget::Existing { id, .. } => user.id == *id,
                        MfaTarget::New => user.key(match_on).as_ref() == Some(&mfa.key),
                    })
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
            // A local part of its own per domain: the username (the local part) and the phone
            // (derived from it) belong to one person, as a pool's unique values do.
            let local = if domain == "corp.example" {
                format!("user{n}")
            } else {
                format!("other{n}")
            };
            let domain = if upper {
                domain.to_uppercase()
            } else {
                domain.to_string()
            };
            format!("{local}@{domain}")
        })
}

/// A profile around an email, with every field of the table: the username is the email's local
/// part, or missing, so that matching on usernames meets users without a key; the person's
/// phone, or none; other texts and flags at random.
fn profile(email: String) -> impl Strategy<Value = Profile> {
    let local = email.split('@').next().unwrap_or_default().to_string();
    let digits: u32 = local
        .trim_start_matches(char::is_alphabetic)
        .parse()
        .unwrap_or_default();
    let person = if local.starts_with("other") {
        digits + 50
    } else {
        digits
    };
    (
        proptest::collection::vec((text(), flag()), Field::COUNT),
        proptest::option::of(Just(format!("1380000{person:04}"))),
        proptest::bool::weighted(0.8),
    )
        .prop_map(move |(values, phone, has_username)| {
            let mut profile = ProfileBuilder::default();
            for (field, (text, flag)) in Field::ALL.into_iter().zip(values) {
                match field {
                    Field::Email => profile.text(field, &email),
                    Field::Username if has_username => {
                        profile.text(field, email.split('@').next().unwrap_or_default())
                    }
                    Field::Username => {}
                    Field::Phone => {
                        if let Some(phone) = &phone {
                            profile.text(field, phone);
                        }
                    }
                    _ if field.is_bool() => {
                        if let Some(flag) = flag {
                            profile.flag(field, flag);
                        }
                    }
                    _ => {
                        if let Some(text) = &text {
                            profile.text(field, text);
                        }
                    }
                }
            }
            profile.build()
        })
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
                        mfa,
                        ..DesiredUser::new(key, profile, origin(line as u32 + 1))
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

/// How a declared user may say who it was: nothing, an earlier key or an id, each taken from a
/// live user (by position) or made up.
#[derive(Debug, Clone)]
enum Identity {
    None,
    RenamedFrom(usize),
    Id(usize),
    UnknownId,
}

fn identities() -> impl Strategy<Value = Vec<Identity>> {
    proptest::collection::vec(
        prop_oneof![
            4 => Just(Identity::None),
            3 => (0usize..10).prop_map(Identity::RenamedFrom),
            3 => (0usize..10).prop_map(Identity::Id),
            1 => Just(Identity::UnknownId),
        ],
        10,
    )
}

/// Gives declared users `renamed_from` and `id` as the manifest reader allows them: each id and
/// each earlier key once, never the user's own key, never both on one user.
fn with_identities(
    mut users: Vec<DesiredUser>,
    live: &[LiveUser],
    identities: &[Identity],
    match_on: MatchOn,
) -> Vec<DesiredUser> {
    let mut taken = HashSet::new();
    for (user, identity) in users.iter_mut().zip(identities) {
        match identity {
            Identity::None => {}
            Identity::RenamedFrom(at) => {
                let Some(old) = live.get(*at).and_then(|live| live.key(match_on)) else {
                    continue;
                };
                if old != user.key && taken.insert(format!("old {old}")) {
                    user.identity = Some(Box::new(crate::model::Identity::RenamedFrom(old)));
                }
            }
            Identity::Id(at) => {
                if let Some(live) = live.get(*at)
                    && taken.insert(format!("id {}", live.id))
                {
                    user.identity = Some(Box::new(crate::model::Identity::Id(live.id.clone())));
                }
            }
            Identity::UnknownId => {
                user.identity = Some(Box::new(crate::model::Identity::Id(UserId::new(
                    "not-a-live-id",
                ))))
            }
        }
    }
    users
}

/// Whether a diff failed only because new users or changes would take values live users hold.
fn only_held_values(err: &DiffError) -> bool {
    err.problems
        .iter()
        .all(|problem| matches!(problem, Problem::ValueHeld { .. }))
}

proptest! {
    #[test]
    fn renames_and_ids_converge_and_never_delete_or_recreate_the_user(
        (match_on, users, pool_users) in match_on().prop_flat_map(|m| (Just(m), desired_users(m), live_users(m))),
        identities in identities(),
        (scope, protect) in patterns(),
    ) {
        let users = with_identities(users, &pool_users, &identities, match_on);
        let desired = DesiredState { match_on, users, ..DesiredState::default() };
        let pool = LiveState { users: pool_users, ..LiveState::default() };
        let policy = Policy { prune: true, scope, protect, origin: None };
        match diff(&desired, &pool, &policy) {
            Err(err) => {
                for problem in &err.problems {
                    prop_assert!(!matches!(problem, Problem::Unwritable { .. }), "{}", problem);
                }
                let unknown = desired.users.iter().any(|user| user.id().is_some_and(|id| id.as_str() == "not-a-live-id"));
                if unknown {
                    prop_assert!(err.problems.iter().any(|problem| matches!(problem, Problem::UnknownId { .. })), "{err}");
                }
            }
            Ok(plan) => {
                prop_assert!(
                    !desired.users.iter().any(|user| user.id().is_some_and(|id| id.as_str() == "not-a-live-id")),
                    "an unknown id was planned: {:?}", plan.changes
                );
                let touched: HashSet<&UserId> = plan.changes.iter().filter_map(|change| match change {
                    Change::Update(update) => Some(&update.id),
                    Change::Mfa(MfaChange { target: MfaTarget::Existing { id, .. }, .. }) => Some(id),
                    _ => None,
                }).collect();
                for delete in plan.deletes() {
                    prop_assert!(!touched.contains(&delete.id), "{} is both changed and deleted", delete.id);
                    prop_assert!(!desired.users.iter().any(|user| user.id() == Some(&delete.id)), "a pinned user is deleted");
                }
                for change in &plan.changes {
                    if let Change::Create(create) = change {
                        let wanted = desired.users.iter().find(|user| user.key == create.key).expect("declared");
                        prop_assert!(wanted.id().is_none(), "a user with an id is created");
                    }
                }
                let after = simulate(&plan, &pool, match_on);
                let again = diff(&desired, &after, &policy).expect("the applied plan diffs again");
                prop_assert!(again.changes.is_empty(), "first plan {:?}\nsecond plan {:?}", plan.changes, again.changes);
            }
        }
    }

    #[test]
    fn diff_of_a_pool_against_itself_is_empty(
        (match_on, users) in match_on().prop_flat_map(|m| (Just(m), live_users(m))),
        (_, whitelist) in whitelists(),
        prune: bool,
    ) {
        let desired = DesiredState {
            match_on,
            users: users.iter().filter_map(|user| Some(DesiredUser {
                mfa: user.mfa,
                ..DesiredUser::new(user.key(match_on)?, user.profile.clone(), origin(1))
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
        let plan = match diff(&desired, &pool, &policy) {
            Ok(plan) => plan,
            // A new user whose email, username or phone an unkeyed live user holds.
            Err(err) if only_held_values(&err) => return Ok(()),
            Err(err) => panic!("keys are unique: {err}"),
        };
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
        let plan = match diff(&desired, &pool, &policy) {
            Ok(plan) => plan,
            Err(err) if only_held_values(&err) => return Ok(()),
            Err(err) => panic!("keys are unique: {err}"),
        };
        let declared: HashSet<UserKey> = desired.users.iter().map(|user| user.key.clone()).collect();
        for delete in plan.deletes() {
            prop_assert!(prune, "a delete without prune");
            let user = pool.users.iter().find(|user| user.id == delete.id).expect("deleted user is live");
            let email = user.profile.text(Field::Email).unwrap_or_default();
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

fn with(mut user: DesiredUser, field: Field, value: &str) -> DesiredUser {
    user.profile
        .set(field, Some(FieldValue::Text(value.into())));
    user
}

/// Issue 14, item 5: a new user whose username (any case) another live user holds, or whose
/// phone (any spelling) another declared user takes, is a plan error naming both.
#[test]
fn unique_values_held_or_declared_twice_are_plan_errors() {
    let mut old = live_user("u1", "alice@old.example");
    old.profile
        .set(Field::Username, Some(FieldValue::Text("alice".into())));
    let desired = state(vec![
        with(
            desired_user("alice@new.example", 3),
            Field::Username,
            "Alice",
        ),
        with(
            desired_user("b@example.com", 5),
            Field::Phone,
            "+8613800000078",
        ),
        with(
            desired_user("c@example.com", 7),
            Field::Phone,
            "13800000078",
        ),
    ]);
    let policy = Policy {
        prune: true,
        ..Policy::default()
    };
    let err = diff(&desired, &live(vec![old]), &policy).unwrap_err();
    let text = err.to_string();
    assert_eq!(err.problems.len(), 2, "{text}");
    assert!(
        text.contains("users.yaml:3: cannot create `alice@new.example` with the username `Alice`, which alice@old.example (id u1) holds (this plan deletes that user, but only later)"),
        "{text}"
    );
    assert!(
        text.contains(
            "users.yaml:7: the phone `13800000078` is also given to the user at users.yaml:5"
        ),
        "{text}"
    );
}

/// A phone moved from one user to another is no conflict: the update that frees it runs
/// first. A swap is.
#[test]
fn a_moved_value_is_no_conflict_but_a_swap_is() {
    let holder = |id: &str, email: &str, phone: &str| {
        let mut user = live_user(id, email);
        user.profile
            .set(Field::Phone, Some(FieldValue::Text(phone.into())));
        user
    };
    let pool = live(vec![
        holder("u1", "a@example.com", "13800000001"),
        holder("u2", "b@example.com", "13800000002"),
    ]);
    let moved = state(vec![
        with(
            desired_user("a@example.com", 1),
            Field::Phone,
            "13800000009",
        ),
        with(
            desired_user("b@example.com", 2),
            Field::Phone,
            "13800000001",
        ),
    ]);
    assert!(diff(&moved, &pool, &Policy::default()).is_ok());
    let swapped = state(vec![
        with(
            desired_user("a@example.com", 1),
            Field::Phone,
            "13800000002",
        ),
        with(
            desired_user("b@example.com", 2),
            Field::Phone,
            "13800000001",
        ),
    ]);
    let err = diff(&swapped, &pool, &Policy::default()).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
}
