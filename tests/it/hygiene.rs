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
    let apply = Sync::on(&emulator, dir.path())
        .args(["apply", "--plan", "plan.json", "--auto-approve"])
        .run()
        .expect(0);
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
