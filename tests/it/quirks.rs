//! Issue 12: the real binary against a scripted Authing that gives the answers our emulator
//! never gives but the real service may: counts and codes as strings, `list: null`, a bare object
//! where the schema says list, validation refusals wrapped as Authing error objects, a server that
//! knows only the 2019 whitelist spellings or has no `createUser`, a per-IP registration limit
//! answered with 2100, refused owner tokens, and in-band failures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::scripted::{Scripted, respond_with};
use crate::support::{Sync, temp_dir, write_file};

/// What the scripted Authing does differently from the emulator.
#[derive(Debug, Clone, Default)]
struct Quirks {
    /// `totalCount` and error codes as strings, an empty list as `null`, a list of one as a bare
    /// object (`queryInvitation`, `removeUsers`).
    loose: bool,
    /// The first `users` request is refused with this Authing code (as a string).
    refuse_first_users: Option<&'static str>,
    /// Every `users` request is refused with this Authing code.
    refuse_all_users: Option<&'static str>,
    /// Knows only `qrCodePhone`/`enableQrCode`.
    spelling_2019: bool,
    /// Has no `createUser`.
    without_create_user: bool,
    /// At most this many `register` calls per window, then 2100 with `Retry-After`.
    register_limit: Option<(usize, Duration)>,
    /// What `sendResetPasswordEmail` answers.
    reset_email: Option<Value>,
    /// Creations copy a photo from another host to Authing's CDN and store the copy's URL, as
    /// Authing documents for `register`; `updateUser` stores what it is given.
    copies_photos: bool,
}

#[derive(Debug, Default)]
struct State {
    users: Vec<Value>,
    phones: Vec<String>,
    whitelist_on: bool,
    registrations: Vec<Instant>,
    /// Requests per root field, refusals included.
    operations: BTreeMap<String, u64>,
    /// Documents refused as invalid.
    refused_documents: u64,
    /// Registrations refused with 2100.
    limited: u64,
    first_users_refused: bool,
    next_id: u64,
    tokens: u64,
}

/// A scripted Authing: the operations this client sends, over a small in-memory pool.
struct Fake {
    quirks: Quirks,
    state: Mutex<State>,
}

/// The root fields this client sends, longest first where one is a prefix of another.
const ROOT_FIELDS: [&str; 14] = [
    "getClientWhenSdkInit",
    "createUser",
    "register",
    "updateUser",
    "removeUsers",
    "userPatch",
    "users",
    "queryInvitationState",
    "queryInvitation",
    "setInvitationState",
    "addToInvitation",
    "removeFromInvitation",
    "sendResetPasswordEmail",
    "refreshToken",
];

fn root_field(query: &str) -> &'static str {
    ROOT_FIELDS
        .into_iter()
        .find(|field| query.contains(&format!("{field}(")))
        .unwrap_or("unknown")
}

/// HTTP status, extra headers and body.
type Answer = (u16, Vec<(&'static str, String)>, Value);

fn data(field: &str, value: Value) -> Answer {
    (200, Vec::new(), json!({ "data": { field: value } }))
}

impl Fake {
    fn start(
        quirks: Quirks,
        users: Vec<Value>,
        phones: &[&str],
        whitelist_on: bool,
    ) -> (Scripted, Arc<Fake>) {
        let fake = Arc::new(Fake {
            quirks,
            state: Mutex::new(State {
                next_id: users.len() as u64,
                users,
                phones: phones.iter().map(|phone| phone.to_string()).collect(),
                whitelist_on,
                ..State::default()
            }),
        });
        let serving = Arc::clone(&fake);
        let server = Scripted::start(move |seen, stream| {
            let (status, headers, body) = serving.answer(&seen.query(), &seen.variables());
            respond_with(stream, status, &headers, &body.to_string())
        });
        (server, fake)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state")
    }

    fn count(&self, field: &str) -> u64 {
        self.state().operations.get(field).copied().unwrap_or(0)
    }

    /// An Authing error object, the code a string when the server is loose.
    fn error(&self, field: &str, code: i64, message: &str) -> Answer {
        let code = if self.quirks.loose {
            Value::from(code.to_string())
        } else {
            Value::from(code)
        };
        (
            200,
            Vec::new(),
            json!({
                "errors": [{"message": {"code": code, "message": message}, "path": [field]}],
                "data": { field: null },
            }),
        )
    }

    /// A validation refusal wrapped as an Authing error object, as Authing wraps every error.
    fn invalid(&self, message: &str) -> Answer {
        self.state().refused_documents += 1;
        (
            200,
            Vec::new(),
            json!({"errors": [{"message": {"code": 500, "message": message}}]}),
        )
    }

    fn user_count(&self, count: usize) -> Value {
        if self.quirks.loose {
            Value::from(count.to_string())
        } else {
            Value::from(count)
        }
    }

    /// A list, or `null` for an empty one and the bare item for a list of one when loose.
    fn list(&self, items: Vec<Value>) -> Value {
        match (self.quirks.loose, items.len()) {
            (true, 0) => Value::Null,
            (true, 1) => items.into_iter().next().unwrap_or(Value::Null),
            _ => Value::from(items),
        }
    }

    fn answer(&self, query: &str, variables: &Value) -> Answer {
        let field = root_field(query);
        *self
            .state()
            .operations
            .entry(field.to_string())
            .or_default() += 1;
        let quirks = &self.quirks;
        match field {
            "getClientWhenSdkInit" => {
                let mut state = self.state();
                state.tokens += 1;
                let token = format!("owner-{}", state.tokens);
                data(field, json!({ "accessToken": token }))
            }
            "users" => {
                if let Some(code) = quirks.refuse_all_users {
                    return self.error(field, code.parse().unwrap_or(0), "无权限执行此项操作");
                }
                if let Some(code) = quirks.refuse_first_users {
                    let mut state = self.state();
                    if !state.first_users_refused {
                        state.first_users_refused = true;
                        drop(state);
                        return self.error(
                            field,
                            code.parse().unwrap_or(0),
                            "登录信息已过期, 需重新登录",
                        );
                    }
                }
                let page = variables["page"].as_u64().unwrap_or(1).max(1) as usize;
                let count = variables["count"].as_u64().unwrap_or(10) as usize;
                let users = self.state().users.clone();
                let total = users.len();
                let list: Vec<Value> = users
                    .into_iter()
                    .skip((page - 1) * count)
                    .take(count)
                    .collect();
                let list = if quirks.loose && list.is_empty() {
                    Value::Null
                } else {
                    Value::from(list)
                };
                data(
                    field,
                    json!({ "totalCount": self.user_count(total), "list": list }),
                )
            }
            "userPatch" => {
                let ids: Vec<&str> = variables["ids"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .collect();
                let found: Vec<Value> = self
                    .state()
                    .users
                    .iter()
                    .filter(|user| ids.contains(&user["_id"].as_str().unwrap_or_default()))
                    .cloned()
                    .collect();
                let total = found.len();
                let list = if quirks.loose && found.is_empty() {
                    Value::Null
                } else {
                    Value::from(found)
                };
                data(
                    field,
                    json!({ "totalCount": self.user_count(total), "list": list }),
                )
            }
            "createUser" if quirks.without_create_user => {
                self.invalid(r#"Cannot query field "createUser" on type "Mutation"."#)
            }
            "createUser" => self.create(field, &variables["userInfo"]),
            "register" => {
                if let Some((limit, window)) = quirks.register_limit {
                    let mut state = self.state();
                    let now = Instant::now();
                    state
                        .registrations
                        .retain(|at| now.duration_since(*at) < window);
                    if state.registrations.len() >= limit {
                        state.limited += 1;
                        drop(state);
                        let (status, _, body) = self.error(field, 2100, "注册过于频繁，请稍候再试");
                        return (
                            status,
                            vec![("Retry-After", window.as_secs().max(1).to_string())],
                            body,
                        );
                    }
                    state.registrations.push(now);
                }
                self.create(field, variables)
            }
            "updateUser" => {
                let mut state = self.state();
                let Some(user) = state
                    .users
                    .iter_mut()
                    .find(|user| user["_id"] == variables["_id"])
                else {
                    drop(state);
                    return self.error(field, 2004, "用户不存在");
                };
                for (key, value) in variables.as_object().into_iter().flatten() {
                    if key != "_id" && key != "registerInClient" && key != "password" {
                        user[key] = value.clone();
                    }
                }
                let user = user.clone();
                data(field, user)
            }
            "removeUsers" => {
                let ids: Vec<Value> = variables["ids"].as_array().cloned().unwrap_or_default();
                let mut state = self.state();
                let removed: Vec<Value> = state
                    .users
                    .iter()
                    .filter(|user| ids.contains(&user["_id"]))
                    .map(|user| json!({ "_id": user["_id"] }))
                    .collect();
                state.users.retain(|user| !ids.contains(&user["_id"]));
                drop(state);
                data(field, self.list(removed))
            }
            "queryInvitationState" => {
                let spelling = self.spelling(query);
                if quirks.spelling_2019 && spelling == 2020 {
                    return self
                        .invalid(r#"Cannot query field "enablePhone" on type "InvitationState"."#);
                }
                let on = self.state().whitelist_on;
                let key = if spelling == 2019 {
                    "enableQrCode"
                } else {
                    "enablePhone"
                };
                data(field, json!({ "client": "scripted", key: on }))
            }
            "queryInvitation" => {
                let spelling = self.spelling(query);
                if quirks.spelling_2019 && spelling == 2020 {
                    return self.invalid(r#"Cannot query field "phone" on type "Invitation"."#);
                }
                let key = if spelling == 2019 {
                    "qrCodePhone"
                } else {
                    "phone"
                };
                let entries: Vec<Value> = self
                    .state()
                    .phones
                    .iter()
                    .map(|phone| json!({ "client": "scripted", key: phone }))
                    .collect();
                data(field, self.list(entries))
            }
            "setInvitationState" => {
                let spelling = self.spelling(query);
                if quirks.spelling_2019 && spelling == 2020 {
                    return self.invalid(r#"Unknown argument "enablePhone" on field "setInvitationState" of type "Mutation"."#);
                }
                let key = if spelling == 2019 {
                    "enableQrCode"
                } else {
                    "enablePhone"
                };
                let on = variables[key].as_bool().unwrap_or(false);
                self.state().whitelist_on = on;
                data(field, json!({ "client": "scripted", key: on }))
            }
            "addToInvitation" | "removeFromInvitation" => {
                let spelling = self.spelling(query);
                if quirks.spelling_2019 && spelling == 2020 {
                    return self.invalid(&format!(
                        r#"Unknown argument "phone" on field "{field}" of type "Mutation"."#
                    ));
                }
                let key = if spelling == 2019 {
                    "qrCodePhone"
                } else {
                    "phone"
                };
                let phone = variables[key].as_str().unwrap_or_default().to_string();
                let mut state = self.state();
                if field == "addToInvitation" {
                    if !state.phones.contains(&phone) {
                        state.phones.push(phone.clone());
                    }
                } else {
                    state.phones.retain(|listed| *listed != phone);
                }
                data(field, json!({ "client": "scripted", key: phone }))
            }
            "sendResetPasswordEmail" => data(
                field,
                quirks
                    .reset_email
                    .clone()
                    .unwrap_or_else(|| json!({"message": "发送成功", "code": 200, "status": true})),
            ),
            _ => (
                400,
                Vec::new(),
                json!({"errors": [{"message": format!("unexpected document: {query}")}]}),
            ),
        }
    }

    /// Which spelling a whitelist document uses.
    fn spelling(&self, query: &str) -> u16 {
        if query.contains("qrCodePhone") || query.contains("enableQrCode") {
            2019
        } else {
            2020
        }
    }

    /// A new user from `register`'s variables or `createUser`'s `userInfo`.
    fn create(&self, field: &str, info: &Value) -> Answer {
        assert!(
            info["password"]
                .as_str()
                .is_some_and(|password| password.len() > 100),
            "the password travels encrypted: {info}"
        );
        assert_eq!(info["registerInClient"], "scripted");
        let mut state = self.state();
        let email = info["email"].clone();
        if state.users.iter().any(|user| user["email"] == email) {
            drop(state);
            return self.error(field, 2026, "用户已存在，请不要重复注册");
        }
        state.next_id += 1;
        let mut user = json!({
            "_id": format!("{:024x}", state.next_id),
            "emailVerified": false,
            "blocked": false,
        });
        for (key, value) in info.as_object().into_iter().flatten() {
            if key != "password" && key != "registerInClient" {
                user[key] = value.clone();
            }
        }
        if self.quirks.copies_photos
            && user["photo"]
                .as_str()
                .is_some_and(|photo| !photo.starts_with("https://usercontents.authing.cn/"))
        {
            user["photo"] = Value::from(format!(
                "https://usercontents.authing.cn/avatar-{}-1582558729878",
                user["_id"].as_str().unwrap_or_default()
            ));
        }
        state.users.push(user.clone());
        data(field, user)
    }
}

fn existing(i: u64, email: &str, nickname: &str) -> Value {
    json!({
        "_id": format!("{i:024x}"),
        "email": email,
        "username": null,
        "nickname": nickname,
        "emailVerified": false,
        "blocked": false,
    })
}

/// `authing-sync <args>` against the scripted server.
fn sync(server: &Scripted, dir: &std::path::Path, args: &[&str]) -> Sync {
    Sync::new(dir)
        .args(args.iter().copied())
        .args([
            "--endpoint",
            server.url.as_str(),
            "--client-id",
            "scripted",
            "--retries",
            "1",
        ])
        .env("AUTHING_SECRET", "scripted-pool-secret")
}

#[test]
fn issue_12_plan_and_apply_read_loose_answers() {
    let quirks = Quirks {
        loose: true,
        refuse_first_users: Some("2206"),
        ..Quirks::default()
    };
    let (server, fake) = Fake::start(
        quirks,
        vec![
            existing(1, "kept@example.com", "Kept"),
            existing(2, "leaver@example.com", "Leaver"),
        ],
        &["13800000000"],
        true,
    );
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: kept@example.com\n    nickname: Kept\n  - email: new@example.com\n    nickname: New\n    password: Initial-Passw0rd\nwhitelist:\n  enabled: true\n  phones: [\"13800000000\"]\nprune:\n  enabled: true\n",
    );
    let plan = sync(&server, dir.path(), &["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(
        plan.stdout
            .contains("Plan: 1 to create, 0 to update, 1 to delete"),
        "{}",
        plan.stdout
    );
    // The first `users` call was refused with the code as a string: the token was renewed.
    assert_eq!(fake.count("getClientWhenSdkInit"), 2);
    assert_eq!(fake.count("users"), 2);

    let apply = sync(
        &server,
        dir.path(),
        &["apply", "-f", &manifest, "--auto-approve"],
    )
    .run()
    .expect(0);
    assert!(apply.stderr.contains("1 created"), "{}", apply.stderr);
    assert!(apply.stderr.contains("1 deleted"), "{}", apply.stderr);
    let emails: Vec<Value> = fake
        .state()
        .users
        .iter()
        .map(|user| user["email"].clone())
        .collect();
    assert_eq!(
        emails,
        [json!("kept@example.com"), json!("new@example.com")]
    );
    assert_eq!(fake.count("createUser"), 1);
    assert_eq!(fake.count("register"), 0);

    // The one removed user came back as a bare object; nothing was re-read as unconfirmed.
    assert_eq!(fake.count("userPatch"), 0);
    let again = sync(
        &server,
        dir.path(),
        &["plan", "-f", &manifest, "--detailed-exitcode"],
    )
    .run()
    .expect(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn issue_12_an_empty_page_may_be_null() {
    let quirks = Quirks {
        loose: true,
        ..Quirks::default()
    };
    let (server, _fake) = Fake::start(quirks, Vec::new(), &[], false);
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let plan = sync(&server, dir.path(), &["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(plan.stdout.contains("Plan: 1 to create"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Read 0 users"), "{}", plan.stdout);
}

#[test]
fn issue_12_a_2019_server_that_wraps_validation_errors_as_objects() {
    let quirks = Quirks {
        spelling_2019: true,
        ..Quirks::default()
    };
    let (server, fake) = Fake::start(quirks, Vec::new(), &["13900000000"], false);
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "whitelist.yaml",
        "version: 1\nwhitelist:\n  enabled: true\n  phones: [\"13800000000\", \"13700000000\"]\n",
    );
    let apply = sync(
        &server,
        dir.path(),
        &["apply", "-f", &manifest, "--auto-approve"],
    )
    .run()
    .expect(0);
    assert!(
        apply
            .stdout
            .contains("whitelist +2 -1, whitelist switch on"),
        "{}",
        apply.stdout
    );
    {
        let state = fake.state();
        assert!(state.whitelist_on);
        let mut phones = state.phones.clone();
        phones.sort();
        assert_eq!(phones, ["13700000000", "13800000000"]);
        // One refusal found the spelling; every later call used the 2019 one.
        assert_eq!(state.refused_documents, 1, "{:?}", state.operations);
    }
    let plan = sync(
        &server,
        dir.path(),
        &["plan", "-f", &manifest, "--detailed-exitcode"],
    )
    .run()
    .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert_eq!(fake.state().refused_documents, 2);
}

#[test]
fn issue_12_a_reset_email_refused_in_band_fails_the_apply() {
    for answer in [
        json!({"message": "用户不存在", "code": 2004, "status": false}),
        json!({"message": "邮件发送失败", "code": "500"}),
    ] {
        let code = answer["code"].to_string().replace('"', "");
        let quirks = Quirks {
            reset_email: Some(answer),
            ..Quirks::default()
        };
        let (server, fake) = Fake::start(quirks, Vec::new(), &[], false);
        let dir = temp_dir();
        let manifest = write_file(
            dir.path(),
            "one.yaml",
            "version: 1\nusers:\n  - email: hire@example.com\n",
        );
        let apply = sync(
            &server,
            dir.path(),
            &[
                "apply",
                "-f",
                &manifest,
                "--auto-approve",
                "--send-reset-email",
            ],
        )
        .run()
        .expect(4);
        assert!(
            apply.stderr.contains(&format!("(code {code})")),
            "{code}: {}",
            apply.stderr
        );
        assert!(
            apply.stderr.contains("reset-password email was NOT sent"),
            "{}",
            apply.stderr
        );
        assert_eq!(fake.count("sendResetPasswordEmail"), 1, "not retried");
        assert_eq!(fake.state().users.len(), 1, "the user was created");
    }
}

#[test]
fn issue_12_without_create_user_registrations_wait_out_the_limit() {
    let quirks = Quirks {
        without_create_user: true,
        register_limit: Some((3, Duration::from_secs(1))),
        ..Quirks::default()
    };
    let (server, fake) = Fake::start(quirks, Vec::new(), &[], false);
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in 0..10 {
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    nickname: Hire {i}\n"
        ));
    }
    let manifest = write_file(dir.path(), "hires.yaml", &yaml);
    let apply = sync(
        &server,
        dir.path(),
        &["apply", "-f", &manifest, "--auto-approve"],
    )
    .run()
    .expect(0);
    assert!(apply.stderr.contains("10 created"), "{}", apply.stderr);
    assert!(
        apply.stderr.contains(
            "creations: waiting 1s: Authing refused a registration as too frequent (2100"
        ),
        "{}",
        apply.stderr
    );
    {
        let state = fake.state();
        assert_eq!(state.users.len(), 10, "no duplicates");
        assert!(state.limited >= 3, "the limit was hit: {}", state.limited);
    }
    // Refused once as unknown, then never tried again.
    assert_eq!(fake.count("createUser"), 1);
    let plan = sync(
        &server,
        dir.path(),
        &["plan", "-f", &manifest, "--detailed-exitcode"],
    )
    .run()
    .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[test]
fn issue_12_a_refused_owner_token_is_renewed_once_then_fatal() {
    let quirks = Quirks {
        refuse_all_users: Some("1001"),
        ..Quirks::default()
    };
    let (server, fake) = Fake::start(quirks, Vec::new(), &[], false);
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let plan = sync(&server, dir.path(), &["plan", "-f", &manifest])
        .run()
        .expect(1);
    assert!(
        plan.stderr.contains("authing error 1001"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("no longer accepts the owner token"),
        "{}",
        plan.stderr
    );
    assert_eq!(fake.count("getClientWhenSdkInit"), 2);
    assert_eq!(fake.count("users"), 2);
}

#[test]
fn issue_12_photos_authing_copies_are_set_after_creation_or_explained() {
    let quirks = Quirks {
        copies_photos: true,
        ..Quirks::default()
    };
    let mut copied = existing(1, "old@example.com", "Old");
    copied["photo"] = json!("https://usercontents.authing.cn/avatar-u1-1582558729878");
    let (server, fake) = Fake::start(quirks, vec![copied], &[], false);
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "photos.yaml",
        "version: 1\nusers:\n  - email: old@example.com\n    photo: https://example.com/old.png\n  - email: new@example.com\n    photo: https://example.com/new.png\n",
    );
    let apply = sync(
        &server,
        dir.path(),
        &["apply", "-f", &manifest, "--auto-approve"],
    )
    .run()
    .expect(0);
    assert!(
        apply.stdout.contains("Plan: 1 to create, 0 to update"),
        "the copy is not re-sent: {}",
        apply.stdout
    );
    let new = fake
        .state()
        .users
        .iter()
        .find(|user| user["email"] == "new@example.com")
        .cloned()
        .expect("created");
    assert_eq!(
        new["photo"], "https://example.com/new.png",
        "set after the creation, so not copied"
    );
    let plan = sync(
        &server,
        dir.path(),
        &["plan", "-f", &manifest, "--detailed-exitcode"],
    )
    .run()
    .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("old@example.com: the pool's photo \"https://usercontents.authing.cn/avatar-u1-1582558729878\" is on Authing's CDN"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("new@example.com: the pool's photo"),
        "{}",
        plan.stdout
    );
}
