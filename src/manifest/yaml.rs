//! Reading a YAML manifest into its raw types, with every structural problem located.
//!
//! serde_norway is the parser of record for values; [`PositionIndex`] says where they are.
//!
//! - Fast path: the whole document deserializes into [`RawManifest`]; nothing else to do.
//! - Syntax error: the document is not YAML; reported at serde_norway's location, except a key
//!   written twice in one mapping: every such key at its own place, naming the first.
//! - Slow path: the document is YAML but does not fit the types (unknown keys, wrong types). It
//!   is read as a [`Value`] and checked key by key (each key alone, as a one-entry mapping
//!   deserialized into the raw struct, whose fields are all optional), and item by item in
//!   lists, so that every problem is reported at once and located. Broken entries are dropped
//!   and the rest deserializes, so later checks (emails, duplicates) still run on it.
//!
//! A manifest whose `version` is missing or not `1` gets that one error and nothing else: keys
//! of another version are not worth a report each.

use std::collections::HashSet;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_norway::{Mapping, Value};

use super::diagnostic::{Code, ManifestDiagnostic, Problems, one_of, suggest};
use super::interpolate::whole_reference;
use super::positions::{Node, PositionIndex};
use super::schema::{RawManifest, RawPrune, RawUser, RawVersion, RawWhitelist, field_names};
use super::source::Input;

/// The manifest version this build reads.
pub(crate) const SUPPORTED_VERSION: &str = "1";

/// A YAML manifest, structurally valid.
pub(crate) struct YamlDocument {
    pub raw: RawManifest,
    pub index: PositionIndex,
    /// Users (by position in `users`) that lost a field to a structural problem: a missing key
    /// is not reported again for them.
    pub damaged_users: HashSet<usize>,
}

/// Reads a YAML manifest; `None` (with problems reported) when nothing of it can be used.
pub(crate) fn parse(input: &Input, problems: &mut Problems) -> Option<YamlDocument> {
    let text = input.text.as_str();
    // The two passes are independent: the position index is built beside the typed parse.
    let (index, typed) = std::thread::scope(|scope| {
        let index = scope.spawn(|| PositionIndex::build(text));
        let typed = serde_norway::from_str::<RawManifest>(text);
        // A panic in the index pass costs positions, not the load.
        (index.join().unwrap_or_default(), typed)
    });
    let (raw, damaged_users) = match typed {
        Ok(raw) => {
            let version = raw.version.as_ref().map(|version| version.0.as_str());
            if version.is_none() && index.root().is_none_or(is_null) {
                problems.push(only_comments(input));
                return None;
            }
            if !check_version(input, &index, version, problems) {
                return None;
            }
            (raw, HashSet::new())
        }
        Err(_) => slow_path(input, &index, problems)?,
    };
    Some(YamlDocument {
        raw,
        index,
        damaged_users,
    })
}

fn slow_path(
    input: &Input,
    index: &PositionIndex,
    problems: &mut Problems,
) -> Option<(RawManifest, HashSet<usize>)> {
    let value = match serde_norway::from_str::<Value>(&input.text) {
        Ok(value) => value,
        Err(err) => {
            let repeated = repeated_keys(input, index);
            if repeated.is_empty() {
                problems.push(syntax_error(input, &err));
            } else {
                for diagnostic in repeated {
                    problems.push(diagnostic);
                }
            }
            return None;
        }
    };
    let root = index.root();
    let mut map = match value {
        Value::Mapping(map) => map,
        Value::Null => {
            problems.push(only_comments(input));
            return None;
        }
        other => {
            let span = root.map_or(0..0, |root| head(input, root));
            problems.push(
                ManifestDiagnostic::error(
                    Code::WrongType,
                    format!(
                        "a manifest must be a mapping with `version: 1`, found {}",
                        kind(&other)
                    ),
                )
                .at(input.place(span, Some("expected a mapping".to_string()))),
            );
            return None;
        }
    };
    let mut slow = Slow {
        input,
        index,
        problems,
        damaged_users: HashSet::new(),
    };
    if !slow.version(&map, root) {
        return None;
    }
    slow.manifest(&mut map, root);
    let Slow {
        problems,
        damaged_users,
        ..
    } = slow;
    match serde_norway::from_value::<RawManifest>(Value::Mapping(map)) {
        Ok(raw) => Some((raw, damaged_users)),
        Err(err) => {
            // Every entry that failed alone was dropped; a failure here means the checks above
            // missed a case. Report it rather than lose it.
            problems.push(
                ManifestDiagnostic::error(Code::WrongType, format!("invalid manifest: {err}"))
                    .at(input.place(root.map_or(0..0, |root| head(input, root)), None)),
            );
            None
        }
    }
}

/// Every key written twice in one mapping, at the second key's own place and naming the first
/// (serde_norway reports only the first repeat, at the start of its mapping).
fn repeated_keys(input: &Input, index: &PositionIndex) -> Vec<ManifestDiagnostic> {
    index
        .repeated_keys()
        .into_iter()
        .map(|(first, again)| {
            let name = input.text[again.span()].trim();
            let first_place = input.place(first.span(), Some("first here".to_string()));
            ManifestDiagnostic::error(
                Code::DuplicateKey,
                format!(
                    "duplicate key `{name}`: it is already set at {}",
                    first_place.location()
                ),
            )
            .at(input.place(again.span(), Some("set again here".to_string())))
            .also(first_place)
            .with_help("a key may appear once in a mapping: keep one of the two")
        })
        .collect()
}

fn only_comments(input: &Input) -> ManifestDiagnostic {
    ManifestDiagnostic::error(
        Code::EmptyFile,
        format!(
            "empty manifest: {} has nothing but comments",
            input.path.display()
        ),
    )
    .at(input.place(0..0, Some("no manifest here".to_string())))
    .with_help("a YAML manifest starts with `version: 1`")
}

/// Whether a document's root is an empty scalar (`~`, `null`, or nothing at all).
fn is_null(root: Node<'_>) -> bool {
    root.is_plain_scalar() && root.start() == root.end()
}

/// `true` when the version is the supported one; else reports why not.
fn check_version(
    input: &Input,
    index: &PositionIndex,
    version: Option<&str>,
    problems: &mut Problems,
) -> bool {
    let root = index.root();
    match version {
        Some(SUPPORTED_VERSION) => true,
        Some(other) => {
            let span = root
                .and_then(|root| root.get("version"))
                .or(root)
                .map_or(0..0, Node::span);
            problems.push(
                ManifestDiagnostic::error(
                    Code::UnsupportedVersion,
                    format!("unsupported manifest version `{other}`"),
                )
                .at(input.place(span, Some("this version".to_string())))
                .with_help(format!(
                    "this authing-sync reads `version: {SUPPORTED_VERSION}` manifests"
                )),
            );
            false
        }
        None => {
            let span = root.map_or(0..0, |root| head(input, root));
            problems.push(
                ManifestDiagnostic::error(Code::MissingVersion, "missing `version`")
                    .at(input.place(span, Some("no `version` in this manifest".to_string())))
                    .with_help(format!(
                        "start the manifest with `version: {SUPPORTED_VERSION}`"
                    )),
            );
            false
        }
    }
}

struct Slow<'a> {
    input: &'a Input,
    index: &'a PositionIndex,
    problems: &'a mut Problems,
    damaged_users: HashSet<usize>,
}

impl Slow<'_> {
    fn version(&mut self, map: &Mapping, root: Option<Node<'_>>) -> bool {
        let version = match map.get("version") {
            None | Some(Value::Null) => None,
            Some(value) => match serde_norway::from_value::<RawVersion>(value.clone()) {
                Ok(version) => Some(version.0),
                Err(err) => {
                    let node = root.and_then(|root| root.get("version"));
                    self.wrong_type("version", &err, node.or(root));
                    return false;
                }
            },
        };
        check_version(self.input, self.index, version.as_deref(), self.problems)
    }

    fn manifest(&mut self, map: &mut Mapping, root: Option<Node<'_>>) {
        let fields = field_names::<RawManifest>();
        for key in map.keys().cloned().collect::<Vec<_>>() {
            let entry = key
                .as_str()
                .and_then(|name| root.and_then(|root| root.entry(name)));
            let value_node = entry.map(|entry| entry.value);
            let Some(name) = key.as_str().filter(|name| fields.contains(name)) else {
                self.unknown_field(&key, fields, entry.map(|entry| entry.key).or(root));
                map.remove(&key);
                continue;
            };
            let Some(value) = map.get_mut(&key) else {
                continue;
            };
            match (name, value) {
                ("users", Value::Sequence(users)) => {
                    for (at, user) in users.iter_mut().enumerate() {
                        let node = value_node.and_then(|users| users.item(at));
                        self.user(at, user, node.or(value_node));
                    }
                }
                ("whitelist", Value::Mapping(whitelist)) => {
                    self.structure::<RawWhitelist>(whitelist, value_node.or(root));
                }
                ("prune", Value::Mapping(prune)) => {
                    self.structure::<RawPrune>(prune, value_node.or(root));
                }
                _ => {
                    if !self.entry::<RawManifest>(&key, map, entry.map(|e| e.value).or(root)) {
                        map.remove(&key);
                    }
                }
            }
        }
    }

    fn user(&mut self, at: usize, user: &mut Value, node: Option<Node<'_>>) {
        match &mut *user {
            Value::Mapping(fields) => {
                if self.structure::<RawUser>(fields, node) {
                    self.damaged_users.insert(at);
                }
            }
            other => {
                let found = kind(other);
                let span = node.map_or(0..0, Node::span);
                self.problems.push(
                    ManifestDiagnostic::error(
                        Code::WrongType,
                        format!(
                            "wrong type for a user: found {found}, expected a mapping of fields such as `email` and `nickname`"
                        ),
                    )
                    .at(self.input.place(span, Some("not a user".to_string()))),
                );
                *user = Value::Mapping(Mapping::new());
                self.damaged_users.insert(at);
            }
        }
    }

    /// Checks every key of a mapping against the raw struct `T`, dropping those that do not
    /// fit. `true` when something was dropped.
    fn structure<T: DeserializeOwned>(
        &mut self,
        map: &mut Mapping,
        node: Option<Node<'_>>,
    ) -> bool {
        let fields = field_names::<T>();
        let mut dropped = false;
        for key in map.keys().cloned().collect::<Vec<_>>() {
            let entry = key
                .as_str()
                .and_then(|name| node.and_then(|node| node.entry(name)));
            let fits = if key.as_str().is_some_and(|name| fields.contains(&name)) {
                self.entry::<T>(&key, map, entry.map(|e| e.value).or(node))
            } else {
                self.unknown_field(&key, fields, entry.map(|entry| entry.key).or(node));
                false
            };
            if !fits {
                map.remove(&key);
                dropped = true;
            }
        }
        dropped
    }

    /// Deserializes one `key: value` alone into `T`; reports a type error where it is. In a
    /// list, each item that does not fit is reported and nulled, and the rest kept. `true` when
    /// the entry (what is left of it) fits.
    fn entry<T: DeserializeOwned>(
        &mut self,
        key: &Value,
        map: &mut Mapping,
        node: Option<Node<'_>>,
    ) -> bool {
        let Some(value) = map.get_mut(key) else {
            return true;
        };
        let alone = |value: Value| {
            let mut single = Mapping::new();
            single.insert(key.clone(), value);
            serde_norway::from_value::<T>(Value::Mapping(single))
        };
        let Err(err) = alone(value.clone()) else {
            return true;
        };
        let name = key.as_str().unwrap_or_default();
        let is_list = alone(Value::Sequence(Vec::new())).is_ok();
        if let (true, Value::Sequence(items)) = (is_list, &mut *value) {
            let mut bad = Vec::new();
            for (at, item) in items.iter().enumerate() {
                if let Err(err) = alone(Value::Sequence(vec![item.clone()])) {
                    let item_node = node.and_then(|node| node.item(at)).or(node);
                    self.wrong_type(&format!("{name}[{at}]"), &err, item_node);
                    bad.push(at);
                }
            }
            if !bad.is_empty() {
                // Nulled rather than removed, so that later items keep their index (and their
                // place in the position index); list items are optional in the raw types.
                for at in bad {
                    items[at] = Value::Null;
                }
                return alone(value.clone()).is_ok();
            }
        }
        self.wrong_type(name, &err, node);
        false
    }

    fn unknown_field(&mut self, key: &Value, fields: &[&str], node: Option<Node<'_>>) {
        let name = match key {
            Value::String(name) => name.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => "null".to_string(),
            _ => "(a complex key)".to_string(),
        };
        let span = node.map_or(0..0, Node::span);
        let (message, help) = match suggest(&name, fields) {
            Some(close) => (
                format!("unknown field `{name}`, did you mean `{close}`?"),
                one_of(fields),
            ),
            None => (format!("unknown field `{name}`"), one_of(fields)),
        };
        self.problems.push(
            ManifestDiagnostic::error(Code::UnknownField, message)
                .at(self.input.place(span, Some("unknown field".to_string())))
                .with_help(help),
        );
    }

    fn wrong_type(&mut self, field: &str, err: &serde_norway::Error, node: Option<Node<'_>>) {
        let detail = err.to_string();
        let detail = detail
            .strip_prefix("invalid type: ")
            .or_else(|| detail.strip_prefix("invalid value: "))
            .map_or(detail.clone(), |rest| format!("found {rest}"));
        let span = node.map_or(0..0, Node::span);
        self.problems.push(
            ManifestDiagnostic::error(
                Code::WrongType,
                format!("wrong type for `{field}`: {detail}"),
            )
            .at(self.input.place(span, Some("wrong type".to_string()))),
        );
    }
}

fn syntax_error(input: &Input, err: &serde_norway::Error) -> ManifestDiagnostic {
    let offset = err.location().map_or(0, |location| {
        let line = input.line_span(u32::try_from(location.line()).unwrap_or(u32::MAX));
        let text = &input.text[line.clone()];
        line.start
            + text
                .char_indices()
                .nth(location.column().saturating_sub(1))
                .map_or(text.len(), |(at, _)| at)
    });
    let message = strip_first_mark(&err.to_string());
    ManifestDiagnostic::error(Code::Syntax, format!("invalid YAML: {message}"))
        .at(input.place(offset..offset, Some("here".to_string())))
}

/// Drops the first " at line N column M" from a serde_norway message (the place is shown
/// otherwise), keeping any later one ("while parsing a mapping at line 2 column 3").
fn strip_first_mark(message: &str) -> String {
    let Some(at) = message.find(" at line ") else {
        return message.to_string();
    };
    let rest = &message[at + " at line ".len()..];
    let digits =
        |text: &str| text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let line_digits = digits(rest);
    let Some(after) = rest[line_digits..].strip_prefix(" column ") else {
        return message.to_string();
    };
    let column_digits = digits(after);
    format!("{}{}", &message[..at], &after[column_digits..])
}

/// The first line of a node: what a label on a whole mapping points at.
pub(crate) fn head(input: &Input, node: Node<'_>) -> Range<usize> {
    let start = node.start();
    let line_end = input.line_span(node.line()).end.max(start);
    start..line_end.min(node.end().max(start))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Where literal password values are in a YAML text, for masking in snippets. A heuristic over
/// lines (it must work on text that does not parse): the value after any key that looks like a
/// secret (`password`, a misspelt `passwrod`, `pwd`, `secret`), up to the end of the line, or to
/// the next `,`/`}` in a flow mapping; and when that value is empty or a block scalar (`|`, `>`),
/// every following line indented deeper than the key, where the value continues. A value that is
/// exactly one `${NAME}` reference is not a secret and stays visible.
pub(crate) fn password_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut line_start = 0;
    // The column of a secret key whose value continues on the following lines.
    let mut continuing: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start().len();
        if let Some(key_indent) = continuing {
            if content.trim().is_empty() {
                line_start += line.len();
                continue;
            }
            if indent > key_indent {
                spans.push(line_start + indent..line_start + content.len());
                line_start += line.len();
                continue;
            }
            continuing = None;
        }
        let mut from = 0;
        while let Some(found) = content[from..].find(':') {
            let colon = from + found;
            from = colon + 1;
            let before = content[..colon].trim_end_matches([' ', '\t']);
            let before = before.strip_suffix(['"', '\'']).unwrap_or(before);
            let key_start = before
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
                .map_or(0, |(at, c)| at + c.len_utf8());
            if !looks_secret(&before[key_start..]) {
                continue;
            }
            let value_end = if content[..colon].contains('{') {
                content[from..]
                    .find([',', '}'])
                    .map_or(content.len(), |end| from + end)
            } else {
                content.len()
            };
            let raw = &content[from..value_end];
            let value = raw.trim();
            let block = value.is_empty() || value.starts_with(['|', '>']);
            if block {
                // The key's own column: after `- ` in a sequence item, not the line's indent.
                continuing = Some(key_start);
            } else if whole_reference(value.trim_matches(['"', '\''])).is_none() {
                let start = line_start + from + (raw.len() - raw.trim_start().len());
                spans.push(start..start + value.len());
            }
            from = value_end.max(from);
        }
        line_start += line.len();
    }
    spans
}

/// Whether a key or column name looks like it holds a secret.
pub(crate) fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "secret"]
        .iter()
        .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_values_are_found_but_references_are_not() {
        let text = "users:\n  - email: a@b.cn\n    password: hunter2 # x\n  - password: ${PW}\n  - {email: c@d.cn, password: 's3cret', mfa: true}\n  - photo: https://x.cn/a.png\n    passwrd: typo:d\n";
        let spans = password_spans(text);
        let found: Vec<&str> = spans.iter().map(|span| &text[span.clone()]).collect();
        assert_eq!(found, ["hunter2 # x", "'s3cret'", "typo:d"]);
    }

    #[test]
    fn passwords_that_continue_on_the_next_lines_are_masked_too() {
        let text = "users:\n  - email: a@b.cn\n    password: |\n      line one\n\n      line two\n    nickname: shown\n  - password:\n      next-line-secret\n    mfa: true\n";
        let spans = password_spans(text);
        let found: Vec<&str> = spans.iter().map(|span| &text[span.clone()]).collect();
        assert_eq!(found, ["line one", "line two", "next-line-secret"]);
    }

    #[test]
    fn marks_are_stripped_once() {
        assert_eq!(
            strip_first_mark(
                "did not find expected key at line 3 column 5, while parsing a block mapping at line 2 column 3"
            ),
            "did not find expected key, while parsing a block mapping at line 2 column 3"
        );
        assert_eq!(strip_first_mark("no mark"), "no mark");
    }
}
