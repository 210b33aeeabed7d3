//! MFA reads at scale (issue 16): `--mfa-read-budget`, the MFA cache and `--refresh`, end to
//! end. The reads are counted by the emulator (`queryMFA` in its stats), outside changes are
//! made with raw GraphQL (`support::pool`), never through the client under test.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{CLIENT_ID, Emulator, Run, Sync, operation_count, pool, temp_dir, write_file};

/// The cache file of the test emulator's pool under `dir`'s default cache directory (its name
/// ends with a hash of the endpoint: the one file there for the pool).
fn cache_file(dir: &Path) -> PathBuf {
    let cache_dir = dir.join(".authing-sync/cache");
    let prefix = format!("mfa-v1-{CLIENT_ID}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&cache_dir)
        .expect("the cache directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".json"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one cache file for the pool: {found:?}");
    found.remove(0)
}

/// The cache file of the test pool at the endpoint `url` under `dir`'s default cache directory:
/// its name ends with the first 6 bytes of the endpoint's SHA-256, in hex.
fn cache_file_for(dir: &Path, url: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(url.as_bytes())[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    dir.join(".authing-sync/cache")
        .join(format!("mfa-v1-{CLIENT_ID}-{hash}.json"))
}

/// A CSV manifest declaring the generated users 1..=n with MFA off, except those in `on`.
fn manifest(n: u64, on: &[u64]) -> String {
    let mut csv = String::from("email,mfa\n");
    for i in 1..=n {
        csv.push_str(&format!("user{i}@example.com,{}\n", on.contains(&i)));
    }
    csv
}

async fn mfa_reads(emulator: &Emulator) -> u64 {
    operation_count(&emulator.stats().await, "queryMFA")
}

async fn mfa_writes(emulator: &Emulator) -> u64 {
    operation_count(&emulator.stats().await, "changeMFA")
}

/// Runs `plan --format json` with `extra` and returns the plan file and the queryMFA calls the
/// run cost.
async fn plan_json(
    emulator: &Emulator,
    dir: &Path,
    file: &str,
    extra: &[&str],
) -> (Value, u64, Run) {
    let before = mfa_reads(emulator).await;
    let run = Sync::on(emulator, dir)
        .args(["plan", "-f", file, "--format", "json", "--rate", "100000"])
        .args(extra.iter().copied())
        .run();
    assert!(
        run.code == 0,
        "plan failed\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
    let plan: Value = serde_json::from_str(&run.stdout).expect("a JSON plan");
    let reads = mfa_reads(emulator).await - before;
    (plan, reads, run)
}

fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|change| {
            (
                change["action"].as_str().unwrap_or_default().to_string(),
                change["key"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The cache file as JSON.
fn cache(dir: &Path) -> Value {
    let text = std::fs::read_to_string(cache_file(dir)).expect("the MFA cache was written");
    serde_json::from_str(&text).expect("the cache is JSON")
}

/// Every user id in the cache.
fn cached_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for group in cache(dir)["groups"].as_array().expect("groups") {
        for list in ["on", "off"] {
            for id in group[list].as_array().expect("ids") {
                ids.push(id.as_str().expect("an id").to_string());
            }
        }
    }
    ids
}

#[tokio::test]
async fn issue_16_a_budget_bounds_mfa_reads_and_still_finds_outside_changes() {
    const USERS: u64 = 3000;
    const BUDGET: &str = "300";
    let emulator = Emulator::builder().generate(USERS).start();
    let dir = temp_dir();
    let file = write_file(dir.path(), "hr.csv", &manifest(USERS, &[1, 2, 3, 4, 5]));

    // Exact by default: every managed switch is read.
    let (plan, reads, _) = plan_json(&emulator, dir.path(), &file, &[]).await;
    assert_eq!(reads, USERS);
    assert_eq!(plan["mfa_states"]["read"], USERS);
    assert_eq!(plan["mfa_states"]["from_cache"], 0);
    assert!(
        plan["mfa_states"].get("budget").is_none(),
        "{}",
        plan["mfa_states"]
    );
    assert_eq!(plan["summary"]["mfa_enable"], 5);
    let text = serde_json::to_string(&plan).expect("text");
    assert!(
        text.find("\"summary\"") < text.find("\"mfa_states\""),
        "mfa_states sits beside summary"
    );
    assert_eq!(cached_ids(dir.path()).len(), USERS as usize);
    // User ids and switches only: no email, no secret.
    let text = std::fs::read_to_string(cache_file(dir.path())).expect("cache");
    assert!(
        !text.contains('@') && !text.contains(crate::support::SECRET),
        "{}",
        &text[..200]
    );

    // Apply with the budget: the five switches it changes are confirmed before they are written.
    let before = mfa_reads(&emulator).await;
    let applied = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &file, "--auto-approve", "--rate", "100000"])
        .args(["--mfa-read-budget", BUDGET])
        .run()
        .expect(0);
    let reads = mfa_reads(&emulator).await - before;
    assert!((300..=305).contains(&reads), "{reads}");
    assert!(
        applied.stdout.contains("MFA states: "),
        "the apply's plan states its reads: {}",
        applied.stdout
    );
    assert_eq!(mfa_writes(&emulator).await, 5);

    // The next plan reads at most the budget, and is empty.
    let (plan, reads, _) =
        plan_json(&emulator, dir.path(), &file, &["--mfa-read-budget", BUDGET]).await;
    assert!(reads <= 300, "{reads}");
    assert!(changes(&plan).is_empty(), "{:?}", changes(&plan));
    assert_eq!(plan["mfa_states"]["read"], reads);
    assert_eq!(plan["mfa_states"]["from_cache"], USERS - reads);
    assert_eq!(plan["mfa_states"]["budget"], 300);
    assert!(plan["mfa_states"]["oldest_cached_age_seconds"].is_u64());
    assert!(plan["mfa_states"]["oldest_cached_at"].is_string());
    // The human plan says the same in one line.
    let human = Sync::on(&emulator, dir.path())
        .args([
            "plan",
            "-f",
            &file,
            "--rate",
            "100000",
            "--mfa-read-budget",
            BUDGET,
        ])
        .run()
        .expect(0);
    assert!(
        human.stdout.lines().any(|line| line
            .starts_with("MFA states: 300 read, 2700 from the cache (the oldest read ")
            && line.ends_with("; --mfa-read-budget 300).")),
        "{}",
        human.stdout
    );

    // MFA turned on outside the tool, for the user the queue reaches last: the one the last
    // plan read last.
    let newest = cache(dir.path())["groups"]
        .as_array()
        .expect("groups")
        .last()
        .cloned()
        .expect("a group");
    let last_read = newest["off"]
        .as_array()
        .expect("off")
        .iter()
        .filter_map(Value::as_str)
        .max()
        .expect("an id")
        .to_string();
    let users = pool::raw_users(&emulator, "_id email").await;
    let email = users
        .iter()
        .find(|user| user["_id"] == last_read.as_str())
        .and_then(|user| user["email"].as_str())
        .expect("the user")
        .to_string();
    pool::enable_mfa(&emulator, &email).await;

    // --refresh finds it at once (on a copy of the cache, so the budgeted round below starts
    // from the same cache).
    let copy = dir.path().join("cache-copy");
    std::fs::create_dir_all(&copy).expect("copy dir");
    std::fs::copy(
        cache_file(dir.path()),
        copy.join(cache_file(dir.path()).file_name().expect("name")),
    )
    .expect("copy the cache");
    let (plan, reads, _) = plan_json(
        &emulator,
        dir.path(),
        &file,
        &[
            "--mfa-read-budget",
            BUDGET,
            "--refresh",
            "--cache-dir",
            "cache-copy",
        ],
    )
    .await;
    assert_eq!(reads, USERS);
    assert_eq!(changes(&plan), [("mfa_disable".to_string(), email.clone())]);

    // Without --refresh, within ceil(3000 / 300) = 10 budgeted plans, each reading at most 300.
    let mut found = None;
    for run in 1..=10 {
        let (plan, reads, _) =
            plan_json(&emulator, dir.path(), &file, &["--mfa-read-budget", BUDGET]).await;
        assert!(reads <= 300, "plan {run} read {reads}");
        let changes = changes(&plan);
        if !changes.is_empty() {
            assert_eq!(changes, [("mfa_disable".to_string(), email.clone())]);
            found = Some(run);
            break;
        }
    }
    let found = found.expect("the outside change was found within 10 budgeted plans");
    // It was at the back of the queue, so it took the whole round: the budget bounded the reads.
    assert_eq!(found, 10);
}

#[tokio::test]
async fn issue_16_apply_confirms_a_cached_state_before_changing_it() {
    let emulator = Emulator::builder().generate(20).start();
    let dir = temp_dir();
    let off = write_file(dir.path(), "off.csv", &manifest(20, &[]));
    plan_json(&emulator, dir.path(), &off, &[]).await;
    // Turned on outside: the cache still says off. The manifest now wants it on.
    pool::enable_mfa(&emulator, "user7@example.com").await;
    let on = write_file(dir.path(), "on.csv", &manifest(20, &[7]));
    let before = mfa_reads(&emulator).await;
    let writes_before = mfa_writes(&emulator).await;
    let run = Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &on,
            "--auto-approve",
            "--mfa-read-budget",
            "0",
        ])
        .run()
        .expect(0);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    assert_eq!(
        mfa_reads(&emulator).await - before,
        1,
        "only the confirmation"
    );
    assert_eq!(
        mfa_writes(&emulator).await,
        writes_before,
        "nothing written on the cache's word"
    );
}

#[tokio::test]
async fn issue_16_a_corrupt_cache_is_ignored_with_a_warning_and_rewritten() {
    let emulator = Emulator::builder().generate(30).start();
    let dir = temp_dir();
    let file = write_file(dir.path(), "hr.csv", &manifest(30, &[2]));
    plan_json(&emulator, dir.path(), &file, &[]).await;
    pool::enable_mfa(&emulator, "user9@example.com").await;
    for garbage in [
        "{\"format\": \"authing-sync-mfa-cache\", \"vers".to_string(),
        "\u{0}\u{1}binary".to_string(),
        std::fs::read_to_string(cache_file(dir.path()))
            .expect("cache")
            .replace("\"off\":[", "\"off\":[\"\","),
    ] {
        std::fs::write(cache_file(dir.path()), garbage).expect("corrupt the cache");
        let (plan, reads, run) =
            plan_json(&emulator, dir.path(), &file, &["--mfa-read-budget", "0"]).await;
        assert!(
            run.stderr.contains("ignored the MFA cache"),
            "{}",
            run.stderr
        );
        assert_eq!(
            reads, 30,
            "nothing taken from a cache that cannot be trusted"
        );
        let mut found = changes(&plan);
        found.sort();
        assert_eq!(
            found,
            [
                ("mfa_disable".to_string(), "user9@example.com".to_string()),
                ("mfa_enable".to_string(), "user2@example.com".to_string()),
            ]
        );
        assert_eq!(cached_ids(dir.path()).len(), 30, "written anew");
    }
    // The rewritten cache is trusted again: a budget of 0 reads only the two planned changes.
    let (_, reads, run) =
        plan_json(&emulator, dir.path(), &file, &["--mfa-read-budget", "0"]).await;
    assert!(!run.stderr.contains("ignored"), "{}", run.stderr);
    assert_eq!(reads, 2);
}

#[tokio::test]
async fn issue_16_another_pools_cache_is_never_trusted() {
    // Two pools with the same generated users and ids: one has MFA on for everyone.
    let first = Emulator::builder().generate(10).start();
    let second = Emulator::builder().generate(10).start();
    let dir = temp_dir();
    let all_on = write_file(
        dir.path(),
        "on.csv",
        &manifest(10, &(1..=10).collect::<Vec<_>>()),
    );
    Sync::on(&first, dir.path()).apply(["-f", &all_on]);
    let (plan, _, _) = plan_json(&first, dir.path(), &all_on, &[]).await;
    assert!(changes(&plan).is_empty());
    let first_cache = std::fs::read_to_string(cache_file(dir.path())).expect("cache");

    // The same pool id at another endpoint (a cache dir shared between two servers), and a
    // cache of another pool id copied under this pool's name.
    for (foreign, names) in [
        (first_cache.clone(), first.url().to_string()),
        (
            first_cache.replace(
                &format!("\"pool\":\"{CLIENT_ID}\""),
                "\"pool\":\"another-pool\"",
            ),
            "another-pool".to_string(),
        ),
    ] {
        let planted = cache_file_for(dir.path(), second.url());
        std::fs::write(&planted, &foreign).expect("plant the cache");
        let before = mfa_reads(&second).await;
        let (plan, reads, run) =
            plan_json(&second, dir.path(), &all_on, &["--mfa-read-budget", "0"]).await;
        assert!(
            run.stderr.contains("ignored the MFA cache") && run.stderr.contains(&names),
            "{}",
            run.stderr
        );
        assert_eq!(reads, 10);
        assert_eq!(mfa_reads(&second).await - before, 10);
        assert_eq!(
            plan["summary"]["mfa_enable"], 10,
            "the second pool's own states"
        );
        let rewritten: Value =
            serde_json::from_str(&std::fs::read_to_string(&planted).expect("rewritten"))
                .expect("JSON");
        assert_eq!(rewritten["endpoint"], second.url());
        // The first endpoint's cache is its own file, untouched.
        assert_eq!(
            std::fs::read_to_string(cache_file_for(dir.path(), first.url())).expect("first"),
            first_cache
        );
    }
}

#[tokio::test]
async fn issue_16_ids_that_no_longer_exist_are_harmless() {
    let emulator = Emulator::builder().generate(20).start();
    let dir = temp_dir();
    let all = write_file(dir.path(), "all.csv", &manifest(20, &[3]));
    Sync::on(&emulator, dir.path()).apply(["-f", &all]);
    let before: Vec<String> = cached_ids(dir.path());
    assert_eq!(before.len(), 20);

    // Users 11..=20 leave (pruned), so the cache holds ids the pool no longer has; then they
    // come back as new users (new ids) with MFA on.
    let ten = write_file(dir.path(), "ten.csv", &manifest(10, &[3]));
    Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &ten,
            "--auto-approve",
            "--prune",
            "--max-deletes",
            "10",
        ])
        .run()
        .expect(0);
    assert_eq!(
        cached_ids(dir.path()).len(),
        20,
        "the pruned ids are still cached"
    );
    let (plan, reads, _) =
        plan_json(&emulator, dir.path(), &ten, &["--mfa-read-budget", "0"]).await;
    assert!(changes(&plan).is_empty(), "{:?}", changes(&plan));
    assert_eq!(reads, 0, "no read for an id that is gone");
    assert_eq!(cached_ids(dir.path()).len(), 10, "gone ids are dropped");

    let back = write_file(
        dir.path(),
        "back.csv",
        &manifest(20, &(11..=20).chain([3]).collect::<Vec<_>>()),
    );
    let (plan, reads, _) =
        plan_json(&emulator, dir.path(), &back, &["--mfa-read-budget", "0"]).await;
    assert_eq!(reads, 0);
    assert_eq!(plan["summary"]["create"], 10);
    assert_eq!(plan["summary"]["mfa_enable"], 10);
    Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &back,
            "--auto-approve",
            "--mfa-read-budget",
            "0",
        ])
        .run()
        .expect(0);
    // The new users' switches were recorded as written: the next plan reads none of them.
    let (plan, reads, _) =
        plan_json(&emulator, dir.path(), &back, &["--mfa-read-budget", "0"]).await;
    assert!(changes(&plan).is_empty(), "{:?}", changes(&plan));
    assert_eq!(reads, 0);
    let pool = pool::read(&emulator, true).await;
    assert!(pool.user("user15@example.com").mfa == Some(true));
}

#[tokio::test]
async fn issue_16_a_cache_that_cannot_be_saved_never_freezes_the_rotation() {
    let emulator = Emulator::builder().generate(20).start();
    let dir = temp_dir();
    let file = write_file(dir.path(), "hr.csv", &manifest(20, &[]));
    // A budgeted plan with a working cache, so a cache exists to be trusted.
    let (_, reads, _) = plan_json(&emulator, dir.path(), &file, &["--mfa-read-budget", "3"]).await;
    assert_eq!(reads, 20);
    // The cache directory turns into a file (and a dangling symlink): nothing can be saved.
    let not_a_dir = dir.path().join("not-a-dir");
    std::fs::write(&not_a_dir, b"x").expect("a file");
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("a symlink");
    for (cache_dir, what) in [
        (&not_a_dir, "is not a directory"),
        (&dangling, "is a dangling symbolic link"),
    ] {
        let cache_dir = cache_dir.to_str().expect("utf-8");
        for _ in 0..2 {
            let (plan, reads, run) = plan_json(
                &emulator,
                dir.path(),
                &file,
                &["--mfa-read-budget", "3", "--cache-dir", cache_dir],
            )
            .await;
            // Every state is read, run after run: never the same three oldest again and again.
            assert_eq!(reads, 20, "{}", run.stderr);
            assert_eq!(plan["mfa_states"]["read"], 20);
            assert_eq!(plan["mfa_states"]["from_cache"], 0);
            // One warning, naming the path and what the run does instead.
            assert!(run.stderr.contains(what), "{}", run.stderr);
            assert!(run.stderr.contains(cache_dir), "{}", run.stderr);
            assert!(
                run.stderr.contains("--mfa-read-budget 3 is not applied"),
                "{}",
                run.stderr
            );
            assert_eq!(run.stderr.matches("warning").count(), 1, "{}", run.stderr);
            assert!(!run.stderr.contains("written anew"), "{}", run.stderr);
            assert!(!run.stderr.contains("could not save"), "{}", run.stderr);
        }
    }
}

#[tokio::test]
async fn issue_16_an_endpoint_query_string_is_never_stored_or_printed() {
    let emulator = Emulator::builder().generate(5).start();
    let dir = temp_dir();
    let file = write_file(dir.path(), "hr.csv", &manifest(5, &[1]));
    let endpoint = format!("{}?apikey=SECRET123", emulator.url());
    let public_key = format!("{}/__emulator/public-key", emulator.base_url());
    let on = |args: &[&str]| {
        Sync::new(dir.path())
            .args(args.iter().copied())
            .args(["--endpoint", &endpoint, "--client-id", CLIENT_ID])
            .args(["--public-key", &public_key])
            .env("AUTHING_SECRET", crate::support::SECRET)
            .run()
    };
    let run = on(&["plan", "-f", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(cache_file(dir.path())).expect("cache");
    assert!(!text.contains("SECRET123"), "{text}");
    assert!(!text.contains("apikey"), "{text}");
    // A foreign cache planted under that name: the warning names the endpoint without it.
    std::fs::write(
        cache_file(dir.path()),
        text.replace("\"pool\":\"", "\"pool\":\"other-"),
    )
    .expect("plant");
    let run = on(&["plan", "-f", &file]);
    assert!(
        run.stderr.contains("belongs to pool other-"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("SECRET123"), "{}", run.stderr);
}

#[tokio::test]
async fn issue_16_bad_environment_values_name_the_variable_and_empty_is_unset() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    // No MFA in this manifest: the variables are still checked, and named when wrong.
    let file = write_file(dir.path(), "plain.csv", "email\nuser1@example.com\n");
    for bad in ["-1", "abc", "1.5"] {
        let run = Sync::on(&emulator, dir.path())
            .args(["plan", "-f", &file])
            .env("AUTHING_SYNC_MFA_READ_BUDGET", bad)
            .run();
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("AUTHING_SYNC_MFA_READ_BUDGET") && run.stderr.contains(bad),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("'--mfa-read-budget <N>'"),
            "{}",
            run.stderr
        );
    }
    // Empty is unset: the default (exact, the default directory).
    let mfa = write_file(dir.path(), "hr.csv", &manifest(3, &[]));
    let run = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &mfa, "--format", "json"])
        .env("AUTHING_SYNC_MFA_READ_BUDGET", "")
        .env("AUTHING_SYNC_CACHE_DIR", "")
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: Value = serde_json::from_str(&run.stdout).expect("a JSON plan");
    assert!(
        plan["mfa_states"].get("budget").is_none(),
        "{}",
        plan["mfa_states"]
    );
    assert_eq!(
        cached_ids(dir.path()).len(),
        3,
        "the default cache directory"
    );
    // A set variable still works, and the flag takes precedence over it.
    let (plan, _, _) = plan_json(&emulator, dir.path(), &mfa, &["--mfa-read-budget", "2"]).await;
    assert_eq!(plan["mfa_states"]["budget"], 2);
}

#[tokio::test]
async fn issue_16_budget_zero_refresh_and_saved_plans_say_what_they_do() {
    let emulator = Emulator::builder().generate(6).start();
    let dir = temp_dir();
    let file = write_file(dir.path(), "hr.csv", &manifest(6, &[1]));
    plan_json(&emulator, dir.path(), &file, &[]).await;
    // Budget 0 never re-reads a cached state: said.
    let (_, reads, run) =
        plan_json(&emulator, dir.path(), &file, &["--mfa-read-budget", "0"]).await;
    assert_eq!(reads, 1, "only the planned change is confirmed");
    assert!(
        run.stderr.contains("--mfa-read-budget 0 never reads again"),
        "{}",
        run.stderr
    );
    // --refresh with a budget: the budget is shown as not applied.
    let (plan, reads, _) = plan_json(
        &emulator,
        dir.path(),
        &file,
        &["--refresh", "--mfa-read-budget", "2"],
    )
    .await;
    assert_eq!(reads, 6);
    assert_eq!(plan["mfa_states"]["budget"], 2);
    assert_eq!(plan["mfa_states"]["refresh"], true);
    let run = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &file, "--refresh", "--mfa-read-budget", "2"])
        .run();
    assert!(
        run.stdout
            .contains("--refresh: every state read, --mfa-read-budget 2 not applied"),
        "{}",
        run.stdout
    );
    // A saved plan: --refresh is refused, --mfa-read-budget warned about.
    let saved = dir.path().join("plan.json");
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &file, "--out", saved.to_str().expect("utf-8")])
        .run();
    let refused = Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "--plan",
            saved.to_str().expect("utf-8"),
            "--refresh",
        ])
        .args(["--auto-approve"])
        .run();
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--refresh"), "{}", refused.stderr);
    assert_eq!(mfa_writes(&emulator).await, 0, "nothing applied");
    let warned = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", saved.to_str().expect("utf-8")])
        .args(["--mfa-read-budget", "5", "--auto-approve"])
        .run();
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    assert!(
        warned
            .stderr
            .contains("--mfa-read-budget has no effect with --plan"),
        "{}",
        warned.stderr
    );
    assert_eq!(mfa_writes(&emulator).await, 1);
}
