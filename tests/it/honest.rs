//! The second hostile-user review: output whose display would lie, and apply summaries that do
//! not say who. Each on the real binary against the real emulator, the pool read back where it
//! matters. (Its manifest findings are in `validate.rs`.)

use authing_sync::model::is_hidden;

use crate::support::{Emulator, Sync, temp_dir, write_file};

/// The characters of `text` a terminal would not show as themselves (line feeds and tabs are
/// shown as what they are).
fn raw_hidden(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && c != '\t' && is_hidden(c))
        .collect()
}

/// A pool whose users hold ESC sequences, a right-to-left override, bidi isolates, a
/// zero-width space and C1 controls: every plan format shows them escaped, a YAML export holds
/// them as escapes and plans to no changes, and a CSV export is refused naming the user and
/// the field, with no file written.
#[tokio::test]
async fn hidden_characters_never_reach_a_plan_or_an_export_raw_and_exports_round_trip() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let sync = Sync::on(&emulator, dir.path());
    let manifest = |nickname: &str| {
        format!(
            "version: 1\nusers:\n  - email: hidden@example.com\n    nickname: \"{nickname}\"\n    company: \"admin\\u202Egpj.exe\"\n    name: \"a\\u2066b\\u2069c\"\n    given_name: \"zero\\u200Bwidth\"\n    family_name: \"c1\\u0085\\u009B[2J\"\n    address: \"1 Road\\nTown\"\n"
        )
    };
    let first = write_file(dir.path(), "users.yaml", &manifest("\\e[31mred\\e[0m"));
    for format in ["human", "markdown"] {
        let plan = sync
            .clone()
            .args(["plan", "-f", &first, "--format", format])
            .run()
            .expect(0);
        assert_eq!(
            raw_hidden(&plan.stdout),
            Vec::<char>::new(),
            "{format}: {}",
            plan.stdout
        );
        assert_eq!(
            raw_hidden(&plan.stderr),
            Vec::<char>::new(),
            "{format}: {}",
            plan.stderr
        );
        assert!(plan.stdout.contains("\\u{202e}"), "{}", plan.stdout);
    }
    let apply = sync
        .clone()
        .args(["apply", "-f", &first, "--auto-approve"])
        .run()
        .expect(0);
    assert_eq!(
        raw_hidden(&apply.stdout),
        Vec::<char>::new(),
        "{}",
        apply.stdout
    );
    assert_eq!(
        raw_hidden(&apply.stderr),
        Vec::<char>::new(),
        "{}",
        apply.stderr
    );

    // An update: both sides shown escaped.
    let second = write_file(dir.path(), "users.yaml", &manifest("blue\\u2067x"));
    for format in ["human", "markdown"] {
        let plan = sync
            .clone()
            .args(["plan", "-f", &second, "--format", format])
            .run()
            .expect(0);
        assert_eq!(
            raw_hidden(&plan.stdout),
            Vec::<char>::new(),
            "{format}: {}",
            plan.stdout
        );
        assert!(plan.stdout.contains("\\u{1b}"), "{format}: {}", plan.stdout);
    }

    // YAML export: escapes, read back to the same pool.
    sync.clone()
        .args(["export", "--format", "yaml", "--out", "pool.yaml"])
        .run()
        .expect(0);
    let exported = std::fs::read_to_string(dir.path().join("pool.yaml")).expect("export");
    assert_eq!(raw_hidden(&exported), Vec::<char>::new(), "{exported}");
    assert!(
        exported.contains("\\u202E") && exported.contains("\\u001B"),
        "{exported}"
    );
    let again = sync
        .clone()
        .args(["plan", "-f", "pool.yaml", "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    // CSV export: refused, naming the user and the field; no file.
    let csv = sync
        .clone()
        .args(["export", "--format", "csv", "--out", "pool.csv"])
        .run()
        .expect(1);
    assert!(
        csv.stderr
            .contains("the `nickname` of user `hidden@example.com`, which holds U+001B"),
        "{}",
        csv.stderr
    );
    assert!(
        csv.stderr.contains("write the state as YAML"),
        "{}",
        csv.stderr
    );
    assert_eq!(
        raw_hidden(&csv.stderr),
        Vec::<char>::new(),
        "{}",
        csv.stderr
    );
    assert!(!dir.path().join("pool.csv").exists());
}

/// After a failure, the summary names what it skipped: the operation and the user, under the
/// reason. New users whose registration the whitelist refuses are not created, so their MFA
/// switches are skipped, each named.
#[tokio::test]
async fn the_skipped_operations_are_named_under_their_reason() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nwhitelist:\n  enabled: true\n  phones: []\nusers:\n");
    for at in 1..=3 {
        yaml.push_str(&format!(
            "  - email: refused{at}@example.com\n    phone: \"1390000000{at}\"\n    mfa: true\n"
        ));
    }
    yaml.push_str("  - email: fine@example.com\n    mfa: true\n");
    let manifest = write_file(dir.path(), "users.yaml", &yaml);
    let apply = Sync::on(&emulator, dir.path())
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(4);
    let stderr = &apply.stderr;
    assert!(
        stderr.contains("Skipped:\n  - 3 operations: the user was not created"),
        "{stderr}"
    );
    for at in 1..=3 {
        assert!(
            stderr.contains(&format!("\n      mfa_enable refused{at}@example.com")),
            "refused{at} is named: {stderr}"
        );
    }
    assert!(!stderr.contains("mfa_enable fine@example.com"), "{stderr}");
}
