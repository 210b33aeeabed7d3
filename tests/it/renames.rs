//! Renames that keep the user: `renamed_from` (an email change under `match_on: email`) and
//! `id` (any key change), checked through raw GraphQL, independently of the client under test:
//! the user keeps its id and its MFA enrolment, a new user may take the old key in the same run,
//! prune never deletes the renamed user, saved plans carry renames, and what cannot be decided
//! is a located error.

use serde_json::{Value, json};

use crate::support::{Emulator, Sync, pool, read_pool, temp_dir, write_file};

/// The id of the generated user `user{i}@example.com`.
async fn id_of(emulator: &Emulator, email: &str) -> String {
    read_pool(emulator, false).await.user(email).id.clone()
}

/// The raw user with this id: `_id email username emailVerified`.
async fn by_id(emulator: &Emulator, id: &str) -> Option<Value> {
    pool::raw_users(emulator, "_id email username nickname emailVerified")
        .await
        .into_iter()
        .find(|user| user["_id"] == json!(id))
}

#[tokio::test]
async fn an_email_change_with_renamed_from_keeps_the_user_its_mfa_and_frees_the_old_address() {
    let emulator = Emulator::builder().generate(3).start();
    pool::enable_mfa(&emulator, "user2@example.com").await;
    let old_id = id_of(&emulator, "user2@example.com").await;
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n  - email: user2.chen@example.com\n    renamed_from: user2@example.com\n    nickname: Chen\n    email_verified: true\n    mfa: true\n  - email: user2@example.com\n    nickname: Someone New\n  - email: user3@example.com\nprune:\n  enabled: true\n  max_deletes: 0\n",
    );

    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--format", "json"])
        .run()
        .expect(0);
    let plan: Value = serde_json::from_str(&plan.stdout).expect("JSON plan");
    assert_eq!(
        plan["summary"],
        json!({"create": 1, "update": 1, "delete": 0, "mfa_enable": 0, "mfa_disable": 0,
               "whitelist_add": 0, "whitelist_remove": 0, "whitelist_switch": null}),
        "one rename, one new user for the freed address, nothing deleted: {plan}"
    );
    let rename = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["action"] == "update")
        .unwrap();
    assert_eq!(rename["key"], "user2.chen@example.com");
    assert_eq!(rename["renamed_from"], "user2@example.com");
    assert_eq!(rename["id"], json!(old_id));
    assert_eq!(
        rename["fields"]["email"],
        json!({"from": "user2@example.com", "to": "user2.chen@example.com"})
    );
    assert_eq!(rename["origin"]["line"], 4);

    let human = Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    assert!(
        human.stdout.contains(
            "user2.chen@example.com will be updated in place, renamed from user2@example.com"
        ),
        "{}",
        human.stdout
    );

    let renamed = by_id(&emulator, &old_id).await.expect("the same user");
    assert_eq!(renamed["email"], "user2.chen@example.com");
    assert_eq!(renamed["nickname"], "Chen");
    assert_eq!(
        renamed["emailVerified"], true,
        "sent with the email change, which clears it"
    );
    assert!(
        pool::mfa_enabled(&emulator, &old_id).await,
        "the MFA enrolment stays"
    );
    let pool = read_pool(&emulator, false).await;
    assert_eq!(
        pool.users.len(),
        4,
        "three generated users and one new: {pool:?}"
    );
    let newcomer = pool.user("user2@example.com");
    assert_ne!(newcomer.id, old_id, "the old address went to a new user");
    assert_eq!(newcomer.nickname.as_deref(), Some("Someone New"));

    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

#[tokio::test]
async fn a_key_change_with_an_id_keeps_the_user_and_its_mfa() {
    let emulator = Emulator::builder().generate(2).start();
    pool::enable_mfa(&emulator, "user1@example.com").await;
    let id = id_of(&emulator, "user1@example.com").await;
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "users.yaml",
        &format!(
            "version: 1\nmatch_on: username\nusers:\n  - id: {id}\n    username: alice\n    email: alice@example.com\n    mfa: true\n  - username: user2\n"
        ),
    );
    let apply = Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    assert!(
        apply
            .stdout
            .contains("Plan: 0 to create, 1 to update, 0 to delete"),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stdout
            .contains("alice will be updated in place, renamed from user1"),
        "{}",
        apply.stdout
    );
    let user = by_id(&emulator, &id).await.expect("the same user");
    assert_eq!(
        (user["username"].as_str(), user["email"].as_str()),
        (Some("alice"), Some("alice@example.com"))
    );
    assert!(pool::mfa_enabled(&emulator, &id).await, "MFA kept");
    assert_eq!(read_pool(&emulator, false).await.users.len(), 2);
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

#[tokio::test]
async fn an_export_with_ids_lets_a_key_change_be_planned_as_a_rename() {
    let emulator = Emulator::builder().generate(2).start();
    let dir = temp_dir();
    Sync::on(&emulator, dir.path())
        .args(["export", "--with-ids", "--out", "pool.yaml"])
        .run()
        .expect(0);
    let exported = std::fs::read_to_string(dir.path().join("pool.yaml")).unwrap();
    let id = id_of(&emulator, "user1@example.com").await;
    assert!(
        exported.contains(&format!("  - id: \"{id}\"\n")),
        "{exported}"
    );
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", "pool.yaml", "--detailed-exitcode"])
        .run()
        .expect(0);
    let edited = exported.replace("user1@example.com", "first@example.com");
    write_file(dir.path(), "pool.yaml", &edited);
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", "pool.yaml", "--prune", "--format", "json"])
        .run()
        .expect(0);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["summary"]["update"], 1, "{plan}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["changes"][0]["renamed_from"], "user1@example.com");
}

#[tokio::test]
async fn a_saved_plan_carries_a_rename_and_refuses_when_the_user_moved() {
    let emulator = Emulator::builder().generate(2).start();
    let id = id_of(&emulator, "user1@example.com").await;
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: one@example.com\n    renamed_from: user1@example.com\n  - email: user1@example.com\n",
    );
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    let rename = saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["action"] == "update")
        .unwrap();
    assert_eq!(rename["renamed_from"], "user1@example.com");

    // Someone edits the user after the review: the saved plan is stale, nothing is written.
    let owner = pool::owner(&emulator).await;
    pool::query(
        &owner,
        "mutation ($id: String!, $nickname: String) { updateUser(options: {_id: $id, nickname: $nickname}) { _id } }",
        json!({"id": id, "nickname": "Edited"}),
    )
    .await
    .ok("updateUser");
    let stale = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "plan.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(stale.stderr.contains("stale"), "{}", stale.stderr);
    assert_eq!(
        by_id(&emulator, &id).await.unwrap()["email"],
        "user1@example.com"
    );

    // A fresh plan applies: the rename first, then the new user under the freed address.
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    Sync::on(&emulator, dir.path()).apply(["--plan", "plan.json"]);
    assert_eq!(
        by_id(&emulator, &id).await.unwrap()["email"],
        "one@example.com"
    );
    let pool = read_pool(&emulator, false).await;
    assert_ne!(pool.user("user1@example.com").id, id);
}

#[tokio::test]
async fn what_a_rename_cannot_decide_is_a_located_error_and_nothing_is_sent() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    renamed_from: user2@example.com\n  - id: 0000000000000000000000ff\n    email: ghost@example.com\n",
    );
    let before = pool::writes(&emulator.stats().await);
    let run = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(1);
    for fragment in [
        "users.yaml:3: `user1@example.com` is renamed from `user2@example.com`, but both are live users: user1@example.com (id ",
        "and user2@example.com (id ",
        "users.yaml:5: `ghost@example.com` has `id: 0000000000000000000000ff`, and no live user has that id",
    ] {
        assert!(run.stderr.contains(fragment), "{fragment}\n{}", run.stderr);
    }
    assert_eq!(
        pool::writes(&emulator.stats().await),
        before,
        "nothing sent"
    );
}

#[test]
fn two_users_naming_one_id_or_one_earlier_key_are_refused_with_both_places() {
    let dir = temp_dir();
    write_file(
        dir.path(),
        "a.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n    id: 5f01\n  - email: b@example.com\n    renamed_from: old@example.com\n",
    );
    write_file(
        dir.path(),
        "b.csv",
        "email,id,renamed_from\nc@example.com,5f01,\nd@example.com,,Old@Example.com\ne@example.com,5f02,e@example.com\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "a.yaml", "-f", "b.csv"])
        .run()
        .expect(1);
    for fragment in [
        "duplicate `id`: `5f01` is declared for two users",
        "[b.csv:2:15]",
        "duplicate `renamed_from`: two users were renamed from `old@example.com`",
        "[b.csv:3:16]",
        "first at a.yaml:4:9",
        "first at a.yaml:6:19",
        "`renamed_from` names the user's own `email` `e@example.com`",
        "manifest::duplicate_id",
        "manifest::duplicate_renamed_from",
    ] {
        assert!(run.stderr.contains(fragment), "{fragment}\n{}", run.stderr);
    }
}
