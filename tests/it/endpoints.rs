//! Which endpoint and API a command talks to, and how an endpoint is recorded and shown: the
//! other API's URL refused before anything is sent, with advice that fits; a saved plan applied
//! where it was made (its recorded endpoint and API, a different one refused before any
//! request); a query string, which may carry a key, never recorded or printed.

use crate::support::scripted::{Scripted, respond};
use crate::support::{CLIENT_ID, Emulator, SECRET, Sync, temp_dir, write_file};

/// A command on `emulator` through `api` at `endpoint` (not the one `Sync::on` picks), given
/// through the environment.
fn at(emulator: &Emulator, dir: &std::path::Path, api: &str, endpoint: &str) -> Sync {
    Sync::new(dir)
        .env("AUTHING_API", api)
        .env("AUTHING_ENDPOINT", endpoint)
        .env("AUTHING_CLIENT_ID", CLIENT_ID)
        .env(
            "AUTHING_PUBLIC_KEY",
            &format!("{}/__emulator/public-key", emulator.base_url()),
        )
        .env("AUTHING_SECRET", SECRET)
}

/// A server that records what it is sent and answers nothing useful.
fn recorder() -> Scripted {
    Scripted::start(|_, stream| respond(stream, "{}"))
}

/// The scheme, host and port of a scripted server.
fn host(server: &Scripted) -> String {
    server.url.trim_end_matches("/graphql").to_string()
}

#[test]
fn the_other_apis_url_is_refused_before_anything_is_sent_with_advice_that_fits() {
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let server = recorder();
    let run = |api: &str, endpoint: String| {
        Sync::new(dir.path())
            .args([
                "plan",
                "-f",
                &manifest,
                "--api",
                api,
                "--endpoint",
                &endpoint,
            ])
            .args(["--client-id", CLIENT_ID])
            .env("AUTHING_SECRET", "pool-secret-for-the-test")
            .run()
            .expect(1)
    };
    for path in ["/graphql", "/graphql/v2", "/graphql/"] {
        let refused = run("v3", format!("{}{path}?apikey=k-123", host(&server)));
        let said = &refused.stderr;
        assert!(said.contains("looks like a v1 GraphQL endpoint"), "{said}");
        assert!(said.contains("--api v1"), "{said}");
        assert!(said.contains("https://api.authing.cn"), "{said}");
        assert!(
            !said.contains("ending in /graphql,"),
            "no v1 advice: {said}"
        );
        assert!(!said.contains("k-123"), "the query is not echoed: {said}");
    }
    for endpoint in [
        format!("{}/api/v3", host(&server)),
        format!("{}/api/v3/list-users", host(&server)),
        "https://api.authing.cn".to_string(),
    ] {
        let refused = run("v1", endpoint.clone());
        let said = &refused.stderr;
        assert!(said.contains("looks like a v3"), "{endpoint}: {said}");
        assert!(said.contains("--api v3"), "{endpoint}: {said}");
    }
    // The v3 API's own path given as its base URL would be called as `/api/v3/api/v3/...`.
    for path in ["/api/v3", "/api/v3/"] {
        let refused = run("v3", format!("{}{path}", host(&server)));
        let said = &refused.stderr;
        assert!(said.contains("the v3 API's own path"), "{path}: {said}");
        assert!(said.contains("without /api/v3"), "{path}: {said}");
    }
    assert!(
        server.seen().is_empty(),
        "nothing, the secret least, was sent: {:?}",
        server.seen()
    );
}

#[tokio::test]
async fn a_v1_plan_applied_with_only_another_api_given_is_the_wrong_pool() {
    let emulator = Emulator::builder().generate(1).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Planned\n",
    );
    at(&emulator, dir.path(), "v1", emulator.url())
        .args(["plan", "-f", &manifest, "--out", "saved.json"])
        .run()
        .expect(0);
    let before = emulator.stats().await["total"].as_u64();
    // Only the API is given (a stray AUTHING_API in a cron job): the endpoint is the plan's
    // v1 URL, which is not what v3 takes, but the refusal is about the plan, exit 3.
    let run = Sync::new(dir.path())
        .env("AUTHING_API", "v3")
        .env("AUTHING_SECRET", SECRET)
        .args(["apply", "--plan", "saved.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        run.stderr.contains("refusing to apply a plan made for")
            && run.stderr.contains("v1 API")
            && run.stderr.contains("v3 API"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--api"),
        "the help names the API: {}",
        run.stderr
    );
    assert_eq!(
        emulator.stats().await["total"].as_u64(),
        before,
        "nothing sent"
    );
}

#[test]
fn a_v1_client_at_a_v3_base_url_is_told_about_v3_and_the_reverse() {
    let emulator = Emulator::builder().start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    // The emulator's base URL is where v3 lives; v1 there is no GraphQL endpoint.
    let run = at(&emulator, dir.path(), "v1", emulator.base_url())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(1);
    assert!(run.stderr.contains("--api v3"), "{}", run.stderr);
    // And v3 under a path that serves nothing of v3 says what its base URL is.
    let elsewhere = format!("{}/elsewhere", emulator.base_url());
    let run = at(&emulator, dir.path(), "v3", &elsewhere)
        .args(["plan", "-f", &manifest])
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("with --api v3 it is the base URL"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_saved_plan_is_applied_where_it_was_made_and_never_records_a_query() {
    let emulator = Emulator::builder().generate(2).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Planned\n  - email: user2@example.com\n",
    );
    // A gateway key in the query: it travels with the requests, and nowhere else.
    let keyed = format!("{}/?apikey=query-key-0x5eed", emulator.base_url());
    let plan = at(&emulator, dir.path(), "v3", &keyed)
        .args(["plan", "-f", &manifest, "--out", "saved.json"])
        .run()
        .expect(0);
    let saved = std::fs::read_to_string(dir.path().join("saved.json")).expect("saved plan");
    for (what, text) in [
        ("plan file", saved.as_str()),
        ("stdout", plan.stdout.as_str()),
        ("stderr", plan.stderr.as_str()),
    ] {
        assert!(!text.contains("query-key-0x5eed"), "{what}: {text}");
    }
    let file: serde_json::Value = serde_json::from_str(&saved).expect("json");
    assert_eq!(
        file["pool"]["endpoint"],
        format!("{}/", emulator.base_url())
    );
    assert_eq!(file["pool"]["api"], "v3");
    let markdown = at(&emulator, dir.path(), "v3", &keyed)
        .args(["plan", "-f", &manifest, "--format", "markdown"])
        .run()
        .expect(0);
    assert!(
        !markdown.stdout.contains("query-key"),
        "{}",
        markdown.stdout
    );

    // Another endpoint, another API or another pool id than the plan's: refused, exit 3,
    // naming both, before any request.
    let server = recorder();
    let elsewhere = host(&server);
    let before = emulator.stats().await["total"].as_u64();
    let apply_saved = |sync: Sync| sync.args(["apply", "--plan", "saved.json", "--auto-approve"]);
    for run in [
        apply_saved(at(&emulator, dir.path(), "v3", &elsewhere)).run(),
        apply_saved(at(&emulator, dir.path(), "v1", emulator.base_url())).run(),
        apply_saved(at(&emulator, dir.path(), "v3", emulator.base_url()))
            .env("AUTHING_CLIENT_ID", "another-pool")
            .run(),
    ] {
        let run = run.expect(3);
        assert!(
            run.stderr.contains("refusing to apply a plan made for")
                && run.stderr.contains(&format!(
                    "{}/ (pool {CLIENT_ID}, v3 API)",
                    emulator.base_url()
                )),
            "{}",
            run.stderr
        );
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    assert_eq!(emulator.stats().await["total"].as_u64(), before);

    // Nothing given: the plan's endpoint, API and pool id (the query given again or not: it
    // does not name the pool).
    let applied = apply_saved(Sync::new(dir.path()).env("AUTHING_SECRET", SECRET))
        .run()
        .expect(0);
    assert!(
        applied.stderr.contains("the plan's endpoint, API, pool id"),
        "{}",
        applied.stderr
    );
    assert!(
        applied.stderr.contains("Apply complete"),
        "{}",
        applied.stderr
    );
    let again = at(&emulator, dir.path(), "v3", &keyed)
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
}

#[test]
fn a_plan_made_on_the_local_emulator_applies_only_beside_its_pool() {
    let made = temp_dir();
    let manifest = write_file(
        made.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: local1@example.com\n",
    );
    let local = |dir: &std::path::Path| Sync::new(dir).env("AUTHING_ENDPOINT", "local");
    // The local pool exists once something ran on it.
    local(made.path())
        .args(["plan", "-f", &manifest, "--out", "saved.json"])
        .run()
        .expect(0);
    let elsewhere = temp_dir();
    std::fs::copy(
        made.path().join("saved.json"),
        elsewhere.path().join("saved.json"),
    )
    .expect("copy the plan");
    let fresh = Sync::new(elsewhere.path())
        .args(["apply", "--plan", "saved.json", "--auto-approve"])
        .run()
        .expect(3);
    assert!(
        fresh.stderr.contains("a fresh local emulator"),
        "{}",
        fresh.stderr
    );
    assert!(
        !elsewhere
            .path()
            .join(".authing-sync")
            .join("local-pool.json")
            .exists(),
        "no pool was made"
    );
    let applied = Sync::new(made.path())
        .args(["apply", "--plan", "saved.json", "--auto-approve"])
        .run()
        .expect(0);
    assert!(
        applied.stderr.contains("Apply complete"),
        "{}",
        applied.stderr
    );
    local(made.path())
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
}
