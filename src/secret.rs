//! Redacting wrappers for the values that must never be printed: the pool secret, owner and user
//! tokens, and passwords.
//!
//! A [`Secret`] has no `Display`, no `Serialize`, and a `Debug` that prints `(sensitive)`, so a
//! secret that reaches a log line, an error message or a `{:?}` by mistake shows up as that word
//! and nothing else. The only way to the value is [`Secret::expose`], which is easy to grep for.
//! [`url_without_credentials`] shows a URL with what precedes its `@` hidden.

use std::fmt;

/// A string that must never appear in output, logs, plans, errors or `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

/// What a redacted value is shown as, everywhere.
pub const REDACTED: &str = "(sensitive)";

impl Secret {
    pub fn new(value: impl Into<Box<str>>) -> Self {
        Self(value.into())
    }

    /// The value itself. Call it only where the value leaves the process on purpose: an HTTP
    /// request body or header, or the RSA encryption of a password.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Secrets can be read (a token in a response) but never written: there is no `Serialize`.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::from)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value.into_boxed_str())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.into())
    }
}

/// A URL as it may be shown: whatever precedes an `@` in its authority is `***`. Works on text
/// that does not parse as a URL too.
pub fn url_without_credentials(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{path}"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "(sensitive)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some((sensitive))");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}
