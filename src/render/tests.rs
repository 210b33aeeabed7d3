//! Snapshots of the three renderers on one realistic plan: creations, updates (one with a long
//! value, one a rename), deletions, MFA both ways, the whitelist switch, additions and removals,
//! notices.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::{Field, FieldValue, MatchOn, Origin, Profile, UserId, UserKey};
use crate::plan::file::PoolRef;
use crate::plan::{
    Change, Create, Delete, FieldChange, Fingerprint, MfaChange, MfaTarget, Notice, PasswordPlan,
    Plan, PlanFile, Update, WhitelistPhone, WhitelistSwitch,
};

fn origin(file: &str, line: u32) -> Origin {
    Origin::new(Arc::from(Path::new(file)), line)
}

fn fingerprint(id: &str) -> Fingerprint {
    let user = crate::model::LiveUser {
        id: UserId::new(id),
        profile: Profile::default(),
        mfa: None,
    };
    Fingerprint::of_user(&user)
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.into())
}

fn realistic_plan() -> Plan {
    let changes = vec![
        Change::Delete(Delete {
            id: UserId::new("5f0000000000000000000011"),
            key: UserKey::from_email("leaver@corp.example"),
            label: "leaver@corp.example".into(),
            origin: Some(origin("manifests/policy.yaml", 12)),
            fingerprint: fingerprint("5f0000000000000000000011"),
        }),
        Change::Create(Create {
            key: UserKey::from_email("alice.liu@corp.example"),
            profile: Profile::default()
                .with(Field::Email, "Alice.Liu@corp.example")
                .with(Field::Username, "alice")
                .with(Field::Nickname, "Alice Liu")
                .with(Field::Company, "Corp")
                .with(Field::Phone, "13800000001")
                .with(Field::EmailVerified, true)
                .with(Field::GivenName, "Alice")
                .with(Field::FamilyName, "Liu")
                .with(Field::Birthdate, "1990-04-01")
                .with(Field::StreetAddress, "1 Example Road")
                .with(Field::Locale, "zh-CN"),
            password: PasswordPlan::Env("ALICE_INITIAL_PASSWORD".into()),
            origin: origin("manifests/users.yaml", 4),
        }),
        Change::Create(Create {
            key: UserKey::from_email("bob@corp.example"),
            profile: Profile::default().with(Field::Email, "bob@corp.example"),
            password: PasswordPlan::Generated,
            origin: origin("manifests/hr.csv", 7),
        }),
        Change::Update(Update {
            key: UserKey::from_email("carol@corp.example"),
            id: UserId::new("5f0000000000000000000003"),
            fields: vec![
                FieldChange {
                    field: Field::Nickname,
                    before: Some(text("Carol")),
                    after: text("Carol Wang"),
                },
                FieldChange {
                    field: Field::Photo,
                    before: Some(text(
                        "https://cdn.corp.example/avatars/2019/carol-old-portrait.png",
                    )),
                    after: text("https://cdn.corp.example/avatars/2024/carol-portrait.png"),
                },
                FieldChange {
                    field: Field::Blocked,
                    before: None,
                    after: FieldValue::Bool(true),
                },
            ],
            renamed_from: None,
            origin: origin("manifests/users.yaml", 19),
            fingerprint: fingerprint("5f0000000000000000000003"),
        }),
        Change::Update(Update {
            key: UserKey::from_email("frank.new@corp.example"),
            id: UserId::new("5f0000000000000000000006"),
            fields: vec![
                FieldChange {
                    field: Field::Email,
                    before: Some(text("frank@corp.example")),
                    after: text("frank.new@corp.example"),
                },
                FieldChange {
                    field: Field::EmailVerified,
                    before: Some(FieldValue::Bool(true)),
                    after: FieldValue::Bool(true),
                },
                FieldChange {
                    field: Field::FamilyName,
                    before: Some(text("Wu")),
                    after: text("Wang"),
                },
            ],
            renamed_from: Some(UserKey::from_email("frank@corp.example")),
            origin: origin("manifests/users.yaml", 22),
            fingerprint: fingerprint("5f0000000000000000000006"),
        }),
        Change::Mfa(MfaChange {
            key: UserKey::from_email("alice.liu@corp.example"),
            target: MfaTarget::New,
            enable: true,
            origin: origin("manifests/users.yaml", 4),
        }),
        Change::Mfa(MfaChange {
            key: UserKey::from_email("dave@corp.example"),
            target: MfaTarget::Existing {
                id: UserId::new("5f0000000000000000000004"),
                fingerprint: fingerprint("5f0000000000000000000004"),
            },
            enable: false,
            origin: origin("manifests/users.yaml", 25),
        }),
        Change::WhitelistSwitch(WhitelistSwitch {
            from: false,
            to: true,
            origin: origin("manifests/users.yaml", 30),
        }),
        Change::WhitelistAdd(WhitelistPhone {
            phone: "13800000001".into(),
            origin: Some(origin("manifests/users.yaml", 31)),
        }),
        Change::WhitelistRemove(WhitelistPhone {
            phone: "+86 137-0000-0009".into(),
            origin: None,
        }),
    ];
    Plan {
        changes,
        notices: vec![
            Notice::RenameNotFound {
                key: UserKey::from_email("bob@corp.example"),
                renamed_from: UserKey::from_email("robert@corp.example"),
                origin: origin("manifests/hr.csv", 7),
            },
            Notice::EmailUnverified {
                key: UserKey::from_email("grace@corp.example"),
                origin: origin("manifests/users.yaml", 28),
            },
        ],
        match_on: MatchOn::Email,
        live_users: 120,
        live_phones: 1,
        whitelist_fingerprint: None,
    }
}

fn cost() -> PlanCost {
    PlanCost {
        requests: 6,
        retries: 1,
        users: 120,
        elapsed: Duration::from_millis(1234),
    }
}

#[test]
fn human() {
    let options = HumanOptions {
        cost: Some(cost()),
        ..HumanOptions::default()
    };
    insta::assert_snapshot!(human::render(&realistic_plan(), &options));
}

#[test]
fn human_masked() {
    let options = HumanOptions {
        masker: Masker::new(true),
        ..HumanOptions::default()
    };
    let text = human::render(&realistic_plan(), &options);
    for personal in [
        "alice.liu@",
        "13800000001",
        "frank",
        "1990-04-01",
        "Example Road",
        "Liu",
        "Wang",
        "\"alice\"",
    ] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    assert!(text.contains("zh-CN"), "not personal: {text}");
    insta::assert_snapshot!(text);
}

#[test]
fn human_without_changes() {
    let options = HumanOptions {
        cost: Some(cost()),
        ..HumanOptions::default()
    };
    insta::assert_snapshot!(human::render(&Plan::default(), &options), @r"
    No changes. The pool matches the manifests.
    Read 120 users with 6 API calls, 1 retry in 1.2s.
    ");
}

#[test]
fn human_in_colour_keeps_the_same_text() {
    let plan = realistic_plan();
    let coloured = human::render(
        &plan,
        &HumanOptions {
            style: Style::new(true),
            ..HumanOptions::default()
        },
    );
    let plain = human::render(&plan, &HumanOptions::default());
    assert!(coloured.contains("\x1b["));
    let mut stripped = String::new();
    let mut chars = coloured.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            stripped.push(c);
        }
    }
    assert_eq!(stripped, plain);
}

#[test]
fn json() {
    let pool = PoolRef {
        endpoint: "https://users.authing.cn/graphql".into(),
        client_id: "5c9f7e1a2b3c4d5e6f708192".into(),
    };
    let mut file = PlanFile::new(&realistic_plan(), pool, &[]);
    file.created_at = "2026-11-25T08:00:00Z".into();
    file.tool_version = "test".into();
    let text = json::render(&file, Masker::off());
    assert!(!text.contains("ALICE_INITIAL_PASSWORD=") && text.contains("(sensitive)"));
    insta::assert_snapshot!(text);
    let reread: PlanFile = serde_json::from_str(&text).expect("the JSON reads back");
    assert_eq!(
        reread
            .to_plan(Path::new("plan.json"))
            .expect("valid")
            .changes,
        realistic_plan().changes
    );
}

#[test]
fn json_masked() {
    let pool = PoolRef {
        endpoint: "local".into(),
        client_id: "pool".into(),
    };
    let mut file = PlanFile::new(&realistic_plan(), pool, &[]);
    file.created_at = "2026-11-25T08:00:00Z".into();
    file.tool_version = "test".into();
    let text = json::render(&file, Masker::new(true));
    assert!(
        !text.contains("alice.liu@") && !text.contains("13800000001"),
        "{text}"
    );
    assert!(
        text.contains("a***@corp.example") && text.contains("138****0001"),
        "{text}"
    );
    assert!(
        !text.contains("Alice Liu") && !text.contains("\"alice\"") && !text.contains("carol"),
        "names, usernames and photo URLs are masked too: {text}"
    );
}

#[test]
fn markdown() {
    let options = MarkdownOptions {
        cost: Some(cost()),
        limit: 50,
        ..MarkdownOptions::default()
    };
    insta::assert_snapshot!(markdown::render(&realistic_plan(), &options));
}

#[test]
fn markdown_masked_and_cut() {
    let options = MarkdownOptions {
        masker: Masker::new(true),
        limit: 1,
        ..MarkdownOptions::default()
    };
    let text = markdown::render(&realistic_plan(), &options);
    assert!(text.contains("- … and 1 more"), "{text}");
    assert!(
        !text.contains("alice.liu@") && !text.contains("13800000001"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn control_and_bidi_characters_never_reach_any_format_raw() {
    let hostile = "Mallory\u{1b}[2J\u{202e}gnp.exe\u{7f}";
    let plan = Plan {
        changes: vec![Change::Create(Create {
            key: UserKey::from_username(hostile),
            profile: Profile::default()
                .with(Field::Username, hostile)
                .with(Field::Nickname, hostile),
            password: PasswordPlan::Generated,
            origin: origin("users.yaml", 3),
        })],
        match_on: MatchOn::Username,
        ..Plan::default()
    };
    let pool = PoolRef {
        endpoint: "local".into(),
        client_id: "pool".into(),
    };
    let file = PlanFile::new(&plan, pool, &[]);
    let hidden = |text: &str| {
        text.chars()
            .any(|c| crate::model::is_hidden(c) && c != '\n')
    };
    for (format, text) in [
        ("human", human::render(&plan, &HumanOptions::default())),
        (
            "markdown",
            markdown::render(&plan, &MarkdownOptions::default()),
        ),
        ("json", json::render(&file, Masker::off())),
    ] {
        assert!(!hidden(&text), "{format}: {text:?}");
        assert!(text.contains("gnp.exe"), "{format}: the rest is shown");
    }
    // The plan file reads back with the value as it was.
    let reread: PlanFile = serde_json::from_str(&file.to_json()).unwrap();
    assert_eq!(reread.changes[0].key.as_deref(), Some(hostile));
}
