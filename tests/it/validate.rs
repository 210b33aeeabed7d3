//! `authing-sync validate` on the real binary: one test per class of manifest problem, each
//! checking the exit code and that stderr names the file, line (and column) and the field; and
//! the sample manifests, which must be valid.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// Manifests in a temporary directory, validated by the real binary run inside it (so paths in
/// diagnostics are the short relative ones written here).
struct Case {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Case {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    fn file(self, name: &str, text: &str) -> Self {
        self.bytes(name, text.as_bytes())
    }

    fn bytes(self, name: &str, bytes: &[u8]) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
        self
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    fn validate(&self, paths: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_authing-sync"));
        command
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("AUTHING_SYNC_LOG_FORMAT")
            .arg("validate");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        for path in paths {
            command.arg("-f").arg(path);
        }
        run(command.output().unwrap())
    }
}

fn run(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Run {
    /// Exit code 1, nothing on stdout, and every fragment on stderr.
    fn fails_with(&self, fragments: &[&str]) -> &Self {
        assert_eq!(self.code, 1, "exit code\n{}", self.stderr);
        assert_eq!(self.stdout, "", "stdout of a failed validate");
        self.mentions(fragments)
    }

    fn mentions(&self, fragments: &[&str]) -> &Self {
        for fragment in fragments {
            assert!(
                self.stderr.contains(fragment),
                "stderr lacks {fragment:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    fn never_mentions(&self, fragment: &str) -> &Self {
        assert!(
            !self.stderr.contains(fragment) && !self.stdout.contains(fragment),
            "output shows {fragment:?}:\n{}",
            self.stderr
        );
        self
    }

    fn succeeds_with(&self, summary: &str) -> &Self {
        assert_eq!(self.code, 0, "exit code\n{}", self.stderr);
        assert_eq!(self.stdout, format!("{summary}\n"));
        self
    }
}

#[test]
fn yaml_syntax_error_is_located() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n   nickname: Al\n",
        )
        .validate(&["users.yaml"])
        .fails_with(&["manifest::syntax", "invalid YAML", "users.yaml:4:4"]);
}

#[test]
fn unknown_key_gets_a_suggestion() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    nicknme: Al\n",
        )
        .validate(&["users.yaml"])
        .fails_with(&[
            "manifest::unknown_field",
            "unknown field `nicknme`, did you mean `nickname`?",
            "users.yaml:4:5",
        ]);
}

#[test]
fn unknown_top_level_key_and_unknown_csv_column_are_errors() {
    Case::new()
        .file("a.yaml", "version: 1\nuser: []\n")
        .file("b.csv", "email,nick_name\na@example.com,Al\n")
        .validate(&["a.yaml", "b.csv"])
        .fails_with(&[
            "unknown field `user`, did you mean `users`?",
            "a.yaml:2:1",
            "unknown column `nick_name`, did you mean `nickname`?",
            "b.csv:1:7",
        ]);
}

#[test]
fn wrong_types_are_all_reported() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    nickname: [Al, Liu]\n  - email: b@example.com\n    mfa: {on: true}\nwhitelist:\n  phones: [\"13800000000\", [1]]\n",
        )
        .validate(&["users.yaml"])
        .fails_with(&[
            "invalid manifest: 3 errors",
            "wrong type for `nickname`",
            "users.yaml:4:15",
            "wrong type for `mfa`",
            "users.yaml:6:10",
            "wrong type for `phones[1]`",
            "users.yaml:8:27",
        ]);
}

#[test]
fn bad_boolean_in_csv_names_line_and_column() {
    Case::new()
        .file(
            "hr.csv",
            "email,nickname,mfa\na@example.com,Al,yes\nb@example.com,Bo,maybe\n",
        )
        .validate(&["hr.csv"])
        .fails_with(&[
            "manifest::invalid_bool",
            "invalid boolean `maybe` for `mfa`",
            "hr.csv:3:18",
        ]);
}

#[test]
fn a_spreadsheet_csv_with_bom_and_crlf_lines_is_located_right() {
    Case::new()
        .bytes(
            "excel.csv",
            b"\xef\xbb\xbfEmail,Nickname,MFA\r\na@example.com,Al,yes\r\n\r\nb@example.com,Bo,maybe\r\n",
        )
        .validate(&["excel.csv"])
        .fails_with(&["invalid boolean `maybe` for `mfa`", "[excel.csv:4:18]"]);
}

#[test]
fn malformed_emails_are_located_in_yaml_and_csv() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: alice.example.com\n",
        )
        .file("b.csv", "nickname,email\nBo,bob@example\n")
        .validate(&["a.yaml", "b.csv"])
        .fails_with(&[
            "manifest::malformed_email",
            "malformed `email`: `alice.example.com` is not an email address",
            "a.yaml:3:12",
            "`bob@example` is not an email address",
            "b.csv:2:4",
        ]);
}

#[test]
fn malformed_phones_are_located_in_yaml_and_csv() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    phone: 138-abcd-0000\nwhitelist:\n  phones:\n    - \"123\"\n",
        )
        .file("b.csv", "whitelist_phone\n13800000000\n+86 12x\n")
        .validate(&["a.yaml", "b.csv"])
        .fails_with(&[
            "manifest::malformed_phone",
            "malformed `phone`: `138-abcd-0000` is not a phone number",
            "a.yaml:4:12",
            "malformed phone in `whitelist.phones`: `123` is not a phone number",
            "a.yaml:7:7",
            "malformed phone in column `whitelist_phone`",
            "b.csv:3:1",
        ]);
}

#[test]
fn a_user_without_its_match_on_key_is_an_error() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nmatch_on: username\nusers:\n  - username: alice\n  - email: bob@example.com\n    nickname: Bob\n",
        )
        .file("b.csv", "username,nickname\ncarol,Carol\n,Nobody\n")
        .validate(&["a.yaml", "b.csv"])
        .fails_with(&[
            "manifest::missing_key",
            "user without `username`: users are matched on `username`",
            "a.yaml:5:5",
            "b.csv:3:1",
        ]);
}

#[test]
fn a_csv_without_the_key_column_is_reported_once_at_its_header() {
    let run = Case::new()
        .file("b.csv", "nickname,mfa\nAl,yes\nBo,no\n")
        .validate(&["b.csv"]);
    run.fails_with(&[
        "invalid manifest: 1 error",
        "the header has no `email` column",
        "b.csv:1:1",
    ]);
}

#[test]
fn a_user_declared_twice_across_files_names_both_places() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: Alice@Example.com\n    nickname: Alice\n",
        )
        .file(
            "b.csv",
            "email,nickname\nbob@example.com,Bob\nalice@example.COM,Al\n",
        )
        .validate(&["a.yaml", "b.csv"])
        .fails_with(&[
            "manifest::duplicate_user",
            "duplicate user: `email` `alice@example.com` is declared twice",
            "b.csv:3:1",
            "first declared at a.yaml:3:12",
            "[a.yaml:3:12]",
        ]);
}

#[test]
fn a_user_declared_twice_in_one_file_names_both_lines() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n  - email: b@example.com\n  - email: a@example.com\n",
        )
        .validate(&["a.yaml"])
        .fails_with(&["duplicate user", "[a.yaml:5:12]", "first declared at a.yaml:3:12"]);
}

#[test]
fn the_same_whitelist_phone_twice_is_a_warning_naming_both_places() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nwhitelist:\n  phones:\n    - \"13800000000\"\n",
        )
        .file("b.csv", "whitelist_phone\n+86 138-0000-0000\n")
        .validate(&["a.yaml", "b.csv"])
        .succeeds_with("valid: 0 users, 1 whitelist phone, 0 MFA flags, 2 files")
        .mentions(&[
            "manifest::duplicate_phone",
            "whitelist phone `13800000000` is listed twice",
            "b.csv:2:1",
            "first listed at a.yaml:4:7",
        ]);
}

#[test]
fn an_unset_variable_is_located_and_a_password_is_never_shown() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: ${AUTHING_SYNC_TEST_UNSET_EMAIL}\n    password: Hunter2-literal\n  - email: b@example.com\n    password: ${AUTHING_SYNC_TEST_UNSET_PW}\n  - email: c@example.com\n    nickname: ${AUTHING_SYNC_TEST_SET:-x}\n",
        )
        .env("AUTHING_SYNC_TEST_SET", "Carol")
        .validate(&["a.yaml"])
        .fails_with(&[
            "manifest::unset_variable",
            "unset environment variable `AUTHING_SYNC_TEST_UNSET_EMAIL` in `email`",
            "a.yaml:3:12",
            "unset environment variable `AUTHING_SYNC_TEST_UNSET_PW` in `password`",
            "a.yaml:6:15",
            "manifest::literal_password",
        ])
        .never_mentions("Hunter2-literal");
}

#[test]
fn passwords_never_show_in_snippets_even_under_a_misspelt_key() {
    let run = Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    passwrd: Hunter2-typo\n    password: Hunter2-literal\n    nickname: [x]\n",
        )
        .file(
            "b.csv",
            "email,password,mfa\nb@example.com,Csv-secret-1,maybe\n",
        )
        .validate(&["a.yaml", "b.csv"]);
    run.fails_with(&[
        "unknown field `passwrd`, did you mean `password`?",
        "a.yaml:4:5",
        "wrong type for `nickname`",
        "invalid boolean `maybe` for `mfa`",
        "b.csv:2:28",
    ]);
    run.never_mentions("Hunter2").never_mentions("Csv-secret-1");
}

#[test]
fn a_csv_row_with_the_wrong_number_of_cells_names_its_line() {
    Case::new()
        .file(
            "hr.csv",
            "email,nickname,company\na@example.com,Al,Example\nb@example.com,Liu, Bo,Example\n",
        )
        .validate(&["hr.csv"])
        .fails_with(&[
            "manifest::row_length",
            "wrong number of cells: this row has 4, the header has 3",
            "hr.csv:3:1",
        ]);
}

#[test]
fn an_empty_file_is_an_error() {
    Case::new()
        .file("empty.yaml", "")
        .file("blank.csv", "\n  \n")
        .file("comments.yaml", "# nothing yet\n")
        .validate(&["empty.yaml", "blank.csv", "comments.yaml"])
        .fails_with(&[
            "manifest::empty_file",
            "empty manifest: empty.yaml has no content",
            "[empty.yaml:1:1]",
            "empty manifest: blank.csv has no content",
            "empty manifest: comments.yaml has nothing but comments",
        ]);
}

#[test]
fn a_non_utf8_file_names_the_first_bad_byte() {
    Case::new()
        .bytes(
            "hr.csv",
            b"email,nickname\na@example.com,Al\nb@example.com,Z\xe9\n",
        )
        .validate(&["hr.csv"])
        .fails_with(&[
            "manifest::not_utf8",
            "hr.csv is not UTF-8: invalid byte 0xE9 at line 3, column 16 (byte 47)",
            "[hr.csv:3:16]",
        ]);
}

#[test]
fn an_unsupported_version_is_an_error_and_a_missing_one_too() {
    Case::new()
        .file("v2.yaml", "version: 2\nusers: []\nsomething_new: true\n")
        .file("none.yaml", "users: []\n")
        .validate(&["v2.yaml", "none.yaml"])
        .fails_with(&[
            "invalid manifest: 2 errors",
            "manifest::unsupported_version",
            "unsupported manifest version `2`",
            "[v2.yaml:1:10]",
            "manifest::missing_version",
            "[none.yaml:1:1]",
        ])
        .never_mentions("something_new");
}

#[test]
fn paths_that_are_not_manifests_are_errors() {
    Case::new()
        .file("notes.txt", "hello")
        .file("empty-dir/.keep", "")
        .validate(&["missing.yaml", "notes.txt", "empty-dir"])
        .fails_with(&[
            "missing.yaml does not exist",
            "notes.txt is not a manifest: expected a .yaml, .yml or .csv file",
            "no manifests in directory empty-dir",
        ]);
}

#[test]
fn conflicting_settings_across_files_name_both() {
    Case::new()
        .file(
            "a.yaml",
            "version: 1\nmatch_on: username\nwhitelist:\n  enabled: true\n",
        )
        .file(
            "b.yaml",
            "version: 1\nmatch_on: email\nwhitelist:\n  enabled: false\n",
        )
        .validate(&["a.yaml", "b.yaml"])
        .fails_with(&[
            "conflicting `match_on`: `email` here, `username` in a.yaml:2:11",
            "[b.yaml:2:11]",
            "conflicting `whitelist.enabled`",
            "[b.yaml:4:12]",
        ]);
}

#[test]
fn every_problem_of_every_file_is_reported_at_once_in_order() {
    let run = Case::new()
        .file(
            "a.yaml",
            "version: 1\nusers:\n  - email: nope\n  - email: b@example.com\n    blocked: perhaps\n",
        )
        .file("b.csv", "email,mfa\nc@example.com,maybe\n")
        .validate(&["b.csv", "a.yaml"]);
    run.fails_with(&["invalid manifest: 3 errors"]);
    let csv = run.stderr.find("[b.csv:2:15]").unwrap();
    let email = run.stderr.find("[a.yaml:3:12]").unwrap();
    let blocked = run.stderr.find("[a.yaml:5:14]").unwrap();
    assert!(csv < email && email < blocked, "{}", run.stderr);
}

#[test]
fn a_directory_contributes_its_manifests_in_sorted_order() {
    Case::new()
        .file("pool/b.csv", "email,mfa\nb@example.com,yes\n")
        .file(
            "pool/a.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n",
        )
        .file("pool/notes.md", "not a manifest")
        .file("pool/nested/c.yaml", "not read: not recursive")
        .validate(&["pool"])
        .succeeds_with("valid: 2 users, 0 whitelist phones, 1 MFA flag, 2 files");
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests")
}

fn validate_sample(path: &str) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authing-sync"));
    command
        .current_dir(samples())
        .env("NO_COLOR", "1")
        .env_remove("ALICE_INITIAL_PASSWORD")
        .args(["validate", "-f", path]);
    run(command.output().unwrap())
}

#[test]
fn the_example_manifest_is_valid_without_any_variable() {
    validate_sample("example.yaml")
        .succeeds_with("valid: 4 users, 3 whitelist phones, 3 MFA flags, 1 file");
}

#[test]
fn the_hr_export_sample_is_valid() {
    validate_sample("hr-export.csv")
        .succeeds_with("valid: 6 users, 2 whitelist phones, 5 MFA flags, 1 file");
}

#[test]
fn the_split_sample_declares_users_whitelist_and_mfa_together() {
    let run = validate_sample("split");
    run.succeeds_with("valid: 3 users, 3 whitelist phones, 3 MFA flags, 2 files");
    assert_eq!(run.stderr, "", "no warnings expected");
}

#[test]
fn a_whitespace_only_yaml_value_is_an_error_that_says_how_to_clear_or_leave_alone() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    nickname: \"  \"\n    mfa: \"\\t\"\n    company: \"\"\n",
        )
        .validate(&["users.yaml"])
        .fails_with(&[
            "manifest::blank_value",
            "`nickname` is only whitespace",
            "users.yaml:4:15",
            "to make `nickname` empty write `nickname: \"\"`",
            "leave `nickname` out (or write `nickname: null`)",
            "`mfa` is only whitespace",
            "users.yaml:5:10",
            "2 errors",
        ])
        // `company: ""` is the way to clear, and stays accepted.
        .never_mentions("`company`");
}

#[test]
fn a_whitespace_only_variable_is_an_error_too() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    nickname: ${NICK}\n",
        )
        .env("NICK", "   ")
        .validate(&["users.yaml"])
        .fails_with(&["`nickname` is only whitespace", "users.yaml:4:15"]);
}

#[test]
fn a_whitespace_only_csv_cell_is_an_error_but_empty_cells_and_blank_rows_are_not() {
    Case::new()
        .file(
            "users.csv",
            "email,nickname,company,mfa\na@example.com,  ,,\nb@example.com,Bee,, \n , , , \nc@example.com,,,\n",
        )
        .validate(&["users.csv"])
        .fails_with(&[
            "manifest::blank_value",
            "`nickname` is only whitespace",
            "users.csv:2:",
            "leave the cell empty to leave `nickname` as it is in the pool",
            "a CSV manifest cannot make a field empty",
            "`mfa` is only whitespace",
            "users.csv:3:",
            "2 errors",
        ]);
}

#[test]
fn a_repeated_yaml_key_is_reported_at_the_repeat_naming_the_first() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    nickname: A\n    company: X\n    nickname: B\n  - email: b@example.com\n    mfa: true\n    \"mfa\": false\n",
        )
        .validate(&["users.yaml"])
        .fails_with(&[
            "manifest::duplicate_key",
            "duplicate key `nickname`: it is already set at users.yaml:4:5",
            "users.yaml:6:5",
            "duplicate key `\"mfa\"`: it is already set at users.yaml:8:5",
            "users.yaml:9:5",
            "2 errors",
        ])
        .never_mentions("manifest::syntax");
}

#[test]
fn one_username_or_phone_for_two_users_is_caught_by_validate_at_both_places() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    username: alice\n    phone: \"13800000000\"\n  - email: b@example.com\n    nickname: B\n    username: Alice\n",
        )
        .file(
            "more.csv",
            "nickname,email,phone\nC,c@example.com,+86 138-0000-0000\n",
        )
        .validate(&["users.yaml", "more.csv"])
        .fails_with(&[
            "manifest::duplicate_value",
            "the username `Alice` is given to two users: `b@example.com` here and `a@example.com` at users.yaml:4:15",
            "users.yaml:8:15",
            "the phone `13800000000` is given to two users: `c@example.com` here and `a@example.com` at users.yaml:5:12",
            "more.csv:2:17",
            "2 errors",
        ]);
}

#[test]
fn the_same_user_twice_is_one_duplicate_user_error_not_a_shared_value_too() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    username: alice\n  - email: A@example.com\n    username: alice\n",
        )
        .validate(&["users.yaml"])
        .fails_with(&["manifest::duplicate_user", "1 error"])
        .never_mentions("duplicate_value");
}

#[test]
fn a_birthdate_must_be_a_calendar_date_in_yaml_and_csv() {
    Case::new()
        .file(
            "users.yaml",
            "version: 1\nusers:\n  - email: a@example.com\n    birthdate: 1990-02-30\n  - email: b@example.com\n    birthdate: \"2000-02-29\"\n  - email: c@example.com\n    birthdate: 1985-12-31T08:00:00.000Z\n",
        )
        .file("more.csv", "email,birthdate\nd@example.com,01/04/1990\n")
        .validate(&["users.yaml", "more.csv"])
        .fails_with(&[
            "invalid `birthdate` `1990-02-30`: no such day in that month",
            "users.yaml:4:16",
            "invalid `birthdate` `01/04/1990`: not a date in the form YYYY-MM-DD",
            "more.csv:2:15",
            "a date is written `YYYY-MM-DD`",
            "2 errors",
        ]);
}
