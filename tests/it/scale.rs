//! Plans at scale on the real binary: a 51,000-change plan reads in a few hundred lines by
//! default, names each kind with its count and lists every deletion up to the guard; `--show all`
//! prints everything, `--show N` that many of each kind (on `plan` and on `apply`, which shows the
//! plan before it starts); the Markdown plan stays under GitHub's comment limit.

use crate::support::{Emulator, Sync, renaming_manifest, temp_dir, write_file};

/// 50,000 renamed users and 990 new ones, against a pool of 50,010: with `--prune`, 10 deletions
/// (the default guard's limit), so 51,000 changes.
fn hr_export() -> String {
    let mut csv = String::from("email,nickname\n");
    for i in 1..=50_000 {
        csv.push_str(&format!("user{i}@example.com,Renamed {i}\n"));
    }
    for j in 1..=990 {
        csv.push_str(&format!("new{j}@example.com,New {j}\n"));
    }
    csv
}

const SUMMARY: &str =
    "Plan: 990 to create, 50000 to update, 10 to delete, MFA +0 -0, whitelist +0 -0";

#[test]
fn a_51000_change_plan_is_grouped_and_show_all_prints_every_change() {
    let emulator = Emulator::builder().generate(50_010).start();
    let dir = temp_dir();
    let csv = write_file(dir.path(), "hr.csv", &hr_export());
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "-f",
            &csv,
            "--prune",
            "--rate",
            "10000",
            "--concurrency",
            "8",
        ];
        args.extend_from_slice(extra);
        Sync::on(&emulator, dir.path()).args(args).run().expect(0)
    };

    let grouped = plan(&[]).stdout;
    let lines = grouped.lines().count();
    assert!(lines <= 150, "{lines} lines:\n{grouped}");
    assert!(grouped.contains(SUMMARY), "{grouped}");
    for i in 50_001..=50_010 {
        assert!(
            grouped.contains(&format!("# user{i}@example.com will be deleted (--prune)")),
            "deletion of user{i} not listed:\n{grouped}"
        );
    }
    assert!(
        grouped.contains("# 990 users will be created (hr.csv), the first 5 listed above"),
        "{grouped}"
    );
    assert!(
        grouped
            .contains("# 50,000 users will be updated in place (hr.csv), the first 5 listed above"),
        "{grouped}"
    );
    assert!(
        grouped.contains("~ nickname 50,000  e.g. user6@example.com \"User 6\" -> \"Renamed 6\""),
        "{grouped}"
    );
    assert!(
        grouped.contains("+ nickname 990  e.g. new6@example.com \"New 6\""),
        "{grouped}"
    );

    let all = plan(&["--show", "all"]).stdout;
    assert_eq!(
        all.matches("@example.com will be updated in place (hr.csv:")
            .count(),
        50_000
    );
    assert_eq!(
        all.matches("@example.com will be created (hr.csv:").count(),
        990
    );
    assert_eq!(all.matches(" will be deleted (--prune)").count(), 10);
    assert!(all.contains("~ nickname = \"User 49999\" -> \"Renamed 49999\""));
    assert!(all.contains(SUMMARY));
    assert!(!all.contains("listed above"));

    // `--show 0` still lists deletions up to the limit, and says why the rest are not listed.
    let limited = plan(&["--show", "0", "--max-deletes", "4"]);
    let text = &limited.stdout;
    assert_eq!(
        text.matches(" will be deleted (--prune)").count(),
        4,
        "{text}"
    );
    assert!(
        text.contains("# 6 more users will be deleted, not listed: 10 deletions exceed the deletion limit of 4, so apply refuses this plan"),
        "{text}"
    );
    assert!(
        text.contains("10 deletions exceed the limit of 4 (--max-deletes 4"),
        "{text}"
    );
    assert!(text.contains("50,000 users will be updated in place (hr.csv), none listed above"));

    let markdown = plan(&["--format", "markdown"]).stdout;
    assert!(markdown.len() < 20_000, "{} bytes", markdown.len());
    assert!(markdown.contains("| update | 50,000 |"), "{markdown}");
    assert!(markdown.contains(&format!("**{SUMMARY}**")), "{markdown}");
    let markdown_all = plan(&["--format", "markdown", "--show", "all"]).stdout;
    assert!(
        markdown_all.len() <= authing_sync::render::markdown::MAX_BYTES,
        "{} bytes",
        markdown_all.len()
    );
    // One line says how many updates are not shown, of how many, and why.
    let cut: Vec<&str> = markdown_all
        .lines()
        .filter(|line| line.contains("updates not shown"))
        .collect();
    assert_eq!(cut.len(), 1, "{markdown_all}");
    assert!(
        cut[0].contains(" of 50,000 updates not shown: the comment would pass GitHub's limit"),
        "{}",
        cut[0]
    );
    assert_eq!(markdown_all.matches("(id `").count(), 10, "every deletion");
}

#[test]
fn apply_shows_its_plan_grouped_and_show_n_lists_that_many() {
    let emulator = Emulator::builder().generate(150).start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "users.yaml",
        &renaming_manifest(1..=150, "Renamed"),
    );
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "-f", &manifest, "--auto-approve", "--rate", "1000"];
        args.extend_from_slice(extra);
        Sync::on(&emulator, dir.path()).args(args).run()
    };
    let run = apply(&["--show", "2"]).expect(0);
    assert_eq!(
        run.stdout
            .matches("@example.com will be updated in place (users.yaml:")
            .count(),
        2,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "# 150 users will be updated in place (users.yaml), the first 2 listed above"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("~ nickname 150  e.g. user3@example.com \"User 3\" -> \"Renamed 3\""),
        "{}",
        run.stdout
    );
    // Applied in full: the next plan has nothing to do, and says so as it always has.
    let again = apply(&[]).expect(0);
    assert!(
        again
            .stdout
            .starts_with("No changes. The pool matches the manifests."),
        "{}",
        again.stdout
    );
}

/// Samples in the grouped blocks are user data: escaped like every other value (no ESC or
/// U+202E reaches the terminal or the pull request) and masked by `--mask-pii`, in the human
/// and the Markdown plan.
#[test]
fn grouped_samples_are_escaped_and_masked() {
    let emulator = Emulator::builder().generate(150).start();
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in 1..=150 {
        yaml.push_str(&format!(
            "  - email: user{i}@example.com\n    nickname: \"Evil\\e[2J\\u202E{i}\"\n"
        ));
    }
    let manifest = write_file(dir.path(), "users.yaml", &yaml);
    let hostile = |text: &str| {
        text.chars().find(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
        })
    };
    for format in ["human", "markdown"] {
        let plan = |extra: &[&str]| {
            let mut args = vec!["plan", "-f", &manifest, "--format", format];
            args.extend_from_slice(extra);
            Sync::on(&emulator, dir.path()).args(args).run().expect(0)
        };
        let shown = plan(&[]).stdout;
        assert_eq!(hostile(&shown), None, "{format}: {shown}");
        // The first five are listed in full; the sixth is the grouped block's sample.
        let sample = match format {
            "human" => {
                r#"~ nickname 150  e.g. user6@example.com "User 6" -> "Evil\u{1b}[2J\u{202e}6""#
            }
            _ => r"- nickname: 150 — e.g. `user6@example.com` `User 6` → `Evil\u{1b}[2J\u{202e}6`",
        };
        assert!(shown.contains(sample), "{format}: {shown}");

        let masked = plan(&["--mask-pii"]).stdout;
        assert_eq!(hostile(&masked), None, "{format}: {masked}");
        assert!(
            masked.contains("150 users will be updated in place")
                || masked.contains("| update | 150 |"),
            "{format}: {masked}"
        );
        for clear in ["Evil", "User 6", "user6@"] {
            assert!(
                !masked.contains(clear),
                "{format} --mask-pii shows {clear:?}: {masked}"
            );
        }
    }
}

/// A pool whitelist of 3,000 phones (seeded by the emulator: `199…`) against a manifest of
/// 3,000 others, with removals allowed: each list of phones starts with a phone and ends with one
/// line counting what is not shown.
#[tokio::test]
async fn markdown_whitelist_swap_lists_a_sample_and_counts_once() {
    let emulator = Emulator::builder().generate_phones(3_000).start();
    let dir = temp_dir();
    let phones: Vec<String> = (0..3_000).map(|i| format!("\"1370{i:07}\"")).collect();
    write_file(
        dir.path(),
        "whitelist.yaml",
        &format!(
            "version: 1\nwhitelist:\n  phones: [{}]\n",
            phones.join(", ")
        ),
    );
    let markdown = Sync::on(&emulator, dir.path())
        .args([
            "plan",
            "-f",
            "whitelist.yaml",
            "--max-deletes",
            "100%",
            "--format",
            "markdown",
        ])
        .run()
        .stdout;
    assert!(markdown.contains("- add `13700000000`"), "{markdown}");
    assert!(markdown.contains("- remove `19900000001`"), "{markdown}");
    assert!(markdown.contains("**3,000 phones will be removed from the whitelist.**"));
    for noun in ["additions", "removals"] {
        let lines: Vec<&str> = markdown
            .lines()
            .filter(|line| line.contains(&format!(" of 3,000 {noun} not shown")))
            .collect();
        assert_eq!(lines.len(), 1, "{noun}: {markdown}");
    }
    assert!(
        !markdown.contains("more not shown: the comment"),
        "{markdown}"
    );
}
