//! Issue 14, what a new user hit with messy input and dying endpoints: each scenario on the real
//! binary against the real emulator, with the pool read back (or the emulator's write counter)
//! to prove what was and was not sent, and a second plan where a fix makes one meaningful.

use serde_json::json;

use crate::support::{
    CLIENT_ID, Emulator, Sync, encrypt_password, pool, read_pool, temp_dir, write_file, writes,
};

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
    sync.clone()
        .args([
            "apply",
            "-f",
            "hr.csv",
            "-f",
            "policy.yaml",
            "--auto-approve",
        ])
        .run()
        .expect(0);
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
    let plan = sync
        .args([
            "plan",
            "-f",
            "hr.csv",
            "-f",
            "policy.yaml",
            "--detailed-exitcode",
        ])
        .run()
        .expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
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
    sync.clone()
        .args(["apply", "-f", "hr.csv", "--auto-approve"])
        .run()
        .expect(0);
    let pool = read_pool(&emulator, false).await;
    assert_eq!(
        pool.user("ann@example.com").company.as_deref(),
        Some("Example Ltd\nBuilding 3, Road X")
    );
    assert_eq!(
        pool.user("bob@example.com").nickname.as_deref(),
        Some("Bob")
    );
    let plan = sync
        .args(["plan", "-f", "hr.csv", "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
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
    let apply = sync
        .clone()
        .args(["apply", "-f", "pool.yaml", "--auto-approve"])
        .run()
        .expect(0);
    assert!(
        apply.stdout.contains("1 to update") && apply.stdout.contains("whitelist +0 -1"),
        "{}",
        apply.stdout
    );
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.user("odd@example.com").phone.as_deref(), Some("12345"));
    assert_eq!(pool.whitelist, ["13800000001"]);
    let plan = sync
        .clone()
        .args(["plan", "-f", "pool.yaml", "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
    // Export leaves a phone a manifest cannot hold unmanaged, and says so.
    let export = sync.args(["export"]).run().expect(0);
    assert!(!export.stdout.contains("12345"), "{}", export.stdout);
    assert!(
        export
            .stderr
            .contains("1 users have a phone a manifest cannot hold"),
        "{}",
        export.stderr
    );
}
