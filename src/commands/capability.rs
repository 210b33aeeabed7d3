//! What the manifests (and flags) ask for that the API behind `--api` cannot do, refused at
//! plan time (plan, apply, and validate with `--api`) with the manifest file, line and column of
//! each request, every one at once, before anything is written (exit 1). Two checks:
//! [`check_desired`] needs only the manifests and flags (v3 has no whitelist switch; v3's
//! `gender` takes only `M`, `F`, `U`; v3 cannot send the reset email) and runs before any
//! network call, gathering every refusal that does not need the pool; [`check_plan`] needs the
//! plan (an MFA change, which v3 cannot make: whether a user's MFA changes is known only once
//! the pool is read). So that one round of fixes is enough, a refusal of the first check also
//! lists where the manifests declare `mfa` on such an API: those the second check will compare
//! with the pool.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use miette::Diagnostic;

use crate::model::{DesiredState, Field, FieldRef, Origin};
use crate::plan::{Change, Plan};
use crate::remote::Api;

/// The most `mfa` places a refusal lists as still to be checked against the pool.
const PENDING_SHOWN: usize = 10;

/// Requests the API cannot carry out, each at its manifest place.
#[derive(Debug, thiserror::Error)]
#[error("the manifests ask for what the {api} API cannot do ({}):\n  {}{}",
    if .problems.len() == 1 { "1 problem".to_string() } else { format!("{} problems", .problems.len()) },
    .problems.join("\n  "),
    pending_note(*.api, .pending))]
pub struct Unsupported {
    pub api: Api,
    /// `file:line:column: what` (or `--flag: what`), in manifest order, flags last.
    pub problems: Vec<String>,
    /// `file:line:column` of each `mfa` the manifests declare where the API cannot change MFA:
    /// refused after the pool is read where it would change a user's MFA.
    pub pending: Vec<String>,
}

fn pending_note(api: Api, pending: &[String]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let mut note = format!(
        "\nonce the pool is read, the {api} API also refuses each `mfa` below that would change a user's MFA ({} declared):\n  ",
        pending.len()
    );
    note.push_str(
        &pending
            .iter()
            .take(PENDING_SHOWN)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n  "),
    );
    if pending.len() > PENDING_SHOWN {
        note.push_str(&format!("\n  … and {} more", pending.len() - PENDING_SHOWN));
    }
    note
}

impl Diagnostic for Unsupported {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("plan::unsupported_by_api"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "nothing was sent or written. Remove these from the manifests (or leave the flag out), make them in the Authing console, or use --api v1 (AUTHING_API=v1)",
        ))
    }
}

/// What a command asks for besides the manifests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// `apply --send-reset-email`.
    pub send_reset_email: bool,
}

/// The checks that need only the manifests and flags, run before any network call.
pub fn check_desired(desired: &DesiredState, api: Api, flags: Flags) -> Result<(), Unsupported> {
    let mut finder = Finder::default();
    let mut problems = Vec::new();
    if !api.has_whitelist_switch()
        && let Some(whitelist) = &desired.whitelist
        && let Some((_, origin)) = &whitelist.enabled
    {
        problems.push((
            finder.place(origin, "enabled"),
            format!(
                "`whitelist.enabled`: the {api} API has no whitelist switch (Authing sets it in the console); the phones are managed all the same"
            ),
        ));
    }
    for user in &desired.users {
        for (field, value) in user.profile.fields() {
            let Some(allowed) = api.allowed_values(field) else {
                continue;
            };
            let FieldRef::Text(text) = value else {
                continue;
            };
            if !allowed.contains(&text) {
                problems.push((
                    finder.place(&user.origin, field.name()),
                    format!(
                        "`{}: {text}` of `{}`: the {api} API takes only {}{}",
                        field.name(),
                        user.key,
                        allowed.join(", "),
                        if field == Field::Gender && api == Api::V3 {
                            " (U is what v3 reports for every user whose gender is not set: leave the field out)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
    let flag_problems = flag_problems(api, flags);
    if problems.is_empty() && flag_problems.is_empty() {
        return Ok(());
    }
    let pending = if api.can_change_mfa() {
        Vec::new()
    } else {
        let mut places: Vec<Place> = desired
            .users
            .iter()
            .filter(|user| user.mfa.is_some())
            .map(|user| finder.place(&user.origin, "mfa"))
            .collect();
        places.sort();
        places.into_iter().map(|place| show(&place)).collect()
    };
    let mut refused = finish(api, problems).err().unwrap_or(Unsupported {
        api,
        problems: Vec::new(),
        pending: Vec::new(),
    });
    refused.problems.extend(flag_problems);
    refused.pending = pending;
    Err(refused)
}

/// The checks that need the plan: the changes the API cannot make (and, for a saved plan, the
/// flags, which [`check_desired`] checks otherwise).
pub fn check_plan(plan: &Plan, api: Api, flags: Flags) -> Result<(), Unsupported> {
    let mut finder = Finder::default();
    let mut problems = Vec::new();
    for change in &plan.changes {
        if let Change::WhitelistSwitch(switch) = change
            && !api.has_whitelist_switch()
        {
            problems.push((
                finder.place(&switch.origin, "enabled"),
                format!("`whitelist.enabled`: the {api} API has no whitelist switch"),
            ));
        }
        if let Change::Mfa(change) = change
            && !api.can_change_mfa()
        {
            let verb = if change.enable { "turn on" } else { "turn off" };
            problems.push((
                finder.place(&change.origin, "mfa"),
                format!(
                    "`mfa: {}` of `{}`: the {api} API cannot {verb} one user's MFA (no confirmed call does what v1's changeMFA does); its MFA is read, and a manifest that agrees with it plans no change",
                    change.enable, change.key
                ),
            ));
        }
    }
    let flag_problems = flag_problems(api, flags);
    if problems.is_empty() && flag_problems.is_empty() {
        return Ok(());
    }
    let mut refused = finish(api, problems).err().unwrap_or(Unsupported {
        api,
        problems: Vec::new(),
        pending: Vec::new(),
    });
    refused.problems.extend(flag_problems);
    Err(refused)
}

/// The flags the API cannot carry out, each as `--flag: why`.
fn flag_problems(api: Api, flags: Flags) -> Vec<String> {
    let mut problems = Vec::new();
    if flags.send_reset_email && !api.can_send_reset_email() {
        problems.push(format!(
            "--send-reset-email: the {api} API cannot send the reset-password email (new users without a manifest password get a generated one without it)"
        ));
    }
    problems
}

fn show((file, line, column): &Place) -> String {
    format!("{file}:{line}:{column}")
}

fn finish(api: Api, mut problems: Vec<(Place, String)>) -> Result<(), Unsupported> {
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    Err(Unsupported {
        api,
        problems: problems
            .into_iter()
            .map(|(place, what)| format!("{}: {what}", show(&place)))
            .collect(),
        pending: Vec::new(),
    })
}

/// `(file, line, column)`, 1-based.
type Place = (String, u32, u32);

/// Finds the column of a key in a manifest entry, reading each file once.
#[derive(Default)]
struct Finder {
    texts: HashMap<Arc<Path>, Option<String>>,
}

impl Finder {
    /// Where `key` is written in the entry that starts at `origin` (a YAML key of the entry, or
    /// the CSV column of the row); the entry's start when it cannot be found.
    fn place(&mut self, origin: &Origin, key: &str) -> Place {
        let file = origin.file.display().to_string();
        let text = self
            .texts
            .entry(origin.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&origin.file).ok());
        let found = text.as_deref().and_then(|text| {
            let csv = origin
                .file
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
            if csv {
                csv_column(text, origin.line, key).map(|column| (origin.line, column))
            } else {
                yaml_key(text, origin.line, key)
            }
        });
        let (line, column) = found.unwrap_or((origin.line, 1));
        (file, line, column)
    }
}

/// The line and column of `key:` inside the YAML entry that starts on `line`: on that line or
/// the lines below it, until one at the entry's indentation or less.
fn yaml_key(text: &str, line: u32, key: &str) -> Option<(u32, u32)> {
    let start = line.checked_sub(1)? as usize;
    let mut lines = text.lines().enumerate().skip(start);
    let (first_index, first) = lines.next()?;
    let indent = |line: &str| line.len() - line.trim_start().len();
    let base = indent(first);
    let candidates = std::iter::once((first_index, first)).chain(lines.take_while(|(_, line)| {
        let trimmed = line.trim_start();
        trimmed.is_empty() || trimmed.starts_with('#') || indent(line) > base
    }));
    for (index, text) in candidates {
        if let Some(at) = find_key(text, key) {
            let column = text[..at].chars().count() as u32 + 1;
            return Some((index as u32 + 1, column));
        }
    }
    None
}

/// The byte offset of `key` used as a mapping key in one line (`key:`, `- key:`, `{a: 1, key: 2}`).
fn find_key(line: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = line[from..].find(key) {
        let at = from + found;
        let before = line[..at].chars().next_back();
        let after = line[at + key.len()..].trim_start();
        let starts = before.is_none_or(|c| matches!(c, ' ' | '\t' | '-' | '{' | ',' | '"' | '\''));
        let after = after.trim_start_matches(['"', '\'']);
        if starts && after.starts_with(':') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

/// The column where the cell under header `key` starts on CSV line `line`.
fn csv_column(text: &str, line: u32, key: &str) -> Option<u32> {
    let mut lines = text.lines();
    let header = lines.next()?;
    let index = split_csv(header)
        .iter()
        .position(|(_, name)| name.trim().trim_matches('"').eq_ignore_ascii_case(key))?;
    let row = text.lines().nth(line.checked_sub(1)? as usize)?;
    split_csv(row)
        .get(index)
        .map(|(start, _)| row[..*start].chars().count() as u32 + 1)
}

/// The cells of one CSV line with their byte offsets (quotes kept; `""` inside quotes is one).
fn split_csv(line: &str) -> Vec<(usize, &str)> {
    let mut cells = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (at, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                cells.push((start, &line[start..at]));
                start = at + 1;
            }
            _ => {}
        }
    }
    cells.push((start, &line[start..]));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_inside_their_yaml_entry() {
        let text = "users:\n  - email: a@example.com\n    mfa: true\n  - email: b@example.com\n    nickname: B\n";
        assert_eq!(yaml_key(text, 2, "mfa"), Some((3, 5)));
        assert_eq!(yaml_key(text, 4, "mfa"), None, "not in the next entry");
        assert_eq!(yaml_key(text, 2, "email"), Some((2, 5)));
        assert_eq!(
            yaml_key("users:\n  - {email: a@example.com, mfa: true}\n", 2, "mfa"),
            Some((2, 28))
        );
        assert_eq!(
            yaml_key("whitelist:\n  enabled: true\n", 2, "enabled"),
            Some((2, 3))
        );
    }

    #[test]
    fn csv_cells_are_found_by_their_header() {
        let text = "email,nickname,mfa\na@example.com,\"Liu, A\",true\n";
        assert_eq!(csv_column(text, 2, "mfa"), Some(24));
        assert_eq!(csv_column(text, 2, "email"), Some(1));
        assert_eq!(csv_column(text, 2, "gender"), None);
    }
}
