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
        mfa: None,
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
        api: None,
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
        api: None,
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
        ..MarkdownOptions::default()
    };
    insta::assert_snapshot!(markdown::render(&realistic_plan(), &options));
}

#[test]
fn markdown_masked_and_cut() {
    let options = MarkdownOptions {
        masker: Masker::new(true),
        listing: Listing {
            show: Show::First(1),
            ..Listing::default()
        },
        ..MarkdownOptions::default()
    };
    let text = markdown::render(&realistic_plan(), &options);
    assert!(text.contains("- … 1 of 2 "), "{text}");
    assert!(!text.contains("- … and 1 more"), "{text}");
    assert!(
        !text.contains("alice.liu@") && !text.contains("13800000001"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

/// How many changes of each kind a generated plan holds.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    deletes: usize,
    creates: usize,
    updates: usize,
    mfa_on: usize,
    mfa_off: usize,
    whitelist_add: usize,
    whitelist_remove: usize,
    unwhitelisted: usize,
}

/// A plan of generated changes, in plan order, with `value` as every new nickname.
fn large_plan(sizes: Sizes, value: &dyn Fn(usize) -> String) -> Plan {
    let hr = origin("manifests/hr.csv", 1);
    let mut changes = Vec::new();
    for i in 0..sizes.deletes {
        let id = format!("5f{i:022}");
        changes.push(Change::Delete(Delete {
            id: UserId::new(id.as_str()),
            key: UserKey::from_email(&format!("leaver{i}@corp.example")),
            label: format!("leaver{i}@corp.example"),
            origin: Some(origin("manifests/policy.yaml", 3)),
            fingerprint: fingerprint(&id),
        }));
    }
    for i in 0..sizes.creates {
        changes.push(Change::Create(Create {
            key: UserKey::from_email(&format!("new{i}@corp.example")),
            profile: {
                let profile = Profile::default()
                    .with(Field::Email, format!("new{i}@corp.example"))
                    .with(Field::Nickname, format!("New {i}"));
                if i % 2 == 0 {
                    profile.with(Field::Phone, format!("1390{i:07}"))
                } else {
                    profile
                }
            },
            password: PasswordPlan::Generated,
            origin: Origin::new(hr.file.clone(), 2 + i as u32),
        }));
    }
    for i in 0..sizes.updates {
        let id = format!("60{i:022}");
        let mut fields = vec![FieldChange {
            field: Field::Nickname,
            before: Some(text(&format!("User {i}"))),
            after: text(&value(i)),
        }];
        if i % 100 == 7 {
            fields.push(FieldChange {
                field: Field::Blocked,
                before: None,
                after: FieldValue::Bool(true),
            });
        }
        changes.push(Change::Update(Update {
            key: UserKey::from_email(&format!("user{i}@corp.example")),
            id: UserId::new(id.as_str()),
            renamed_from: None,
            fields,
            origin: Origin::new(hr.file.clone(), 2 + (sizes.creates + i) as u32),
            fingerprint: fingerprint(&id),
        }));
    }
    for i in 0..sizes.mfa_on + sizes.mfa_off {
        let enable = i < sizes.mfa_on;
        let target = if enable && i % 4 == 0 {
            MfaTarget::New
        } else {
            MfaTarget::Existing {
                id: UserId::new(format!("61{i:022}")),
                fingerprint: fingerprint("61"),
            }
        };
        changes.push(Change::Mfa(MfaChange {
            key: UserKey::from_email(&format!("mfa{i}@corp.example")),
            target,
            enable,
            origin: origin("manifests/mfa.yaml", 2 + i as u32),
        }));
    }
    if sizes.whitelist_add > 0 {
        changes.push(Change::WhitelistSwitch(WhitelistSwitch {
            from: false,
            to: true,
            origin: origin("manifests/whitelist.csv", 1),
        }));
    }
    for i in 0..sizes.whitelist_add {
        changes.push(Change::WhitelistAdd(WhitelistPhone {
            phone: format!("1370{i:07}"),
            origin: Some(origin("manifests/whitelist.csv", 2 + i as u32)),
        }));
    }
    for i in 0..sizes.whitelist_remove {
        changes.push(Change::WhitelistRemove(WhitelistPhone {
            phone: format!("+86 136-{i:08}"),
            origin: None,
        }));
    }
    let notices = (0..sizes.unwhitelisted)
        .map(|i| Notice::PhoneNotWhitelisted {
            key: UserKey::from_email(&format!("new{i}@corp.example")),
            phone: format!("1390{i:07}"),
            origin: Origin::new(hr.file.clone(), 2 + i as u32),
        })
        .collect();
    Plan {
        changes,
        notices,
        match_on: MatchOn::Email,
        live_users: 60_000,
        live_phones: 40,
        whitelist_fingerprint: None,
    }
}

/// The 51,000-change plan of the issue: 50,000 nicknames (a few users also blocked), 990 new
/// users, 10 deletions (the default guard), MFA both ways, 1,000 phones on the whitelist and
/// 1,000 new users the whitelist will not list.
fn issue_plan() -> Plan {
    large_plan(
        Sizes {
            deletes: 10,
            creates: 990,
            updates: 50_000,
            mfa_on: 2_000,
            mfa_off: 150,
            whitelist_add: 1_000,
            whitelist_remove: 3,
            unwhitelisted: 1_000,
        },
        &|i| format!("Renamed {i}"),
    )
}

#[test]
fn human_large_plan_is_grouped_per_kind_and_field() {
    let plan = issue_plan();
    let text = human::render(&plan, &HumanOptions::default());
    let lines = text.lines().count();
    assert!(lines < 200, "{lines} lines:\n{text}");
    for i in 0..10 {
        assert!(
            text.contains(&format!("# leaver{i}@corp.example will be deleted")),
            "deletion {i} not listed:\n{text}"
        );
    }
    assert!(
        text.contains("50,000 users will be updated in place"),
        "{text}"
    );
    assert!(text.contains("990 users will be created"), "{text}");
    assert!(text.contains("2,150 users: MFA will be switched"), "{text}");
    assert!(text.contains("… and 995 more phones"), "{text}");
    assert!(
        text.contains("… and 995 more new users who register with a phone"),
        "{text}"
    );
    // The summary line is as it always was.
    assert!(text.contains(&human::summary_line(&plan.summary())));
    insta::assert_snapshot!(text);
}

#[test]
fn human_show_all_lists_every_change_and_show_n_that_many() {
    let plan = large_plan(
        Sizes {
            creates: 150,
            updates: 3_000,
            unwhitelisted: 150,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    let all = HumanOptions {
        listing: Listing {
            show: Show::All,
            ..Listing::default()
        },
        ..HumanOptions::default()
    };
    let text = human::render(&plan, &all);
    assert_eq!(
        text.matches("@corp.example will be updated in place (")
            .count(),
        3_000
    );
    assert_eq!(text.matches("@corp.example will be created (").count(), 150);
    assert_eq!(text.matches("registers with the phone").count(), 150);
    assert!(!text.contains("--show all"), "nothing is grouped:\n{text}");
    let seven = HumanOptions {
        listing: Listing {
            show: Show::First(7),
            ..Listing::default()
        },
        ..HumanOptions::default()
    };
    let text = human::render(&plan, &seven);
    assert_eq!(
        text.matches("@corp.example will be updated in place (")
            .count(),
        7
    );
    assert_eq!(text.matches("@corp.example will be created (").count(), 7);
    assert_eq!(text.matches("registers with the phone").count(), 7);
    assert!(
        text.contains(
            "3,000 users will be updated in place (manifests/hr.csv), the first 7 listed above"
        ),
        "{text}"
    );
}

#[test]
fn human_lists_deletions_up_to_the_guard_and_says_apply_refuses_beyond_it() {
    let plan = large_plan(
        Sizes {
            deletes: 150,
            whitelist_remove: 120,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    // Within the guard: every deletion, even far above the grouping threshold.
    let within = HumanOptions {
        listing: Listing {
            show: Show::Auto,
            deletions_allowed: 150,
            removals_allowed: 200,
        },
        ..HumanOptions::default()
    };
    let text = human::render(&plan, &within);
    assert_eq!(text.matches(" will be deleted (prune at").count(), 150);
    assert_eq!(text.matches("      - phone = ").count(), 120);
    assert!(!text.contains("not listed"), "{text}");
    // Beyond the guard: as many as it allows, then why the rest is not listed.
    let beyond = HumanOptions {
        listing: Listing::default(),
        ..HumanOptions::default()
    };
    let text = human::render(&plan, &beyond);
    assert_eq!(text.matches(" will be deleted (prune at").count(), 10);
    assert!(
        text.contains("# 140 more users will be deleted (prune in manifests/policy.yaml), not listed: 150 deletions exceed the deletion limit of 10, so apply refuses this plan; `--show all` lists every one"),
        "{text}"
    );
    assert!(
        text.contains("- … and 110 more phones, not listed: 120 whitelist removals exceed the deletion limit of 10, so apply refuses this plan"),
        "{text}"
    );
}

#[test]
fn human_plans_below_the_threshold_are_listed_whole() {
    let plan = large_plan(
        Sizes {
            creates: 100,
            updates: 100,
            mfa_on: 60,
            mfa_off: 40,
            whitelist_add: 100,
            unwhitelisted: 100,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    let text = human::render(&plan, &HumanOptions::default());
    assert_eq!(
        text.matches("@corp.example will be updated in place (")
            .count(),
        100
    );
    assert_eq!(text.matches("@corp.example will be created (").count(), 100);
    assert_eq!(text.matches(": MFA will be turned").count(), 100);
    assert_eq!(text.matches("registers with the phone").count(), 100);
    assert!(!text.contains("listed above"), "{text}");
}

#[test]
fn markdown_large_plan_is_grouped() {
    let plan = issue_plan();
    let text = markdown::render(&plan, &MarkdownOptions::default());
    assert!(text.len() < 20_000, "{} bytes", text.len());
    assert!(text.contains("| update | 50,000 |"), "{text}");
    assert!(
        text.contains(
            "- … 49,995 of 50,000 updates not shown (`--show all` lists every one); all 50,000 by changed field:"
        ),
        "{text}"
    );
    assert_eq!(text.matches("`leaver").count(), 10, "{text}");
    insta::assert_snapshot!(text);
}

/// Cuts a Markdown plan into what GitHub would see as code spans and checks that every span
/// closes on its line, so a cut never leaves the rest of the comment inside one.
fn assert_code_spans_close(text: &str) {
    for line in text.lines() {
        let ticks = line.matches('`').count();
        // Fences are one backtick longer than the longest run inside, so an odd count of
        // backticks on a line means a span was cut open.
        let mut runs = Vec::new();
        let mut run = 0;
        for c in line.chars().chain(std::iter::once(' ')) {
            if c == '`' {
                run += 1;
            } else if run > 0 {
                runs.push(run);
                run = 0;
            }
        }
        let mut open: Option<usize> = None;
        for run in runs {
            match open {
                None => open = Some(run),
                Some(fence) if fence == run => open = None,
                Some(_) => {}
            }
        }
        assert!(
            open.is_none(),
            "an open code span ({ticks} backticks): {line}"
        );
    }
}

#[test]
fn markdown_stays_under_github_limit_whatever_the_plan() {
    // Adversarial values: 10,000 characters, multi-byte, with backticks and newlines (for the
    // first thousands of changes: enough to fill any comment many times over).
    let long = |i: usize| {
        if i < 2_000 {
            format!("{}`` {i}\n汉字{}", "x".repeat(4_000), "字`".repeat(3_000))
        } else {
            format!("Renamed {i}")
        }
    };
    let plan = large_plan(
        Sizes {
            deletes: 20_000,
            creates: 20_000,
            updates: 100_000,
            mfa_on: 10_000,
            mfa_off: 10_000,
            whitelist_add: 10_000,
            whitelist_remove: 10_000,
            unwhitelisted: 20_000,
        },
        &long,
    );
    let warnings: Vec<String> = (0..50)
        .map(|i| format!("apply would refuse this plan {i}: {}", "<b>|".repeat(1_000)))
        .collect();
    for show in [Show::Auto, Show::All, Show::First(1_000)] {
        let options = MarkdownOptions {
            listing: Listing {
                show,
                deletions_allowed: u64::MAX,
                removals_allowed: u64::MAX,
            },
            warnings: warnings.clone(),
            cost: Some(cost()),
            ..MarkdownOptions::default()
        };
        let text = markdown::render(&plan, &options);
        assert!(
            text.len() <= markdown::MAX_BYTES,
            "{show:?}: {} bytes",
            text.len()
        );
        assert!(text.chars().count() <= markdown::GITHUB_COMMENT_LIMIT);
        // What a reviewer must see survives the cut: the counts, the summary, the first
        // deletions, the guard's warning, and a visible note where lists were cut.
        assert!(text.contains("| delete | 20,000 |"), "{text}");
        assert!(
            text.contains(&human::summary_line(&plan.summary())),
            "{show:?}"
        );
        assert!(text.contains("`leaver0@corp.example`"), "{show:?}");
        assert!(text.contains("apply would refuse this plan 0"), "{show:?}");
        assert!(text.contains("<sub>Read 120 users"), "{show:?}");
        assert!(
            text.contains("the comment would pass GitHub's limit of 65,536 characters"),
            "{show:?}"
        );
        assert!(!text.contains(&"x".repeat(200)), "values are cut");
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
        assert_code_spans_close(&text);
    }
}

/// The one line of a Markdown list that says how many of it are not shown: `(not shown, of)`.
/// Fails when a list has two such lines (a reviewer would have to add them up).
fn not_shown(text: &str, noun: &str) -> Option<(usize, usize)> {
    let number = |text: &str| text.replace(',', "").parse::<usize>().unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(&format!(" {noun} not shown")))
        .collect();
    assert!(lines.len() <= 1, "{lines:#?}");
    assert!(
        !text.contains("more not shown: the comment"),
        "a second cut line: {text}"
    );
    let line = lines.first()?;
    let words: Vec<&str> = line.split(' ').collect();
    // `- … N of T noun not shown…`
    assert_eq!(&words[..2], &["-", "…"], "{line}");
    assert_eq!(words[3], "of", "{line}");
    Some((number(words[2]), number(words[4])))
}

#[test]
fn markdown_says_once_per_list_how_many_are_not_shown_and_lists_a_sample_of_each() {
    // (a) 3,000 phones in, 3,000 out, removals allowed (`--max-deletes 100%`).
    let plan = large_plan(
        Sizes {
            whitelist_add: 3_000,
            whitelist_remove: 3_000,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    let all = Listing {
        show: Show::Auto,
        deletions_allowed: u64::MAX,
        removals_allowed: u64::MAX,
    };
    let options = MarkdownOptions {
        listing: all,
        ..MarkdownOptions::default()
    };
    let text = markdown::render(&plan, &options);
    assert!(text.len() <= markdown::MAX_BYTES);
    let adds = text.matches("\n- add `").count();
    let removes = text.matches("\n- remove `").count();
    assert!(adds >= 1, "no addition listed: {text}");
    assert_eq!(not_shown(&text, "additions"), Some((3_000 - adds, 3_000)));
    assert_eq!(not_shown(&text, "removals"), Some((3_000 - removes, 3_000)));
    assert!(
        text.contains("<summary>Whitelist (6,001)</summary>"),
        "{text}"
    );

    // (b) deletions past both the guard and the comment: one line with the total.
    let plan = large_plan(
        Sizes {
            deletes: 18_733,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    let options = MarkdownOptions {
        listing: Listing {
            deletions_allowed: 13_933,
            ..all
        },
        ..MarkdownOptions::default()
    };
    let text = markdown::render(&plan, &options);
    let listed = text.matches("\n- `leaver").count();
    assert!(listed > 0 && listed < 13_933, "{listed}");
    assert_eq!(
        not_shown(&text, "deletions"),
        Some((18_733 - listed, 18_733))
    );
    let line = text
        .lines()
        .find(|line| line.contains("deletions not shown"))
        .unwrap();
    assert!(
        line.contains("exceed the deletion limit of 13,933"),
        "{line}"
    );
    assert!(
        line.contains("GitHub's limit of 65,536 characters"),
        "{line}"
    );

    // (c) a few warnings are not crowded out by thousands of phones; creations and MFA keep
    // their first line too.
    let plan = large_plan(
        Sizes {
            creates: 500,
            mfa_on: 200,
            whitelist_remove: 6_000,
            unwhitelisted: 500,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    let options = MarkdownOptions {
        listing: all,
        ..MarkdownOptions::default()
    };
    let text = markdown::render(&plan, &options);
    assert!(text.len() <= markdown::MAX_BYTES);
    assert_eq!(
        text.matches("- :warning: `new").count(),
        layout::LISTED_WHEN_GROUPED,
        "{text}"
    );
    assert!(text.contains("**Warnings (500)**"), "{text}");
    assert!(text.contains("- `new0@corp.example` — "), "{text}");
    assert!(text.contains("- `mfa0@corp.example`"), "{text}");
    let removes = text.matches("\n- remove `").count();
    assert!(removes > 100, "{removes}");
    assert_eq!(not_shown(&text, "removals"), Some((6_000 - removes, 6_000)));
}

#[test]
fn markdown_warns_of_whitelist_removals_as_of_deletions() {
    let plan = large_plan(
        Sizes {
            whitelist_remove: 12,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    let text = markdown::render(&plan, &MarkdownOptions::default());
    assert!(
        text.contains("> [!WARNING]\n> **12 phones will be removed from the whitelist.**"),
        "{text}"
    );
    assert!(!text.contains("will be deleted"), "{text}");
}

#[test]
fn markdown_shows_line_breaks_and_tabs_as_the_human_plan_does_and_cuts_between_escapes() {
    let value = |i: usize| match i {
        0 => "Line1\r\nline2\tTab".to_string(),
        _ => format!("{}{}", "x".repeat(110), "\u{202e}".repeat(20)),
    };
    let plan = large_plan(
        Sizes {
            updates: 2,
            ..Sizes::default()
        },
        &value,
    );
    let human = human::render(&plan, &HumanOptions::default());
    let markdown = markdown::render(&plan, &MarkdownOptions::default());
    assert!(human.contains(r#""Line1\r\nline2\tTab""#), "{human}");
    assert!(markdown.contains(r"`Line1\r\nline2\tTab`"), "{markdown}");
    let cut = format!("`{}\\u{{202e}}…`", "x".repeat(110));
    assert!(markdown.contains(&cut), "{markdown}");
}

#[test]
fn deletions_are_listed_in_natural_order_and_json_keeps_the_plan_order() {
    let mut plan = large_plan(
        Sizes {
            deletes: 12,
            ..Sizes::default()
        },
        &|i| format!("Renamed {i}"),
    );
    // The plan as the diff might order it: as text (`leaver10` before `leaver2`).
    plan.changes.sort_by_key(|change| match change {
        Change::Delete(delete) => delete.label.clone(),
        _ => String::new(),
    });
    let human = human::render(&plan, &HumanOptions::default());
    let markdown = markdown::render(&plan, &MarkdownOptions::default());
    for text in [&human, &markdown] {
        let at = |name: &str| text.find(&format!("{name}@")).unwrap();
        assert!(at("leaver2") < at("leaver9"), "{text}");
        assert!(at("leaver9") < at("leaver10"), "{text}");
        assert!(at("leaver10") < at("leaver11"), "{text}");
    }
    let pool = PoolRef {
        endpoint: "local".into(),
        client_id: "pool".into(),
        api: None,
    };
    let json = json::render(&PlanFile::new(&plan, pool, &[]), Masker::off());
    assert!(json.find("leaver10@").unwrap() < json.find("leaver2@").unwrap());
}

#[test]
fn human_plan_cuts_long_values_unless_show_all() {
    let huge = "公".repeat(100_000);
    let plan = large_plan(
        Sizes {
            updates: 1,
            ..Sizes::default()
        },
        &|_| huge.clone(),
    );
    let text = human::render(&plan, &HumanOptions::default());
    let longest = text.lines().map(|line| line.chars().count()).max().unwrap();
    assert!(longest < 400, "{longest}");
    assert!(
        text.contains(&format!(
            "\"{}\"… (99,800 more characters; `--show all` or `--format json` shows it whole)",
            "公".repeat(200)
        )),
        "{text}"
    );
    let all = HumanOptions {
        listing: Listing {
            show: Show::All,
            ..Listing::default()
        },
        ..HumanOptions::default()
    };
    let text = human::render(&plan, &all);
    assert!(text.contains(&format!("\"{huge}\"")));
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
        api: None,
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
    assert_eq!(
        reread.changes[0].key.as_deref(),
        Some(UserKey::from_username(hostile).as_str())
    );
}

/// The grouped blocks' samples are user data: escaped in both formats, masked by `--mask-pii`.
#[test]
fn grouped_samples_are_escaped_and_masked() {
    let plan = large_plan(
        Sizes {
            creates: 150,
            updates: 150,
            mfa_on: 150,
            unwhitelisted: 150,
            ..Sizes::default()
        },
        &|i| format!("Evil\u{1b}[2J\u{202e}{i}"),
    );
    let hidden = |text: &str| {
        text.chars()
            .any(|c| crate::model::is_hidden(c) && c != '\n')
    };
    for masker in [Masker::off(), Masker::new(true)] {
        let human = human::render(
            &plan,
            &HumanOptions {
                masker,
                ..HumanOptions::default()
            },
        );
        let markdown = markdown::render(
            &plan,
            &MarkdownOptions {
                masker,
                ..MarkdownOptions::default()
            },
        );
        for (format, text) in [("human", human), ("markdown", markdown)] {
            assert!(!hidden(&text), "{format}: {text}");
            assert!(text.contains("by changed field"), "{format}: {text}");
            if masker == Masker::off() {
                // Updates 0 to 4 are listed in full: the 5th is the grouped sample.
                assert!(
                    text.contains("user5@corp.example") && text.contains(r"Evil\u{1b}[2J\u{202e}5"),
                    "{format}: {text}"
                );
            } else {
                for clear in ["Evil", "user5@", "new5@", "mfa5@", "New 5"] {
                    assert!(
                        !text.contains(clear),
                        "{format} masked shows {clear}: {text}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_plan_for_people_states_its_mfa_reads_near_the_summary() {
    let cost = PlanCost {
        mfa: Some(crate::plan::MfaReads {
            read: 300,
            from_cache: 2700,
            oldest_cached_at: Some("2026-11-27T02:00:00Z".into()),
            oldest_cached_age_seconds: Some(600),
            budget: Some(300),
            refresh: false,
        }),
        ..cost()
    };
    let line = "MFA states: 300 read, 2700 from the cache (the oldest read 10m ago; --mfa-read-budget 300).";
    let text = human::render(
        &realistic_plan(),
        &HumanOptions {
            cost: Some(cost.clone()),
            ..HumanOptions::default()
        },
    );
    let tail: Vec<&str> = text.lines().rev().take(3).collect();
    assert_eq!(tail[0], line, "{text}");
    assert!(tail[2].starts_with("Plan: "), "{text}");
    let text = markdown::render(
        &realistic_plan(),
        &MarkdownOptions {
            cost: Some(cost),
            ..MarkdownOptions::default()
        },
    );
    assert!(text.contains(&format!("<sub>{line}</sub>")), "{text}");
}
