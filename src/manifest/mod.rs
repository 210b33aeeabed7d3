//! Manifests: YAML and CSV files read into one validated [`DesiredState`], every problem
//! reported at once with its file, line and column; and the way back, a desired state written
//! out as a manifest ([`to_yaml`], [`to_csv`]).
//!
//! The pipeline, one file each: `source` finds and reads the files, `yaml` (with `schema` and
//! `positions`) and `csv` read them, `interpolate` expands `${NAME}`, `validate` turns raw values
//! into the model and merges the files, `diagnostic` is what problems look like, `write` goes
//! back to text.
//!
//! The formats in short (each module says more):
//!
//! - Paths: files (`.yaml`, `.yml`, `.csv`) and directories, whose direct manifest children are
//!   read in sorted order (not recursively; hidden files skipped). A file given twice is read
//!   once. Files must be UTF-8 (a byte order mark is fine) and not empty.
//! - YAML: `version: 1` (required), `match_on: email|username` (default `email`), `users`,
//!   `whitelist: {enabled, phones}`, `prune: {enabled, max_deletes, protect, scope}`. A user has
//!   `email`, `username`, `nickname`, `company`, `photo`, `phone`, `email_verified`, `blocked`,
//!   `mfa`, `password`. Booleans also take `yes`/`no`/`1`/`0` and `${VAR}`.
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
mod interpolate;
mod positions;
mod schema;
mod source;
mod validate;
mod write;
mod yaml;

pub use diagnostic::{Code, ManifestDiagnostic, Place};
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
    builder.settle_match_on(&documents);
    for (position, input) in inputs.iter().enumerate() {
        match input.format {
            Format::Yaml => {
                if let Some(document) = documents[position].take() {
                    builder.yaml(position, document);
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
    use crate::model::{MatchOn, PasswordSource};

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
        assert_eq!(user.profile.phone.as_deref(), Some("13800000000"));
        assert_eq!(user.profile.nickname.as_deref(), Some("1.50"));
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
            state.users[2].profile.email.as_deref(),
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
        assert_eq!(yaml_user.profile.nickname.as_deref(), Some(""));
        assert_eq!(yaml_user.profile.company, None);
        assert_eq!(yaml_user.mfa, None);
        assert!(yaml_user.password.is_none());
        assert_eq!(csv_user.profile.nickname, None);
        assert_eq!(csv_user.mfa, None);
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
