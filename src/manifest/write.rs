//! A desired state written out as a manifest that [`load`](super::load) reads back to the same
//! state (origins and source digests aside), in a deterministic order: users as given, fields in
//! manifest order.
//!
//! - Every string is written double-quoted, with `$` escaped as `$$`, so no value can turn into
//!   a number, a boolean, a comment or a variable reference on the way back.
//! - Control, bidi and invisible characters ([`is_hidden`]: ESC, U+202E, zero-width spaces...)
//!   are written as YAML escapes (`\u202E`), so the file reads back exactly and a terminal or
//!   an editor never shows it as something it is not. CSV has no escapes: [`to_csv`] refuses a
//!   value that holds one (line feeds and tabs aside), naming the user and the field.
//! - A password from the environment is written as its reference, `${NAME}`. A literal password
//!   is never written out: the user is written without one.
//! - CSV can only say users and whitelist phones (each phone on a row of its own). It has no
//!   `match_on` (the reader takes it from the YAML manifests it is loaded with, `email` by
//!   default), no `prune`, no whitelist switch, no empty whitelist, and no "managed, should be
//!   empty" text (an empty cell means "not managed"): [`to_csv`] refuses a state that needs them.

use std::borrow::Cow;
use std::fmt::Write;

use super::csv::Column;
use super::interpolate::escape;
use super::schema::Attribute;
use super::yaml::SUPPORTED_VERSION;
use crate::model::is_hidden;
use crate::model::{DesiredState, DesiredUser, FieldRef, PasswordSource, PruneSettings};
use crate::render::escape::visible;

/// Why a state cannot be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WriteError {
    #[error("{0} cannot be written as CSV")]
    #[diagnostic(
        code(manifest::not_csv),
        help("write the state as YAML, which can say everything a state holds")
    )]
    NotCsv(String),

    #[error("failed to write CSV")]
    #[diagnostic(code(manifest::write))]
    Csv(#[source] ::csv::Error),
}

/// The state as a YAML manifest (`version: 1`).
pub fn to_yaml(state: &DesiredState) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_yaml(&mut out, state);
    out
}

fn write_yaml(out: &mut String, state: &DesiredState) -> std::fmt::Result {
    writeln!(out, "version: {SUPPORTED_VERSION}")?;
    writeln!(out, "match_on: {}", state.match_on)?;
    if state.users.is_empty() {
        writeln!(out, "users: []")?;
    } else {
        writeln!(out, "users:")?;
    }
    for user in &state.users {
        let mut lead = "  - ";
        for (name, value) in user_values(user) {
            let value = match value {
                Value::Text(text) => quote(text),
                Value::Flag(flag) => flag.to_string(),
                Value::Reference(name) => format!("\"${{{name}}}\""),
            };
            writeln!(out, "{lead}{name}: {value}")?;
            lead = "    ";
        }
    }
    if let Some(whitelist) = &state.whitelist {
        writeln!(out, "whitelist:")?;
        if let Some((enabled, _)) = &whitelist.enabled {
            writeln!(out, "  enabled: {enabled}")?;
        }
        match &whitelist.phones {
            Some(phones) if phones.is_empty() => writeln!(out, "  phones: []")?,
            Some(phones) => {
                writeln!(out, "  phones:")?;
                for (phone, _) in phones {
                    writeln!(out, "    - {}", quote(phone.as_str()))?;
                }
            }
            None => {}
        }
    }
    if !is_default(&state.prune) {
        let prune = &state.prune;
        writeln!(out, "prune:")?;
        writeln!(out, "  enabled: {}", prune.enabled)?;
        if let Some(limit) = &prune.max_deletes {
            writeln!(out, "  max_deletes: {}", quote(&limit.to_string()))?;
        }
        if !prune.protect.is_empty() {
            writeln!(out, "  protect:")?;
            for pattern in &prune.protect {
                writeln!(out, "    - {}", quote(pattern.as_str()))?;
            }
        }
        if let Some(scope) = &prune.scope {
            writeln!(out, "  scope: {}", quote(scope.as_str()))?;
        }
    }
    Ok(())
}

/// The state as a CSV manifest: a header of the columns in use, a row per user, then a row per
/// whitelist phone.
pub fn to_csv(state: &DesiredState) -> Result<String, WriteError> {
    if !is_default(&state.prune) {
        return Err(WriteError::NotCsv("the `prune` settings".to_string()));
    }
    let mut phones = &[][..];
    if let Some(whitelist) = &state.whitelist {
        if whitelist.enabled.is_some() {
            return Err(WriteError::NotCsv("the whitelist switch".to_string()));
        }
        match &whitelist.phones {
            Some(list) if list.is_empty() => {
                return Err(WriteError::NotCsv("an empty whitelist".to_string()));
            }
            Some(list) => phones = list,
            None => {}
        }
    }
    let mut used = [false; Column::ALL.len()];
    used[column_index(Column::User(Attribute::Field(state.match_on.field())))] = true;
    for user in &state.users {
        for (name, value) in user_values(user) {
            if matches!(value, Value::Text(text) if text.trim().is_empty()) {
                return Err(WriteError::NotCsv(format!(
                    "the empty `{name}` of user `{}`",
                    visible(user.key.as_str())
                )));
            }
            if let Value::Text(text) = value
                && let Some(c) = unsafe_in_csv(text)
            {
                return Err(WriteError::NotCsv(format!(
                    "the `{name}` of user `{}`, which holds U+{:04X} (a control, bidi or invisible character: CSV has no escape for it, so a viewer would show the cell as something it is not),",
                    visible(user.key.as_str()),
                    u32::from(c)
                )));
            }
            if let Some(at) = Column::ALL.iter().position(|column| column.name() == name) {
                used[at] = true;
            }
        }
    }
    if !phones.is_empty() {
        used[column_index(Column::WhitelistPhone)] = true;
    }
    let columns: Vec<Column> = Column::ALL
        .into_iter()
        .zip(used)
        .filter_map(|(column, used)| used.then_some(column))
        .collect();

    let mut writer = ::csv::WriterBuilder::new().from_writer(Vec::new());
    writer
        .write_record(columns.iter().map(|column| column.name()))
        .map_err(WriteError::Csv)?;
    let mut row: Vec<Cow<'_, str>> = Vec::with_capacity(columns.len());
    for user in &state.users {
        row.clear();
        row.resize(columns.len(), Cow::Borrowed(""));
        for (name, value) in user_values(user) {
            let Some(at) = columns.iter().position(|column| column.name() == name) else {
                continue;
            };
            row[at] = match value {
                // Only the password column is interpolated when read back: other cells are
                // written as they are.
                Value::Text(text) if name == "password" => escape(text),
                Value::Text(text) => Cow::Borrowed(text),
                Value::Flag(flag) => Cow::Borrowed(if flag { "true" } else { "false" }),
                Value::Reference(name) => Cow::Owned(format!("${{{name}}}")),
            };
        }
        writer
            .write_record(row.iter().map(|cell| cell.as_bytes()))
            .map_err(WriteError::Csv)?;
    }
    let phone_at = columns
        .iter()
        .position(|column| *column == Column::WhitelistPhone);
    for (phone, _) in phones {
        row.clear();
        row.resize(columns.len(), Cow::Borrowed(""));
        if let Some(at) = phone_at {
            row[at] = Cow::Borrowed(phone.as_str());
        }
        writer
            .write_record(row.iter().map(|cell| cell.as_bytes()))
            .map_err(WriteError::Csv)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| WriteError::Csv(::csv::Error::from(err.into_error())))?;
    // Every cell was a `str`, so the output is UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A value of a user as a manifest writes it.
enum Value<'a> {
    Text(&'a str),
    Flag(bool),
    Reference(&'a str),
}

/// The managed values of a user, in the order of [`Attribute::ALL`], under their manifest names.
fn user_values(user: &DesiredUser) -> impl Iterator<Item = (&'static str, Value<'_>)> {
    Attribute::ALL.into_iter().filter_map(move |attribute| {
        let value =
            match attribute {
                Attribute::Id => user.id().map(|id| Value::Text(id.as_str())),
                Attribute::Field(field) => user.profile.get(field).map(|value| match value {
                    FieldRef::Text(text) => Value::Text(text),
                    FieldRef::Bool(flag) => Value::Flag(flag),
                }),
                Attribute::RenamedFrom => user.renamed_from().map(|old| Value::Text(old.as_str())),
                Attribute::Mfa => user.mfa.map(Value::Flag),
                Attribute::Password => user.password.as_ref().and_then(|password| match &password
                    .source
                {
                    PasswordSource::Env(name) => Some(Value::Reference(name)),
                    PasswordSource::Manifest => None,
                }),
            };
        value.map(|value| (attribute.name(), value))
    })
}

fn column_index(wanted: Column) -> usize {
    Column::ALL
        .iter()
        .position(|column| *column == wanted)
        .unwrap_or_default()
}

fn is_default(prune: &PruneSettings) -> bool {
    !prune.enabled
        && prune.max_deletes.is_none()
        && prune.protect.is_empty()
        && prune.scope.is_none()
}

/// The first character of `text` that a CSV cell cannot hold safely: a hidden one
/// ([`is_hidden`]) other than a line feed, a tab, or a carriage return before a line feed (a
/// multi-line cell).
fn unsafe_in_csv(text: &str) -> Option<char> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let safe = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !is_hidden(c),
        };
        if !safe {
            return Some(c);
        }
    }
    None
}

/// A YAML double-quoted scalar that reads back as `text` after interpolation; every hidden
/// character ([`is_hidden`]: controls, bidi controls, invisible ones) is written as an escape,
/// so the file shows what it holds in any viewer.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("$$"),
            c if c.is_control() || is_hidden(c) => {
                let code = u32::from(c);
                let _ = if code > 0xFFFF {
                    write!(out, "\\U{code:08X}")
                } else {
                    write!(out, "\\u{code:04X}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::Arc;

    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::manifest::load_with;
    use crate::model::{
        DesiredWhitelist, Field, FieldValue, Identity, MatchOn, MaxDeletes, Normalizer, Origin,
        Password, Pattern, Phone, Profile, UserId, UserKey,
    };
    use crate::secret::Secret;

    /// The variables the generated passwords come from.
    fn env() -> HashMap<String, String> {
        HashMap::from([
            ("PW_A".to_string(), "s3cret A".to_string()),
            ("PW_B".to_string(), "p@ss $ {word}".to_string()),
            ("ALICE_PW".to_string(), "hunter2".to_string()),
        ])
    }

    fn nowhere() -> Origin {
        Origin::new(Arc::from(Path::new("")), 0)
    }

    /// The state without what a round trip cannot keep: origins and source digests.
    fn comparable(mut state: DesiredState) -> DesiredState {
        for user in &mut state.users {
            user.origin = nowhere();
        }
        if let Some(whitelist) = &mut state.whitelist {
            if let Some((_, origin)) = &mut whitelist.enabled {
                *origin = nowhere();
            }
            for (_, origin) in whitelist.phones.iter_mut().flatten() {
                *origin = nowhere();
            }
        }
        state.prune.origin = None;
        state.sources.clear();
        state
    }

    fn load_text(name: &str, text: &str) -> DesiredState {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        match load_with(&[path], &env()) {
            Ok(loaded) => {
                // A CSV of no users is a header alone, which is worth a warning.
                let unexpected: Vec<_> = loaded
                    .warnings
                    .iter()
                    .filter(|warning| warning.code() != crate::manifest::Code::NoRows)
                    .collect();
                assert!(unexpected.is_empty(), "{unexpected:?}");
                loaded.state
            }
            Err(err) => panic!("{:?}\n{text}", miette::Report::new(err)),
        }
    }

    /// Text that is valid but hard to write: YAML and CSV syntax, `$`, numbers, unicode.
    fn tricky() -> impl Strategy<Value = String> {
        let fragments = select(vec![
            "Alice",
            "Liu",
            "O'Brien",
            "\"quoted\"",
            "a: b",
            "#",
            "# not a comment",
            "- dash",
            "{x}",
            "[y]",
            "100%",
            "$HOME",
            "${NOT_A_VAR}",
            "$$",
            "$",
            "true",
            "no",
            "null",
            "~",
            "0123",
            "1.50",
            "1e3",
            "李雷",
            "Zoë",
            "🙂",
            "tab\there",
            "line\nbreak",
            "back\\slash",
            "&anchor",
            "*alias",
            "!tag",
            "@",
            "`tick`",
            ",",
            ";",
            "|",
            ">",
            "...",
            "---",
            "=x",
        ]);
        proptest::collection::vec(fragments, 1..4)
            .prop_map(|parts| parts.join(" ").trim().to_string())
    }

    fn email() -> impl Strategy<Value = String> {
        (
            "[a-zA-Z0-9][a-zA-Z0-9._+'-]{0,7}",
            select(vec!["example.com", "Corp.Example", "b.cn", "münchen.de"]),
        )
            .prop_map(|(local, domain)| format!("{local}@{domain}"))
    }

    fn phone() -> impl Strategy<Value = Phone> {
        (
            "[0-9]{8}",
            select(vec![
                "138{}",
                "+86 138-{}",
                "0086 138 {}",
                "+1 (4{})",
                "+852 {}",
                "+44 {}",
            ]),
        )
            .prop_map(|(digits, shape)| Phone::parse(&shape.replace("{}", &digits)).unwrap())
    }

    /// An optional text field: absent, empty ("managed, should be empty") when allowed, or set.
    fn text_field(
        value: impl Strategy<Value = String>,
        empty: bool,
    ) -> impl Strategy<Value = Option<String>> {
        let empty = if empty { 1 } else { 0 };
        prop_oneof![
            3 => Just(None),
            empty => Just(Some(String::new())),
            4 => value.prop_map(Some),
        ]
    }

    fn password() -> impl Strategy<Value = Option<Box<Password>>> {
        prop_oneof![
            Just(None),
            select(vec!["PW_A", "PW_B"]).prop_map(|name| {
                Some(Box::new(Password {
                    secret: Secret::from(env()[name].trim()),
                    source: PasswordSource::Env(name.to_string()),
                }))
            }),
        ]
    }

    /// A value for every field of the table: absent, empty when allowed, or set.
    fn field_values(empty: bool) -> Vec<BoxedStrategy<Option<FieldValue>>> {
        Field::ALL
            .into_iter()
            .map(|field| match field.normalizer() {
                None => proptest::option::of(any::<bool>().prop_map(FieldValue::Bool)).boxed(),
                Some(Normalizer::Email) => text_field(email(), empty)
                    .prop_map(|text| text.map(FieldValue::Text))
                    .boxed(),
                Some(Normalizer::Phone) => {
                    text_field(phone().prop_map(|phone| phone.to_string()), empty)
                        .prop_map(|text| text.map(FieldValue::Text))
                        .boxed()
                }
                Some(Normalizer::Trim) => text_field(tricky(), empty)
                    .prop_map(|text| text.map(FieldValue::Text))
                    .boxed(),
                Some(Normalizer::Date) => text_field(
                    select(vec!["1990-04-01", "2000-02-29", "1985-12-31T08:00:00.000Z"])
                        .prop_map(str::to_string),
                    empty,
                )
                .prop_map(|text| text.map(FieldValue::Text))
                .boxed(),
            })
            .collect()
    }

    /// `id`, `renamed_from` (an email, or a username), or neither.
    fn identity() -> impl Strategy<Value = (Option<String>, Option<(String, String)>)> {
        prop_oneof![
            2 => Just((None, None)),
            1 => "5f[0-9a-f]{22}".prop_map(|id| (Some(id), None)),
            1 => (email(), tricky()).prop_map(|old| (None, Some(old))),
        ]
    }

    fn users(match_on: MatchOn, empty: bool) -> impl Strategy<Value = Vec<DesiredUser>> {
        let user = (
            field_values(empty),
            proptest::option::of(any::<bool>()),
            password(),
            (email(), tricky()),
            identity(),
        );
        proptest::collection::vec(user, 0..8).prop_map(move |users| {
            let mut seen = std::collections::HashSet::new();
            let mut identities = std::collections::HashSet::new();
            let mut out = Vec::new();
            for (values, mfa, password, (key_email, key_username), (id, renamed_from)) in users {
                let mut profile: Profile = Field::ALL
                    .into_iter()
                    .zip(values)
                    .filter_map(|(field, value)| Some((field, value?)))
                    .collect();
                match match_on {
                    MatchOn::Email => profile.set(Field::Email, Some(key_email.into())),
                    MatchOn::Username => profile.set(Field::Username, Some(key_username.into())),
                }
                let Some(key) = UserKey::of(&profile, match_on) else {
                    continue;
                };
                let renamed_from = renamed_from
                    .map(|(email, username)| match match_on {
                        MatchOn::Email => UserKey::from_email(&email),
                        MatchOn::Username => UserKey::from_username(&username),
                    })
                    .filter(|old| !old.as_str().is_empty() && *old != key);
                let unique = id.iter().all(|id| identities.insert(format!("id {id}")))
                    && renamed_from
                        .iter()
                        .all(|old| identities.insert(format!("old {old}")));
                // A pool holds each username, email and phone once; a manifest that gives one
                // to two users is refused.
                let values: Vec<String> = [Field::Username, Field::Email, Field::Phone]
                    .into_iter()
                    .filter(|field| *field != match_on.field())
                    .filter_map(|field| {
                        let value = profile.text(field)?.trim().to_lowercase();
                        (!value.is_empty()).then(|| format!("{field} {value}"))
                    })
                    .collect();
                let unique = unique && values.iter().all(|value| !identities.contains(value));
                if unique && seen.insert(key.clone()) {
                    identities.extend(values);
                    let identity = match (id, renamed_from) {
                        (Some(id), _) => Some(Box::new(Identity::Id(UserId::new(id)))),
                        (None, Some(old)) => Some(Box::new(Identity::RenamedFrom(old))),
                        (None, None) => None,
                    };
                    out.push(DesiredUser {
                        mfa,
                        password,
                        identity,
                        ..DesiredUser::new(key, profile, nowhere())
                    });
                }
            }
            out
        })
    }

    fn phones() -> impl Strategy<Value = Vec<(Phone, Origin)>> {
        proptest::collection::vec(phone(), 0..5).prop_map(|phones| {
            let mut seen = std::collections::HashSet::new();
            phones
                .into_iter()
                .filter(|phone| seen.insert(phone.clone()))
                .map(|phone| (phone, nowhere()))
                .collect()
        })
    }

    fn prune() -> impl Strategy<Value = PruneSettings> {
        let limit = prop_oneof![
            Just(None),
            (0u64..1000).prop_map(|count| Some(MaxDeletes::Count(count))),
            (0u32..=400).prop_map(|quarters| Some(MaxDeletes::Percent(f64::from(quarters) / 4.0))),
        ];
        let patterns = vec!["admin@example.com", "*@corp.example", "root", "ops-*", "$x"];
        (
            any::<bool>(),
            limit,
            proptest::sample::subsequence(patterns.clone(), 0..3),
            proptest::option::of(select(patterns)),
        )
            .prop_map(|(enabled, max_deletes, protect, scope)| PruneSettings {
                enabled,
                max_deletes,
                protect: protect
                    .into_iter()
                    .map(|pattern| Pattern::parse(pattern).unwrap())
                    .collect(),
                scope: scope.map(|pattern| Pattern::parse(pattern).unwrap()),
                origin: None,
            })
    }

    fn whitelist() -> impl Strategy<Value = Option<DesiredWhitelist>> {
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(phones()),
        )
            .prop_map(|(enabled, phones)| {
                (enabled.is_some() || phones.is_some()).then(|| DesiredWhitelist {
                    enabled: enabled.map(|enabled| (enabled, nowhere())),
                    phones,
                })
            })
    }

    /// Any valid desired state.
    fn state() -> impl Strategy<Value = DesiredState> {
        prop_oneof![Just(MatchOn::Email), Just(MatchOn::Username)].prop_flat_map(move |match_on| {
            (users(match_on, true), whitelist(), prune()).prop_map(
                move |(users, whitelist, prune)| DesiredState {
                    match_on,
                    users,
                    whitelist,
                    prune,
                    sources: Vec::new(),
                },
            )
        })
    }

    /// A state that CSV can say: users without empty values, whitelist phones.
    fn csv_state() -> impl Strategy<Value = DesiredState> {
        let whitelist = proptest::option::of(phones().prop_filter("non-empty", |p| !p.is_empty()))
            .prop_map(|phones| {
                phones.map(|phones| DesiredWhitelist {
                    enabled: None,
                    phones: Some(phones),
                })
            });
        (users(MatchOn::Email, false), whitelist).prop_map(|(users, whitelist)| DesiredState {
            match_on: MatchOn::Email,
            users,
            whitelist,
            prune: PruneSettings::default(),
            sources: Vec::new(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_state_reads_back_from_yaml(state in state()) {
            let text = to_yaml(&state);
            prop_assert_eq!(comparable(load_text("m.yaml", &text)), comparable(state), "{}", text);
        }

        #[test]
        fn any_csv_state_reads_back_from_csv(state in csv_state()) {
            let text = to_csv(&state).unwrap();
            prop_assert_eq!(comparable(load_text("m.csv", &text)), comparable(state), "{}", text);
        }
    }

    /// Found by the round-trip property (it was recorded in proptest-regressions): a state with
    /// no users, no whitelist and default prune settings must read back too.
    #[test]
    fn regression_the_empty_state_reads_back_from_yaml_and_csv() {
        let empty = DesiredState::default();
        assert_eq!(
            comparable(load_text("m.yaml", &to_yaml(&empty))),
            comparable(empty.clone())
        );
        assert_eq!(
            comparable(load_text("m.csv", &to_csv(&empty).unwrap())),
            comparable(empty)
        );
    }

    /// CSV cells other than `password` are data: a `${...}` in them is written and read back as
    /// it is, never looked up in the environment.
    #[test]
    fn csv_data_cells_are_never_interpolated() {
        let mut state = DesiredState::default();
        state.users.push(DesiredUser::new(
            UserKey::from_email("a@example.com"),
            Profile::default()
                .with(Field::Email, "a@example.com")
                .with(Field::Nickname, "${PW_A} and $$"),
            nowhere(),
        ));
        let text = to_csv(&state).unwrap();
        assert!(text.contains("${PW_A} and $$"), "{text}");
        assert_eq!(comparable(load_text("m.csv", &text)), comparable(state));
    }

    /// Control, bidi and invisible characters: escaped in YAML (nothing raw in the file, the
    /// same value read back), refused by CSV naming the user and the field.
    #[test]
    fn hidden_characters_are_escaped_in_yaml_and_refused_by_csv() {
        let hidden = [
            "\u{1b}[31mred\u{1b}[0m",
            "admin\u{202e}gpj.exe",
            "a\u{2066}b\u{2069}c",
            "zero\u{200b}width",
            "c1\u{85}\u{9b}",
            "del\u{7f}",
            "bare\rreturn",
            "tag\u{e0041}",
            "bom\u{feff}",
        ];
        for value in hidden {
            let mut state = DesiredState::default();
            state.users.push(DesiredUser::new(
                UserKey::from_email("a@example.com"),
                Profile::default()
                    .with(Field::Email, "a@example.com")
                    .with(Field::Nickname, value),
                nowhere(),
            ));
            let yaml = to_yaml(&state);
            assert!(
                !yaml
                    .chars()
                    .any(|c| c != '\n' && crate::model::is_hidden(c)),
                "{value:?} raw in {yaml:?}"
            );
            assert_eq!(
                comparable(load_text("m.yaml", &yaml)),
                comparable(state.clone()),
                "{yaml}"
            );
            let refused = to_csv(&state).unwrap_err().to_string();
            assert!(
                refused.contains("the `nickname` of user `a@example.com`, which holds U+"),
                "{refused}"
            );
        }
        // A multi-line cell is fine in CSV, with LF or CRLF breaks, and tabs too.
        let mut state = DesiredState::default();
        state.users.push(DesiredUser::new(
            UserKey::from_email("a@example.com"),
            Profile::default()
                .with(Field::Email, "a@example.com")
                .with(Field::Address, "1 Road\r\nTown\tEast\nChina"),
            nowhere(),
        ));
        let csv = to_csv(&state).unwrap();
        assert_eq!(comparable(load_text("m.csv", &csv)), comparable(state));
    }

    fn small_state() -> DesiredState {
        let user = DesiredUser {
            mfa: Some(true),
            password: Some(Box::new(Password {
                secret: Secret::from("hunter2"),
                source: PasswordSource::Env("ALICE_PW".to_string()),
            })),
            ..DesiredUser::new(
                UserKey::from_email("alice@example.com"),
                Profile::default()
                    .with(Field::Email, "Alice@Example.com")
                    .with(Field::Nickname, "Alice \"Al\" Liu: $5")
                    .with(Field::Phone, "13800000000")
                    .with(Field::Blocked, false),
                nowhere(),
            )
        };
        DesiredState {
            users: vec![user],
            whitelist: Some(DesiredWhitelist {
                enabled: None,
                phones: Some(vec![(
                    Phone::parse("+86 139 0000 0000").unwrap(),
                    nowhere(),
                )]),
            }),
            ..DesiredState::default()
        }
    }

    #[test]
    fn yaml_output_is_plain_and_quoted() {
        assert_eq!(
            to_yaml(&small_state()),
            "version: 1\nmatch_on: email\nusers:\n  - email: \"Alice@Example.com\"\n    nickname: \"Alice \\\"Al\\\" Liu: $$5\"\n    phone: \"13800000000\"\n    blocked: false\n    mfa: true\n    password: \"${ALICE_PW}\"\nwhitelist:\n  phones:\n    - \"13900000000\"\n"
        );
    }

    #[test]
    fn csv_output_has_the_columns_in_use_and_a_row_per_phone() {
        assert_eq!(
            to_csv(&small_state()).unwrap(),
            "email,nickname,phone,blocked,mfa,password,whitelist_phone\nAlice@Example.com,\"Alice \"\"Al\"\" Liu: $5\",13800000000,false,true,${ALICE_PW},\n,,,,,,13900000000\n"
        );
    }

    #[test]
    fn literal_passwords_are_never_written() {
        let mut state = small_state();
        if let Some(password) = &mut state.users[0].password {
            password.source = PasswordSource::Manifest;
        }
        assert!(!to_yaml(&state).contains("password"));
        assert!(!to_csv(&state).unwrap().contains("hunter2"));
    }

    #[test]
    fn csv_refuses_what_it_cannot_say() {
        let mut state = small_state();
        state.prune.enabled = true;
        assert!(matches!(to_csv(&state), Err(WriteError::NotCsv(_))));
        let mut state = small_state();
        state.users[0].profile.set(Field::Company, Some("".into()));
        assert!(matches!(to_csv(&state), Err(WriteError::NotCsv(_))));
        let mut state = small_state();
        state.whitelist = Some(DesiredWhitelist {
            enabled: Some((true, nowhere())),
            phones: None,
        });
        assert!(matches!(to_csv(&state), Err(WriteError::NotCsv(_))));
    }

    #[test]
    fn written_samples_read_back() {
        let state = small_state();
        assert_eq!(
            comparable(load_text("m.yaml", &to_yaml(&state))),
            comparable(state.clone())
        );
        assert_eq!(
            comparable(load_text("m.csv", &to_csv(&state).unwrap())),
            comparable(state)
        );
    }
}
