//! Issue 14, what a new user hit with messy input and dying endpoints: each scenario on the real
//! binary against the real emulator, with the pool read back (or the emulator's write counter)
//! to prove what was and was not sent, and a second plan where a fix makes one meaningful.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output};
use std::time::Duration;

use authing_sync::model::{Field, Normalizer};
use serde_json::{Value, json};

use crate::support::{
    CLIENT_ID, Emulator, Sync, encrypt_password, path_in, pool, read_pool, renaming_manifest,
    temp_dir, write_file, writes,
};

/// Waits for a spawned run to end and collects its output; a guard against a hang, not a
/// measure of time.
async fn finish(child: Child) -> Output {
    tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the run ended")
    .expect("join")
    .expect("wait for the run")
}

/// The `--log-format json` events a run wrote on stderr.
fn events(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// `operation` events with this status.
fn operations<'a>(events: &'a [Value], status: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["event"] == "operation" && event["status"] == status)
        .collect()
}

/// Sends SIGINT to a running process.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
}

/// The prune policy an HR export is applied with.
const PRUNE_POLICY: &str = "version: 1\nprune:\n  enabled: true\n  scope: \"*@example.com\"\n";

/// A 10-row HR export, `user10` to `user19`; `row7` replaces the line of `user15` (line 7).
fn hr_export(row7: &str) -> String {
    let names = [
        "Ann", "Bob", "Cat", "Dan", "Eve", "Tony", "Fay", "Gus", "Hal", "Ivy",
    ];
    let mut csv = String::from("email,nickname\n");
    for (at, name) in names.iter().enumerate() {
        let i = at + 10;
        if i == 15 {
            csv.push_str(row7);
        } else {
            csv.push_str(&format!("user{i}@example.com,{name}"));
        }
        csv.push('\n');
    }
    csv
}

/// Issue 14, item 1: an unclosed quote swallowed four rows, which prune then deleted.
#[tokio::test]
async fn an_unclosed_quote_is_an_error_at_its_line_and_nothing_is_sent() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    write_file(dir.path(), "policy.yaml", PRUNE_POLICY);
    write_file(dir.path(), "hr.csv", &hr_export("user15@example.com,Tony"));
    let sync = Sync::on(&emulator, dir.path());
    sync.apply(["-f", "hr.csv", "-f", "policy.yaml"]);
    let before = writes(&emulator.stats().await);
    assert_eq!(before, 10, "ten users created");

    write_file(
        dir.path(),
        "hr.csv",
        &hr_export(r#"user15@example.com,"Wang ""Tony"#),
    );
    let validate = Sync::new(dir.path())
        .args(["validate", "-f", "hr.csv", "-f", "policy.yaml"])
        .run()
        .expect(1);
    assert_eq!(validate.stdout, "");
    for fragment in [
        "manifest::unclosed_quote",
        "hr.csv:7:20",
        "taking in lines 8 to 11",
        "quote opened here",
    ] {
        assert!(
            validate.stderr.contains(fragment),
            "{fragment}\n{}",
            validate.stderr
        );
    }
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = sync
            .clone()
            .args(command.iter().copied())
            .args(["-f", "hr.csv", "-f", "policy.yaml"])
            .run()
            .expect(1);
        assert!(run.stderr.contains("hr.csv:7:20"), "{}", run.stderr);
    }
    assert_eq!(writes(&emulator.stats().await), before, "nothing was sent");
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 10);
    assert_eq!(
        pool.user("user15@example.com").nickname.as_deref(),
        Some("Tony")
    );

    // A quote that closes further down, after taking in whole rows, is refused the same way.
    let mut swallowing = hr_export(r#"user15@example.com,"Wang ""Tony"#);
    swallowing = swallowing.replace("user17@example.com,Gus", "user17@example.com,\"Gus\"");
    write_file(dir.path(), "hr.csv", &swallowing);
    let validate = Sync::new(dir.path())
        .args(["validate", "-f", "hr.csv"])
        .run()
        .expect(1);
    assert!(
        validate
            .stderr
            .contains("takes in lines 8 to 9, which look like rows of their own"),
        "{}",
        validate.stderr
    );

    // Fixed, the file plans to no changes.
    write_file(dir.path(), "hr.csv", &hr_export("user15@example.com,Tony"));
    sync.assert_no_changes(["-f", "hr.csv", "-f", "policy.yaml"]);
}

/// Issue 14, item 1: line breaks inside a quoted cell are data when no line they take in looks
/// like a row (a multi-line address in an HR export).
#[tokio::test]
async fn a_quoted_cell_may_hold_line_breaks_that_are_not_rows() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let csv = "email,company,nickname\nann@example.com,\"Example Ltd\nBuilding 3, Road X\",Ann\nbob@example.com,Example Ltd,Bob\n";
    write_file(dir.path(), "hr.csv", csv);
    let sync = Sync::on(&emulator, dir.path());
    sync.apply(["-f", "hr.csv"]);
    let pool = read_pool(&emulator, false).await;
    assert_eq!(
        pool.user("ann@example.com").company.as_deref(),
        Some("Example Ltd\nBuilding 3, Road X")
    );
    assert_eq!(
        pool.user("bob@example.com").nickname.as_deref(),
        Some("Bob")
    );
    sync.assert_no_changes(["-f", "hr.csv"]);
}

/// Registers a user with raw GraphQL, as another tool or the console would, with any phone.
async fn register_raw(emulator: &Emulator, email: &str, phone: &str) {
    let key = emulator.public_key().await;
    emulator
        .gql()
        .query(
            "mutation ($email: String, $phone: String, $password: String, $client: String!) { register(userInfo: {email: $email, phone: $phone, password: $password, registerInClient: $client}) { _id } }",
            json!({"email": email, "phone": phone, "password": encrypt_password(&key, "raw-pass-1"), "client": CLIENT_ID}),
        )
        .await
        .ok("register");
}

/// Issue 14, item 2: `13800000000.0` (a spreadsheet's number) lost its dot and became a
/// 12-digit phone, and `12345` passed. Declared phones, user and whitelist alike, must be an
/// 11-digit mainland mobile or `+` and a country code; live phones are only compared.
#[tokio::test]
async fn phones_that_are_not_phones_are_refused_and_live_ones_only_compared() {
    let dir = temp_dir();
    let csv = "email,phone,whitelist_phone\n\
               a@example.com,13800000000.0,\n\
               b@example.com,12345,\n\
               c@example.com,1.38E+10,\n\
               d@example.com,+86 138 0000 0004,13800000001.0\n\
               e@example.com,+44 20 7946 0958,+1 415 555 0100\n";
    write_file(dir.path(), "hr.csv", csv);
    write_file(
        dir.path(),
        "list.yaml",
        "version: 1\nwhitelist:\n  phones: [\"12345\", \"+86 139 0000 0001\"]\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "hr.csv", "-f", "list.yaml"])
        .run()
        .expect(1);
    for fragment in [
        "invalid manifest: 5 errors",
        "hr.csv:2:15",
        "`13800000000.0` is not a phone number: it ends in `.0`, as a spreadsheet writes a number; format the phone column as text",
        "hr.csv:3:15",
        "`12345` is not a phone number: 5 digits without a country code",
        "hr.csv:4:15",
        "`1.38E+10` is not a phone number: it is a number in scientific notation",
        "hr.csv:5:33",
        "malformed phone in column `whitelist_phone`: `13800000001.0`",
        "list.yaml:3:12",
        "malformed phone in `whitelist.phones`: `12345`",
        "an 11-digit mainland mobile number, or `+`, the country code and the number",
    ] {
        assert!(run.stderr.contains(fragment), "{fragment}\n{}", run.stderr);
    }

    // Odd live phones are compared, never refused: a pool user registered with `12345` by
    // another tool and a whitelist entry `12345` plan and apply like any other.
    let emulator = Emulator::start();
    register_raw(&emulator, "odd@example.com", "12345").await;
    pool::whitelist_add(&emulator, "12345").await;
    pool::whitelist_add(&emulator, "13800000001").await;
    write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: odd@example.com\n    nickname: Odd\nwhitelist:\n  phones: [\"138 0000 0001\"]\n",
    );
    let sync = Sync::on(&emulator, dir.path());
    let apply = sync.apply(["-f", "pool.yaml"]);
    assert!(
        apply.stdout.contains("1 to update") && apply.stdout.contains("whitelist +0 -1"),
        "{}",
        apply.stdout
    );
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.user("odd@example.com").phone.as_deref(), Some("12345"));
    assert_eq!(pool.whitelist, ["13800000001"]);
    sync.assert_no_changes(["-f", "pool.yaml"]);
    // Export leaves a phone a manifest cannot hold unmanaged, and says so.
    let export = sync.args(["export"]).run().expect(0);
    assert!(!export.stdout.contains("12345"), "{}", export.stdout);
    assert!(
        export.stderr.contains(
            "1 users have a phone a manifest cannot hold; it was left unmanaged: odd@example.com"
        ),
        "{}",
        export.stderr
    );
}

/// Issue 14, item 10: after the server died mid-apply, every remaining operation failed one by
/// one, each after all its retries. Now a few operations in a row failing on connection errors
/// stop the run: nothing new starts, what is in flight gives up retrying, exit 4 with the
/// summary; restarted, the server gets the rest from a second apply.
#[tokio::test]
async fn a_dead_endpoint_stops_the_apply_after_a_few_operations() {
    let dir = temp_dir();
    let state = path_in(&dir, "pool.json");
    let emulator = Emulator::builder().generate(300).state(&state).start();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        &renaming_manifest(1..=300, "Renamed"),
    );
    let (concurrency, retries) = (4, 3);
    let mut apply = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve", "-q"])
        .args(["--log-format", "json", "--rate", "100"])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--retries", &retries.to_string()])
        .spawn();
    assert!(
        pool::wait_for_writes(&emulator, 0, 20, &mut apply).await,
        "the apply ended before the server died"
    );
    emulator.kill();
    let output = finish(apply).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    let events = events(&stderr);
    let applied = operations(&events, "applied").len();
    let failed = operations(&events, "failed");
    let skipped = operations(&events, "skipped");
    assert!(applied >= 20, "{applied} applied");
    assert!(
        !failed.is_empty() && failed.len() < 3 + concurrency,
        "only the operations started before the endpoint was taken for dead fail: {}",
        failed.len()
    );
    let attempts: u64 = failed
        .iter()
        .map(|event| 1 + event["retries"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        attempts <= (3 + concurrency as u64) * (1 + retries),
        "{attempts} attempts after the server died"
    );
    assert_eq!(applied + failed.len() + skipped.len(), 300);
    assert!(skipped.iter().all(|event| {
        event["message"]
            .as_str()
            .is_some_and(|reason| reason.contains("the endpoint stopped answering"))
    }));
    let finished = events
        .iter()
        .find(|event| event["event"] == "apply_finished")
        .expect("a summary");
    assert_eq!(finished["unreachable"], true);
    assert_eq!(finished["skipped"], skipped.len());

    // Restarted (the state survived the kill), the server gets the rest: what was not started,
    // and what failed unless its answer alone was lost.
    let emulator = Emulator::builder().state(&state).start();
    let restart = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve", "--rate", "500"])
        .run()
        .expect(0);
    let rest: usize = restart
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("Plan: 0 to create, "))
        .and_then(|line| line.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("a plan line: {}", restart.stdout));
    assert!(
        (skipped.len()..=skipped.len() + failed.len()).contains(&rest),
        "{rest} updates left; {} failed, {} not started",
        failed.len(),
        skipped.len()
    );
    Sync::on(&emulator, dir.path()).assert_no_changes(["-f", &manifest]);
}

/// Issue 14, item 10: Ctrl-C while operations wait to retry a dead endpoint ends them at once
/// instead of after their retries.
#[tokio::test]
async fn ctrl_c_cuts_retries_short() {
    let emulator = Emulator::builder().generate(100).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        &renaming_manifest(1..=100, "Renamed"),
    );
    let mut apply = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve", "-q"])
        .args(["--log-format", "json", "--rate", "50", "--concurrency", "2"])
        .args(["--retries", "10"])
        .env("RUST_LOG", "authing_sync::remote=debug")
        .spawn();
    assert!(
        pool::wait_for_writes(&emulator, 0, 5, &mut apply).await,
        "the apply ended before the server died"
    );
    emulator.kill();
    // Read stderr until a call waits to retry, then interrupt.
    let stderr = apply.stderr.take().expect("stderr");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("a retry is logged");
        let waiting = line.contains("retrying a transient failure");
        seen.push(line);
        if waiting {
            break;
        }
    }
    interrupt(&apply);
    let output = finish(apply).await;
    seen.extend(received.iter());
    let stderr = seen.join("\n");
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    let events = events(&stderr);
    assert!(events.iter().any(|event| event["event"] == "interrupted"));
    let failed = operations(&events, "failed");
    assert!(!failed.is_empty(), "{stderr}");
    assert!(
        failed.iter().all(|event| event["retries"]
            .as_u64()
            .is_some_and(|retries| retries < 10)),
        "no operation waited out its ten retries: {failed:?}"
    );
    assert!(!operations(&events, "skipped").is_empty());
}

/// Issue 14, item 11: passwords that only failed at apply are refused at validate: a `${PW}` set
/// to nothing (it silently became a generated password) and one shorter than Authing's 6.
#[tokio::test]
async fn empty_and_short_passwords_are_refused_at_validate() {
    let dir = temp_dir();
    write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n    password: ${PW}\n  - email: b@example.com\n    password: ${OPTIONAL_PW:-}\n  - email: c@example.com\n    password: ${SHORT_PW}\n",
    );
    write_file(
        dir.path(),
        "hr.csv",
        "email,password\nd@example.com,abc12\ne@example.com,${PW}\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "users.yaml", "-f", "hr.csv"])
        .env("PW", "")
        .env("OPTIONAL_PW", "")
        .env("SHORT_PW", "12345")
        .run()
        .expect(1);
    for fragment in [
        "invalid manifest: 4 errors",
        "manifest::empty_variable",
        "users.yaml:4:15",
        "`${PW}` in `password` is set but empty",
        "write `${PW:-}`",
        "users.yaml:8:15",
        "the password from `SHORT_PW` has 5 characters; Authing refuses passwords shorter than 6 (error 2029)",
        "hr.csv:2:15",
        "the password has 5 characters",
        "hr.csv:3:15",
    ] {
        assert!(run.stderr.contains(fragment), "{fragment}\n{}", run.stderr);
    }
    assert!(
        !run.stderr.contains("12345") && !run.stderr.contains("abc12"),
        "{}",
        run.stderr
    );

    // `${NAME:-}` stays optional: the user is valid without a password.
    write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: b@example.com\n    password: ${OPTIONAL_PW:-}\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "users.yaml"])
        .env("OPTIONAL_PW", "")
        .run()
        .expect(0);
    assert_eq!(
        run.stdout,
        "valid: 1 user, 0 whitelist phones, 0 MFA flags, 1 file\n"
    );
}

/// Issue 14, item 11: passwords encrypted with a key the pool does not hold fail every create
/// with 2016; the summary says to check `--public-key`.
#[tokio::test]
async fn creates_refused_with_2016_point_at_the_public_key() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n  - email: b@example.com\n",
    );
    // No --public-key: Authing's published key, which the emulator cannot decrypt with.
    let run = Sync::new(dir.path())
        .args(["apply", "-f", "users.yaml", "--auto-approve"])
        .args(["--endpoint", emulator.url(), "--client-id", CLIENT_ID])
        .env("AUTHING_SECRET", crate::support::SECRET)
        .run()
        .expect(4);
    assert!(run.stderr.contains("authing error 2016"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: Authing could not decrypt 2 passwords (error 2016)")
            && run.stderr.contains("check --public-key"),
        "{}",
        run.stderr
    );
    assert_eq!(read_pool(&emulator, false).await.users.len(), 0);
}

/// Issue 14, item 11: `--send-reset-email` for a new user without an email warns that the
/// generated password goes to no one.
#[tokio::test]
async fn send_reset_email_warns_about_new_users_without_an_email() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: noemail\n  - username: withemail\n    email: w@example.com\n",
    );
    let sync = Sync::on(&emulator, dir.path());
    let run = sync
        .clone()
        .args([
            "apply",
            "-f",
            "users.yaml",
            "--auto-approve",
            "--send-reset-email",
        ])
        .run()
        .expect(0);
    assert!(
        run.stderr
            .contains("warning: --send-reset-email: 1 new user has no email (noemail)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("withemail"), "{}", run.stderr);
    let mailbox = emulator.mailbox().await;
    assert_eq!(mailbox.as_array().map(Vec::len), Some(1), "{mailbox}");
    sync.assert_no_changes(["-f", "users.yaml"]);
}

/// Whether text carries a character a terminal or a reader would act on or not show.
fn hostile(text: &str) -> Option<char> {
    text.chars()
        .find(|c| (c.is_control() && !matches!(c, '\n' | '\t')) || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

/// Issue 14, item 9: values with ESC sequences and U+202E reach no output raw (human, Markdown,
/// JSON, progress lines, the summary, errors), and `--mask-pii` masks usernames and names.
#[tokio::test]
async fn control_and_bidi_characters_are_escaped_in_every_output_and_names_are_masked() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let manifest = "version: 1\nmatch_on: username\nusers:\n  - username: \"tony\\u202Egnp.exe\"\n    email: tony@example.com\n    nickname: \"Wang \\e[2J\\e]0;pwned\\a\\u202ETony\\u200B\"\n  - username: \"clash\\e[31m\"\n    email: taken@example.com\n";
    write_file(dir.path(), "users.yaml", manifest);
    let sync = Sync::on(&emulator, dir.path());
    let mut outputs = Vec::new();
    for format in ["human", "markdown", "json"] {
        for mask in [false, true] {
            let mut run = sync
                .clone()
                .args(["plan", "-f", "users.yaml", "--format", format]);
            if mask {
                run = run.args(["--mask-pii"]);
            }
            let run = run.run().expect(0);
            assert_eq!(hostile(&run.stdout), None, "{format}: {}", run.stdout);
            if mask {
                assert!(
                    !run.stdout.contains("tony")
                        && !run.stdout.contains("Wang")
                        && !run.stdout.contains("clash"),
                    "{format} --mask-pii: {}",
                    run.stdout
                );
            }
            outputs.push((format, mask, run.stdout));
        }
    }
    let human = &outputs[0].2;
    assert!(
        human.contains(r#""Wang \u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}Tony\u{200b}""#),
        "{human}"
    );
    assert!(
        human.contains(r"# tony\u{202e}gnp.exe will be created"),
        "{human}"
    );
    let markdown = &outputs[2].2;
    assert!(markdown.contains(r"`tony\u{202e}gnp.exe`"), "{markdown}");
    assert!(
        markdown.contains(r"nickname: `Wang \u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}Tony\u{200b}`"),
        "{markdown}"
    );
    // JSON escapes them and keeps the value.
    let json: Value = serde_json::from_str(&outputs[4].2).expect("JSON plan");
    let create = json["changes"]
        .as_array()
        .and_then(|changes| {
            changes
                .iter()
                .find(|change| change["key"] == "tony\u{202e}gnp.exe")
        })
        .expect("the create");
    assert_eq!(
        create["fields"]["nickname"]["to"],
        "Wang \u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}Tony\u{200b}"
    );

    // Someone takes the clash's email: the plan error names its key, escaped (issue 14 item 5
    // makes it a plan error, where it was a 2026 at apply).
    register_raw(&emulator, "taken@example.com", "").await;
    let apply = sync
        .clone()
        .args(["apply", "-f", "users.yaml", "--auto-approve"])
        .run()
        .expect(1);
    assert_eq!(hostile(&apply.stdout), None, "{}", apply.stdout);
    assert_eq!(hostile(&apply.stderr), None, "{}", apply.stderr);
    assert!(
        apply
            .stderr
            .contains(r"cannot create `clash\u{1b}[31m` with the email `taken@example.com`"),
        "{}",
        apply.stderr
    );
    // Applying: the values reach the progress lines and the summary escaped, on a pipe and in
    // colour (where only this tool's own colour sequences may carry an ESC).
    write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nmatch_on: username\nusers:\n  - username: \"tony\\u202Egnp.exe\"\n    email: tony@example.com\n    nickname: \"Wang \\e[2J\\e]0;pwned\\a\\u202ETony\\u200B\"\n  - username: \"clash\\e[31m\"\n    email: clash@example.com\n    phone: \"13800000077\"\nwhitelist:\n  enabled: true\n",
    );
    let apply = sync
        .clone()
        .args(["apply", "-f", "users.yaml", "--auto-approve"])
        .run()
        .expect(4);
    assert_eq!(hostile(&apply.stdout), None, "{}", apply.stdout);
    assert_eq!(hostile(&apply.stderr), None, "{}", apply.stderr);
    assert!(
        apply
            .stderr
            .contains(r"create clash\u{1b}[31m: createUser clash\u{1b}[31m: authing error"),
        "{}",
        apply.stderr
    );
    let pool = read_pool(&emulator, false).await;
    assert_eq!(
        pool.user("tony@example.com").nickname.as_deref(),
        Some("Wang \u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}Tony\u{200b}"),
        "the value itself is applied as declared"
    );
    let coloured = sync
        .clone()
        .args([
            "apply",
            "-f",
            "users.yaml",
            "--auto-approve",
            "--color",
            "always",
        ])
        .env("NO_COLOR", "")
        .run()
        .expect(4);
    let mut rest = coloured.stderr.as_str();
    while let Some(at) = rest.find('\u{1b}') {
        rest = &rest[at + 1..];
        let params = rest.strip_prefix('[').map(|tail| {
            tail.len()
                - tail
                    .trim_start_matches(|c: char| c.is_ascii_digit() || c == ';')
                    .len()
        });
        assert!(
            params.is_some_and(|params| rest[1 + params..].starts_with('m')),
            "an ESC that is not a colour: {:?}",
            &rest[..rest.len().min(20)]
        );
    }
    assert!(!coloured.stderr.contains('\u{202e}'), "{}", coloured.stderr);

    // An error quoting a value, and its source snippet.
    write_file(
        dir.path(),
        "bad.yaml",
        "version: 1\nusers:\n  - email: \"x\\u202e@example.com\"\n    nickname: \"\\e[2J\"\n",
    );
    let validate = Sync::new(dir.path())
        .args(["validate", "-f", "bad.yaml"])
        .run()
        .expect(1);
    assert_eq!(hostile(&validate.stderr), None, "{}", validate.stderr);
    assert!(
        validate.stderr.contains(r"`x\u{202e}@example.com` is not an email address: it contains the invisible character U+202E"),
        "{}",
        validate.stderr
    );
    let plan = sync.args(["plan", "-f", "users.yaml"]).run().expect(0);
    assert!(
        plan.stdout.contains("1 to create, 0 to update"),
        "only the clash is left: {}",
        plan.stdout
    );
}

/// A value of `field` for a round: the text of a personal field holds `Secret` (the email
/// `secret`, the phone the digits `1234` after its prefix), which `--mask-pii` must hide; the
/// text of another field holds `Open`. Flags have none.
fn personal_value(field: Field, round: u32) -> Option<String> {
    match field.normalizer() {
        None => None,
        Some(Normalizer::Email) => Some(format!("secret.person{round}@example.com")),
        Some(Normalizer::Phone) => Some(format!("1381234{round:04}")),
        Some(Normalizer::Trim) if field.personal() => {
            Some(format!("Secret {} {round}", field.name()))
        }
        Some(Normalizer::Trim) => Some(format!("Open {} {round}", field.name())),
        // A personal date: its digits `1234` must be hidden.
        Some(Normalizer::Date) => Some(format!("1234-0{}-1{round}", round + 1)),
    }
}

/// Issue 14, item 9: `--mask-pii` masks every field the field table marks personal, in every
/// format, for a creation and for an update (both sides), the key (a username) included; a
/// field that is not personal is shown as it is.
#[tokio::test]
async fn mask_pii_hides_every_personal_field_of_the_table_in_every_format() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let sync = Sync::on(&emulator, dir.path());
    let manifest = |round: u32| {
        let mut yaml = String::from("version: 1\nmatch_on: username\nusers:\n");
        yaml.push_str("  - username: secretperson\n");
        for field in Field::ALL {
            if let (Some(value), true) = (personal_value(field, round), field != Field::Username) {
                yaml.push_str(&format!("    {}: \"{value}\"\n", field.name()));
            }
        }
        yaml
    };
    let hidden = |text: &str, format: &str| {
        for secret in ["ecret", "1234"] {
            assert!(
                !text.contains(secret),
                "{format} --mask-pii shows {secret:?}:\n{text}"
            );
        }
    };
    write_file(dir.path(), "users.yaml", &manifest(1));
    let mut shown_plain = false;
    for round in [1, 2] {
        if round == 2 {
            sync.apply(["-f", "users.yaml"]);
            write_file(dir.path(), "users.yaml", &manifest(2));
        }
        for format in ["human", "markdown", "json"] {
            let masked = sync
                .clone()
                .args(["plan", "-f", "users.yaml", "--format", format, "--mask-pii"])
                .run()
                .expect(0);
            hidden(&masked.stdout, format);
            hidden(&masked.stderr, format);
            // Not personal: shown as declared.
            for field in Field::ALL.into_iter().filter(|field| !field.personal()) {
                if let Some(value) = personal_value(field, round) {
                    assert!(
                        masked.stdout.contains(&value),
                        "{format}: {field} is not personal and is shown: {}",
                        masked.stdout
                    );
                    shown_plain = true;
                }
            }
            // The same plan unmasked shows the values, so the check above can fail.
            let plain = sync
                .clone()
                .args(["plan", "-f", "users.yaml", "--format", format])
                .run()
                .expect(0);
            assert!(
                plain.stdout.contains("secretperson") && plain.stdout.contains("1234"),
                "{format}: {}",
                plain.stdout
            );
        }
    }
    assert!(
        shown_plain,
        "the table has text fields that are not personal"
    );
}

/// A server on loopback that answers every request with `response` (a whole HTTP response) and
/// counts the requests.
fn canned_server(
    response: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}/graphql", listener.local_addr().expect("address"));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if line.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (url, count)
}

/// Issue 14, item 13: an endpoint that answers with a web page or a redirect is named as not
/// Authing's API (with the status and content type), and a URL with credentials is refused
/// without echoing them.
#[tokio::test]
async fn an_endpoint_that_is_not_authings_api_is_named_as_such() {
    let dir = temp_dir();
    write_file(
        dir.path(),
        "users.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let cases = [
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 38\r\nConnection: close\r\n\r\n<!doctype html><html>Login</html>\n\n\n\n\n",
            "answered HTTP 200 with text/html; charset=utf-8",
        ),
        (
            "HTTP/1.1 302 Found\r\nLocation: https://console.example.com/login\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "answered HTTP 302, redirecting to https://console.example.com/login",
        ),
    ];
    for (response, said) in cases {
        let (url, requests) = canned_server(response);
        let run = Sync::new(dir.path())
            .args([
                "plan",
                "-f",
                "users.yaml",
                "--endpoint",
                &url,
                "--client-id",
                CLIENT_ID,
            ])
            .env("AUTHING_SECRET", crate::support::SECRET)
            .run()
            .expect(1);
        let expected = format!("{url} does not look like Authing's GraphQL API: it {said}");
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
        assert!(run.stderr.contains("check --endpoint"), "{}", run.stderr);
        assert_eq!(
            requests.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "not retried"
        );
    }

    let run = Sync::new(dir.path())
        .args(["plan", "-f", "users.yaml", "--client-id", CLIENT_ID])
        .args([
            "--endpoint",
            "https://admin:hunter2-pw@authing.example.com/graphql",
        ])
        .env("AUTHING_SECRET", crate::support::SECRET)
        .run()
        .expect(1);
    assert!(!run.stderr.contains("hunter2-pw"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("https://***@authing.example.com/graphql")
            && run.stderr.contains("credentials do not belong in the URL"),
        "{}",
        run.stderr
    );
}

/// Issue 14, item 13: an interrupt while the pool is read ends plan and apply at once with exit
/// 130 and nothing written, whether started in the foreground or in the background by a script
/// (which starts jobs with SIGINT ignored; the write phase always handled it, now every phase
/// does).
#[tokio::test]
async fn an_interrupt_while_reading_ends_plan_and_apply_with_130_in_the_background_too() {
    let emulator = Emulator::builder()
        .generate(10)
        .arg("--latency-ms")
        .arg("1500")
        .start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "pool.yaml",
        &renaming_manifest(1..=10, "Renamed"),
    );
    let sync = Sync::on(&emulator, dir.path());
    let mut requests = 0;
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        for background in [false, true] {
            let run = sync
                .clone()
                .args(command.iter().copied())
                .args(["-f", &manifest]);
            let child = if background {
                run.spawn_in_background()
            } else {
                run.spawn()
            };
            // The owner token is fetched; then the first page of users is asked for.
            requests += 2;
            loop {
                if emulator.stats().await["total"].as_u64().unwrap_or(0) >= requests {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            interrupt(&child);
            let output = finish(child).await;
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(130),
                "{command:?} background={background}: {stderr}"
            );
            assert!(
                stderr.contains("interrupted before anything was written"),
                "{stderr}"
            );
            assert_eq!(String::from_utf8_lossy(&output.stdout), "");
        }
    }
    assert_eq!(writes(&emulator.stats().await), 0);
}

/// Issue 14, item 13: a stderr whose reader went away, or that is closed, is never a panic (it
/// was exit 101), and a closed stderr does not make status lines land in a file opened later.
#[tokio::test]
async fn a_closed_stderr_is_never_a_panic() {
    use std::os::unix::process::CommandExt;
    let emulator = Emulator::start();
    let dir = temp_dir();
    write_file(
        dir.path(),
        "bad.yaml",
        "version: 1\nusers:\n  - email: not-an-email\n",
    );
    let manifest = write_file(dir.path(), "pool.yaml", &renaming_manifest(1..=3, "New"));
    let gone_reader = |command: &mut Command| {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        command.stderr(writer);
    };
    let closed = |command: &mut Command| {
        // SAFETY: between fork and exec only the async-signal-safe close(2) is called.
        unsafe {
            command.pre_exec(|| {
                libc::close(2);
                Ok(())
            });
        }
    };
    for (name, redirect) in [
        ("reader gone", &gone_reader as &dyn Fn(&mut Command)),
        ("closed", &closed),
    ] {
        let validate = Sync::new(dir.path())
            .args(["validate", "-f", "bad.yaml"])
            .run_with(redirect);
        assert_eq!(validate.code, 1, "{name}: validate");
        let apply = Sync::on(&emulator, dir.path())
            .args(["apply", "-f", &manifest, "--auto-approve"])
            .run_with(redirect);
        assert_eq!(apply.code, 0, "{name}: apply");
        // The embedded emulator's pool file is opened with stderr closed: it must stay intact.
        let local = Sync::new(dir.path())
            .args([
                "apply",
                "-f",
                &manifest,
                "--auto-approve",
                "--endpoint",
                "local",
            ])
            .run_with(redirect);
        assert_eq!(local.code, 0, "{name}: apply on the local pool");
        let plan = Sync::new(dir.path())
            .args([
                "plan",
                "-f",
                &manifest,
                "--endpoint",
                "local",
                "--detailed-exitcode",
            ])
            .run()
            .expect(0);
        assert!(
            plan.stdout.starts_with("No changes."),
            "{name}: {}",
            plan.stdout
        );
    }
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 3);
}

/// Issue 14, item 13: trailing empty spreadsheet columns are ignored (a value under one is an
/// error), a `;`-separated file says so, a huge line is not echoed whole, and a non-UTF-8 YAML
/// file gets advice for YAML.
#[tokio::test]
async fn spreadsheet_leftovers_separators_huge_lines_and_encodings_get_the_right_answer() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let sync = Sync::on(&emulator, dir.path());
    write_file(
        dir.path(),
        "excel.csv",
        "email,nickname,,\r\na@example.com,Ann,,\r\nb@example.com,Bob\r\n",
    );
    let apply = sync.apply(["-f", "excel.csv"]);
    assert!(apply.stdout.contains("2 to create"), "{}", apply.stdout);
    sync.assert_no_changes(["-f", "excel.csv"]);

    write_file(
        dir.path(),
        "excel.csv",
        "email,nickname,,\na@example.com,Ann,,\nb@example.com,Bob,,stray\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "excel.csv"])
        .run()
        .expect(1);
    assert!(
        run.stderr
            .contains("a value in column 4, which has no name in the header")
            && run.stderr.contains("excel.csv:3:20"),
        "{}",
        run.stderr
    );

    write_file(
        dir.path(),
        "semi.csv",
        "email;nickname\na@example.com;Ann\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "semi.csv"])
        .run()
        .expect(1);
    assert!(
        run.stderr
            .contains("the file seems to separate its cells with `;`")
            && run.stderr.contains("CSV UTF-8 (Comma delimited)")
            && run.stderr.contains("invalid manifest: 1 error"),
        "{}",
        run.stderr
    );

    let huge = "x".repeat(10 * 1024 * 1024);
    write_file(
        dir.path(),
        "huge.csv",
        &format!("email,nickname\na@example.com,{huge},extra\n{huge}@,x\n"),
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "huge.csv"])
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("wrong number of cells") && run.stderr.contains("huge.csv:2:1"),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    assert!(
        run.stderr.contains("characters cut"),
        "the email is quoted cut"
    );
    assert!(
        run.stderr.len() < 10_000,
        "{} bytes of diagnostics",
        run.stderr.len()
    );

    std::fs::write(
        dir.path().join("gbk.yaml"),
        b"version: 1\nusers:\n  - email: a@example.com\n    nickname: \xcd\xf5\n",
    )
    .expect("write");
    let run = Sync::new(dir.path())
        .args(["validate", "-f", "gbk.yaml"])
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("YAML manifests must be UTF-8") && !run.stderr.contains("CSV UTF-8"),
        "{}",
        run.stderr
    );
}

/// Issue 14, item 13: `-q` leaves manifest warnings out, and the summary says which way the
/// whitelist switch was turned.
#[tokio::test]
async fn quiet_hides_manifest_warnings_and_the_switch_says_on_or_off() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let sync = Sync::on(&emulator, dir.path());
    // A literal password is a manifest warning.
    let manifest = |enabled: bool| {
        format!(
            "version: 1\nusers:\n  - email: a@example.com\n    password: literal-pw-1\nwhitelist:\n  enabled: {enabled}\n"
        )
    };
    write_file(dir.path(), "pool.yaml", &manifest(true));
    let loud = Sync::new(dir.path())
        .args(["validate", "-f", "pool.yaml"])
        .run()
        .expect(0);
    assert!(loud.stderr.contains("written literally"), "{}", loud.stderr);
    let validate = Sync::new(dir.path())
        .args(["validate", "-f", "pool.yaml", "-q"])
        .run()
        .expect(0);
    let plan = sync
        .clone()
        .args(["plan", "-f", "pool.yaml", "-q"])
        .run()
        .expect(0);
    assert_eq!((validate.stderr.as_str(), plan.stderr.as_str()), ("", ""));
    let on = sync.apply(["-f", "pool.yaml"]);
    assert!(
        on.stderr
            .contains("whitelist +0 -0, whitelist switch turned on;"),
        "{}",
        on.stderr
    );
    write_file(dir.path(), "pool.yaml", &manifest(false));
    let off = sync.apply(["-f", "pool.yaml"]);
    assert!(
        off.stderr.contains("whitelist switch turned off;"),
        "{}",
        off.stderr
    );
    sync.assert_no_changes(["-f", "pool.yaml"]);
}
