//! Secret hygiene: validate, plan in every format, apply (from manifests and from a saved plan),
//! export and a failed login, all under `RUST_LOG=trace` and `--log-format json`, with a
//! recognisable pool secret, passwords and tokens. None of them may appear in stdout, stderr,
//! plan files, exports, or the emulator's request log.

use crate::support::{Emulator, Sync, temp_dir, write_file};

const POOL_SECRET: &str = "Pool-Secret-7c1f9e-DoNotLeak";
const WRONG_SECRET: &str = "Wrong-Secret-41d2aa-DoNotLeak";
const ENV_PASSWORD: &str = "Env-Password-9b3e71-DoNotLeak";
const LITERAL_PASSWORD: &str = "Literal-Password-5a0c42-DoNotLeak";
const SAVED_PLAN_PASSWORD: &str = "Saved-Plan-Password-e8d3b1-DoNotLeak";

fn leaks(text: &str) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = [
        POOL_SECRET,
        WRONG_SECRET,
        ENV_PASSWORD,
        LITERAL_PASSWORD,
        SAVED_PLAN_PASSWORD,
    ]
    .into_iter()
    .filter(|secret| text.contains(secret))
    .collect();
    // Every token the emulator issues is a JWT: its header, base64url of `{"`, starts `eyJ`.
    if text.contains("eyJ") {
        found.push("a JWT (owner or user token)");
    }
    if text.to_ascii_lowercase().contains("bearer ") {
        found.push("an Authorization header value");
    }
    found
}

#[tokio::test]
async fn no_secret_token_or_password_reaches_any_output_or_log() {
    let emulator = Emulator::builder()
        .generate(30)
        .arg("--secret")
        .arg(POOL_SECRET)
        .arg("--log-requests")
        .capture_stderr()
        .start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Renamed\n    mfa: true\n  - email: env@example.com\n    password: ${ENV_PASSWORD}\n    mfa: true\n  - email: literal@example.com\n    password: Literal-Password-5a0c42-DoNotLeak\nwhitelist:\n  enabled: true\n  phones: [\"13800000001\"]\n",
    );
    let later = write_file(
        dir.path(),
        "later.yaml",
        "version: 1\nusers:\n  - email: saved@example.com\n    password: ${SAVED_PASSWORD}\n",
    );
    let sync = |args: &[&str]| {
        Sync::on(&emulator, dir.path())
            .args(args.iter().copied())
            .args(["--log-format", "json"])
            .env("AUTHING_SECRET", POOL_SECRET)
            .env("ENV_PASSWORD", ENV_PASSWORD)
            .env("SAVED_PASSWORD", SAVED_PLAN_PASSWORD)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
    };

    let mut outputs = Vec::new();
    let mut record = |run: crate::support::Run, code: i32| {
        let run = run.expect(code);
        outputs.push(run.stdout);
        outputs.push(run.stderr);
    };
    record(
        Sync::new(dir.path())
            .args(["validate", "-f", &manifest])
            .env("ENV_PASSWORD", ENV_PASSWORD)
            .env("RUST_LOG", "trace")
            .run(),
        0,
    );
    for format in ["human", "json", "markdown"] {
        record(
            sync(&["plan", "-f", &manifest, "--format", format]).run(),
            0,
        );
    }
    record(
        sync(&[
            "plan",
            "-f",
            &manifest,
            "--out",
            "plan.json",
            "--format",
            "json",
            "--mask-pii",
        ])
        .run(),
        0,
    );
    record(sync(&["apply", "-f", &manifest, "--auto-approve"]).run(), 0);
    record(
        sync(&["plan", "-f", &later, "--out", "later.json"]).run(),
        0,
    );
    record(
        sync(&["apply", "--plan", "later.json", "--auto-approve"]).run(),
        0,
    );
    record(
        sync(&[
            "export",
            "--with-mfa",
            "--with-whitelist",
            "--out",
            "export.yaml",
        ])
        .run(),
        0,
    );
    record(sync(&["export", "--format", "csv"]).run(), 0);
    record(
        sync(&["plan", "-f", &manifest])
            .env("AUTHING_SECRET", WRONG_SECRET)
            .run(),
        1,
    );

    for (index, text) in outputs.iter().enumerate() {
        assert!(
            leaks(text).is_empty(),
            "output {index} leaks {:?}:\n{text}",
            leaks(text)
        );
    }
    for file in ["plan.json", "later.json", "export.yaml"] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect("written file");
        assert!(leaks(&text).is_empty(), "{file} leaks {:?}", leaks(&text));
    }
    let log = emulator.stderr();
    assert!(
        log.contains("ops=createUser"),
        "the request log was written: {log}"
    );
    assert!(
        leaks(&log).is_empty(),
        "the emulator's request log leaks {:?}",
        leaks(&log)
    );

    // The trace was really on: the client's own diagnostics are in the logs.
    assert!(
        outputs.iter().any(
            |text| text.contains("\"level\":\"TRACE\"") || text.contains("\"level\":\"DEBUG\"")
        ),
        "RUST_LOG=trace produced no trace"
    );
}

#[tokio::test]
async fn a_manifest_cannot_pull_the_secret_into_a_profile() {
    let emulator = Emulator::builder()
        .generate(3)
        .arg("--secret")
        .arg(POOL_SECRET)
        .start();
    let dir = temp_dir();
    let yaml = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: ${AUTHING_SECRET}\n",
    );
    let csv = write_file(
        dir.path(),
        "hr.csv",
        "email,nickname\nuser2@example.com,${AUTHING_SECRET}\n",
    );
    let sync = |args: &[&str]| {
        Sync::on(&emulator, dir.path())
            .args(args.iter().copied())
            .env("AUTHING_SECRET", POOL_SECRET)
            .env("RUST_LOG", "trace")
    };

    // YAML may interpolate, but never the pool secret: refused before anything is sent.
    let refused = sync(&["plan", "-f", &yaml]).run().expect(1);
    assert!(
        refused
            .stderr
            .contains("may not reference `AUTHING_SECRET`"),
        "{}",
        refused.stderr
    );
    assert!(
        leaks(&refused.stdout).is_empty() && leaks(&refused.stderr).is_empty(),
        "{}",
        refused.stderr
    );

    // A CSV cell is data: `${AUTHING_SECRET}` is the literal text, in text logs too.
    let applied = sync(&["apply", "-f", &csv, "--auto-approve"])
        .run()
        .expect(0);
    assert!(
        applied.stdout.contains("\"${AUTHING_SECRET}\""),
        "{}",
        applied.stdout
    );
    for text in [&applied.stdout, &applied.stderr] {
        assert!(leaks(text).is_empty(), "leaks {:?}:\n{text}", leaks(text));
    }
    // The literal landed: planning the same file again finds nothing to change.
    let again = sync(&["plan", "-f", &csv, "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
}

#[tokio::test]
async fn a_saved_plan_with_a_literal_manifest_password_holds_no_secret() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: literal@example.com\n    password: Literal-Password-5a0c42-DoNotLeak\n",
    );
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--out", "plan.json"])
        .run()
        .expect(0);
    let saved = std::fs::read_to_string(dir.path().join("plan.json")).expect("plan");
    assert!(
        saved.contains("\"password_source\": \"manifest\""),
        "{saved}"
    );
    let apply = Sync::on(&emulator, dir.path()).apply(["--plan", "plan.json"]);
    for text in [
        &plan.stdout,
        &plan.stderr,
        &saved,
        &apply.stdout,
        &apply.stderr,
    ] {
        assert!(leaks(text).is_empty(), "leaks {:?}:\n{text}", leaks(text));
    }
    // The password set is the one the manifest declares.
    let key = emulator.public_key().await;
    let login = emulator
        .gql()
        .query(
            "mutation ($email: String, $password: String, $registerInClient: String!) { login(email: $email, password: $password, registerInClient: $registerInClient) { _id } }",
            serde_json::json!({"email": "literal@example.com", "password": crate::support::encrypt_password(&key, LITERAL_PASSWORD), "registerInClient": crate::support::CLIENT_ID}),
        )
        .await;
    assert!(login.ok("login")["_id"].is_string());
}

/// A server that echoes what it is sent (request line, headers and body) as an error message:
/// the owner-token request on every request when `echo_auth`, else only mutations (the owner
/// token is granted, and reads see an empty pool).
fn echo_server(echo_auth: bool) -> crate::support::scripted::Scripted {
    use crate::support::scripted::{Scripted, respond};
    Scripted::start(move |seen, stream| {
        let echo = || {
            let everything = format!(
                "{}\n{}\n{}",
                seen.request_line,
                seen.headers.join("\n"),
                seen.body
            );
            serde_json::json!({ "errors": [{ "message": everything }] }).to_string()
        };
        let query = seen.query();
        if seen.is_auth() {
            if echo_auth {
                return respond(stream, &echo());
            }
            return respond(
                stream,
                &format!(
                    r#"{{"data":{{"getClientWhenSdkInit":{{"accessToken":"{ECHO_TOKEN}"}}}}}}"#
                ),
            );
        }
        if query.trim_start().starts_with("mutation") {
            respond(stream, &echo())
        } else if query.contains("queryInvitationState(") {
            respond(
                stream,
                r#"{"data":{"queryInvitationState":{"enablePhone":false}}}"#,
            )
        } else if query.contains("queryInvitation(") {
            respond(stream, r#"{"data":{"queryInvitation":[]}}"#)
        } else if query.contains("users(") {
            respond(stream, r#"{"data":{"users":{"totalCount":0,"list":[]}}}"#)
        } else {
            respond(stream, &echo())
        }
    })
}

const ECHO_TOKEN: &str = "Echo-Owner-Token-3f9a27-DoNotLeak";

/// Issue: a server that echoes the request body in its error message made `plan` print the pool
/// secret (and JSON logs and debug logs carry it too). Every server text is cleaned of the known
/// secrets on the way in: the pool secret, the owner token, passwords and their encrypted form.
#[tokio::test]
async fn a_server_echoing_the_request_cannot_make_the_client_print_a_secret() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: new@example.com\n    password: ${ENV_PASSWORD}\n",
    );
    let run = |server: &crate::support::scripted::Scripted, args: &[&str], logs: &[&str]| {
        Sync::new(dir.path())
            .args(args.iter().copied())
            .args(logs.iter().copied())
            .args([
                "--endpoint",
                &server.url,
                "--client-id",
                "echo",
                "--retries",
                "0",
                "--public-key",
                &format!("{}/__emulator/public-key", emulator.base_url()),
            ])
            .env("AUTHING_SECRET", POOL_SECRET)
            .env("ENV_PASSWORD", ENV_PASSWORD)
            .env("RUST_LOG", "authing_sync=debug")
            .run()
    };
    let mut shown = 0;
    for logs in [&[][..], &["--log-format", "json"][..]] {
        // The owner-token request echoed: its body holds the pool secret.
        let server = echo_server(true);
        let planned = run(&server, &["plan", "-f", &manifest], logs);
        assert_eq!(planned.code, 1, "{}", planned.stderr);
        assert!(
            server.seen()[0].body.contains(POOL_SECRET),
            "the secret went out, so the echo holds it"
        );
        // A creation echoed: its body holds the encrypted password, its header the token.
        let server = echo_server(false);
        let applied = run(&server, &["apply", "-f", &manifest, "--auto-approve"], logs);
        assert_eq!(applied.code, 4, "{}", applied.stderr);
        let creation = server
            .seen()
            .into_iter()
            .find(|seen| seen.query().contains("createUser"))
            .expect("a creation was sent");
        let blob = creation.variables()["userInfo"]["password"]
            .as_str()
            .expect("an encrypted password")
            .to_string();
        for (what, text) in [
            ("plan stdout", &planned.stdout),
            ("plan stderr", &planned.stderr),
            ("apply stdout", &applied.stdout),
            ("apply stderr", &applied.stderr),
        ] {
            // The echo names the header (`authorization: Bearer (sensitive)`); its value is the
            // token, checked next.
            let leaked: Vec<_> = leaks(text)
                .into_iter()
                .filter(|leak| !leak.contains("Authorization header"))
                .collect();
            assert!(leaked.is_empty(), "{what} {logs:?}: {leaked:?}\n{text}");
            assert!(
                !text.contains(ECHO_TOKEN),
                "{what} {logs:?} shows the owner token\n{text}"
            );
            assert!(
                !text.contains(&blob),
                "{what} {logs:?} shows the encrypted password\n{text}"
            );
            assert!(
                !text.contains(&blob.replace('/', "\\/")),
                "{what} {logs:?} shows the encrypted password (escaped)\n{text}"
            );
            shown += text.matches("(sensitive)").count();
        }
        assert!(
            planned.stderr.contains("getClientWhenSdkInit")
                && planned.stderr.contains("(sensitive)"),
            "the echo is shown, redacted\n{}",
            planned.stderr
        );
    }
    assert!(shown >= 4, "the echoes reached the output, redacted");
}

/// `AUTHING_EMULATOR_SECRET=... authing-sync emulator --help` printed `[env: ...=<the secret>]`;
/// so would `AUTHING_ENDPOINT` with credentials in the URL for every connected command.
#[test]
fn help_never_shows_a_secret_environment_value() {
    let dir = temp_dir();
    for command in ["emulator", "plan", "apply", "export"] {
        let run = Sync::new(dir.path())
            .args([command, "--help"])
            .env("AUTHING_EMULATOR_SECRET", POOL_SECRET)
            .env(
                "AUTHING_ENDPOINT",
                "https://user:Endpoint-Pass-DoNotLeak@example.com/graphql",
            )
            .run()
            .expect(0);
        assert!(
            !run.stdout.contains(POOL_SECRET),
            "{command}\n{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("Endpoint-Pass-DoNotLeak"),
            "{command}\n{}",
            run.stdout
        );
    }
    let emulator_help = Sync::new(dir.path())
        .args(["emulator", "--help"])
        .run()
        .expect(0);
    assert!(
        emulator_help.stdout.contains("AUTHING_EMULATOR_SECRET"),
        "the variable is still named"
    );
}
