//! Faults, rate limits and interruptions: under injected errors, 429s and dropped connections
//! (before and after the server acted), an apply converges with no duplicate user and nothing
//! outside the plan touched; the client never exceeds its rate; a killed apply is finished by
//! running it again. Every test runs through both APIs (`name::v1`, `name::v3`); on v3 the
//! manifests leave out what v3 refuses (MFA changes, the whitelist switch).

use crate::both_apis;
use crate::support::{Api, Emulator, Sync, operation_count, pool, read_pool, temp_dir, write_file};

/// A manifest over a generated pool of `pool` users: users 1..=keep declared (every third
/// renamed, every tenth with MFA on, v1 only), `hires` new users, the rest pruned; and a
/// whitelist (switched on, v1 only).
fn manifest(keep: usize, hires: usize, api: Api) -> String {
    let v1 = api == Api::V1;
    let mut yaml =
        String::from("version: 1\nprune:\n  enabled: true\n  max_deletes: 50%\nwhitelist:\n");
    if v1 {
        yaml.push_str("  enabled: true\n");
    }
    yaml.push_str("  phones: [\"13800000001\", \"13800000002\", \"13800000003\"]\nusers:\n");
    for i in 1..=keep {
        yaml.push_str(&format!("  - email: user{i}@example.com\n"));
        if i % 3 == 0 {
            yaml.push_str(&format!("    nickname: Renamed {i}\n"));
        }
        if i % 10 == 0 && v1 {
            yaml.push_str("    mfa: true\n");
        }
    }
    for i in 1..=hires {
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    nickname: Hire {i}\n"
        ));
        if i % 4 == 0 {
            yaml.push_str("    email_verified: true\n");
            if v1 {
                yaml.push_str("    mfa: true\n");
            }
        }
    }
    yaml
}

/// Checks the pool against [`manifest`]: every declared field, no duplicates, the undeclared
/// fields of kept users untouched.
async fn assert_converged(emulator: &Emulator, keep: usize, hires: usize, api: Api) {
    let v1 = api == Api::V1;
    // `read_pool` fails on two users with one email, so a duplicate cannot slip through.
    let pool = read_pool(emulator, true).await;
    assert_eq!(
        pool.users.len(),
        keep + hires,
        "exactly the declared users remain"
    );
    for i in 1..=keep {
        let user = pool.user(&format!("user{i}@example.com"));
        let nickname = if i % 3 == 0 {
            format!("Renamed {i}")
        } else {
            format!("User {i}")
        };
        assert_eq!(user.nickname.as_deref(), Some(nickname.as_str()), "user{i}");
        assert_eq!(
            user.company.as_deref(),
            Some("Example"),
            "user{i} company untouched"
        );
        assert_eq!(user.mfa, Some(v1 && i % 10 == 0), "user{i} MFA");
        assert!(
            !user.email_verified && !user.blocked,
            "user{i} flags untouched"
        );
    }
    for i in 1..=hires {
        let user = pool.user(&format!("hire{i}@example.com"));
        assert_eq!(user.nickname.as_deref(), Some(format!("Hire {i}").as_str()));
        assert_eq!(user.mfa, Some(v1 && i % 4 == 0), "hire{i} MFA");
        assert_eq!(user.email_verified, i % 4 == 0, "hire{i} email_verified");
    }
    assert_eq!(pool.whitelist_enabled, v1, "v3 leaves the switch alone");
    assert_eq!(
        pool.whitelist,
        ["13800000001", "13800000002", "13800000003"]
    );
}

both_apis!(
    under_injected_faults_apply_converges_without_duplicates_and_within_the_rate,
    faults_case
);

async fn faults_case(api: Api) {
    let emulator = Emulator::builder().generate(150).faults(0.2, 7).start();
    let dir = temp_dir();
    let manifest = write_file(dir.path(), "pool.yaml", &manifest(120, 20, api));
    let rate = 40;
    let mut runs = 0;
    loop {
        runs += 1;
        let run = Sync::on_api(&emulator, dir.path(), api)
            .args(["apply", "-f", &manifest, "--auto-approve", "--retries", "8"])
            .args(["--rate", &rate.to_string(), "--concurrency", "8"])
            .run();
        match run.code {
            0 => break,
            4 if runs < 3 => continue,
            code => panic!("apply exited {code}\n{}\n{}", run.stdout, run.stderr),
        }
    }
    let stats = emulator.stats().await;
    assert!(
        stats["faults"].as_u64().unwrap_or(0) > 20,
        "faults were injected: {stats}"
    );
    assert!(
        stats["max_requests_per_second"]
            .as_u64()
            .unwrap_or(u64::MAX)
            <= 2 * rate,
        "the client kept to --rate {rate} plus one second's burst: {stats}"
    );
    assert_converged(&emulator, 120, 20, api).await;
    Sync::on_api(&emulator, dir.path(), api)
        .args([
            "plan",
            "-f",
            &manifest,
            "--detailed-exitcode",
            "--retries",
            "8",
            "--rate",
            "100",
        ])
        .run()
        .expect(0);
}

both_apis!(a_killed_apply_is_finished_by_running_it_again, killed_case);

async fn killed_case(api: Api) {
    let emulator = Emulator::builder()
        .generate(100)
        .arg("--latency-ms")
        .arg("15")
        .start();
    let dir = temp_dir();
    let manifest = write_file(dir.path(), "pool.yaml", &manifest(80, 40, api));
    let mut apply = Sync::on_api(&emulator, dir.path(), api)
        .args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--rate",
            "60",
            "--concurrency",
            "4",
        ])
        .spawn();
    // Wait until the apply is part-way through its writes, then kill it without warning.
    assert!(
        pool::wait_for_writes(&emulator, 0, 15, &mut apply).await,
        "the apply ended before it could be killed"
    );
    apply.kill().expect("kill -9 the apply");
    let _ = apply.wait();
    // The kill landed mid-apply: there is still work to do.
    Sync::on_api(&emulator, dir.path(), api)
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(2);

    Sync::on_api(&emulator, dir.path(), api)
        .args(["apply", "-f", &manifest, "--auto-approve", "--rate", "200"])
        .run()
        .expect(0);
    assert_converged(&emulator, 80, 40, api).await;
    Sync::on_api(&emulator, dir.path(), api)
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
}

both_apis!(
    paging_over_thousands_of_users_is_exact_even_under_faults,
    paging_case
);

async fn paging_case(api: Api) {
    let users = 2345;
    let emulator = Emulator::builder().generate(users).faults(0.2, 11).start();
    let dir = temp_dir();
    let mut csv = String::from("email,username,nickname,company\n");
    for i in 1..=users {
        csv.push_str(&format!("user{i}@example.com,user{i},User {i},Example\n"));
    }
    let manifest = write_file(dir.path(), "all.csv", &csv);
    // No user missed (it would be created) and none doubled (the plan would be ambiguous).
    let run = Sync::on_api(&emulator, dir.path(), api).assert_no_changes([
        "-f",
        &manifest,
        "--prune",
        "--retries",
        "10",
        "--rate",
        "200",
    ]);
    assert!(
        run.stdout.contains(&format!("Read {users} users")),
        "{}",
        run.stdout
    );
}

both_apis!(
    reads_cost_exactly_the_calls_the_api_needs_and_keep_to_the_rate,
    reads_case
);

/// v1: 1 `getClientWhenSdkInit` + ceil(N/200) `users` + one `queryMFA` per MFA-managed user + the
/// whitelist and its switch; v3: 1 `get-management-token` + ceil(N/50) `list-users` + one
/// `get-user-mfa-info` per MFA-managed user + `list-whitelist`.
async fn reads_case(api: Api) {
    let users = 4000;
    let emulator = Emulator::builder().generate(users).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "some.yaml",
        "version: 1\nwhitelist:\n  phones: []\nusers:\n  - email: user1@example.com\n    mfa: false\n  - email: user2@example.com\n    mfa: false\n  - email: user3@example.com\n    mfa: false\n",
    );
    let before = emulator.stats().await["total"].as_u64().unwrap_or(0);
    let rate = 8;
    let run = Sync::on_api(&emulator, dir.path(), api)
        .args(["plan", "-f", &manifest, "--rate", &rate.to_string()])
        .run()
        .expect(0);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);
    let stats = emulator.stats().await;
    let (auth, list, page, mfa, whitelist) = match api {
        Api::V1 => (
            "getClientWhenSdkInit",
            "users",
            200,
            "queryMFA",
            operation_count(&stats, "queryInvitation")
                + operation_count(&stats, "queryInvitationState"),
        ),
        Api::V3 => (
            "get-management-token",
            "list-users",
            50,
            "get-user-mfa-info",
            operation_count(&stats, "list-whitelist"),
        ),
    };
    assert_eq!(operation_count(&stats, auth), 1, "{stats}");
    assert_eq!(
        operation_count(&stats, list),
        users.div_ceil(page),
        "{stats}"
    );
    assert_eq!(operation_count(&stats, mfa), 3, "{stats}");
    let whitelist_reads = if api == Api::V1 { 2 } else { 1 };
    assert_eq!(whitelist, whitelist_reads, "{stats}");
    assert_eq!(
        stats["total"].as_u64().map(|total| total - before),
        Some(1 + users.div_ceil(page) + 3 + whitelist_reads),
        "nothing else was sent: {stats}"
    );
    let max = stats["max_requests_per_second"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(
        max <= 2 * rate,
        "{max} requests in one second at --rate {rate}"
    );
}

both_apis!(a_server_that_rate_limits_is_waited_for, rate_limited_case);

async fn rate_limited_case(api: Api) {
    let emulator = Emulator::builder()
        .generate(1200)
        .arg("--rate-limit")
        .arg("5")
        .start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n",
    );
    let run = Sync::on_api(&emulator, dir.path(), api)
        .args(["plan", "-f", &manifest, "--rate", "50", "--retries", "10"])
        .run()
        .expect(0);
    assert!(run.stdout.contains("Read 1200 users"), "{}", run.stdout);
    let stats = emulator.stats().await;
    assert!(
        stats["rate_limited"].as_u64().unwrap_or(0) > 0,
        "the server did answer 429: {stats}"
    );
}

/// Issue: with `--rate-limit 5` on the server and `--rate 50 --concurrency 16`, one 429 after its
/// retries aborted the whole plan. A 429 (or any `Retry-After`) now pauses every request and
/// widens the spacing of all of them, so plan and apply finish without lowering `--rate`, and the
/// server sees far fewer requests a second than asked for.
#[tokio::test]
async fn a_rate_limiting_server_slows_the_whole_client_and_the_run_converges() {
    let emulator = Emulator::builder()
        .generate(400)
        .arg("--rate-limit")
        .arg("5")
        .start();
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in 1..=30 {
        yaml.push_str(&format!(
            "  - email: user{i}@example.com\n    nickname: Throttled {i}\n    mfa: {}\n",
            i % 2 == 0
        ));
    }
    let manifest = write_file(dir.path(), "throttled.yaml", &yaml);
    let fast = ["--rate", "50", "--concurrency", "16"];
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .args(fast)
        .run()
        .expect(0);
    assert!(plan.stdout.contains("30 to update"), "{}", plan.stdout);
    Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .args(fast)
        .run()
        .expect(0);
    let again = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .args(fast)
        .run();
    assert_eq!(
        again.code, 0,
        "converged\n{}\n{}",
        again.stdout, again.stderr
    );
    let stats = emulator.stats().await;
    assert!(
        stats["rate_limited"].as_u64().unwrap_or(0) > 0,
        "the server did refuse for rate: {stats}"
    );
    let max = stats["max_requests_per_second"]
        .as_u64()
        .unwrap_or(u64::MAX);
    // Each run starts at --rate 50 until the first refusal; before the shared back-off the
    // server saw 21 a second and the plan died.
    assert!(
        max <= 12,
        "{max} requests in one second reached a server that takes 5, at --rate 50: {stats}"
    );
    let refused = stats["rate_limited"].as_u64().unwrap_or(0);
    let total = stats["total"].as_u64().unwrap_or(0);
    assert!(
        refused * 4 <= total,
        "{refused} of {total} requests were refused for rate: the client kept pushing"
    );
}

/// `--rate` is a ceiling for every second, not `rate` plus a burst.
#[tokio::test]
async fn the_rate_is_a_ceiling_in_every_second() {
    let emulator = Emulator::builder().generate(6000).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n",
    );
    Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--rate", "10"])
        .run()
        .expect(0);
    let stats = emulator.stats().await;
    let max = stats["max_requests_per_second"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(
        max <= 10,
        "{max} requests in one second at --rate 10: {stats}"
    );
}
