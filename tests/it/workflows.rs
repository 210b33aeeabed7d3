//! The paths users take beyond plan and apply: exporting an existing pool and planning it back,
//! the nightly cron script, the GitHub Actions workflow, the library example, and the CLI's own
//! help, version, completions and man page.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use serde_json::{Value, json};

use crate::support::{
    CLIENT_ID, Emulator, SECRET, Sync, pool, read_pool, temp_dir, write_file, writes,
};

/// Puts MFA and whitelist state into a generated pool through plain GraphQL.
async fn decorate(emulator: &Emulator) {
    for i in [2, 5, 7] {
        pool::enable_mfa(emulator, &format!("user{i}@example.com")).await;
    }
    for phone in ["13800000001", "+86 139-0000-0002"] {
        pool::whitelist_add(emulator, phone).await;
    }
    let owner = pool::owner(emulator).await;
    owner
        .query(
            "mutation ($client: String!) { setInvitationState(client: $client, enablePhone: true) { enablePhone } }",
            json!({"client": CLIENT_ID}),
        )
        .await
        .ok("setInvitationState");
    let id = read_pool(emulator, false)
        .await
        .user("user3@example.com")
        .id
        .clone();
    owner
        .query(
            "mutation ($_id: String!) { updateUser(options: {_id: $_id, blocked: true, emailVerified: true, phone: \"13700000003\"}) { _id } }",
            json!({"_id": id}),
        )
        .await
        .ok("updateUser");
}

#[tokio::test]
async fn an_exported_pool_plans_back_to_no_changes_in_both_formats() {
    let emulator = Emulator::builder().generate(450).start();
    decorate(&emulator).await;
    let dir = temp_dir();
    for format in ["yaml", "csv"] {
        let out = format!("pool.{format}");
        let export = Sync::on(&emulator, dir.path())
            .args([
                "export",
                "--format",
                format,
                "--out",
                &out,
                "--with-mfa",
                "--with-whitelist",
                "--rate",
                "1000",
            ])
            .run()
            .expect(0);
        assert!(
            export.stderr.contains("Exported 450 users"),
            "{}",
            export.stderr
        );
        let text = std::fs::read_to_string(dir.path().join(&out)).expect("exported file");
        assert!(text.contains("user3@example.com"));
        Sync::new(dir.path())
            .args(["validate", "-f", &out])
            .run()
            .expect(0);
        let plan = Sync::on(&emulator, dir.path())
            .args([
                "plan",
                "-f",
                &out,
                "--prune",
                "--detailed-exitcode",
                "--rate",
                "1000",
            ])
            .run()
            .expect(2);
        // The one difference (issue 14, item 4): the whitelist entry typed as
        // `+86 139-0000-0002` does not list 13900000002 for Authing, which compares the stored
        // text, so the plan replaces it by the normal form and says why.
        assert!(
            plan.stdout.contains(
                "Plan: 0 to create, 0 to update, 0 to delete, MFA +0 -0, whitelist +1 -1"
            ) && plan
                .stdout
                .contains("the plan adds 13900000002 and removes `+86 139-0000-0002`"),
            "{format}: {}",
            plan.stdout
        );
        // A second export is byte for byte the same: it diffs cleanly in git.
        let again = Sync::on(&emulator, dir.path())
            .args([
                "export",
                "--format",
                format,
                "--with-mfa",
                "--with-whitelist",
                "--rate",
                "1000",
            ])
            .run()
            .expect(0);
        assert_eq!(again.stdout, text, "{format} export is deterministic");
    }
    let yaml = std::fs::read_to_string(dir.path().join("pool.yaml")).expect("yaml");
    assert!(
        yaml.contains("enabled: true") && yaml.contains("13900000002"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("_id") && !yaml.contains("signedUp"),
        "read-only fields are left out"
    );
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn employees(range: impl Iterator<Item = usize>, renamed: &[usize]) -> String {
    let mut csv = String::from("email,username,nickname,company\n");
    for i in range {
        let nickname = if renamed.contains(&i) {
            format!("Employee {i} (renamed)")
        } else {
            format!("Employee {i}")
        };
        csv.push_str(&format!("e{i}@corp.example,e{i},{nickname},Corp\n"));
    }
    csv
}

fn night(emulator: &Emulator, dir: &Path, csv: &str) -> (i32, Vec<Value>) {
    let hr = write_file(dir, "hr-export.csv", csv);
    let alert = dir.join("alert.sh");
    std::fs::write(
        &alert,
        format!(
            "#!/bin/sh\necho \"$1\" >> {}\n",
            dir.join("alerts.txt").display()
        ),
    )
    .expect("alert");
    Command::new("chmod")
        .arg("+x")
        .arg(&alert)
        .status()
        .expect("chmod");
    let status = Command::new(repository().join("examples/cron/nightly-sync.sh"))
        .current_dir(dir)
        .env("HR_CSV", dir.join(hr))
        .env("LOG_DIR", dir.join("logs"))
        .env("STATE_DIR", dir.join("state"))
        .env("ALERT_COMMAND", &alert)
        .env("AUTHING_SYNC_BIN", env!("CARGO_BIN_EXE_authing-sync"))
        .env("AUTHING_ENDPOINT", emulator.url())
        .env("AUTHING_CLIENT_ID", CLIENT_ID)
        .env("AUTHING_SECRET", SECRET)
        .env(
            "AUTHING_PUBLIC_KEY",
            format!("{}/__emulator/public-key", emulator.base_url()),
        )
        .env("NO_COLOR", "1")
        .status()
        .expect("run the cron script");
    let logs = dir.join("logs");
    let mut events = Vec::new();
    for entry in std::fs::read_dir(&logs).expect("log dir").flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "jsonl") {
            let text = std::fs::read_to_string(entry.path()).expect("events");
            events = text
                .lines()
                .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
                .collect();
            std::fs::remove_file(entry.path()).expect("rotate the log");
        }
    }
    (status.code().unwrap_or(-1), events)
}

#[tokio::test]
async fn the_cron_example_provisions_applies_the_difference_and_stops_a_truncated_export() {
    let emulator = Emulator::start();
    let dir = temp_dir();

    // Night 1: an empty pool is provisioned from the export.
    let (code, events) = night(&emulator, dir.path(), &employees(1..=30, &[]));
    assert_eq!(code, 0, "{events:?}");
    let finished = events
        .iter()
        .find(|event| event["event"] == "apply_finished")
        .expect("a closing event");
    assert_eq!(finished["applied"]["create"], 30);
    assert_eq!(read_pool(&emulator, false).await.users.len(), 30);

    // Night 2: three hires, two leavers, four renamed: only the difference is applied.
    let csv = employees((3..=30).chain(31..=33), &[4, 8, 15, 16]);
    let (code, events) = night(&emulator, dir.path(), &csv);
    assert_eq!(code, 0, "{events:?}");
    let finished = events
        .iter()
        .find(|event| event["event"] == "apply_finished")
        .expect("a closing event");
    assert_eq!(
        finished["applied"],
        json!({"create": 3, "update": 4, "delete": 2}),
        "{finished}"
    );
    let operations = events
        .iter()
        .filter(|event| event["event"] == "operation")
        .count();
    assert_eq!(operations, 9, "one event per operation");
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 31);
    assert!(!pool.has("e1@corp.example") && pool.has("e33@corp.example"));
    assert_eq!(
        pool.user("e15@corp.example").nickname.as_deref(),
        Some("Employee 15 (renamed)")
    );

    // Night 3: a truncated export would delete most of the company; the guard stops it.
    let writes_before = writes(&emulator.stats().await);
    let (code, events) = night(&emulator, dir.path(), &employees(3..=12, &[]));
    assert_eq!(code, 3, "{events:?}");
    assert!(
        events.iter().any(|event| event["event"] == "error"
            && event["message"]
                .as_str()
                .is_some_and(|message| message.contains("21 deletions exceed the limit of 3"))),
        "{events:?}"
    );
    assert_eq!(
        writes(&emulator.stats().await),
        writes_before,
        "nothing was written"
    );
    let alerts =
        std::fs::read_to_string(dir.path().join("alerts.txt")).expect("an alert was raised");
    assert!(
        alerts.contains("the deletion guard refused tonight's sync"),
        "{alerts}"
    );
    assert_eq!(alerts.lines().count(), 1, "only night 3 alerted: {alerts}");
}

#[test]
fn the_github_workflow_parses_and_calls_commands_that_exist() {
    let path = repository().join("examples/github-actions/authing-sync.yml");
    let workflow: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&path).expect("workflow"))
            .expect("the workflow is valid YAML");
    let jobs = workflow["jobs"].as_mapping().expect("jobs");
    assert!(jobs.contains_key("plan") && jobs.contains_key("apply"));
    let mut commands = Vec::new();
    for (_, job) in jobs {
        for step in job["steps"].as_sequence().expect("steps") {
            if let Some(run) = step["run"].as_str() {
                commands.extend(
                    run.lines()
                        .map(str::trim)
                        .filter(|line| line.starts_with("authing-sync "))
                        .map(str::to_string),
                );
            }
        }
    }
    assert_eq!(commands.len(), 2, "{commands:?}");
    for command in &commands {
        // The shell parts (redirections) are not arguments.
        let words: Vec<&str> = command
            .split_whitespace()
            .take_while(|word| !word.starts_with('>'))
            .collect();
        let parsed = authing_sync::cli::Cli::try_parse_from(&words);
        assert!(
            parsed.is_ok(),
            "{command}: {}",
            parsed.err().map(|err| err.to_string()).unwrap_or_default()
        );
    }
    assert!(
        commands[0].contains("--format markdown --mask-pii --detailed-exitcode"),
        "{commands:?}"
    );
    assert!(
        commands[1].contains("apply") && commands[1].contains("--auto-approve"),
        "{commands:?}"
    );
    // Issue 16: both jobs read MFA within a budget, with the cache kept between runs, keyed
    // by the pool id, and restored before authing-sync runs.
    assert!(
        commands
            .iter()
            .all(|command| command.contains("--mfa-read-budget")),
        "{commands:?}"
    );
    for (name, job) in jobs {
        let steps = job["steps"].as_sequence().expect("steps");
        let cache = steps
            .iter()
            .position(|step| {
                step["uses"]
                    .as_str()
                    .is_some_and(|uses| uses.starts_with("actions/cache@"))
            })
            .unwrap_or_else(|| panic!("job {name:?} keeps no cache"));
        let with = &steps[cache]["with"];
        assert_eq!(with["path"].as_str(), Some(".authing-sync/cache"));
        for key in ["key", "restore-keys"] {
            assert!(
                with[key]
                    .as_str()
                    .is_some_and(|key| key.contains("${{ secrets.AUTHING_CLIENT_ID }}")),
                "{key} is keyed by the pool id"
            );
        }
        let runs = steps
            .iter()
            .position(|step| {
                step["run"].as_str().is_some_and(|run| {
                    run.contains("authing-sync plan") || run.contains("authing-sync apply")
                })
            })
            .expect("a step that runs authing-sync");
        assert!(cache < runs, "the cache is restored first in {name:?}");
    }
    // The secret is handed to the steps that run authing-sync, and to no other step.
    assert!(workflow.get("env").is_none(), "no workflow-wide secret");
    for (_, job) in jobs {
        for step in job["steps"].as_sequence().expect("steps") {
            let runs_the_tool = step["run"].as_str().is_some_and(|run| {
                run.lines()
                    .any(|line| line.trim_start().starts_with("authing-sync "))
            });
            let has_secret =
                step["env"]["AUTHING_SECRET"].as_str() == Some("${{ secrets.AUTHING_SECRET }}");
            assert_eq!(runs_the_tool, has_secret, "step {:?}", step["name"]);
        }
    }
}

#[test]
fn the_library_example_plans_against_an_in_process_emulator() {
    // cargo builds the examples beside the test binaries.
    let deps = std::env::current_exe()
        .expect("test binary")
        .parent()
        .expect("deps dir")
        .to_path_buf();
    let example = deps
        .parent()
        .expect("profile dir")
        .join("examples")
        .join("library");
    let output = Command::new(&example)
        .arg(repository().join("manifests/example.yaml"))
        .env_remove("AUTHING_ENDPOINT")
        .env_remove("AUTHING_CLIENT_ID")
        .env_remove("AUTHING_SECRET")
        .output()
        .unwrap_or_else(|err| panic!("run {}: {err}", example.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("in the pool") && stdout.contains("Plan: "),
        "{stdout}"
    );
}

#[test]
fn version_help_completions_and_man_page() {
    let dir = temp_dir();
    let version = Sync::new(dir.path()).args(["--version"]).run().expect(0);
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repository())
        .output();
    match revision {
        Ok(output) if output.status.success() => {
            let revision = String::from_utf8_lossy(&output.stdout).trim().to_string();
            assert!(
                version.stdout.contains(&revision),
                "{} lacks {revision}",
                version.stdout
            );
        }
        _ => assert!(
            version.stdout.contains("unknown revision"),
            "{}",
            version.stdout
        ),
    }
    for command in ["validate", "plan", "apply", "export", "emulator"] {
        let help = Sync::new(dir.path())
            .args([command, "--help"])
            .run()
            .expect(0);
        assert!(
            help.stdout.contains("Example"),
            "{command} --help has an example:\n{}",
            help.stdout
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let completions = Sync::new(dir.path())
            .args(["completions", shell])
            .run()
            .expect(0);
        assert!(
            completions.stdout.contains("authing-sync")
                && completions.stdout.contains("max-deletes"),
            "{shell}"
        );
    }
    let man = Sync::new(dir.path()).args(["man"]).run().expect(0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        man.stdout
    );
    assert!(
        man.stdout.contains("validate") && man.stdout.contains("Exit codes"),
        "{}",
        man.stdout
    );
}

#[test]
fn the_cron_example_stops_loudly_on_a_bad_night_length() {
    let dir = crate::support::temp_dir();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/cron/nightly-sync.sh");
    // A stand-in binary that records its arguments and budget: it must not run on bad input.
    let fake = dir.path().join("fake-authing-sync");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"budget=$AUTHING_SYNC_MFA_READ_BUDGET\" > \"$LOG_DIR/ran\"\n",
    )
    .expect("fake");
    std::process::Command::new("chmod")
        .args(["+x", fake.to_str().expect("utf-8")])
        .status()
        .expect("chmod");
    let run = |hours: &str| {
        let logs = dir.path().join(format!("logs-{hours}"));
        let output = std::process::Command::new("bash")
            .arg(&script)
            .env("HR_CSV", dir.path().join("hr.csv"))
            .env("LOG_DIR", &logs)
            .env("STATE_DIR", dir.path().join("state"))
            .env("AUTHING_SYNC_BIN", &fake)
            .env("NIGHT_HOURS", hours)
            .env_remove("AUTHING_SYNC_MFA_READ_BUDGET")
            .env_remove("AUTHING_SYNC_RATE")
            .env_remove("ALERT_COMMAND")
            .output()
            .expect("bash");
        let ran = std::fs::read_to_string(logs.join("ran")).ok();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            ran,
        )
    };
    for bad in ["abc", "0", "-1", ""] {
        let (code, stderr, ran) = run(bad);
        if bad.is_empty() {
            // Empty is the default of 4 hours.
            assert_eq!(ran.as_deref(), Some("budget=72000\n"), "{stderr}");
            continue;
        }
        assert_eq!(code, Some(1), "{bad}: {stderr}");
        assert!(stderr.contains("NIGHT_HOURS"), "{stderr}");
        assert_eq!(ran, None, "{bad}: nothing runs");
    }
    let (code, stderr, ran) = run("1.5");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(ran.as_deref(), Some("budget=27000\n"));
}
