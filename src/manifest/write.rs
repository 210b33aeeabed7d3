//! A desired state written out as a manifest that [`load`](super::load) reads back to the same
//! state (origins and source digests aside), in a deterministic order: users as given, fields in
//! manifest order.
//!
//! - Every string is written double-quoted, with `$` escaped as `$$`, so no value can turn into
//!   a number, a boolean, a comment or a variable reference on the way back.
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
use super::yaml::SUPPORTED_VERSION;
use crate::model::{DesiredState, DesiredUser, Field, PasswordSource, PruneSettings};

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
    used[column_index(Column::Field(state.match_on.field()))] = true;
    for user in &state.users {
        for (name, value) in user_values(user) {
            if matches!(value, Value::Text(text) if text.trim().is_empty()) {
                return Err(WriteError::NotCsv(format!(
                    "the empty `{name}` of user `{}`",
                    user.key
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
                Value::Text(text) => escape(text),
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

/// The managed values of a user, in manifest order, under their manifest names.
fn user_values(user: &DesiredUser) -> impl Iterator<Item = (&'static str, Value<'_>)> {
    let profile = &user.profile;
    let fields = Field::ALL.into_iter().filter_map(move |field| {
        let value = match field {
            Field::EmailVerified => profile.email_verified.map(Value::Flag),
            Field::Blocked => profile.blocked.map(Value::Flag),
            _ => profile.get(field).map(|value| match value {
                crate::model::FieldRef::Text(text) => Value::Text(text),
                crate::model::FieldRef::Bool(flag) => Value::Flag(flag),
            }),
        };
        value.map(|value| (field.name(), value))
    });
    let mfa = user.mfa.map(|flag| ("mfa", Value::Flag(flag)));
    let password = user
        .password
        .as_ref()
        .and_then(|password| match &password.source {
            PasswordSource::Env(name) => Some(("password", Value::Reference(name))),
            PasswordSource::Manifest => None,
        });
    fields.chain(mfa).chain(password)
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

/// A YAML double-quoted scalar that reads back as `text` after interpolation.
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
            c if c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
