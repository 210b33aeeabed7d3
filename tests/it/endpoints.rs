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
    assert!(
        server.seen().is_empty(),
        "nothing, the secret least, was sent: {:?}",
        server.seen()
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
