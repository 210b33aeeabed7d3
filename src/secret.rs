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

/// `text` with every occurrence of each of `secrets` replaced by [`REDACTED`]: the value as it
/// is, and as it reads inside a JSON string (escaped, and with `/` written `\/`), which is how a
/// server that echoes a request body would show it. Longer secrets are replaced first, so one
/// that contains another is hidden whole. Empty secrets are skipped.
pub fn redact_in<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut forms: Vec<String> = Vec::new();
    for secret in secrets.into_iter().filter(|secret| !secret.is_empty()) {
        let quoted = serde_json::to_string(secret).unwrap_or_default();
        let escaped = quoted
            .get(1..quoted.len().saturating_sub(1))
            .unwrap_or_default()
            .to_string();
        let slashed = escaped.replace('/', "\\/");
        for form in [secret.to_string(), escaped, slashed] {
            if !form.is_empty() && !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    let mut text = text.to_string();
    for form in &forms {
        if text.contains(form.as_str()) {
            text = text.replace(form.as_str(), REDACTED);
        }
    }
    text
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

/// An endpoint as it is recorded and shown (saved plans, plan headers, the MFA cache's key,
/// errors): scheme, host, port and path. The query, the fragment and any user info are dropped,
/// since they may carry credentials (`?apikey=…`, `user:pass@`); they never identify the pool,
/// which the client id does. Text that is not a URL (`local`) is kept up to its first `?` or `#`.
pub fn endpoint_without_secrets(endpoint: &str) -> String {
    match reqwest::Url::parse(endpoint) {
        Ok(mut url) if url.has_host() => {
            url.set_query(None);
            url.set_fragment(None);
            // Only fails for URLs without a host, excluded above.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => endpoint
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_a_secret_raw_and_as_a_json_string_shows_it() {
        let body = r#"{"variables":{"secret":"Pa\"ss/wd-1","password":"MII/x+y=="}}"#;
        let redacted = redact_in(body, ["Pa\"ss/wd-1", "MII/x+y=="]);
        assert_eq!(
            redacted,
            r#"{"variables":{"secret":"(sensitive)","password":"(sensitive)"}}"#
        );
        let slashed = r#"{"password":"MII\/x+y=="}"#;
        assert_eq!(
            redact_in(slashed, ["MII/x+y=="]),
            r#"{"password":"(sensitive)"}"#
        );
        assert_eq!(redact_in("nothing here", ["", "abc"]), "nothing here");
        assert_eq!(
            redact_in("token-long and token", ["token", "token-long"]),
            "(sensitive) and (sensitive)"
        );
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "(sensitive)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some((sensitive))");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}
