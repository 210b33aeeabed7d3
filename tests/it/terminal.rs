//! What depends on a terminal or a signal: the confirmation prompt and progress bars (run under
//! a real pseudo-terminal with util-linux `script`), Ctrl-C during an apply, and the README's
//! first command on the embedded emulator.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{
    Api, CLIENT_ID, Emulator, SECRET, Sync, pool, read_pool, renaming_manifest, temp_dir,
    write_file, writes,
};

/// Runs `authing-sync <args>` in `dir` on a pseudo-terminal, typing `input`; returns the exit
/// code and everything the terminal showed.
fn on_terminal(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &[&str],
    input: &str,
) -> (i32, String) {
    let mut words = vec![env!("CARGO_BIN_EXE_authing-sync").to_string()];
    words.extend(args.iter().map(|arg| arg.to_string()));
    words.extend([
        "--endpoint".into(),
        emulator.url().into(),
        "--client-id".into(),
        CLIENT_ID.into(),
        "--public-key".into(),
        format!("{}/__emulator/public-key", emulator.base_url()),
    ]);
    let line = words
        .iter()
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(dir)
        .env("AUTHING_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("type the answer");
    let output = child.wait_with_output().expect("wait for script");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Asked\n",
    );

    let (code, screen) = on_terminal(&emulator, dir.path(), &["apply", "-f", &manifest], "no\n");
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("Do you want to perform these actions?"),
        "{screen}"
    );
    assert!(screen.contains("apply cancelled"), "{screen}");
    assert_eq!(writes(&emulator.stats().await), 0);

    let (code, screen) = on_terminal(&emulator, dir.path(), &["apply", "-f", &manifest], "yes\n");
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("~ nickname = \"User 1\" -> \"Asked\""),
        "the plan is shown before the question: {screen}"
    );
    assert_eq!(
        read_pool(&emulator, false)
            .await
            .user("user1@example.com")
            .nickname
            .as_deref(),
        Some("Asked")
    );
}

#[tokio::test]
async fn ctrl_c_at_the_prompt_ends_apply_at_once_without_an_answer() {
    use std::io::Read;
    use std::sync::mpsc;
    use std::time::Duration;

    let emulator = Emulator::builder().generate(3).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Asked\n",
    );
    let line = [
        env!("CARGO_BIN_EXE_authing-sync").to_string(),
        "apply".into(),
        "-f".into(),
        manifest.clone(),
        "--endpoint".into(),
        emulator.url().into(),
        "--client-id".into(),
        CLIENT_ID.into(),
        "--public-key".into(),
        format!("{}/__emulator/public-key", emulator.base_url()),
    ]
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
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    let mut keyboard = child.stdin.take().expect("stdin");
    let mut screen = child.stdout.take().expect("stdout");
    let (shown, seen) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = screen.read(&mut buffer) {
            if read == 0 || shown.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    // A bound on a broken build, not a synchronisation: each step waits for what it needs.
    let bound = Duration::from_secs(60);
    let mut text = String::new();
    while !text.contains("Enter a value") {
        let chunk = seen.recv_timeout(bound).expect("the prompt is shown");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Ctrl-C typed on the terminal, and no answer ever (the keyboard stays open).
    keyboard.write_all(b"\x03").expect("type Ctrl-C");
    keyboard.flush().expect("flush");
    let (exited, status) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let status = status
        .recv_timeout(bound)
        .expect("apply ends on Ctrl-C without waiting for an answer")
        .expect("wait for script");
    while let Ok(chunk) = seen.recv_timeout(Duration::from_secs(5)) {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(keyboard);
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(
        text.contains("interrupted before anything was written"),
        "{text}"
    );
    assert_eq!(writes(&emulator.stats().await), 0);
}

#[tokio::test]
async fn progress_bars_show_on_a_terminal_and_not_on_a_pipe() {
    let emulator = Emulator::builder().generate(4000).start();
    let dir = temp_dir();
    let yaml = renaming_manifest(1..=40, "Barred");
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);
    let (code, screen) = on_terminal(
        &emulator,
        dir.path(),
        &["apply", "-f", &manifest, "--auto-approve", "--rate", "20"],
        "",
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("reading users ["), "a fetch bar: {screen}");
    assert!(screen.contains("pages"), "{screen}");
    assert!(
        screen.contains("/40"),
        "an apply bar counting operations: {screen}"
    );

    let piped = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(0);
    assert!(
        !piped.stderr.contains('['),
        "no bar on a pipe: {}",
        piped.stderr
    );
    assert!(
        !piped.stderr.contains("reading"),
        "nothing about the fetch on a pipe: {}",
        piped.stderr
    );
}

crate::both_apis!(
    ctrl_c_finishes_what_is_in_flight_reports_and_exits_4_then_a_rerun_converges,
    ctrl_c_case
);

/// Ctrl-C during an apply, through either API (`::v1`, `::v3`).
async fn ctrl_c_case(api: Api) {
    let emulator = Emulator::builder()
        .generate(200)
        .arg("--latency-ms")
        .arg("10")
        .start();
    let dir = temp_dir();
    let yaml = renaming_manifest(1..=200, "Interrupted");
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);
    let mut apply = Sync::on_api(&emulator, dir.path(), api)
        .args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--rate",
            "40",
            "--concurrency",
            "4",
        ])
        .spawn();
    assert!(
        pool::wait_for_writes(&emulator, 0, 10, &mut apply).await,
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
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        stderr.contains("interrupted before starting"),
        "skipped operations are named: {stderr}"
    );
    assert!(
        stderr.contains("Running the same apply again converges"),
        "{stderr}"
    );

    // Every update the summary counts as applied did land.
    let summary = stderr
        .lines()
        .find(|line| line.starts_with("Apply finished with problems"))
        .expect("a summary line");
    let updated: usize = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" updated"))
        .and_then(|n| n.parse().ok())
        .expect("count");
    let pool = read_pool(&emulator, false).await;
    let landed = (1..=200)
        .filter(|i| {
            pool.user(&format!("user{i}@example.com"))
                .nickname
                .as_deref()
                == Some(format!("Interrupted {i}").as_str())
        })
        .count();
    assert_eq!(landed, updated, "{summary}");
    assert!(
        updated < 200,
        "the interrupt stopped the apply early: {summary}"
    );

    Sync::on_api(&emulator, dir.path(), api)
        .args(["apply", "-f", &manifest, "--auto-approve", "--rate", "500"])
        .run()
        .expect(0);
    Sync::on_api(&emulator, dir.path(), api)
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
}

#[test]
fn the_readme_first_command_works_on_a_fresh_directory() {
    let dir = temp_dir();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/example.yaml");
    std::fs::copy(&example, dir.path().join("example.yaml")).expect("copy the sample");
    let apply = Sync::new(dir.path()).apply(["-f", "example.yaml", "--endpoint", "local"]);
    assert!(apply.stderr.contains("Apply complete"), "{}", apply.stderr);
    assert!(
        dir.path().join(".authing-sync/local-pool.json").exists(),
        "the local pool is kept"
    );
    let plan = Sync::new(dir.path())
        .args(["plan", "-f", "example.yaml", "--endpoint", "local"])
        .run()
        .expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
}

#[tokio::test]
async fn users_created_without_a_password_get_the_reset_email_when_asked() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: mailme@example.com\n  - email: haspassword@example.com\n    password: ${PW}\n",
    );
    Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--send-reset-email",
        ])
        .env("PW", "a-declared-password")
        .run()
        .expect(0);
    let mailbox = emulator.mailbox().await;
    let sent: Vec<&str> = mailbox
        .as_array()
        .expect("mailbox")
        .iter()
        .filter_map(|mail| mail["email"].as_str())
        .collect();
    assert_eq!(sent, ["mailme@example.com"]);
}

#[tokio::test]
async fn requests_in_flight_never_exceed_concurrency() {
    let emulator = Emulator::builder()
        .generate(3000)
        .arg("--latency-ms")
        .arg("20")
        .start();
    let dir = temp_dir();
    let yaml = renaming_manifest(1..=60, "Bounded");
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);
    Sync::on(&emulator, dir.path())
        .args([
            "apply",
            "-f",
            &manifest,
            "--auto-approve",
            "--rate",
            "1000",
            "--concurrency",
            "3",
        ])
        .run()
        .expect(0);
    let stats = emulator.stats().await;
    let most = stats["max_in_flight"].as_u64().expect("max_in_flight");
    assert!(most <= 3, "{most} requests in flight with --concurrency 3");
    assert!(most >= 2, "requests did run side by side: {stats}");
}
