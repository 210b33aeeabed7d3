//! Manifests: YAML and CSV files read into one validated [`DesiredState`], every problem
//! reported at once with its file, line and column; and the way back, a desired state written
//! out as a manifest ([`to_yaml`], [`to_csv`]).
//!
//! The pipeline, one file each: `source` finds and reads the files; `yaml` (with `schema` and
//! `positions`) parses YAML and `yaml_read` interprets it, `csv` reads CSV; `interpolate`
//! expands `${NAME}`; `validate` holds the format-neutral rules (what a value means, how files
//! merge); `diagnostic` is what problems look like; `write` goes back to text, and `from_live`
//! makes the desired state that declares what a pool holds (`export`).
//!
//! The formats in short (each module says more):
//!
//! - Paths: files (`.yaml`, `.yml`, `.csv`) and directories, whose direct manifest children are
//!   read in sorted order (not recursively; hidden files skipped). A file given twice is read
//!   once. Files must be UTF-8 (a byte order mark is fine) and not empty.
//! - YAML: `version: 1` (required), `match_on: email|username` (default `email`), `users`,
//!   `whitelist: {enabled, phones}`, `prune: {enabled, max_deletes, protect, scope}`. A user has
//!   the fields of the field table (`model::Field`: `email`, `username`, ..., `country`), and
//!   `mfa`, `password`, `id`, `renamed_from`. Booleans also take `yes`/`no`/`1`/`0` and `${VAR}`.
//! - CSV: a header row of user fields and `whitelist_phone`, any order and case; one user a row;
//!   a row with only a `whitelist_phone` is a whitelist entry. No `match_on`, `prune` or switch.
//! - Not managed: an omitted key, a YAML `null`, an empty CSV cell, an empty boolean or password.
//!   An empty YAML text (`nickname: ""`) means "managed, should be empty".
//! - `${NAME}`, `${NAME:-default}` and `$$` (a literal `$`) in every value, after parsing. A
//!   password is a `Secret` from the moment it is read; a literal one is a warning.

use std::path::PathBuf;

use crate::model::DesiredState;

mod csv;
mod diagnostic;
mod from_live;
mod interpolate;
mod positions;
mod schema;
mod source;
mod validate;
mod write;
mod yaml;
mod yaml_read;

pub use diagnostic::{Code, ManifestDiagnostic, Place};
pub use from_live::{ExportOptions, Omissions, from_live};
pub use interpolate::{Environment, ProcessEnvironment};
pub use write::{WriteError, to_csv, to_yaml};

use diagnostic::{Problems, plural};
use source::{Format, Input};
use validate::Builder;

/// A desired state and what loading it noticed.
#[derive(Debug)]
pub struct Loaded {
    pub state: DesiredState,
    /// Problems that do not stop a load (a whitelist phone declared twice, a literal password,
    /// ...), sorted by file and position.
    pub warnings: Vec<ManifestDiagnostic>,
    /// How many files were read.
    pub files: usize,
}

/// Every problem found in a set of manifests (errors, and the warnings found with them), sorted
/// by file and position.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid manifest: {}", summary(.diagnostics))]
pub struct ManifestErrors {
    #[related]
    pub diagnostics: Vec<ManifestDiagnostic>,
}

fn summary(diagnostics: &[ManifestDiagnostic]) -> String {
    let warnings = diagnostics.iter().filter(|d| d.is_warning()).count();
    let errors = diagnostics.len() - warnings;
    let mut text = plural(errors, "error", "errors");
    if warnings > 0 {
        text.push_str(", ");
        text.push_str(&plural(warnings, "warning", "warnings"));
    }
    text
}

/// Reads files and directories (every `.yaml`, `.yml`, `.csv` directly inside, in sorted order)
/// into one desired state, with `${NAME}` taken from the process environment.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, ManifestErrors> {
    load_with(paths, &ProcessEnvironment)
}

/// [`load`], with variables taken from `env`.
pub fn load_with(paths: &[PathBuf], env: &dyn Environment) -> Result<Loaded, ManifestErrors> {
    let mut problems = Problems::default();
    let files = source::expand(paths, &mut problems);
    let inputs: Vec<Input> = files
        .iter()
        .enumerate()
        .filter_map(|(index, (path, format))| source::read(index, path, *format, &mut problems))
        .collect();
    let mut documents: Vec<_> = inputs
        .iter()
        .map(|input| match input.format {
            Format::Yaml => yaml::parse(input, &mut problems),
            Format::Csv => None,
        })
        .collect();
    let mut builder = Builder::new(&inputs, env, &mut problems);
    yaml_read::settle_match_on(&mut builder, &documents);
    for (position, input) in inputs.iter().enumerate() {
        match input.format {
            Format::Yaml => {
                if let Some(document) = documents[position].take() {
                    yaml_read::read(&mut builder, position, document);
                }
            }
            Format::Csv => csv::read(&mut builder, position),
        }
    }
    let mut state = builder.finish();
    state.sources = inputs.iter().map(Input::source_file).collect();
    match problems.finish() {
        Ok(warnings) => Ok(Loaded {
            state,
            warnings,
            files: inputs.len(),
        }),
        Err(diagnostics) => Err(ManifestErrors { diagnostics }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::model::{Field, MatchOn, PasswordSource};

    fn load_files(files: &[(&str, &[u8])], env: &[(&str, &str)]) -> Result<Loaded, ManifestErrors> {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (name, bytes) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            paths.push(path);
        }
        let env: HashMap<String, String> = env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        load_with(&paths, &env)
    }

    #[test]
    fn numbers_keep_their_spelling() {
        let yaml = b"version: 1\nusers:\n  - email: a@example.com\n    phone: 008613800000000\n    nickname: 1.50\n    password: 0123456
whitelist:\n  phones: [13800000000, 008613900000000]\n";
        let loaded = load_files(&[("a.yaml", yaml)], &[]).unwrap();
        let user = &loaded.state.users[0];
        assert_eq!(user.profile.text(Field::Phone), Some("13800000000"));
        assert_eq!(user.profile.text(Field::Nickname), Some("1.50"));
        let password = user.password.as_ref().unwrap();
        assert_eq!(password.secret.expose(), "0123456");
        assert_eq!(password.source, PasswordSource::Manifest);
        let phones: Vec<&str> = loaded
            .state
            .whitelist
            .as_ref()
            .unwrap()
            .phones
            .as_ref()
            .unwrap()
            .iter()
            .map(|(phone, _)| phone.as_str())
            .collect();
        assert_eq!(phones, ["13800000000", "13900000000"]);
        // The literal password is worth a warning, and no output shows it.
        assert_eq!(loaded.warnings.len(), 1);
        assert_eq!(loaded.warnings[0].code(), Code::LiteralPassword);
        let rendered = format!(
            "{:?} {:?}",
            loaded.state,
            miette::Report::new(loaded.warnings[0].clone())
        );
        assert!(!rendered.contains("0123456"), "{rendered}");
    }

    #[test]
    fn users_keep_order_origins_and_sources() {
        let yaml = b"version: 1\nmatch_on: username\nusers:\n  - username: zed\n    mfa: ${MFA}\n  - username: amy\n    password: ${PW}\n";
        let csv = "\u{feff}Username, MFA ,Email\nbob,no,Bob@Example.com\n".as_bytes();
        let loaded = load_files(
            &[("a.yaml", yaml), ("b.csv", csv)],
            &[("MFA", "Yes"), ("PW", "pw-of-amy")],
        )
        .unwrap();
        let state = &loaded.state;
        assert_eq!(state.match_on, MatchOn::Username);
        let keys: Vec<&str> = state.users.iter().map(|user| user.key.as_str()).collect();
        assert_eq!(keys, ["zed", "amy", "bob"]);
        assert_eq!(state.users[0].mfa, Some(true));
        assert_eq!(state.users[2].mfa, Some(false));
        assert_eq!(
            state.users[2].profile.text(Field::Email),
            Some("Bob@Example.com")
        );
        let lines: Vec<u32> = state.users.iter().map(|user| user.origin.line).collect();
        assert_eq!(lines, [4, 6, 2]);
        assert!(state.users[2].origin.file.ends_with("b.csv"));
        let password = state.users[1].password.as_ref().unwrap();
        assert_eq!(password.source, PasswordSource::Env("PW".into()));
        assert_eq!(password.secret.expose(), "pw-of-amy");
        assert!(!format!("{:?}", state.users[1]).contains("\"pw\""));
        assert_eq!(state.sources.len(), 2);
        assert!(state.sources.iter().all(|source| source.sha256.len() == 64));
        assert!(state.whitelist.is_none());
        assert_eq!(loaded.files, 2);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn empty_values_mean_what_the_format_says() {
        let yaml = b"version: 1\nusers:\n  - email: a@example.com\n    nickname: \"\"\n    company: ~\n    mfa: ${UNSET_MFA:-}\n    password: ''\n";
        let csv = b"email,nickname,mfa\nb@example.com,,\n";
        let loaded = load_files(&[("a.yaml", yaml), ("b.csv", csv)], &[]).unwrap();
        let [yaml_user, csv_user] = &loaded.state.users[..] else {
            panic!("two users expected");
        };
        assert_eq!(yaml_user.profile.text(Field::Nickname), Some(""));
        assert_eq!(yaml_user.profile.text(Field::Company), None);
        assert_eq!(yaml_user.mfa, None);
        assert!(yaml_user.password.is_none());
        assert_eq!(csv_user.profile.text(Field::Nickname), None);
        assert_eq!(csv_user.mfa, None);
    }

    #[test]
    fn every_field_of_the_table_reads_alike_from_yaml_and_csv() {
        let value = |field: Field| match field.normalizer() {
            None => "yes".to_string(),
            Some(crate::model::Normalizer::Email) => "Someone@Example.com".to_string(),
            Some(crate::model::Normalizer::Phone) => "+86 138-0000-0001".to_string(),
            Some(crate::model::Normalizer::Trim) => format!(" {} value ", field.name()),
            Some(crate::model::Normalizer::Date) => " 1990-04-01 ".to_string(),
        };
        let mut yaml = String::from("version: 1\nusers:\n  - password: ${PW}\n");
        let mut header = vec!["password".to_string()];
        let mut row = vec!["${PW}".to_string()];
        for field in Field::ALL {
            yaml.push_str(&format!("    {}: \"{}\"\n", field.name(), value(field)));
            header.push(field.name().to_uppercase());
            row.push(value(field));
        }
        let csv = format!("{}\n{}\n", header.join(","), row.join(","));
        let from_yaml =
            load_files(&[("a.yaml", yaml.as_bytes())], &[("PW", "pw-long-enough")]).unwrap();
        let from_csv =
            load_files(&[("a.csv", csv.as_bytes())], &[("PW", "pw-long-enough")]).unwrap();
        let (yaml_user, csv_user) = (&from_yaml.state.users[0], &from_csv.state.users[0]);
        assert_eq!(yaml_user.profile, csv_user.profile);
        assert_eq!(yaml_user.key, csv_user.key);
        for field in Field::ALL {
            let expected = match field.normalizer() {
                None => crate::model::FieldRef::Bool(true),
                Some(crate::model::Normalizer::Email) => {
                    crate::model::FieldRef::Text("Someone@Example.com")
                }
                Some(crate::model::Normalizer::Phone) => {
                    crate::model::FieldRef::Text("13800000001")
                }
                Some(crate::model::Normalizer::Date) => crate::model::FieldRef::Text("1990-04-01"),
                Some(crate::model::Normalizer::Trim) => {
                    assert_eq!(
                        yaml_user.profile.text(field),
                        Some(format!("{} value", field.name()).as_str())
                    );
                    continue;
                }
            };
            assert_eq!(yaml_user.profile.get(field), Some(expected), "{field}");
        }
    }

    #[test]
    fn misspelt_fields_are_refused_with_the_closest_name_in_yaml_and_csv() {
        let yaml = b"version: 1\nusers:\n  - email: a@example.com\n    famly_name: Liu\n    renamed_frm: b@example.com\n";
        let csv = b"email,postcode,streetaddress\nc@example.com,310000,x\n";
        let errors = load_files(&[("a.yaml", yaml), ("b.csv", csv)], &[]).unwrap_err();
        let messages: Vec<(Code, &str)> = errors
            .diagnostics
            .iter()
            .map(|d| (d.code(), d.message()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    Code::UnknownField,
                    "unknown field `famly_name`, did you mean `family_name`?"
                ),
                (
                    Code::UnknownField,
                    "unknown field `renamed_frm`, did you mean `renamed_from`?"
                ),
                (
                    Code::UnknownColumn,
                    "unknown column `postcode`, did you mean `postal_code`?"
                ),
                (
                    Code::UnknownColumn,
                    "unknown column `streetaddress`, did you mean `street_address`?"
                ),
            ]
        );
    }

    #[test]
    fn ids_and_earlier_keys_are_read_normalised_and_checked() {
        let yaml = b"version: 1\nusers:\n  - email: a@example.com\n    renamed_from: Old.A@Example.com\n  - email: b@example.com\n    id: \" 5f0b \"\n";
        let loaded = load_files(&[("a.yaml", yaml)], &[]).unwrap();
        let users = &loaded.state.users;
        assert_eq!(
            users[0].renamed_from().map(|old| old.as_str()),
            Some("old.a@example.com")
        );
        assert_eq!(users[1].id().map(|id| id.as_str()), Some("5f0b"));
        assert_eq!(loaded.state.managed_mfa().keys.len(), 0, "no MFA managed");

        let bad = b"version: 1\nusers:\n  - email: a@example.com\n    renamed_from: not-an-email\n  - email: b@example.com\n    id: two words\n  - email: c@example.com\n    id: 5f0c\n    renamed_from: x@example.com\n  - email: d@example.com\n    renamed_from: D@example.com\n";
        let errors = load_files(&[("a.yaml", bad)], &[]).unwrap_err();
        let found: Vec<(Code, Option<u32>, String)> = errors
            .diagnostics
            .iter()
            .map(|d| (d.code(), d.line(), d.message().to_string()))
            .collect();
        let codes: Vec<(Code, Option<u32>)> =
            found.iter().map(|(code, line, _)| (*code, *line)).collect();
        assert_eq!(
            codes,
            [
                (Code::MalformedEmail, Some(4)),
                (Code::InvalidValue, Some(6)),
                (Code::Conflict, Some(9)),
                (Code::InvalidValue, Some(11)),
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn renamed_users_have_their_mfa_read_under_the_earlier_key_and_the_id() {
        let yaml = b"version: 1\nusers:\n  - email: a@example.com\n    renamed_from: old@example.com\n    mfa: true\n  - email: b@example.com\n    id: 5f0b\n    mfa: false\n  - email: c@example.com\n";
        let managed = load_files(&[("a.yaml", yaml)], &[])
            .unwrap()
            .state
            .managed_mfa();
        let mut keys: Vec<&str> = managed.keys.iter().map(|key| key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["a@example.com", "b@example.com", "old@example.com"]);
        assert!(managed.ids.contains(&crate::model::UserId::new("5f0b")));
    }

    #[test]
    fn diagnostics_carry_file_line_and_column() {
        let yaml = b"version: 1\nusers:\n  - email: a@example.com\n    nicknme: x\n";
        let errors = load_files(&[("a.yaml", yaml)], &[]).unwrap_err();
        let [diagnostic] = &errors.diagnostics[..] else {
            panic!("one diagnostic expected: {errors:?}");
        };
        assert_eq!(diagnostic.code(), Code::UnknownField);
        assert_eq!(
            diagnostic.file().and_then(Path::file_name),
            Some("a.yaml".as_ref())
        );
        assert_eq!((diagnostic.line(), diagnostic.column()), (Some(4), Some(5)));
        assert_eq!(errors.to_string(), "invalid manifest: 1 error");
    }

    #[test]
    fn many_bad_rows_keep_only_some_diagnostics() {
        let mut csv = String::from("email\n");
        for _ in 0..(diagnostic::KEPT_PER_FILE + 50) {
            csv.push_str("not-an-email\n");
        }
        let errors = load_files(&[("a.csv", csv.as_bytes())], &[]).unwrap_err();
        assert_eq!(errors.diagnostics.len(), diagnostic::KEPT_PER_FILE + 1);
        let last = errors.diagnostics.last().unwrap();
        assert_eq!(last.code(), Code::TooManyProblems);
        assert!(
            last.message().starts_with("50 more problems in "),
            "{}",
            last.message()
        );
    }
}

#[cfg(test)]
mod fuzz_tests;
