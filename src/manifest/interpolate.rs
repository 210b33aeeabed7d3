//! `${NAME}` interpolation from the environment, applied to every string value of a YAML
//! manifest (after parsing, so a variable can never change the document's structure) and to
//! every CSV cell.
//!
//! The syntax:
//!
//! - `${NAME}` is the value of the environment variable `NAME`; an unset variable is an error.
//!   A variable that is set to the empty string gives the empty string (a password that comes
//!   out empty that way is refused, though: `validate` says so).
//! - `${NAME:-default}` is the value of `NAME` when it is set and not empty, else `default`
//!   (as in POSIX shells). The default is literal text up to the first `}`; it is not itself
//!   interpolated.
//! - `$$` is a literal `$`. A `$` followed by anything but `{` or `$` is kept as it is, so
//!   `price: 5$` needs no escaping.
//!
//! `NAME` is a letter or `_` followed by letters, digits and `_`. `AUTHING_SECRET`, the pool
//! secret, can never be referenced: a manifest value may end up in a profile, a plan or a log.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::OsString;

/// Where variables come from: the process environment in the CLI, a map in tests.
pub trait Environment {
    /// The value of a variable, `None` when it is unset.
    fn var(&self, name: &str) -> Option<OsString>;
}

/// The environment of this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<OsString> {
        self.get(name).map(OsString::from)
    }
}

/// Why a value could not be interpolated. `reference` is the text of the offending reference as
/// written (`${NAME}`, `${NAME:-x}`, or the unterminated `${...` to the end of the value), so a
/// caller can point at it in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterpolationError {
    pub kind: InterpolationErrorKind,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterpolationErrorKind {
    Unset(String),
    NotUnicode(String),
    BadName(String),
    Unterminated,
    /// A variable manifests may not read (the pool secret).
    Forbidden(String),
}

/// Variables no manifest may reference.
const FORBIDDEN: [&str; 1] = [crate::settings::SECRET_ENV];

impl InterpolationError {
    /// A message that names the variable but never echoes the value it sits in, so it is safe
    /// for passwords: "unset environment variable `X` in `password`".
    pub fn message(&self, field: &str) -> String {
        match &self.kind {
            InterpolationErrorKind::Unset(name) => {
                format!("unset environment variable `{name}` in `{field}`")
            }
            InterpolationErrorKind::NotUnicode(name) => {
                format!("environment variable `{name}` in `{field}` is not valid unicode")
            }
            InterpolationErrorKind::BadName(_) => {
                format!("invalid variable reference in `{field}`")
            }
            InterpolationErrorKind::Unterminated => {
                format!("unterminated `${{` in `{field}`")
            }
            InterpolationErrorKind::Forbidden(name) => {
                format!("`{field}` may not reference `{name}`, the pool secret")
            }
        }
    }

    pub fn label(&self) -> &'static str {
        match self.kind {
            InterpolationErrorKind::Unset(_) => "not set in the environment",
            InterpolationErrorKind::NotUnicode(_) => "not valid unicode",
            InterpolationErrorKind::BadName(_) => "expected `${NAME}` or `${NAME:-default}`",
            InterpolationErrorKind::Unterminated => "no closing `}`",
            InterpolationErrorKind::Forbidden(_) => "the pool secret",
        }
    }

    pub fn help(&self) -> Option<String> {
        match &self.kind {
            InterpolationErrorKind::Unset(name) => Some(format!(
                "export {name}=..., or give a default: `${{{name}:-default}}`"
            )),
            InterpolationErrorKind::BadName(_) => Some(
                "a variable name is a letter or `_` followed by letters, digits and `_`; write `$$` for a literal `$`"
                    .to_string(),
            ),
            InterpolationErrorKind::Unterminated => {
                Some("close the reference with `}`, or write `$$` for a literal `$`".to_string())
            }
            InterpolationErrorKind::Forbidden(_) => Some(
                "the secret reaches authing-sync only through AUTHING_SECRET or --secret-file; a manifest value could end up in a profile, a plan or a log".to_string(),
            ),
            InterpolationErrorKind::NotUnicode(_) => None,
        }
    }
}

/// Replaces every reference in `text`. Borrows when there is nothing to replace.
pub(crate) fn interpolate<'a>(
    text: &'a str,
    env: &dyn Environment,
) -> Result<Cow<'a, str>, InterpolationError> {
    if !text.contains('$') {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(close) = body.find('}') else {
                return Err(InterpolationError {
                    kind: InterpolationErrorKind::Unterminated,
                    reference: rest[dollar..].to_string(),
                });
            };
            let reference = &rest[dollar..dollar + 3 + close];
            let inner = &body[..close];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if !is_name(name) {
                return Err(InterpolationError {
                    kind: InterpolationErrorKind::BadName(name.to_string()),
                    reference: reference.to_string(),
                });
            }
            if FORBIDDEN.contains(&name) {
                return Err(InterpolationError {
                    kind: InterpolationErrorKind::Forbidden(name.to_string()),
                    reference: reference.to_string(),
                });
            }
            let value = lookup(name, reference, env)?;
            match (value, default) {
                (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(InterpolationError {
                        kind: InterpolationErrorKind::Unset(name.to_string()),
                        reference: reference.to_string(),
                    });
                }
            }
            rest = &body[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The variable name when the whole (trimmed) text is exactly one `${NAME}` reference, without a
/// default.
pub(crate) fn whole_reference(text: &str) -> Option<&str> {
    let name = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    is_name(name).then_some(name)
}

/// The `${NAME}` references of a text that have no default, as written, in order (`$${` is an
/// escaped `$` followed by `{`).
pub(crate) fn required_references(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'$', b'$') => i += 2,
            (b'$', b'{') => {
                let Some(close) = text[i..].find('}') else {
                    break;
                };
                let reference = &text[i..i + close + 1];
                if is_name(&reference[2..reference.len() - 1]) {
                    found.push(reference);
                }
                i += close + 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// Whether the text holds any `${...}` reference (`$${` is an escaped `$` followed by `{`).
pub(crate) fn has_reference(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'$', b'$') => i += 2,
            (b'$', b'{') => return true,
            _ => i += 1,
        }
    }
    false
}

/// Escapes every `$` so that [`interpolate`] gives `text` back.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if text.contains('$') {
        Cow::Owned(text.replace('$', "$$"))
    } else {
        Cow::Borrowed(text)
    }
}

fn lookup(
    name: &str,
    reference: &str,
    env: &dyn Environment,
) -> Result<Option<String>, InterpolationError> {
    match env.var(name) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(Some)
            .map_err(|_| InterpolationError {
                kind: InterpolationErrorKind::NotUnicode(name.to_string()),
                reference: reference.to_string(),
            }),
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_secret_can_never_be_referenced() {
        let env = HashMap::from([("AUTHING_SECRET".to_string(), "s3cret".to_string())]);
        for text in ["${AUTHING_SECRET}", "x ${AUTHING_SECRET:-y}"] {
            let err = interpolate(text, &env).unwrap_err();
            assert_eq!(
                err.kind,
                InterpolationErrorKind::Forbidden("AUTHING_SECRET".into())
            );
            assert!(!err.message("nickname").contains("s3cret"));
        }
    }

    fn env() -> HashMap<String, String> {
        HashMap::from([
            ("NAME".to_string(), "Alice".to_string()),
            ("EMPTY".to_string(), String::new()),
        ])
    }

    #[test]
    fn references_are_replaced() {
        let env = env();
        assert_eq!(interpolate("plain", &env).unwrap(), "plain");
        assert_eq!(interpolate("hi ${NAME}!", &env).unwrap(), "hi Alice!");
        assert_eq!(interpolate("${NAME}${NAME}", &env).unwrap(), "AliceAlice");
        assert_eq!(interpolate("${UNSET:-bob}", &env).unwrap(), "bob");
        assert_eq!(interpolate("${EMPTY:-bob}", &env).unwrap(), "bob");
        assert_eq!(interpolate("${EMPTY}", &env).unwrap(), "");
        assert_eq!(interpolate("${NAME:-bob}", &env).unwrap(), "Alice");
        assert_eq!(interpolate("${UNSET:-}", &env).unwrap(), "");
    }

    #[test]
    fn dollars_escape_and_pass_through() {
        let env = env();
        assert_eq!(interpolate("$${NAME}", &env).unwrap(), "${NAME}");
        assert_eq!(interpolate("5$ and $HOME", &env).unwrap(), "5$ and $HOME");
        assert_eq!(interpolate("$$$$", &env).unwrap(), "$$");
        assert_eq!(interpolate("trailing $", &env).unwrap(), "trailing $");
    }

    #[test]
    fn errors_name_the_reference() {
        let env = env();
        let err = interpolate("a ${MISSING} b", &env).unwrap_err();
        assert_eq!(err.kind, InterpolationErrorKind::Unset("MISSING".into()));
        assert_eq!(err.reference, "${MISSING}");
        let err = interpolate("a ${NAME", &env).unwrap_err();
        assert_eq!(err.kind, InterpolationErrorKind::Unterminated);
        assert_eq!(err.reference, "${NAME");
        let err = interpolate("${1X}", &env).unwrap_err();
        assert_eq!(err.kind, InterpolationErrorKind::BadName("1X".into()));
        assert!(!err.message("password").contains("1X"));
    }

    #[test]
    fn escaping_round_trips() {
        let env = env();
        for text in ["$", "${NAME}", "$$", "a$b${c}$", "none"] {
            assert_eq!(interpolate(&escape(text), &env).unwrap(), text);
        }
    }

    #[test]
    fn whole_references_are_recognised() {
        assert_eq!(whole_reference(" ${PW} "), Some("PW"));
        assert_eq!(whole_reference("${PW:-x}"), None);
        assert_eq!(whole_reference("x${PW}"), None);
        assert!(has_reference("a${B}"));
        assert!(!has_reference("a$${B}"));
        assert!(!has_reference("plain $"));
    }
}
