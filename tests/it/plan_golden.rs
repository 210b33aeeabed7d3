//! Plans of a 300-user pool, byte for byte as the build before issue 15's memory work printed
//! them (main at 640ea08, merged into perf; the two JSON files are also those of 8178869, before
//! the grouped human plan): the JSON plan, the masked JSON plan and the human plan of a manifest
//! with updates of several fields, an email's change of case, creations (one with a bidi
//! control in its nickname), a rename, MFA switches, whitelist changes and deletions under
//! `prune`. Every layer the work touched is under it: the compact profile, the decoding and
//! de-duplication of pages, the diff's key index and the streamed JSON writer.
//!
//! The files in `golden/` were written by that build. To write them again with another binary
//! (only when a change of output is intended, and say so in the commit):
//!
//! ```sh
//! AUTHING_SYNC_GOLDEN_WRITE=1 AUTHING_SYNC_GOLDEN_BIN=/path/to/authing-sync \
//!     cargo test --test it plan_golden
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{CLIENT_ID, Emulator, SECRET, temp_dir, write_file};

/// The users of the CSV: the generated users 1 to 280 (281 to 300 are left to `prune`), with
/// changes every few users, and 25 new ones.
fn users_csv() -> String {
    let mut csv = String::from("email,username,nickname,company,phone,blocked,mfa\n");
    for i in 1..=280 {
        // Declared by the YAML manifest instead.
        if i == 5 || i == 6 {
            continue;
        }
        let email = if i % 13 == 0 {
            format!("User{i}@Example.com")
        } else {
            format!("user{i}@example.com")
        };
        let nickname = if i % 7 == 0 {
            format!("Renamed {i}")
        } else {
            format!("User {i}")
        };
        let company = if i % 11 == 0 { "Other Ltd" } else { "Example" };
        let phone = if i % 17 == 0 {
            format!("+86 139-{:04}-{:04}", i / 100, i % 100)
        } else {
            String::new()
        };
        let blocked = if i % 19 == 0 { "yes" } else { "" };
        let mfa = match i % 23 {
            0 => "yes",
            1 => "no",
            _ => "",
        };
        let _ = writeln!(
            csv,
            "{email},user{i},{nickname},{company},{phone},{blocked},{mfa}"
        );
    }
    for j in 1..=25 {
        let nickname = if j == 3 {
            "Evil\u{202e}gnp.exe".to_string()
        } else {
            format!("New {j}")
        };
        let phone = if j % 2 == 0 {
            format!("138{j:08}")
        } else {
            String::new()
        };
        let mfa = if j % 5 == 0 { "yes" } else { "" };
        let _ = writeln!(
            csv,
            "new{j}@example.com,new{j},{nickname},Example,{phone},,{mfa}"
        );
    }
    csv
}

const SETTINGS: &str = r#"version: 1
match_on: email
users:
  - email: renamed5@example.com
    renamed_from: user5@example.com
    username: user5
    nickname: User Five
  - email: user6@example.com
    username: user6
    nickname: User 6
    company: Example
    email_verified: true
whitelist:
  enabled: true
  phones:
    - "13800000002"
    - "+86 139-0000-0017"
prune:
  enabled: true
  max_deletes: 30
  protect: [user299@example.com]
"#;

/// The binary under test, or the one named by `AUTHING_SYNC_GOLDEN_BIN`.
fn binary() -> PathBuf {
    std::env::var_os("AUTHING_SYNC_GOLDEN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_authing-sync")))
}

fn plan(emulator: &Emulator, dir: &Path, extra: &[&str]) -> String {
    let output = Command::new(binary())
        .args(["plan", "-f", "users.csv", "-f", "settings.yaml"])
        .args(extra)
        .args(["--endpoint", emulator.url(), "--client-id", CLIENT_ID])
        .args([
            "--public-key",
            &format!("{}/__emulator/public-key", emulator.base_url()),
        ])
        .current_dir(dir)
        .env("AUTHING_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("AUTHING_ENDPOINT")
        .stdin(Stdio::null())
        .output()
        .expect("run authing-sync plan");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 plan");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    normalise(&stdout, emulator.url())
}

/// The plan without what differs from run to run: the emulator's port, the time of the plan,
/// the build (its commit) and how long reading the pool took.
fn normalise(text: &str, endpoint: &str) -> String {
    text.replace(endpoint, "<endpoint>")
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("\"created_at\":") {
                "  \"created_at\": \"<time>\",".to_string()
            } else if line.trim_start().starts_with("\"digest\":") {
                // Over the file's text, so over its time too.
                "  \"digest\": \"<sha256>\"".to_string()
            } else if line.trim_start().starts_with("\"tool_version\":") {
                "  \"tool_version\": \"<version>\",".to_string()
            } else if line.starts_with("Read ") && line.contains(" API call") {
                match line.rsplit_once(" in ") {
                    Some((head, _)) => format!("{head} in <time>."),
                    None => line.to_string(),
                }
            } else {
                line.to_string()
            }
        })
        .map(|line| line + "\n")
        .collect()
}

fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/golden")
        .join(name);
    if std::env::var_os("AUTHING_SYNC_GOLDEN_WRITE").is_some() {
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("read the golden file");
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file from line {}:\n--- golden\n{}\n--- now\n{}",
            first + 1,
            expected
                .lines()
                .skip(first)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
            actual
                .lines()
                .skip(first)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

#[test]
fn plans_are_byte_for_byte_those_of_the_build_before_the_memory_work() {
    let emulator = Emulator::builder().generate(300).start();
    let dir = temp_dir();
    write_file(dir.path(), "users.csv", &users_csv());
    write_file(dir.path(), "settings.yaml", SETTINGS);

    let json = plan(&emulator, dir.path(), &["--format", "json"]);
    // The plan is what the manifest asks for, whatever the golden says.
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON plan");
    let summary = &parsed["summary"];
    assert_eq!(summary["create"], 25, "{summary}");
    assert_eq!(
        summary["delete"], 19,
        "users 281 to 300 but the protected one: {summary}"
    );
    assert!(summary["update"].as_u64().unwrap_or(0) > 80, "{summary}");
    assert!(json.contains("\\u202e"), "the bidi control is escaped");
    check("plan.json", &json);
    check(
        "plan-masked.json",
        &plan(&emulator, dir.path(), &["--format", "json", "--mask-pii"]),
    );
    check("plan.txt", &plan(&emulator, dir.path(), &[]));
}
