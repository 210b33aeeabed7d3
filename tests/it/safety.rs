//! Issue 14's data-safety findings, end to end: saved plans that were edited (item 12), conflicts
//! the plan can see (5), an interrupted `apply --plan` finished by running it again (6), a user
//! that appeared under a key a saved plan creates (7), honest outcomes for creations that found
//! their user (8), whitelist entries in another spelling (4), and the next plan after an email
//! change (3). Each scenario ends with a plan that shows no changes.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use crate::support::{
    CLIENT_ID, Emulator, SECRET, Sync, encrypt_password, pool, read_pool, renaming_manifest,
    temp_dir, write_file, writes,
};

/// Registers a user with raw GraphQL, as the console or another tool would.
async fn register_raw(emulator: &Emulator, email: &str, username: Option<&str>) -> String {
    let key = emulator.public_key().await;
    let response = emulator
        .gql()
        .query(
            "mutation ($email: String, $username: String, $password: String, $client: String!) { register(userInfo: {email: $email, username: $username, password: $password, registerInClient: $client}) { _id } }",
            json!({"email": email, "username": username, "password": encrypt_password(&key, "raw-pass-1"), "client": CLIENT_ID}),
        )
        .await;
    response.ok("register")["_id"]
        .as_str()
        .expect("an id")
        .to_string()
}

async fn set_nickname(emulator: &Emulator, id: &str, nickname: &str) {
    pool::owner(emulator)
        .await
        .query(
            "mutation ($_id: String!, $nickname: String) { updateUser(options: {_id: $_id, nickname: $nickname}) { _id } }",
            json!({"_id": id, "nickname": nickname}),
        )
        .await
        .ok("updateUser");
}

/// The count before `word` in the summary line (`3 created`), 0 without a summary.
fn summary_count(stderr: &str, word: &str) -> usize {
    stderr
        .lines()
        .find(|line| line.starts_with("Apply "))
        .and_then(|line| {
            line.split(": ")
                .nth(1)?
                .split(", ")
                .find_map(|part| part.strip_suffix(word))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Item 12: a saved plan edited by hand, an update turned into a delete, is refused (exit 3,
/// nothing written) whether or not its digest was recomputed: the digest no longer matches, and
/// a plan made without prune deletes no one. The plan as written applies.
#[tokio::test]
async fn a_hand_edited_saved_plan_is_refused_and_deletes_no_one() {
    let emulator = Emulator::builder().generate(5).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Planned\n  - email: user2@example.com\n    nickname: Also planned\n",
    );
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    let original = std::fs::read_to_string(dir.path().join("plan.json")).expect("plan file");
    assert!(original.contains("\"digest\""), "{original}");

    // The edit of the issue: one change's action from update to delete.
    let edited = original.replacen("\"action\": \"update\"", "\"action\": \"delete\"", 1);
    assert_ne!(edited, original);
    std::fs::write(dir.path().join("edited.json"), &edited).expect("write");
    let refused = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "edited.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        refused.stderr.contains("refusing to apply a tampered plan")
            && refused.stderr.contains("does not match its `digest`"),
        "{}",
        refused.stderr
    );

    // The same edit with the digest recomputed: the plan was made without prune.
    let mut file: authing_sync::plan::PlanFile = serde_json::from_str(&edited).expect("json");
    file.digest = None;
    std::fs::write(dir.path().join("resealed.json"), file.to_json()).expect("write");
    let refused = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "resealed.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        refused.stderr.contains("tampered plan") && refused.stderr.contains("made without prune"),
        "{}",
        refused.stderr
    );

    // A plan without a digest at all.
    let mut bare: serde_json::Value = serde_json::from_str(&original).expect("json");
    bare.as_object_mut().expect("object").remove("digest");
    std::fs::write(dir.path().join("bare.json"), bare.to_string()).expect("write");
    Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "bare.json", "--auto-approve"])
        .run()
        .expect(3);
    assert_eq!(writes(&emulator.stats().await), 0, "nothing was written");
    assert_eq!(read_pool(&emulator, false).await.users.len(), 5);

    Sync::on(&emulator, dir.path()).apply(["--plan", "plan.json"]);
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

/// Item 12 with prune: a deletion the recorded policy does not allow (a protected user put into
/// the plan, digest recomputed) is refused; the plan as made deletes only inside the policy.
#[tokio::test]
async fn a_saved_plan_deletes_only_whom_its_prune_policy_allows() {
    let emulator = Emulator::builder().generate(4).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n  - email: user2@example.com\nprune:\n  enabled: true\n  protect: [user4@example.com]\n",
    );
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    let text = std::fs::read_to_string(dir.path().join("plan.json")).expect("plan file");
    let file: authing_sync::plan::PlanFile = serde_json::from_str(&text).expect("json");
    assert_eq!(file.changes.len(), 1, "user3 is deleted, user4 protected");
    let prune = file.prune.clone().expect("the policy is recorded");
    assert_eq!(prune.protect, ["user4@example.com"]);

    // Point the deletion at the protected user, with that user's fingerprint, and reseal.
    let pool_now = read_pool(&emulator, false).await;
    let victim = pool_now.user("user4@example.com").id.clone();
    let mut forged = file.clone();
    forged.changes[0].id = Some(victim.clone());
    forged.changes[0].label = Some("user4@example.com".into());
    forged.changes[0].key = Some("user4@example.com".into());
    forged.digest = None;
    std::fs::write(dir.path().join("forged.json"), forged.to_json()).expect("write");
    let refused = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "forged.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        refused.stderr.contains("tampered plan")
            && refused.stderr.contains("user4@example.com")
            && refused.stderr.contains("does not allow"),
        "{}",
        refused.stderr
    );
    assert_eq!(writes(&emulator.stats().await), 0);

    Sync::on(&emulator, dir.path()).apply(["--plan", "plan.json"]);
    let after = read_pool(&emulator, false).await;
    assert!(!after.has("user3@example.com") && after.has("user4@example.com"));
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

/// Item 5: a new user whose username another live user holds (an email change written as a new
/// user under `match_on: email`, with prune) and one whose email another holds (under
/// `match_on: username`) are plan errors naming the holder; nothing is sent. Declared as a
/// rename, the same change applies and the next plan is empty.
#[tokio::test]
async fn conflicts_the_plan_can_see_fail_the_plan_and_name_the_holder() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: alice@example.com\n    username: user1\n  - email: user2@example.com\n  - email: user3@example.com\nprune:\n  enabled: true\n",
    );
    let refused = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(1);
    assert!(
        refused.stderr.contains("pool.yaml:3")
            && refused.stderr.contains("username `user1`")
            && refused.stderr.contains("user1@example.com")
            && refused.stderr.contains("deletes that user"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("renamed_from"),
        "{}",
        refused.stderr
    );
    Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(1);

    let by_username = write_file(
        dir.path(),
        "by-username.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: newcomer\n    email: user2@example.com\n",
    );
    let refused = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &by_username])
        .run()
        .expect(1);
    assert!(
        refused.stderr.contains("email `user2@example.com`")
            && refused.stderr.contains("user2@example.com (id"),
        "{}",
        refused.stderr
    );
    assert_eq!(writes(&emulator.stats().await), 0, "nothing was sent");

    // The same person, declared as such.
    let renamed = write_file(
        dir.path(),
        "renamed.yaml",
        "version: 1\nusers:\n  - email: alice@example.com\n    renamed_from: user1@example.com\n    username: user1\n  - email: user2@example.com\n  - email: user3@example.com\nprune:\n  enabled: true\n",
    );
    let id = read_pool(&emulator, false)
        .await
        .user("user1@example.com")
        .id
        .clone();
    Sync::on(&emulator, dir.path()).apply(["-f", &renamed]);
    assert_eq!(
        read_pool(&emulator, false)
            .await
            .user("alice@example.com")
            .id,
        id
    );
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &renamed]);
}

/// Item 5: a refusal a re-run would meet again (a registration the whitelist refuses) ends
/// without "running the same apply again converges".
#[tokio::test]
async fn a_refusal_that_would_repeat_is_not_promised_to_converge() {
    let emulator = Emulator::builder().generate(1).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n  - email: new@example.com\n    phone: \"13800001234\"\nwhitelist:\n  enabled: true\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(
        plan.stdout.contains("Authing will refuse the registration"),
        "{}",
        plan.stdout
    );
    let apply = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(4);
    assert!(
        !apply.stderr.contains("again converges")
            && apply.stderr.contains("will not fix 1 of the failures"),
        "{}",
        apply.stderr
    );
}

/// Item 6: an `apply --plan` interrupted with Ctrl-C is finished by running it again: what it
/// wrote itself is done, not stale. A foreign change to a user it had already updated is still
/// stale; put back to the planned value, the plan finishes, and the next plan is empty.
#[tokio::test]
async fn an_interrupted_saved_plan_is_finished_by_running_it_again() {
    let emulator = Emulator::builder()
        .generate(120)
        .arg("--latency-ms")
        .arg("10")
        .start();
    let dir = temp_dir();
    let mut yaml = renaming_manifest(1..=120, "Resumed");
    for i in 1..=10 {
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    nickname: Hire {i}\n    mfa: true\n"
        ));
    }
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    let mut apply = Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--rate",
            "40",
            "--concurrency",
            "4",
        ])
        .spawn();
    assert!(
        pool::wait_for_writes(&emulator, 0, 30, &mut apply).await,
        "the apply ended too soon"
    );
    let status = Command::new("kill")
        .args(["-INT", &apply.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let output = apply.wait_with_output().expect("wait for the apply");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");

    // Someone changes a user the interrupted run had already updated.
    let pool_now = read_pool(&emulator, false).await;
    let (done, id) = (1..=120)
        .find_map(|i| {
            let user = pool_now.user(&format!("user{i}@example.com"));
            (user.nickname.as_deref() == Some(format!("Resumed {i}").as_str()))
                .then(|| (i, user.id.clone()))
        })
        .expect("the interrupted run updated someone");
    set_nickname(&emulator, &id, "Foreign hand").await;
    let before = writes(&emulator.stats().await);
    let stale = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "plan.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(stale.stderr.contains("stale plan"), "{}", stale.stderr);
    assert!(
        stale.stderr.contains("1 object changed")
            && stale
                .stderr
                .contains(&format!("user{done}@example.com (id {id}) was changed")),
        "only the foreign change is stale: {}",
        stale.stderr
    );
    assert_eq!(writes(&emulator.stats().await), before, "nothing written");

    // Put back to what the plan leads to: the rest is applied.
    set_nickname(&emulator, &id, &format!("Resumed {done}")).await;
    let finished = Sync::on(&emulator, dir.path()).apply(["--plan", "plan.json"]);
    assert!(
        finished.stderr.contains("changes are already done"),
        "{}",
        finished.stderr
    );
    let pool_after = read_pool(&emulator, true).await;
    for i in 1..=120 {
        assert_eq!(
            pool_after.user(&format!("user{i}@example.com")).nickname,
            Some(format!("Resumed {i}"))
        );
    }
    for i in 1..=10 {
        assert_eq!(
            pool_after.user(&format!("hire{i}@example.com")).mfa,
            Some(true)
        );
    }
    assert_eq!(pool_after.users.len(), 130, "no duplicates");
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

/// Item 7: after `plan --out`, someone creates a user under a key the plan creates, or one that
/// holds the username a planned user is given: `apply --plan` exits 3 and writes nothing.
#[tokio::test]
async fn a_user_created_under_a_planned_key_makes_the_saved_plan_stale() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Changed\n  - email: new1@example.com\n    nickname: New One\n  - email: new2@example.com\n    username: newbie\n",
    );
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    register_raw(&emulator, "new1@example.com", None).await;
    register_raw(&emulator, "someone@example.com", Some("newbie")).await;
    let before = writes(&emulator.stats().await);
    let stale = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "plan.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        stale.stderr.contains("stale plan")
            && stale.stderr.contains("new1@example.com: a user the plan creates now exists")
            && stale
                .stderr
                .contains("new2@example.com: the username the plan gives this new user now belongs to someone@example.com"),
        "{}",
        stale.stderr
    );
    assert_eq!(writes(&emulator.stats().await), before, "nothing written");
    let pool_now = read_pool(&emulator, false).await;
    assert_eq!(
        pool_now.user("user1@example.com").nickname.as_deref(),
        Some("User 1")
    );

    // A new plan sees them: new1 is updated, newbie's username is a plan error until freed.
    let replanned = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(1);
    assert!(
        replanned.stderr.contains("someone@example.com"),
        "{}",
        replanned.stderr
    );
    let fixed = write_file(
        dir.path(),
        "fixed.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Changed\n  - email: new1@example.com\n    nickname: New One\n  - email: new2@example.com\n    username: newbie2\n",
    );
    Sync::on(&emulator, dir.path()).converge(["-f", &fixed]);
}

/// Item 8: two applies of the same new users at once make each user once, and between them
/// report each as created once: the one that finds a user already there says "adopted".
#[tokio::test]
async fn concurrent_applies_do_not_both_report_the_same_users_as_created() {
    let emulator = Emulator::builder().arg("--latency-ms").arg("5").start();
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in 1..=40 {
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    nickname: Hire {i}\n"
        ));
    }
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);
    let apply = Sync::on(&emulator, dir.path()).args([
        "apply",
        "-f",
        &manifest,
        "--auto-approve",
        "--concurrency",
        "4",
    ]);
    let (first, second) = (apply.spawn(), apply.spawn());
    let first = first.wait_with_output().expect("first apply");
    let second = second.wait_with_output().expect("second apply");
    let mut created = 0;
    let mut adopted = 0;
    for output in [&first, &second] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        created += summary_count(&stderr, " created");
        adopted += summary_count(&stderr, " adopted (found already there)");
    }
    assert_eq!(created, 40, "each user is reported as created once");
    let pool_after = read_pool(&emulator, false).await;
    assert_eq!(pool_after.users.len(), 40, "no duplicates");
    assert!(adopted <= 40);
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

/// Item 8: on a terminal, a user that someone else creates between the plan being shown and
/// `yes` is not overwritten: that creation fails with a message that says so; the other
/// changes go on; the next apply shows it as an update.
#[tokio::test]
async fn an_interactive_apply_never_overwrites_a_user_the_reviewer_saw_as_a_creation() {
    let emulator = Emulator::builder().generate(1).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Reviewed\n  - email: late@example.com\n    nickname: From the manifest\n",
    );
    let mut words = vec![env!("CARGO_BIN_EXE_authing-sync").to_string()];
    words.extend(
        [
            "apply",
            "-f",
            &manifest,
            "--endpoint",
            emulator.url(),
            "--client-id",
            CLIENT_ID,
            "--public-key",
        ]
        .map(String::from),
    );
    words.push(format!("{}/__emulator/public-key", emulator.base_url()));
    let line = words
        .iter()
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(dir.path())
        .env("AUTHING_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    let mut stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let mut buffer = [0u8; 4096];
        let mut told = false;
        while let Ok(read) = stdout.read(&mut buffer) {
            if read == 0 {
                break;
            }
            screen.extend_from_slice(&buffer[..read]);
            if !told && String::from_utf8_lossy(&screen).contains("Enter a value") {
                told = true;
                let _ = sender.send(());
            }
        }
        String::from_utf8_lossy(&screen).into_owned()
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the plan is shown and the question asked");
    // Between review and `yes`, someone creates the user the plan creates.
    let id = register_raw(&emulator, "late@example.com", None).await;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"yes\n")
        .expect("type yes");
    let status = child.wait().expect("wait for script");
    let screen = reader.join().expect("reader");
    assert_eq!(status.code(), Some(4), "{screen}");
    assert!(
        screen.contains("late@example.com will be created")
            && screen.contains("created by someone else after the plan was read; not overwritten"),
        "{screen}"
    );
    let pool_now = read_pool(&emulator, false).await;
    let late = pool_now.user("late@example.com");
    assert_eq!(late.id, id);
    assert_eq!(late.nickname, None, "not overwritten");
    assert_eq!(
        pool_now.user("user1@example.com").nickname.as_deref(),
        Some("Reviewed")
    );

    // Reviewed again, it is an update.
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(
        plan.stdout.contains("late@example.com will be updated"),
        "{}",
        plan.stdout
    );
    Sync::on(&emulator, dir.path()).converge(["-f", &manifest]);
}

/// Item 4: the whitelist holds `+86 138-0000-7777` (added in the console) and the manifest lists
/// `13800007777` with a new user of that phone. Authing compares the stored text, so the plan
/// warns, adds the normal form and removes the odd spelling; the registration goes through.
/// Unmanaged, the plan warns and says what to add.
#[tokio::test]
async fn a_whitelist_entry_in_another_spelling_is_replaced_by_the_normal_form() {
    let emulator = Emulator::builder().generate(1).start();
    pool::whitelist_add(&emulator, "+86 138-0000-7777").await;
    let dir = temp_dir();
    let unmanaged = write_file(
        dir.path(),
        "unmanaged.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n  - email: phoned@example.com\n    phone: \"13800007777\"\nwhitelist:\n  enabled: true\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &unmanaged])
        .run()
        .expect(0);
    assert!(
        plan.stdout
            .contains("the whitelist holds 13800007777 as `+86 138-0000-7777`")
            && plan.stdout.contains("add 13800007777 to the whitelist"),
        "{}",
        plan.stdout
    );

    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n  - email: phoned@example.com\n    phone: \"13800007777\"\nwhitelist:\n  enabled: true\n  phones: [\"13800007777\"]\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(
        plan.stdout
            .contains("the plan adds 13800007777 and removes `+86 138-0000-7777`"),
        "{}",
        plan.stdout
    );
    Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    let pool_after = read_pool(&emulator, false).await;
    assert_eq!(pool_after.whitelist, ["13800007777"]);
    assert_eq!(
        pool_after.user("phoned@example.com").phone.as_deref(),
        Some("13800007777")
    );
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

/// Item 3: under `match_on: username`, a verified user whose email changes keeps the managed
/// verification (sent with the change) and the next plan is empty; unmanaged, the plan warns
/// that the change un-verifies the address.
#[tokio::test]
async fn an_email_change_keeps_a_managed_verification_and_warns_about_an_unmanaged_one() {
    let emulator = Emulator::builder().generate(2).start();
    let dir = temp_dir();
    let verified = write_file(
        dir.path(),
        "verified.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: user1\n    email: user1@example.com\n    email_verified: true\n  - username: user2\n    email: user2@example.com\n    email_verified: true\n",
    );
    Sync::on(&emulator, dir.path()).apply(["-f", &verified]);

    let moved = write_file(
        dir.path(),
        "moved.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: user1\n    email: first@example.com\n    email_verified: true\n  - username: user2\n    email: second@example.com\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &moved])
        .run()
        .expect(0);
    assert!(
        plan.stdout
            .contains("user2: the email changes, which clears its verification"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("user1: the email changes"),
        "{}",
        plan.stdout
    );
    Sync::on(&emulator, dir.path()).apply(["-f", &moved]);
    let pool_after = read_pool(&emulator, false).await;
    assert!(pool_after.user("first@example.com").email_verified);
    assert!(!pool_after.user("second@example.com").email_verified);
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &moved]);
}

/// Item 5 (the lead's review): usernames compare case-insensitively, as Authing's uniqueness
/// does: `USER1` declared under `match_on: username` with prune is the live `user1`, not a new
/// user plus the deletion of the old one. A phone moved from one user to another applies in one
/// run (the update that frees it runs first); a swap of two phones is a plan error.
#[tokio::test]
async fn usernames_match_in_any_case_and_phones_move_in_one_run() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let ids = read_pool(&emulator, false).await;
    let manifest = write_file(
        dir.path(),
        "case.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: USER1\n    phone: \"13800000001\"\n  - username: user2\nprune:\n  enabled: true\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(
        plan.stdout
            .contains("0 to create, 1 to update, 1 to delete"),
        "{}",
        plan.stdout
    );
    Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    let after = read_pool(&emulator, false).await;
    assert_eq!(
        after.user("user1@example.com").id,
        ids.user("user1@example.com").id
    );
    assert!(!after.has("user3@example.com"));
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);

    // The phone moves from USER1 to user2 (USER1 gets another): one run.
    let moved = write_file(
        dir.path(),
        "moved.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: USER1\n    phone: \"13800000009\"\n  - username: user2\n    phone: \"13800000001\"\n",
    );
    Sync::on(&emulator, dir.path()).apply(["-f", &moved]);
    let after = read_pool(&emulator, false).await;
    assert_eq!(
        after.user("user2@example.com").phone.as_deref(),
        Some("13800000001")
    );
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &moved]);

    // A swap cannot be done in one run: the plan says so and nothing is sent.
    let swapped = write_file(
        dir.path(),
        "swapped.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: USER1\n    phone: \"13800000001\"\n  - username: user2\n    phone: \"13800000009\"\n",
    );
    let before = writes(&emulator.stats().await);
    let refused = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &swapped])
        .run()
        .expect(1);
    assert!(
        refused.stderr.contains("phone `13800000001`")
            && refused.stderr.contains("user2@example.com (id"),
        "{}",
        refused.stderr
    );
    assert_eq!(writes(&emulator.stats().await), before);
}
