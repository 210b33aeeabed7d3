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
        log.contains("register"),
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
