//! plan and apply end to end: the real binary against the real emulator, results checked by
//! reading the pool back with plain GraphQL.

use serde_json::{Value, json};

use crate::support::{
    CLIENT_ID, Emulator, Sync, encrypt_password, operation_count, pool, read_pool,
    renaming_manifest, temp_dir, write_file, writes,
};

const FULL_MANIFEST: &str = r#"version: 1
users:
  - email: user1@example.com
  - email: user2@example.com
    nickname: Second User
    company: Example Two
  - email: user3@example.com
    mfa: true
    blocked: true
  - email: User4@Example.com
    email_verified: true
  - email: user5@example.com
    mfa: false
  - email: user6@example.com
  - email: user7@example.com
  - email: user8@example.com
  - email: user9@example.com
  - email: user10@example.com
  - email: new1@example.com
    username: new1
    nickname: New One
    mfa: true
    email_verified: true
    password: ${NEW1_PASSWORD}
  - email: new2@example.com
    nickname: New Two
    phone: "13800000002"
whitelist:
  enabled: true
  phones: ["13800000002", "+86 139-0000-0001"]
prune:
  enabled: true
  max_deletes: 5
  protect: [user12@example.com]
  scope: "*@example.com"
"#;

#[tokio::test]
async fn apply_creates_updates_deletes_toggles_mfa_and_edits_the_whitelist_then_plans_no_changes() {
    let emulator = Emulator::builder().generate(12).start();
    pool::enable_mfa(&emulator, "user5@example.com").await;
    pool::whitelist_add(&emulator, "13700000000").await;
    let dir = temp_dir();
    let manifest = write_file(dir.path(), "pool.yaml", FULL_MANIFEST);

    let sync = Sync::on(&emulator, dir.path()).env("NEW1_PASSWORD", "first-day-password-1");
    let apply = sync.apply(["-f", &manifest]);
    assert!(apply.stdout.contains("Plan: 2 to create, 3 to update, 1 to delete, MFA +2 -1, whitelist +2 -1, whitelist switch on"), "{}", apply.stdout);
    assert!(apply.stderr.contains("Apply complete"), "{}", apply.stderr);
    assert!(
        !apply.stdout.contains("first-day-password-1")
            && !apply.stderr.contains("first-day-password-1")
    );

    let pool = read_pool(&emulator, true).await;
    assert_eq!(pool.users.len(), 13, "12 generated, 2 created, 1 deleted");
    let second = pool.user("user2@example.com");
    assert_eq!(
        (second.nickname.as_deref(), second.company.as_deref()),
        (Some("Second User"), Some("Example Two"))
    );
    let third = pool.user("user3@example.com");
    assert!(third.blocked && third.mfa == Some(true));
    assert!(pool.user("user4@example.com").email_verified);
    assert_eq!(
        pool.user("user4@example.com").email.as_deref(),
        Some("User4@Example.com"),
        "matched case-insensitively, and the declared spelling written"
    );
    assert_eq!(pool.user("user5@example.com").mfa, Some(false));
    let new1 = pool.user("new1@example.com");
    assert_eq!(
        (new1.username.as_deref(), new1.nickname.as_deref()),
        (Some("new1"), Some("New One"))
    );
    assert!(new1.email_verified && new1.mfa == Some(true));
    let new2 = pool.user("new2@example.com");
    assert_eq!(
        new2.phone.as_deref(),
        Some("13800000002"),
        "registered with a whitelisted phone"
    );
    assert!(!pool.has("user11@example.com"), "pruned");
    assert!(pool.has("user12@example.com"), "protected");
    let untouched = pool.user("user6@example.com");
    assert_eq!(
        (untouched.nickname.as_deref(), untouched.company.as_deref()),
        (Some("User 6"), Some("Example"))
    );
    assert!(pool.whitelist_enabled);
    assert_eq!(pool.whitelist, ["13800000002", "13900000001"]);

    // The declared password is the one the user can log in with.
    let public_key = emulator.public_key().await;
    let login = emulator
        .gql()
        .query(
            "mutation ($email: String, $password: String, $registerInClient: String!) { login(email: $email, password: $password, registerInClient: $registerInClient) { _id } }",
            json!({"email": "new1@example.com", "password": encrypt_password(&public_key, "first-day-password-1"), "registerInClient": CLIENT_ID}),
        )
        .await;
    assert_eq!(login.ok("login")["_id"], Value::from(new1.id.clone()));

    sync.assert_no_changes(["-f", &manifest]);
}

#[tokio::test]
async fn plan_json_reports_exactly_the_changes_a_manifest_makes() {
    let emulator = Emulator::builder().generate(1000).start();
    let dir = temp_dir();
    let mut csv = String::from("email,nickname,mfa\n");
    for i in 1..=990 {
        let nickname = if i % 33 == 0 {
            format!("Renamed {i}")
        } else {
            format!("User {i}")
        };
        let mfa = if i % 199 == 0 { "yes" } else { "" };
        csv.push_str(&format!("user{i}@example.com,{nickname},{mfa}\n"));
    }
    for i in 1..=10 {
        csv.push_str(&format!("hire{i}@example.com,Hire {i},\n"));
    }
    let manifest = write_file(dir.path(), "hr.csv", &csv);

    let run = Sync::on(&emulator, dir.path())
        .args([
            "plan",
            "-f",
            &manifest,
            "--prune",
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .run()
        .expect(2);
    let plan: Value = serde_json::from_str(&run.stdout).expect("JSON plan on stdout");
    assert_eq!(plan["format_version"], 1);
    assert_eq!(
        plan["summary"],
        json!({"create": 10, "update": 30, "delete": 10, "mfa_enable": 4, "mfa_disable": 0,
               "whitelist_add": 0, "whitelist_remove": 0, "whitelist_switch": null})
    );
    let deleted: Vec<&str> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|change| change["action"] == "delete")
        .filter_map(|change| change["key"].as_str())
        .collect();
    assert!(
        deleted
            .iter()
            .all(|key| key.starts_with("user99") || *key == "user1000@example.com"),
        "{deleted:?}"
    );
    let update = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["action"] == "update")
        .unwrap();
    assert_eq!(
        update["fields"]["nickname"],
        json!({"from": "User 33", "to": "Renamed 33"})
    );
    assert_eq!(
        update["origin"]["line"], 34,
        "header is line 1, user33 is line 34"
    );

    // Call economy: one auth, ceil(1000/200) pages, one queryMFA per managed flag, no whitelist.
    let stats = emulator.stats().await;
    assert_eq!(operation_count(&stats, "getClientWhenSdkInit"), 1);
    assert_eq!(operation_count(&stats, "users"), 5);
    assert_eq!(operation_count(&stats, "queryMFA"), 4);
    assert_eq!(
        operation_count(&stats, "queryInvitation")
            + operation_count(&stats, "queryInvitationState"),
        0
    );
    assert_eq!(writes(&stats), 0, "plan writes nothing");
}

#[tokio::test]
async fn deletions_above_the_limit_refuse_the_whole_apply_before_any_write() {
    let emulator = Emulator::builder().generate(50).start();
    let dir = temp_dir();
    let yaml = format!(
        "{}prune:\n  enabled: true\n",
        renaming_manifest(1..=30, "Changed")
    );
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);

    let refused = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        refused
            .stderr
            .contains("20 deletions exceed the limit of 10"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("the default limit of 10 deletions"),
        "{}",
        refused.stderr
    );
    let percent = Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--max-deletes",
            "10%",
        ])
        .run()
        .expect(3);
    assert!(
        percent.stderr.contains("limit of 5 (--max-deletes 10%"),
        "{}",
        percent.stderr
    );
    assert_eq!(writes(&emulator.stats().await), 0, "nothing was written");

    Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--max-deletes",
            "20",
        ])
        .run()
        .expect(0);
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 30);
    assert_eq!(
        pool.user("user30@example.com").nickname.as_deref(),
        Some("Changed 30")
    );
}

#[tokio::test]
async fn without_a_terminal_or_auto_approve_apply_writes_nothing() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: X\n",
    );
    let run = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest])
        .run()
        .expect(1);
    assert!(run.stderr.contains("no terminal"), "{}", run.stderr);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert_eq!(writes(&emulator.stats().await), 0);
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_what_it_touches_changed_and_applied_otherwise() {
    let emulator = Emulator::builder().generate(10).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Planned\n  - email: user2@example.com\n    nickname: Also planned\n  - email: fresh@example.com\n    password: ${FRESH_PASSWORD}\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .env("FRESH_PASSWORD", "the-fresh-password")
        .run()
        .expect(0);
    assert!(
        plan.stderr.contains("Saved the plan to plan.json"),
        "{}",
        plan.stderr
    );
    let saved = std::fs::read_to_string(dir.path().join("plan.json")).expect("plan file");
    assert!(
        !saved.contains("the-fresh-password"),
        "a plan file holds no secret"
    );
    assert!(
        saved.contains("\"password_source\": \"env:FRESH_PASSWORD\""),
        "{saved}"
    );

    // Someone changes user1 after the plan was made.
    let pool = read_pool(&emulator, false).await;
    let owner = crate::support::pool::owner(&emulator).await;
    owner
        .query(
            "mutation ($_id: String!, $nickname: String) { updateUser(options: {_id: $_id, nickname: $nickname}) { _id } }",
            json!({"_id": pool.user("user1@example.com").id, "nickname": "Changed by hand"}),
        )
        .await
        .ok("updateUser");
    let writes_before = writes(&emulator.stats().await);

    let stale = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "plan.json", "--auto-approve"])
        .env("FRESH_PASSWORD", "the-fresh-password")
        .run()
        .expect(3);
    assert!(stale.stderr.contains("stale plan"), "{}", stale.stderr);
    assert!(
        stale.stderr.contains("user1@example.com"),
        "{}",
        stale.stderr
    );
    assert!(
        !stale.stderr.contains("user2@example.com"),
        "user2 did not drift: {}",
        stale.stderr
    );
    let stats = emulator.stats().await;
    assert_eq!(writes(&stats), writes_before, "nothing was written");
    assert!(
        operation_count(&stats, "userPatch") >= 1,
        "the touched users were re-read"
    );

    // A fresh plan applies, and the declared password is the one set.
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .env("FRESH_PASSWORD", "the-fresh-password")
        .run()
        .expect(0);
    Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "plan.json", "--auto-approve"])
        .env("FRESH_PASSWORD", "the-fresh-password")
        .run()
        .expect(0);
    let pool = read_pool(&emulator, false).await;
    assert_eq!(
        pool.user("user1@example.com").nickname.as_deref(),
        Some("Planned")
    );
    let public_key = emulator.public_key().await;
    let login = emulator
        .gql()
        .query(
            "mutation ($email: String, $password: String, $registerInClient: String!) { login(email: $email, password: $password, registerInClient: $registerInClient) { _id } }",
            json!({"email": "fresh@example.com", "password": encrypt_password(&public_key, "the-fresh-password"), "registerInClient": CLIENT_ID}),
        )
        .await;
    assert!(login.ok("login")["_id"].is_string());
}

/// Issue: `apply -q` with failed operations exited 4 with stdout and stderr empty. Under -q a
/// successful apply stays silent, but a failed one prints its summary (every failure) on stderr.
#[tokio::test]
async fn apply_quiet_is_silent_on_success_and_reports_failures() {
    let emulator = crate::support::Emulator::start();
    let dir = temp_dir();
    write_file(
        dir.path(),
        "ok.yaml",
        "version: 1\nusers:\n  - email: ok@example.com\n",
    );
    let ok = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", "ok.yaml", "--auto-approve", "-q"])
        .run()
        .expect(0);
    assert_eq!((ok.stdout.as_str(), ok.stderr.as_str()), ("", ""));
    write_file(
        dir.path(),
        "bad.yaml",
        "version: 1\nusers:\n  - email: ok@example.com\n  - email: refused@example.com\n",
    );
    // No --public-key: Authing's published key, which the emulator cannot decrypt with (2016).
    let failed = Sync::new(dir.path())
        .args(["apply", "-f", "bad.yaml", "--auto-approve", "-q"])
        .args([
            "--endpoint",
            emulator.url(),
            "--client-id",
            crate::support::CLIENT_ID,
        ])
        .env("AUTHING_SECRET", crate::support::SECRET)
        .run()
        .expect(4);
    assert_eq!(failed.stdout, "", "data only on stdout");
    assert!(
        failed.stderr.contains("Apply finished with problems")
            && failed.stderr.contains("refused@example.com")
            && failed.stderr.contains("2016"),
        "{}",
        failed.stderr
    );
}

/// Issue: changing a phone while declaring `phone_verified: true` never converged (the server
/// clears the verification when the phone changes). The managed flag is now written with the
/// change, as for email; an unmanaged one that was set is a notice.
#[tokio::test]
async fn a_phone_change_keeps_a_managed_phone_verified_and_warns_about_an_unmanaged_one() {
    let emulator = crate::support::Emulator::start();
    let dir = temp_dir();
    let write = |phone: &str, verified: bool| {
        let flag = if verified {
            "    phone_verified: true\n"
        } else {
            ""
        };
        write_file(
            dir.path(),
            "pool.yaml",
            &format!(
                "version: 1\nusers:\n  - email: managed@example.com\n    phone: \"{phone}1\"\n    phone_verified: true\n  - email: loose@example.com\n    phone: \"{phone}2\"\n{flag}"
            ),
        )
    };
    let sync = |args: &[&str]| {
        Sync::on(&emulator, dir.path())
            .args(args.iter().copied())
            .run()
    };
    let manifest = write("1380000000", true);
    sync(&["apply", "-f", &manifest, "--auto-approve"]).expect(0);
    // Both phones change; only managed@ still declares phone_verified.
    let manifest = write("1390000000", false);
    let plan = sync(&["plan", "-f", &manifest]).expect(0);
    assert!(
        plan.stdout.contains("loose@example.com: the phone changes, which clears its verification, and `phone_verified` is not managed"),
        "{}",
        plan.stdout
    );
    sync(&["apply", "-f", &manifest, "--auto-approve"]).expect(0);
    let again = sync(&["plan", "-f", &manifest, "--detailed-exitcode"]);
    assert_eq!(
        again.code, 0,
        "converged\n{}\n{}",
        again.stdout, again.stderr
    );
}
